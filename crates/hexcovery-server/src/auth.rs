//! The authentication layer: reads the two credential slots, keeps them apart, resolves the
//! credential to a [`Principal`] and checks it against the route's [`Access`] rule. Handlers
//! receive the principal through the [`Caller`] and [`SignedInUser`] extractors.
//!
//! Slots (SPEC §2): API keys only in `X-API-Key`, JWTs only in `Authorization: Bearer`.

use crate::error::ApiError;
use crate::policy::Access;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use hexcovery_auth::{ApiKey, JwtError, JwtKeys, Role};
use hexcovery_meta::{Actor, ActorKind, ApiKeyPrincipal, SessionPrincipal};
use uuid::Uuid;

pub const API_KEY_HEADER: &str = "x-api-key";

/// Who is making a request, as proven by their credential.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A signed-in user (JWT whose session is live), with their role as stored now.
    User(SessionPrincipal),
    /// An org-scoped API key.
    ApiKey(ApiKeyPrincipal),
}

impl Principal {
    /// The org every read and write of this request is confined to.
    pub fn org_id(&self) -> Uuid {
        match self {
            Principal::User(p) => p.user.org_id,
            Principal::ApiKey(k) => k.org_id,
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Principal::User(p) => Actor {
                kind: ActorKind::User,
                id: Some(p.user.id),
                name: p.user.email.clone(),
            },
            Principal::ApiKey(k) => Actor {
                kind: ActorKind::ApiKey,
                id: Some(k.key_id),
                name: k.name.clone(),
            },
        }
    }
}

/// The credential a request presents, before it is checked.
enum Presented<'a> {
    None,
    Bearer(&'a str),
    ApiKey(&'a str),
}

fn presented(headers: &HeaderMap) -> Result<Presented<'_>, ApiError> {
    let authorization = headers.get(header::AUTHORIZATION);
    let api_key = headers.get(API_KEY_HEADER);
    match (authorization, api_key) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "conflicting_credentials",
            "send one credential: either X-API-Key or Authorization: Bearer, not both",
        )),
        (None, None) => Ok(Presented::None),
        (Some(value), None) => {
            let value = value.to_str().map_err(|_| invalid_token())?;
            let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(ApiError::unauthorized(
                    "unsupported_auth_scheme",
                    "the Authorization header takes `Bearer <access token>`; API keys go in X-API-Key",
                ));
            }
            let token = token.trim();
            if ApiKey::looks_like(token) {
                return Err(ApiError::unauthorized(
                    "api_key_in_bearer_slot",
                    "an API key was sent as Authorization: Bearer; send API keys in the X-API-Key header (the Bearer slot is for user session tokens)",
                ));
            }
            Ok(Presented::Bearer(token))
        }
        (None, Some(value)) => {
            let value = value.to_str().map_err(|_| invalid_api_key())?.trim();
            if JwtKeys::looks_like(value) {
                return Err(ApiError::unauthorized(
                    "jwt_in_api_key_slot",
                    "a user session token (JWT) was sent as X-API-Key; X-API-Key takes an API key (hxk_...), session tokens go in Authorization: Bearer",
                ));
            }
            Ok(Presented::ApiKey(value))
        }
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized(
        "invalid_token",
        "the access token is not valid; log in again",
    )
}

fn invalid_api_key() -> ApiError {
    ApiError::unauthorized(
        "invalid_api_key",
        "the API key is not valid: it may be mistyped or revoked",
    )
}

async fn resolve(
    state: &AppState,
    credential: Presented<'_>,
) -> Result<Option<Principal>, ApiError> {
    let now = Utc::now();
    match credential {
        Presented::None => Ok(None),
        Presented::Bearer(token) => {
            let claims = state.jwt.verify(token).map_err(|e| match e {
                JwtError::Expired => ApiError::unauthorized(
                    "token_expired",
                    "the access token has expired; refresh it at /api/v1/auth/refresh",
                ),
                JwtError::Invalid => invalid_token(),
            })?;
            let session = state
                .meta
                .live_session(claims.sid, now)
                .await?
                .filter(|s| s.user.id == claims.sub && s.user.org_id == claims.org)
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "session_ended",
                        "this session has ended (logged out, revoked or the user was removed); log in again",
                    )
                })?;
            Ok(Some(Principal::User(session)))
        }
        Presented::ApiKey(text) => {
            let key = ApiKey::parse(text).map_err(|e| {
                ApiError::unauthorized("invalid_api_key", format!("the API key is not valid: {e}"))
            })?;
            let principal = state
                .meta
                .authenticate_api_key(&key.digest(), now)
                .await?
                .ok_or_else(invalid_api_key)?;
            Ok(Some(Principal::ApiKey(principal)))
        }
    }
}

/// Decides whether `principal` may use a route with rule `access`.
pub fn authorize(access: Access, principal: Option<&Principal>) -> Result<(), ApiError> {
    let role_check = |role: Role, required: Role| {
        if role.at_least(required) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "insufficient_role",
                format!("this action needs the {required} role or higher; you are {role}"),
            ))
        }
    };
    match (access, principal) {
        (Access::Public, _) => Ok(()),
        (_, None) => Err(ApiError::unauthorized(
            "missing_credentials",
            match access {
                Access::KeyOnly => "send an API key in the X-API-Key header",
                Access::KeyOrUser(_) => {
                    "send an API key in X-API-Key, or a session token in Authorization: Bearer"
                }
                _ => "sign in and send the access token in Authorization: Bearer",
            },
        )),
        (Access::KeyOrUser(_) | Access::KeyOnly, Some(Principal::ApiKey(_))) => Ok(()),
        (Access::KeyOrUser(required), Some(Principal::User(u))) => {
            role_check(u.user.role, required)
        }
        (Access::KeyOnly, Some(Principal::User(_))) => Err(ApiError::forbidden(
            "api_key_required",
            "this endpoint is for automation: authenticate with an API key in X-API-Key (gRPC metadata x-api-key); user session tokens are not accepted",
        )),
        (Access::User(_), Some(Principal::ApiKey(_))) => Err(ApiError::forbidden(
            "user_session_required",
            "API keys reach only queries, annotations, heartbeats and OTLP ingest; this endpoint needs a signed-in user",
        )),
        (Access::User(required), Some(Principal::User(u))) => role_check(u.user.role, required),
    }
}

/// Authenticates an OTLP export (HTTP headers, or gRPC metadata as headers): the tenant comes
/// from an API key in `X-API-Key` and nothing else.
pub async fn authenticate_ingest(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<ApiKeyPrincipal, ApiError> {
    let principal = resolve(state, presented(headers)?).await?;
    authorize(Access::KeyOnly, principal.as_ref())?;
    match principal {
        Some(Principal::ApiKey(key)) => Ok(key),
        _ => Err(ApiError::internal(anyhow::anyhow!(
            "KeyOnly admitted a non-key principal"
        ))),
    }
}

/// Middleware for one route: authenticates, authorizes against `access`, and hands the
/// principal to the handler through request extensions.
pub async fn enforce(
    State(state): State<AppState>,
    access: Access,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if access != Access::Public {
        let principal = resolve(&state, presented(request.headers())?).await?;
        authorize(access, principal.as_ref())?;
        if let Some(principal) = principal {
            request.extensions_mut().insert(principal);
        }
    }
    Ok(next.run(request).await)
}

/// Any authenticated caller (user or API key).
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            // Only reachable if a handler asks for a caller on a public route: a bug.
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "route has no principal: check its Access rule"
                ))
            })
    }
}

/// A signed-in user (JWT); the route's `Access` rule guarantees one is there.
pub struct SignedInUser(pub SessionPrincipal);

impl<S: Send + Sync> FromRequestParts<S> for SignedInUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Principal::User(session) => Ok(SignedInUser(session)),
            Principal::ApiKey(_) => Err(ApiError::internal(anyhow::anyhow!(
                "user-only handler reached with an API key: check its Access rule"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn code(result: Result<Presented<'_>, ApiError>) -> String {
        match result {
            Err(e) => e.code.into_owned(),
            Ok(Presented::None) => "none".into(),
            Ok(Presented::Bearer(_)) => "bearer".into(),
            Ok(Presented::ApiKey(_)) => "api_key".into(),
        }
    }

    #[test]
    fn slots_are_kept_apart() {
        let key = ApiKey::generate();
        let jwt = JwtKeys::from_secret(&[1; 32]).issue(
            Uuid::nil(),
            Uuid::nil(),
            Uuid::nil(),
            Role::Admin,
            0,
        );
        let bearer_key = format!("Bearer {}", key.expose_secret());
        let bearer_jwt = format!("Bearer {jwt}");
        assert_eq!(code(presented(&headers(&[]))), "none");
        assert_eq!(
            code(presented(&headers(&[("authorization", &bearer_key)]))),
            "api_key_in_bearer_slot"
        );
        assert_eq!(
            code(presented(&headers(&[("x-api-key", &jwt)]))),
            "jwt_in_api_key_slot"
        );
        assert_eq!(
            code(presented(&headers(&[
                ("x-api-key", key.expose_secret()),
                ("authorization", &bearer_jwt)
            ]))),
            "conflicting_credentials"
        );
        assert_eq!(
            code(presented(&headers(&[("authorization", &bearer_jwt)]))),
            "bearer"
        );
        assert_eq!(
            code(presented(&headers(&[("x-api-key", key.expose_secret())]))),
            "api_key"
        );
        assert_eq!(
            code(presented(&headers(&[("authorization", "Basic abc")]))),
            "unsupported_auth_scheme"
        );
    }
}
