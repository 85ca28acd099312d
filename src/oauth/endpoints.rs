//! Every path this server answers, shared by the router and the discovery documents so the
//! two cannot drift apart (the Kanidm habit).

pub const MCP: &str = "/mcp";
pub const AUTHORIZE: &str = "/authorize";
pub const TOKEN: &str = "/token";
pub const REGISTER: &str = "/register";
pub const JWKS: &str = "/jwks.json";
/// RFC 7009 token revocation.
pub const REVOKE: &str = "/revoke";
/// RFC 7662 token introspection.
pub const INTROSPECT: &str = "/introspect";
/// The login form of the authorization flow posts here.
pub const LOGIN: &str = "/login";
/// The consent form of the authorization flow posts here.
pub const CONSENT: &str = "/consent";

/// RFC 9728 §3.1: the metadata of resource `<public>`.
pub const PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";
/// RFC 9728 §3.1: the metadata of resource `<public>/mcp` (the path is appended).
pub const PROTECTED_RESOURCE_MCP: &str = "/.well-known/oauth-protected-resource/mcp";
/// RFC 8414 §3.
pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery 1.0 §4.
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";

/// The paths that browsers may call cross-origin (CORS). Pages a person sees (`/authorize`,
/// later `/account`) are top-level navigations and are left out on purpose.
pub fn allows_cors(path: &str) -> bool {
    matches!(
        path,
        MCP | TOKEN
            | REVOKE
            | REGISTER
            | JWKS
            | PROTECTED_RESOURCE
            | PROTECTED_RESOURCE_MCP
            | AUTHORIZATION_SERVER_METADATA
            | OPENID_CONFIGURATION
    )
}
