//! Sending queue records to the server over OTLP/gRPC: in order, a few in flight, each
//! carrying its record's `x-hexcovery-batch-id` (the same on every retry and after a
//! restart, so the server stores it once), retried with back-off and no time limit.
//!
//! Outcomes: OK acknowledges (partial-success counts are logged); InvalidArgument moves the
//! record to `rejected/`; Unauthenticated / PermissionDenied keep it and retry slowly,
//! loudly; anything else retries after the server's `RetryInfo` / `retry-after`, or after
//! an exponential back-off from 1 s to `backoff_max` (30 s).

use crate::config;
use crate::queue::Queue;
use crate::queue::record::{Kind, Position, Record};
use crate::status::Health;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use prost::Message;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

/// Waiting after an authentication failure: the key must be fixed by a person.
const AUTH_RETRY: Duration = Duration::from_secs(60);

/// A connection to the server as configured now; rebuilt on SIGHUP.
#[derive(Clone)]
pub struct Client {
    logs: LogsServiceClient<Channel>,
    metrics: MetricsServiceClient<Channel>,
    api_key: MetadataValue<tonic::metadata::Ascii>,
    pub in_flight: usize,
    pub backoff_max: Duration,
}

impl Client {
    pub fn new(server: &config::Server) -> anyhow::Result<Self> {
        let channel = Endpoint::from_shared(server.endpoint.clone())?
            .connect_timeout(Duration::from_secs(5))
            .timeout(server.timeout)
            .tcp_nodelay(true)
            .connect_lazy();
        let api_key = MetadataValue::try_from(server.api_key.0.as_str())
            .map_err(|_| anyhow::anyhow!("the API key holds characters a header cannot"))?;
        let mut logs = LogsServiceClient::new(channel.clone()).max_encoding_message_size(64 << 20);
        let mut metrics = MetricsServiceClient::new(channel).max_encoding_message_size(64 << 20);
        if server.gzip {
            logs = logs.send_compressed(CompressionEncoding::Gzip);
            metrics = metrics.send_compressed(CompressionEncoding::Gzip);
        }
        Ok(Self {
            logs,
            metrics,
            api_key,
            in_flight: server.in_flight,
            backoff_max: server.backoff_max,
        })
    }
}

/// What one attempt came to.
enum Outcome {
    Sent {
        rejected: i64,
        message: String,
    },
    Reject(String),
    Retry {
        after: Option<Duration>,
        error: String,
        auth: bool,
    },
}

fn request<T>(client: &Client, record: &Record, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("x-api-key", client.api_key.clone());
    let id = uuid::Uuid::from_bytes(record.batch_id).to_string();
    metadata.insert(
        "x-hexcovery-batch-id",
        MetadataValue::try_from(id.as_str()).expect("a uuid is ASCII"),
    );
    request
}

async fn attempt(client: &Client, record: &Record) -> Outcome {
    let result = match record.kind {
        Kind::Positions => {
            return Outcome::Sent {
                rejected: 0,
                message: String::new(),
            };
        }
        Kind::Logs => match ExportLogsServiceRequest::decode(&record.payload[..]) {
            Ok(msg) => client
                .logs
                .clone()
                .export(request(client, record, msg))
                .await
                .map(|r| {
                    r.into_inner()
                        .partial_success
                        .map(|p| (p.rejected_log_records, p.error_message))
                }),
            Err(e) => return Outcome::Reject(format!("the queued request does not decode: {e}")),
        },
        Kind::Metrics => match ExportMetricsServiceRequest::decode(&record.payload[..]) {
            Ok(msg) => client
                .metrics
                .clone()
                .export(request(client, record, msg))
                .await
                .map(|r| {
                    r.into_inner()
                        .partial_success
                        .map(|p| (p.rejected_data_points, p.error_message))
                }),
            Err(e) => return Outcome::Reject(format!("the queued request does not decode: {e}")),
        },
    };
    match result {
        Ok(partial) => {
            let (rejected, message) = partial.unwrap_or_default();
            Outcome::Sent { rejected, message }
        }
        Err(status) => classify(&status),
    }
}

fn classify(status: &tonic::Status) -> Outcome {
    let error = format!("{:?}: {}", status.code(), status.message());
    match status.code() {
        tonic::Code::InvalidArgument => Outcome::Reject(error),
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => Outcome::Retry {
            after: Some(AUTH_RETRY),
            error,
            auth: true,
        },
        _ => Outcome::Retry {
            after: retry_hint(status),
            error,
            auth: false,
        },
    }
}

/// The server's own word on when to retry: `RetryInfo` in the status details, else a
/// `retry-after` metadata entry in seconds.
fn retry_hint(status: &tonic::Status) -> Option<Duration> {
    if let Ok(rpc) = RpcStatus::decode(status.details()) {
        for any in rpc.details {
            if any.type_url.ends_with("google.rpc.RetryInfo")
                && let Some(d) = RetryInfo::decode(&any.value[..])
                    .ok()
                    .and_then(|r| r.retry_delay)
            {
                let d = Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32);
                return Some(d.min(Duration::from_secs(300)));
            }
        }
    }
    status
        .metadata()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(300)))
}

#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<PbAny>,
}

#[derive(Clone, PartialEq, Message)]
struct PbAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<PbDuration>,
}

#[derive(Clone, PartialEq, Message)]
struct PbDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// 1 s, 2 s, 4 s, … up to `max`, each ±20 % so agents restarted together spread out.
fn backoff(failures: u32, max: Duration) -> Duration {
    let base = Duration::from_secs(1u64 << failures.min(10)).min(max);
    let jitter = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(failures);
        (h.finish() % 400) as f64 / 1000.0 + 0.8
    };
    base.mul_f64(jitter)
}

/// Delivers record `seq` until the server takes it (or refuses it as invalid); returns the
/// record's positions for the acknowledgement.
async fn deliver(
    queue: Arc<Queue>,
    clients: watch::Receiver<Client>,
    health: Arc<Health>,
    seq: u64,
) -> (u64, Option<Vec<Position>>) {
    let read = {
        let queue = queue.clone();
        tokio::task::spawn_blocking(move || queue.read(seq)).await
    };
    let record = match read {
        Ok(Ok(record)) => record,
        Ok(Err(e)) => {
            tracing::error!(seq, error = %e, "a queue record cannot be read back; skipping it");
            return (seq, None);
        }
        Err(e) => {
            tracing::error!(seq, error = %e, "reading a queue record failed; skipping it");
            return (seq, None);
        }
    };
    let mut failures = 0u32;
    loop {
        let client = clients.borrow().clone();
        match attempt(&client, &record).await {
            Outcome::Sent { rejected, message } => {
                if record.kind != Kind::Positions {
                    health.sent(rejected);
                }
                if rejected > 0 {
                    tracing::warn!(
                        seq,
                        rejected,
                        message,
                        "the server kept part of a batch (partial success)"
                    );
                }
                break;
            }
            Outcome::Reject(error) => {
                tracing::error!(
                    seq,
                    error,
                    "the server refused a batch as invalid; moved to rejected/"
                );
                let q = queue.clone();
                let rec = record.clone();
                match tokio::task::spawn_blocking(move || q.reject(&rec)).await {
                    Ok(Ok(())) => {}
                    _ => tracing::error!(seq, "could not copy the refused batch to rejected/"),
                }
                health.rejected();
                break;
            }
            Outcome::Retry { after, error, auth } => {
                let wait = after.unwrap_or_else(|| backoff(failures, client.backoff_max));
                failures += 1;
                health.failed(&error);
                if auth {
                    tracing::error!(seq, error, retry_in = ?wait, "the server refuses the agent's API key; data is kept and retried (fix the key and send SIGHUP)");
                } else {
                    tracing::warn!(seq, error, retry_in = ?wait, "sending a batch failed; retrying");
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
    (seq, Some(record.positions))
}

/// Sends every durable record in order until `shutdown` turns true.
pub async fn run(
    queue: Arc<Queue>,
    clients: watch::Receiver<Client>,
    health: Arc<Health>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut synced = queue.synced();
    let mut acked = queue.acked_seq();
    let mut next = acked + 1;
    let mut done: BTreeMap<u64, Option<Vec<Position>>> = BTreeMap::new();
    let mut tasks = JoinSet::new();
    loop {
        let limit = clients.borrow().in_flight;
        while tasks.len() < limit && next <= *synced.borrow_and_update() {
            tasks.spawn(deliver(
                queue.clone(),
                clients.clone(),
                health.clone(),
                next,
            ));
            next += 1;
        }
        tokio::select! {
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                let Ok((seq, positions)) = joined else { continue };
                done.insert(seq, positions);
                // Acknowledge only a contiguous run: a restart resends from the first gap.
                let before = acked;
                let mut latest = None;
                while let Some(positions) = done.remove(&(acked + 1)) {
                    acked += 1;
                    latest = positions.or(latest);
                }
                if acked > before {
                    queue.ack(acked, latest);
                }
            }
            _ = synced.changed() => {}
            _ = shutdown.changed() => break,
        }
    }
    tasks.abort_all();
}
