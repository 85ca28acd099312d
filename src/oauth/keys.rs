//! JWS signing keys: generation (ES256), storage through the store (sealed with the master key
//! when one is configured), rotation with a verification window, and the published JWKS.
//!
//! Keys live in the store, not in a file or in memory, so every instance of a deployment
//! signs with the same active key and publishes the same JWKS (DESIGN.md "Tokens and state").

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::crypto::{MasterKey, Secret, b64url, sha256};
use crate::store::{KeyProtection, Store, StoreError, StoredSigningKey};

/// The one signing algorithm this server uses (DESIGN.md: ES256 by default).
pub const ES256: &str = "ES256";

/// The public half of an EC P-256 key as a JWK (RFC 7518 §6.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcPublicJwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
}

impl EcPublicJwk {
    /// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
    /// Used as the key id, so the `kid` is derived from the key and cannot collide.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
            self.crv, self.kty, self.x, self.y
        );
        b64url(&sha256(canonical.as_bytes()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the signing key could not be generated")]
    Generate,
    #[error(
        "signing key {kid} is encrypted with a master key: set OMNICHAT_MASTER_KEY or --master-key-file"
    )]
    MasterKeyMissing { kid: String },
    #[error("signing key {kid}: {source}")]
    MasterKey {
        kid: String,
        source: crate::crypto::MasterKeyError,
    },
    #[error("signing key {kid} is damaged: {why}")]
    Damaged { kid: String, why: String },
}

/// A freshly generated ES256 key, ready to be stored.
pub fn generate_es256(
    master_key: Option<&MasterKey>,
    now: i64,
) -> Result<StoredSigningKey, KeyError> {
    let pair =
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| KeyError::Generate)?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::Generate)?;
    let jwk = public_jwk(&pair)?;
    let kid = jwk.thumbprint();
    let (private_key, protection) = match master_key {
        Some(master) => (
            master
                .seal(kid.as_bytes(), pkcs8.as_ref())
                .map_err(|source| KeyError::MasterKey {
                    kid: kid.clone(),
                    source,
                })?,
            KeyProtection::MasterKey,
        ),
        None => (pkcs8.as_ref().to_vec(), KeyProtection::Plain),
    };
    Ok(StoredSigningKey {
        public_jwk: serde_json::to_string(&jwk).map_err(|_| KeyError::Generate)?,
        kid,
        alg: ES256.to_string(),
        private_key,
        protection,
        created_at: now,
        retired_at: None,
        verify_until: None,
    })
}

/// The uncompressed SEC1 point `04 ‖ X ‖ Y` split into the JWK's coordinates.
fn public_jwk(pair: &EcdsaKeyPair) -> Result<EcPublicJwk, KeyError> {
    let point = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 4 {
        return Err(KeyError::Generate);
    }
    Ok(EcPublicJwk {
        kty: "EC".into(),
        crv: "P-256".into(),
        x: b64url(&point[1..33]),
        y: b64url(&point[33..65]),
    })
}

/// The PKCS#8 private key of a stored key, opened with the master key when it is sealed.
pub fn private_pkcs8(
    key: &StoredSigningKey,
    master_key: Option<&MasterKey>,
) -> Result<Secret<Vec<u8>>, KeyError> {
    let pkcs8 = match (key.protection, master_key) {
        (KeyProtection::Plain, _) => Secret::new(key.private_key.clone()),
        (KeyProtection::MasterKey, None) => {
            return Err(KeyError::MasterKeyMissing {
                kid: key.kid.clone(),
            });
        }
        (KeyProtection::MasterKey, Some(master)) => master
            .open(key.kid.as_bytes(), &key.private_key)
            .map_err(|source| KeyError::MasterKey {
                kid: key.kid.clone(),
                source,
            })?,
    };
    // Parse it to prove the key is usable (and matches its published half) before relying on it.
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.expose()).map_err(
        |e| KeyError::Damaged {
            kid: key.kid.clone(),
            why: e.to_string(),
        },
    )?;
    let stored: EcPublicJwk =
        serde_json::from_str(&key.public_jwk).map_err(|e| KeyError::Damaged {
            kid: key.kid.clone(),
            why: e.to_string(),
        })?;
    if public_jwk(&pair)? != stored {
        return Err(KeyError::Damaged {
            kid: key.kid.clone(),
            why: "the private key does not match the published public key".into(),
        });
    }
    Ok(pkcs8)
}

/// Is this key still allowed to verify tokens at `now`?
pub fn verifies_at(key: &StoredSigningKey, now: i64) -> bool {
    key.retired_at.is_none() || key.verify_until.is_some_and(|until| until > now)
}

/// Makes sure an active ES256 key exists and can be opened: the first start creates it.
/// Two instances starting together may race; the loser uses the winner's key.
pub async fn ensure_active_key(
    store: &dyn Store,
    master_key: Option<&MasterKey>,
    now: i64,
) -> Result<StoredSigningKey, KeyError> {
    for _ in 0..2 {
        let keys = store.list_signing_keys().await?;
        if let Some(active) = keys
            .into_iter()
            .find(|k| k.alg == ES256 && k.retired_at.is_none())
        {
            private_pkcs8(&active, master_key)?;
            return Ok(active);
        }
        let fresh = generate_es256(master_key, now)?;
        match store.activate_signing_key(&fresh, None).await {
            Ok(()) => return Ok(fresh),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(KeyError::Store(StoreError::Conflict(
        "could not settle on an active signing key".into(),
    )))
}

/// Makes a new key active; the previous one keeps verifying until `now + retention`, and keys
/// whose window has passed are pruned. Returns the new key and the one it replaced.
pub async fn rotate(
    store: &dyn Store,
    master_key: Option<&MasterKey>,
    now: i64,
    retention_secs: u64,
) -> Result<(StoredSigningKey, Option<StoredSigningKey>), KeyError> {
    let previous = store
        .list_signing_keys()
        .await?
        .into_iter()
        .find(|k| k.alg == ES256 && k.retired_at.is_none());
    let fresh = generate_es256(master_key, now)?;
    let verify_until = now.saturating_add(i64::try_from(retention_secs).unwrap_or(i64::MAX));
    store
        .activate_signing_key(&fresh, Some((now, verify_until)))
        .await?;
    store.prune_signing_keys(now).await?;
    let previous = previous.map(|mut k| {
        k.retired_at = Some(now);
        k.verify_until = Some(verify_until);
        k
    });
    Ok((fresh, previous))
}

/// The JWK Set (RFC 7517 §5) of every key that may still verify a token.
pub fn jwks(keys: &[StoredSigningKey], now: i64) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .filter(|k| verifies_at(k, now))
        .filter_map(|k| {
            let jwk: EcPublicJwk = serde_json::from_str(&k.public_jwk).ok()?;
            Some(json!({
                "kty": jwk.kty,
                "crv": jwk.crv,
                "x": jwk.x,
                "y": jwk.y,
                "kid": k.kid,
                "alg": k.alg,
                "use": "sig",
            }))
        })
        .collect();
    json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_opens_and_kid_is_thumbprint() {
        let key = generate_es256(None, 1).unwrap();
        assert_eq!(key.kid.len(), 43);
        assert!(private_pkcs8(&key, None).is_ok());
        let jwk: EcPublicJwk = serde_json::from_str(&key.public_jwk).unwrap();
        assert_eq!(jwk.thumbprint(), key.kid);
    }

    #[test]
    fn sealed_key_needs_the_right_master_key() {
        let master = MasterKey::parse(&"11".repeat(32)).unwrap();
        let key = generate_es256(Some(&master), 1).unwrap();
        assert_eq!(key.protection, KeyProtection::MasterKey);
        assert!(private_pkcs8(&key, Some(&master)).is_ok());
        assert!(matches!(
            private_pkcs8(&key, None),
            Err(KeyError::MasterKeyMissing { .. })
        ));
        let wrong = MasterKey::parse(&"22".repeat(32)).unwrap();
        assert!(matches!(
            private_pkcs8(&key, Some(&wrong)),
            Err(KeyError::MasterKey { .. })
        ));
    }

    #[test]
    fn jwks_lists_active_and_unexpired_retired_keys() {
        let mut active = generate_es256(None, 10).unwrap();
        active.retired_at = None;
        let mut retired = generate_es256(None, 5).unwrap();
        retired.retired_at = Some(10);
        retired.verify_until = Some(100);
        let set = jwks(&[active.clone(), retired.clone()], 50);
        assert_eq!(set["keys"].as_array().unwrap().len(), 2);
        assert_eq!(set["keys"][0]["use"], "sig");
        assert_eq!(set["keys"][0]["alg"], "ES256");
        let later = jwks(&[active, retired], 100);
        assert_eq!(later["keys"].as_array().unwrap().len(), 1);
    }
}
