//! Proving it is you, under the login throttle: a login, and a signed-in user confirming a
//! sensitive change with their password or second factor (password change, turning 2FA off,
//! new recovery codes). Failures of both count toward the same per-account block, so a
//! stolen session cannot be used to guess the password or a code without limit; each failed
//! re-authentication is audited under the action it tried.

use super::session_auth::verify_password;
use super::totp::second_factor;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::state::AppState;
use crate::throttle;
use chrono::TimeDelta;
use hexcovery_meta::{Actor, NewAuditEvent, User};
use serde_json::json;

/// The throttle key of an account; logins and re-authentication share it.
pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

/// The throttle key of a client address (logins only: a signed-in user is already known).
pub fn address_key(client: &str) -> String {
    format!("address:{client}")
}

/// 429 `too_many_attempts` with Retry-After while any of `keys` is blocked.
pub fn refuse_if_blocked(state: &AppState, keys: &[String]) -> ApiResult<()> {
    let now = state.clock.now();
    for key in keys {
        if let Some(secs) = state.throttle.blocked(key, now) {
            tracing::info!("refused: too many failed attempts to authenticate");
            let mut error = ApiError::new(
                ErrorClass::Throttled,
                "too_many_attempts",
                format!("too many failed attempts; try again in {secs} seconds"),
            );
            error.retry_after_secs = Some(secs);
            return Err(error);
        }
    }
    Ok(())
}

/// Counts a failure against the account; the block it starts, if it starts one.
pub fn count_failure(state: &AppState, email: &str) -> Option<TimeDelta> {
    state
        .throttle
        .failed(&account_key(email), throttle::ACCOUNT, state.clock.now())
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
    client: Option<String>,
) {
    let block = count_failure(state, &user.email);
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
/// `wrong_password` otherwise, 429 while the account is blocked.
pub async fn confirm_password(
    state: &AppState,
    user: &User,
    password: String,
    field: &'static str,
    action: &'static str,
    client: Option<String>,
) -> ApiResult<()> {
    refuse_if_blocked(state, &[account_key(&user.email)])?;
    let stored = state
        .meta
        .find_user_for_login(&user.email)
        .await?
        .map(|(_, hash)| hash);
    if verify_password(password, stored).await? {
        return Ok(());
    }
    failed(state, user, action, "wrong_password", client).await;
    Err(ApiError::forbidden("wrong_password", "the password is incorrect").with("field", field))
}

/// The signed-in `user` confirms `action` with a TOTP or recovery code (each accepted
/// once): 403 `invalid_totp_code` otherwise, 429 while the account is blocked.
pub async fn confirm_second_factor(
    state: &AppState,
    user: &User,
    code: &str,
    action: &'static str,
    client: Option<String>,
) -> ApiResult<()> {
    refuse_if_blocked(state, &[account_key(&user.email)])?;
    if second_factor(state, user, code).await? {
        return Ok(());
    }
    failed(state, user, action, "wrong_totp_code", client).await;
    Err(ApiError::forbidden(
        "invalid_totp_code",
        "the code is wrong, expired or already used: enter the current code from your authenticator app or an unused recovery code",
    )
    .with("field", "code"))
}
