//! Password hashing with argon2id at OWASP's recommended parameters (m = 19 MiB, t = 2,
//! p = 1; OWASP Password Storage Cheat Sheet). Only the PHC hash string is stored.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::crypto::{Secret, random_bytes};

/// Longest password accepted: argon2 hashes any length, but an unbounded input is a cheap
/// way to make the server work.
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 8;

fn argon2() -> Argon2<'static> {
    // These constants are valid argon2 parameters, so `Params::new` cannot fail here.
    #[allow(clippy::expect_used)]
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the rules an operator would expect.
pub fn validate_new_password(password: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password must be at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    Ok(())
}

/// Hashes a password (CPU-heavy: call from a blocking thread in async code).
pub fn hash_password(password: &Secret<String>) -> anyhow::Result<String> {
    let salt = random_bytes::<16>();
    argon2()
        .hash_password_with_salt(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

/// A real argon2id hash of a random password, computed once. Login checks an unknown user
/// name against it, so a missing account takes as long to refuse as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::crypto::random_token();
        hash_password(&random).unwrap_or_default()
    })
}

/// Verifies a password against a stored hash (CPU-heavy, like [`hash_password`]).
pub fn verify_password(password: &Secret<String>, stored_hash: &str) -> bool {
    if password.expose().len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(stored_hash)
        .map(|hash| {
            argon2()
                .verify_password(password.expose().as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let pw = Secret::new("correct horse".to_string());
        let hash = hash_password(&pw).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(&pw, &hash));
        assert!(!verify_password(&Secret::new("wrong horse".into()), &hash));
        assert!(!verify_password(&pw, "not a hash"));
    }

    #[test]
    fn password_rules() {
        assert!(validate_new_password("").is_err());
        assert!(validate_new_password("short").is_err());
        assert!(validate_new_password(&"x".repeat(2000)).is_err());
        assert!(validate_new_password("long enough").is_ok());
    }
}
