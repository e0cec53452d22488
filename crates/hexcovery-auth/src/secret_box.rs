//! Secrets the server must read back (webhook signing secrets), sealed at rest with
//! XChaCha20-Poly1305 under a key derived from the server key: a copy of the metastore alone
//! does not reveal them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Seals and opens secrets with one key.
pub struct SecretBox(XChaCha20Poly1305);

/// A sealed value that does not open: another server key, or tampering.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret does not open with this server key")]
pub struct OpenError;

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        Self(XChaCha20Poly1305::new(&key.into()))
    }

    /// `base64(nonce ‖ ciphertext)`, with a fresh random 192-bit nonce.
    pub fn seal(&self, secret: &str) -> String {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let sealed = self
            .0
            .encrypt(&XNonce::from(nonce), secret.as_bytes())
            .expect("encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<String, OpenError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| OpenError)?;
        if bytes.len() < 24 {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| OpenError)?;
        let plain = self
            .0
            .decrypt(&XNonce::from(nonce), ciphertext)
            .map_err(|_| OpenError)?;
        String::from_utf8(plain).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let sealed_box = SecretBox::new([7; 32]);
        let sealed = sealed_box.seal("whsec_123");
        assert!(!sealed.contains("whsec_123"));
        assert_ne!(
            sealed,
            sealed_box.seal("whsec_123"),
            "fresh nonce each time"
        );
        assert_eq!(sealed_box.open(&sealed).unwrap(), "whsec_123");
        assert!(SecretBox::new([8; 32]).open(&sealed).is_err());
        let mut tampered = STANDARD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(sealed_box.open(&STANDARD.encode(tampered)).is_err());
        assert!(sealed_box.open("not base64!").is_err());
    }
}
