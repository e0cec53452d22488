//! JWT access tokens (HS256, 15 minutes). A token names the user, org and session; whether
//! the session is still live — and the user's current role — is checked against the
//! metastore on every request, so logout, removal and role changes act immediately.

use crate::role::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Lifetime of an access token.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;
const ISSUER: &str = "hexcovery";
const TOKEN_TYPE: &str = "access";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    /// The user's org id.
    pub org: Uuid,
    /// The session id; the session must be live for the token to be accepted.
    pub sid: Uuid,
    /// The role when the token was issued; informational — the server uses the stored role.
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub typ: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("the access token has expired; refresh it")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Issues an access token valid from `now_secs` for [`ACCESS_TOKEN_TTL_SECS`].
    pub fn issue(&self, user: Uuid, org: Uuid, session: Uuid, role: Role, now_secs: i64) -> String {
        let claims = AccessClaims {
            sub: user,
            org,
            sid: session,
            role,
            iat: now_secs,
            exp: now_secs + ACCESS_TOKEN_TTL_SECS,
            iss: ISSUER.to_string(),
            typ: TOKEN_TYPE.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// Verifies signature, algorithm (HS256 only), issuer, type and expiry.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, JwtError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Invalid,
            })?;
        if data.claims.typ != TOKEN_TYPE {
            return Err(JwtError::Invalid);
        }
        Ok(data.claims)
    }

    /// Whether a credential has the shape of a JWT (three base64url parts, JSON header), used
    /// to tell a JWT sent in the API-key slot from a mistyped key.
    pub fn looks_like(text: &str) -> bool {
        text.starts_with("eyJ") && text.matches('.').count() == 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(&[7u8; 32])
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn issued_tokens_verify_and_last_fifteen_minutes() {
        let (user, org, sid) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let token = keys().issue(user, org, sid, Role::Editor, now());
        assert!(JwtKeys::looks_like(&token));
        let claims = keys().verify(&token).unwrap();
        assert_eq!((claims.sub, claims.org, claims.sid), (user, org, sid));
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let token = keys().issue(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Role::Admin,
            now() - 901,
        );
        assert_eq!(keys().verify(&token), Err(JwtError::Expired));
    }

    #[test]
    fn tokens_signed_with_another_key_are_invalid() {
        let other = JwtKeys::from_secret(&[8u8; 32]);
        let token = other.issue(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Role::Admin,
            now(),
        );
        assert_eq!(keys().verify(&token), Err(JwtError::Invalid));
        assert_eq!(keys().verify("garbage"), Err(JwtError::Invalid));
    }

    #[test]
    fn unsigned_tokens_are_invalid() {
        // header {"alg":"none","typ":"JWT"} with valid-looking claims and no signature
        let token = keys().issue(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Role::Admin,
            now(),
        );
        let payload = token.split('.').nth(1).unwrap();
        let forged = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(keys().verify(&forged), Err(JwtError::Invalid));
    }
}
