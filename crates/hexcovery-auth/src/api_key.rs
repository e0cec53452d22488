//! API key format: `hxk_` + 32 random base62 characters + a 6-character base62 CRC32 of
//! everything before it (the shape GitHub uses for its tokens), e.g.
//! `hxk_7Gk2...Qw01AbC9xz`. The fixed prefix lets secret scanners find leaked keys; the
//! checksum lets them — and us — reject typos and random strings without a lookup.
//! Only [`secret_digest`](crate::secret_digest) of a key is ever stored.

use std::fmt;

pub const API_KEY_PREFIX: &str = "hxk_";
const RANDOM_CHARS: usize = 32;
const CHECKSUM_CHARS: usize = 6;
pub const API_KEY_LEN: usize = API_KEY_PREFIX.len() + RANDOM_CHARS + CHECKSUM_CHARS;
/// How many leading characters of a key listings show to tell keys apart.
pub const DISPLAY_PREFIX_LEN: usize = API_KEY_PREFIX.len() + 8;

/// A well-formed API key (format and checksum checked; not yet known to exist).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiKeyFormatError {
    #[error("an API key starts with `{API_KEY_PREFIX}`")]
    MissingPrefix,
    #[error("an API key is {API_KEY_LEN} characters of [0-9A-Za-z] after its prefix")]
    Malformed,
    #[error("the API key's checksum does not match: it was mistyped or truncated")]
    BadChecksum,
}

fn checksum(body: &str) -> String {
    crate::random::base62_fixed(u64::from(crc32fast::hash(body.as_bytes())), CHECKSUM_CHARS)
}

impl ApiKey {
    pub fn generate() -> Self {
        let body = format!("{API_KEY_PREFIX}{}", crate::random::base62(RANDOM_CHARS));
        let sum = checksum(&body);
        Self(body + &sum)
    }

    pub fn parse(text: &str) -> Result<Self, ApiKeyFormatError> {
        if !text.starts_with(API_KEY_PREFIX) {
            return Err(ApiKeyFormatError::MissingPrefix);
        }
        if text.len() != API_KEY_LEN
            || !text[API_KEY_PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ApiKeyFormatError::Malformed);
        }
        let (body, sum) = text.split_at(API_KEY_LEN - CHECKSUM_CHARS);
        if !crate::constant_time_eq(checksum(body).as_bytes(), sum.as_bytes()) {
            return Err(ApiKeyFormatError::BadChecksum);
        }
        Ok(Self(text.to_string()))
    }

    /// Whether a credential is meant as an API key (used to spot keys in the wrong slot).
    pub fn looks_like(text: &str) -> bool {
        text.starts_with(API_KEY_PREFIX)
    }

    /// The full secret; shown to the user exactly once, at creation.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The non-secret start of the key that listings show.
    pub fn display_prefix(&self) -> &str {
        &self.0[..DISPLAY_PREFIX_LEN]
    }

    /// The stored form: the SHA-256 digest of the whole key.
    pub fn digest(&self) -> String {
        crate::secret_digest(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.display_prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_are_unique() {
        let key = ApiKey::generate();
        assert_eq!(key.expose_secret().len(), API_KEY_LEN);
        assert!(key.expose_secret().starts_with("hxk_"));
        assert_eq!(ApiKey::parse(key.expose_secret()).unwrap(), key);
        assert_ne!(ApiKey::generate(), key);
        assert_eq!(key.display_prefix().len(), 12);
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let key = ApiKey::generate();
        let mut text = key.expose_secret().to_string();
        let ch = if text.as_bytes()[10] == b'a' {
            "b"
        } else {
            "a"
        };
        text.replace_range(10..11, ch);
        assert_eq!(ApiKey::parse(&text), Err(ApiKeyFormatError::BadChecksum));
    }

    #[test]
    fn malformed_keys_are_rejected_with_the_reason() {
        assert_eq!(ApiKey::parse("abc"), Err(ApiKeyFormatError::MissingPrefix));
        assert_eq!(
            ApiKey::parse("hxk_short"),
            Err(ApiKeyFormatError::Malformed)
        );
        let bad_chars = format!("hxk_{}", "-".repeat(RANDOM_CHARS + CHECKSUM_CHARS));
        assert_eq!(ApiKey::parse(&bad_chars), Err(ApiKeyFormatError::Malformed));
        // Multi-byte input of the right byte length must not panic on slicing.
        let unicode = format!("hxk_{}", "é".repeat(19));
        assert_eq!(ApiKey::parse(&unicode), Err(ApiKeyFormatError::Malformed));
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = ApiKey::generate();
        assert!(!format!("{key:?}").contains(key.expose_secret()));
    }
}
