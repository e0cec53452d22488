//! Invites: an admin invites an email with a role; the single-use link creates that user in
//! the admin's org. The invite email is kept in the org's outbox (`GET /api/v1/outbox`) and,
//! with a mail server configured, queued for sending; without one the link also goes to the
//! server log, so a single node needs no SMTP.

use super::session_auth::{check_new_password, hash_password, start_session};
use super::{ListParams, next_cursor};
use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use hexcovery_auth::{Role, random, secret_digest};
use hexcovery_meta::{
    Actor, CreatedBy, InviteAcceptance, MetaError, NewAuditEvent, NewInvite, NewOutboxMessage,
    validate,
};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) const INVITE_TOKEN_PREFIX: &str = "hxi_";

/// The least time an invite's creation takes to answer, whatever the outcome: an email that
/// already has an account (409 `email_taken`) answers no sooner than one invited, so the time
/// does not tell which emails have accounts (the answer does, to the org's admins only).
const INVITE_ANSWER_TIME: std::time::Duration = std::time::Duration::from_millis(150);

/// `GET /api/v1/invites` (admin): invites of every status, newest first.
pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = params.page(100, 1000)?;
    let invites = state
        .meta
        .list_invites(session.user.org_id, page, Utc::now())
        .await?;
    let next_cursor = next_cursor(page, invites.len(), invites.last().map(|i| i.id));
    Ok(Json(
        json!({ "invites": invites, "next_cursor": next_cursor }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    email: String,
    role: Role,
}

/// `POST /api/v1/invites` (admin) `{email, role}` → 201 with the invite, its link and the
/// email's outbox entry. The link is in this answer and the outbox; only its digest is
/// stored with the invite.
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(req): ApiJson<CreateInvite>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let inviter = &session.user;
    if !inviter.role.at_least(req.role) {
        return Err(ApiError::forbidden(
            "role_escalation",
            format!(
                "you cannot invite someone as {} because you are {}",
                req.role, inviter.role
            ),
        ));
    }
    let email = validate::email("email", &req.email)?;
    let answer_at = tokio::time::Instant::now() + INVITE_ANSWER_TIME;
    let answer = create_invite(&state, client, inviter, email, req.role).await;
    tokio::time::sleep_until(answer_at).await;
    answer
}

async fn create_invite(
    state: &AppState,
    client: Option<String>,
    inviter: &hexcovery_meta::User,
    email: String,
    role: Role,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let now = Utc::now();
    let limit = state.config.max_invites_per_day;
    let recent = state
        .meta
        .count_outbox_since(inviter.org_id, state.clock.now() - Duration::hours(24))
        .await?;
    if recent >= u64::from(limit) {
        return Err(ApiError::new(
            ErrorClass::Throttled,
            "too_many_invites",
            format!(
                "this org has sent {recent} invites in the last 24 hours; the limit is {limit} (the server's --max-invites-per-day)"
            ),
        ));
    }
    let token = random::token(INVITE_TOKEN_PREFIX);
    let invite = state
        .meta
        .create_invite(
            NewInvite {
                org_id: inviter.org_id,
                email: email.clone(),
                role,
                token_digest: secret_digest(&token),
                expires_at: now + Duration::hours(i64::from(state.config.invite_ttl_hours)),
                invited_by: CreatedBy {
                    user_id: Some(inviter.id),
                    name: inviter.email.clone(),
                },
            },
            now,
        )
        .await?;
    let org = state.meta.get_org(inviter.org_id).await?;
    let url = format!("{}/invite?token={token}", state.config.public_url);
    let body = format!(
        "{} invited you to join {} on Hexcovery as {}.\n\nAccept the invite:\n{url}\n\nThe link works once and expires at {}.",
        inviter.name,
        org.name,
        invite.role,
        invite.expires_at.to_rfc3339()
    );
    let message = state
        .meta
        .add_outbox_message(
            NewOutboxMessage {
                org_id: org.id,
                recipient: email.clone(),
                subject: format!("You are invited to {} on Hexcovery", org.name),
                body,
                send: state.mailer.is_some(),
                invite_id: Some(invite.id),
            },
            state.clock.now(),
        )
        .await?;
    if state.mailer.is_some() {
        tracing::info!(invite_id = %invite.id, message_id = %message.id, "invite created; its email is queued for the mail server");
    } else {
        // No mail server: the log is where an operator finds the link.
        tracing::info!(invite_id = %invite.id, recipient = %email, invite_url = %url, "invite created (no mail server configured; link also in the org's outbox)");
    }
    state
        .audit(
            NewAuditEvent::success(inviter.org_id, Actor::user(inviter), "invite.create")
                .target(format!("invite:{}", invite.id))
                .client(client)
                .detail(json!({ "email": email, "role": invite.role })),
        )
        .await;
    let mut answer = json!(invite);
    answer["invite_url"] = json!(url);
    answer["email_message"] = json!({ "id": message.id, "status": message.status });
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /api/v1/invites/{id}` (admin): a revoked invite's link stops working.
pub async fn revoke(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(invite_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    state
        .meta
        .revoke_invite(user.org_id, invite_id, Utc::now())
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "invite.revoke")
                .target(format!("invite:{invite_id}"))
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    token: String,
    name: String,
    password: String,
}

/// `POST /api/v1/invites/accept` (public) `{token, name, password}` → 201, signed in as the
/// new user of the inviting org, with the invited role.
pub async fn accept(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AcceptInvite>,
) -> ApiResult<Response> {
    let name = validate::name("name", &req.name, 100)?;
    check_new_password("password", &req.password)?;
    let invite_gone = || {
        ApiError::not_found("invite").with(
            "hint",
            "the invite link may have expired, been used already or been revoked; ask an admin for a new one",
        )
    };
    // The token first: a wrong one costs a lookup, never a password hash.
    let digest = secret_digest(req.token.trim());
    if !state.meta.invite_is_pending(&digest, Utc::now()).await? {
        return Err(invite_gone());
    }
    let password_hash = hash_password(&state, client.as_deref(), req.password).await?;
    let user = state
        .meta
        .accept_invite(
            &digest,
            InviteAcceptance {
                name,
                password_hash,
            },
            Utc::now(),
        )
        .await
        .map_err(|e| match e {
            MetaError::NotFound(_) => invite_gone(),
            other => other.into(),
        })?;
    let org = state.meta.get_org(user.org_id).await?;
    state
        .audit(
            NewAuditEvent::success(org.id, Actor::user(&user), "invite.accept")
                .target(format!("user:{}", user.id))
                .client(client.clone())
                .detail(json!({ "role": user.role })),
        )
        .await;
    start_session(
        &state,
        StatusCode::CREATED,
        user,
        org,
        client,
        super::session_auth::user_agent(&headers),
    )
    .await
}

/// `GET /api/v1/outbox` (admin): messages the server produced for people of the org (invite
/// emails), newest first — where to find them when no mail server is configured.
pub async fn outbox(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = params.page(100, 1000)?;
    let messages = state.meta.list_outbox(session.user.org_id, page).await?;
    let next_cursor = next_cursor(page, messages.len(), messages.last().map(|m| m.id));
    Ok(Json(
        json!({ "messages": messages, "next_cursor": next_cursor }),
    ))
}
