//! `POST /api/v1/dsl` `{query, from?, to?, params?}` (API keys and signed-in users): runs OQL
//! over the caller's org's telemetry and answers SPEC §5's result shape; every failure names
//! itself — the OQL error with line, column and hint, the request field that is wrong, or the
//! time or memory limit the query hit.
//!
//! `from`/`to` (RFC 3339, epoch ms, `now`, `now-6h`) are the range of a query whose text has
//! none (a range in the text wins). `from` alone ends at now; `to` alone starts an hour
//! before it (as a query without a range covers the last hour).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::extract::ApiJson;
use crate::query::{Answer, ParamValue, QueryError, QueryRequest, parse_bound};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// How far before `to` a range given only its end starts.
const RANGE_WITHOUT_FROM: TimeDelta = TimeDelta::hours(1);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DslRequest {
    query: String,
    #[serde(default)]
    from: Option<Value>,
    #[serde(default)]
    to: Option<Value>,
    #[serde(default)]
    params: Option<Map<String, Value>>,
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
    let now = Utc::now();
    let query = query_request(request, now)?;
    let answer = state
        .queries
        .run(&state.telemetry, principal.org_id(), &query, now)
        .await?;
    Ok(Json(answer))
}

/// The engine's request from the body: bounds read at `now`, parameters checked.
fn query_request(request: DslRequest, now: DateTime<Utc>) -> ApiResult<QueryRequest> {
    let bound = |field: &'static str, value: &Option<Value>| {
        value
            .as_ref()
            .map(|v| parse_bound(field, v, now))
            .transpose()
            .map_err(|e| ApiError::invalid_field(field, e.message))
    };
    let (from, to) = (bound("from", &request.from)?, bound("to", &request.to)?);
    let range = match (from, to) {
        (None, None) => None,
        (Some(from), None) => Some((from, now)),
        (None, Some(to)) => Some((to - RANGE_WITHOUT_FROM, to)),
        (Some(from), Some(to)) => Some((from, to)),
    };
    if let Some((from, to)) = range
        && from >= to
    {
        return Err(ApiError::invalid_field(
            "from",
            format!(
                "must be earlier than `to`; the range is {} to {}",
                from.to_rfc3339(),
                to.to_rfc3339()
            ),
        ));
    }
    let mut params = BTreeMap::new();
    for (name, value) in request.params.unwrap_or_default() {
        let value = ParamValue::from_json(&value).map_err(|message| {
            let field = format!("params.{name}");
            ApiError::bad_request("invalid_field", format!("{field}: {message}"))
                .with("field", field)
        })?;
        params.insert(name, value);
    }
    let mut query = QueryRequest::new(request.query).with_params(params);
    query.range = range;
    Ok(query)
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
            QueryError::Busy(limit) => {
                ApiError::new(ErrorClass::Unavailable, "query_busy", message)
                    .with("limit_ms", limit.as_millis() as u64)
                    .with("retry_after_secs", 1)
                    .with("hint", "every query slot was taken; try again shortly")
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn a_timeout_is_422_query_timeout_with_its_limit() {
        let api = ApiError::from(QueryError::Timeout(Duration::from_millis(100)));
        assert_eq!(
            (api.status().as_u16(), api.code.as_ref()),
            (422, "query_timeout")
        );
        assert_eq!(api.extra["limit_ms"], 100);
    }

    fn request(body: Value) -> ApiResult<QueryRequest> {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        query_request(serde_json::from_value(body).unwrap(), now)
    }

    #[test]
    fn bounds_and_parameters_from_the_body() {
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 22, h, 0, 0).unwrap();
        let range = |body| request(body).unwrap().range;
        assert_eq!(range(json!({"query": "q"})), None);
        assert_eq!(
            range(json!({"query": "q", "from": "now-6h", "to": "now"})),
            Some((at(6), at(12)))
        );
        assert_eq!(
            range(json!({"query": "q", "from": "2026-11-22T06:00:00Z"})),
            Some((at(6), at(12)))
        );
        assert_eq!(
            range(json!({"query": "q", "to": at(10).timestamp_millis()})),
            Some((at(9), at(10)))
        );
        let params = request(json!({"query": "q", "params": {"s": ["a", "b"], "n": 1}}))
            .unwrap()
            .params;
        assert_eq!(params["n"], ParamValue::Integer(1));
        assert_eq!(
            params["s"],
            ParamValue::List(vec![
                ParamValue::String("a".into()),
                ParamValue::String("b".into())
            ])
        );
    }

    #[test]
    fn bad_bounds_and_parameters_name_their_field() {
        for (body, field) in [
            (json!({"query": "q", "from": "yesterday"}), "from"),
            (json!({"query": "q", "to": true}), "to"),
            (json!({"query": "q", "from": "now", "to": "now-1h"}), "from"),
            (json!({"query": "q", "from": "now+1h"}), "from"),
            (
                json!({"query": "q", "params": {"svc": {"a": 1}}}),
                "params.svc",
            ),
            (
                json!({"query": "q", "params": {"svc": [[1]]}}),
                "params.svc",
            ),
        ] {
            let error = request(body.clone()).expect_err("refused");
            assert_eq!(
                (
                    error.status().as_u16(),
                    error.code.as_ref(),
                    error.extra["field"].as_str()
                ),
                (400, "invalid_field", Some(field)),
                "{body}"
            );
            assert!(error.message.starts_with(field), "{}", error.message);
        }
    }
}
