//! The redirect URI policy (DESIGN.md "Redirect URI policy").
//!
//! Registration accepts only URIs that the policy allows; authorization later compares the
//! requested URI with the registered ones by exact string (OAuth 2.1 §2.3.1, RFC 9700 §2.1),
//! except that a loopback URI may use any port at request time (RFC 8252 §7.3).
//!
//! Every check here works on the raw string as the client sent it, and a URI is accepted only
//! when its parsed form and its text agree: what is compared later is the exact text, so
//! nothing may be hidden from the parser in it (`\`, whitespace, userinfo, fragments).

use std::collections::HashSet;

use url::{Host, Url};

/// ChatGPT's fixed redirect URIs (OpenAI Apps SDK authentication guide).
const CHATGPT_FIXED: [&str; 2] = [
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://platform.openai.com/apps-manage/oauth",
];
/// ChatGPT's per-connector redirect URI: this prefix followed by a callback id.
const CHATGPT_CONNECTOR_PREFIX: &str = "https://chatgpt.com/connector/oauth/";
/// Redirect URIs longer than this are refused; real ones are far shorter.
pub const MAX_REDIRECT_URI_LEN: usize = 2000;

#[derive(Debug, Clone, Default)]
pub struct RedirectPolicy {
    /// Further exact URIs the operator allows (other MCP clients, private-use schemes).
    extra: HashSet<String>,
    /// Allow plain-http redirect URIs to non-loopback hosts (development only).
    allow_insecure_http: bool,
}

impl RedirectPolicy {
    pub fn new(extra: impl IntoIterator<Item = String>, allow_insecure_http: bool) -> Self {
        Self {
            extra: extra.into_iter().collect(),
            allow_insecure_http,
        }
    }

    /// Checks a redirect URI offered at registration; `Err` says why it was refused.
    pub fn check_registration(&self, raw: &str) -> Result<(), String> {
        if raw.is_empty() {
            return Err("a redirect URI is empty".into());
        }
        if raw.len() > MAX_REDIRECT_URI_LEN {
            return Err(format!(
                "a redirect URI is longer than {MAX_REDIRECT_URI_LEN} characters"
            ));
        }
        // Printable ASCII only: no spaces, controls or backslashes that parsers read differently.
        if !raw.bytes().all(|b| b.is_ascii_graphic()) || raw.contains('\\') {
            return Err(format!(
                "redirect URI {raw:?} contains whitespace, control, non-ASCII or backslash characters"
            ));
        }
        // OAuth 2.1 §2.3.1 / RFC 6749 §3.1.2: the redirect URI must not include a fragment.
        if raw.contains('#') {
            return Err(format!("redirect URI {raw:?} has a fragment"));
        }
        let url =
            Url::parse(raw).map_err(|_| format!("redirect URI {raw:?} is not an absolute URI"))?;
        // Script and inline-content schemes can never be a redirect target, not even by
        // configuration (RFC 9700 §4.1: open redirectors and script injection).
        if matches!(
            url.scheme(),
            "javascript" | "data" | "vbscript" | "file" | "blob"
        ) {
            return Err(format!(
                "redirect URI scheme {:?} is not allowed",
                url.scheme()
            ));
        }
        if self.extra.contains(raw) {
            return Ok(());
        }
        if CHATGPT_FIXED.contains(&raw) {
            return Ok(());
        }
        if let Some(id) = raw.strip_prefix(CHATGPT_CONNECTOR_PREFIX) {
            if is_callback_id(id) {
                return Ok(());
            }
            return Err(format!(
                "redirect URI {raw:?} is not a ChatGPT connector callback"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("redirect URI {raw:?} contains user information"));
        }
        if url.scheme() == "http" && is_loopback_url(&url) {
            // RFC 8252 §7.3: native apps listen on a loopback port.
            return Ok(());
        }
        if url.scheme() == "http" && self.allow_insecure_http && url.host().is_some() {
            return Ok(());
        }
        Err(format!(
            "redirect URI {raw:?} is not allowed: use ChatGPT's redirect URIs, a loopback http URI, or ask the operator to allow it"
        ))
    }

    /// Does the redirect URI of an authorization request match a registered one? Exact string
    /// comparison, except that loopback URIs match on any port (RFC 8252 §7.3, OAuth 2.1 §8.4.2).
    pub fn matches(registered: &str, requested: &str) -> bool {
        if registered == requested {
            return true;
        }
        let (Ok(reg), Ok(req)) = (Url::parse(registered), Url::parse(requested)) else {
            return false;
        };
        if reg.scheme() != "http" || !is_loopback_url(&reg) {
            return false;
        }
        // Same string once the port is removed from both: only the port may differ.
        strip_port(registered, &reg) == strip_port(requested, &req)
            && req.scheme() == "http"
            && is_loopback_url(&req)
    }
}

fn is_callback_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `http://127.0.0.1`, `http://[::1]` or `http://localhost`, with any port.
fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback() && ip.octets() == [127, 0, 0, 1],
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The raw URI text with the `:port` after the host removed. The host must be spelled in the
/// text exactly as the parser read it, so nothing else in the text can be skipped over.
fn strip_port(raw: &str, url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let rest = raw.strip_prefix("http://")?.strip_prefix(host)?;
    let rest = match rest.strip_prefix(':') {
        Some(after_colon) => after_colon.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    Some(format!("http://{host}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_policy() {
        let policy = RedirectPolicy::default();
        for ok in [
            "https://chatgpt.com/connector_platform_oauth_redirect",
            "https://chatgpt.com/connector/oauth/abc123",
            "https://platform.openai.com/apps-manage/oauth",
            "http://127.0.0.1:5555/cb",
            "http://localhost:8080/callback",
            "http://[::1]:9/cb",
            "http://127.0.0.1/cb?x=1",
        ] {
            assert!(policy.check_registration(ok).is_ok(), "{ok} refused");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "http://127.0.0.1:5555/cb#frag",
            "http://evil.example/cb",
            "https://evil.example/cb",
            "/relative/cb",
            "https://chatgpt.com.evil.example/connector_platform_oauth_redirect",
            "https://chatgpt.com/connector/oauth/../../evil",
            "https://chatgpt.com/connector/oauth/",
            "http://127.0.0.1:5555@evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.0.0.1\\@evil.example/cb",
            "http://127.0.0.1/ cb",
            "http://127.0.0.2/cb",
            "",
        ] {
            assert!(policy.check_registration(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn configured_extras() {
        let policy = RedirectPolicy::new(
            [
                "https://claude.ai/api/mcp/auth_callback".to_string(),
                "javascript:x".to_string(),
            ],
            false,
        );
        assert!(
            policy
                .check_registration("https://claude.ai/api/mcp/auth_callback")
                .is_ok()
        );
        assert!(policy.check_registration("javascript:x").is_err());
        let dev = RedirectPolicy::new([], true);
        assert!(dev.check_registration("http://dev.example/cb").is_ok());
        assert!(dev.check_registration("https://dev.example/cb").is_err());
    }

    #[test]
    fn authorize_matching() {
        let reg = "https://chatgpt.com/connector/oauth/abc";
        assert!(RedirectPolicy::matches(reg, reg));
        for bad in [
            "https://chatgpt.com/connector/oauth/abc/",
            "https://chatgpt.com/connector/oauth/ABC",
            "https://chatgpt.com/connector/oauth/abc?x=1",
            "https://chatgpt.com/connector%2Foauth/abc",
            "https://chatgpt.com/connector/oauth/abc#f",
            "https://chatgpt.com/connector/oauth/ab",
        ] {
            assert!(!RedirectPolicy::matches(reg, bad), "{bad} matched");
        }
        let lo = "http://127.0.0.1:5555/cb";
        assert!(RedirectPolicy::matches(lo, "http://127.0.0.1:41234/cb"));
        assert!(RedirectPolicy::matches(lo, "http://127.0.0.1/cb"));
        assert!(!RedirectPolicy::matches(lo, "http://127.0.0.1:41234/cb2"));
        assert!(!RedirectPolicy::matches(lo, "http://localhost:5555/cb"));
        assert!(!RedirectPolicy::matches(
            lo,
            "http://127.0.0.1:5555@evil.example/cb"
        ));
        assert!(RedirectPolicy::matches(
            "http://localhost/cb",
            "http://localhost:80/cb"
        ));
        assert!(RedirectPolicy::matches(
            "http://[::1]:1/cb",
            "http://[::1]:2/cb"
        ));
    }
}
