//! RFC 9728 protected resource metadata: how a client that found the MCP URL learns which
//! authorization server to use.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::config::PublicUrl;
use crate::oauth::endpoints;
use crate::oauth::metadata::{DISCOVERY_CACHE, cached_json, scopes_supported};

/// RFC 9728 §2 for the resource `resource` (which must be the URL the document was derived
/// from, §3.3).
pub fn protected_resource_metadata(
    public: &PublicUrl,
    resource: &str,
    resource_name: &str,
) -> Value {
    json!({
        "resource": resource,
        "authorization_servers": [public.as_str()],
        "scopes_supported": scopes_supported(),
        "bearer_methods_supported": ["header"],
        "resource_name": resource_name,
    })
}

/// `/.well-known/oauth-protected-resource`: the resource is the server itself.
pub async fn protected_resource_root(State(state): State<AppState>) -> Response {
    let resource = state.public_url.as_str().to_string();
    cached_json(
        protected_resource_metadata(&state.public_url, &resource, &state.settings.resource_name),
        DISCOVERY_CACHE,
    )
}

/// `/.well-known/oauth-protected-resource/mcp`: the resource is the MCP endpoint.
pub async fn protected_resource_mcp(State(state): State<AppState>) -> Response {
    let resource = state.public_url.join(endpoints::MCP);
    cached_json(
        protected_resource_metadata(&state.public_url, &resource, &state.settings.resource_name),
        DISCOVERY_CACHE,
    )
}
