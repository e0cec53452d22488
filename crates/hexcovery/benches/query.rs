//! Query benchmark: loads one org with BENCH_LOGS log records (default 10 million) spread over
//! the last 24 hours, BENCH_SPANS spans (default 1 million) and an hour of host metrics from
//! 500 hosts, all through OTLP/gRPC into the release server; restarts it so every row is in
//! Parquet; then times typical OQL queries end to end over HTTP (BENCH_RUNS runs each, after
//! one warm-up) and prints the median, p95 and what each query scanned. Last, it measures
//! ingest latency alone and while three clients run heavy queries back to back
//! (BENCH_MIXED_SECS seconds each, default 10).
//!
//! `cargo bench -p hexcovery --bench query`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Cred, TestServer};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::time::{Duration, Instant};

const BATCH: usize = 10_000;
const SERVICES: u64 = 20;
const HOSTS: u64 = 500;
const DAY_NS: u64 = 24 * 3_600 * 1_000_000_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn resource(service: u64, host: u64) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            attr(
                "service.name",
                Value::StringValue(format!("service-{service}")),
            ),
            attr("host.name", Value::StringValue(format!("host-{host}"))),
        ],
        ..Default::default()
    })
}

fn now_ns() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64
}

/// A time within the last 24 hours (minus a minute, so `LAST 24h` later still covers it).
fn recent(rng: &mut Rng, now: u64) -> u64 {
    now - 60_000_000_000 - rng.below(DAY_NS - 120_000_000_000)
}

/// `BATCH` log records of one service and host: 70 % info, 15 % warn, 10 % error, 5 % debug.
fn log_batch(rng: &mut Rng, now: u64) -> ExportLogsServiceRequest {
    log_batch_of(rng, now, BATCH)
}

fn log_batch_of(rng: &mut Rng, now: u64, records: usize) -> ExportLogsServiceRequest {
    let (service, host) = (rng.below(SERVICES), rng.below(HOSTS));
    let records = (0..records)
        .map(|_| {
            let roll = rng.below(100);
            let (severity, status) = match roll {
                0..70 => (9, 200),
                70..85 => (13, 429),
                85..95 => (17, 500),
                _ => (5, 200),
            };
            let order = rng.below(100_000);
            LogRecord {
                time_unix_nano: recent(rng, now),
                severity_number: severity,
                body: Some(AnyValue {
                    value: Some(Value::StringValue(format!(
                        "GET /api/v1/orders/{order} completed with status {status} in {} ms",
                        rng.below(500)
                    ))),
                }),
                attributes: vec![
                    attr(
                        "http.route",
                        Value::StringValue("/api/v1/orders/:id".into()),
                    ),
                    attr("http.status_code", Value::IntValue(status)),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service, host),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn span_batch(rng: &mut Rng, now: u64) -> ExportTraceServiceRequest {
    let (service, host) = (rng.below(SERVICES), rng.below(HOSTS));
    let spans = (0..BATCH)
        .map(|_| {
            let start = recent(rng, now);
            // Mostly fast, with a long tail.
            let micros = if rng.below(100) < 97 {
                rng.below(200_000)
            } else {
                rng.below(5_000_000)
            };
            Span {
                trace_id: rng.next().to_be_bytes().repeat(2),
                span_id: rng.next().to_be_bytes().to_vec(),
                name: format!("GET /api/v1/orders/{}", rng.below(50)),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + micros * 1_000,
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(service, host),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// An hour of one host's agent metrics, a point every 15 s.
fn host_metrics(rng: &mut Rng, host: u64, now: u64) -> ExportMetricsServiceRequest {
    let gauge = |name: &str, rng: &mut Rng| Metric {
        name: name.into(),
        unit: "%".into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: (0..240u64)
                .map(|i| NumberDataPoint {
                    time_unix_nano: now - 60_000_000_000 - i * 15_000_000_000 + 1,
                    value: Some(number_data_point::Value::AsDouble(
                        rng.below(10_000) as f64 / 100.0,
                    )),
                    ..Default::default()
                })
                .collect(),
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(SERVICES, host),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    gauge("host.cpu_usage_pct", rng),
                    gauge("host.mem_used_pct", rng),
                    gauge("host.disk_used_pct", rng),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    request
}

/// Sends `batches` requests from two concurrent clients, retrying when the server sheds load.
async fn load(grpc: &str, key: &str, logs: u64, spans: u64) {
    let mut tasks = Vec::new();
    for client in 0..2u64 {
        let (grpc, key) = (grpc.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let channel = tonic::transport::Channel::from_shared(grpc)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (client + 1));
            let now = now_ns();
            let mut logs_client =
                LogsServiceClient::new(channel.clone()).max_encoding_message_size(64 << 20);
            for _ in 0..logs / BATCH as u64 / 2 {
                let batch = log_batch(&mut rng, now);
                while let Err(status) = logs_client.export(with_key(batch.clone(), &key)).await {
                    assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            let mut traces_client =
                TraceServiceClient::new(channel.clone()).max_encoding_message_size(64 << 20);
            for _ in 0..spans / BATCH as u64 / 2 {
                let batch = span_batch(&mut rng, now);
                while let Err(status) = traces_client.export(with_key(batch.clone(), &key)).await {
                    assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            let mut metrics_client = MetricsServiceClient::new(channel);
            for host in (client..HOSTS).step_by(2) {
                let batch = host_metrics(&mut rng, host, now);
                metrics_client.export(with_key(batch, &key)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Export latencies of one client sending 1 000-record log batches back to back for `span`.
async fn ingest_latencies(grpc: &str, key: &str, span: Duration) -> Vec<Duration> {
    let channel = tonic::transport::Channel::from_shared(grpc.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = LogsServiceClient::new(channel);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let started = Instant::now();
    let mut latencies = Vec::new();
    while started.elapsed() < span {
        let batch = with_key(log_batch_of(&mut rng, now_ns(), 1_000), key);
        let sent = Instant::now();
        client.export(batch).await.unwrap();
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    latencies
}

fn print_latencies(name: &str, latencies: &[Duration], span: Duration) {
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    println!(
        "{:<42} {:>6.1} ms {:>6.1} ms {:>7.1} ms {:>9.0}",
        name,
        at(50).as_secs_f64() * 1e3,
        at(99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
        latencies.len() as f64 * 1_000.0 / span.as_secs_f64(),
    );
}

/// Ingest alone, then with two clients running the heaviest queries back to back: how much
/// queries slow ingest down on this machine.
async fn ingest_under_query_load(api: &common::Api, grpc: &str, key: &str) {
    let span = Duration::from_secs(env("BENCH_MIXED_SECS", 10));
    println!(
        "\n{:<42} {:>9} {:>9} {:>10} {:>9}",
        "ingest (1 client, 1 000-record batches)", "p50", "p99", "max", "records/s"
    );
    let alone = ingest_latencies(grpc, key, span).await;
    print_latencies("alone", &alone, span);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut queriers = Vec::new();
    for (_, query) in &QUERIES[..3] {
        let (api, cred, stop) = (api.clone(), Cred::Key(key.to_string()), stop.clone());
        let body = serde_json::json!({ "query": query });
        queriers.push(tokio::spawn(async move {
            let mut answered = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                api.post("/api/v1/dsl", &cred, body.clone())
                    .await
                    .expect(200);
                answered += 1;
            }
            answered
        }));
    }
    let loaded = ingest_latencies(grpc, key, span).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answered = 0;
    for querier in queriers {
        answered += querier.await.unwrap();
    }
    print_latencies(
        &format!("with 3 query loops ({answered} queries answered)"),
        &loaded,
        span,
    );
}

const QUERIES: [(&str, &str); 6] = [
    (
        "count by level, last 24 h",
        "SELECT level, count(*) FROM logs GROUP BY level LAST 24h",
    ),
    (
        "errors per service per 5 min, last 24 h",
        "SELECT bucket(5m) AS t, service, count(*) FROM logs WHERE level = 'error' GROUP BY t, service ORDER BY t LAST 24h",
    ),
    (
        "p99 span duration by service, last 24 h",
        "SELECT service, p99(duration_ms) FROM spans GROUP BY service LAST 24h",
    ),
    (
        "top 10 hosts by CPU, last 1 h",
        "SELECT host, avg(cpu_usage_pct) AS cpu FROM host GROUP BY host ORDER BY cpu DESC LIMIT 10 LAST 1h",
    ),
    (
        "product: avg CPU, last 1 h",
        "SELECT avg(cpu_usage_pct) FROM host LAST 1h",
    ),
    (
        "product: error count, last 1 h",
        "SELECT count(*) FROM logs WHERE level = 'error' LAST 1h",
    ),
];

fn main() {
    let (logs, spans) = (env("BENCH_LOGS", 10_000_000), env("BENCH_SPANS", 1_000_000));
    let runs = env("BENCH_RUNS", 10).max(1) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let args = ["--max-buffer-mb", "4096", "--query-max-rows", "100000"];
    let mut server = TestServer::start_in(data.path(), &args);
    let key = runtime.block_on(async {
        let api = server.api();
        let admin = api.signup("bench").await;
        let (_, key) = api.create_key(&admin, "bench").await;
        let started = Instant::now();
        load(&server.grpc, &key, logs, spans).await;
        println!(
            "loaded {logs} logs, {spans} spans and {} metric points in {:.1} s",
            HOSTS * 3 * 240,
            started.elapsed().as_secs_f64()
        );
        key
    });
    // A clean stop writes everything buffered to Parquet; the restarted server reads files only.
    let stopped = Instant::now();
    assert!(server.terminate().success());
    println!(
        "flushed on shutdown in {:.1} s",
        stopped.elapsed().as_secs_f64()
    );
    let server = TestServer::start_in(data.path(), &args);
    runtime.block_on(async {
        let api = server.api();
        let cred = Cred::Key(key.clone());
        println!(
            "{} cores; {runs} runs per query after one warm-up; time = HTTP round trip",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "{:<42} {:>9} {:>9} {:>12} {:>10} {:>6}",
            "query", "median", "p95", "rows read", "MB read", "files"
        );
        for (name, query) in QUERIES {
            let body = serde_json::json!({ "query": query });
            let first = api
                .post("/api/v1/dsl", &cred, body.clone())
                .await
                .expect(200);
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                api.post("/api/v1/dsl", &cred, body.clone())
                    .await
                    .expect(200);
                times.push(started.elapsed());
            }
            times.sort();
            let stats = &first["stats"];
            println!(
                "{:<42} {:>6.0} ms {:>6.0} ms {:>12} {:>10.1} {:>6}",
                name,
                times[runs / 2].as_secs_f64() * 1e3,
                times[(runs * 95 / 100).min(runs - 1)].as_secs_f64() * 1e3,
                stats["rows_scanned"],
                stats["bytes_scanned"].as_f64().unwrap_or(0.0) / 1e6,
                stats["files_scanned"],
            );
        }
        ingest_under_query_load(&api, &server.grpc, &key).await;
    });
}
