//! The embedded store: one SQLite file in the data directory, in WAL mode with foreign keys on
//! and `synchronous=FULL` unless configured otherwise.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{Client, KeyProtection, Store, StoreError, StoredSigningKey, User};
use crate::config::{Settings, SqliteSynchronous as SyncSetting};
use crate::oauth::types::{ClientId, GrantType, ScopeSet, TokenEndpointAuthMethod, UserName};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let options = match settings.database_url.as_deref() {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the SQLite database: {e}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("cannot apply database migrations: {e}"))?;
        Ok(Self { pool })
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

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
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
        .execute(&self.pool)
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
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
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
            .execute(&self.pool)
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
            .execute(&self.pool)
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_client(&self, client_id: &ClientId) -> Result<Option<Client>, StoreError> {
        sqlx::query("SELECT * FROM clients WHERE client_id = ?")
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
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
            .execute(&self.pool)
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
        let mut tx = self.pool.begin().await?;
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
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
