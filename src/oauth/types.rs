//! Protocol identifiers as types: input is parsed into these at the edge, so the core never
//! handles raw strings for scopes, client ids, grant types or user names.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One OAuth scope this server knows (RFC 6749 §3.3). The resource's scopes are fixed by the
/// product (DESIGN.md "Protocol surface").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "files:read")]
    FilesRead,
    #[serde(rename = "files:write")]
    FilesWrite,
    #[serde(rename = "chat:read")]
    ChatRead,
    #[serde(rename = "chat:write")]
    ChatWrite,
    #[serde(rename = "ssh:execute")]
    SshExecute,
}

impl Scope {
    /// Every scope of the MCP resource, in the order documents list them.
    pub const ALL: [Scope; 5] = [
        Scope::FilesRead,
        Scope::FilesWrite,
        Scope::ChatRead,
        Scope::ChatWrite,
        Scope::SshExecute,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::FilesRead => "files:read",
            Scope::FilesWrite => "files:write",
            Scope::ChatRead => "chat:read",
            Scope::ChatWrite => "chat:write",
            Scope::SshExecute => "ssh:execute",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// What the consent page says the scope lets an app do.
    pub fn description(self) -> &'static str {
        match self {
            Scope::FilesRead => "See the files in your OmniChat file space",
            Scope::FilesWrite => "Create, change and delete files in your OmniChat file space",
            Scope::ChatRead => "Read and search your OmniChat conversations",
            Scope::ChatWrite => "Add messages and start conversations in your OmniChat history",
            Scope::SshExecute => "Run commands on the SSH hosts you are allowed to use",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes. Parsed from the space-delimited `scope` parameter (RFC 6749 §3.3):
/// order and repetition carry no meaning, so the set is kept sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

/// A scope string that names a scope this server does not support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownScope(pub String);

impl ScopeSet {
    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }

    /// Parses a space-delimited list. Empty tokens (several spaces) are ignored; an unknown
    /// scope is an error naming it.
    pub fn parse(text: &str) -> Result<Self, UnknownScope> {
        text.split(' ')
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| UnknownScope(s.to_string())))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.union(&other.0).copied().collect())
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for ScopeSet {
    /// The canonical space-delimited form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

/// A registered client's identifier (RFC 6749 §2.2). Not a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientId(String);

impl ClientId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Client ids arrive from the network; anything not shaped like one we issue cannot name a
    /// client, so it is refused before it reaches the store.
    pub fn parse(text: &str) -> Option<Self> {
        (!text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// A public client: it sends only `client_id`.
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl TokenEndpointAuthMethod {
    pub const ALL: [TokenEndpointAuthMethod; 3] = [
        TokenEndpointAuthMethod::None,
        TokenEndpointAuthMethod::ClientSecretBasic,
        TokenEndpointAuthMethod::ClientSecretPost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenEndpointAuthMethod::None => "none",
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    pub fn is_confidential(self) -> bool {
        self != TokenEndpointAuthMethod::None
    }
}

/// The grant types this server implements (OAuth 2.1 §4.1, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

/// A user's login name: 1–64 characters of ASCII letters, digits and `.`, `_`, `-`, `@`,
/// starting with a letter or digit. Names are case-insensitive, so they are kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid_chars = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        let starts_well = text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        if text.is_empty() || text.len() > 64 || !valid_chars || !starts_well {
            return Err(format!(
                "invalid user name {text:?}: use 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit"
            ));
        }
        Ok(Self(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_parse_and_print_canonically() {
        let set = ScopeSet::parse("chat:read  files:read chat:read").unwrap();
        assert_eq!(set.to_string(), "files:read chat:read");
        assert_eq!(
            ScopeSet::parse("files:read admin"),
            Err(UnknownScope("admin".into()))
        );
        assert!(ScopeSet::parse("").unwrap().is_empty());
        assert_eq!(
            ScopeSet::all().to_string(),
            "files:read files:write chat:read chat:write ssh:execute"
        );
    }

    #[test]
    fn user_names() {
        assert_eq!(UserName::parse("Alice").unwrap().as_str(), "alice");
        assert!(UserName::parse("bob.smith@example.com").is_ok());
        for bad in ["", "-bob", "bob smith", "bob/../x", "ü", &"a".repeat(65)] {
            assert!(UserName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn client_ids() {
        assert!(ClientId::parse(ClientId::generate().as_str()).is_some());
        assert!(ClientId::parse("' OR 1=1 --").is_none());
        assert!(ClientId::parse("").is_none());
    }
}
