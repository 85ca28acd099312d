//! The JSON error every OAuth endpoint answers with: `{"error", "error_description"}`
//! (RFC 6749 §5.2, RFC 7591 §3.2.2), never cached.
//!
//! Use [`OAuthError::new`] for errors a client caused (a 4xx with the RFC's code and a
//! sentence a developer can act on) and [`OAuthError::internal`] for our own failures: the
//! cause is logged, and the client sees only `server_error`.

use std::fmt::Display;

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl OAuthError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    /// A failure on our side. The cause goes to the log; the client learns only that it was
    /// not its fault.
    pub fn internal(cause: impl Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the server failed to handle the request; it has been logged",
        )
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        OAuthError::internal(err)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code, "error_description": self.description }));
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}
