//! Password policy and argon2id hashing (OWASP parameters: m=19456 KiB, t=2, p=1).
//!
//! Hashing is deliberately slow (tens of milliseconds): callers on an async runtime run these
//! functions on a blocking thread.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

/// Shortest password accepted (NIST SP 800-63B and OWASP: length, not composition rules).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted; bounds the work an attacker can make one login cost.
pub const MAX_PASSWORD_CHARS: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password is too short: it must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("password is too long: it must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Checks a new password against the policy: 12 to 256 characters, nothing else.
pub fn validate_password(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a
/// fresh random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    hasher()
        .verify_password(password.as_bytes(), stored_hash)
        .is_ok()
}

/// Spends the same time as a real verification, for logins whose email matches no user, so
/// response time does not reveal which emails have accounts.
pub fn verify_against_dummy(password: &str) {
    let _ = verify_password(password, dummy_hash());
}

/// The dummy hash, made on first use; calling this at start-up keeps the first unknown-email
/// login from costing a hash more than the rest.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("dummy password used only for timing").expect("hashing a constant works")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_is_length_only() {
        assert_eq!(validate_password("short"), Err(PasswordError::TooShort));
        assert_eq!(
            validate_password("elevenchars"),
            Err(PasswordError::TooShort)
        );
        assert!(validate_password("twelve chars").is_ok());
        assert!(validate_password("alllowercaseletters").is_ok());
        assert_eq!(
            validate_password(&"x".repeat(257)),
            Err(PasswordError::TooLong)
        );
        // Characters, not bytes: twelve multi-byte characters are enough.
        assert!(validate_password("éééééééééééé").is_ok());
    }

    #[test]
    fn hash_uses_owasp_argon2id_parameters_and_verifies() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn same_password_hashes_differently() {
        assert_ne!(
            hash_password("correct horse battery").unwrap(),
            hash_password("correct horse battery").unwrap()
        );
    }
}
