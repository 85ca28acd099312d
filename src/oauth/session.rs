//! Browser sessions and CSRF protection for the login and consent pages.
//!
//! - The session cookie holds a 256-bit random id; the store keeps only its SHA-256.
//!   `HttpOnly`, `SameSite=Lax` (the first request arrives as a top-level navigation from the
//!   client's site), and `Secure` with the `__Host-` prefix when the public URL is https.
//! - The login form is protected by a double-submit cookie: a random token in a `SameSite=Strict`
//!   cookie that must equal the form's `csrf_token`.
//! - The consent form's token is derived from the session id, so it is useless without the
//!   session cookie and needs no storage.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::config::PublicUrl;
use crate::crypto::{Secret, b64url, constant_time_eq, random_token, sha256};
use crate::store::{Session, Store, StoreError, User};

/// How long a login lasts.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

pub struct CookieNames {
    pub session: &'static str,
    pub login_csrf: &'static str,
    secure: bool,
}

impl CookieNames {
    pub fn for_url(public: &PublicUrl) -> Self {
        if public.is_https() {
            Self {
                session: "__Host-omnichat_session",
                login_csrf: "__Host-omnichat_csrf",
                secure: true,
            }
        } else {
            Self {
                session: "omnichat_session",
                login_csrf: "omnichat_csrf",
                secure: false,
            }
        }
    }

    fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age: i64,
        same_site: &str,
    ) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
        ))
        .ok()
    }

    pub fn session_cookie(&self, id: &Secret<String>) -> Option<HeaderValue> {
        self.cookie(self.session, id.expose(), SESSION_TTL_SECS, "Lax")
    }

    pub fn login_csrf_cookie(&self, token: &Secret<String>) -> Option<HeaderValue> {
        self.cookie(self.login_csrf, token.expose(), 3600, "Strict")
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<Secret<String>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| Secret::new(value.to_string()))
}

/// The signed-in user of this request, if its session cookie names a live session of an
/// enabled user.
pub async fn current_session(
    store: &dyn Store,
    names: &CookieNames,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<(Secret<String>, Session, User)>, StoreError> {
    let Some(id) = read_cookie(headers, names.session) else {
        return Ok(None);
    };
    if id.expose().len() != 43 {
        return Ok(None);
    }
    let found = store
        .find_session(&sha256(id.expose().as_bytes()), now)
        .await?;
    Ok(found
        .filter(|(_, user)| !user.disabled)
        .map(|(session, user)| (id, session, user)))
}

/// Starts a session for `user`; returns the id for the cookie.
pub async fn start_session(
    store: &dyn Store,
    user: &User,
    now: i64,
) -> Result<Secret<String>, StoreError> {
    let id = random_token();
    store
        .insert_session(&Session {
            id_hash: sha256(id.expose().as_bytes()),
            user_id: user.id.clone(),
            created_at: now,
            expires_at: now + SESSION_TTL_SECS,
        })
        .await?;
    Ok(id)
}

/// The consent form's CSRF token for a session.
pub fn consent_csrf_token(session_id: &Secret<String>) -> String {
    let mut input = b"omnichat consent csrf\0".to_vec();
    input.extend_from_slice(session_id.expose().as_bytes());
    b64url(&sha256(&input))
}

/// Compares a submitted CSRF token with the expected one in constant time.
pub fn csrf_matches(submitted: Option<&str>, expected: &str) -> bool {
    submitted.is_some_and(|s| {
        !expected.is_empty() && constant_time_eq(s.as_bytes(), expected.as_bytes())
    })
}

/// Is this form POST from one of our own pages? Defence in depth besides the CSRF token
/// (OWASP CSRF cheat sheet, "Verifying origin" and "Fetch Metadata").
///
/// Our pages send `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` even
/// for a same-origin form post (Fetch §3.1 "serializing a request origin"), so the origin
/// alone cannot tell. Where the browser sends `Sec-Fetch-Site`, it decides: only
/// `same-origin` (or `none`, a user-typed navigation) passes. Without it, an `Origin` naming
/// another site is refused; an absent or `null` one is left to the CSRF token.
pub fn origin_allowed(headers: &HeaderMap, public: &PublicUrl) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => origin == public.origin(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_follow_the_scheme() {
        let https = CookieNames::for_url(&PublicUrl::parse("https://x.example").unwrap());
        let v = https.session_cookie(&Secret::new("abc".into())).unwrap();
        let v = v.to_str().unwrap();
        assert!(v.starts_with("__Host-omnichat_session=abc; Path=/;"));
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Secure"));
        let http = CookieNames::for_url(&PublicUrl::parse("http://127.0.0.1:1").unwrap());
        let v = http.session_cookie(&Secret::new("abc".into())).unwrap();
        assert!(!v.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn reads_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; omnichat_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(
            read_cookie(&headers, "omnichat_session").unwrap().expose(),
            "xyz"
        );
        assert!(read_cookie(&headers, "c").is_none());
    }

    #[test]
    fn origin_checks_follow_fetch_metadata() {
        let public = PublicUrl::parse("http://127.0.0.1:1").unwrap();
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            origin_allowed(&h, &public)
        };
        assert!(with(&[]));
        assert!(with(&[("origin", "http://127.0.0.1:1")]));
        assert!(with(&[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ]));
        assert!(!with(&[
            ("origin", "null"),
            ("sec-fetch-site", "cross-site")
        ]));
        assert!(!with(&[
            ("origin", "http://127.0.0.1:1"),
            ("sec-fetch-site", "same-site")
        ]));
        assert!(!with(&[("origin", "https://evil.example")]));
    }

    #[test]
    fn csrf_tokens() {
        let t = consent_csrf_token(&Secret::new("s1".into()));
        assert_ne!(t, consent_csrf_token(&Secret::new("s2".into())));
        assert!(csrf_matches(Some(&t), &t));
        assert!(!csrf_matches(None, &t));
        assert!(!csrf_matches(Some("x"), &t));
    }
}
