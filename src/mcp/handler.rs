//! The MCP server: initialize, `tools/list` with security schemes, and `tools/call` with the
//! per-call access check.
//!
//! rmcp's typed `Tool` has no field for the Apps SDK's top-level `securitySchemes`, and its
//! Streamable HTTP service only accepts a `ServerHandler` (whose `list_tools` must return the
//! typed result). So `tools/list` is answered through rmcp's custom-request path: the
//! JSON-RPC guard in front of rmcp routes it to [`LIST_TOOLS_METHOD`], which returns a
//! `CustomResult` holding the typed tools serialised plus `securitySchemes`. The response
//! bytes are rmcp's own; only the request's method name is changed on the way in.
//! Everything else (initialize, sessions, ping, errors) stays in rmcp's hands.

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest,
    CustomResult, Implementation, InitializeResult, MetaObject, ProtocolVersion,
    ServerCapabilities,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::json;

use super::registry::{Access, Registry, ToolOutput};
use crate::app::AppState;
use crate::resource::bearer;
use crate::tools::Caller;

/// The method name `tools/list` is routed to (see the module comment).
pub const LIST_TOOLS_METHOD: &str = "omnichat/tools/list";

/// Client-to-server request methods of MCP 2025-06-18/2025-11-25.
const STANDARD_METHODS: [&str; 14] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
];

/// The per-session MCP server rmcp runs.
pub struct OmniMcp {
    app: AppState,
    tools: Arc<Registry>,
}

impl OmniMcp {
    pub fn new(app: AppState, tools: Arc<Registry>) -> Self {
        Self { app, tools }
    }
}

/// The `_meta` of a tool result that asks the client to (re)authorize: the Apps SDK's
/// `mcp/www_authenticate`, an array of one RFC 7235 challenge string.
fn auth_challenge(
    app: &AppState,
    error: &str,
    description: &str,
    scope: Option<&str>,
) -> CallToolResult {
    let challenge = bearer::challenge(app, Some((error, description)), scope);
    let mut result = CallToolResult::error(vec![ContentBlock::text(description.to_string())]);
    let mut meta = serde_json::Map::new();
    meta.insert("mcp/www_authenticate".into(), json!([challenge]));
    result.meta = Some(MetaObject(meta));
    result
}

fn caller_of(context: &RequestContext<RoleServer>) -> Option<Caller> {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>())
        .cloned()
}

impl ServerHandler for OmniMcp {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("omnichat", env!("CARGO_PKG_VERSION")).with_title("OmniChat"),
            )
            .with_instructions(
                "OmniChat: search public documentation without signing in; with the user's approval, read and write their files and chat history and run commands on their SSH hosts.",
            )
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Owned(vec![
            ProtocolVersion::V_2025_06_18,
            ProtocolVersion::V_2025_11_25,
        ])
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        if request.method == LIST_TOOLS_METHOD {
            // One page holds every tool, so the cursor is ignored (MCP "Pagination").
            return Ok(CustomResult(self.tools.list().clone()));
        }
        // rmcp parses a standard method whose params do not fit its schema as a custom
        // request; that is a params error (-32602), not an unknown method (-32601).
        if STANDARD_METHODS.contains(&request.method.as_str()) {
            return Err(McpError::invalid_params(
                format!("invalid params for {}", request.method),
                None,
            ));
        }
        Err(McpError::new(
            rmcp::model::ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {}", request.method),
            None,
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(entry) = self.tools.get(&request.name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool: {}", request.name),
                None,
            ));
        };
        let caller = caller_of(&context);
        if let Access::Token(needed) = &entry.access {
            let Some(caller) = &caller else {
                return Ok(auth_challenge(
                    &self.app,
                    "invalid_token",
                    "Authentication required",
                    None,
                )
                .into());
            };
            if !needed.is_subset(&caller.scopes) {
                // MCP 2025-11-25 "Scope Challenge Handling": ask for what the call needs plus what
                // the client already has, so re-authorization does not lose scopes.
                let scope = needed.union(&caller.scopes).to_string();
                let missing: Vec<&str> = needed
                    .iter()
                    .filter(|s| !caller.scopes.contains(*s))
                    .map(|s| s.as_str())
                    .collect();
                let description = format!("This tool needs the scope {}", missing.join(" "));
                return Ok(auth_challenge(
                    &self.app,
                    "insufficient_scope",
                    &description,
                    Some(&scope),
                )
                .into());
            }
        }
        let arguments = request.arguments.unwrap_or_default();
        let output = (entry.run)(caller, arguments).await;
        Ok(match output {
            ToolOutput::Ok { text, structured } => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(structured);
                result
            }
            ToolOutput::Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        }
        .into())
    }
}
