//! Proving it is you, under the throttle: a login (per account and client address), and a
//! signed-in user confirming a sensitive change with their password or second factor
//! (password change, turning 2FA on or off, new recovery codes; per user), so a stolen session
//! cannot be used to guess the password or a code without limit. Attempts are counted before
//! the secret is checked, so parallel guesses get no more tries than sequential ones. Each
//! failed re-authentication is audited under the action it tried.

use super::session_auth::verify_password;
use super::totp::second_factor;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::state::AppState;
use crate::throttle;
use chrono::TimeDelta;
use hexcovery_meta::{Actor, NewAuditEvent, User};
use serde_json::json;

/// The throttle key of an account's logins.
pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

/// The throttle key of a client address (logins only: a signed-in user is already known).
pub fn address_key(client: &str) -> String {
    format!("address:{client}")
}

/// The throttle key of a signed-in user's re-authentication. Apart from the account's login
/// key, so a stranger failing logins on purpose cannot stop the owner changing a password.
fn reauth_key(user: &User) -> String {
    format!("reauth:{}", user.id)
}

fn too_many_attempts(secs: u64) -> ApiError {
    tracing::info!("refused: too many failed attempts to authenticate");
    let mut error = ApiError::new(
        ErrorClass::Throttled,
        "too_many_attempts",
        format!("too many failed attempts; try again in {secs} seconds"),
    );
    error.retry_after_secs = Some(secs);
    error
}

/// Starts an attempt under each `(key, policy)`: 429 `too_many_attempts` with Retry-After
/// while any is blocked (nothing counted), otherwise counted under every key before the
/// secret is checked (see `Throttle::attempt`). The first key's answer says whether this
/// attempt started its block.
pub fn begin(state: &AppState, keys: &[(&str, throttle::Policy)]) -> ApiResult<Option<TimeDelta>> {
    let now = state.clock.now();
    let mut started = None;
    for (i, (key, policy)) in keys.iter().enumerate() {
        match state.throttle.attempt(key, *policy, now) {
            Ok(block) if i == 0 => started = block,
            Ok(Some(block)) => {
                tracing::warn!(
                    block_secs = block.num_seconds(),
                    "{key} blocked after repeated failures"
                );
            }
            Ok(None) => {}
            Err(secs) => {
                keys[..i]
                    .iter()
                    .for_each(|(k, _)| state.throttle.forgive(k));
                return Err(too_many_attempts(secs));
            }
        }
    }
    Ok(started)
}

/// The audit detail of a failed authentication: why, and the block it started, if any. A
/// failure that blocks the account is how a block shows in the audit log; refusals during
/// the block are only logged, so a flood of them cannot flood the audit log.
pub fn failure_detail(reason: &str, block: Option<TimeDelta>) -> serde_json::Value {
    let mut detail = json!({ "reason": reason });
    if let Some(block) = block {
        detail["account_blocked_secs"] = block.num_seconds().into();
    }
    detail
}

async fn failed(
    state: &AppState,
    user: &User,
    action: &'static str,
    reason: &str,
    block: Option<TimeDelta>,
    client: Option<String>,
) {
    state
        .audit(
            NewAuditEvent::failure(user.org_id, Actor::user(user), action)
                .target(format!("user:{}", user.id))
                .client(client)
                .detail(failure_detail(reason, block)),
        )
        .await;
}

/// The signed-in `user` confirms `action` with their password (sent as `field`): 403
/// `wrong_password` otherwise, 429 while their re-authentication is blocked.
pub async fn confirm_password(
    state: &AppState,
    user: &User,
    password: String,
    field: &'static str,
    action: &'static str,
    client: Option<String>,
) -> ApiResult<()> {
    let key = reauth_key(user);
    let block = begin(state, &[(&key, throttle::ACCOUNT)])?;
    let stored = state
        .meta
        .find_user_for_login(&user.email)
        .await?
        .map(|(_, hash)| hash);
    let valid = verify_password(state, client.as_deref(), password, stored)
        .await
        .inspect_err(|_| {
            // Not checked (the pool is full): not a failure either.
            state.throttle.forgive(&key);
        })?;
    if valid {
        state.throttle.succeeded(&key);
        return Ok(());
    }
    failed(state, user, action, "wrong_password", block, client).await;
    Err(ApiError::forbidden("wrong_password", "the password is incorrect").with("field", field))
}

/// The signed-in `user` confirms `action` with a TOTP or recovery code (each accepted
/// once): 403 `invalid_totp_code` otherwise, 429 while their re-authentication is blocked.
pub async fn confirm_second_factor(
    state: &AppState,
    user: &User,
    code: &str,
    action: &'static str,
    client: Option<String>,
) -> ApiResult<()> {
    let key = reauth_key(user);
    let block = begin(state, &[(&key, throttle::ACCOUNT)])?;
    if second_factor(state, user, code).await? {
        state.throttle.succeeded(&key);
        return Ok(());
    }
    failed(state, user, action, "wrong_totp_code", block, client).await;
    Err(ApiError::forbidden(
        "invalid_totp_code",
        "the code is wrong, expired or already used: enter the current code from your authenticator app or an unused recovery code",
    )
    .with("field", "code"))
}
