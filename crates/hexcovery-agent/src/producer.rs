//! The producer thread: every poll it applies the identity rules, reads lines and appends
//! them to the queue with the files' new positions (then, and only then, the positions move);
//! every metrics interval it appends a sample. A full queue stops reading: the lines wait in
//! their files, and metric samples wait in memory (a bounded number of them).

use crate::config::Config;
use crate::metrics::Collector;
use crate::otlp::{HostIdentity, logs_request};
use crate::queue::record::Kind;
use crate::queue::{AppendError, Queue};
use crate::status::Health;
use crate::tail::{Staged, Tailer};
use prost::Message;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// An inotify wake-up polls at once, but never sooner than this after the previous poll.
const MIN_POLL_GAP: Duration = Duration::from_millis(50);
/// Lines in one record at most.
const MAX_LINES: usize = 10_000;
/// Records appended per poll at most, so metrics and control messages are not starved.
const MAX_RECORDS_PER_POLL: usize = 64;
/// Metric samples kept in memory while the queue is full (an hour at 10 s).
const MAX_HELD_METRICS: usize = 360;

pub enum Control {
    Wake,
    Reload(Box<Config>),
    Stop,
}

pub struct Producer {
    queue: Arc<Queue>,
    tailer: Tailer,
    collector: Collector,
    host: HostIdentity,
    config: Config,
    health: Arc<Health>,
    held_metrics: VecDeque<Vec<u8>>,
    /// Lines waiting for room are read again in smaller batches until the queue drains.
    shrink: u32,
}

impl Producer {
    pub fn new(
        queue: Arc<Queue>,
        config: Config,
        restored: Option<Vec<crate::queue::record::Position>>,
        health: Arc<Health>,
    ) -> Self {
        Self {
            tailer: Tailer::new(config.logs.clone(), config.tail.clone(), restored),
            collector: Collector::new(),
            host: HostIdentity::new(config.host.name.clone()),
            queue,
            config,
            health,
            held_metrics: VecDeque::new(),
            shrink: 0,
        }
    }

    pub fn run(mut self, control: Receiver<Control>) {
        let mut next_poll = Instant::now();
        let mut last_poll = Instant::now() - MIN_POLL_GAP;
        let mut next_metrics = Instant::now() + self.config.metrics.interval;
        loop {
            let now = Instant::now();
            let mut deadline = next_poll;
            if self.config.metrics.enabled {
                deadline = deadline.min(next_metrics);
            }
            match control.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(Control::Wake) => next_poll = next_poll.min(last_poll + MIN_POLL_GAP),
                Ok(Control::Reload(config)) => {
                    self.tailer
                        .reconfigure(config.logs.clone(), config.tail.clone());
                    self.host = HostIdentity::new(config.host.name.clone());
                    if config.metrics.interval != self.config.metrics.interval {
                        next_metrics = Instant::now() + config.metrics.interval;
                    }
                    self.config = *config;
                    next_poll = Instant::now();
                }
                Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            if now >= next_poll {
                self.poll(now);
                last_poll = now;
                next_poll = Instant::now() + self.config.tail.poll_interval;
            }
            if self.config.metrics.enabled && Instant::now() >= next_metrics {
                self.sample();
                next_metrics += self.config.metrics.interval;
                if next_metrics < Instant::now() {
                    next_metrics = Instant::now() + self.config.metrics.interval;
                }
            }
        }
    }

    fn set_full(&self, full: bool) {
        let was = self.health.queue_full.swap(full, Ordering::Relaxed);
        if full && !was {
            tracing::warn!(
                max_size = self.queue.options().max_size,
                "the queue is full: reading stops until the server acknowledges (nothing is dropped)"
            );
        } else if was && !full {
            tracing::info!("the queue has room again: reading resumes");
        }
    }

    fn poll(&mut self, now: Instant) {
        self.tailer.scan(now);
        for _ in 0..MAX_RECORDS_PER_POLL {
            // Encoded records run to a few times the line bytes (attributes per line).
            let room = self.queue.room() as usize;
            let budget = (self.queue.max_record() as usize >> self.shrink).min(room / 6);
            if budget < 1024 {
                self.set_full(true);
                break;
            }
            let mut staged = self.tailer.read(now, budget, MAX_LINES);
            if staged.is_empty() {
                self.shrink = 0;
                break;
            }
            let positions = self.tailer.positions(&staged);
            let lines = std::mem::take(&mut staged.lines);
            let count = lines.len();
            let (kind, payload) = if lines.is_empty() {
                (Kind::Positions, Vec::new())
            } else {
                (Kind::Logs, logs_request(&self.host, lines).encode_to_vec())
            };
            match self.queue.append(kind, payload, positions) {
                Ok(_) => {
                    self.tailer.commit(staged);
                    self.tailer.changed = false;
                    self.health
                        .lines_read
                        .fetch_add(count as u64, Ordering::Relaxed);
                    self.set_full(false);
                }
                Err(AppendError::Full) => {
                    // Nothing committed: the same lines are read again once there is room.
                    self.shrink = (self.shrink + 1).min(6);
                    self.set_full(true);
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "appending to the queue failed; the lines stay in their files");
                    break;
                }
            }
        }
        self.tailer.close_drained(now);
        if self.tailer.changed {
            let positions = self.tailer.positions(&Staged::default());
            match self.queue.append(Kind::Positions, Vec::new(), positions) {
                Ok(_) => self.tailer.changed = false,
                Err(e) => tracing::warn!(error = %e, "recording file positions failed; retrying"),
            }
        }
        self.health.set_files(self.tailer.status());
        self.health
            .deferred_files
            .store(self.tailer.deferred(), Ordering::Relaxed);
    }

    fn sample(&mut self) {
        let request = self
            .collector
            .collect(&self.host, self.config.metrics.semconv);
        self.held_metrics.push_back(request.encode_to_vec());
        if self.held_metrics.len() > MAX_HELD_METRICS {
            self.held_metrics.pop_front();
            tracing::warn!(
                "the queue has been full for {MAX_HELD_METRICS} metric intervals: the oldest sample is dropped"
            );
        }
        while let Some(payload) = self.held_metrics.pop_front() {
            let positions = self.tailer.positions(&Staged::default());
            match self.queue.append(Kind::Metrics, payload.clone(), positions) {
                Ok(_) => self.tailer.changed = false,
                Err(e) => {
                    if !matches!(e, AppendError::Full) {
                        tracing::error!(error = %e, "appending metrics to the queue failed");
                    }
                    self.held_metrics.push_front(payload);
                    break;
                }
            }
        }
        self.health
            .metrics_held
            .store(self.held_metrics.len(), Ordering::Relaxed);
    }
}
