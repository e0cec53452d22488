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

/// The server can do its work: the metastore answers, every write-ahead log takes writes,
/// and every org's telemetry loaded (an org whose WAL or manifest is damaged is offline
/// alone and named here, while the others serve).
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let offline = state.telemetry.offline_orgs();
    if !offline.is_empty() {
        let orgs: Vec<Value> = offline
            .iter()
            .map(|(org, reason)| json!({ "org_id": org, "reason": reason }))
            .collect();
        return Err(ApiError::new(
            ErrorClass::Unavailable,
            "orgs_offline",
            format!(
                "{} org(s) could not load their telemetry and are offline; the others serve",
                offline.len()
            ),
        )
        .with("offline_orgs", orgs));
    }
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
