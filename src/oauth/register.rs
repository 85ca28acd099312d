//! `POST /register`: RFC 7591 dynamic client registration.
//!
//! The request is parsed into [`ClientRegistration`] in full before anything is stored, so a
//! refused registration leaves no trace (RFC 7591 §3.2.2 errors: `invalid_redirect_uri`,
//! `invalid_client_metadata`).

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::OAuthError;
use super::redirect::RedirectPolicy;
use super::types::{ClientId, GrantType, ScopeSet, TokenEndpointAuthMethod};
use crate::app::AppState;
use crate::crypto::{Secret, random_token, sha256};
use crate::ratelimit::client_address;
use crate::store::Client;

/// Largest registration request accepted (the limit; real ones are < 2 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_REDIRECT_URIS: usize = 20;
const MAX_TEXT_LEN: usize = 256;

const INVALID_METADATA: &str = "invalid_client_metadata";
const INVALID_REDIRECT: &str = "invalid_redirect_uri";

/// A registration request that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRegistration {
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub grant_types: Vec<GrantType>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub scope: Option<ScopeSet>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    pub contacts: Vec<String>,
}

fn metadata_error(description: impl Into<String>) -> OAuthError {
    OAuthError::bad_request(INVALID_METADATA, description)
}

fn optional_text(body: &Map<String, Value>, field: &str) -> Result<Option<String>, OAuthError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_TEXT_LEN => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(metadata_error(format!(
            "{field} must be at most {MAX_TEXT_LEN} characters"
        ))),
        Some(_) => Err(metadata_error(format!("{field} must be a string"))),
    }
}

fn optional_string_list(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<String>>, OAuthError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(metadata_error(format!(
                    "{field} must be an array of strings"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!(
            "{field} must be an array of strings"
        ))),
    }
}

impl ClientRegistration {
    /// Parses and checks RFC 7591 §2 client metadata.
    pub fn parse(body: &Value, policy: &RedirectPolicy) -> Result<Self, OAuthError> {
        let Value::Object(body) = body else {
            return Err(metadata_error("the request body must be a JSON object"));
        };

        // redirect_uris: required, since every grant this server offers redirects (§2).
        let redirect_uris = match body.get("redirect_uris") {
            None | Some(Value::Null) => {
                return Err(OAuthError::bad_request(
                    INVALID_REDIRECT,
                    "redirect_uris is required",
                ));
            }
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(OAuthError::bad_request(
                        INVALID_REDIRECT,
                        "redirect_uris must be an array of strings",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(OAuthError::bad_request(
                    INVALID_REDIRECT,
                    "redirect_uris must be an array of strings",
                ));
            }
        };
        if redirect_uris.is_empty() {
            return Err(OAuthError::bad_request(
                INVALID_REDIRECT,
                "redirect_uris must not be empty",
            ));
        }
        if redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(OAuthError::bad_request(
                INVALID_REDIRECT,
                format!("at most {MAX_REDIRECT_URIS} redirect_uris may be registered"),
            ));
        }
        for uri in &redirect_uris {
            policy
                .check_registration(uri)
                .map_err(|why| OAuthError::bad_request(INVALID_REDIRECT, why))?;
        }
        let mut unique = redirect_uris.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != redirect_uris.len() {
            return Err(OAuthError::bad_request(
                INVALID_REDIRECT,
                "redirect_uris has duplicates",
            ));
        }

        // RFC 7591 §2: the default is client_secret_basic when the field is absent.
        let token_endpoint_auth_method = match optional_text(body, "token_endpoint_auth_method")? {
            None => TokenEndpointAuthMethod::ClientSecretBasic,
            Some(text) => TokenEndpointAuthMethod::parse(&text).ok_or_else(|| {
                metadata_error(format!(
                    "token_endpoint_auth_method {text:?} is not supported; use none, client_secret_basic or client_secret_post"
                ))
            })?,
        };

        // RFC 7591 §2: grant_types defaults to ["authorization_code"], response_types to
        // ["code"], and the two must agree (§2.1).
        let grant_types = match optional_string_list(body, "grant_types")? {
            None => vec![GrantType::AuthorizationCode],
            Some(names) => {
                let mut grants = names
                    .iter()
                    .map(|name| {
                        GrantType::parse(name).ok_or_else(|| {
                            metadata_error(format!(
                                "grant type {name:?} is not supported; use authorization_code and refresh_token"
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                grants.sort();
                grants.dedup();
                grants
            }
        };
        if !grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(metadata_error(
                "grant_types must include authorization_code: it is the only way to obtain tokens here",
            ));
        }
        if let Some(response_types) = optional_string_list(body, "response_types")?
            && (response_types.is_empty() || response_types.iter().any(|r| r != "code"))
        {
            return Err(metadata_error(
                "response_types must be [\"code\"]: only the authorization code flow is supported",
            ));
        }

        let scope = match optional_text(body, "scope")? {
            None => None,
            Some(text) => {
                let set = ScopeSet::parse(&text).map_err(|unknown| {
                    metadata_error(format!(
                        "scope {:?} is not supported by this server",
                        unknown.0
                    ))
                })?;
                (!set.is_empty()).then_some(set)
            }
        };

        let client_uri = optional_text(body, "client_uri")?;
        if let Some(uri) = &client_uri {
            let ok = url::Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
            if !ok {
                return Err(metadata_error("client_uri must be an http(s) URL"));
            }
        }
        let contacts = optional_string_list(body, "contacts")?.unwrap_or_default();
        if contacts.len() > 10 || contacts.iter().any(|c| c.chars().count() > MAX_TEXT_LEN) {
            return Err(metadata_error("contacts must be at most 10 short strings"));
        }

        Ok(Self {
            redirect_uris,
            token_endpoint_auth_method,
            grant_types,
            client_name: optional_text(body, "client_name")?,
            client_uri,
            scope,
            software_id: optional_text(body, "software_id")?,
            software_version: optional_text(body, "software_version")?,
            contacts,
        })
    }
}

/// Reads a JSON request body of at most `limit` bytes, answering every way it can be wrong
/// with a JSON 4xx (`code` names the endpoint's own error code).
pub async fn read_json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    code: &'static str,
) -> Result<Value, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(OAuthError::bad_request(
            code,
            "the request body must be JSON with Content-Type: application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        OAuthError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code,
            format!("the request body must be at most {} KiB", limit / 1024),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        OAuthError::bad_request(code, format!("the request body is not valid JSON: {e}"))
    })
}

/// The registered client as RFC 7591 §3.2.1 returns it.
pub fn client_information(client: &Client, secret: Option<&Secret<String>>) -> Value {
    let mut info = json!({
        "client_id": client.client_id.as_str(),
        "client_id_issued_at": client.issued_at,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.token_endpoint_auth_method.as_str(),
        "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": ["code"],
    });
    let fields = [
        ("client_name", client.client_name.clone()),
        ("client_uri", client.client_uri.clone()),
        ("scope", client.scope.as_ref().map(|s| s.to_string())),
        ("software_id", client.software_id.clone()),
        ("software_version", client.software_version.clone()),
    ];
    if let Value::Object(map) = &mut info {
        for (name, value) in fields {
            if let Some(value) = value {
                map.insert(name.into(), Value::String(value));
            }
        }
        if !client.contacts.is_empty() {
            map.insert("contacts".into(), json!(client.contacts));
        }
        if let Some(secret) = secret {
            map.insert(
                "client_secret".into(),
                Value::String(secret.expose().clone()),
            );
            // RFC 7591 §3.2.1: 0 means the secret does not expire.
            map.insert("client_secret_expires_at".into(), json!(0));
        }
    }
    info
}

pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let address = client_address(peer, &headers, &state.settings.trusted_proxies);
    if let Err(retry_after) = state.register_limiter.check(address) {
        return Err(OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("too many client registrations from this address; retry in {retry_after} s"),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after)));
    }

    let body = read_json_body(&headers, body, MAX_BODY_BYTES, INVALID_METADATA).await?;
    let registration = ClientRegistration::parse(&body, &state.redirect_policy)?;

    let secret = registration
        .token_endpoint_auth_method
        .is_confidential()
        .then(random_token);
    let client = Client {
        client_id: ClientId::generate(),
        secret_hash: secret.as_ref().map(|s| sha256(s.expose().as_bytes())),
        client_name: registration.client_name,
        client_uri: registration.client_uri,
        redirect_uris: registration.redirect_uris,
        token_endpoint_auth_method: registration.token_endpoint_auth_method,
        grant_types: registration.grant_types,
        scope: registration.scope,
        software_id: registration.software_id,
        software_version: registration.software_version,
        contacts: registration.contacts,
        issued_at: state.clock.now(),
    };
    state.store.insert_client(&client).await?;
    tracing::info!(
        client_id = %client.client_id,
        client_name = client.client_name.as_deref().unwrap_or(""),
        %address,
        "client registered"
    );

    let mut response = (
        StatusCode::CREATED,
        Json(client_information(&client, secret.as_ref())),
    )
        .into_response();
    // The response may carry a secret (RFC 7591 §3.2.1).
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<ClientRegistration, OAuthError> {
        ClientRegistration::parse(&body, &RedirectPolicy::default())
    }

    #[test]
    fn defaults_follow_rfc7591() {
        let reg = parse(json!({"redirect_uris": ["http://127.0.0.1:1/cb"]})).unwrap();
        assert_eq!(
            reg.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        assert_eq!(reg.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(reg.scope, None);
    }

    #[test]
    fn errors_use_the_rfc_codes() {
        let cases = [
            (json!({}), INVALID_REDIRECT),
            (
                json!({"redirect_uris": "http://127.0.0.1/cb"}),
                INVALID_REDIRECT,
            ),
            (json!({"redirect_uris": []}), INVALID_REDIRECT),
            (json!({"redirect_uris": [1]}), INVALID_REDIRECT),
            (
                json!({"redirect_uris": ["javascript:alert(1)"]}),
                INVALID_REDIRECT,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb", "http://127.0.0.1/cb"]}),
                INVALID_REDIRECT,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                INVALID_METADATA,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["implicit"]}),
                INVALID_METADATA,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["refresh_token"]}),
                INVALID_METADATA,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "response_types": ["token"]}),
                INVALID_METADATA,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "scope": "files:read admin"}),
                INVALID_METADATA,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "client_name": 5}),
                INVALID_METADATA,
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "client_uri": "javascript:x"}),
                INVALID_METADATA,
            ),
            (json!([1, 2]), INVALID_METADATA),
        ];
        for (body, code) in cases {
            let err = parse(body.clone()).unwrap_err();
            assert_eq!(err.code, code, "{body}");
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
        }
    }
}
