//! Usage metering: records and uncompressed OTLP bytes per org, signal and UTC day, counted
//! in memory on the ingest path and added to the metastore in batches (every few seconds,
//! before usage is read, and at shutdown).

use hexcovery_meta::{MetaResult, Metastore, UsageIncrement};
use hexcovery_store::Signal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

type Key = (Uuid, String, Signal);

#[derive(Clone, Default)]
pub struct UsageMeter {
    pending: Arc<Mutex<HashMap<Key, (u64, u64)>>>,
}

impl UsageMeter {
    pub fn record(&self, org: Uuid, signal: Signal, records: u64, bytes: u64) {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let mut pending = self.pending.lock().expect("usage lock");
        let entry = pending.entry((org, day, signal)).or_default();
        entry.0 += records;
        entry.1 += bytes;
    }

    /// Adds what was counted since the last flush to the metastore; on failure the counts are
    /// kept for the next attempt.
    pub async fn flush(&self, meta: &dyn Metastore) -> MetaResult<()> {
        let taken: HashMap<Key, (u64, u64)> =
            std::mem::take(&mut *self.pending.lock().expect("usage lock"));
        if taken.is_empty() {
            return Ok(());
        }
        let increments: Vec<UsageIncrement> = taken
            .iter()
            .map(|((org, day, signal), (records, bytes))| UsageIncrement {
                org_id: *org,
                day: day.clone(),
                signal: signal.as_str(),
                records: *records,
                bytes: *bytes,
            })
            .collect();
        if let Err(error) = meta.add_usage(&increments).await {
            let mut pending = self.pending.lock().expect("usage lock");
            for (key, (records, bytes)) in taken {
                let entry = pending.entry(key).or_default();
                entry.0 += records;
                entry.1 += bytes;
            }
            return Err(error);
        }
        Ok(())
    }
}
