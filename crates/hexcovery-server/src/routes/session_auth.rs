//! Signup, login, refresh and logout: how a person gets, renews and ends a session.
//!
//! A session is a metastore row; the client holds a 15-minute JWT access token naming it and
//! a refresh token (returned in the body and as an httpOnly cookie) that is rotated on every
//! use. Presenting a used refresh token revokes the whole session.

use crate::auth::SignedInUser;
use crate::config::SignupMode;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::extract::{ApiJson, ClientAddr, parse_json};
use crate::routes::reauth;
use crate::state::AppState;
use crate::throttle;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use hexcovery_auth::pool::Lane;
use hexcovery_auth::{ACCESS_TOKEN_TTL_SECS, PoolError, Role, password, random, secret_digest};
use hexcovery_meta::{
    Actor, ActorKind, NewAuditEvent, NewOrg, NewSession, NewUser, Org, RefreshOutcome, User,
    validate,
};
use serde::{Deserialize, Serialize};

/// How long a session lasts without logging in again (refreshing does not extend it).
const SESSION_TTL_DAYS: i64 = 30;
const REFRESH_COOKIE: &str = "hexcovery_refresh";
const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";
const REFRESH_TOKEN_PREFIX: &str = "hxr_";

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
    user: User,
    org: Org,
}

fn refresh_cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={value}; Path={REFRESH_COOKIE_PATH}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie value is ASCII")
}

fn token_response(state: &AppState, status: StatusCode, tokens: TokenResponse) -> Response {
    let cookie = refresh_cookie(state, &tokens.refresh_token, SESSION_TTL_DAYS * 86_400);
    let mut response = (status, Json(tokens)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

fn clear_cookie(state: &AppState, mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::SET_COOKIE, refresh_cookie(state, "", 0));
    response
}

pub(super) fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect())
}

fn access_token(state: &AppState, user: &User, session_id: uuid::Uuid) -> String {
    state.jwt.issue(
        user.id,
        user.org_id,
        session_id,
        user.role,
        Utc::now().timestamp(),
    )
}

/// Opens a session for `user` and answers with its first token pair.
pub(super) async fn start_session(
    state: &AppState,
    status: StatusCode,
    user: User,
    org: Org,
    client_addr: Option<String>,
    user_agent: Option<String>,
) -> ApiResult<Response> {
    let refresh_token = random::token(REFRESH_TOKEN_PREFIX);
    let session = state
        .meta
        .create_session(
            &user,
            NewSession {
                expires_at: Utc::now() + Duration::days(SESSION_TTL_DAYS),
                refresh_token_digest: secret_digest(&refresh_token),
                client_addr,
                user_agent,
            },
        )
        .await?;
    let tokens = TokenResponse {
        access_token: access_token(state, &user, session.id),
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL_SECS,
        refresh_token,
        user,
        org,
    };
    Ok(token_response(state, status, tokens))
}

/// What the password pool's answer means to a client: 503 `busy` with Retry-After when it is
/// full (a flood of logins is turned away rather than queued without end).
fn pool_error(error: PoolError) -> ApiError {
    match error {
        PoolError::Busy => {
            tracing::warn!("refused: password hashing is at capacity");
            let mut busy = ApiError::new(
                ErrorClass::Unavailable,
                "busy",
                "the server is busy checking other passwords; try again in a second",
            );
            busy.retry_after_secs = Some(1);
            busy
        }
        other => ApiError::internal(other),
    }
}

/// Hashes a new password on the bounded pool, queued in the lane of the client's address
/// prefix (never of the account, whose existence timing would tell).
pub(super) async fn hash_password(
    state: &AppState,
    client: Option<&str>,
    password: String,
) -> ApiResult<String> {
    state
        .passwords
        .hash(&Lane::for_client(client), password)
        .await
        .map_err(pool_error)
}

/// Checks a password on the bounded pool, in the client's lane; `None` (no such account)
/// costs the same as a wrong password.
pub async fn verify_password(
    state: &AppState,
    client: Option<&str>,
    password: String,
    hash: Option<String>,
) -> ApiResult<bool> {
    state
        .passwords
        .verify(&Lane::for_client(client), password, hash)
        .await
        .map_err(pool_error)
}

/// Checks a new password against the policy, answering 400 `weak_password` with the rule.
pub fn check_new_password(field: &'static str, value: &str) -> ApiResult<()> {
    password::validate_password(value)
        .map_err(|e| ApiError::bad_request("weak_password", e.to_string()).with("field", field))
}

/// Counts a signup from `client` (each one: it creates an org and costs a hash), refusing it
/// with 429 `too_many_signups` and Retry-After once the address has used its allowance
/// (`--max-signups-per-address`) or while it is blocked.
fn throttle_signup(state: &AppState, client: Option<&str>) -> ApiResult<()> {
    let (Some(client), free @ 1..) = (client, state.config.max_signups_per_address) else {
        return Ok(());
    };
    let key = format!("signup:{client}");
    let refused = |secs: u64| {
        tracing::warn!(client, "refused: too many signups from one address");
        let mut error = ApiError::new(
            ErrorClass::Throttled,
            "too_many_signups",
            format!("too many signups from this address; try again in {secs} seconds"),
        );
        error.retry_after_secs = Some(secs);
        error
    };
    match state
        .throttle
        .attempt(&key, throttle::signup_policy(free), state.clock.now())
    {
        Ok(None) => Ok(()),
        // This one is past the allowance: refused, and the block starts now.
        Ok(Some(block)) => Err(refused(block.num_seconds().max(1) as u64)),
        Err(secs) => Err(refused(secs)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    org_name: String,
    org_slug: String,
    email: String,
    password: String,
    name: String,
}

/// `POST /api/v1/auth/signup`: a new org and its first admin, signed in.
pub async fn signup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignupRequest>,
) -> ApiResult<Response> {
    if state.config.signup == SignupMode::Disabled && state.meta.count_orgs().await? > 0 {
        return Err(ApiError::forbidden(
            "signup_disabled",
            "signup is disabled on this server: ask an admin of your organization for an invite",
        ));
    }
    let org_name = validate::name("org_name", &req.org_name, 100)?;
    let slug = validate::slug("org_slug", &req.org_slug)?;
    let email = validate::email("email", &req.email)?;
    let name = validate::name("name", &req.name, 100)?;
    check_new_password("password", &req.password)?;
    throttle_signup(&state, client.as_deref())?;
    let password_hash = hash_password(&state, client.as_deref(), req.password).await?;
    let (org, user) = state
        .meta
        .create_org_with_admin(
            NewOrg {
                name: org_name,
                slug,
                email: email.clone(),
            },
            NewUser {
                email,
                name,
                role: Role::Admin,
                password_hash,
            },
        )
        .await?;
    state
        .audit(
            NewAuditEvent::success(org.id, Actor::user(&user), "auth.signup")
                .target(format!("org:{}", org.id))
                .client(client.clone()),
        )
        .await;
    start_session(
        &state,
        StatusCode::CREATED,
        user,
        org,
        client,
        user_agent(&headers),
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// Second factor; required once the user has enabled two-factor authentication.
    #[serde(default)]
    totp_code: Option<String>,
}

/// Files a failed login of a known account in its org's audit log; the actor is not
/// authenticated, so it is anonymous, named by the email tried.
async fn audit_login_failure(
    state: &AppState,
    user: &hexcovery_meta::User,
    client: Option<String>,
    reason: &str,
    account_block: Option<chrono::TimeDelta>,
) {
    let actor = Actor {
        kind: ActorKind::Anonymous,
        id: None,
        name: user.email.clone(),
    };
    state
        .audit(
            NewAuditEvent::failure(user.org_id, actor, "auth.login")
                .target(format!("user:{}", user.id))
                .client(client)
                .detail(reauth::failure_detail(reason, account_block)),
        )
        .await;
}

fn invalid_login() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "the email or password is incorrect")
}

/// `POST /api/v1/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let email = req.email.trim().to_lowercase();
    // Counted before the password is checked; a success takes the count back below.
    let account = reauth::account_key(&email);
    let address = client.as_deref().map(reauth::address_key);
    let mut keys = vec![(account.as_str(), throttle::ACCOUNT)];
    keys.extend(address.as_deref().map(|a| (a, throttle::ADDRESS)));
    let block = reauth::begin(&state, &keys)?;
    // The password was right: this attempt's counts come back.
    let take_back = |state: &AppState| {
        keys.iter().for_each(|(key, _)| state.throttle.forgive(key));
    };
    let found = state.meta.find_user_for_login(&email).await?;
    let stored_hash = found.as_ref().map(|(_, hash)| hash.clone());
    let valid = match verify_password(&state, client.as_deref(), req.password, stored_hash).await {
        Ok(valid) => valid,
        Err(busy) => {
            // Not checked (the pool is full): not the account's failure, but the address
            // keeps the count, so a client that retries at once instead of after Retry-After
            // soon blocks itself and the pool frees for others.
            state.throttle.forgive(&account);
            return Err(busy);
        }
    };
    let Some((user, _)) = found else {
        // No org to file this under: the server log is the only record.
        tracing::info!(client = ?client, "login failed for an unknown email");
        return Err(invalid_login());
    };
    if !valid {
        audit_login_failure(&state, &user, client, "wrong_password", block).await;
        return Err(invalid_login());
    }
    // The second factor, once the user has turned it on.
    if state.meta.totp_record(user.org_id, user.id).await?.enabled {
        let Some(code) = req.totp_code.as_deref() else {
            take_back(&state);
            return Err(ApiError::unauthorized(
                "totp_required",
                "this account uses two-factor authentication: send totp_code (from the authenticator app, or a recovery code)",
            ));
        };
        if !crate::routes::totp::second_factor(&state, &user, code).await? {
            audit_login_failure(&state, &user, client, "wrong_totp_code", block).await;
            return Err(ApiError::unauthorized(
                "invalid_totp_code",
                "the code is wrong, expired or already used",
            ));
        }
    }
    take_back(&state);
    state.throttle.succeeded(&account);
    let org = state.meta.get_org(user.org_id).await?;
    state
        .audit(
            NewAuditEvent::success(org.id, Actor::user(&user), "auth.login")
                .target(format!("user:{}", user.id))
                .client(client.clone()),
        )
        .await;
    start_session(
        &state,
        StatusCode::OK,
        user,
        org,
        client,
        user_agent(&headers),
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == REFRESH_COOKIE && !value.is_empty()).then(|| value.to_string())
        })
}

/// `POST /api/v1/auth/refresh`: `{refresh_token}` in the body, or the cookie.
pub async fn refresh(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let from_cookie = body.iter().all(u8::is_ascii_whitespace);
    let presented = if from_cookie {
        cookie_token(&headers).ok_or_else(|| {
            ApiError::unauthorized(
                "missing_refresh_token",
                "send {\"refresh_token\": \"...\"} or the refresh cookie",
            )
        })?
    } else {
        parse_json::<RefreshRequest>(&body)?.refresh_token
    };
    let new_token = random::token(REFRESH_TOKEN_PREFIX);
    let outcome = state
        .meta
        .rotate_refresh_token(
            &secret_digest(&presented),
            &secret_digest(&new_token),
            Utc::now(),
        )
        .await?;
    let answer = match outcome {
        RefreshOutcome::Rotated(session) => {
            let org = state.meta.get_org(session.user.org_id).await?;
            let tokens = TokenResponse {
                access_token: access_token(&state, &session.user, session.session_id),
                token_type: "Bearer",
                expires_in: ACCESS_TOKEN_TTL_SECS,
                refresh_token: new_token,
                user: session.user,
                org,
            };
            Ok(token_response(&state, StatusCode::OK, tokens))
        }
        RefreshOutcome::Reused(session) => {
            state
                .audit(
                    NewAuditEvent::failure(
                        session.user.org_id,
                        Actor::user(&session.user),
                        "auth.refresh_token_reuse",
                    )
                    .target(format!("session:{}", session.session_id))
                    .client(client)
                    .detail(serde_json::json!({ "effect": "session revoked" })),
                )
                .await;
            Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used, so the session has been revoked for safety; log in again",
            ))
        }
        RefreshOutcome::Invalid => Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "the refresh token is not valid or its session has ended; log in again",
        )),
    };
    // A refused cookie can never work again: tell the browser to drop it. Only the cookie's
    // own refusal clears it: a token in the body (which any page can post) says nothing about
    // the browser's cookie, so it cannot be used to sign someone out.
    answer.or_else(|e| match e.class {
        ErrorClass::Unauthenticated if from_cookie => Ok(clear_cookie(&state, e.into_response())),
        _ => Err(e),
    })
}

/// `POST /api/v1/auth/logout`: ends the caller's session.
pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Response> {
    let user = &session.user;
    state
        .meta
        .revoke_session(user.org_id, user.id, session.session_id, Utc::now())
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "auth.logout")
                .target(format!("session:{}", session.session_id))
                .client(client),
        )
        .await;
    Ok(clear_cookie(&state, StatusCode::NO_CONTENT.into_response()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/password` `{current_password, new_password}`: re-authenticates, sets
/// the new password and signs the user out everywhere else (this session stays).
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<Json<serde_json::Value>> {
    let user = &session.user;
    check_new_password("new_password", &req.new_password)?;
    reauth::confirm_password(
        &state,
        user,
        req.current_password,
        "current_password",
        "auth.password.change",
        client.clone(),
    )
    .await?;
    let hash = hash_password(&state, client.as_deref(), req.new_password).await?;
    let revoked = state
        .meta
        .change_password(user.org_id, user.id, &hash, session.session_id)
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "auth.password.change")
                .target(format!("user:{}", user.id))
                .client(client)
                .detail(serde_json::json!({ "sessions_revoked": revoked })),
        )
        .await;
    Ok(Json(serde_json::json!({ "sessions_revoked": revoked })))
}
