//! Side-by-side benchmark against DuckDB (issue #15): for each size in BENCH_COMPARE_ROWS
//! (default `1000000,10000000`) it generates realistic log records (and rows/5 spans) over
//! 24 hours, deterministically; spools them as encoded OTLP requests and, through the
//! server's own OTLP→Arrow conversion, writes the same rows to Parquet, which DuckDB rewrites
//! as one zstd file per table; loads the spool into a fresh release server over OTLP/gRPC
//! from three clients (timed: ingest records/s); restarts the server so every row is in
//! Parquet; then runs each query as OQL over HTTP and as SQL in DuckDB
//! (`bench/duckdb_compare.py`, 2 threads), one after the other, BENCH_RUNS timed runs each
//! after one warm-up, checks that both answer the same rows (a MISMATCH line and a non-zero
//! exit otherwise) and prints medians, ratios, their geometric mean, bytes per record and a
//! cross-size table of ms per million rows. BENCH_COMPARE_QUERIES filters by query id;
//! BENCH_COMPARE_KEEP keeps each size's data directory and DuckDB's files to inspect.
//!
//! `cargo bench -p hexcovery --bench compare` (needs `pip install duckdb`)

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Cred, TestServer};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use hexcovery_store::ExportRequest;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message as _;
use serde_json::{Value as Json, json};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
const TRACES_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// Records per OTLP request, in four resources of a quarter each.
const BATCH: u64 = 5_000;
const RESOURCES_PER_BATCH: u64 = 4;
const CLIENTS: usize = 3;
const HOSTS: u64 = 500;
const HOUR_NS: u64 = 3_600 * 1_000_000_000;
const DAY_NS: u64 = 24 * HOUR_NS;

const SERVICES: [&str; 20] = [
    "frontend",
    "checkout",
    "cart",
    "payment",
    "shipping",
    "inventory",
    "catalog",
    "search",
    "recommendation",
    "auth",
    "users",
    "orders",
    "notification",
    "email",
    "ads",
    "currency",
    "quote",
    "fraud-detection",
    "accounting",
    "gateway",
];
const NAMESPACES: [&str; 8] = [
    "shop",
    "payments",
    "platform",
    "search",
    "identity",
    "orders",
    "messaging",
    "edge",
];
const RESOURCES: [&str; 20] = [
    "orders",
    "carts",
    "payments",
    "users",
    "products",
    "sessions",
    "invoices",
    "shipments",
    "reviews",
    "coupons",
    "addresses",
    "refunds",
    "search",
    "recommendations",
    "inventory",
    "prices",
    "notifications",
    "tokens",
    "accounts",
    "events",
];
const RARE_KEYS: [&str; 4] = ["error.type", "retry.count", "feature.flag", "cache.hit"];

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn seeded(seed: u64) -> Self {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        for _ in 0..4 {
            rng.next();
        }
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(key: &str, value: impl Into<String>) -> KeyValue {
    attr(key, Value::StringValue(value.into()))
}

fn host_name(host: u64) -> String {
    format!("ip-10-0-{}-{}.ec2.internal", host / 200, host % 200 + 10)
}

/// Host `h` runs service `h % 20`; namespace, environment and version follow from them.
fn resource(host: u64) -> Option<Resource> {
    let service = (host % SERVICES.len() as u64) as usize;
    let environment = match host % 10 {
        0..7 => "production",
        7..9 => "staging",
        _ => "development",
    };
    Some(Resource {
        attributes: vec![
            text("service.name", SERVICES[service]),
            text("host.name", host_name(host)),
            text("k8s.namespace.name", NAMESPACES[service % NAMESPACES.len()]),
            text("deployment.environment", environment),
            text(
                "service.version",
                format!("1.{}.{}", service % 5, (service * 7) % 13),
            ),
        ],
        ..Default::default()
    })
}

fn scope(service: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: format!("com.example.{service}"),
        version: "1.0.0".into(),
        ..Default::default()
    })
}

/// Route `i` of the 60: twenty resources, three shapes each.
fn route(i: u64) -> String {
    let resource = RESOURCES[(i % 20) as usize];
    match i / 20 {
        0 => format!("/api/v1/{resource}"),
        1 => format!("/api/v1/{resource}/:id"),
        _ => format!("/api/v1/{resource}/:id/items"),
    }
}

/// The data set of one size: `rows` log records and `rows / 5` spans over
/// `[start, start + 24 h)`, in time order, batch by batch; batch `i` depends only on `i`.
struct DataSet {
    start: u64,
    logs: u64,
    spans: u64,
}

impl DataSet {
    fn log_batches(&self) -> u64 {
        self.logs.div_ceil(BATCH)
    }

    fn span_batches(&self) -> u64 {
        self.spans.div_ceil(BATCH)
    }

    fn end(&self) -> u64 {
        self.start + DAY_NS
    }

    fn log_batch(&self, index: u64) -> ExportLogsServiceRequest {
        let mut rng = Rng::seeded(index * 2 + 1);
        let records = BATCH.min(self.logs - index * BATCH);
        let slice = DAY_NS / self.log_batches();
        let from = self.start + index * slice;
        let mut resource_logs = Vec::new();
        for part in 0..RESOURCES_PER_BATCH {
            let count =
                records / RESOURCES_PER_BATCH + u64::from(part < records % RESOURCES_PER_BATCH);
            let host = rng.below(HOSTS);
            let service = SERVICES[(host % SERVICES.len() as u64) as usize];
            let log_records = (0..count)
                .map(|_| log_record(&mut rng, from, slice))
                .collect();
            resource_logs.push(ResourceLogs {
                resource: resource(host),
                scope_logs: vec![ScopeLogs {
                    scope: scope(service),
                    log_records,
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        ExportLogsServiceRequest { resource_logs }
    }

    fn span_batch(&self, index: u64) -> ExportTraceServiceRequest {
        let mut rng = Rng::seeded(index * 2 + 2);
        let spans = BATCH.min(self.spans - index * BATCH);
        let slice = DAY_NS / self.span_batches();
        let from = self.start + index * slice;
        let mut resource_spans = Vec::new();
        for part in 0..RESOURCES_PER_BATCH {
            let count = spans / RESOURCES_PER_BATCH + u64::from(part < spans % RESOURCES_PER_BATCH);
            let host = rng.below(HOSTS);
            let service = SERVICES[(host % SERVICES.len() as u64) as usize];
            let spans = (0..count).map(|_| span(&mut rng, from, slice)).collect();
            resource_spans.push(ResourceSpans {
                resource: resource(host),
                scope_spans: vec![ScopeSpans {
                    scope: scope(service),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        ExportTraceServiceRequest { resource_spans }
    }
}

/// A time in `[from, from + slice)`, whole microseconds (DuckDB's timestamps are µs).
fn time_in(rng: &mut Rng, from: u64, slice: u64) -> u64 {
    (from + rng.below(slice)) / 1_000 * 1_000
}

fn method(rng: &mut Rng) -> &'static str {
    match rng.below(100) {
        0..60 => "GET",
        60..85 => "POST",
        85..93 => "PUT",
        93..98 => "DELETE",
        _ => "PATCH",
    }
}

fn log_record(rng: &mut Rng, from: u64, slice: u64) -> LogRecord {
    let time = time_in(rng, from, slice);
    // Routes skewed towards the first ones, as real traffic is.
    let route_index = rng.below(60).min(rng.below(60));
    let route = route(route_index);
    let concrete = route.replace(":id", &rng.below(100_000).to_string());
    let method = method(rng);
    let user = format!("u-{}", rng.below(1_000_000));
    let duration = rng.below(20_000) as f64 / 10.0;
    let request_id = rng.next();
    let other = rng.pick(&SERVICES);
    let (severity, severity_text, status, body) = match rng.below(100) {
        0..70 => {
            let status = [200, 200, 200, 201, 204, 304][rng.below(6) as usize];
            let body = match rng.below(10) {
                0..7 => format!(
                    "{method} {concrete} completed with status {status} in {duration} ms bytes={} user={user} request_id={request_id:016x}",
                    rng.below(20_000)
                ),
                7..9 => format!(
                    "processed message from queue {other}.events partition {} offset {} in {duration} ms; batch size {}, consumer group workers",
                    rng.below(12),
                    rng.below(10_000_000),
                    rng.below(500)
                ),
                _ => format!(
                    "connection pool stats for {other}: active={} idle={} waiting=0, read timeout configured at 30s, max lifetime 1800s",
                    rng.below(50),
                    rng.below(50)
                ),
            };
            (9, "INFO", status, body)
        }
        70..85 => {
            let status = [429, 404, 400, 409][rng.below(4) as usize];
            let body = if rng.below(2) == 0 {
                format!(
                    "slow request: {method} {concrete} took {duration} ms (threshold 500 ms) status {status} user={user} request_id={request_id:016x}"
                )
            } else {
                format!(
                    "rate limit approaching for client {user}: {} requests in the last 60 s, limit 1000, route {route}, status {status}",
                    rng.below(1000)
                )
            };
            (13, "WARN", status, body)
        }
        85..95 => {
            let status = [500, 500, 502, 503, 504][rng.below(5) as usize];
            let body = match rng.below(3) {
                0 => format!(
                    "upstream call to {other}:8080 failed: connection refused (attempt {}/3) while handling {method} {concrete} request_id={request_id:016x}",
                    rng.below(3) + 1
                ),
                1 => format!(
                    "timeout after {} ms waiting for response from {other} on {method} {route}; circuit breaker half-open, request_id={request_id:016x}",
                    rng.below(30_000)
                ),
                _ => format!(
                    "unhandled exception in {route} handler: java.lang.IllegalStateException: order state invalid at Handler.process(Handler.java:{})",
                    rng.below(900)
                ),
            };
            (17, "ERROR", status, body)
        }
        _ => {
            let body = format!(
                "cache lookup key=user:{user}:profile hit={} ttl={}s shard={} took {} us in local cache layer for {other}",
                rng.below(2) == 0,
                rng.below(3600),
                rng.below(16),
                rng.below(5000)
            );
            (5, "DEBUG", 200, body)
        }
    };
    let mut attributes = vec![
        text("http.route", route),
        text("http.method", method),
        attr("http.status_code", Value::IntValue(status)),
        text("user.id", user),
        attr("duration_ms", Value::DoubleValue(duration)),
    ];
    if rng.below(100) < 2 {
        let key = rng.pick(&RARE_KEYS);
        attributes.push(text(key, format!("v{}", rng.below(20))));
    }
    let traced = rng.below(10) < 9;
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: time + rng.below(2_000_000) * 1_000,
        severity_number: severity,
        severity_text: severity_text.into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue(body)),
        }),
        attributes,
        flags: u32::from(traced),
        trace_id: if traced {
            [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat()
        } else {
            Vec::new()
        },
        span_id: if traced {
            rng.next().to_be_bytes().to_vec()
        } else {
            Vec::new()
        },
        ..Default::default()
    }
}

fn span(rng: &mut Rng, from: u64, slice: u64) -> Span {
    let start = time_in(rng, from, slice);
    // Mostly fast, with a long tail.
    let micros = if rng.below(100) < 97 {
        rng.below(200_000)
    } else {
        200_000 + rng.below(4_800_000)
    };
    let (kind, name) = match rng.below(100) {
        0..50 => (
            2,
            format!(
                "{} {}",
                method(rng),
                route(rng.below(60).min(rng.below(60)))
            ),
        ),
        50..80 => (
            3,
            [
                "SELECT orders",
                "INSERT events",
                "redis GET",
                "redis SET",
                "HTTP GET",
            ][rng.below(5) as usize]
                .to_string(),
        ),
        80..95 => (
            1,
            ["render", "validate", "serialize", "authorize"][rng.below(4) as usize].to_string(),
        ),
        95..98 => (4, "kafka publish".to_string()),
        _ => (5, "kafka consume".to_string()),
    };
    let status = match rng.below(100) {
        0..3 => Status {
            code: 2,
            message: "deadline exceeded".into(),
        },
        3..13 => Status {
            code: 1,
            message: String::new(),
        },
        _ => Status::default(),
    };
    Span {
        trace_id: [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat(),
        span_id: rng.next().to_be_bytes().to_vec(),
        parent_span_id: if rng.below(10) < 7 {
            rng.next().to_be_bytes().to_vec()
        } else {
            Vec::new()
        },
        name,
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + micros * 1_000,
        attributes: vec![
            text("http.method", method(rng)),
            attr(
                "http.status_code",
                Value::IntValue([200, 200, 200, 500][rng.below(4) as usize]),
            ),
        ],
        status: Some(status),
        ..Default::default()
    }
}

/// One encoded request in the spool: kind (0 logs, 1 spans), records, length, bytes.
fn spool_write(out: &mut impl Write, kind: u8, records: u64, body: &[u8]) {
    out.write_all(&[kind]).unwrap();
    out.write_all(&(records as u32).to_le_bytes()).unwrap();
    out.write_all(&(body.len() as u32).to_le_bytes()).unwrap();
    out.write_all(body).unwrap();
}

fn spool_read(input: &mut impl Read) -> Option<(u8, u64, bytes::Bytes)> {
    let mut head = [0u8; 9];
    input.read_exact(&mut head).ok()?;
    let records = u32::from_le_bytes(head[1..5].try_into().unwrap()) as u64;
    let len = u32::from_le_bytes(head[5..9].try_into().unwrap()) as usize;
    let mut body = vec![0; len];
    input.read_exact(&mut body).unwrap();
    Some((head[0], records, body.into()))
}

/// Writes the spool of encoded requests and, through the server's own conversion, raw
/// Parquet files of the same rows (`logs_raw.parquet`, `spans_raw.parquet`) in `dir`.
fn prepare(data: &DataSet, dir: &Path) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<ExportRequest>(8);
    let raw_dir = dir.to_path_buf();
    let converter = std::thread::spawn(move || {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .build();
        let mut writers: [Option<ArrowWriter<std::fs::File>>; 2] = [None, None];
        let ingest_time = chrono::Utc::now().timestamp_nanos_opt().unwrap();
        for request in rx {
            let slot = usize::from(matches!(request, ExportRequest::Traces(_)));
            let converted = request.convert(ingest_time).expect("conversion");
            assert_eq!(converted.rejected, 0, "{:?}", converted.rejection);
            let batch = converted.batch.expect("rows");
            let writer = writers[slot].get_or_insert_with(|| {
                let name = ["logs_raw.parquet", "spans_raw.parquet"][slot];
                let file = std::fs::File::create(raw_dir.join(name)).unwrap();
                ArrowWriter::try_new(file, batch.schema(), Some(props.clone())).unwrap()
            });
            writer.write(&batch).unwrap();
        }
        for writer in writers.into_iter().flatten() {
            writer.close().unwrap();
        }
    });
    let mut spool = BufWriter::with_capacity(
        4 << 20,
        std::fs::File::create(dir.join("spool.bin")).unwrap(),
    );
    let mut span_index = 0;
    for index in 0..data.log_batches() {
        let logs = data.log_batch(index);
        let records = BATCH.min(data.logs - index * BATCH);
        spool_write(&mut spool, 0, records, &logs.encode_to_vec());
        tx.send(ExportRequest::Logs(logs)).unwrap();
        // Spans interleaved in time order with the logs.
        while span_index < data.span_batches()
            && span_index * data.log_batches() <= index * data.span_batches()
        {
            let spans = data.span_batch(span_index);
            let records = BATCH.min(data.spans - span_index * BATCH);
            spool_write(&mut spool, 1, records, &spans.encode_to_vec());
            tx.send(ExportRequest::Traces(spans)).unwrap();
            span_index += 1;
        }
    }
    while span_index < data.span_batches() {
        let spans = data.span_batch(span_index);
        let records = BATCH.min(data.spans - span_index * BATCH);
        spool_write(&mut spool, 1, records, &spans.encode_to_vec());
        tx.send(ExportRequest::Traces(spans)).unwrap();
        span_index += 1;
    }
    spool.flush().unwrap();
    drop(tx);
    converter.join().unwrap();
}

async fn send_raw<R: prost::Message + Default + Send + 'static>(
    grpc: &mut tonic::client::Grpc<tonic::transport::Channel>,
    path: &'static str,
    body: bytes::Bytes,
    key: &str,
) -> Result<R, tonic::Status> {
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(body);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    grpc.unary::<bytes::Bytes, R, _>(request, path, common::raw_grpc::RawCodec::<R>::new())
        .await
        .map(tonic::Response::into_inner)
}

/// Streams the spool to the server from [`CLIENTS`] concurrent clients; returns the records
/// sent and the requests retried after the server shed load.
async fn load(spool: PathBuf, grpc: &str, key: &str) -> (u64, u64) {
    let (tx, rx) = tokio::sync::mpsc::channel::<(u8, u64, bytes::Bytes)>(4 * CLIENTS);
    let reader = std::thread::spawn(move || {
        let mut input = BufReader::with_capacity(4 << 20, std::fs::File::open(spool).unwrap());
        while let Some(item) = spool_read(&mut input) {
            if tx.blocking_send(item).is_err() {
                break;
            }
        }
    });
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (rx, grpc, key) = (rx.clone(), grpc.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let channel = tonic::transport::Channel::from_shared(grpc)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut client = tonic::client::Grpc::new(channel).max_encoding_message_size(64 << 20);
            let (mut records, mut retries) = (0, 0);
            loop {
                let next = rx.lock().await.recv().await;
                let Some((kind, count, body)) = next else {
                    break;
                };
                loop {
                    let rejected = if kind == 0 {
                        send_raw::<ExportLogsServiceResponse>(
                            &mut client,
                            LOGS_EXPORT,
                            body.clone(),
                            &key,
                        )
                        .await
                        .map(|r| r.partial_success.map_or(0, |p| p.rejected_log_records))
                    } else {
                        send_raw::<ExportTraceServiceResponse>(
                            &mut client,
                            TRACES_EXPORT,
                            body.clone(),
                            &key,
                        )
                        .await
                        .map(|r| r.partial_success.map_or(0, |p| p.rejected_spans))
                    };
                    match rejected {
                        Ok(rejected) => {
                            assert_eq!(rejected, 0, "the server rejected records");
                            records += count;
                            break;
                        }
                        Err(status)
                            if matches!(
                                status.code(),
                                tonic::Code::Unavailable | tonic::Code::ResourceExhausted
                            ) =>
                        {
                            retries += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(status) => panic!("export failed: {status}"),
                    }
                }
            }
            (records, retries)
        }));
    }
    let (mut records, mut retries) = (0, 0);
    for task in tasks {
        let (r, t) = task.await.unwrap();
        records += r;
        retries += t;
    }
    reader.join().unwrap();
    (records, retries)
}

/// The DuckDB side: `bench/duckdb_compare.py`, one JSON command and answer per line.
struct Duck {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Duck {
    fn start() -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/duckdb_compare.py");
        let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                eprintln!("cannot run {python} {}: {e}", script.display());
                std::process::exit(2);
            });
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut duck = Duck {
            child,
            stdin,
            stdout,
        };
        let answer = duck.try_call(&json!({"op": "check"}));
        match answer {
            Some(a) if a["ok"] == true => {
                println!(
                    "DuckDB {} (Python, {python})",
                    a["version"].as_str().unwrap_or("?")
                );
            }
            other => {
                eprintln!(
                    "DuckDB is not available to {python}: {}\ninstall it with `pip install duckdb` (or set BENCH_PYTHON to a Python that has it)",
                    other.map_or("no answer".to_string(), |a| a["error"].to_string())
                );
                std::process::exit(2);
            }
        }
        duck
    }

    fn try_call(&mut self, command: &Json) -> Option<Json> {
        writeln!(self.stdin, "{command}").ok()?;
        self.stdin.flush().ok()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).ok()?;
        serde_json::from_str(&line).ok()
    }

    fn call(&mut self, command: &Json) -> Json {
        let answer = self
            .try_call(command)
            .unwrap_or_else(|| panic!("the DuckDB process did not answer {command}"));
        assert!(answer["ok"] == true, "DuckDB failed on {command}: {answer}");
        answer
    }
}

impl Drop for Duck {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
enum Range {
    /// The whole day of data.
    Day,
    /// The last hour of the data.
    LastHour,
    /// The last 15 minutes of the data.
    Last15m,
    /// An hour before the data starts.
    Empty,
}

#[derive(Clone, Copy)]
enum Check {
    /// The same rows, in any order.
    Rows,
    /// The same rows in the same order.
    Ordered,
    /// The same keys; numbers within this relative tolerance (rows matched by order after sorting).
    Close(f64),
    /// As many rows, with the same `timestamp` column in the same order.
    Timestamps,
}

struct Query {
    id: &'static str,
    table: &'static str,
    oql: &'static str,
    /// `{range}` stands for the time bounds.
    sql: &'static str,
    /// An exact query whose answer the check compares against, if not `sql`'s.
    reference: Option<&'static str>,
    range: Range,
    check: Check,
}

const QUERIES: &[Query] = &[
    Query {
        id: "count_level",
        table: "logs",
        oql: "SELECT level, count(*) FROM logs GROUP BY level",
        sql: "SELECT level, count(*) FROM logs WHERE {range} GROUP BY level",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    Query {
        id: "count_service",
        table: "logs",
        oql: "SELECT service, count(*) FROM logs GROUP BY service",
        sql: "SELECT service, count(*) FROM logs WHERE {range} GROUP BY service",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    Query {
        id: "errors_5m",
        table: "logs",
        oql: "SELECT bucket(5m) AS t, service, count(*) FROM logs WHERE level = 'error' GROUP BY t, service ORDER BY t",
        sql: "SELECT time_bucket(INTERVAL '5 minutes', timestamp) AS t, service, count(*) FROM logs WHERE {range} AND level = 'error' GROUP BY t, service ORDER BY t",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    // OQL lowers `p99` to DataFusion's `approx_percentile_cont` (a t-digest); DuckDB's timed
    // query is its t-digest `approx_quantile`, and the check is against its exact
    // `quantile_cont`: on this long tail the t-digests are a few per cent off.
    Query {
        id: "span_p50_p99",
        table: "spans",
        oql: "SELECT service, p50(duration_ms), p99(duration_ms) FROM spans GROUP BY service",
        sql: "SELECT service, approx_quantile(duration_ms, 0.5), approx_quantile(duration_ms, 0.99) FROM spans WHERE {range} GROUP BY service",
        reference: Some(
            "SELECT service, quantile_cont(duration_ms, 0.5), quantile_cont(duration_ms, 0.99) FROM spans WHERE {range} GROUP BY service",
        ),
        range: Range::Day,
        check: Check::Close(0.10),
    },
    Query {
        id: "status_500",
        table: "logs",
        oql: "SELECT count(*) FROM logs WHERE attributes['http.status_code'] = '500'",
        sql: "SELECT count(*) FROM logs WHERE {range} AND attributes['http.status_code'] = '500'",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    Query {
        id: "top_routes_err",
        table: "logs",
        oql: "SELECT attributes['http.route'] AS route, count(*) AS errors FROM logs WHERE level = 'error' GROUP BY route ORDER BY errors DESC, route LIMIT 10",
        sql: "SELECT attributes['http.route'] AS route, count(*) AS errors FROM logs WHERE {range} AND level = 'error' GROUP BY route ORDER BY errors DESC, route LIMIT 10",
        reference: None,
        range: Range::Day,
        check: Check::Ordered,
    },
    Query {
        id: "by_namespace",
        table: "logs",
        oql: "SELECT resource['k8s.namespace.name'] AS ns, count(*) FROM logs GROUP BY ns",
        sql: "SELECT resource['k8s.namespace.name'] AS ns, count(*) FROM logs WHERE {range} GROUP BY ns",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    Query {
        id: "body_like",
        table: "logs",
        oql: "SELECT count(*) FROM logs WHERE body LIKE '%timeout%'",
        sql: "SELECT count(*) FROM logs WHERE {range} AND body LIKE '%timeout%'",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    Query {
        id: "body_contains",
        table: "logs",
        oql: "SELECT count(*) FROM logs WHERE contains(body, 'connection refused')",
        sql: "SELECT count(*) FROM logs WHERE {range} AND contains(body, 'connection refused')",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    Query {
        id: "last15m_service",
        table: "logs",
        oql: "SELECT level, count(*) FROM logs WHERE service = 'checkout' GROUP BY level",
        sql: "SELECT level, count(*) FROM logs WHERE {range} AND service = 'checkout' GROUP BY level",
        reference: None,
        range: Range::Last15m,
        check: Check::Rows,
    },
    Query {
        id: "tail_100",
        table: "logs",
        oql: "SELECT * FROM logs ORDER BY timestamp DESC LIMIT 100",
        sql: "SELECT * FROM logs WHERE {range} ORDER BY timestamp DESC LIMIT 100",
        reference: None,
        range: Range::Day,
        check: Check::Timestamps,
    },
    Query {
        id: "distinct_service",
        table: "logs",
        oql: "SELECT DISTINCT service FROM logs",
        sql: "SELECT DISTINCT service FROM logs WHERE {range}",
        reference: None,
        range: Range::Day,
        check: Check::Rows,
    },
    Query {
        id: "errors_last_1h",
        table: "logs",
        oql: "SELECT count(*) FROM logs WHERE level = 'error'",
        sql: "SELECT count(*) FROM logs WHERE {range} AND level = 'error'",
        reference: None,
        range: Range::LastHour,
        check: Check::Rows,
    },
    Query {
        id: "empty_range",
        table: "logs",
        oql: "SELECT count(*) FROM logs",
        sql: "SELECT count(*) FROM logs WHERE {range}",
        reference: None,
        range: Range::Empty,
        check: Check::Rows,
    },
];

/// `[from, to)` in Unix nanoseconds.
fn bounds(range: Range, data: &DataSet) -> (u64, u64) {
    match range {
        Range::Day => (data.start, data.end()),
        Range::LastHour => (data.end() - HOUR_NS, data.end()),
        Range::Last15m => (data.end() - HOUR_NS / 4, data.end()),
        Range::Empty => (data.start - 2 * HOUR_NS, data.start - HOUR_NS),
    }
}

fn sql_time(ns: u64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns as i64)
        .format("%Y-%m-%d %H:%M:%S%.6f+00")
        .to_string()
}

/// One answer cell, comparable across both sides.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    fn of(value: &Json, timestamp: bool) -> Self {
        match value {
            Json::Null => Cell::Null,
            Json::Number(n) => n
                .as_i64()
                .map_or_else(|| Cell::Float(n.as_f64().unwrap()), Cell::Int),
            Json::String(s) if timestamp => chrono::DateTime::parse_from_rfc3339(s).map_or_else(
                |_| Cell::Text(s.clone()),
                |t| Cell::Int(t.timestamp_nanos_opt().unwrap()),
            ),
            Json::String(s) => Cell::Text(s.clone()),
            other => Cell::Text(other.to_string()),
        }
    }

    fn key(&self) -> String {
        match self {
            Cell::Float(_) => String::new(),
            other => format!("{other:?}"),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }
}

type Rows = Vec<Vec<Cell>>;

fn hexcovery_rows(answer: &Json) -> (Vec<String>, Rows) {
    let columns = answer["columns"].as_array().expect("columns");
    let names: Vec<String> = columns
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect();
    let stamps: Vec<bool> = columns.iter().map(|c| c["type"] == "timestamp").collect();
    let rows = answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .zip(&stamps)
                .map(|(v, t)| Cell::of(v, *t))
                .collect()
        })
        .collect();
    (names, rows)
}

fn duck_rows(answer: &Json) -> Rows {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| Cell::of(v, false))
                .collect()
        })
        .collect()
}

fn sorted(rows: &Rows) -> Rows {
    let mut rows = rows.clone();
    rows.sort_by(|a, b| {
        let (a, b): (Vec<String>, Vec<String>) = (
            a.iter().map(|c| format!("{c:?}")).collect(),
            b.iter().map(|c| format!("{c:?}")).collect(),
        );
        a.cmp(&b)
    });
    rows
}

/// Cells equal, integers and floats compared by value.
fn same(a: &Cell, b: &Cell) -> bool {
    match (a.number(), b.number()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn same_rows(a: &Rows, b: &Rows) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)))
}

/// `None` when the answers agree, else why not.
fn disagreement(
    check: Check,
    hex_names: &[String],
    hex: &Rows,
    duck_names: &[String],
    duck: &Rows,
) -> Option<String> {
    let show = |rows: &Rows| {
        let text = format!("{:?}", &rows[..rows.len().min(5)]);
        format!("{} rows, first {}", rows.len(), text)
    };
    let differ = || Some(format!("hexcovery {} / duckdb {}", show(hex), show(duck)));
    match check {
        Check::Rows => (!same_rows(&sorted(hex), &sorted(duck)))
            .then(differ)
            .flatten(),
        Check::Ordered => (!same_rows(hex, duck)).then(differ).flatten(),
        Check::Close(tolerance) => {
            let by_key = |rows: &Rows| {
                let mut rows = rows.clone();
                rows.sort_by_key(|r| r.iter().map(Cell::key).collect::<Vec<_>>());
                rows
            };
            let (h, d) = (by_key(hex), by_key(duck));
            if h.len() != d.len() {
                return differ();
            }
            let mut worst = 0f64;
            for (x, y) in h.iter().zip(&d) {
                for (p, q) in x.iter().zip(y) {
                    match (p, q) {
                        (Cell::Float(_), _) | (_, Cell::Float(_)) => {
                            let (p, q) = (p.number()?, q.number()?);
                            let off = (p - q).abs() / q.abs().max(1e-9);
                            worst = worst.max(off);
                        }
                        _ if !same(p, q) => return differ(),
                        _ => {}
                    }
                }
            }
            println!(
                "  (numbers off the exact reference by up to {:.2} %)",
                worst * 100.0
            );
            (worst > tolerance).then(|| {
                format!(
                    "numbers differ by up to {:.2} % (tolerance {:.1} %): {}",
                    worst * 100.0,
                    tolerance * 100.0,
                    differ().unwrap()
                )
            })
        }
        Check::Timestamps => {
            let column = |names: &[String]| names.iter().position(|n| n == "timestamp");
            let (Some(h), Some(d)) = (column(hex_names), column(duck_names)) else {
                return Some("no timestamp column".into());
            };
            let times =
                |rows: &Rows, i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
            let (ht, dt) = (times(hex, h), times(duck, d));
            (ht != dt).then(|| {
                format!(
                    "{} vs {} rows; timestamps hexcovery {:?}… duckdb {:?}…",
                    hex.len(),
                    duck.len(),
                    &ht[..ht.len().min(3)],
                    &dt[..dt.len().min(3)]
                )
            })
        }
    }
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Bytes of the `.parquet` files under `dir` whose path holds `/<table>/`.
fn parquet_bytes(dir: &Path, table: &str) -> (u64, u64) {
    let (mut bytes, mut files) = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let (b, f) = parquet_bytes(&path, table);
            bytes += b;
            files += f;
        } else if path.extension().is_some_and(|e| e == "parquet")
            && path.to_string_lossy().contains(&format!("/{table}/"))
        {
            bytes += entry.metadata().map_or(0, |m| m.len());
            files += 1;
        }
    }
    (bytes, files)
}

struct Measured {
    id: &'static str,
    hexcovery_ms: f64,
    duckdb_ms: f64,
    per_million: f64,
}

fn main() {
    let sizes: Vec<u64> = std::env::var("BENCH_COMPARE_ROWS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let runs = env("BENCH_RUNS", 5).max(1) as usize;
    let filter: Option<Vec<String>> = std::env::var("BENCH_COMPARE_QUERIES")
        .ok()
        .map(|s| s.split(',').map(|q| q.trim().to_string()).collect());
    let queries: Vec<&Query> = QUERIES
        .iter()
        .filter(|q| {
            filter
                .as_ref()
                .is_none_or(|f| f.iter().any(|id| id == q.id))
        })
        .collect();
    let mut duck = Duck::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{} cores; sizes {sizes:?}; {runs} timed runs per query after one warm-up; hexcovery = HTTP round trip of POST /api/v1/dsl, duckdb = execute + fetchall in Python, 2 threads, over one zstd Parquet file per table",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut mismatches = Vec::new();
    let mut all: Vec<(u64, Vec<Measured>)> = Vec::new();
    for &rows in &sizes {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64;
        let data = DataSet {
            start: now / HOUR_NS * HOUR_NS - DAY_NS,
            logs: rows,
            spans: rows / 5,
        };
        let work = tempfile::tempdir().unwrap();
        let data_dir = work.path().join("data");
        println!(
            "\n=== {rows} log records, {} spans, {} to {} ===",
            data.spans,
            sql_time(data.start),
            sql_time(data.end())
        );
        let started = Instant::now();
        prepare(&data, work.path());
        let spool = work.path().join("spool.bin");
        println!(
            "generated and converted in {:.1} s (spool {:.0} MB of OTLP protobuf)",
            started.elapsed().as_secs_f64(),
            std::fs::metadata(&spool).unwrap().len() as f64 / 1e6
        );
        let started = Instant::now();
        let mut duck_files = Vec::new();
        for table in ["logs", "spans"] {
            let raw = work.path().join(format!("{table}_raw.parquet"));
            let out = work.path().join(format!("{table}.parquet"));
            let answer = duck.call(&json!({"op": "rewrite", "raw": raw, "out": out}));
            std::fs::remove_file(&raw).unwrap();
            duck_files.push((
                table,
                out,
                answer["rows"].as_u64().unwrap(),
                answer["bytes"].as_u64().unwrap(),
            ));
        }
        println!(
            "DuckDB rewrote both tables to zstd Parquet in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        duck.call(&json!({
            "op": "open",
            "threads": 2,
            "tables": duck_files.iter().map(|(t, p, ..)| (t.to_string(), json!(p))).collect::<serde_json::Map<_, _>>(),
        }));

        let args = [
            "--max-buffer-mb",
            "2048",
            "--query-max-rows",
            "100000",
            "--query-timeout-secs",
            "600",
            "--query-memory-mb",
            "4096",
        ];
        let mut server = TestServer::start_in(&data_dir, &args);
        let (key, sent, retries, ingest_secs) = runtime.block_on(async {
            let api = server.api();
            let admin = api.signup("bench").await;
            let (_, key) = api.create_key(&admin, "bench").await;
            let started = Instant::now();
            let (sent, retries) = load(spool.clone(), &server.grpc, &key).await;
            (key, sent, retries, started.elapsed().as_secs_f64())
        });
        std::fs::remove_file(&spool).unwrap();
        let ingest_rate = sent as f64 / ingest_secs;
        println!(
            "ingest: {sent} records (logs and spans) over OTLP/gRPC from {CLIENTS} clients, {BATCH} per request, in {ingest_secs:.1} s: {ingest_rate:.0} records/s ({retries} requests retried after 503)"
        );
        let stopped = Instant::now();
        assert!(server.terminate().success());
        println!(
            "flushed on shutdown in {:.1} s",
            stopped.elapsed().as_secs_f64()
        );
        let server = TestServer::start_in(&data_dir, &args);
        let api = server.api();
        let cred = Cred::Key(key);

        println!(
            "\n{:<18} {:>13} {:>11} {:>8} {:>15}",
            "query", "hexcovery ms", "duckdb ms", "ratio", "hex ms per M"
        );
        let mut measured = Vec::new();
        for query in &queries {
            let (from, to) = bounds(query.range, &data);
            let body = json!({"query": query.oql, "from": from / 1_000_000, "to": to / 1_000_000});
            let (answer, mut hex_times) = runtime.block_on(async {
                let first = api.post("/api/v1/dsl", &cred, body.clone()).await;
                if first.status != 200 {
                    return (first.body, Vec::new());
                }
                let mut times = Vec::with_capacity(runs);
                for _ in 0..runs {
                    let started = Instant::now();
                    api.post("/api/v1/dsl", &cred, body.clone())
                        .await
                        .expect(200);
                    times.push(started.elapsed().as_secs_f64() * 1e3);
                }
                (first.body, times)
            });
            if hex_times.is_empty() {
                let line = format!(
                    "MISMATCH {} at {rows} rows: hexcovery failed: {answer}",
                    query.id
                );
                println!("{line}");
                mismatches.push(line);
                continue;
            }
            let range = format!(
                "timestamp >= TIMESTAMPTZ '{}' AND timestamp < TIMESTAMPTZ '{}'",
                sql_time(from),
                sql_time(to)
            );
            let sql = query.sql.replace("{range}", &range);
            let duck_answer = duck.try_call(&json!({"op": "run", "sql": sql, "runs": runs}));
            let Some(duck_answer) = duck_answer.filter(|a| a["ok"] == true) else {
                let line = format!(
                    "MISMATCH {} at {rows} rows: duckdb failed on {sql}",
                    query.id
                );
                println!("{line}");
                mismatches.push(line);
                continue;
            };
            let mut duck_times: Vec<f64> = duck_answer["ms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let reference = match query.reference {
                Some(reference) => duck.call(
                    &json!({"op": "run", "sql": reference.replace("{range}", &range), "runs": 0}),
                ),
                None => duck_answer.clone(),
            };
            let (hex_names, hex_rows) = hexcovery_rows(&answer);
            let duck_names: Vec<String> = if matches!(query.check, Check::Timestamps) {
                // `SELECT *` in DuckDB: the file's column order.
                hexcovery_store::schema::LOGS
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect()
            } else {
                Vec::new()
            };
            if let Some(why) = disagreement(
                query.check,
                &hex_names,
                &hex_rows,
                &duck_names,
                &duck_rows(&reference),
            ) {
                let line = format!("MISMATCH {} at {rows} rows: {why}", query.id);
                println!("{line}");
                mismatches.push(line);
            }
            let (h, d) = (median(&mut hex_times), median(&mut duck_times));
            let table_rows = if query.table == "spans" {
                data.spans
            } else {
                data.logs
            };
            let per_million = h / (table_rows as f64 / 1e6);
            println!(
                "{:<18} {:>13.1} {:>11.1} {:>7.2}x {:>15.2}",
                query.id,
                h,
                d,
                h / d,
                per_million
            );
            measured.push(Measured {
                id: query.id,
                hexcovery_ms: h,
                duckdb_ms: d,
                per_million,
            });
        }
        // Counted once the org has loaded (its first query): loading deletes the files that
        // compaction replaced but no manifest lists any more, which a count straight after
        // shutdown included (136.9 bytes/record at 50 M, 297 log files for 24 hours).
        let telemetry = data_dir.join("telemetry");
        let (log_bytes, log_files) = parquet_bytes(&telemetry, "logs");
        let (span_bytes, span_files) = parquet_bytes(&telemetry, "spans");
        let logs_duck = duck_files.iter().find(|f| f.0 == "logs").unwrap();
        let spans_duck = duck_files.iter().find(|f| f.0 == "spans").unwrap();
        assert_eq!(logs_duck.2, data.logs, "DuckDB's logs file row count");
        if !measured.is_empty() {
            let geomean = (measured
                .iter()
                .map(|m| (m.hexcovery_ms / m.duckdb_ms).ln())
                .sum::<f64>()
                / measured.len() as f64)
                .exp();
            println!("geometric mean of the ratios: {geomean:.2}x");
        }
        println!(
            "storage, logs: hexcovery {:.1} bytes/record ({log_files} files, {:.1} MB) vs DuckDB zstd {:.1} bytes/record ({:.1} MB)",
            log_bytes as f64 / data.logs as f64,
            log_bytes as f64 / 1e6,
            logs_duck.3 as f64 / data.logs as f64,
            logs_duck.3 as f64 / 1e6
        );
        println!(
            "storage, spans: hexcovery {:.1} bytes/record ({span_files} files) vs DuckDB zstd {:.1} bytes/record",
            span_bytes as f64 / data.spans.max(1) as f64,
            spans_duck.3 as f64 / data.spans.max(1) as f64
        );
        println!("ingest: {ingest_rate:.0} records/s");
        all.push((rows, measured));
        drop(server);
        if std::env::var_os("BENCH_COMPARE_KEEP").is_some() {
            println!(
                "kept the data directory and DuckDB's files in {}",
                work.keep().display()
            );
        }
    }
    if all.len() > 1 {
        println!("\nhexcovery ms per million rows of the queried table, by size:");
        print!("{:<18}", "query");
        for (rows, _) in &all {
            print!(" {:>12}", rows);
        }
        println!();
        for query in &queries {
            print!("{:<18}", query.id);
            for (_, measured) in &all {
                match measured.iter().find(|m| m.id == query.id) {
                    Some(m) => print!(" {:>12.2}", m.per_million),
                    None => print!(" {:>12}", "-"),
                }
            }
            println!();
        }
    }
    if !mismatches.is_empty() {
        println!("\n{} MISMATCH(ES):", mismatches.len());
        for line in &mismatches {
            println!("{line}");
        }
        std::process::exit(1);
    }
}
