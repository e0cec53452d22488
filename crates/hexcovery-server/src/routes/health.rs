//! Liveness and readiness probes.

use crate::error::{ApiError, ErrorClass};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// The process is up and serving HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The server can do its work: the metastore answers and every write-ahead log takes writes.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if !state.telemetry.healthy() {
        return Err(ApiError::new(
            ErrorClass::Unavailable,
            "not_ready",
            "a write-ahead log failed to sync; telemetry cannot be accepted until restart",
        ));
    }
    match state.meta.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(error = ?error, "readiness check failed: metastore unreachable");
            Err(ApiError::new(
                ErrorClass::Unavailable,
                "not_ready",
                "the metadata store is not answering",
            ))
        }
    }
}
