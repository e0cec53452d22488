//! The org's users: list (any member), change role and remove (admin).

use crate::auth::SignedInUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hexcovery_auth::Role;
use hexcovery_meta::{Actor, NewAuditEvent, User};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// `GET /api/v1/users`: everyone in the caller's org, newest first.
pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let users = state.meta.list_users(session.user.org_id).await?;
    Ok(Json(json!({ "users": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    role: Role,
}

/// `PATCH /api/v1/users/{id}` (admin): change a user's role. Takes effect on that user's
/// next request. The org's last admin cannot be demoted.
pub async fn update(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UserUpdate>,
) -> ApiResult<Json<User>> {
    let org_id = session.user.org_id;
    let before = state.meta.get_user(org_id, user_id).await?;
    let user = state.meta.set_user_role(org_id, user_id, req.role).await?;
    state
        .audit(
            NewAuditEvent::success(org_id, Actor::user(&session.user), "user.role_change")
                .target(format!("user:{user_id}"))
                .client(client)
                .detail(json!({ "from": before.role, "to": user.role })),
        )
        .await;
    Ok(Json(user))
}

/// `DELETE /api/v1/users/{id}` (admin): remove a user and end their sessions at once.
pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(user_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let org_id = session.user.org_id;
    let removed = state.meta.delete_user(org_id, user_id).await?;
    state
        .audit(
            NewAuditEvent::success(org_id, Actor::user(&session.user), "user.remove")
                .target(format!("user:{user_id}"))
                .client(client)
                .detail(json!({ "email": removed.email })),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
