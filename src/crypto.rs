//! Small cryptographic building blocks shared by the AS and the store: random secrets,
//! SHA-256 hashing of credentials, the master-key AEAD for private key material, and the
//! `Secret` wrapper that keeps credentials out of logs.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// A value that must never be printed: `Debug` shows `[redacted]`, and the value is only
/// reached through [`Secret::expose`] (the oauth2-rs habit: every credential is a secret type).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `n` bytes from the operating system's CSPRNG (through aws-lc).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // aws-lc's RNG only fails when the OS entropy source is gone; there is no safe way to
    // go on without randomness, so this is the one place that aborts.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut out).expect("the operating system's random source failed");
    out
}

/// A URL-safe credential with 256 random bits (43 characters, no padding). Used for client
/// secrets, authorization codes, refresh tokens and session ids (DESIGN.md "Tokens and state").
pub fn random_token() -> Secret<String> {
    Secret(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// SHA-256 of a high-entropy credential. Such credentials are stored only as this hash: a
/// random 256-bit value needs no slow password hash, and the hash cannot be reversed.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Base64url without padding (RFC 7515 §2), the encoding of every JOSE value.
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

const MASTER_KEY_LEN: usize = 32;
/// The first byte of every sealed blob: lets a later format change be told apart.
const SEALED_VERSION: u8 = 1;

/// The operator's master key (AES-256-GCM) that encrypts private key material at rest.
#[derive(Clone)]
pub struct MasterKey(Secret<[u8; MASTER_KEY_LEN]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "the master key must be 32 bytes written as base64 (44 characters) or hex (64 characters); generate one with `openssl rand -base64 32`"
    )]
    BadFormat,
    #[error(
        "private key material could not be decrypted: the master key is wrong or the data is damaged"
    )]
    Decrypt,
    #[error("private key material could not be encrypted")]
    Encrypt,
}

impl MasterKey {
    /// Parses 32 bytes given as standard or URL-safe base64 (padded or not) or as hex.
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let decoded =
            if text.len() == 2 * MASTER_KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                decode_hex(text)
            } else {
                STANDARD
                    .decode(text)
                    .or_else(|_| URL_SAFE.decode(text))
                    .or_else(|_| URL_SAFE_NO_PAD.decode(text))
                    .ok()
            };
        let bytes: [u8; MASTER_KEY_LEN] = decoded
            .and_then(|v| v.try_into().ok())
            .ok_or(MasterKeyError::BadFormat)?;
        Ok(Self(Secret(bytes)))
    }

    fn key(&self) -> Result<LessSafeKey, MasterKeyError> {
        UnboundKey::new(&AES_256_GCM, self.0.expose())
            .map(LessSafeKey::new)
            .map_err(|_| MasterKeyError::Encrypt)
    }

    /// Encrypts `plaintext`, binding it to `context` (e.g. the key id) as associated data so a
    /// sealed blob cannot be moved to another row. Layout: version ‖ nonce ‖ ciphertext+tag.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut in_out = plaintext.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context),
                &mut in_out,
            )
            .map_err(|_| MasterKeyError::Encrypt)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Reverses [`MasterKey::seal`]; fails on a wrong key, a wrong context or any damage.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Secret<Vec<u8>>, MasterKeyError> {
        let (&version, rest) = sealed.split_first().ok_or(MasterKeyError::Decrypt)?;
        if version != SEALED_VERSION || rest.len() < NONCE_LEN {
            return Err(MasterKeyError::Decrypt);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Decrypt)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::from(context), &mut in_out)
            .map_err(|_| MasterKeyError::Decrypt)?;
        Ok(Secret(plain.to_vec()))
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn random_token_has_256_bits() {
        let t = random_token();
        assert_eq!(t.expose().len(), 43);
        assert_ne!(t.expose(), random_token().expose());
    }

    #[test]
    fn master_key_formats() {
        let hex = "00".repeat(32);
        assert!(MasterKey::parse(&hex).is_ok());
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(MasterKey::parse(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        assert!(MasterKey::parse("short").is_err());
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 31])).is_err());
    }

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let key = MasterKey::parse(&STANDARD.encode([9u8; 32])).unwrap();
        let sealed = key.seal(b"kid-1", b"private").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(key.open(b"kid-1", &sealed).unwrap().expose(), b"private");
        assert!(key.open(b"kid-2", &sealed).is_err());
        let other = MasterKey::parse(&STANDARD.encode([8u8; 32])).unwrap();
        assert!(other.open(b"kid-1", &sealed).is_err());
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(key.open(b"kid-1", &damaged).is_err());
    }
}
