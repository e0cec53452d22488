//! `GET /api/v1/audit` (admin): the org's security-relevant events, newest first.

use super::{ListParams, next_cursor};
use crate::auth::SignedInUser;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = params.page(100, 1000)?;
    let events = state.meta.list_audit(session.user.org_id, page).await?;
    let next_cursor = next_cursor(page, events.len(), events.last().map(|e| e.id));
    Ok(Json(
        json!({ "audit_events": events, "next_cursor": next_cursor }),
    ))
}
