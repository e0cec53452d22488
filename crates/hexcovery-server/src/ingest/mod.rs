//! OTLP ingest over gRPC (`grpc`) and HTTP (`http`): both authenticate with the API key,
//! hand the decoded request to the telemetry store, and meter usage, through [`export`].

pub mod grpc;
pub mod http;

use crate::error::{ApiError, ErrorClass};
use crate::state::AppState;
use bytes::Bytes;
use hexcovery_store::{ExportRequest, IngestError, IngestReport};
use uuid::Uuid;

/// Stores one export request for `org` and counts it: `payload_bytes` is its uncompressed
/// size as received.
pub async fn export(
    state: &AppState,
    org: Uuid,
    request: &ExportRequest,
    wire_bytes: Option<Bytes>,
    payload_bytes: usize,
) -> Result<IngestReport, ApiError> {
    let report = state
        .telemetry
        .ingest(org, request, wire_bytes)
        .await
        .map_err(|e| match e {
            IngestError::Overloaded { retry_after_secs } => {
                let mut error = ApiError::new(ErrorClass::Unavailable, "overloaded", e.to_string());
                error.retry_after_secs = Some(retry_after_secs);
                error
            }
            IngestError::TooLarge { .. } => {
                ApiError::new(ErrorClass::TooLarge, "request_too_large", e.to_string())
            }
            IngestError::Internal(e) => {
                // Storage trouble may pass (a full disk freed, a flaky volume): tell clients
                // to retry, which OTLP exporters do for Unavailable and not for Internal.
                tracing::error!(%org, error = format!("{e:#}"), "storing telemetry failed");
                let mut error = ApiError::new(
                    ErrorClass::Unavailable,
                    "storage_unavailable",
                    "telemetry storage is failing; retry later",
                );
                error.retry_after_secs = Some(5);
                error
            }
        })?;
    if report.accepted > 0 {
        state
            .usage
            .record(org, report.signal, report.accepted, payload_bytes as u64);
    }
    Ok(report)
}
