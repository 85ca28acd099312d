//! Form bodies and client authentication for the token, revocation and introspection
//! endpoints (OAuth 2.1 §2.4, RFC 6749 §2.3.1).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use super::types::{ClientId, TokenEndpointAuthMethod};
use crate::crypto::{constant_time_eq, sha256};
use crate::store::{Client, Store};

/// Token requests are small; anything larger is refused before parsing.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A parsed `application/x-www-form-urlencoded` body in which no parameter repeats
/// (RFC 6749 §3.2: "parameters MUST NOT be included more than once").
pub struct Form(Vec<(String, String)>);

impl Form {
    pub async fn read(headers: &HeaderMap, body: Body) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                OAuthError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    format!(
                        "the request body must be at most {} KiB",
                        MAX_FORM_BYTES / 1024
                    ),
                )
            })?;
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(&bytes).into_owned().collect();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(OAuthError::bad_request(
                    "invalid_request",
                    format!("the parameter {name} is repeated"),
                ));
            }
        }
        Ok(Self(pairs))
    }

    /// The parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::bad_request(
                "invalid_request",
                format!("the parameter {name} is missing"),
            )
        })
    }
}

fn invalid_client(description: &str, basic_tried: bool) -> OAuthError {
    let error = OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
    // RFC 6749 §5.2: when the client tried HTTP Basic, answer with the scheme it should use.
    if basic_tried {
        error.with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"omnichat\", charset=\"UTF-8\""),
        )
    } else {
        error
    }
}

/// `client_id:client_secret` from an HTTP Basic header, each form-urlencoded (RFC 6749
/// §2.3.1). `Ok(None)` when the request has no Basic credentials.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| invalid_client("malformed Authorization header", true))?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(invalid_client("malformed Authorization header", true));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_client(
            "client authentication must use HTTP Basic",
            true,
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// Authenticates the client of a token/revoke/introspect request with the method it
/// registered, and returns it. Every failure is `invalid_client` (401) except a request that
/// uses two methods at once, which is `invalid_request` (OAuth 2.1 §3.2.4).
pub async fn authenticate_client(
    store: &dyn Store,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let post_secret = form.get("client_secret");
    let body_id = form.get("client_id");
    if basic.is_some() && post_secret.is_some() {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "use one client authentication method, not both Basic and client_secret",
        ));
    }
    let (id, secret, method) = if let Some((id, secret)) = &basic {
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "client_id in the body differs from the authenticated client",
            ));
        }
        (
            id.as_str(),
            Some(secret.as_str()),
            TokenEndpointAuthMethod::ClientSecretBasic,
        )
    } else if let Some(secret) = post_secret {
        (
            body_id
                .ok_or_else(|| invalid_client("client_id is required with client_secret", false))?,
            Some(secret),
            TokenEndpointAuthMethod::ClientSecretPost,
        )
    } else {
        (
            body_id.ok_or_else(|| {
                invalid_client(
                    "client authentication is required (client_id is missing)",
                    false,
                )
            })?,
            None,
            TokenEndpointAuthMethod::None,
        )
    };
    let basic_tried = basic.is_some();
    let client = match ClientId::parse(id) {
        Some(client_id) => store.find_client(&client_id).await?,
        None => None,
    }
    .ok_or_else(|| invalid_client("unknown client", basic_tried))?;

    if client.token_endpoint_auth_method != method {
        return Err(invalid_client(
            &format!(
                "this client must authenticate with {}",
                client.token_endpoint_auth_method.as_str()
            ),
            basic_tried,
        ));
    }
    if let Some(secret) = secret {
        let matches = client
            .secret_hash
            .is_some_and(|stored| constant_time_eq(&stored, &sha256(secret.as_bytes())));
        if !matches {
            return Err(invalid_client("client authentication failed", basic_tried));
        }
    }
    Ok(client)
}
