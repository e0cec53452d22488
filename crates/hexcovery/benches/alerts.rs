//! Alert evaluation benchmark: starts the release `hexcovery serve` on loopback with a
//! temporary data directory, loads one org with HEXCOVERY_BENCH_ALERT_ROWS log records
//! (default 10 million) over OTLP/gRPC, spread in time order over a 30-minute span (10
//! services, 40 hosts, four levels), times each alert query shape over a 5-minute window
//! through `POST /api/v1/dsl` (median of 5 runs after a warm-up), then creates
//! HEXCOVERY_BENCH_ALERT_RULES alert rules (default 1 000, the per-org maximum; interval 1m,
//! window 5m) and measures, over HEXCOVERY_BENCH_ALERT_TICKS ticks (default 2):
//!
//! - evaluation lag: for each tick, how long after the tick instant each rule's `last_eval_at`
//!   first showed that tick in `GET /api/v1/alerts?limit=1000` (polled every 200 ms);
//! - the server process's CPU share (utime + stime from `/proc/<pid>/stat` over wall time ×
//!   cores) while the rules evaluate, against the same length of time with the same rules
//!   paused (and the same polling);
//! - the acknowledgement latency of a steady OTLP ingest load (50 requests/s of 20 records)
//!   in both windows.
//!
//! The span of the loaded rows ends 10 minutes after the load starts, so the ticks measured
//! a few minutes later still find a full 5-minute window (about a sixth of the rows). After
//! the load the benchmark waits until the server has been idle for 35 s (flushing and
//! compaction done), so neither window pays for them.
//!
//! `cargo bench -p hexcovery --bench alerts`

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Api, Cred, PASSWORD, Session, TestServer};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Records per load request.
const BATCH: usize = 10_000;
/// Concurrent load senders.
const SENDERS: u64 = 4;
const SERVICES: u64 = 10;
const HOSTS: u64 = 40;
const USERS: u64 = 5_000;
const MINUTE_NS: u64 = 60_000_000_000;
/// The rules' interval and window.
const INTERVAL: Duration = Duration::from_secs(60);
const WINDOW_MINUTES: i64 = 5;
/// The steady ingest load: a request of `STEADY_RECORDS` records every `STEADY_EVERY`.
const STEADY_EVERY: Duration = Duration::from_millis(20);
const STEADY_RECORDS: usize = 20;
/// How often the rule list is polled.
const POLL_EVERY: Duration = Duration::from_millis(200);

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

fn now_ns() -> u64 {
    Utc::now().timestamp_nanos_opt().unwrap() as u64
}

const ROUTES: [&str; 5] = [
    "/api/v1/orders/:id",
    "/api/v1/cart",
    "/api/v1/checkout",
    "/api/v1/search",
    "/api/v1/users/:id",
];

/// `records` log records of one service and host with times in `[from, from + span)`: 70 %
/// info, 15 % warn (429), 10 % error (500 or 503, a third of them timeouts), 5 % debug.
fn log_batch(rng: &mut Rng, records: usize, from: u64, span: u64) -> ExportLogsServiceRequest {
    let (service, host) = (rng.below(SERVICES), rng.below(HOSTS));
    let records = (0..records)
        .map(|_| {
            let (severity, status) = match rng.below(100) {
                0..70 => (9, 200),
                70..85 => (13, 429),
                85..95 => (17, if rng.below(2) == 0 { 500 } else { 503 }),
                _ => (5, 200),
            };
            let route = ROUTES[rng.below(ROUTES.len() as u64) as usize];
            let ms = rng.below(500);
            let body = if status >= 500 && rng.below(3) == 0 {
                format!("{route} failed with status {status}: upstream timeout after {ms} ms")
            } else {
                format!("{route} completed with status {status} in {ms} ms")
            };
            LogRecord {
                time_unix_nano: from + rng.below(span.max(1)),
                severity_number: severity,
                body: Some(AnyValue {
                    value: Some(Value::StringValue(body)),
                }),
                attributes: vec![
                    attr("http.route", Value::StringValue(route.into())),
                    attr("http.status_code", Value::IntValue(status)),
                    attr(
                        "user.id",
                        Value::StringValue(format!("u{}", rng.below(USERS))),
                    ),
                ],
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
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
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

async fn logs_client(grpc: &str) -> LogsServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(grpc.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    LogsServiceClient::new(channel).max_encoding_message_size(64 << 20)
}

/// Sends `rows` records in `BATCH`-record requests from `SENDERS` concurrent clients, in time
/// order over `[from, from + span)` as if they had arrived over that span; retries when the
/// server sheds load.
async fn load(grpc: &str, key: &str, rows: u64, from: u64, span: u64) {
    let batches = rows.div_ceil(BATCH as u64);
    let slice = span / batches.max(1);
    let mut tasks = Vec::new();
    for sender in 0..SENDERS {
        let (grpc, key) = (grpc.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let mut client = logs_client(&grpc).await;
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (sender + 1));
            for b in (sender..batches).step_by(SENDERS as usize) {
                let records = (rows - b * BATCH as u64).min(BATCH as u64) as usize;
                let batch = log_batch(&mut rng, records, from + b * slice, slice);
                while let Err(status) = client.export(with_key(batch.clone(), &key)).await {
                    assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// The server's pid: the process whose command line names its data directory.
fn server_pid(data_dir: &Path) -> u32 {
    let dir = data_dir.to_string_lossy().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).to_string())
            .collect();
        if args.iter().any(|a| a == "serve") && args.contains(&dir) {
            return pid;
        }
    }
    panic!("no server process found for {dir}");
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces): state is
    // field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU time of the server and of this benchmark between two instants.
#[derive(Clone)]
struct CpuMeter {
    server: String,
    clk: f64,
    cores: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct CpuShare {
    /// Server CPU time over wall time × cores.
    server: f64,
    /// This process's (the clients') CPU time over wall time × cores.
    bench: f64,
}

impl CpuMeter {
    /// Measures from `start` to `end` (in a task of its own).
    fn between(&self, start: Instant, end: Instant) -> tokio::task::JoinHandle<CpuShare> {
        let meter = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let (s0, b0, t0) = (cpu_ticks(&meter.server), cpu_ticks("self"), Instant::now());
            tokio::time::sleep_until(end.into()).await;
            let (s1, b1) = (cpu_ticks(&meter.server), cpu_ticks("self"));
            let wall = t0.elapsed().as_secs_f64() * meter.cores;
            CpuShare {
                server: (s1 - s0) as f64 / meter.clk / wall,
                bench: (b1 - b0) as f64 / meter.clk / wall,
            }
        })
    }

    /// Waits until the server has been (nearly) idle for `quiet` in a row — longer than the
    /// flush interval and a compaction pass, so the load's flushing and compaction are over —
    /// or `most` has passed. Returns the wait and the server's CPU seconds during it.
    async fn settle(&self, quiet: Duration, most: Duration) -> (Duration, f64) {
        let (started, ticks) = (Instant::now(), cpu_ticks(&self.server));
        let mut quiet_since = Instant::now();
        loop {
            let now = Instant::now();
            let share = self
                .between(now, now + Duration::from_secs(5))
                .await
                .unwrap()
                .server;
            if share >= 0.05 {
                quiet_since = Instant::now();
            }
            if quiet_since.elapsed() >= quiet || started.elapsed() >= most {
                let cpu = (cpu_ticks(&self.server) - ticks) as f64 / self.clk;
                return (started.elapsed(), cpu);
            }
        }
    }
}

/// Ingest latencies of a steady load: one `STEADY_RECORDS`-record request every
/// `STEADY_EVERY` from `start` to `end`, each sent on its own (a slow answer does not delay
/// the next request), as current records. Returns the sorted latencies and the errors.
async fn steady_ingest(
    grpc: String,
    key: String,
    start: Instant,
    end: Instant,
) -> (Vec<Duration>, u64) {
    let client = logs_client(&grpc).await;
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut tick = tokio::time::interval_at(start.into(), STEADY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent = Vec::new();
    loop {
        tick.tick().await;
        if Instant::now() >= end {
            break;
        }
        let request = with_key(log_batch(&mut rng, STEADY_RECORDS, now_ns(), 1), &key);
        let mut client = client.clone();
        sent.push(tokio::spawn(async move {
            let began = Instant::now();
            let ok = client.export(request).await.is_ok();
            (began.elapsed(), ok)
        }));
    }
    let (mut latencies, mut errors) = (Vec::with_capacity(sent.len()), 0);
    for request in sent {
        let (latency, ok) = request.await.unwrap();
        if ok {
            latencies.push(latency);
        } else {
            errors += 1;
        }
    }
    latencies.sort();
    (latencies, errors)
}

fn pct<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One alert query shape: how its rules are written and what value a series has in a
/// 5-minute window of `w` rows (to pick thresholds around it).
struct Shape {
    name: &'static str,
    query: fn(usize) -> String,
    expected: fn(f64) -> f64,
    reducer: Option<&'static str>,
}

const SHAPES: [Shape; 8] = [
    Shape {
        name: "errors by service",
        query: |_| {
            "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service"
                .into()
        },
        expected: |w| w * 0.10 / SERVICES as f64,
        reducer: None,
    },
    Shape {
        name: "429 warnings by service (attribute filter)",
        query: |_| {
            "SELECT service, count(*) AS value FROM logs WHERE level = 'warn' AND attributes['http.status_code'] = '429' GROUP BY service".into()
        },
        expected: |w| w * 0.15 / SERVICES as f64,
        reducer: None,
    },
    Shape {
        name: "errors of one service by host",
        query: |i| {
            format!(
                "SELECT host, count(*) AS value FROM logs WHERE level = 'error' AND service = 'service-{}' GROUP BY host",
                i % SERVICES as usize
            )
        },
        expected: |w| w * 0.10 / (SERVICES * HOSTS) as f64,
        reducer: None,
    },
    Shape {
        name: "timeouts by service (body contains)",
        query: |_| {
            "SELECT service, count(*) AS value FROM logs WHERE contains(body, 'timeout') GROUP BY service".into()
        },
        expected: |w| w * 0.10 / 3.0 / SERVICES as f64,
        reducer: None,
    },
    Shape {
        name: "503s of one service (body LIKE)",
        query: |i| {
            format!(
                "SELECT count(*) AS value FROM logs WHERE service = 'service-{}' AND body LIKE '%status 503%'",
                i % SERVICES as usize
            )
        },
        expected: |w| w * 0.05 / SERVICES as f64,
        reducer: None,
    },
    Shape {
        name: "distinct users with errors by service",
        query: |_| {
            "SELECT service, count_distinct(attributes['user.id']) AS value FROM logs WHERE level = 'error' GROUP BY service".into()
        },
        expected: |w| (w * 0.10 / SERVICES as f64).min(USERS as f64),
        reducer: None,
    },
    Shape {
        name: "distinct hosts by service (no filter)",
        query: |_| {
            "SELECT service, count_distinct(host) AS value FROM logs GROUP BY service".into()
        },
        expected: |w| (w / BATCH as f64 / SERVICES as f64).min(HOSTS as f64),
        reducer: None,
    },
    Shape {
        name: "errors per minute by service (bucket, max)",
        query: |_| {
            "SELECT bucket(1m) AS t, service, count(*) AS value FROM logs WHERE level IN ('error', 'fatal') GROUP BY t, service".into()
        },
        expected: |w| w * 0.10 / SERVICES as f64 / WINDOW_MINUTES as f64,
        reducer: Some("max"),
    },
];

/// Thresholds as multiples of a series' expected value: about one rule in eight fires.
const THRESHOLD_FACTORS: [f64; 8] = [0.5, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0];

/// Rule `i`'s condition: a threshold around the value its series have in a window.
fn condition(i: usize, window_rows: f64) -> serde_json::Value {
    let shape = &SHAPES[i % SHAPES.len()];
    let factor = THRESHOLD_FACTORS[(i / SHAPES.len()) % THRESHOLD_FACTORS.len()];
    let threshold = ((shape.expected)(window_rows) * factor).round().max(1.0);
    let mut condition =
        json!({ "op": if i.is_multiple_of(2) { ">" } else { ">=" }, "threshold": threshold });
    if let Some(reducer) = shape.reducer {
        condition["reducer"] = json!(reducer);
    }
    condition
}

/// Rule `i` as created: paused, with a placeholder threshold one above its real one (see
/// the unpausing step for why).
fn rule_body(i: usize, window_rows: f64) -> serde_json::Value {
    let shape = &SHAPES[i % SHAPES.len()];
    let mut placeholder = condition(i, window_rows);
    placeholder["threshold"] = json!(placeholder["threshold"].as_f64().unwrap() + 1.0);
    json!({
        "name": format!("bench rule {i}: {}", shape.name),
        "query": (shape.query)(i),
        "window": format!("{WINDOW_MINUTES}m"),
        "interval": "1m",
        "condition": placeholder,
        "channels": [],
        "paused": true,
    })
}

fn parse_time(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// What the rule list shows of one rule.
struct RuleState {
    id: String,
    last_eval_at: Option<DateTime<Utc>>,
    health: String,
    last_error: Option<String>,
}

async fn list_rules(api: &Api, cred: &Cred) -> Vec<RuleState> {
    let body = api.get("/api/v1/alerts?limit=1000", cred).await.expect(200);
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| RuleState {
            id: r["id"].as_str().unwrap().to_string(),
            last_eval_at: parse_time(&r["last_eval_at"]),
            health: r["health"].as_str().unwrap_or("").to_string(),
            last_error: r["last_error"].as_str().map(str::to_string),
        })
        .collect()
}

/// When each rule's evaluation of each tick first showed up in the list.
struct Tracker {
    ticks: Vec<DateTime<Utc>>,
    index: HashMap<String, usize>,
    /// `[tick][rule]`: the wall time of the first poll answer that showed the tick.
    seen: Vec<Vec<Option<DateTime<Utc>>>>,
    /// `[tick][rule]`: the rule went past the tick without showing it (a skipped tick).
    skipped: Vec<Vec<bool>>,
    last: Vec<RuleState>,
    /// Each rule's `last_eval_at` at the previous poll (none before the first).
    previous: Option<Vec<Option<DateTime<Utc>>>>,
    /// When an evaluation (of any tick) was first seen, one entry per evaluation.
    evaluations: Vec<DateTime<Utc>>,
}

impl Tracker {
    fn new(ids: &[String], ticks: Vec<DateTime<Utc>>) -> Self {
        let n = ids.len();
        Self {
            index: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect(),
            seen: vec![vec![None; n]; ticks.len()],
            skipped: vec![vec![false; n]; ticks.len()],
            ticks,
            last: Vec::new(),
            previous: None,
            evaluations: Vec::new(),
        }
    }

    fn observe(&mut self, rules: Vec<RuleState>, at: DateTime<Utc>) {
        let mut now_seen = vec![None; self.index.len()];
        for rule in &rules {
            let (Some(&r), Some(last)) = (self.index.get(&rule.id), rule.last_eval_at) else {
                continue;
            };
            now_seen[r] = Some(last);
            if let Some(previous) = &self.previous
                && previous[r] != Some(last)
            {
                self.evaluations.push(at);
            }
            for (t, tick) in self.ticks.iter().enumerate() {
                if self.seen[t][r].is_some() || self.skipped[t][r] {
                    continue;
                }
                if last == *tick {
                    self.seen[t][r] = Some(at);
                } else if last > *tick {
                    self.skipped[t][r] = true;
                }
            }
        }
        self.last = rules;
        self.previous = Some(now_seen);
    }

    /// Every rule has shown or skipped the last tick.
    fn done(&self) -> bool {
        let t = self.ticks.len() - 1;
        (0..self.index.len()).all(|r| self.seen[t][r].is_some() || self.skipped[t][r])
    }
}

/// Polls the rule list every `POLL_EVERY` until `end` and, when given, until `tracker` is
/// done or `deadline`. Returns the poll round trips, sorted.
async fn poll(
    api: &Api,
    cred: &Cred,
    end: Instant,
    mut tracker: Option<&mut Tracker>,
    deadline: Instant,
) -> Vec<Duration> {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round_trips = Vec::new();
    loop {
        tick.tick().await;
        let now = Instant::now();
        let tracking_done = tracker.as_ref().is_none_or(|t| t.done());
        if now >= end && (tracking_done || now >= deadline) {
            break;
        }
        let began = Instant::now();
        let rules = list_rules(api, cred).await;
        round_trips.push(began.elapsed());
        if let Some(tracker) = tracker.as_deref_mut() {
            tracker.observe(rules, Utc::now());
        }
    }
    round_trips.sort();
    round_trips
}

fn instant_at(t: DateTime<Utc>) -> Instant {
    let now = Utc::now();
    Instant::now() + (t - now).to_std().unwrap_or_default()
}

async fn login(api: &Api, email: &str) -> Session {
    let body = api.login(email, PASSWORD).await.expect(200);
    Session::from_tokens(&body)
}

/// Runs `f(i)` for `0..n` from four concurrent tasks; returns the answers in order.
async fn each_rule<F, Fut>(n: usize, f: F) -> Vec<serde_json::Value>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = serde_json::Value> + Send + 'static,
{
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (worker..n).step_by(4) {
                out.push((i, f(i).await));
            }
            out
        }));
    }
    let mut answers = vec![serde_json::Value::Null; n];
    for task in tasks {
        for (i, answer) in task.await.unwrap() {
            answers[i] = answer;
        }
    }
    answers
}

struct TickRow {
    at: DateTime<Utc>,
    window_rows: u64,
    evaluated: usize,
    skipped: usize,
    lags: Vec<Duration>,
}

fn main() {
    let rows = env("HEXCOVERY_BENCH_ALERT_ROWS", 10_000_000).max(1);
    let rules_n = env("HEXCOVERY_BENCH_ALERT_RULES", 1_000).clamp(1, 1_000) as usize;
    let ticks_n = env("HEXCOVERY_BENCH_ALERT_TICKS", 2).max(1) as usize;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(data.path(), &["--max-buffer-mb", "4096"]);
    let meter = CpuMeter {
        server: server_pid(data.path()).to_string(),
        clk: clock_ticks_per_second(),
        cores: cores as f64,
    };
    let bench_started = Instant::now();
    let results = runtime.block_on(async {
        let api = server.api();
        let admin = api.signup("bench").await;
        let (_, key) = api.create_key(&admin, "bench").await;
        let key_cred = Cred::Key(key.clone());
        println!(
            "hexcovery alert benchmark: {rows} log rows, {rules_n} rules (interval 1m, window {WINDOW_MINUTES}m), {ticks_n} measured ticks, {cores} cores"
        );

        // 1. Load: 30 minutes of logs in time order, ending 10 minutes after now.
        let load_start = now_ns();
        let span = 30 * MINUTE_NS;
        let started = Instant::now();
        load(&server.grpc, &key, rows, load_start - 20 * MINUTE_NS, span).await;
        let load_time = started.elapsed();
        println!(
            "loaded {rows} rows in {:.1} s ({:.0} rows/s, {SENDERS} senders, {BATCH}-record requests)",
            load_time.as_secs_f64(),
            rows as f64 / load_time.as_secs_f64()
        );
        let (settled, cpu) = meter
            .settle(Duration::from_secs(35), Duration::from_secs(180))
            .await;
        println!(
            "server idle (flushing and compaction done) after {:.0} s, having used {cpu:.1} CPU-s in that time",
            settled.as_secs_f64(),
        );

        // 2. One query of each shape over the last 5 minutes, as a person would run it.
        println!(
            "\n{:<44} {:>9} {:>9} {:>10} {:>6}",
            "query shape (one run, 5-minute window)", "median", "server", "rows read", "files"
        );
        let mut shape_ms = Vec::new();
        for (s, shape) in SHAPES.iter().enumerate() {
            let to = Utc::now().timestamp_millis();
            let body = json!({
                "query": (shape.query)(s),
                "from": to - WINDOW_MINUTES * 60_000,
                "to": to,
            });
            let first = api.post("/api/v1/dsl", &key_cred, body.clone()).await.expect(200);
            let (mut wall, mut server_ms) = (Vec::new(), Vec::new());
            for _ in 0..5 {
                let began = Instant::now();
                let answer = api.post("/api/v1/dsl", &key_cred, body.clone()).await.expect(200);
                wall.push(began.elapsed());
                server_ms.push(answer["stats"]["elapsed_ms"].as_u64().unwrap_or(0));
            }
            wall.sort();
            server_ms.sort();
            shape_ms.push(ms(wall[2]));
            println!(
                "{:<44} {:>6.1} ms {:>6} ms {:>10} {:>6}",
                shape.name,
                ms(wall[2]),
                server_ms[2],
                first["stats"]["rows_scanned"],
                first["stats"]["files_scanned"],
            );
        }
        let sequential: f64 = (0..rules_n).map(|i| shape_ms[i % SHAPES.len()]).sum::<f64>() / 1e3;
        println!(
            "{rules_n} rules × these times = {sequential:.1} s of queries per tick, run one at a time"
        );

        // 3. The rules, created paused.
        let session = login(&api, &admin.email).await;
        let window_rows = rows as f64 / 6.0;
        let started = Instant::now();
        let created = each_rule(rules_n, {
            let (api, cred) = (api.clone(), session.jwt());
            move |i| {
                let (api, cred) = (api.clone(), cred.clone());
                async move {
                    api.post("/api/v1/alerts", &cred, rule_body(i, window_rows))
                        .await
                        .expect(201)
                }
            }
        })
        .await;
        let create_time = started.elapsed();
        let ids: Vec<String> = created
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        println!(
            "\ncreated {rules_n} paused rules in {:.1} s ({:.1} ms each, 4 at a time)",
            create_time.as_secs_f64(),
            ms(create_time) / rules_n as f64
        );

        // 4. Baseline: the rules paused, the same polling, the steady ingest load.
        let measure = INTERVAL * ticks_n as u32;
        let cred = session.jwt();
        let (start, end) = (Instant::now() + Duration::from_secs(1), Instant::now() + Duration::from_secs(1) + measure);
        let cpu = meter.between(start, end);
        let ingest = tokio::spawn(steady_ingest(server.grpc.clone(), key.clone(), start, end));
        let baseline_polls = poll(&api, &cred, end, None, end).await;
        let baseline_cpu = cpu.await.unwrap();
        let (baseline_ingest, baseline_errors) = ingest.await.unwrap();
        println!(
            "baseline ({:.0} s, rules paused): server CPU {:.1} %, ingest p50 {:.1} ms p99 {:.1} ms ({} requests, {} errors), list poll p50 {:.1} ms",
            measure.as_secs_f64(),
            baseline_cpu.server * 100.0,
            ms(pct(&baseline_ingest, 0.50)),
            ms(pct(&baseline_ingest, 0.99)),
            baseline_ingest.len(),
            baseline_errors,
            ms(pct(&baseline_polls, 0.5)),
        );

        // 5. Unpause every rule, within one minute so they share their first tick. Unpausing
        // alone keeps a rule's stored tick, which passed while it was paused, so every rule
        // would be due at once and evaluated late for that old tick; setting the real
        // condition at the same time resets the rule (it has no instances yet) and schedules
        // it at the next whole minute, as a new rule.
        let session = login(&api, &admin.email).await;
        let cred = session.jwt();
        let needed = create_time.as_secs_f64() * 1.5 + 3.0;
        let into_minute = (Utc::now().timestamp_millis() % 60_000) as f64 / 1e3;
        if needed < 55.0 && into_minute + needed > 59.0 {
            tokio::time::sleep(Duration::from_secs_f64(60.5 - into_minute)).await;
        }
        let started = Instant::now();
        let unpaused = each_rule(rules_n, {
            let (api, cred, ids) = (api.clone(), cred.clone(), ids.clone());
            move |i| {
                let (api, cred, id) = (api.clone(), cred.clone(), ids[i].clone());
                async move {
                    api.patch(&format!("/api/v1/alerts/{id}"), &cred, json!({ "paused": false, "condition": condition(i, window_rows) }))
                        .await
                        .expect(200)
                }
            }
        })
        .await;
        let first_ticks: Vec<DateTime<Utc>> = unpaused
            .iter()
            .map(|r| parse_time(&r["next_eval_at"]).unwrap())
            .collect();
        let t1 = *first_ticks.iter().max().unwrap();
        if t1 <= Utc::now() {
            println!("warning: the first tick {t1} had already passed when unpausing ended");
        }
        let early = first_ticks.iter().filter(|t| **t < t1).count();
        println!(
            "unpaused {rules_n} rules in {:.1} s; first tick {t1}{}",
            started.elapsed().as_secs_f64(),
            if early > 0 { format!(" ({early} rules were due a minute earlier)") } else { String::new() }
        );

        // 6. The measured ticks.
        let ticks: Vec<DateTime<Utc>> = (0..ticks_n)
            .map(|k| t1 + TimeDelta::seconds(60 * k as i64))
            .collect();
        let mut tracker = Tracker::new(&ids, ticks.clone());
        let (start, end) = (instant_at(t1), instant_at(t1) + measure);
        let deadline = instant_at(*ticks.last().unwrap()) + Duration::from_secs(180);
        let cpu = meter.between(start, end);
        let ingest = tokio::spawn(steady_ingest(server.grpc.clone(), key.clone(), start, end));
        let polls = poll(&api, &cred, end, Some(&mut tracker), deadline).await;
        let loaded_cpu = cpu.await.unwrap();
        let (loaded_ingest, loaded_errors) = ingest.await.unwrap();
        let window_end = t1 + TimeDelta::from_std(measure).unwrap();
        let evaluated_in_window = tracker
            .evaluations
            .iter()
            .filter(|at| **at >= t1 && **at < window_end)
            .count();

        let mut tick_rows = Vec::new();
        for (t, at) in ticks.iter().enumerate() {
            let from = (*at - TimeDelta::minutes(WINDOW_MINUTES)).timestamp_millis();
            let count = api
                .post(
                    "/api/v1/dsl",
                    &key_cred,
                    json!({ "query": "SELECT count(*) AS value FROM logs", "from": from, "to": at.timestamp_millis() }),
                )
                .await
                .expect(200);
            let mut lags: Vec<Duration> = tracker.seen[t]
                .iter()
                .flatten()
                .map(|seen| (*seen - *at).to_std().unwrap_or_default())
                .collect();
            lags.sort();
            tick_rows.push(TickRow {
                at: *at,
                window_rows: count["rows"][0][0].as_u64().unwrap_or(0),
                evaluated: lags.len(),
                skipped: tracker.skipped[t].iter().filter(|s| **s).count(),
                lags,
            });
        }
        let mut health: HashMap<String, usize> = HashMap::new();
        let mut errors: Vec<String> = Vec::new();
        for rule in &tracker.last {
            *health.entry(rule.health.clone()).or_default() += 1;
            if let Some(e) = &rule.last_error
                && !errors.contains(e)
            {
                errors.push(e.clone());
            }
        }
        let firing = api
            .get("/api/v1/alert-instances?state=firing&limit=10000", &cred)
            .await
            .expect(200)["alert_instances"]
            .as_array()
            .map_or(0, Vec::len);
        println!(
            "rule health after the run: {health:?}; firing instances: {firing}; list poll p50 {:.1} ms, max {:.1} ms ({} polls)",
            ms(pct(&polls, 0.5)),
            ms(*polls.last().unwrap_or(&Duration::ZERO)),
            polls.len()
        );
        for e in errors.iter().take(5) {
            println!("  last_error: {e}");
        }
        (
            load_time,
            tick_rows,
            (baseline_cpu, loaded_cpu),
            (baseline_ingest, baseline_errors, loaded_ingest, loaded_errors),
            (sequential, evaluated_in_window),
        )
    });
    let (load_time, tick_rows, (baseline_cpu, loaded_cpu), ingest, (sequential, evaluated)) =
        results;
    let (baseline_ingest, baseline_errors, loaded_ingest, loaded_errors) = ingest;

    println!(
        "\n{rows} rows loaded in {:.1} s ({:.0} rows/s); {rules_n} rules, interval 1m, window {WINDOW_MINUTES}m; {cores} cores; lag = tick → evaluation visible in the rule list (200 ms polls)\n",
        load_time.as_secs_f64(),
        rows as f64 / load_time.as_secs_f64()
    );
    println!(
        "| tick | rows in window | evaluated | skipped | lag p50 | lag p95 | lag max | all done |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &tick_rows {
        let all_done = if row.evaluated == rules_n {
            format!("{:.1} s", row.lags.last().unwrap().as_secs_f64())
        } else {
            format!("not all ({} of {rules_n})", row.evaluated)
        };
        println!(
            "| {} | {} | {} | {} | {:.1} s | {:.1} s | {:.1} s | {} |",
            row.at.format("%H:%M:%S"),
            row.window_rows,
            row.evaluated,
            row.skipped,
            pct(&row.lags, 0.50).as_secs_f64(),
            pct(&row.lags, 0.95).as_secs_f64(),
            row.lags.last().copied().unwrap_or_default().as_secs_f64(),
            all_done,
        );
    }
    let window_secs = INTERVAL.as_secs_f64() * ticks_n as f64;
    println!(
        "\nevaluations recorded in the {window_secs:.0} s after the first tick: {evaluated} ({:.1} per s, {:.0} ms of wall time each at 2 at a time); one query of each shape alone, summed over the rules: {sequential:.1} s per tick\n",
        evaluated as f64 / window_secs,
        2.0 * window_secs * 1e3 / evaluated.max(1) as f64,
    );
    println!(
        "| {:.0} s window | rules paused | {rules_n} rules evaluating |",
        INTERVAL.as_secs_f64() * ticks_n as f64
    );
    println!("|---|---|---|");
    println!(
        "| server CPU (share of {cores} cores) | {:.1} % | {:.1} % |",
        baseline_cpu.server * 100.0,
        loaded_cpu.server * 100.0
    );
    println!(
        "| benchmark client CPU | {:.1} % | {:.1} % |",
        baseline_cpu.bench * 100.0,
        loaded_cpu.bench * 100.0
    );
    for (name, p) in [("p50", 0.50), ("p99", 0.99)] {
        println!(
            "| ingest ack {name} ({STEADY_RECORDS}-record requests, {}/s) | {:.1} ms | {:.1} ms |",
            (1.0 / STEADY_EVERY.as_secs_f64()).round(),
            ms(pct(&baseline_ingest, p)),
            ms(pct(&loaded_ingest, p)),
        );
    }
    println!(
        "| ingest ack max | {:.1} ms | {:.1} ms |",
        ms(*baseline_ingest.last().unwrap_or(&Duration::ZERO)),
        ms(*loaded_ingest.last().unwrap_or(&Duration::ZERO)),
    );
    println!(
        "| ingest requests (errors) | {} ({baseline_errors}) | {} ({loaded_errors}) |",
        baseline_ingest.len(),
        loaded_ingest.len()
    );

    let log = server.log();
    let notable: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    println!(
        "\nserver log: {} lines, {} warnings/errors{}",
        log.lines().count(),
        notable.len(),
        if notable.is_empty() {
            ""
        } else {
            "; the last ones:"
        }
    );
    for line in notable.iter().rev().take(10).rev() {
        println!("  {line}");
    }
    println!(
        "benchmark took {:.0} s",
        bench_started.elapsed().as_secs_f64()
    );
    drop(server);
}
