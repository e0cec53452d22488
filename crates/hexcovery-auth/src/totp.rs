//! Two-factor authentication: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, ±1 step of
//! clock skew) through the totp-rs crate, and one-time recovery codes stored as digests.
//! Accepting each step once is the caller's job: `verify` says which step a code matched.

use sha2::{Digest, Sha256};
use totp_rs::{Builder, Totp};

/// The issuer authenticator apps show.
pub const ISSUER: &str = "Hexcovery";

/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
#[error("the TOTP secret cannot be used: {0}")]
pub struct TotpSetupError(String);

/// A user's TOTP generator.
pub struct TotpKey(Totp);

/// A new random 160-bit secret (the RFC's recommended size for SHA-1).
pub fn new_secret() -> [u8; 20] {
    let mut secret = [0u8; 20];
    getrandom::fill(&mut secret).expect("the OS random source works");
    secret
}

impl TotpKey {
    /// `account` is what the authenticator app labels the entry with (the user's email).
    pub fn new(secret: &[u8], account: &str) -> Result<Self, TotpSetupError> {
        Builder::new()
            .with_secret(secret.to_vec())
            .with_account_name(account.replace(':', "_"))
            .with_issuer(Some(ISSUER))
            .build()
            .map(TotpKey)
            .map_err(|e| TotpSetupError(e.to_string()))
    }

    /// From the base32 secret an authenticator app was given (tools and tests).
    pub fn from_base32(secret: &str, account: &str) -> Result<Self, TotpSetupError> {
        let secret =
            totp_rs::Secret::try_from_base32(secret).map_err(|e| TotpSetupError(e.to_string()))?;
        Self::new(secret.as_ref(), account)
    }

    /// The secret as authenticator apps take it by hand (base32).
    pub fn secret_base32(&self) -> String {
        self.0.secret().to_base32()
    }

    /// `otpauth://totp/Hexcovery:<account>?secret=…&issuer=Hexcovery` (for a QR code).
    pub fn uri(&self) -> Result<String, TotpSetupError> {
        self.0.to_url().map_err(|e| TotpSetupError(e.to_string()))
    }

    /// The step (`unix_secs / 30`) the code is valid for, within one step of `unix_secs`.
    pub fn verify(&self, code: &str, unix_secs: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.0.check(code, unix_secs)
    }

    /// The code for `unix_secs` (tests and tools).
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.0.generate(unix_secs).to_string()
    }
}

/// Ten fresh recovery codes, `xxxxx-xxxxx` of lowercase base32 (50 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            getrandom::fill(&mut bytes).expect("the OS random source works");
            let chars: String = bytes
                .iter()
                .map(|b| ALPHABET[(*b & 31) as usize] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// What is stored of a recovery code: SHA-256 of its normalised form (case and dashes
/// ignored), hex. The codes are random, so a fast digest is enough.
pub fn recovery_digest(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors_and_the_skew_window() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 8 digits there; the 6
        // low digits here.
        let key = TotpKey::new(b"12345678901234567890", "a@b.io").unwrap();
        assert_eq!(key.code_at(59), "287082");
        assert_eq!(key.code_at(1_111_111_109), "081804");
        let now = 1_111_111_109;
        assert_eq!(key.verify("081804", now), Some(now / 30));
        assert_eq!(key.verify(&key.code_at(now - 30), now), Some(now / 30 - 1));
        assert_eq!(key.verify(&key.code_at(now + 30), now), Some(now / 30 + 1));
        assert_eq!(key.verify(&key.code_at(now - 90), now), None);
        assert_eq!(key.verify("12345", now), None);
        assert_eq!(key.verify("abcdef", now), None);
        let uri = key.uri().unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Hexcovery:a%40b.io?secret="),
            "{uri}"
        );
        assert!(uri.contains(&key.secret_base32()));
    }

    #[test]
    fn recovery_codes_are_random_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 11);
        assert_ne!(codes[0], codes[1]);
        assert_eq!(
            recovery_digest(&codes[0]),
            recovery_digest(&codes[0].to_uppercase().replace('-', ""))
        );
    }
}
