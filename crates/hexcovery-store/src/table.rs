//! One org's table of one signal: rows buffered in memory (newest), rows being written to
//! Parquet, and the committed manifest — swapped under one lock so a query's snapshot sees
//! every row exactly once.

use crate::Signal;
use crate::manifest::Manifest;
use crate::manifest_log::LogState;
use arrow::record_batch::RecordBatch;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use uuid::Uuid;

#[derive(Default)]
struct Rows {
    batches: Vec<RecordBatch>,
    bytes: usize,
    max_seq: u64,
    /// Metric names in `batches` (metrics tables only).
    metric_names: BTreeSet<String>,
}

struct TableState {
    buffer: Rows,
    /// Oldest buffered row's arrival (for age-based flushing).
    buffer_since: Option<Instant>,
    /// Rows handed to a flush that has not committed yet; still visible to queries.
    flushing: Rows,
    manifest: Arc<Manifest>,
}

pub struct Table {
    pub org: Uuid,
    pub signal: Signal,
    state: RwLock<TableState>,
    /// One manifest writer at a time (flush, compaction, retention). It guards the
    /// manifest log's bookkeeping too.
    pub commit_lock: tokio::sync::Mutex<LogState>,
}

/// What a query reads: committed files and in-memory rows, from one instant.
pub struct Snapshot {
    pub manifest: Arc<Manifest>,
    pub memory: Vec<RecordBatch>,
}

/// Rows taken for a flush.
pub struct FlushWork {
    pub batches: Vec<RecordBatch>,
    pub max_seq: u64,
    pub bytes: usize,
}

impl Table {
    pub fn new(org: Uuid, signal: Signal, manifest: Manifest, log: LogState) -> Self {
        Self {
            org,
            signal,
            state: RwLock::new(TableState {
                buffer: Rows::default(),
                buffer_since: None,
                flushing: Rows::default(),
                manifest: Arc::new(manifest),
            }),
            commit_lock: tokio::sync::Mutex::new(log),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TableState> {
        self.state.read().expect("table lock poisoned")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, TableState> {
        self.state.write().expect("table lock poisoned")
    }

    /// Adds rows written to the log as record `seq`; returns their in-memory size.
    pub fn push(&self, batch: RecordBatch, seq: u64) -> usize {
        let bytes = batch.get_array_memory_size();
        let names = crate::parquet_io::metric_names(&batch);
        let mut state = self.write();
        state.buffer.metric_names.extend(names);
        state.buffer.batches.push(batch);
        state.buffer.bytes += bytes;
        state.buffer.max_seq = state.buffer.max_seq.max(seq);
        state.buffer_since.get_or_insert_with(Instant::now);
        bytes
    }

    pub fn snapshot(&self) -> Snapshot {
        let state = self.read();
        let mut memory = state.flushing.batches.clone();
        memory.extend(state.buffer.batches.iter().cloned());
        Snapshot {
            manifest: state.manifest.clone(),
            memory,
        }
    }

    /// Metric names in committed files and in memory, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let state = self.read();
        let mut names: BTreeSet<&str> = state
            .manifest
            .files
            .iter()
            .flat_map(|f| f.metric_names.iter().map(String::as_str))
            .collect();
        names.extend(state.buffer.metric_names.iter().map(String::as_str));
        names.extend(state.flushing.metric_names.iter().map(String::as_str));
        names.into_iter().map(str::to_string).collect()
    }

    pub fn manifest(&self) -> Arc<Manifest> {
        self.read().manifest.clone()
    }

    pub fn buffered_bytes(&self) -> usize {
        self.read().buffer.bytes
    }

    /// Bytes of rows in memory: buffered, or handed to a flush that has not committed.
    pub fn held_bytes(&self) -> usize {
        let state = self.read();
        state.buffer.bytes + state.flushing.bytes
    }

    pub fn buffer_age(&self) -> Option<std::time::Duration> {
        self.read().buffer_since.map(|t| t.elapsed())
    }

    /// Rows whose flush failed and must be retried.
    pub fn has_pending_flush(&self) -> bool {
        !self.read().flushing.batches.is_empty()
    }

    pub fn is_idle(&self) -> bool {
        let state = self.read();
        state.buffer.batches.is_empty() && state.flushing.batches.is_empty()
    }

    /// Moves the buffer into "flushing" (unless an earlier, failed flush left rows there) and
    /// returns what must be written. Call with `commit_lock` held.
    pub fn begin_flush(&self) -> Option<FlushWork> {
        let mut state = self.write();
        if state.flushing.batches.is_empty() {
            state.flushing = std::mem::take(&mut state.buffer);
            state.buffer_since = None;
        }
        let flushing = &state.flushing;
        (!flushing.batches.is_empty()).then(|| FlushWork {
            batches: flushing.batches.clone(),
            max_seq: flushing.max_seq,
            bytes: flushing.bytes,
        })
    }

    /// Installs a committed manifest; if it completes a flush, drops the flushed rows from
    /// memory. Call with `commit_lock` held.
    pub fn commit(&self, manifest: Manifest, flushed: bool) {
        let mut state = self.write();
        state.manifest = Arc::new(manifest);
        if flushed {
            state.flushing = Rows::default();
        }
    }
}
