//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662), and the revocation check that
//! every use of an access token goes through.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access_token::{AccessTokenClaims, TokenError};
use super::client_auth::{Form, authenticate_client};
use super::error::OAuthError;
use crate::app::AppState;
use crate::crypto::sha256;
use crate::store::{Store, StoreError};

/// Has this verified access token been revoked, directly (its `jti`) or through its grant?
pub async fn is_revoked(store: &dyn Store, claims: &AccessTokenClaims) -> Result<bool, StoreError> {
    if store.is_access_token_revoked(&claims.jti).await? {
        return Ok(true);
    }
    match &claims.gid {
        Some(grant_id) => Ok(store
            .find_grant(grant_id)
            .await?
            .is_none_or(|grant| grant.revoked_at.is_some())),
        None => Ok(false),
    }
}

/// A verified, unrevoked access token.
pub async fn verify_active(app: &AppState, token: &str) -> Result<AccessTokenClaims, TokenError> {
    let claims = app.tokens.verify(token, app.clock.now()).await?;
    match is_revoked(&*app.store, &claims).await {
        Ok(false) => Ok(claims),
        Ok(true) => Err(TokenError::Revoked),
        Err(e) => {
            // Fail closed: a token whose state cannot be read is not accepted.
            tracing::error!(error = %e, "cannot read revocation state");
            Err(TokenError::Revoked)
        }
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn not_yours() -> OAuthError {
    // RFC 7009 §2.1: a client may only revoke its own tokens.
    OAuthError::bad_request(
        "unauthorized_client",
        "the token was not issued to this client",
    )
}

/// RFC 7009 §2: 200 for unknown or already invalid tokens; revoking a refresh token revokes
/// its grant (and so every token of it); revoking an access token records its `jti`.
pub async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let form = Form::read(&headers, body).await?;
    let client = authenticate_client(&*app.store, &headers, &form).await?;
    let token = form.require("token")?;
    let now = app.clock.now();

    // The hint only orders the lookups (RFC 7009 §2.1); both kinds are tried.
    if let Some((_, grant)) = app
        .store
        .find_refresh_token(&sha256(token.as_bytes()))
        .await?
    {
        if grant.client_id != client.client_id {
            return Err(not_yours());
        }
        app.store.revoke_grant(&grant.id, now).await?;
        tracing::info!(client_id = %client.client_id, grant_id = %grant.id, "grant revoked by its client");
    } else if let Ok(claims) = app.tokens.verify(token, now).await {
        if claims.client_id != client.client_id.as_str() {
            return Err(not_yours());
        }
        app.store
            .revoke_access_token(&claims.jti, claims.exp)
            .await?;
        tracing::info!(client_id = %client.client_id, jti = %claims.jti, "access token revoked by its client");
    }
    Ok(no_store(StatusCode::OK.into_response()))
}

/// RFC 7662 §2. Only confidential clients may introspect (they can authenticate), and only
/// their own tokens; anything not currently valid is `{"active": false}`.
pub async fn introspect(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let form = Form::read(&headers, body).await?;
    let client = authenticate_client(&*app.store, &headers, &form).await?;
    if !client.token_endpoint_auth_method.is_confidential() {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "introspection requires client authentication with a secret",
        ));
    }
    let token = form.require("token")?;
    let now = app.clock.now();
    let inactive = || Ok(no_store(Json(json!({ "active": false })).into_response()));

    if let Ok(claims) = verify_active(&app, token).await {
        if claims.client_id != client.client_id.as_str() {
            return inactive();
        }
        let user = app.store.find_user_by_id(&claims.sub).await?;
        let mut body = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
        });
        if let (Some(user), Some(map)) = (user, body.as_object_mut()) {
            map.insert(
                "username".into(),
                Value::String(user.name.as_str().to_string()),
            );
        }
        return Ok(no_store(Json(body).into_response()));
    }

    let hash = sha256(token.as_bytes());
    if let Some((record, grant)) = app.store.find_refresh_token(&hash).await? {
        let usable =
            grant.latest_refresh_hash == Some(hash) || grant.previous_refresh_hash == Some(hash);
        let live = grant.revoked_at.is_none()
            && now < grant.expires_at
            && now < record.created_at + app.settings.refresh_token_idle_ttl as i64;
        if usable && live && grant.client_id == client.client_id {
            return Ok(no_store(
                Json(json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "scope": grant.scope.to_string(),
                    "client_id": grant.client_id.as_str(),
                    "sub": grant.user_id,
                    "aud": grant.resource,
                    "iss": app.public_url.as_str(),
                    "exp": grant.expires_at.min(record.created_at + app.settings.refresh_token_idle_ttl as i64),
                    "iat": record.created_at,
                }))
                .into_response(),
            ));
        }
    }
    inactive()
}
