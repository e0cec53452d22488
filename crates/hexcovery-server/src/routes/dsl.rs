//! `POST /api/v1/dsl` `{query}` (API keys and signed-in users): runs OQL over the caller's
//! org's telemetry and answers SPEC §5's result shape; every failure names itself — the OQL
//! error with line, column and hint, or the time or memory limit the query hit.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::extract::ApiJson;
use crate::query::{Answer, QueryError};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DslRequest {
    query: String,
}

pub async fn run(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiJson(request): ApiJson<DslRequest>,
) -> ApiResult<Json<Answer>> {
    if request.query.len() > MAX_QUERY_BYTES {
        return Err(ApiError::new(
            ErrorClass::TooLarge,
            "query_too_long",
            format!(
                "the query is {} bytes; the most accepted is {MAX_QUERY_BYTES}",
                request.query.len()
            ),
        )
        .with("field", "query"));
    }
    let answer = state
        .queries
        .run(
            &state.telemetry,
            principal.org_id(),
            &request.query,
            chrono::Utc::now(),
        )
        .await?;
    Ok(Json(answer))
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let message = e.to_string();
        match e {
            QueryError::Invalid {
                error,
                line,
                column,
            } => {
                let mut api = ApiError::new(ErrorClass::InvalidInput, error.kind.code(), message)
                    .with("line", line)
                    .with("column", column);
                if let Some(hint) = error.hint {
                    api = api.with("hint", hint);
                }
                api
            }
            QueryError::Timeout(limit) => {
                ApiError::new(ErrorClass::Unprocessable, "query_timeout", message)
                    .with("limit_ms", limit.as_millis() as u64)
                    .with(
                        "hint",
                        "narrow the time range or add filters; the limit is --query-timeout-secs",
                    )
            }
            QueryError::MemoryLimit(bytes) => {
                ApiError::new(ErrorClass::Unprocessable, "query_memory_limit", message)
                    .with("limit_bytes", bytes as u64)
                    .with(
                        "hint",
                        "group by fewer distinct values or narrow the time range; the limit is --query-memory-mb",
                    )
            }
            QueryError::Failed(_) => {
                ApiError::new(ErrorClass::Unprocessable, "query_failed", message)
            }
            QueryError::Internal(e) => ApiError::internal(e),
        }
    }
}
