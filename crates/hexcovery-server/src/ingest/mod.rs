//! OTLP ingest over gRPC (`grpc`) and HTTP (`http`): both authenticate with the API key
//! before reading the body, hold the request's bytes against the server-wide in-flight
//! [`Budget`], hand the decoded request to the telemetry store, and meter usage, through
//! [`export`].

pub mod grpc;
pub mod http;

use crate::error::{ApiError, ErrorClass};
use crate::state::AppState;
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use hexcovery_store::{ExportRequest, IngestError, IngestReport};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Seconds a client shed for the in-flight budget is told to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// Memory a decoded request holds per byte of its uncompressed encoding, on top of the bytes
/// themselves: the decoded structs and the Arrow batch built from them. An estimate from the
/// structs' sizes (not measured per request): a log record with eight short attributes
/// decodes to several times its protobuf size, one with a long body to about its size; the budget counts it so that a request's charge
/// covers what it holds.
const DECODED_PER_BYTE: usize = 4;

/// The server-wide bound on memory held by OTLP requests in flight (gRPC and HTTP share
/// one). A semaphore of KiB: a request takes permits for its bytes as they are declared or
/// arrive, never waits for them (over the budget it is answered 503 / Unavailable with
/// `Retry-After`), and gives them back when it is dropped.
#[derive(Clone)]
pub struct Budget {
    permits: Arc<Semaphore>,
    total_kib: usize,
}

impl Budget {
    pub fn new(bytes: usize) -> Self {
        let total_kib = bytes.div_ceil(1024).clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(total_kib)),
            total_kib,
        }
    }

    /// A charge of nothing yet, for one request.
    pub fn charge(&self) -> Charge {
        Charge {
            budget: self.clone(),
            held: None,
            held_kib: 0,
        }
    }

    /// KiB not held by any request (tests).
    #[cfg(test)]
    fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }
}

/// What one request holds of the [`Budget`]; released when dropped.
pub struct Charge {
    budget: Budget,
    held: Option<OwnedSemaphorePermit>,
    held_kib: usize,
}

impl Charge {
    /// Holds `bytes` in all (never less than already held). A request larger than the whole
    /// budget is charged the whole budget, so it runs alone rather than never.
    pub fn grow_to(&mut self, bytes: usize) -> Result<(), ApiError> {
        let want = bytes.div_ceil(1024).min(self.budget.total_kib);
        if want <= self.held_kib {
            return Ok(());
        }
        let more = u32::try_from(want - self.held_kib).map_err(|_| overloaded())?;
        let permit = Arc::clone(&self.budget.permits)
            .try_acquire_many_owned(more)
            .map_err(|_| overloaded())?;
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.held_kib = want;
        Ok(())
    }

    /// Adds the estimate of a decoded request's memory for `uncompressed` bytes of it.
    pub fn grow_by_decoded(&mut self, uncompressed: usize) -> Result<(), ApiError> {
        let held = self.held_kib.saturating_mul(1024);
        self.grow_to(held.saturating_add(uncompressed.saturating_mul(DECODED_PER_BYTE)))
    }
}

/// 503 / Unavailable: the in-flight budget is spent.
pub fn overloaded() -> ApiError {
    let mut error = ApiError::new(
        ErrorClass::Unavailable,
        "ingest_overloaded",
        "the server is holding as many ingest requests as it may; retry later",
    );
    error.retry_after_secs = Some(RETRY_AFTER_SECS);
    error
}

/// Reads `body` frame by frame, charging each frame before keeping it; more than `limit`
/// bytes is `too_large`.
pub async fn read_body(
    body: axum::body::Body,
    charge: &mut Charge,
    limit: usize,
    too_large: impl Fn() -> ApiError,
) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "unreadable_body",
                format!("the request body could not be read: {e}"),
            )
        })?;
        let total = buffer.len() + chunk.len();
        if total > limit {
            return Err(too_large());
        }
        charge.grow_to(total)?;
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// The gRPC form of `error`, with `retry-after` metadata when it says when to retry.
pub fn status(error: ApiError) -> tonic::Status {
    let retry_after = error.retry_after_secs;
    let mut status = tonic::Status::from(error);
    if let Some(secs) = retry_after {
        status
            .metadata_mut()
            .insert("retry-after", tonic::metadata::MetadataValue::from(secs));
    }
    status
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_hold_the_budget_until_dropped() {
        let budget = Budget::new(10 << 10);
        let mut first = budget.charge();
        first.grow_to(6 << 10).unwrap();
        first.grow_to(4 << 10).unwrap();
        assert_eq!(budget.available_kib(), 4);
        let mut second = budget.charge();
        let refused = second.grow_to(5 << 10).unwrap_err();
        assert_eq!(refused.retry_after_secs, Some(RETRY_AFTER_SECS));
        assert_eq!(budget.available_kib(), 4, "a refused charge holds nothing");
        second.grow_to(4 << 10).unwrap();
        assert_eq!(budget.available_kib(), 0);
        drop(first);
        assert_eq!(budget.available_kib(), 6);
        drop(second);
        assert_eq!(budget.available_kib(), 10);
    }

    #[test]
    fn a_request_larger_than_the_budget_runs_alone() {
        let budget = Budget::new(4 << 10);
        let mut big = budget.charge();
        big.grow_to(100 << 20).unwrap();
        assert_eq!(budget.available_kib(), 0);
        assert!(budget.charge().grow_to(1).is_err());
        drop(big);
        budget.charge().grow_by_decoded(1 << 10).unwrap();
        assert_eq!(budget.available_kib(), 4, "the charge above was dropped");
    }
}
