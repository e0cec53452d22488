//! Two-factor authentication for the signed-in user: `POST /api/v1/auth/totp/setup` (a new
//! secret and its `otpauth://` URI, not active yet), `/enable` `{code, password}` (turns it
//! on, re-authenticated like turning it off, and answers ten recovery codes, once), `/disable` `{password, code}`, `/recovery-codes`
//! `{code}` (a fresh ten). Login asks for the code once 2FA is on (`second_factor`).

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr};
use crate::routes::reauth;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hexcovery_auth::totp::{self, TotpKey};
use hexcovery_meta::{Actor, NewAuditEvent, User};
use serde::Deserialize;
use serde_json::{Value, json};

fn key_for(state: &AppState, user: &User, sealed: &str) -> ApiResult<TotpKey> {
    let secret_hex = state
        .secrets
        .open(sealed)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    let secret = hex::decode(secret_hex).map_err(ApiError::internal)?;
    TotpKey::new(&secret, &user.email).map_err(ApiError::internal)
}

/// Whether `code` — a current TOTP code or an unused recovery code — proves the second
/// factor of `user`. Each TOTP step and each recovery code is accepted once.
pub async fn second_factor(state: &AppState, user: &User, code: &str) -> ApiResult<bool> {
    let record = state.meta.totp_record(user.org_id, user.id).await?;
    let (true, Some(sealed)) = (record.enabled, record.secret_sealed) else {
        return Ok(false);
    };
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let key = key_for(state, user, &sealed)?;
        let now = u64::try_from(state.clock.now().timestamp()).unwrap_or(0);
        return match key.verify(code, now) {
            Some(step) => Ok(state.meta.accept_totp_step(user.id, step).await?),
            None => Ok(false),
        };
    }
    Ok(state
        .meta
        .spend_recovery_code(user.id, &totp::recovery_digest(code))
        .await?)
}

fn not_enabled() -> ApiError {
    ApiError::new(
        crate::error::ErrorClass::Conflict,
        "totp_not_enabled",
        "two-factor authentication is not on",
    )
}

async fn audit(state: &AppState, user: &User, action: &'static str, client: Option<String>) {
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), action)
                .target(format!("user:{}", user.id))
                .client(client),
        )
        .await;
}

pub async fn setup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let user = &session.user;
    let secret = totp::new_secret();
    let key = TotpKey::new(&secret, &user.email).map_err(ApiError::internal)?;
    let sealed = state.secrets.seal(&hex::encode(secret));
    state
        .meta
        .set_totp_secret(user.org_id, user.id, &sealed)
        .await?;
    audit(&state, user, "auth.totp.setup", client).await;
    Ok(Json(json!({
        "secret": key.secret_base32(),
        "otpauth_uri": key.uri().map_err(ApiError::internal)?,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableBody {
    code: String,
    /// The account's password: a stolen session cannot turn 2FA on and lock the owner out.
    password: String,
}

pub async fn enable(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<EnableBody>,
) -> ApiResult<Json<Value>> {
    let user = &session.user;
    const ACTION: &str = "auth.totp.enable";
    reauth::confirm_password(
        &state,
        user,
        body.password,
        "password",
        ACTION,
        client.clone(),
    )
    .await?;
    let record = state.meta.totp_record(user.org_id, user.id).await?;
    let sealed = match (record.enabled, record.secret_sealed) {
        (false, Some(sealed)) => sealed,
        (true, _) => {
            return Err(ApiError::new(
                crate::error::ErrorClass::Conflict,
                "totp_already_enabled",
                "two-factor authentication is already on",
            ));
        }
        (false, None) => {
            return Err(ApiError::new(
                crate::error::ErrorClass::Conflict,
                "totp_not_set_up",
                "call POST /api/v1/auth/totp/setup first, then enable with a code from the app",
            ));
        }
    };
    let key = key_for(&state, user, &sealed)?;
    let now = u64::try_from(state.clock.now().timestamp()).unwrap_or(0);
    let Some(step) = key.verify(&body.code, now) else {
        return Err(ApiError::bad_request(
            "invalid_totp_code",
            "the code does not match the secret: check the authenticator app and the device's clock",
        )
        .with("field", "code"));
    };
    let codes = totp::new_recovery_codes();
    let digests: Vec<String> = codes.iter().map(|c| totp::recovery_digest(c)).collect();
    state
        .meta
        .enable_totp(user.org_id, user.id, step, &digests)
        .await?;
    audit(&state, user, ACTION, client).await;
    Ok(Json(json!({ "enabled": true, "recovery_codes": codes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableBody {
    password: String,
    code: String,
}

pub async fn disable(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<DisableBody>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    const ACTION: &str = "auth.totp.disable";
    reauth::confirm_password(
        &state,
        user,
        body.password,
        "password",
        ACTION,
        client.clone(),
    )
    .await?;
    if !state.meta.totp_record(user.org_id, user.id).await?.enabled {
        return Err(not_enabled());
    }
    reauth::confirm_second_factor(&state, user, &body.code, ACTION, client.clone()).await?;
    state.meta.disable_totp(user.org_id, user.id).await?;
    audit(&state, user, ACTION, client).await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<Value>> {
    let user = &session.user;
    if !state.meta.totp_record(user.org_id, user.id).await?.enabled {
        return Err(not_enabled());
    }
    const ACTION: &str = "auth.totp.recovery_codes";
    reauth::confirm_second_factor(&state, user, &body.code, ACTION, client.clone()).await?;
    let codes = totp::new_recovery_codes();
    let digests: Vec<String> = codes.iter().map(|c| totp::recovery_digest(c)).collect();
    state.meta.replace_recovery_codes(user.id, &digests).await?;
    audit(&state, user, ACTION, client).await;
    Ok(Json(json!({ "recovery_codes": codes })))
}
