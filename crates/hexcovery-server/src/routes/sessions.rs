//! The caller's own sessions: list them and revoke any (sign out another device).

use crate::auth::SignedInUser;
use crate::error::ApiResult;
use crate::extract::{ApiPath, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use hexcovery_meta::{Actor, NewAuditEvent};
use serde_json::{Value, json};
use uuid::Uuid;

/// `GET /api/v1/sessions`: the caller's live sessions, newest first; `current` marks the
/// one making this request.
pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let user = &session.user;
    let sessions: Vec<Value> = state
        .meta
        .list_sessions(user.org_id, user.id, Utc::now())
        .await?
        .into_iter()
        .map(|s| {
            let current = s.id == session.session_id;
            let mut value = json!(s);
            value["current"] = json!(current);
            value
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

/// `DELETE /api/v1/sessions/{id}`: ends one of the caller's sessions immediately.
pub async fn revoke(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(session_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    state
        .meta
        .revoke_session(user.org_id, user.id, session_id, Utc::now())
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "session.revoke")
                .target(format!("session:{session_id}"))
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
