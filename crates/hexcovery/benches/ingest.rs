//! Ingest benchmark: starts the release `hexcovery serve` on loopback with a temporary data
//! directory (WAL fsync on, as always), then several concurrent OTLP/gRPC clients push log
//! batches, then span batches, for a fixed time. Prints records/s, payload MB/s and
//! acknowledgement latency percentiles. Client and server share the machine's cores.
//!
//! `cargo bench -p hexcovery --bench ingest` (env: BENCH_SECS, BENCH_CLIENTS, BENCH_BATCH).

#[path = "../tests/common/mod.rs"]
mod common;

use common::TestServer;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use std::time::{Duration, Instant};

const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
const TRACES_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn resource(i: usize) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            attr(
                "service.name",
                Value::StringValue(format!("service-{}", i % 8)),
            ),
            attr("host.name", Value::StringValue(format!("host-{}", i % 16))),
        ],
        ..Default::default()
    })
}

fn now_ns() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64
}

/// A realistic log batch: ~150-byte bodies, four attributes, trace context.
fn log_batch(client: usize, n: usize) -> ExportLogsServiceRequest {
    let t = now_ns();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(client),
            scope_logs: vec![ScopeLogs {
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: t + i as u64,
                        observed_time_unix_nano: t + i as u64,
                        severity_number: if i % 50 == 0 { 17 } else { 9 },
                        body: Some(AnyValue { value: Some(Value::StringValue(format!(
                            "GET /api/v1/orders/{i} completed with status 200 in {} ms for customer {} via gateway eu-west-1",
                            i % 300,
                            i * 7919 % 100_000
                        ))) }),
                        attributes: vec![
                            attr("http.route", Value::StringValue("/api/v1/orders/:id".into())),
                            attr("http.status_code", Value::IntValue(200)),
                            attr("user.id", Value::StringValue(format!("u{}", i % 1000))),
                            attr("duration_ms", Value::DoubleValue((i % 300) as f64)),
                        ],
                        trace_id: (i as u128 + 1).to_be_bytes().to_vec(),
                        span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn span_batch(client: usize, n: usize) -> ExportTraceServiceRequest {
    let t = now_ns();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(client),
            scope_spans: vec![ScopeSpans {
                spans: (0..n)
                    .map(|i| Span {
                        trace_id: (i as u128 / 8 + 1).to_be_bytes().to_vec(),
                        span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                        parent_span_id: if i % 8 == 0 {
                            vec![]
                        } else {
                            (i as u64).to_be_bytes().to_vec()
                        },
                        name: format!("GET /api/v1/orders/{}", i % 20),
                        kind: 2,
                        start_time_unix_nano: t,
                        end_time_unix_nano: t + (i as u64 % 300) * 1_000_000,
                        attributes: vec![
                            attr(
                                "http.route",
                                Value::StringValue("/api/v1/orders/:id".into()),
                            ),
                            attr("http.status_code", Value::IntValue(200)),
                        ],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

struct Outcome {
    records: u64,
    bytes: u64,
    latencies: Vec<Duration>,
    errors: u64,
    elapsed: Duration,
}

fn report(name: &str, o: &mut Outcome) {
    o.latencies.sort();
    let pct = |p: f64| {
        o.latencies
            .get(((o.latencies.len() as f64 * p) as usize).min(o.latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let secs = o.elapsed.as_secs_f64();
    println!(
        "{name:<6} {:>10.0} records/s  {:>7.1} MB/s payload  requests {:>6}  errors {}  ack latency p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
        o.records as f64 / secs,
        o.bytes as f64 / secs / 1e6,
        o.latencies.len(),
        o.errors,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        o.latencies
            .last()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
    );
}

async fn run<F, Fut>(clients: usize, duration: Duration, send: F) -> Outcome
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<
            Output = Box<
                dyn FnMut() -> std::pin::Pin<
                        Box<
                            dyn std::future::Future<Output = Result<(u64, u64), tonic::Status>>
                                + Send,
                        >,
                    > + Send,
            >,
        > + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut next = send(client).await;
            let (mut records, mut bytes, mut errors, mut latencies) = (0, 0, 0, Vec::new());
            while start.elapsed() < duration {
                let began = Instant::now();
                match next().await {
                    Ok((r, b)) => {
                        latencies.push(began.elapsed());
                        records += r;
                        bytes += b;
                    }
                    Err(_) => errors += 1,
                }
            }
            (records, bytes, errors, latencies)
        }));
    }
    let mut outcome = Outcome {
        records: 0,
        bytes: 0,
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (r, b, e, l) = task.await.unwrap();
        outcome.records += r;
        outcome.bytes += b;
        outcome.errors += e;
        outcome.latencies.extend(l);
    }
    outcome.elapsed = start.elapsed();
    outcome
}

async fn raw_client(endpoint: String) -> tonic::client::Grpc<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .unwrap();
    tonic::client::Grpc::new(channel).max_encoding_message_size(64 << 20)
}

/// One export of pre-encoded `body` to `path`; returns (records, bytes) on success.
async fn send_raw<R: prost::Message + Default + Send + 'static>(
    mut grpc: tonic::client::Grpc<tonic::transport::Channel>,
    path: &'static str,
    body: bytes::Bytes,
    key: String,
    records: u64,
) -> Result<(u64, u64), tonic::Status> {
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let size = body.len() as u64;
    let mut request = tonic::Request::new(body);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    grpc.unary::<bytes::Bytes, R, _>(request, path, common::raw_grpc::RawCodec::<R>::new())
        .await
        .map(|_| (records, size))
}

fn main() {
    let secs = env("BENCH_SECS", 10);
    let clients = env("BENCH_CLIENTS", 8) as usize;
    let batch = env("BENCH_BATCH", 1000) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = TestServer::start_with(&["--max-buffer-mb", "2048"]);
    runtime.block_on(async {
        let api = server.api();
        let admin = api.signup("bench").await;
        let (_, key) = api.create_key(&admin, "bench").await;
        println!("hexcovery ingest benchmark: {clients} gRPC clients, {batch} records per request, {secs} s per signal, WAL fsync on, {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));

        let (endpoint, k) = (server.grpc.clone(), key.clone());
        let mut logs = run(clients, Duration::from_secs(secs), move |client| {
            let (endpoint, key) = (endpoint.clone(), k.clone());
            async move {
                let grpc = raw_client(endpoint).await;
                let body = bytes::Bytes::from(log_batch(client, batch).encode_to_vec());
                let n = batch as u64;
                Box::new(move || {
                    Box::pin(send_raw::<ExportLogsServiceResponse>(grpc.clone(), LOGS_EXPORT, body.clone(), key.clone(), n))
                        as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
                }) as Box<dyn FnMut() -> _ + Send>
            }
        })
        .await;
        report("logs", &mut logs);

        let (endpoint, k) = (server.grpc.clone(), key.clone());
        let mut spans = run(clients, Duration::from_secs(secs), move |client| {
            let (endpoint, key) = (endpoint.clone(), k.clone());
            async move {
                let grpc = raw_client(endpoint).await;
                let body = bytes::Bytes::from(span_batch(client, batch).encode_to_vec());
                let n = batch as u64;
                Box::new(move || {
                    Box::pin(send_raw::<ExportTraceServiceResponse>(grpc.clone(), TRACES_EXPORT, body.clone(), key.clone(), n))
                        as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
                }) as Box<dyn FnMut() -> _ + Send>
            }
        })
        .await;
        report("spans", &mut spans);
    });
}
