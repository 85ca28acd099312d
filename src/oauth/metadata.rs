//! Discovery documents of the authorization server: RFC 8414 metadata (also served as OpenID
//! Connect discovery) and the JWKS. (The resource's RFC 9728 metadata is in `resource`.)
//! Every URL in them is built from the path constants the router uses.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::endpoints;
use super::error::OAuthError;
use super::keys;
use super::types::{GrantType, Scope, TokenEndpointAuthMethod};
use crate::app::AppState;
use crate::config::PublicUrl;

/// Discovery documents change only with configuration; clients may cache them briefly.
pub(crate) const DISCOVERY_CACHE: &str = "public, max-age=300";

pub(crate) fn scopes_supported() -> Vec<&'static str> {
    Scope::ALL.iter().map(|s| s.as_str()).collect()
}

/// RFC 8414 §2. Lists only what this server implements.
pub fn authorization_server_metadata(public: &PublicUrl) -> Value {
    json!({
        // RFC 8414 §3.3: clients compare the issuer byte for byte with the URL they derived
        // the metadata location from, so it is the public URL with no trailing slash.
        "issuer": public.as_str(),
        "authorization_endpoint": public.join(endpoints::AUTHORIZE),
        "token_endpoint": public.join(endpoints::TOKEN),
        "registration_endpoint": public.join(endpoints::REGISTER),
        "jwks_uri": public.join(endpoints::JWKS),
        "revocation_endpoint": public.join(endpoints::REVOKE),
        "revocation_endpoint_auth_methods_supported":
            TokenEndpointAuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "introspection_endpoint": public.join(endpoints::INTROSPECT),
        // RFC 7662 §2.1: introspection needs an authenticated (confidential) client.
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": scopes_supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        // OAuth 2.1 §4.1.1 and the MCP authorization spec: PKCE with S256 only.
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported":
            TokenEndpointAuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        // RFC 9207: the authorization response carries `iss`.
        "authorization_response_iss_parameter_supported": true,
    })
}

pub(crate) fn cached_json(value: Value, cache: &'static str) -> Response {
    let mut response = Json(value).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

pub async fn authorization_server(State(state): State<AppState>) -> Response {
    cached_json(
        authorization_server_metadata(&state.public_url),
        DISCOVERY_CACHE,
    )
}

/// The JWKS is read from the store on each request, so a key rotated by the CLI or by another
/// instance is published at once; clients may cache it for a minute and re-fetch on an
/// unknown `kid`.
pub async fn jwks(State(state): State<AppState>) -> Result<Response, OAuthError> {
    let stored = state.store.list_signing_keys().await?;
    Ok(cached_json(
        keys::jwks(&stored, state.clock.now()),
        "public, max-age=60",
    ))
}
