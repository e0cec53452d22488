//! `GET /api/v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD` (admin): ingested records and bytes per
//! UTC day and signal, newest first. Defaults to the last 30 days.

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    from: Option<String>,
    to: Option<String>,
}

fn day(field: &'static str, value: Option<&str>, default: NaiveDate) -> ApiResult<NaiveDate> {
    value.map_or(Ok(default), |v| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!("{field} must be a date like 2026-11-22, got {v:?}"),
            )
            .with("field", field)
        })
    })
}

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> ApiResult<Json<Value>> {
    let today = chrono::Utc::now().date_naive();
    let to = day("to", params.to.as_deref(), today)?;
    let from = day("from", params.from.as_deref(), to - chrono::Days::new(29))?;
    if from > to {
        return Err(ApiError::bad_request(
            "invalid_query",
            "from must not be after to",
        ));
    }
    // Counts are batched in memory; make this answer include everything ingested so far.
    state.usage.flush(state.meta.as_ref()).await?;
    let rows = state
        .meta
        .list_usage(session.user.org_id, &from.to_string(), &to.to_string())
        .await?;
    let usage: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({ "day": r.day, "signal": r.signal, "records": r.records, "bytes": r.bytes, "gigabytes": r.bytes as f64 / 1e9 }))
        .collect();
    Ok(Json(
        json!({ "usage": usage, "from": from.to_string(), "to": to.to_string() }),
    ))
}
