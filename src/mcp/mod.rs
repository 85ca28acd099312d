//! The MCP endpoint at `/mcp`: rmcp's Streamable HTTP service behind our own layers.
//!
//! Layers, outermost first (the global CORS layer answers preflights before all of them):
//! 1. [`jsonrpc_guard`]: `MCP-Protocol-Version` check, body cap, and JSON-RPC errors for bodies
//!    rmcp would answer with a bare HTTP status (parse error, invalid request, bad params).
//! 2. `resource::bearer::bearer_layer`: verifies a bearer token, if any, into a `Caller`.
//! 3. rmcp's `StreamableHttpService`: sessions, `Host`/`Origin` checks (DNS rebinding), SSE.
//!
//! Tools are a table of name → security scheme → handler ([`registry`]); per-call access is
//! checked in [`handler`], which answers an unauthorised call with the Apps SDK's
//! `mcp/www_authenticate` challenge in a normal tool result.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};

use crate::app::AppState;

pub mod handler;
pub mod registry;

/// The protocol versions this server speaks (MCP 2025-06-18 and 2025-11-25).
pub const SUPPORTED_PROTOCOL_VERSIONS: [&str; 2] = ["2025-06-18", "2025-11-25"];
/// Largest MCP request body (the default).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// rmcp's service for `/mcp`, configured from the settings.
pub fn service(
    app: &AppState,
    tools: Arc<registry::Registry>,
) -> StreamableHttpService<handler::OmniMcp, LocalSessionManager> {
    let public = app.public_url.url();
    let mut hosts: Vec<String> = Vec::new();
    if let Some(host) = public.host_str() {
        hosts.push(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        );
        if let Some(port) = public.port_or_known_default() {
            hosts.push(format!("{host}:{port}"));
        }
    }
    hosts.extend(app.settings.allowed_hosts.iter().cloned());
    // A server bound to loopback is reached by loopback names (MCP transports §"Security").
    if app.settings.listen.ip().is_loopback() {
        hosts.extend(["localhost", "127.0.0.1", "::1"].map(String::from));
    }
    // Origins with explicit ports (rmcp treats a port-less entry as "any port").
    let mut origins = vec![with_port(&app.public_url.origin())];
    origins.extend(app.settings.cors_origins.iter().map(|o| with_port(o)));
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_sse_keep_alive(Some(std::time::Duration::from_secs(15)));
    let state = app.clone();
    StreamableHttpService::new(
        move || Ok(handler::OmniMcp::new(state.clone(), tools.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

fn with_port(origin: &str) -> String {
    match url::Url::parse(origin) {
        Ok(url) => match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            _ => origin.to_string(),
        },
        Err(_) => origin.to_string(),
    }
}

/// A JSON-RPC error answered at the HTTP level (JSON-RPC 2.0 §5.1 codes).
fn jsonrpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": code, "message": message },
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Checks what rmcp would otherwise answer with a bare HTTP status and no JSON-RPC error, so
/// clients get the codes JSON-RPC defines: -32700 for unparsable JSON, -32600 for something
/// that is not a JSON-RPC message, -32602 for a known method with malformed params.
/// (Unknown methods reach rmcp, which answers -32601.)
pub async fn jsonrpc_guard(
    State(_app): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    // MCP transports 2025-06-18 §"Protocol Version Header": an unsupported version is a 400.
    if let Some(version) = request.headers().get("mcp-protocol-version") {
        let supported = version
            .to_str()
            .is_ok_and(|v| SUPPORTED_PROTOCOL_VERSIONS.contains(&v));
        if !supported {
            return jsonrpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32600,
                &format!(
                    "unsupported MCP-Protocol-Version; this server speaks {}",
                    SUPPORTED_PROTOCOL_VERSIONS.join(", ")
                ),
            );
        }
    }
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return jsonrpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Value::Null,
            -32600,
            &format!("the request body exceeds {} KiB", MAX_BODY_BYTES / 1024),
        );
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(_) => {
            return jsonrpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32700,
                "Parse error: the body is not valid JSON",
            );
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    if !value.is_object() {
        return jsonrpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32600,
            "Invalid Request: send one JSON-RPC message per request (batches are not supported)",
        );
    }
    // See `handler`: tools/list is answered by our custom-request handler so each tool can
    // carry the Apps SDK's top-level `securitySchemes`. Only then is the body rewritten; every
    // other message goes on as the client sent it.
    let body = if value.get("method").and_then(Value::as_str) == Some("tools/list") {
        let mut value = value.clone();
        value["method"] = Value::String(handler::LIST_TOOLS_METHOD.to_string());
        match serde_json::to_vec(&value) {
            Ok(body) => axum::body::Bytes::from(body),
            Err(_) => return jsonrpc_error(StatusCode::BAD_REQUEST, id, -32600, "Invalid Request"),
        }
    } else {
        bytes
    };
    if serde_json::from_slice::<ClientJsonRpcMessage>(&body).is_err() {
        let is_request =
            value.get("method").is_some_and(Value::is_string) && value.get("id").is_some();
        let version_ok = value.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
        return if is_request && version_ok {
            jsonrpc_error(
                StatusCode::BAD_REQUEST,
                id,
                -32602,
                "Invalid params for this method",
            )
        } else {
            jsonrpc_error(
                StatusCode::BAD_REQUEST,
                id,
                -32600,
                "Invalid Request: not a JSON-RPC 2.0 message",
            )
        };
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}
