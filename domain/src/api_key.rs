//! API keys: what a key may do, and how it is made and recognised.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What a caller may do. Roles are fixed by the contract; a role is checked on every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including managing API keys.
    Admin,
    /// Everything but API keys: the billing team and its automation.
    Billing,
    /// Patient-portal integrations: read claims, balances and denials; write only patient contacts.
    Portal,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Billing, Role::Portal];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Billing => "billing",
            Role::Portal => "portal",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    pub fn can_manage_keys(self) -> bool {
        self == Role::Admin
    }

    /// Creating and changing billing data (claims, remittances, denials, rules).
    pub fn can_write_billing_data(self) -> bool {
        matches!(self, Role::Admin | Role::Billing)
    }
}

/// Prefix of every key Overturn issues, so secret scanners and people can recognise one.
pub const KEY_PREFIX: &str = "ovt_";
/// Characters of a key shown in listings to tell keys apart (the prefix and 8 more).
const DISPLAY_PREFIX_LEN: usize = 12;
/// Shortest key accepted from configuration (the bootstrap key): 128 bits of hex, or better.
pub const MIN_CONFIGURED_KEY_LEN: usize = 32;

/// The secret value of an API key, shown once when it is created.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.display_prefix())
    }
}

impl ApiKeySecret {
    /// A new key: 256 random bits from the operating system's generator.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A key chosen by an operator (OVERTURN_BOOTSTRAP_ADMIN_KEY).
    pub fn from_configured(value: &str) -> Result<Self, String> {
        if value.len() < MIN_CONFIGURED_KEY_LEN {
            return Err(format!("must be at least {MIN_CONFIGURED_KEY_LEN} characters"));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be printable ASCII without spaces".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256, hex. Keys carry 256 random bits, so a fast hash is enough: there is nothing
    /// to brute-force, and a per-request slow hash would cost more than the request.
    pub fn hash(&self) -> String {
        hash_presented_key(&self.0)
    }

    pub fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_LEN).collect()
    }
}

/// Hash of a key as presented in an `Authorization` header, for look-up.
pub fn hash_presented_key(presented: &str) -> String {
    crate::hex::encode(&Sha256::digest(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_prefixed_and_hash_stably() {
        let a = ApiKeySecret::generate();
        let b = ApiKeySecret::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(KEY_PREFIX));
        assert_eq!(a.expose().len(), KEY_PREFIX.len() + 43);
        assert_eq!(a.hash(), hash_presented_key(a.expose()));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = ApiKeySecret::generate();
        assert!(!format!("{key:?}").contains(&key.expose()[12..]));
    }

    #[test]
    fn configured_keys_must_be_long_enough() {
        assert!(ApiKeySecret::from_configured("short").is_err());
        assert!(ApiKeySecret::from_configured(&"x".repeat(31)).is_err());
        assert!(ApiKeySecret::from_configured(&format!("{} ", "x".repeat(32))).is_err());
        assert!(ApiKeySecret::from_configured(&"x".repeat(32)).is_ok());
    }

    #[test]
    fn known_sha256() {
        assert_eq!(hash_presented_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
