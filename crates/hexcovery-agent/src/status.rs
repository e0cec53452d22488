//! The agent's health: counters the sender and producer update, a JSON rendering for
//! `--status-addr` (any GET answers it), and the periodic health log line.

use crate::queue::Queue;
use crate::tail::FileStatus;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Default)]
struct LastSend {
    ok_at: Option<SystemTime>,
    failed_at: Option<SystemTime>,
    error: Option<String>,
}

pub struct Health {
    queue: Arc<Queue>,
    last: Mutex<LastSend>,
    sent: AtomicU64,
    failures: AtomicU64,
    rejected_batches: AtomicU64,
    partial_rejected: AtomicU64,
    pub queue_full: AtomicBool,
    pub metrics_held: AtomicUsize,
    pub lines_read: AtomicU64,
    pub deferred_files: AtomicUsize,
    files: Mutex<Vec<FileStatus>>,
}

fn rfc3339(t: Option<SystemTime>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(humantime::format_rfc3339_millis(t).to_string())
    })
}

impl Health {
    pub fn new(queue: Arc<Queue>) -> Self {
        Self {
            queue,
            last: Mutex::default(),
            sent: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            rejected_batches: AtomicU64::new(0),
            partial_rejected: AtomicU64::new(0),
            queue_full: AtomicBool::new(false),
            metrics_held: AtomicUsize::new(0),
            lines_read: AtomicU64::new(0),
            deferred_files: AtomicUsize::new(0),
            files: Mutex::default(),
        }
    }

    pub fn sent(&self, partial_rejected: i64) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.partial_rejected
            .fetch_add(partial_rejected.max(0) as u64, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.ok_at = Some(SystemTime::now());
        last.error = None;
    }

    pub fn failed(&self, error: &str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.failed_at = Some(SystemTime::now());
        last.error = Some(error.to_string());
    }

    pub fn rejected(&self) {
        self.rejected_batches.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_files(&self, files: Vec<FileStatus>) {
        *self.files.lock().unwrap_or_else(|e| e.into_inner()) = files;
    }

    pub fn json(&self) -> Value {
        let stats = self.queue.stats();
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        json!({
            "queue": {
                "depth": stats.records,
                "bytes": stats.bytes,
                "max_bytes": stats.max_bytes,
                "full": self.queue_full.load(Ordering::Relaxed),
                "next_seq": stats.next_seq,
                "synced_seq": stats.synced_seq,
                "acked_seq": stats.acked_seq,
                "rejected": stats.rejected,
            },
            "files_tailed": files.len(),
            "unread_bytes": files.iter().map(|f| f.size.saturating_sub(f.offset)).sum::<u64>(),
            "deferred_files": self.deferred_files.load(Ordering::Relaxed),
            "files": *files,
            "lines_read": self.lines_read.load(Ordering::Relaxed),
            "metrics_held": self.metrics_held.load(Ordering::Relaxed),
            "last_send": {
                "ok_at": rfc3339(last.ok_at),
                "failed_at": rfc3339(last.failed_at),
                "error": last.error,
                "batches_sent": self.sent.load(Ordering::Relaxed),
                "failures": self.failures.load(Ordering::Relaxed),
                "batches_rejected": self.rejected_batches.load(Ordering::Relaxed),
                "records_rejected_by_partial_success": self.partial_rejected.load(Ordering::Relaxed),
            },
        })
    }

    /// The health log line, every minute.
    pub fn log(&self) {
        let stats = self.queue.stats();
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner()).len();
        tracing::info!(
            queue_depth = stats.records,
            queue_bytes = stats.bytes,
            queue_full = self.queue_full.load(Ordering::Relaxed),
            files_tailed = files,
            batches_sent = self.sent.load(Ordering::Relaxed),
            last_error = last.error.as_deref().unwrap_or(""),
            "agent health"
        );
    }
}

/// Answers every connection with the health JSON (a minimal HTTP/1.1 responder: the page
/// has one document and needs no router).
pub async fn serve(listener: TcpListener, health: Arc<Health>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let health = health.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut buf))
                .await;
            let body = health.json().to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
