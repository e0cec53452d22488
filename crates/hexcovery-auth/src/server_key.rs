//! The server key: one 256-bit secret per installation from which purpose-specific keys
//! (JWT signing, encryption of stored secrets) are derived with HKDF-SHA256, so rotating or
//! sharing it across nodes is one value.

use hkdf::Hkdf;
use sha2::Sha256;
use std::fmt;

#[derive(Clone)]
pub struct ServerKey([u8; 32]);

#[derive(Debug, thiserror::Error)]
#[error("the server key must be 64 hexadecimal characters (32 bytes)")]
pub struct InvalidServerKey;

impl ServerKey {
    pub fn generate() -> Self {
        Self(crate::random::bytes::<32>())
    }

    pub fn from_hex(text: &str) -> Result<Self, InvalidServerKey> {
        let bytes = hex::decode(text.trim()).map_err(|_| InvalidServerKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| InvalidServerKey)?;
        Ok(Self(key))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A 32-byte key for one purpose; different labels give independent keys.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"hexcovery server key v1"), &self.0)
            .expand(label.as_bytes(), &mut out)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects_bad_input() {
        let key = ServerKey::generate();
        assert_eq!(
            ServerKey::from_hex(&key.to_hex()).unwrap().to_hex(),
            key.to_hex()
        );
        assert!(ServerKey::from_hex("abcd").is_err());
        assert!(ServerKey::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn labels_derive_independent_keys() {
        let key = ServerKey::generate();
        assert_ne!(key.derive("jwt"), key.derive("secrets"));
        assert_eq!(key.derive("jwt"), key.derive("jwt"));
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let key = ServerKey::generate();
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }
}
