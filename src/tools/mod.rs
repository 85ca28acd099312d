//! The OmniChat tools, independent of HTTP and OAuth: each gets a verified [`Caller`] (or none,
//! for public tools) and plain arguments, and returns structured content.

use crate::oauth::types::ScopeSet;

pub mod chat;
pub mod files;
pub mod search;
pub mod ssh;
pub mod ssh_hosts;
pub mod whoami;

/// Who is calling a tool: established by the bearer layer from a verified access token.
/// Tools never see the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub client_id: String,
    pub scopes: ScopeSet,
}
