//! Everything the server must remember lives behind [`Store`], so that every instance of a
//! deployment sees the same state (DESIGN.md "Tokens and state"). Callers hold an
//! `Arc<dyn Store>` and never see SQL; `sqlite.rs` is the embedded default, and a PostgreSQL
//! implementation plugs in beside it without touching callers.
//!
//! Times are Unix seconds (`i64`), taken from the caller's clock so tests can move time.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::Settings;
use crate::oauth::types::{ClientId, GrantType, ScopeSet, TokenEndpointAuthMethod, UserName};

pub mod sqlite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e.g. a duplicate user name); the text names it.
    #[error("{0}")]
    Conflict(String),
    /// The database could not be reached or failed; details are logged, not shown to clients.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back (e.g. malformed JSON in a column).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: UserName,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
}

/// A registered client (RFC 7591 §2 metadata that this server keeps).
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: ClientId,
    /// SHA-256 of the client secret; `None` for public clients.
    pub secret_hash: Option<[u8; 32]>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub grant_types: Vec<GrantType>,
    /// The `scope` the client registered; `None` when it registered none.
    pub scope: Option<ScopeSet>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    pub contacts: Vec<String>,
    pub issued_at: i64,
}

/// How a signing key's private part is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProtection {
    /// Stored as plain PKCS#8 (no master key was configured when it was made).
    Plain,
    /// Sealed with the master key (AES-256-GCM, the key id as associated data).
    MasterKey,
}

impl KeyProtection {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyProtection::Plain => "plain",
            KeyProtection::MasterKey => "master-key",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "plain" => Some(KeyProtection::Plain),
            "master-key" => Some(KeyProtection::MasterKey),
            _ => None,
        }
    }
}

/// A JWS signing key as stored.
#[derive(Debug, Clone)]
pub struct StoredSigningKey {
    pub kid: String,
    pub alg: String,
    /// The public key as a JWK (JSON text), published in the JWKS.
    pub public_jwk: String,
    pub private_key: Vec<u8>,
    pub protection: KeyProtection,
    pub created_at: i64,
    /// When it stopped signing; `None` while it is the active key.
    pub retired_at: Option<i64>,
    /// Until when it stays in the JWKS to verify the tokens it signed.
    pub verify_until: Option<i64>,
}

/// A browser session (after login). Only the hash of the session id is kept.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: [u8; 32],
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An issued authorization code, bound to everything the token request must match.
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub code_hash: [u8; 32],
    pub client_id: ClientId,
    pub user_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: ScopeSet,
    pub resource: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub grant_id: Option<String>,
}

/// What a user approved for a client, with the refresh tokens that may still be used.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub user_id: String,
    pub client_id: ClientId,
    pub scope: ScopeSet,
    pub resource: String,
    pub created_at: i64,
    /// The absolute end of the grant's refresh tokens.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub latest_refresh_hash: Option<[u8; 32]>,
    pub previous_refresh_hash: Option<[u8; 32]>,
}

/// A grant with the names an operator recognises (for `grants list`).
#[derive(Debug, Clone)]
pub struct GrantListing {
    pub grant: Grant,
    pub user_name: String,
    pub client_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub token_hash: [u8; 32],
    pub grant_id: String,
    pub created_at: i64,
}

/// Which of a grant's two usable refresh tokens was presented (see `oauth::token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPosition {
    /// The newest token: it becomes `previous`, the new one `latest`.
    Latest,
    /// The token before the newest, whose successor was never used: the new token replaces
    /// `latest` (the retry after a lost response). `latest` must still be this value.
    Previous { latest: [u8; 32] },
}

/// The outcome of redeeming a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    Redeemed,
    /// The code was used before (or concurrently) — a replay.
    AlreadyUsed,
}

/// A document of the public knowledge base.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub body: String,
    /// Where it came from (a file name, or `builtin:` for the seeded docs).
    pub source: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    pub snippet: String,
    /// Higher is better (the negated bm25 rank).
    pub score: f64,
}

#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub user_id: String,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Orders conversations updated within the same second (a store-wide counter).
    pub updated_seq: i64,
}

#[derive(Debug, Clone)]
pub struct Message {
    /// Position in the store, used for paging.
    pub seq: i64,
    pub id: String,
    pub conversation_id: String,
    pub role: String,
    pub content: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct MessageHit {
    pub message: Message,
    pub conversation_title: String,
    pub snippet: String,
    pub score: f64,
}

/// An SSH host the operator defined.
#[derive(Debug, Clone)]
pub struct SshHost {
    pub name: String,
    pub address: String,
    pub username: String,
    pub private_key: Vec<u8>,
    pub protection: KeyProtection,
    /// The pinned host key, `<type> <base64>`.
    pub host_key: String,
    /// User names allowed to use it; empty means every user.
    pub allowed_users: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub user_id: String,
    pub client_id: String,
    pub host: String,
    pub command: String,
    pub exit_status: Option<i64>,
    pub timed_out: bool,
    pub duration_ms: i64,
    /// `ok`, or why the command did not run or failed.
    pub outcome: String,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn find_user_by_name(&self, name: &UserName) -> Result<Option<User>, StoreError>;
    /// Returns false when no such user exists.
    async fn set_user_disabled(
        &self,
        name: &UserName,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Returns false when no such user exists.
    async fn set_user_password(
        &self,
        name: &UserName,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError>;

    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, client_id: &ClientId) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Returns false when no such client exists.
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, StoreError>;

    /// Every stored signing key, newest first.
    async fn list_signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError>;
    /// Adds a key as the active key for its algorithm. In one transaction, the current active
    /// key of that algorithm (if any) is retired at `now` and kept for verification until
    /// `verify_until`. Fails with `Conflict` when another writer made a key active meanwhile
    /// and `retire_current` is false.
    async fn activate_signing_key(
        &self,
        key: &StoredSigningKey,
        retire_current: Option<(i64, i64)>,
    ) -> Result<(), StoreError>;
    /// Deletes retired keys whose verification window ended before `now`; returns how many.
    async fn prune_signing_keys(&self, now: i64) -> Result<u64, StoreError>;

    async fn find_user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The unexpired session with this id hash, with its user.
    async fn find_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<(Session, User)>, StoreError>;
    async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), StoreError>;

    async fn has_consent(
        &self,
        user_id: &str,
        client_id: &ClientId,
        scope: &ScopeSet,
    ) -> Result<bool, StoreError>;
    async fn insert_consent(
        &self,
        user_id: &str,
        client_id: &ClientId,
        scope: &ScopeSet,
        now: i64,
    ) -> Result<(), StoreError>;

    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;
    async fn find_authorization_code(
        &self,
        code_hash: &[u8; 32],
    ) -> Result<Option<AuthorizationCode>, StoreError>;
    /// Marks the code used and creates its grant (and first refresh token) in one
    /// transaction. Exactly one of any number of concurrent callers gets `Redeemed`.
    async fn redeem_authorization_code(
        &self,
        code_hash: &[u8; 32],
        now: i64,
        grant: &Grant,
        refresh_token: Option<&RefreshToken>,
    ) -> Result<Redemption, StoreError>;

    async fn find_grant(&self, grant_id: &str) -> Result<Option<Grant>, StoreError>;
    /// A refresh token (by hash) with its grant.
    async fn find_refresh_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(RefreshToken, Grant)>, StoreError>;
    /// Compare-and-swap rotation: records `new_token` and moves the grant's lineage, only if
    /// the grant is unrevoked and still in the state `position` describes for `presented`.
    /// Returns false when another request changed the grant first.
    async fn rotate_refresh_token(
        &self,
        grant_id: &str,
        presented: &[u8; 32],
        position: RefreshPosition,
        new_token: &RefreshToken,
    ) -> Result<bool, StoreError>;
    /// Revokes a grant (idempotent); returns false when it does not exist.
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError>;
    async fn revoke_user_grants(&self, user_id: &str, now: i64) -> Result<u64, StoreError>;
    /// Grants, newest first, optionally of one user only.
    async fn list_grants(&self, user_id: Option<&str>) -> Result<Vec<GrantListing>, StoreError>;

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;
    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError>;
    /// Deletes expired codes, sessions and revocation records; returns how many rows went.
    async fn prune_expired(&self, now: i64) -> Result<u64, StoreError>;

    async fn get_fact(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn set_fact(&self, key: &str, value: &str) -> Result<(), StoreError>;

    async fn insert_document(&self, document: &Document) -> Result<(), StoreError>;
    async fn list_documents(&self) -> Result<Vec<Document>, StoreError>;
    async fn delete_document(&self, id: &str) -> Result<bool, StoreError>;
    /// Full-text search; `match_expression` is an FTS5 query built by the caller from quoted
    /// terms only (see `tools::search`).
    async fn search_documents(
        &self,
        match_expression: &str,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError>;

    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError>;
    async fn find_conversation(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<Conversation>, StoreError>;
    /// The user's conversations, most recently updated first, after the `(updated_at,
    /// updated_seq)` position of the cursor.
    async fn list_conversations(
        &self,
        user_id: &str,
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// Appends a message and bumps its conversation's `updated_at`.
    async fn insert_message(
        &self,
        user_id: &str,
        message: &Message,
        now: i64,
    ) -> Result<Message, StoreError>;
    /// Messages of one of the user's conversations, oldest first, after position `after_seq`.
    async fn list_messages(
        &self,
        user_id: &str,
        conversation_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
    async fn search_messages(
        &self,
        user_id: &str,
        match_expression: &str,
        limit: u32,
    ) -> Result<Vec<MessageHit>, StoreError>;

    async fn insert_ssh_host(&self, host: &SshHost) -> Result<(), StoreError>;
    async fn list_ssh_hosts(&self) -> Result<Vec<SshHost>, StoreError>;
    async fn find_ssh_host(&self, name: &str) -> Result<Option<SshHost>, StoreError>;
    async fn delete_ssh_host(&self, name: &str) -> Result<bool, StoreError>;
    async fn insert_audit(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// The newest audit records first.
    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Opens the store the settings name (SQLite in the data dir unless a database URL is set)
/// and applies its migrations.
pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match settings.database_url.as_ref().map(|u| u.expose().as_str()) {
        None => Ok(Arc::new(sqlite::SqliteStore::open(settings).await?)),
        Some(url) if url.starts_with("sqlite:") => {
            Ok(Arc::new(sqlite::SqliteStore::open(settings).await?))
        }
        Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
            anyhow::bail!("PostgreSQL support is not implemented yet; use the default SQLite store")
        }
        Some(_) => {
            anyhow::bail!("unsupported database URL: use sqlite:PATH (PostgreSQL comes later)")
        }
    }
}
