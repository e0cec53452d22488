//! Profiles OQL queries in process: loads PROFILE_ROWS generated log records (default 2 M)
//! spread over the last 24 h into a temporary store, flushes them to Parquet, then runs each
//! query PROFILE_RUNS times (default 5) with `hexcovery_query::profile` logging on, so every
//! run prints its stage timings and (with `RUST_LOG=hexcovery_query::profile=trace`) the
//! executed plan with per-operator metrics.
//!
//! `cargo run --release -p hexcovery-query --example profile [query ...]`

use chrono::Utc;
use hexcovery_query::{QueryEngine, QueryLimits, QueryRequest};
use hexcovery_store::{ExportRequest, StoreConfig, TelemetryStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::time::Instant;

const QUERIES: &[&str] = &[
    "SELECT level, count(*) FROM logs GROUP BY level",
    "SELECT bucket(5m) AS t, service, count(*) FROM logs WHERE level = 'error' GROUP BY t, service ORDER BY t",
    "SELECT attributes['http.route'] AS route, count(*) AS n FROM logs WHERE level = 'error' GROUP BY route ORDER BY n DESC LIMIT 10",
    "SELECT count(*) FROM logs WHERE body LIKE '%timeout%'",
    "SELECT * FROM logs ORDER BY timestamp DESC LIMIT 100",
    "SELECT count(*) FROM logs WHERE level = 'error' LAST 1m",
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn batch(rng: &mut Rng, now: u64, records: usize) -> ExportLogsServiceRequest {
    const DAY: u64 = 86_400_000_000_000;
    let (service, host) = (rng.below(20), rng.below(500));
    let log_records = (0..records)
        .map(|_| {
            let (severity, status) = match rng.below(100) {
                0..70 => (9, 200),
                70..85 => (13, 429),
                85..95 => (17, 500),
                _ => (5, 200),
            };
            let route = rng.below(60);
            let word = if rng.below(50) == 0 {
                "timeout"
            } else {
                "completed"
            };
            LogRecord {
                time_unix_nano: now - 60_000_000_000 - rng.below(DAY - 120_000_000_000),
                severity_number: severity,
                body: Some(AnyValue {
                    value: Some(Value::StringValue(format!(
                        "GET /api/v1/route{route}/{} {word} with status {status} in {} ms",
                        rng.below(100_000),
                        rng.below(500)
                    ))),
                }),
                attributes: vec![
                    attr(
                        "http.route",
                        Value::StringValue(format!("/api/v1/route{route}")),
                    ),
                    attr("http.status_code", Value::IntValue(status)),
                    attr(
                        "user.id",
                        Value::StringValue(format!("u{}", rng.below(50_000))),
                    ),
                ],
                trace_id: rng.below(u64::MAX).to_le_bytes().repeat(2),
                span_id: rng.below(u64::MAX).to_le_bytes().to_vec(),
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    attr(
                        "service.name",
                        Value::StringValue(format!("service-{service}")),
                    ),
                    attr("host.name", Value::StringValue(format!("host-{host}"))),
                    attr(
                        "k8s.namespace.name",
                        Value::StringValue(format!("ns-{}", service % 8)),
                    ),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "hexcovery_query::profile=debug".into()),
        )
        .init();
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rows, runs) = (env("PROFILE_ROWS", 2_000_000), env("PROFILE_RUNS", 5));
    let dir = tempfile::tempdir()?;
    let mut config = StoreConfig::new(dir.path());
    config.max_buffered_bytes = 8 << 30;
    let store = TelemetryStore::open(config).await?;
    let org = uuid::Uuid::new_v4();
    let now = Utc::now().timestamp_nanos_opt().expect("in range") as u64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    for i in 0..rows.div_ceil(10_000) {
        let request = ExportRequest::Logs(batch(&mut rng, now, 10_000));
        store.ingest(org, &request, None).await?;
        if i % 100 == 99 {
            store.flush(false).await?;
        }
    }
    let loaded = started.elapsed();
    store.flush(true).await?;
    while store.compact().await? > 0 {}
    eprintln!(
        "loaded {rows} rows in {loaded:.1?}, flushed and compacted in {:.1?}",
        started.elapsed() - loaded
    );
    let engine = QueryEngine::new(QueryLimits::default())?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let queries: Vec<&str> = if args.is_empty() {
        QUERIES.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for text in queries {
        let request = QueryRequest::new(text)
            .with_range(Utc::now() - chrono::TimeDelta::hours(25), Utc::now());
        let mut times = Vec::new();
        for _ in 0..=runs {
            let started = Instant::now();
            let answer = engine.run(&store, org, &request, Utc::now()).await?;
            times.push(started.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(answer);
        }
        times.remove(0);
        times.sort_by(f64::total_cmp);
        println!("{:>8.1} ms median  {text}", times[times.len() / 2]);
    }
    Ok(())
}
