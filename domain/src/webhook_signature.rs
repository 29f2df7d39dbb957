//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): what a receiver checks
//! to know a delivery came from us, unaltered and recent.
//!
//! The signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`; the signature is
//! `v1,` + base64(HMAC-SHA256(secret, content)). While a secret rotates, a delivery carries
//! one signature per secret, separated by spaces, and a receiver accepts any that matches.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a signing secret as shown to users.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret (the spec allows 24 to 64).
const GENERATED_LEN: usize = 32;

/// A contact's signing secret: the bytes behind `whsec_<base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("must start with {SECRET_PREFIX}")]
    Prefix,
    #[error("must be whsec_ followed by base64")]
    Base64,
    #[error("must hold 24 to 64 bytes")]
    Length,
}

impl SigningSecret {
    pub fn generate() -> Self {
        let bytes: [u8; GENERATED_LEN] = rand::random();
        Self(bytes.to_vec())
    }

    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::Prefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(SecretError::Length);
        }
        Ok(Self(bytes))
    }

    /// `whsec_<base64>`: shown once to the user, and what receivers configure.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `v1,<base64 signature>` of one delivery.
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(webhook_id, timestamp, body)))
    }

    fn keyed(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    fn mac(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        self.keyed(webhook_id, timestamp, body).finalize().into_bytes().to_vec()
    }

    /// Whether any `v1` signature in a `webhook-signature` header is this secret's, compared in
    /// constant time.
    pub fn verifies(&self, header: &str, webhook_id: &str, timestamp: i64, body: &[u8]) -> bool {
        let mac = self.keyed(webhook_id, timestamp, body);
        header
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| STANDARD.decode(s).ok())
            .any(|sig| mac.clone().verify_slice(&sig).is_ok())
    }
}

/// The `webhook-signature` header for a delivery signed with every current secret (two while
/// a secret rotates, newest first).
pub fn signature_header(secrets: &[SigningSecret], webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(webhook_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector of the Standard Webhooks specification and its reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specification_vector_signs_and_verifies() {
        let secret = SigningSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TIMESTAMP, BODY), SIGNATURE);
        assert!(secret.verifies(SIGNATURE, ID, TIMESTAMP, BODY));
        assert_eq!(secret.expose(), SECRET);
    }

    #[test]
    fn anything_changed_fails_verification() {
        let secret = SigningSecret::parse(SECRET).unwrap();
        assert!(!secret.verifies(SIGNATURE, ID, TIMESTAMP + 1, BODY));
        assert!(!secret.verifies(SIGNATURE, "msg_other", TIMESTAMP, BODY));
        assert!(!secret.verifies(SIGNATURE, ID, TIMESTAMP, br#"{"test": 2432232315}"#));
        assert!(!SigningSecret::generate().verifies(SIGNATURE, ID, TIMESTAMP, BODY));
        assert!(!secret.verifies("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", ID, TIMESTAMP, BODY));
        assert!(!secret.verifies("v1,not base64!", ID, TIMESTAMP, BODY));
    }

    #[test]
    fn while_rotating_both_secrets_sign_and_either_verifies() {
        let old = SigningSecret::parse(SECRET).unwrap();
        let new = SigningSecret::generate();
        let header = signature_header(&[new.clone(), old.clone()], ID, TIMESTAMP, BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.ends_with(SIGNATURE));
        assert!(old.verifies(&header, ID, TIMESTAMP, BODY) && new.verifies(&header, ID, TIMESTAMP, BODY));
    }

    #[test]
    fn secrets_parse_strictly_and_generate_uniquely() {
        assert_eq!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(SecretError::Prefix));
        assert_eq!(SigningSecret::parse("whsec_!!!"), Err(SecretError::Base64));
        assert_eq!(SigningSecret::parse("whsec_AAAA"), Err(SecretError::Length));
        let a = SigningSecret::generate();
        assert_ne!(a, SigningSecret::generate());
        assert_eq!(SigningSecret::parse(&a.expose()), Ok(a.clone()));
        assert_eq!(format!("{a:?}"), "SigningSecret(…)", "never printed");
    }
}
