//! `GET /api/v1/audit` (admin): the org's security-relevant events, newest first.

use super::ListParams;
use crate::auth::SignedInUser;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use hexcovery_meta::Page;
use serde_json::{Value, json};

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit(100, 1000)?;
    let events = state
        .meta
        .list_audit(
            session.user.org_id,
            Page {
                limit,
                before: params.before,
            },
        )
        .await?;
    // A full page may have more behind it; the last id is the cursor for the next one.
    let next_cursor = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(Json(
        json!({ "audit_events": events, "next_cursor": next_cursor }),
    ))
}
