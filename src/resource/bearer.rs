//! Bearer-token verification in front of the MCP service (RFC 6750 §2.1, header only), with a
//! bounded cache of verified tokens, and the `WWW-Authenticate` challenges of RFC 6750 §3
//! with RFC 9728 §5.1's `resource_metadata`.
//!
//! - No `Authorization` header: the request goes on without a caller; public tools work and
//!   protected tools answer with a challenge in the tool result (see `mcp`).
//! - A token that is present but invalid, expired or revoked: HTTP 401 with
//!   `error="invalid_token"`, so clients refresh or re-authorize.
//! - A token in the query string is never read (RFC 9700 §2.2 / OAuth 2.1 §5.1.1).
//!
//! The cache maps a token to its verified caller until the token expires, so a cached token
//! costs no signature check and no store round trip. Revocation is re-read from the store at
//! most every [`REVOCATION_RECHECK_SECS`] per token: a revoked grant or access token stops
//! working within that bound on every instance.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::oauth::access_token::{AccessTokenClaims, MAX_TOKEN_BYTES, TokenError};
use crate::oauth::endpoints;
use crate::oauth::revocation;
use crate::tools::Caller;

/// How stale the revocation state of a cached token may be (seconds).
pub const REVOCATION_RECHECK_SECS: i64 = 30;
/// At most this many verified tokens are remembered.
const CACHE_CAPACITY: usize = 10_000;

struct CachedToken {
    caller: Caller,
    expires_at: i64,
    revocation_checked_at: i64,
}

/// Verified tokens, by token text.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<Box<str>, CachedToken>>,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, CachedToken>> {
        match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn get(&self, token: &str, now: i64) -> Option<Caller> {
        let entries = self.lock();
        let entry = entries.get(token)?;
        (now < entry.expires_at && now - entry.revocation_checked_at < REVOCATION_RECHECK_SECS)
            .then(|| entry.caller.clone())
    }

    fn insert(&self, token: &str, caller: Caller, expires_at: i64, now: i64) {
        let mut entries = self.lock();
        if entries.len() >= CACHE_CAPACITY {
            entries.retain(|_, e| {
                now < e.expires_at && now - e.revocation_checked_at < REVOCATION_RECHECK_SECS
            });
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            token.into(),
            CachedToken {
                caller,
                expires_at,
                revocation_checked_at: now,
            },
        );
    }
}

fn caller_of(claims: &AccessTokenClaims) -> Caller {
    Caller {
        user_id: claims.sub.clone(),
        client_id: claims.client_id.clone(),
        scopes: claims.scopes(),
    }
}

/// Verifies a bearer token for the MCP resource: the cache first, then signature and claims,
/// then revocation.
pub async fn authenticate(app: &AppState, token: &str) -> Result<Caller, TokenError> {
    let now = app.clock.now();
    if let Some(caller) = app.token_cache.get(token, now) {
        return Ok(caller);
    }
    let claims = revocation::verify_active(app, token).await?;
    let caller = caller_of(&claims);
    app.token_cache
        .insert(token, caller.clone(), claims.exp, now);
    Ok(caller)
}

/// Escapes a value for a quoted-string of RFC 7235 §2.1.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The RFC 6750 §3 challenge with RFC 9728 §5.1 `resource_metadata`, e.g.
/// `Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="…"`.
pub fn challenge(app: &AppState, error: Option<(&str, &str)>, scope: Option<&str>) -> String {
    let mut text = format!(
        "Bearer resource_metadata=\"{}\"",
        quoted(&app.public_url.join(endpoints::PROTECTED_RESOURCE_MCP))
    );
    if let Some((code, description)) = error {
        text.push_str(&format!(
            ", error=\"{}\", error_description=\"{}\"",
            quoted(code),
            quoted(description)
        ));
    }
    if let Some(scope) = scope {
        text.push_str(&format!(", scope=\"{}\"", quoted(scope)));
    }
    text
}

fn unauthorized(app: &AppState, error: Option<(&str, &str)>) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({
            "error": error.map_or("invalid_request", |(code, _)| code),
            "error_description": error.map_or("authentication with a Bearer token is required", |(_, d)| d),
        })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge(app, error, None)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The middleware: puts the verified [`Caller`] (if any) into the request's extensions.
pub async fn bearer_layer(
    State(app): State<AppState>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return next.run(request).await;
    };
    let Ok(value) = value.to_str() else {
        return unauthorized(
            &app,
            Some((
                "invalid_token",
                "the Authorization header is not valid text",
            )),
        );
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    // RFC 6750 §3.1: another scheme is "no authentication we understand": no error code.
    if !scheme.eq_ignore_ascii_case("bearer") {
        return unauthorized(&app, None);
    }
    let token = token.trim();
    if token.is_empty() {
        return unauthorized(&app, Some(("invalid_token", "the Bearer token is empty")));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return unauthorized(
            &app,
            Some(("invalid_token", "the access token is too large")),
        );
    }
    match authenticate(&app, token).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => {
            tracing::info!(reason = %error, "bearer token refused");
            unauthorized(&app, Some(("invalid_token", &error.to_string())))
        }
    }
}
