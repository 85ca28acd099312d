//! Server-rendered pages (login, consent, errors): no JavaScript, no third-party resources,
//! readable on a phone, every value escaped by the template engine, and the security headers
//! every page carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{AutoEscape, Environment, context};
use url::Url;

pub const STYLESHEET_PATH: &str = "/assets/omnichat.css";
const STYLESHEET: &str = include_str!("omnichat.css");

pub struct Pages {
    env: Environment<'static>,
}

#[derive(Debug)]
pub struct ScopeLine {
    pub name: &'static str,
    pub description: &'static str,
}

/// What the login page shows.
pub struct LoginPage<'a> {
    pub client_name: &'a str,
    pub params: &'a [(String, String)],
    pub csrf_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// Where the page's forms (and the redirects after them) may go.
    pub form_targets: &'a [String],
}

pub struct ConsentPage<'a> {
    pub client_name: &'a str,
    pub user_name: &'a str,
    pub redirect_host: &'a str,
    pub scopes: Vec<ScopeLine>,
    pub params: &'a [(String, String)],
    pub csrf_token: &'a str,
    pub form_targets: &'a [String],
}

impl Pages {
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // Every value is HTML-escaped (client names are attacker-chosen).
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("hidden.html", include_str!("templates/hidden.html")),
            ("login.html", include_str!("templates/login.html")),
            ("consent.html", include_str!("templates/consent.html")),
            ("error.html", include_str!("templates/error.html")),
        ] {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }

    pub fn login(&self, status: StatusCode, page: &LoginPage<'_>) -> Response {
        let body = self.render(
            "login.html",
            context! {
                client_name => page.client_name,
                params => pairs_value(page.params),
                csrf_token => page.csrf_token,
                username => page.username,
                error => page.error,
                action => crate::oauth::endpoints::LOGIN,
            },
        );
        self.respond(status, body, page.form_targets)
    }

    pub fn consent(&self, page: &ConsentPage<'_>) -> Response {
        let body = self.render(
            "consent.html",
            context! {
                client_name => page.client_name,
                user_name => page.user_name,
                redirect_host => page.redirect_host,
                scopes => page
                    .scopes
                    .iter()
                    .map(|s| context! { name => s.name, description => s.description })
                    .collect::<Vec<_>>(),
                params => pairs_value(page.params),
                csrf_token => page.csrf_token,
                action => crate::oauth::endpoints::CONSENT,
            },
        );
        self.respond(StatusCode::OK, body, page.form_targets)
    }

    /// An error page. Used where redirecting is unsafe (unknown client, unverified redirect
    /// URI: RFC 6749 §4.1.2.1) and for failures a person must read.
    pub fn error(&self, status: StatusCode, title: &str, message: &str, hint: &str) -> Response {
        let body = self.render(
            "error.html",
            context! { title => title, message => message, hint => hint },
        );
        self.respond(status, body, &[])
    }

    fn respond(
        &self,
        status: StatusCode,
        body: Result<String, minijinja::Error>,
        form_targets: &[String],
    ) -> Response {
        match body {
            Ok(html) => with_page_headers(
                (status, axum::response::Html(html)).into_response(),
                form_targets,
            ),
            Err(e) => {
                tracing::error!(error = %e, "page template failed");
                with_page_headers(
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
                    &[],
                )
            }
        }
    }
}

/// Name/value pairs as a template list of two-element lists (for hidden form fields).
fn pairs_value(pairs: &[(String, String)]) -> minijinja::Value {
    pairs
        .iter()
        .map(|(name, value)| minijinja::Value::from(vec![name.clone(), value.clone()]))
        .collect::<Vec<_>>()
        .into()
}

/// The CSP source that lets a form (and the redirects after it) reach `redirect_uri`.
/// Chromium applies `form-action` to every redirect that follows a form submission, so the
/// client's redirect URI must be allowed or the final redirect is blocked.
pub fn form_target_for(redirect_uri: &str) -> Option<String> {
    let url = Url::parse(redirect_uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        // Private-use schemes of native apps (RFC 8252 §7.1) have no web origin.
        return Some(format!("{}:", url.scheme()));
    }
    match url.host() {
        // CSP host-source has no syntax for IPv6 literals: allow the scheme instead.
        Some(url::Host::Ipv6(_)) => Some(format!("{}:", url.scheme())),
        Some(_) => Some(url.origin().ascii_serialization()),
        None => None,
    }
}

/// Security headers of every page (the issue's list, plus nosniff): no framing, no referrer
/// leaking the authorization request, nothing cached, and nothing loaded from elsewhere.
pub fn with_page_headers(mut response: Response, form_targets: &[String]) -> Response {
    let mut form_action = String::from("'self'");
    for target in form_targets {
        // Only characters a CSP source may hold; anything else would break the header.
        if target
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'\'')
        {
            form_action.push(' ');
            form_action.push_str(target);
        }
    }
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

pub async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_escaped() {
        let pages = Pages::new().unwrap();
        let params = vec![("state".to_string(), "\"><script>x</script>".to_string())];
        let html = pages
            .render(
                "login.html",
                context! {
                    client_name => "<script>alert(1)</script>",
                    params => pairs_value(&params),
                    csrf_token => "t",
                    username => "",
                    error => None::<&str>,
                    action => "/login",
                },
            )
            .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains(r#"name="state" value="&quot;&gt;&lt;script&gt;x&lt;&#x2f;script&gt;""#),
            "{html}"
        );
    }

    #[test]
    fn form_targets() {
        assert_eq!(
            form_target_for("https://chatgpt.com/connector/oauth/x").unwrap(),
            "https://chatgpt.com"
        );
        assert_eq!(
            form_target_for("http://127.0.0.1:5555/cb").unwrap(),
            "http://127.0.0.1:5555"
        );
        assert_eq!(form_target_for("http://[::1]:5555/cb").unwrap(), "http:");
        assert_eq!(form_target_for("cursor://anysphere/cb").unwrap(), "cursor:");
    }
}
