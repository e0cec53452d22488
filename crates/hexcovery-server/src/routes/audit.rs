//! `GET /api/v1/audit?action=&actor=&from=&to=&limit=&before=` (admin): the org's
//! security-relevant events, newest first. `action` ending in `*` is a prefix (`auth.*`);
//! `actor` is a name (email, key name) or id; `from`/`to` are RFC 3339 or epoch ms.

use super::{ListParams, next_cursor};
use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::routes::annotations::instant;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use hexcovery_meta::AuditFilter;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    limit: Option<u32>,
    before: Option<Uuid>,
    action: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn time(
    field: &'static str,
    text: Option<&str>,
) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    text.map(|t| {
        // Query strings carry text: digits are epoch milliseconds.
        let value = t.parse::<i64>().map_or_else(|_| json!(t), |ms| json!(ms));
        instant(field, &value)
            .map_err(|e| ApiError::bad_request("invalid_query", e.message).with("field", field))
    })
    .transpose()
}

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    let page = ListParams {
        limit: params.limit,
        before: params.before,
    }
    .page(100, 1000)?;
    let filter = AuditFilter {
        action: params.action.filter(|a| !a.is_empty()),
        actor: params.actor.filter(|a| !a.is_empty()),
        from: time("from", params.from.as_deref())?,
        to: time("to", params.to.as_deref())?,
    };
    let events = state
        .meta
        .list_audit(session.user.org_id, &filter, page)
        .await?;
    let next_cursor = next_cursor(page, events.len(), events.last().map(|e| e.id));
    Ok(Json(
        json!({ "audit_events": events, "next_cursor": next_cursor }),
    ))
}
