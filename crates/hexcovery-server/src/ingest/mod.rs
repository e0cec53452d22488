//! OTLP ingest over gRPC (`grpc`) and HTTP (`http`): both authenticate with the API key
//! before reading the body, hold the request's bytes against the server-wide in-flight
//! [`Budget`], hand the decoded request to the telemetry store, and meter usage, through
//! [`export`].

#[cfg(test)]
mod calibration;
pub mod grpc;
pub mod http;

use crate::error::{ApiError, ErrorClass};
use crate::state::AppState;
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use hexcovery_store::{ExportRequest, IngestError, IngestReport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Seconds a client shed for the in-flight budget is told to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// Memory a decoded request holds per byte of its uncompressed encoding, on top of the bytes
/// themselves. Measured (`calibration.rs`, peak heap of the decode per protobuf byte): logs
/// with 40 B bodies and 12 attributes 3.6, with 4 KiB bodies 1.1, with 200 B bodies 2.0;
/// spans with 10 attributes and an event 4.2; gauges/sums with 3 attributes per point 5.3;
/// histograms 2.7; empty logs with 30 int attributes 3.3. Six covers them all. OTLP/JSON
/// keeps about 1.2× its bytes once decoded, but its decode (through a `serde_json::Value`
/// tree, in hexcovery-store) peaks at 8.5–21× for a moment: it is charged
/// [`DECODED_PER_JSON_BYTE`].
const DECODED_PER_BYTE: usize = 6;

/// The same for OTLP/JSON: the highest peak measured (empty logs with 30 int attributes,
/// 20.9×). A large JSON request is charged at most its org's share, so it still runs alone.
const DECODED_PER_JSON_BYTE: usize = 21;

/// The share of the budget one org may hold at once: a quarter, but at least what one
/// request of the largest size is charged, so a lone big request still runs.
const ORG_SHARE_DIVISOR: usize = 4;

/// What one request of `max_request_bytes` (uncompressed) may be charged in all: a gzip body
/// of up to that size, its inflated form, and the decoded estimate.
pub fn max_request_charge(max_request_bytes: usize) -> usize {
    max_request_bytes.saturating_mul(2 + DECODED_PER_BYTE)
}

/// The server-wide bound on memory held by OTLP requests in flight (gRPC and HTTP share
/// one), with a cap per org. A semaphore of KiB: a request takes permits for its bytes as
/// they are declared or arrive, never waits for them (over the budget, or over its org's
/// share of it, it is answered 503 / Unavailable with `Retry-After`), and gives them back
/// when it is dropped. The org's share leaves room for other orgs whatever one org sends.
#[derive(Clone)]
pub struct Budget {
    permits: Arc<Semaphore>,
    total_kib: usize,
    /// KiB each org with a request in flight holds.
    held_by_org: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Budget {
    pub fn new(bytes: usize) -> Self {
        let total_kib = bytes.div_ceil(1024).clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(total_kib)),
            total_kib,
            held_by_org: Arc::default(),
        }
    }

    /// The KiB one org may hold at once when requests are at most `max_request_bytes`
    /// (uncompressed): a quarter of the budget, at least one such request's charge, at most
    /// the whole budget.
    fn org_share_kib(&self, max_request_bytes: usize) -> usize {
        let one_request = max_request_charge(max_request_bytes).div_ceil(1024);
        (self.total_kib / ORG_SHARE_DIVISOR)
            .max(one_request)
            .min(self.total_kib)
    }

    /// A charge of nothing yet, for one request of `org`, whose requests are at most
    /// `max_request_bytes` (uncompressed).
    pub fn charge(&self, org: Uuid, max_request_bytes: usize) -> Charge {
        Charge {
            budget: self.clone(),
            org,
            share_kib: self.org_share_kib(max_request_bytes),
            held: None,
            held_kib: 0,
        }
    }

    /// KiB not held by any request (tests).
    #[cfg(test)]
    fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }

    /// KiB `org` holds (tests).
    #[cfg(test)]
    fn held_by(&self, org: Uuid) -> usize {
        self.lock_orgs().get(&org).copied().unwrap_or(0)
    }

    fn lock_orgs(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, usize>> {
        // Counts change in single statements: a panic elsewhere leaves them whole.
        self.held_by_org.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What one request holds of the [`Budget`]; released when dropped.
pub struct Charge {
    budget: Budget,
    org: Uuid,
    share_kib: usize,
    held: Option<OwnedSemaphorePermit>,
    held_kib: usize,
}

impl Charge {
    /// Holds `bytes` in all (never less than already held). A request larger than its org's
    /// share is charged the share, so it runs when the org has nothing else in flight rather
    /// than never. Over the org's share: 503 for this org only; over the budget: 503.
    pub fn grow_to(&mut self, bytes: usize) -> Result<(), ApiError> {
        let want = bytes.div_ceil(1024).min(self.share_kib);
        if want <= self.held_kib {
            return Ok(());
        }
        let more = want - self.held_kib;
        let mut orgs = self.budget.lock_orgs();
        let org_held = orgs.get(&self.org).copied().unwrap_or(0);
        if org_held + more > self.share_kib {
            return Err(org_share_spent(self.share_kib));
        }
        let permit = u32::try_from(more)
            .ok()
            .and_then(|more| {
                Arc::clone(&self.budget.permits)
                    .try_acquire_many_owned(more)
                    .ok()
            })
            .ok_or_else(overloaded)?;
        *orgs.entry(self.org).or_insert(0) += more;
        drop(orgs);
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.held_kib = want;
        Ok(())
    }

    /// Adds the estimate of a decoded request's memory for `uncompressed` bytes of it.
    pub fn grow_by_decoded(&mut self, uncompressed: usize) -> Result<(), ApiError> {
        self.grow_by(uncompressed.saturating_mul(DECODED_PER_BYTE))
    }

    /// [`Self::grow_by_decoded`] for an OTLP/JSON body, whose decode peaks higher.
    pub fn grow_by_decoded_json(&mut self, uncompressed: usize) -> Result<(), ApiError> {
        self.grow_by(uncompressed.saturating_mul(DECODED_PER_JSON_BYTE))
    }

    fn grow_by(&mut self, bytes: usize) -> Result<(), ApiError> {
        let held = self.held_kib.saturating_mul(1024);
        self.grow_to(held.saturating_add(bytes))
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if self.held_kib == 0 {
            return;
        }
        let mut orgs = self.budget.lock_orgs();
        if let Some(held) = orgs.get_mut(&self.org) {
            *held = held.saturating_sub(self.held_kib);
            if *held == 0 {
                orgs.remove(&self.org);
            }
        }
        // The permits go back to the budget as `held` drops, after this.
    }
}

/// 503 / Unavailable for one org: its requests in flight hold its share of the budget.
fn org_share_spent(share_kib: usize) -> ApiError {
    let mut error = ApiError::new(
        ErrorClass::Unavailable,
        "ingest_org_share_spent",
        format!(
            "this organization's requests in flight hold its share of the ingest budget ({} MiB); retry later, or send fewer requests at once",
            share_kib.div_ceil(1024)
        ),
    );
    error.retry_after_secs = Some(RETRY_AFTER_SECS);
    error
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

/// The header (gRPC metadata key) naming a request's batch, for exactly-once delivery.
pub const BATCH_ID_HEADER: &str = "x-hexcovery-batch-id";

/// Longest batch id accepted.
const MAX_BATCH_ID_BYTES: usize = 128;

/// The request's batch id, if it sent one: 1–128 visible ASCII characters (`!` to `~`).
/// Anything else is refused before the body is read, so nothing is stored.
pub fn batch_id(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(BATCH_ID_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |what: &str| {
        ApiError::bad_request(
            "invalid_batch_id",
            format!(
                "{BATCH_ID_HEADER} {what}; it must be 1 to {MAX_BATCH_ID_BYTES} visible ASCII characters (no spaces), the same for every retry of a batch"
            ),
        )
    };
    if values.next().is_some() {
        return Err(invalid("is given more than once"));
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return Err(invalid("is empty"));
    }
    if bytes.len() > MAX_BATCH_ID_BYTES {
        return Err(invalid(&format!("is {} bytes long", bytes.len())));
    }
    if let Some(at) = bytes.iter().position(|b| !(0x21..=0x7e).contains(b)) {
        return Err(invalid(&format!(
            "has a character not allowed at byte {at}"
        )));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Stores one export request for `org` and counts it: `payload_bytes` is its uncompressed
/// size as received. A request whose `batch_id` the org stored before is acknowledged
/// without being stored or counted again.
pub async fn export(
    state: &AppState,
    org: Uuid,
    request: &ExportRequest,
    wire_bytes: Option<Bytes>,
    payload_bytes: usize,
    batch_id: Option<&str>,
) -> Result<IngestReport, ApiError> {
    let report = state
        .telemetry
        .ingest_batch(org, request, wire_bytes, batch_id)
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
    if report.accepted > 0 && !report.duplicate {
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
    fn batch_ids_are_visible_ascii_up_to_128_bytes() {
        let with = |values: &[&[u8]]| {
            let mut headers = axum::http::HeaderMap::new();
            for v in values {
                headers.append(
                    BATCH_ID_HEADER,
                    axum::http::HeaderValue::from_bytes(v).unwrap(),
                );
            }
            batch_id(&headers)
        };
        assert_eq!(with(&[]).unwrap(), None);
        assert_eq!(
            with(&[b"web-1:0000042"]).unwrap().as_deref(),
            Some("web-1:0000042")
        );
        assert!(with(&[&[b'a'; 128]]).unwrap().is_some());
        for bad in [&b""[..], &[b'a'; 129], b"a b", b"tab\there", "é".as_bytes()] {
            let error = with(&[bad]).unwrap_err();
            assert_eq!(error.code, "invalid_batch_id", "{bad:?}");
        }
        assert!(with(&[b"a", b"b"]).is_err(), "two ids");
    }

    /// Requests of at most 1 KiB: one is charged a few KiB at most, under any share here.
    const SMALL: usize = 1 << 10;

    #[test]
    fn charges_hold_the_budget_until_dropped() {
        let budget = Budget::new(10 << 10);
        let org = Uuid::now_v7();
        // One org alone: its share is the whole budget when a request may be that large.
        let mut first = budget.charge(org, 10 << 10);
        first.grow_to(6 << 10).unwrap();
        first.grow_to(4 << 10).unwrap();
        assert_eq!(budget.available_kib(), 4);
        let mut second = budget.charge(Uuid::now_v7(), 10 << 10);
        let refused = second.grow_to(5 << 10).unwrap_err();
        assert_eq!(refused.retry_after_secs, Some(RETRY_AFTER_SECS));
        assert_eq!(refused.code, "ingest_overloaded");
        assert_eq!(budget.available_kib(), 4, "a refused charge holds nothing");
        second.grow_to(4 << 10).unwrap();
        assert_eq!(budget.available_kib(), 0);
        drop(first);
        assert_eq!(budget.available_kib(), 6);
        assert_eq!(budget.held_by(org), 0, "the org's count is given back");
        drop(second);
        assert_eq!(budget.available_kib(), 10);
    }

    #[test]
    fn a_request_larger_than_the_budget_runs_alone() {
        let budget = Budget::new(4 << 10);
        let org = Uuid::now_v7();
        let mut big = budget.charge(org, 100 << 20);
        big.grow_to(100 << 20).unwrap();
        assert_eq!(budget.available_kib(), 0);
        assert!(budget.charge(org, 100 << 20).grow_to(1).is_err());
        drop(big);
        budget
            .charge(org, 100 << 20)
            .grow_by_decoded(1 << 10)
            .unwrap();
        assert_eq!(budget.available_kib(), 4, "the charge above was dropped");
    }

    #[test]
    fn one_org_holds_at_most_its_share_and_others_find_room() {
        let budget = Budget::new(100 << 10);
        let (greedy, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(budget.org_share_kib(SMALL), 25, "a quarter");
        let mut held = Vec::new();
        for _ in 0..5 {
            let mut charge = budget.charge(greedy, SMALL);
            charge.grow_to(5 << 10).unwrap();
            held.push(charge);
        }
        assert_eq!(budget.held_by(greedy), 25);
        let refused = budget.charge(greedy, SMALL).grow_to(1).unwrap_err();
        assert_eq!(refused.code, "ingest_org_share_spent");
        assert_eq!(refused.retry_after_secs, Some(RETRY_AFTER_SECS));
        assert_eq!(budget.held_by(greedy), 25, "a refused charge holds nothing");
        // Growing a held charge past the share is refused too, and keeps what it held.
        let refused = held[0].grow_to(6 << 10).unwrap_err();
        assert_eq!(refused.code, "ingest_org_share_spent");
        assert_eq!(budget.available_kib(), 75);
        // Another org is admitted up to its own share.
        let mut theirs = budget.charge(other, SMALL);
        theirs.grow_to(25 << 10).unwrap();
        assert_eq!(budget.held_by(other), 25);
        held.pop();
        budget.charge(greedy, SMALL).grow_to(5 << 10).unwrap();
        drop(held);
        drop(theirs);
        assert_eq!(budget.available_kib(), 100);
        assert_eq!((budget.held_by(greedy), budget.held_by(other)), (0, 0));
    }

    #[test]
    fn an_org_share_covers_at_least_one_largest_request() {
        let budget = Budget::new(400 << 20);
        // 16 MiB requests: a quarter (100 MiB) would not hold one, so the share is one.
        let share = budget.org_share_kib(16 << 20);
        assert_eq!(share, max_request_charge(16 << 20) >> 10);
        let org = Uuid::now_v7();
        let mut lone = budget.charge(org, 16 << 20);
        lone.grow_to(16 << 20).unwrap();
        lone.grow_by_decoded(16 << 20).unwrap();
        assert!(budget.held_by(org) <= share);
        // Never more than the whole budget.
        assert_eq!(Budget::new(4 << 20).org_share_kib(16 << 20), 4 << 10);
    }
}
