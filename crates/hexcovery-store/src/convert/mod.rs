//! OTLP export requests → Arrow record batches, one row per log record, span or metric data
//! point. Conversion is deterministic given the request and its ingest time, so replaying
//! the write-ahead log rebuilds exactly the rows that were acknowledged.
//!
//! Records that break the OTLP data model (e.g. a trace id that is not 16 bytes) are left
//! out and counted, for the OTLP partial-success answer.

mod common;
mod logs;
mod metrics;
mod spans;
mod window;

pub use logs::logs;
pub use metrics::metrics;
pub use spans::spans;
pub use window::{TimeWindow, count_outside, retain_inside};

use arrow::record_batch::RecordBatch;

/// The rows made from one export request.
#[derive(Debug)]
pub struct Converted {
    /// `None` when the request held no acceptable record.
    pub batch: Option<RecordBatch>,
    pub accepted: u64,
    pub rejected: u64,
    /// Why records were rejected (the first reason, with the count).
    pub rejection: Option<String>,
}

/// Collects rejections: how many, and the first reason (enough for a client to act on).
#[derive(Default)]
pub(crate) struct Rejections {
    count: u64,
    first: Option<String>,
}

impl Rejections {
    pub(crate) fn reject(&mut self, reason: impl FnOnce() -> String) {
        if self.first.is_none() {
            self.first = Some(reason());
        }
        self.count += 1;
    }

    pub(crate) fn finish(self, batch: Option<RecordBatch>, accepted: u64, noun: &str) -> Converted {
        Converted {
            batch,
            accepted,
            rejected: self.count,
            rejection: self
                .first
                .map(|first| format!("{} {noun} rejected; first: {first}", self.count)),
        }
    }
}
