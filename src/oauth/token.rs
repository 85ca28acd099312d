//! `POST /token`: the `authorization_code` and `refresh_token` grants (OAuth 2.1 §3.2,
//! §4.1.3, §4.3).
//!
//! Refresh tokens rotate on every use (OAuth 2.1 §4.3.1, RFC 9700 §2.2.2). A grant keeps two
//! usable tokens: `latest`, and `previous` (the one `latest` was issued for). Presenting
//! `latest` rotates forward and retires `previous`; presenting `previous` means the response
//! that carried `latest` was lost, so a new token replaces `latest` (a safe retry); presenting
//! any other token of the grant is a replay and revokes the whole grant. Every change is a
//! compare-and-swap on the grant row, so concurrent refreshes cannot fork the lineage.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth::{Form, authenticate_client};
use super::error::OAuthError;
use super::pkce;
use super::types::{GrantType, ScopeSet};
use crate::app::AppState;
use crate::crypto::{Secret, random_token, sha256};
use crate::store::{Client, Grant, Redemption, RefreshPosition, RefreshToken};

/// How often a refresh retries its compare-and-swap when other requests move the grant.
const ROTATION_ATTEMPTS: usize = 32;

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::bad_request("invalid_grant", description)
}

pub async fn token(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let form = Form::read(&headers, body).await?;
    let client = authenticate_client(&*app.store, &headers, &form).await?;
    let grant_type = match form.require("grant_type")? {
        "authorization_code" => GrantType::AuthorizationCode,
        "refresh_token" => GrantType::RefreshToken,
        other => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                format!(
                    "grant_type {other:?} is not supported; use authorization_code or refresh_token"
                ),
            ));
        }
    };
    if !client.grant_types.contains(&grant_type) {
        return Err(OAuthError::bad_request(
            "unauthorized_client",
            format!(
                "this client did not register the {} grant",
                grant_type.as_str()
            ),
        ));
    }
    match grant_type {
        GrantType::AuthorizationCode => authorization_code(&app, &client, &form).await,
        GrantType::RefreshToken => refresh_token(&app, &client, &form).await,
    }
}

/// The grant's resource, checked against a `resource` parameter if the request has one
/// (RFC 8707 §2.2: it may only name what was granted).
fn check_resource(form: &Form, granted: &str) -> Result<(), OAuthError> {
    match form.get("resource") {
        Some(resource) if resource != granted => Err(OAuthError::bad_request(
            "invalid_target",
            format!("the resource must be {granted}, the one that was authorized"),
        )),
        _ => Ok(()),
    }
}

async fn authorization_code(
    app: &AppState,
    client: &Client,
    form: &Form,
) -> Result<Response, OAuthError> {
    let code = form.require("code")?;
    let verifier = form.get("code_verifier").ok_or_else(|| {
        OAuthError::bad_request("invalid_request", "code_verifier is required (PKCE)")
    })?;
    // RFC 7636 §4.1: 43–128 unreserved characters; anything else cannot match the challenge.
    if !pkce::is_valid_verifier(verifier) {
        return Err(invalid_grant(
            "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    let code_hash = sha256(code.as_bytes());
    let record = app
        .store
        .find_authorization_code(&code_hash)
        .await?
        .ok_or_else(|| invalid_grant("the authorization code is invalid or has expired"))?;
    // These checks come before the replay check: a request that could not have redeemed the
    // code (another client, another redirect URI, a wrong verifier) must not be able to
    // revoke what the real client obtained with it.
    if record.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    // OAuth 2.1 §10.5 ("Redirect URI Parameter in Token Request"): optional, but enforced when sent.
    if form
        .get("redirect_uri")
        .is_some_and(|uri| uri != record.redirect_uri)
    {
        return Err(invalid_grant(
            "redirect_uri differs from the one in the authorization request",
        ));
    }
    if !pkce::verify_s256(verifier, &record.code_challenge) {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    check_resource(form, &record.resource)?;
    let now = app.clock.now();
    if record.used_at.is_some() {
        return Err(replayed_code(app, &code_hash, now).await);
    }
    if now >= record.expires_at {
        return Err(invalid_grant(
            "the authorization code is invalid or has expired",
        ));
    }

    let refresh = client
        .grant_types
        .contains(&GrantType::RefreshToken)
        .then(random_token);
    let grant = Grant {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: record.user_id.clone(),
        client_id: client.client_id.clone(),
        scope: record.scope.clone(),
        resource: record.resource.clone(),
        created_at: now,
        expires_at: now + app.settings.refresh_token_max_ttl as i64,
        revoked_at: None,
        latest_refresh_hash: refresh.as_ref().map(|t| sha256(t.expose().as_bytes())),
        previous_refresh_hash: None,
    };
    let refresh_record = refresh.as_ref().map(|t| RefreshToken {
        token_hash: sha256(t.expose().as_bytes()),
        grant_id: grant.id.clone(),
        created_at: now,
    });
    match app
        .store
        .redeem_authorization_code(&code_hash, now, &grant, refresh_record.as_ref())
        .await?
    {
        Redemption::Redeemed => {}
        // Another request redeemed it first: this one is a replay.
        Redemption::AlreadyUsed => return Err(replayed_code(app, &code_hash, now).await),
    }
    tracing::info!(client_id = %client.client_id, grant_id = %grant.id, "authorization code redeemed");
    token_response(app, &grant, &grant.scope, refresh.as_ref(), now).await
}

/// OAuth 2.1 §4.1.3: a code used twice is refused, and what it issued is revoked.
async fn replayed_code(app: &AppState, code_hash: &[u8; 32], now: i64) -> OAuthError {
    match app.store.find_authorization_code(code_hash).await {
        Ok(Some(record)) => {
            if let Some(grant_id) = record.grant_id {
                tracing::warn!(client_id = %record.client_id, %grant_id, "authorization code replayed: revoking its grant");
                if let Err(e) = app.store.revoke_grant(&grant_id, now).await {
                    return OAuthError::internal(e);
                }
            }
            invalid_grant("the authorization code was already used")
        }
        Ok(None) => invalid_grant("the authorization code is invalid or has expired"),
        Err(e) => OAuthError::internal(e),
    }
}

async fn refresh_token(
    app: &AppState,
    client: &Client,
    form: &Form,
) -> Result<Response, OAuthError> {
    let presented = sha256(form.require("refresh_token")?.as_bytes());
    let requested_scope =
        form.get("scope")
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|unknown| {
                OAuthError::bad_request(
                    "invalid_scope",
                    format!("the scope {:?} is not offered", unknown.0),
                )
            })?;

    for _ in 0..ROTATION_ATTEMPTS {
        let now = app.clock.now();
        let (token, grant) = app
            .store
            .find_refresh_token(&presented)
            .await?
            .ok_or_else(|| invalid_grant("the refresh token is invalid"))?;
        if grant.client_id != client.client_id {
            return Err(invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        if grant.revoked_at.is_some() {
            return Err(invalid_grant("the refresh token has been revoked"));
        }
        if now >= grant.expires_at
            || now >= token.created_at + app.settings.refresh_token_idle_ttl as i64
        {
            return Err(invalid_grant("the refresh token has expired"));
        }
        // RFC 6749 §6: the scope may narrow, never widen.
        let scope = match &requested_scope {
            Some(scope) if !scope.is_empty() => {
                if !scope.is_subset(&grant.scope) {
                    return Err(OAuthError::bad_request(
                        "invalid_scope",
                        "the requested scope exceeds what was granted",
                    ));
                }
                scope.clone()
            }
            _ => grant.scope.clone(),
        };
        check_resource(form, &grant.resource)?;

        let position = if grant.latest_refresh_hash == Some(presented) {
            RefreshPosition::Latest
        } else if let (Some(latest), true) = (
            grant.latest_refresh_hash,
            grant.previous_refresh_hash == Some(presented),
        ) {
            RefreshPosition::Previous { latest }
        } else {
            tracing::warn!(client_id = %client.client_id, grant_id = %grant.id, "old refresh token replayed: revoking the grant");
            app.store.revoke_grant(&grant.id, now).await?;
            return Err(invalid_grant(
                "the refresh token was already used; the grant is revoked",
            ));
        };
        let fresh = random_token();
        let record = RefreshToken {
            token_hash: sha256(fresh.expose().as_bytes()),
            grant_id: grant.id.clone(),
            created_at: now,
        };
        if app
            .store
            .rotate_refresh_token(&grant.id, &presented, position, &record)
            .await?
        {
            return token_response(app, &grant, &scope, Some(&fresh), now).await;
        }
        // Another request moved the grant meanwhile: look again.
    }
    Err(OAuthError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the refresh token is being used by many requests at once; retry",
    ))
}

/// The successful token response (OAuth 2.1 §3.2.3), never cached.
async fn token_response(
    app: &AppState,
    grant: &Grant,
    scope: &ScopeSet,
    refresh: Option<&Secret<String>>,
    now: i64,
) -> Result<Response, OAuthError> {
    let access = app
        .tokens
        .issue(
            &grant.user_id,
            &grant.client_id,
            scope,
            &grant.resource,
            &grant.id,
            now,
        )
        .await
        .map_err(OAuthError::internal)?;
    let mut body = json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": app.tokens.lifetime_secs(),
        "scope": scope.to_string(),
    });
    if let (Some(refresh), Some(map)) = (refresh, body.as_object_mut()) {
        map.insert("refresh_token".into(), json!(refresh.expose()));
    }
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}
