//! Credentials for Hexcovery: password hashing, JWT access tokens, API keys, refresh tokens,
//! roles and the server key they are derived from. Pure functions and small types; no HTTP,
//! no storage.

pub mod api_key;
pub mod jwt;
pub mod password;
pub mod pool;
pub mod random;
pub mod role;
pub mod secret_box;
pub mod server_key;
pub mod totp;

pub use api_key::{ApiKey, ApiKeyFormatError};
pub use jwt::{ACCESS_TOKEN_TTL_SECS, AccessClaims, JwtError, JwtKeys};
pub use password::{PasswordError, hash_password, validate_password, verify_password};
pub use pool::{PasswordPool, PoolError};
pub use role::{Role, UnknownRole};
pub use secret_box::SecretBox;
pub use server_key::ServerKey;

/// Compares two secrets (or secret digests) in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Hex SHA-256 of a high-entropy secret (API keys, refresh tokens, invite tokens). Such
/// secrets are stored only as this digest and looked up by it; argon2 is for passwords.
pub fn secret_digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn secret_digest_is_sha256_hex() {
        assert_eq!(
            secret_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
