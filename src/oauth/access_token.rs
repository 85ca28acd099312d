//! JWT access tokens (RFC 9068): issuing them with the active signing key, and the one
//! function that verifies them, used by introspection now and by the MCP endpoint.
//!
//! Verification trusts nothing in the token's header but the `kid`, and only to pick one of
//! our own keys: the algorithm is fixed to ES256 (the key is bound to it), `jku`, `x5u` and
//! `jwk` are never followed, and JWE (five segments) is refused (RFC 8725 §3.1, §3.10).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use super::keys::{self, ES256, EcPublicJwk, KeyError};
use super::types::{ClientId, ScopeSet};
use crate::crypto::MasterKey;
use crate::store::{Store, StoredSigningKey};

/// Tokens larger than this are refused before any parsing (ours are under 1 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Allowed clock difference between instances for `exp`, `nbf` and `iat` (DESIGN.md: small
/// and explicit; the issue allows at most 60 s).
pub const CLOCK_SKEW_SECS: i64 = 30;
/// The media type RFC 9068 §2.1 puts in `typ`.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// How long keys are used from memory before the store is asked again (seconds), so a key
/// rotated or pruned by the CLI or another instance is picked up: a new key signs, and a
/// deleted key stops verifying, within this time.
const KEY_REFRESH_SECS: i64 = 30;
/// An unknown `kid` triggers at most one store reload per this interval (an attacker's random
/// `kid`s cannot turn into a query each).
const UNKNOWN_KID_RELOAD_SECS: i64 = 5;

/// The claims of our access tokens (RFC 9068 §2.2) plus `gid`, the grant they came from, so
/// revoking a grant reaches its access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
}

impl AccessTokenClaims {
    pub fn scopes(&self) -> ScopeSet {
        // Verified tokens were issued by us with known scopes; an unknown one grants nothing.
        ScopeSet::parse(&self.scope).unwrap_or_default()
    }
}

/// Why a token was refused. The text is safe to send as `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is too large")]
    TooLarge,
    #[error("encrypted tokens (JWE) are not accepted")]
    Encrypted,
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token's algorithm is not accepted")]
    Algorithm,
    #[error("the access token has the wrong type")]
    Type,
    #[error("the access token was signed by an unknown key")]
    UnknownKey,
    #[error("the access token's signature is invalid")]
    Signature,
    #[error("the access token was issued by another server")]
    Issuer,
    #[error("the access token is meant for another resource")]
    Audience,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
    #[error("the access token lacks a required claim")]
    MissingClaim,
    #[error("the access token has been revoked")]
    Revoked,
}

struct VerifyingKey {
    key: DecodingKey,
    verify_until: Option<i64>,
}

struct Snapshot {
    /// When it was read from the store (the app clock's Unix seconds).
    loaded: i64,
    signing: Option<(String, EncodingKey)>,
    verifying: HashMap<String, VerifyingKey>,
}

/// The signing keys of the deployment, loaded from the store and kept in memory briefly.
pub struct KeyRing {
    store: Arc<dyn Store>,
    master_key: Option<MasterKey>,
    snapshot: RwLock<Arc<Snapshot>>,
    reload: tokio::sync::Mutex<()>,
}

fn build_snapshot(
    keys: &[StoredSigningKey],
    master_key: Option<&MasterKey>,
    now: i64,
) -> Result<Snapshot, KeyError> {
    let mut signing = None;
    let mut verifying = HashMap::new();
    for key in keys.iter().filter(|k| k.alg == ES256) {
        let jwk: EcPublicJwk =
            serde_json::from_str(&key.public_jwk).map_err(|e| KeyError::Damaged {
                kid: key.kid.clone(),
                why: e.to_string(),
            })?;
        let decoding =
            DecodingKey::from_ec_components(&jwk.x, &jwk.y).map_err(|e| KeyError::Damaged {
                kid: key.kid.clone(),
                why: e.to_string(),
            })?;
        verifying.insert(
            key.kid.clone(),
            VerifyingKey {
                key: decoding,
                verify_until: key.verify_until,
            },
        );
        if key.retired_at.is_none() {
            let pkcs8 = keys::private_pkcs8(key, master_key)?;
            signing = Some((key.kid.clone(), EncodingKey::from_ec_der(pkcs8.expose())));
        }
    }
    Ok(Snapshot {
        loaded: now,
        signing,
        verifying,
    })
}

impl KeyRing {
    /// Loads the keys now; fails if the active key cannot be opened.
    pub async fn load(
        store: Arc<dyn Store>,
        master_key: Option<MasterKey>,
        now: i64,
    ) -> Result<Self, KeyError> {
        let keys = store.list_signing_keys().await?;
        let snapshot = build_snapshot(&keys, master_key.as_ref(), now)?;
        Ok(Self {
            store,
            master_key,
            snapshot: RwLock::new(Arc::new(snapshot)),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    fn current(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads from the store unless another caller did so within `min_age` seconds.
    async fn reload_if_older(&self, min_age: i64, now: i64) -> Result<Arc<Snapshot>, KeyError> {
        let _guard = self.reload.lock().await;
        let current = self.current();
        if now - current.loaded < min_age {
            return Ok(current);
        }
        let keys = self.store.list_signing_keys().await?;
        let fresh = Arc::new(build_snapshot(&keys, self.master_key.as_ref(), now)?);
        match self.snapshot.write() {
            Ok(mut guard) => *guard = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }

    async fn signing_key(&self, now: i64) -> Result<(String, EncodingKey), KeyError> {
        let mut snapshot = self.current();
        if now - snapshot.loaded >= KEY_REFRESH_SECS || snapshot.signing.is_none() {
            snapshot = self.reload_if_older(KEY_REFRESH_SECS, now).await?;
        }
        snapshot.signing.clone().ok_or_else(|| KeyError::Damaged {
            kid: "-".into(),
            why: "there is no active signing key".into(),
        })
    }

    async fn verifying_key(&self, kid: &str, now: i64) -> Option<DecodingKey> {
        let mut snapshot = self.current();
        if now - snapshot.loaded >= KEY_REFRESH_SECS {
            snapshot = self.reload_if_older(KEY_REFRESH_SECS, now).await.ok()?;
        } else if !snapshot.verifying.contains_key(kid) {
            snapshot = self
                .reload_if_older(UNKNOWN_KID_RELOAD_SECS, now)
                .await
                .ok()?;
        }
        let key = snapshot.verifying.get(kid)?;
        // A retired key whose window has passed no longer verifies, even before it is pruned.
        if key.verify_until.is_some_and(|until| until <= now) {
            return None;
        }
        Some(key.key.clone())
    }
}

/// Issues and verifies this server's access tokens.
pub struct AccessTokens {
    keys: KeyRing,
    issuer: String,
    /// This server's resource identifiers: the accepted audiences.
    audiences: Vec<String>,
    lifetime_secs: i64,
}

/// A freshly issued access token.
pub struct IssuedAccessToken {
    pub token: String,
    pub claims: AccessTokenClaims,
}

impl AccessTokens {
    pub fn new(keys: KeyRing, issuer: String, audiences: Vec<String>, lifetime_secs: u64) -> Self {
        Self {
            keys,
            issuer,
            audiences,
            lifetime_secs: i64::try_from(lifetime_secs).unwrap_or(3600),
        }
    }

    pub fn lifetime_secs(&self) -> i64 {
        self.lifetime_secs
    }

    pub async fn issue(
        &self,
        user_id: &str,
        client_id: &ClientId,
        scope: &ScopeSet,
        resource: &str,
        grant_id: &str,
        now: i64,
    ) -> Result<IssuedAccessToken, KeyError> {
        let (kid, key) = self.keys.signing_key(now).await?;
        let claims = AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: user_id.to_string(),
            aud: resource.to_string(),
            client_id: client_id.as_str().to_string(),
            scope: scope.to_string(),
            iat: now,
            exp: now + self.lifetime_secs,
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            gid: Some(grant_id.to_string()),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(ACCESS_TOKEN_TYP.to_string());
        header.kid = Some(kid.clone());
        let token =
            jsonwebtoken::encode(&header, &claims, &key).map_err(|e| KeyError::Damaged {
                kid,
                why: e.to_string(),
            })?;
        Ok(IssuedAccessToken { token, claims })
    }

    /// Checks signature and claims (not revocation: see `oauth::revocation`). `now` comes from
    /// the caller's clock.
    pub async fn verify(&self, token: &str, now: i64) -> Result<AccessTokenClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let segments: Vec<&str> = token.split('.').collect();
        let [header_b64, payload_b64, signature_b64] = segments[..] else {
            return Err(if segments.len() == 5 {
                TokenError::Encrypted
            } else {
                TokenError::Malformed
            });
        };
        let header: serde_json::Map<String, serde_json::Value> = decode_segment(header_b64)?;
        // RFC 8725 §3.1: the algorithm is ours to choose, never the token's.
        if header.get("alg").and_then(|v| v.as_str()) != Some(ES256) {
            return Err(TokenError::Algorithm);
        }
        // RFC 9068 §4: `typ` must be at+jwt (the "application/" prefix is optional).
        let typ = header.get("typ").and_then(|v| v.as_str()).unwrap_or("");
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) {
            return Err(TokenError::Type);
        }
        // RFC 7515 §4.1.11: an extension we must understand; we understand none.
        if header.contains_key("crit") {
            return Err(TokenError::Malformed);
        }
        let kid = header
            .get("kid")
            .and_then(|v| v.as_str())
            .ok_or(TokenError::UnknownKey)?;
        if kid.is_empty() || kid.len() > 128 {
            return Err(TokenError::UnknownKey);
        }
        let key = self
            .keys
            .verifying_key(kid, now)
            .await
            .ok_or(TokenError::UnknownKey)?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        let valid =
            jsonwebtoken::crypto::verify(signature_b64, signed.as_bytes(), &key, Algorithm::ES256)
                .map_err(|_| TokenError::Signature)?;
        if !valid {
            return Err(TokenError::Signature);
        }

        let payload: serde_json::Value = decode_segment(payload_b64)?;
        let claims: AccessTokenClaims =
            serde_json::from_value(payload).map_err(|_| TokenError::MissingClaim)?;
        if claims.sub.is_empty() || claims.client_id.is_empty() || claims.jti.is_empty() {
            return Err(TokenError::MissingClaim);
        }
        if claims.iss != self.issuer {
            return Err(TokenError::Issuer);
        }
        if !self.audiences.contains(&claims.aud) {
            return Err(TokenError::Audience);
        }
        if now >= claims.exp + CLOCK_SKEW_SECS {
            return Err(TokenError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_SECS)
            || claims.iat > now + CLOCK_SKEW_SECS
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

fn decode_segment<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}
