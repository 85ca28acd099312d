//! The embedded store: one SQLite file in the data directory, in WAL mode with foreign keys on
//! and `synchronous=FULL` unless configured otherwise.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{
    AuditRecord, AuthorizationCode, Client, Conversation, Document, Grant, GrantListing,
    KeyProtection, Message, MessageHit, Redemption, RefreshPosition, RefreshToken, SearchHit,
    Session, SshHost, Store, StoreError, StoredSigningKey, User,
};
use crate::config::{Settings, SqliteSynchronous as SyncSetting};
use crate::oauth::types::{ClientId, GrantType, ScopeSet, TokenEndpointAuthMethod, UserName};

/// Reads that expect at most one row still use `fetch_all`: a statement left un-stepped to
/// its end (as after `fetch_optional`) keeps its read transaction open on the pooled
/// connection, and later reads there would see an old snapshot of the database, missing
/// writes by other connections and processes (the docs CLI test caught this).
///
/// Reads go through a pool of connections; writes through a single connection, so they queue
/// in order inside the process instead of spinning on SQLite's lock (which costs latency
/// spikes under load). WAL lets the readers work while the writer commits.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let options = match settings.database_url.as_ref().map(|u| u.expose().as_str()) {
            Some(url) => SqliteConnectOptions::from_str(url)?,
            None => {
                create_private_dir(&settings.data_dir)?;
                SqliteConnectOptions::new().filename(settings.sqlite_path())
            }
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .synchronous(match settings.sqlite_synchronous {
                SyncSetting::Full => SqliteSynchronous::Full,
                SyncSetting::Normal => SqliteSynchronous::Normal,
            })
            // Writers queue on SQLite's lock instead of failing while another writes.
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the SQLite database: {e}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| anyhow::anyhow!("cannot apply database migrations: {e}"))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the SQLite database: {e}"))?;
        Ok(Self { pool, writer })
    }
}

/// The data directory holds private keys and users' files: only its owner may enter it.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", dir.display()))?;
    }
    Ok(())
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn json_list<T: serde::de::DeserializeOwned>(
    text: &str,
    column: &str,
) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    let name: String = row.try_get("name")?;
    Ok(User {
        id: row.try_get("id")?,
        name: UserName::parse(&name).map_err(StoreError::Corrupt)?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

fn client_from_row(row: &SqliteRow) -> Result<Client, StoreError> {
    let id: String = row.try_get("client_id")?;
    let secret_hash: Option<Vec<u8>> = row.try_get("secret_hash")?;
    let method: String = row.try_get("token_endpoint_auth_method")?;
    let grant_types: Vec<String> =
        json_list(&row.try_get::<String, _>("grant_types")?, "grant_types")?;
    let scope: Option<String> = row.try_get("scope")?;
    Ok(Client {
        client_id: ClientId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("client id {id:?}")))?,
        secret_hash: secret_hash
            .map(|h| {
                h.try_into()
                    .map_err(|_| StoreError::Corrupt("secret_hash length".into()))
            })
            .transpose()?,
        client_name: row.try_get("client_name")?,
        client_uri: row.try_get("client_uri")?,
        redirect_uris: json_list(&row.try_get::<String, _>("redirect_uris")?, "redirect_uris")?,
        token_endpoint_auth_method: TokenEndpointAuthMethod::parse(&method)
            .ok_or_else(|| StoreError::Corrupt(format!("auth method {method:?}")))?,
        grant_types: grant_types
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| StoreError::Corrupt(format!("grant type {g:?}")))
            })
            .collect::<Result<_, _>>()?,
        scope: scope
            .map(|s| {
                ScopeSet::parse(&s).map_err(|e| StoreError::Corrupt(format!("scope {:?}", e.0)))
            })
            .transpose()?,
        software_id: row.try_get("software_id")?,
        software_version: row.try_get("software_version")?,
        contacts: json_list(&row.try_get::<String, _>("contacts")?, "contacts")?,
        issued_at: row.try_get("issued_at")?,
    })
}

fn key_from_row(row: &SqliteRow) -> Result<StoredSigningKey, StoreError> {
    let protection: String = row.try_get("protection")?;
    Ok(StoredSigningKey {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        public_jwk: row.try_get("public_jwk")?,
        private_key: row.try_get("private_key")?,
        protection: KeyProtection::parse(&protection)
            .ok_or_else(|| StoreError::Corrupt(format!("key protection {protection:?}")))?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
        verify_until: row.try_get("verify_until")?,
    })
}

fn hash32(bytes: Vec<u8>, column: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{column} is not 32 bytes")))
}

fn scope_column(text: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse(text).map_err(|e| StoreError::Corrupt(format!("scope {:?}", e.0)))
}

fn client_id_column(text: &str) -> Result<ClientId, StoreError> {
    ClientId::parse(text).ok_or_else(|| StoreError::Corrupt(format!("client id {text:?}")))
}

fn code_from_row(row: &SqliteRow) -> Result<AuthorizationCode, StoreError> {
    Ok(AuthorizationCode {
        code_hash: hash32(row.try_get("code_hash")?, "code_hash")?,
        client_id: client_id_column(&row.try_get::<String, _>("client_id")?)?,
        user_id: row.try_get("user_id")?,
        redirect_uri: row.try_get("redirect_uri")?,
        code_challenge: row.try_get("code_challenge")?,
        scope: scope_column(&row.try_get::<String, _>("scope")?)?,
        resource: row.try_get("resource")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        grant_id: row.try_get("grant_id")?,
    })
}

fn grant_from_row(row: &SqliteRow) -> Result<Grant, StoreError> {
    let latest: Option<Vec<u8>> = row.try_get("latest_refresh_hash")?;
    let previous: Option<Vec<u8>> = row.try_get("previous_refresh_hash")?;
    Ok(Grant {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        client_id: client_id_column(&row.try_get::<String, _>("client_id")?)?,
        scope: scope_column(&row.try_get::<String, _>("scope")?)?,
        resource: row.try_get("resource")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        latest_refresh_hash: latest
            .map(|h| hash32(h, "latest_refresh_hash"))
            .transpose()?,
        previous_refresh_hash: previous
            .map(|h| hash32(h, "previous_refresh_hash"))
            .transpose()?,
    })
}

fn conversation_from_row(row: &SqliteRow) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        title: row.try_get("title")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        updated_seq: row.try_get("updated_seq")?,
    })
}

fn message_from_row(row: &SqliteRow) -> Result<Message, StoreError> {
    Ok(Message {
        seq: row.try_get("rowid")?,
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        role: row.try_get("role")?,
        content: row.try_get("content")?,
        created_at: row.try_get("created_at")?,
    })
}

fn ssh_host_from_row(row: &SqliteRow) -> Result<SshHost, StoreError> {
    let protection: String = row.try_get("protection")?;
    Ok(SshHost {
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        username: row.try_get("username")?,
        private_key: row.try_get("private_key")?,
        protection: KeyProtection::parse(&protection)
            .ok_or_else(|| StoreError::Corrupt(format!("key protection {protection:?}")))?,
        host_key: row.try_get("host_key")?,
        allowed_users: json_list(&row.try_get::<String, _>("allowed_users")?, "allowed_users")?,
        created_at: row.try_get("created_at")?,
    })
}

fn audit_from_row(row: &SqliteRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        user_id: row.try_get("user_id")?,
        client_id: row.try_get("client_id")?,
        host: row.try_get("host")?,
        command: row.try_get("command")?,
        exit_status: row.try_get("exit_status")?,
        timed_out: row.try_get::<i64, _>("timed_out")? != 0,
        duration_ms: row.try_get("duration_ms")?,
        outcome: row.try_get("outcome")?,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (id, name, password_hash, disabled, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(user.name.as_str())
        .bind(&user.password_hash)
        .bind(i64::from(user.disabled))
        .bind(user.created_at)
        .bind(user.created_at)
        .execute(&self.writer)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "a user named {:?} already exists",
                user.name.as_str()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query("SELECT * FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn find_user_by_name(&self, name: &UserName) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT * FROM users WHERE name = ?")
            .bind(name.as_str())
            .fetch_all(&self.pool)
            .await?
            .first()
            .map(user_from_row)
            .transpose()
    }

    async fn set_user_disabled(
        &self,
        name: &UserName,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = ?, updated_at = ? WHERE name = ?")
            .bind(i64::from(disabled))
            .bind(now)
            .bind(name.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_user_password(
        &self,
        name: &UserName,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?")
            .bind(password_hash)
            .bind(now)
            .bind(name.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let grant_types: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
        sqlx::query(
            "INSERT INTO clients (client_id, secret_hash, client_name, client_uri, redirect_uris,
                 token_endpoint_auth_method, grant_types, scope, software_id, software_version,
                 contacts, issued_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(client.client_id.as_str())
        .bind(client.secret_hash.map(|h| h.to_vec()))
        .bind(&client.client_name)
        .bind(&client.client_uri)
        .bind(to_json(&client.redirect_uris)?)
        .bind(client.token_endpoint_auth_method.as_str())
        .bind(to_json(&grant_types)?)
        .bind(client.scope.as_ref().map(|s| s.to_string()))
        .bind(&client.software_id)
        .bind(&client.software_version)
        .bind(to_json(&client.contacts)?)
        .bind(client.issued_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_client(&self, client_id: &ClientId) -> Result<Option<Client>, StoreError> {
        sqlx::query("SELECT * FROM clients WHERE client_id = ?")
            .bind(client_id.as_str())
            .fetch_all(&self.pool)
            .await?
            .first()
            .map(client_from_row)
            .transpose()
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        sqlx::query("SELECT * FROM clients ORDER BY issued_at, client_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(client_from_row)
            .collect()
    }

    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        sqlx::query("SELECT * FROM signing_keys ORDER BY created_at DESC, kid")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn activate_signing_key(
        &self,
        key: &StoredSigningKey,
        retire_current: Option<(i64, i64)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        if let Some((retired_at, verify_until)) = retire_current {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = ?, verify_until = ?
                 WHERE alg = ? AND retired_at IS NULL",
            )
            .bind(retired_at)
            .bind(verify_until)
            .bind(&key.alg)
            .execute(&mut *tx)
            .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, public_jwk, private_key, protection, created_at,
                 retired_at, verify_until)
             VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.public_jwk)
        .bind(&key.private_key)
        .bind(key.protection.as_str())
        .bind(key.created_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(
                    "another signing key became active first".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    async fn prune_signing_keys(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND verify_until <= ?",
        )
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn find_user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .first()
            .map(user_from_row)
            .transpose()
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(session.id_hash.to_vec())
        .bind(&session.user_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id_hash, s.user_id, s.created_at AS s_created, s.expires_at, u.*
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = ? AND s.expires_at > ?",
        )
        .bind(id_hash.to_vec())
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .next();
        let Some(row) = row else { return Ok(None) };
        let session = Session {
            id_hash: hash32(row.try_get("id_hash")?, "id_hash")?,
            user_id: row.try_get("user_id")?,
            created_at: row.try_get("s_created")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok(Some((session, user_from_row(&row)?)))
    }

    async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash.to_vec())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn has_consent(
        &self,
        user_id: &str,
        client_id: &ClientId,
        scope: &ScopeSet,
    ) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 FROM consents WHERE user_id = ? AND client_id = ? AND scope = ?")
                .bind(user_id)
                .bind(client_id.as_str())
                .bind(scope.to_string())
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .next();
        Ok(row.is_some())
    }

    async fn insert_consent(
        &self,
        user_id: &str,
        client_id: &ClientId,
        scope: &ScopeSet,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id, client_id, scope) DO UPDATE SET created_at = excluded.created_at",
        )
        .bind(user_id)
        .bind(client_id.as_str())
        .bind(scope.to_string())
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, code_challenge,
                 scope, resource, created_at, expires_at, used_at, grant_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
        )
        .bind(code.code_hash.to_vec())
        .bind(code.client_id.as_str())
        .bind(&code.user_id)
        .bind(&code.redirect_uri)
        .bind(&code.code_challenge)
        .bind(code.scope.to_string())
        .bind(&code.resource)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_authorization_code(
        &self,
        code_hash: &[u8; 32],
    ) -> Result<Option<AuthorizationCode>, StoreError> {
        sqlx::query("SELECT * FROM authorization_codes WHERE code_hash = ?")
            .bind(code_hash.to_vec())
            .fetch_all(&self.pool)
            .await?
            .first()
            .map(code_from_row)
            .transpose()
    }

    async fn redeem_authorization_code(
        &self,
        code_hash: &[u8; 32],
        now: i64,
        grant: &Grant,
        refresh_token: Option<&RefreshToken>,
    ) -> Result<Redemption, StoreError> {
        let mut tx = self.writer.begin().await?;
        insert_grant(&mut tx, grant).await?;
        // The atomic single-use check: only one UPDATE can see used_at IS NULL.
        let claimed = sqlx::query(
            "UPDATE authorization_codes SET used_at = ?, grant_id = ? WHERE code_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(&grant.id)
        .bind(code_hash.to_vec())
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Redemption::AlreadyUsed);
        }
        if let Some(token) = refresh_token {
            insert_refresh_token(&mut tx, token).await?;
        }
        tx.commit().await?;
        Ok(Redemption::Redeemed)
    }

    async fn find_grant(&self, grant_id: &str) -> Result<Option<Grant>, StoreError> {
        sqlx::query("SELECT * FROM grants WHERE id = ?")
            .bind(grant_id)
            .fetch_all(&self.pool)
            .await?
            .first()
            .map(grant_from_row)
            .transpose()
    }

    async fn find_refresh_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(RefreshToken, Grant)>, StoreError> {
        let row = sqlx::query(
            "SELECT r.token_hash, r.grant_id, r.created_at AS r_created, g.*
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
             WHERE r.token_hash = ?",
        )
        .bind(token_hash.to_vec())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .next();
        let Some(row) = row else { return Ok(None) };
        let token = RefreshToken {
            token_hash: hash32(row.try_get("token_hash")?, "token_hash")?,
            grant_id: row.try_get("grant_id")?,
            created_at: row.try_get("r_created")?,
        };
        Ok(Some((token, grant_from_row(&row)?)))
    }

    async fn rotate_refresh_token(
        &self,
        grant_id: &str,
        presented: &[u8; 32],
        position: RefreshPosition,
        new_token: &RefreshToken,
    ) -> Result<bool, StoreError> {
        // One statement: the compare-and-swap on the grant, and (through the trigger of
        // migration 0004) the record of the new token, atomically.
        let moved = match position {
            RefreshPosition::Latest => {
                sqlx::query(
                    "UPDATE grants SET previous_refresh_hash = latest_refresh_hash,
                         latest_refresh_hash = ?, latest_refresh_created_at = ?
                     WHERE id = ? AND latest_refresh_hash = ? AND revoked_at IS NULL",
                )
                .bind(new_token.token_hash.to_vec())
                .bind(new_token.created_at)
                .bind(grant_id)
                .bind(presented.to_vec())
                .execute(&self.writer)
                .await?
            }
            RefreshPosition::Previous { latest } => {
                sqlx::query(
                    "UPDATE grants SET latest_refresh_hash = ?, latest_refresh_created_at = ?
                     WHERE id = ? AND previous_refresh_hash = ? AND latest_refresh_hash = ?
                       AND revoked_at IS NULL",
                )
                .bind(new_token.token_hash.to_vec())
                .bind(new_token.created_at)
                .bind(grant_id)
                .bind(presented.to_vec())
                .bind(latest.to_vec())
                .execute(&self.writer)
                .await?
            }
        };
        Ok(moved.rows_affected() == 1)
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE grants SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
                .bind(now)
                .bind(grant_id)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_user_grants(&self, user_id: &str, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&self.writer)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn list_grants(&self, user_id: Option<&str>) -> Result<Vec<GrantListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.*, u.name AS user_name, c.client_name AS client_name
             FROM grants g JOIN users u ON u.id = g.user_id JOIN clients c ON c.client_id = g.client_id
             WHERE ?1 IS NULL OR g.user_id = ?1
             ORDER BY g.created_at DESC, g.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(GrantListing {
                    grant: grant_from_row(row)?,
                    user_name: row.try_get("user_name")?,
                    client_name: row.try_get("client_name")?,
                })
            })
            .collect()
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM revoked_access_tokens WHERE jti = ?")
            .bind(jti)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .next();
        Ok(row.is_some())
    }

    async fn prune_expired(&self, now: i64) -> Result<u64, StoreError> {
        let mut removed = 0;
        // Used codes are kept while they can still be replayed meaningfully (a day), so a
        // late replay still finds and revokes its grant.
        for (sql, cutoff) in [
            (
                "DELETE FROM authorization_codes WHERE expires_at < ?",
                now - 86_400,
            ),
            ("DELETE FROM sessions WHERE expires_at < ?", now),
            (
                "DELETE FROM revoked_access_tokens WHERE expires_at < ?",
                now,
            ),
        ] {
            removed += sqlx::query(sql)
                .bind(cutoff)
                .execute(&self.writer)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }

    async fn get_fact(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM store_facts WHERE key = ?")
            .bind(key)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .next();
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn set_fact(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO store_facts (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn insert_document(&self, document: &Document) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO documents (id, title, body, source, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&document.id)
        .bind(&document.title)
        .bind(&document.body)
        .bind(&document.source)
        .bind(document.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn list_documents(&self) -> Result<Vec<Document>, StoreError> {
        let rows =
            sqlx::query("SELECT id, title, body, source, created_at FROM documents ORDER BY rowid")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(Document {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    body: row.try_get("body")?,
                    source: row.try_get("source")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn delete_document(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM documents WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn search_documents(
        &self,
        match_expression: &str,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError> {
        // bm25 weights: a match in the title counts ten times one in the body.
        let rows = sqlx::query(
            "SELECT d.id, d.title,
                    snippet(documents_fts, 1, '**', '**', '…', 16) AS snippet,
                    bm25(documents_fts, 10.0, 1.0) AS rank
             FROM documents_fts JOIN documents d ON d.rowid = documents_fts.rowid
             WHERE documents_fts MATCH ?
             ORDER BY rank LIMIT ?",
        )
        .bind(match_expression)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SearchHit {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    snippet: row.try_get("snippet")?,
                    score: -row.try_get::<f64, _>("rank")?,
                })
            })
            .collect()
    }

    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO conversations (id, user_id, title, created_at, updated_at, updated_seq)
             VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(updated_seq), 0) + 1 FROM conversations))",
        )
        .bind(&conversation.id)
        .bind(&conversation.user_id)
        .bind(&conversation.title)
        .bind(conversation.created_at)
        .bind(conversation.updated_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_conversation(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        sqlx::query("SELECT * FROM conversations WHERE id = ? AND user_id = ?")
            .bind(id)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?
            .first()
            .map(conversation_from_row)
            .transpose()
    }

    async fn list_conversations(
        &self,
        user_id: &str,
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        let (at, seq) = after.unwrap_or((i64::MAX, i64::MAX));
        sqlx::query(
            "SELECT * FROM conversations
             WHERE user_id = ? AND (updated_at < ? OR (updated_at = ? AND updated_seq < ?))
             ORDER BY updated_at DESC, updated_seq DESC LIMIT ?",
        )
        .bind(user_id)
        .bind(at)
        .bind(at)
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(conversation_from_row)
        .collect()
    }

    async fn insert_message(
        &self,
        user_id: &str,
        message: &Message,
        now: i64,
    ) -> Result<Message, StoreError> {
        let mut tx = self.writer.begin().await?;
        let bumped = sqlx::query(
            "UPDATE conversations SET updated_at = ?,
                 updated_seq = (SELECT COALESCE(MAX(updated_seq), 0) + 1 FROM conversations)
             WHERE id = ? AND user_id = ?",
        )
        .bind(now)
        .bind(&message.conversation_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if bumped.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict("no such conversation".into()));
        }
        let inserted = sqlx::query(
            "INSERT INTO messages (id, conversation_id, user_id, role, content, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&message.id)
        .bind(&message.conversation_id)
        .bind(user_id)
        .bind(&message.role)
        .bind(&message.content)
        .bind(message.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Message {
            seq: inserted.last_insert_rowid(),
            ..message.clone()
        })
    }

    async fn list_messages(
        &self,
        user_id: &str,
        conversation_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        sqlx::query(
            "SELECT rowid, id, conversation_id, role, content, created_at FROM messages
             WHERE conversation_id = ? AND user_id = ? AND rowid > ?
             ORDER BY rowid LIMIT ?",
        )
        .bind(conversation_id)
        .bind(user_id)
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(message_from_row)
        .collect()
    }

    async fn search_messages(
        &self,
        user_id: &str,
        match_expression: &str,
        limit: u32,
    ) -> Result<Vec<MessageHit>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.rowid, m.id, m.conversation_id, m.role, m.content, m.created_at,
                    c.title AS conversation_title,
                    snippet(messages_fts, 0, '**', '**', '…', 16) AS snippet,
                    bm25(messages_fts) AS rank
             FROM messages_fts
             JOIN messages m ON m.rowid = messages_fts.rowid
             JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ? AND m.user_id = ?
             ORDER BY rank LIMIT ?",
        )
        .bind(match_expression)
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MessageHit {
                    message: message_from_row(row)?,
                    conversation_title: row.try_get("conversation_title")?,
                    snippet: row.try_get("snippet")?,
                    score: -row.try_get::<f64, _>("rank")?,
                })
            })
            .collect()
    }

    async fn insert_ssh_host(&self, host: &SshHost) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO ssh_hosts (name, address, username, private_key, protection, host_key, allowed_users, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&host.name)
        .bind(&host.address)
        .bind(&host.username)
        .bind(&host.private_key)
        .bind(host.protection.as_str())
        .bind(&host.host_key)
        .bind(to_json(&host.allowed_users)?)
        .bind(host.created_at)
        .execute(&self.writer)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "an SSH host named {:?} already exists",
                host.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_ssh_hosts(&self) -> Result<Vec<SshHost>, StoreError> {
        sqlx::query("SELECT * FROM ssh_hosts ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(ssh_host_from_row)
            .collect()
    }

    async fn find_ssh_host(&self, name: &str) -> Result<Option<SshHost>, StoreError> {
        sqlx::query("SELECT * FROM ssh_hosts WHERE name = ?")
            .bind(name)
            .fetch_all(&self.pool)
            .await?
            .first()
            .map(ssh_host_from_row)
            .transpose()
    }

    async fn delete_ssh_host(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM ssh_hosts WHERE name = ?")
            .bind(name)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ssh_audit (at, user_id, client_id, host, command, exit_status, timed_out, duration_ms, outcome)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(record.at)
        .bind(&record.user_id)
        .bind(&record.client_id)
        .bind(&record.host)
        .bind(&record.command)
        .bind(record.exit_status)
        .bind(i64::from(record.timed_out))
        .bind(record.duration_ms)
        .bind(&record.outcome)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        sqlx::query("SELECT * FROM ssh_audit ORDER BY id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(audit_from_row)
            .collect()
    }
}

async fn insert_grant(tx: &mut sqlx::SqliteConnection, grant: &Grant) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO grants (id, user_id, client_id, scope, resource, created_at, expires_at, revoked_at,
             latest_refresh_hash, previous_refresh_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)",
    )
    .bind(&grant.id)
    .bind(&grant.user_id)
    .bind(grant.client_id.as_str())
    .bind(grant.scope.to_string())
    .bind(&grant.resource)
    .bind(grant.created_at)
    .bind(grant.expires_at)
    .bind(grant.latest_refresh_hash.map(|h| h.to_vec()))
    .execute(tx)
    .await?;
    Ok(())
}

async fn insert_refresh_token(
    tx: &mut sqlx::SqliteConnection,
    token: &RefreshToken,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, created_at) VALUES (?, ?, ?)")
        .bind(token.token_hash.to_vec())
        .bind(&token.grant_id)
        .bind(token.created_at)
        .execute(tx)
        .await?;
    Ok(())
}
