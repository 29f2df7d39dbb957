//! Encryption at rest for secrets the service must read back (contacts' signing secrets):
//! XChaCha20-Poly1305 under a 32-byte key the operator holds, a fresh random nonce per value.
//!
//! Stored form: `v1.<base64(nonce ‖ ciphertext ‖ tag)>`. The version prefix leaves room for a
//! key rotation scheme without guessing at what a stored value is.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// The key secrets are sealed with. Never printed.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretBoxError {
    #[error("must be 32 bytes in base64 (44 characters); generate one with `openssl rand -base64 32`")]
    KeyFormat,
    #[error("the stored secret is not in a known format")]
    Format,
    #[error("the stored secret does not open with this key (was OVERTURN_SECRETS_KEY changed?)")]
    WrongKey,
}

impl SecretKey {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// Reads a key in base64, as configured.
    pub fn parse(text: &str) -> Result<Self, SecretBoxError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| SecretBoxError::KeyFormat)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretBoxError::KeyFormat)?;
        Ok(Self(key))
    }

    /// The key in base64, for writing the generated key file.
    pub fn encode(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn seal(&self, plaintext: &[u8]) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        // Encryption only fails for inputs beyond the cipher's limit (about 256 GB).
        let sealed = cipher.encrypt(&XNonce::from(nonce), plaintext).expect("a secret fits the cipher");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, stored: &str) -> Result<Vec<u8>, SecretBoxError> {
        let encoded = stored.strip_prefix(PREFIX).ok_or(SecretBoxError::Format)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SecretBoxError::Format)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(SecretBoxError::Format);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretBoxError::Format)?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher.decrypt(&XNonce::from(nonce), sealed).map_err(|_| SecretBoxError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"whsec_abc");
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(key.open(&sealed).unwrap(), b"whsec_abc");
        assert_eq!(SecretKey::generate().open(&sealed), Err(SecretBoxError::WrongKey));
        assert_ne!(key.seal(b"same"), key.seal(b"same"), "a fresh nonce each time");
    }

    #[test]
    fn keys_parse_from_base64_of_32_bytes() {
        let key = SecretKey::generate();
        let again = SecretKey::parse(&key.encode()).unwrap();
        assert_eq!(again.open(&key.seal(b"x")).unwrap(), b"x");
        assert_eq!(SecretKey::parse("c2hvcnQ=").unwrap_err(), SecretBoxError::KeyFormat);
        assert_eq!(SecretKey::parse("not base64!").unwrap_err(), SecretBoxError::KeyFormat);
    }

    proptest! {
        #[test]
        fn opening_never_panics_and_tampering_is_caught(text in ".{0,120}", flip in 0usize..200) {
            let key = SecretKey::generate();
            let _ = key.open(&text);
            let sealed = key.seal(text.as_bytes());
            let mut raw = STANDARD.decode(&sealed[PREFIX.len()..]).unwrap();
            let i = flip % raw.len();
            raw[i] ^= 1;
            let tampered = format!("{PREFIX}{}", STANDARD.encode(raw));
            prop_assert!(key.open(&tampered).is_err());
            prop_assert_eq!(key.open(&sealed).unwrap(), text.as_bytes());
        }
    }
}
