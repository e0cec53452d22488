//! Fairness benchmark (SPEC §13, issue #13): for each way one org, or a client with no
//! credential, can try to hurt another, starts the release `hexcovery serve` on loopback
//! (port 0, temporary data directory) and measures org B's OTLP acknowledgement latency and
//! light query latency (p50/p99) alone and under org A's abuse, then prints one table.
//!
//! `cargo bench -p hexcovery --bench fairness` (env: BENCH_FAIR_SECS, the least time B is
//! measured per phase, default 10; BENCH_FAIR_ACKS and BENCH_FAIR_QUERIES, the least samples
//! per phase, default 100 and 30; BENCH_FAIR_ORGS, default 1500; BENCH_FAIR_HEAVY_ROWS, A's
//! rows for the query case, default 200000; BENCH_FAIR_CASES, e.g. `1,3,5`, default all).

#[path = "../tests/common/mod.rs"]
mod common;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use common::{Session, TestServer};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value as AnyKind};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message as _;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
/// B's light query, over the last hour.
const LIGHT: &str = "SELECT count() FROM logs";
/// A's heavy query: groups every distinct body and sorts the groups (as query_fairness.rs).
const HEAVY: &str = "SELECT body, count(*) AS n, min(severity_text), max(service) FROM logs \
                     GROUP BY body ORDER BY body DESC LIMIT 5";
/// Hours each of A's pathological requests covers (29 days, inside the 30-day retention).
const HOURS: i64 = 29 * 24;
/// Records B holds before it is measured.
const B_SEED: usize = 1000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy)]
struct Knobs {
    secs: u64,
    acks: usize,
    queries: usize,
    orgs: usize,
    heavy_rows: usize,
}

// ---------------------------------------------------------------------------------------
// Clients

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// POSTs JSON (with an API key if given); the status and the JSON answer, or the error.
async fn post_json(
    http: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    bearer: Option<&str>,
    body: &Value,
) -> Result<(u16, Value), String> {
    let mut request = http.post(url).json(body);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// OTLP/HTTP JSON log records, one per (time, body).
fn log_json(service: &str, records: &[(DateTime<Utc>, String)]) -> Value {
    json!({"resourceLogs": [{"resource": common::otlp::resource(service, "web-1"),
        "scopeLogs": [{"logRecords": records.iter().map(|(at, body)| json!({
            "timeUnixNano": at.timestamp_nanos_opt().unwrap().to_string(),
            "severityText": "INFO", "body": {"stringValue": body}
        })).collect::<Vec<_>>()}]}]})
}

/// `n` protobuf log records at `at`, record `i` with body `body(i)`.
fn proto_logs(n: usize, at: DateTime<Utc>, body: impl Fn(usize) -> String) -> Bytes {
    let t = at.timestamp_nanos_opt().unwrap() as u64;
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                attributes: vec![opentelemetry_proto::tonic::common::v1::KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(AnyKind::StringValue("api".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: t + i as u64,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(AnyKind::StringValue(body(i))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Bytes::from(request.encode_to_vec())
}

async fn post_proto(
    http: &reqwest::Client,
    server: &TestServer,
    key: Option<&str>,
    body: Bytes,
) -> Result<u16, String> {
    let mut request = http
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("content-type", "application/x-protobuf")
        .body(body);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    Ok(status)
}

/// An org: its admin session and an API key.
struct Org {
    session: Session,
    key: String,
}

async fn try_org(http: &reqwest::Client, server: &TestServer, slug: &str) -> Result<Org, String> {
    let body = json!({ "org_name": format!("Org {slug}"), "org_slug": slug,
        "email": format!("admin@{slug}.io"), "password": common::PASSWORD, "name": "Admin" });
    let (status, answer) =
        post_json(http, &server.url("/api/v1/auth/signup"), None, None, &body).await?;
    if status != 201 {
        return Err(format!("signup {status}: {answer}"));
    }
    let session = Session::from_tokens(&answer);
    let (status, answer) = post_json(
        http,
        &server.url("/api/v1/api-keys"),
        None,
        Some(&session.access_token),
        &json!({ "name": "agent" }),
    )
    .await?;
    if status != 201 {
        return Err(format!("api key {status}: {answer}"));
    }
    let key = answer["key"].as_str().unwrap_or_default().to_string();
    Ok(Org { session, key })
}

async fn org(server: &TestServer, slug: &str) -> Org {
    try_org(&http_client(), server, slug)
        .await
        .unwrap_or_else(|e| panic!("org {slug}: {e}"))
}

/// Gives B [`B_SEED`] records of the last minute, so its count has something to read.
async fn seed(server: &TestServer, key: &str) {
    let now = Utc::now();
    let records: Vec<_> = (0..B_SEED).map(|i| (now, format!("seed {i}"))).collect();
    let (status, answer) = post_json(
        &http_client(),
        &format!("{}/v1/logs", server.otlp_http),
        Some(key),
        None,
        &log_json("web", &records),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
}

/// `query` as `key` over the last hour: its latency and the first cell, or the error.
async fn dsl(
    http: &reqwest::Client,
    api: &str,
    key: &str,
    query: &str,
) -> Result<(Duration, Value), String> {
    let now = Utc::now();
    let body = json!({ "query": query,
        "from": (now - TimeDelta::hours(1)).timestamp_millis(),
        "to": (now + TimeDelta::minutes(1)).timestamp_millis() });
    let began = Instant::now();
    let (status, answer) =
        post_json(http, &format!("{api}/api/v1/dsl"), Some(key), None, &body).await?;
    let took = began.elapsed();
    if status != 200 {
        return Err(format!("{status}: {answer}"));
    }
    Ok((took, answer["rows"][0][0].clone()))
}

// ---------------------------------------------------------------------------------------
// Org B's probe

/// Where B's probe sends.
#[derive(Clone)]
struct Target {
    otlp: String,
    api: String,
    key: String,
}

impl Target {
    fn new(server: &TestServer, key: &str) -> Self {
        Self {
            otlp: server.otlp_http.clone(),
            api: server.base.clone(),
            key: key.to_string(),
        }
    }
}

#[derive(Default)]
struct Probe {
    acks: Vec<Duration>,
    acks_refused: usize,
    queries: Vec<Duration>,
    queries_failed: usize,
    first_error: Option<String>,
}

/// B's sequential one-record acknowledgements, then its sequential light queries: each until
/// it has its least samples and half the phase time, or six phases (at least a minute) passed.
async fn probe(target: Target, knobs: Knobs) -> Probe {
    let http = http_client();
    let mut p = Probe::default();
    let half = Duration::from_secs(knobs.secs) / 2;
    let cap = Duration::from_secs((knobs.secs * 6).max(60));
    let url = format!("{}/v1/logs", target.otlp);
    let started = Instant::now();
    let mut i = 0u64;
    while (p.acks.len() < knobs.acks || started.elapsed() < half) && started.elapsed() < cap {
        i += 1;
        let body = log_json("web", &[(Utc::now(), format!("probe {i}"))]);
        let began = Instant::now();
        match post_json(&http, &url, Some(&target.key), None, &body).await {
            Ok((200, _)) => p.acks.push(began.elapsed()),
            other => {
                p.acks_refused += 1;
                p.first_error
                    .get_or_insert_with(|| format!("ack: {other:?}"));
            }
        }
    }
    let started = Instant::now();
    while (p.queries.len() < knobs.queries || started.elapsed() < half) && started.elapsed() < cap {
        match dsl(&http, &target.api, &target.key, LIGHT).await {
            Ok((took, _)) => p.queries.push(took),
            Err(e) => {
                p.queries_failed += 1;
                p.first_error.get_or_insert_with(|| format!("query: {e}"));
            }
        }
    }
    p
}

/// Runs B's probe on a thread and runtime of its own, so A's client tasks never delay B's
/// requests inside this process (they still share the machine's cores with the server).
async fn probe_b(target: &Target, knobs: Knobs) -> Probe {
    let target = target.clone();
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(probe(target, knobs))
    })
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// Reporting

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn cell(samples: &[Duration], failed: usize, what: &str) -> String {
    let mut text = if samples.is_empty() {
        "—".to_string()
    } else {
        format!(
            "{} / {} ms",
            ms(percentile(samples, 0.50)),
            ms(percentile(samples, 0.99))
        )
    };
    if failed > 0 {
        text.push_str(&format!(" ({failed} {what})"));
    }
    text
}

struct Row {
    case: String,
    alone: Arc<Probe>,
    under: Probe,
    notes: String,
}

impl Row {
    fn print(&self) {
        let counts = format!(
            "B: {} acks, {} queries alone; {} acks, {} queries under abuse",
            self.alone.acks.len(),
            self.alone.queries.len(),
            self.under.acks.len(),
            self.under.queries.len()
        );
        let error = [&self.alone.first_error, &self.under.first_error]
            .into_iter()
            .flatten()
            .next()
            .map(|e| {
                format!(
                    "; B's first error: {}",
                    e.chars().take(160).collect::<String>()
                )
            })
            .unwrap_or_default();
        println!(
            "| {} | {} | {} | {} | {} | {}; {counts}{error} |",
            self.case,
            cell(&self.alone.acks, self.alone.acks_refused, "refused"),
            cell(&self.under.acks, self.under.acks_refused, "refused"),
            cell(&self.alone.queries, self.alone.queries_failed, "failed"),
            cell(&self.under.queries, self.under.queries_failed, "failed"),
            self.notes
        );
    }
}

/// User plus system CPU ticks (1/100 s) of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// CPU use of the server and of this benchmark over a window, as shares of the machine.
struct CpuWindow {
    pid: u32,
    server: u64,
    bench: u64,
    at: Instant,
}

impl CpuWindow {
    fn start(server: &TestServer) -> Self {
        Self {
            pid: server.pid(),
            server: cpu_ticks(server.pid()),
            bench: cpu_ticks(std::process::id()),
            at: Instant::now(),
        }
    }

    fn note(&self) -> String {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let wall = self.at.elapsed().as_secs_f64() * 100.0 * cores;
        format!(
            "CPU under abuse: server {:.0} %, benchmark clients {:.0} % of {cores} cores",
            cpu_ticks(self.pid).saturating_sub(self.server) as f64 / wall * 100.0,
            cpu_ticks(std::process::id()).saturating_sub(self.bench) as f64 / wall * 100.0
        )
    }
}

/// The server's `VmRSS` and `VmHWM` (peak), in MiB.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

// ---------------------------------------------------------------------------------------
// 1. Pathological timestamps

/// Hour partitions the org's logs have on disk (as flush_fairness.rs counts them).
fn partitions(data_dir: &Path, org: &str) -> usize {
    let table = data_dir.join(format!("telemetry/org={org}/logs"));
    std::fs::read_dir(&table)
        .map(|days| {
            days.filter_map(Result::ok)
                .filter(|d| d.file_name().to_string_lossy().starts_with("dt="))
                .map(|d| std::fs::read_dir(d.path()).map_or(0, |h| h.count()))
                .sum()
        })
        .unwrap_or(0)
}

async fn timestamps(knobs: Knobs) -> Vec<Row> {
    let server = TestServer::start_with(&["--flush-interval-secs", "1"]);
    let a = org(&server, "spreads-hours").await;
    let b = org(&server, "steady").await;
    seed(&server, &b.key).await;
    let target = Target::new(&server, &b.key);
    let alone = Arc::new(probe_b(&target, knobs).await);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let mut abusers = Vec::new();
    for client in 0..2 {
        let (stop, tally, key) = (stop.clone(), tally.clone(), a.key.clone());
        let url = format!("{}/v1/logs", server.otlp_http);
        abusers.push(tokio::spawn(async move {
            let http = http_client();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let now = Utc::now();
                let records: Vec<_> = (0..HOURS)
                    .map(|h| (now - TimeDelta::hours(h), format!("a{client} {n} {h}")))
                    .collect();
                n += 1;
                let slot = match post_json(
                    &http,
                    &url,
                    Some(&key),
                    None,
                    &log_json("api", &records),
                )
                .await
                {
                    Ok((200, _)) => 0,
                    Ok((503, _)) => 1,
                    _ => 2,
                };
                tally[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Under way once A's flushes have written a file in most of those hours.
    let deadline = Instant::now() + Duration::from_secs(60);
    while partitions(&server.data_dir, &a.session.org_id) < HOURS as usize / 2
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reached = partitions(&server.data_dir, &a.session.org_id);
    let cpu = CpuWindow::start(&server);
    let under = probe_b(&target, knobs).await;
    let cpu = cpu.note();
    stop.store(true, Ordering::Relaxed);
    for abuser in abusers {
        abuser.await.unwrap();
    }
    let parts = partitions(&server.data_dir, &a.session.org_id);
    vec![Row {
        case: "1. pathological timestamps (A: 2 clients, each request 696 records, one per hour of 29 days; flush every 1 s)".into(),
        alone,
        under,
        notes: format!(
            "A: {} requests acked, {} shed 503, {} other; A's hour partitions on disk {reached} when B started, {parts} at the end; {cpu}",
            tally[0].load(Ordering::Relaxed),
            tally[1].load(Ordering::Relaxed),
            tally[2].load(Ordering::Relaxed)
        ),
    }]
}

// ---------------------------------------------------------------------------------------
// 2. Open files

async fn many_orgs(knobs: Knobs) -> Vec<Row> {
    let server = Arc::new(TestServer::start_with(&["--max-signups-per-address", "0"]));
    let pid = server.pid();
    let status = std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        .arg("--nofile=1024:1024")
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit failed");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(line.contains("1024"), "{line}");

    let b = org(&server, "steady").await;
    seed(&server, &b.key).await;
    let target = Target::new(&server, &b.key);
    let alone = Arc::new(probe_b(&target, knobs).await);

    const IN_FLIGHT: usize = 8;
    let progress = Arc::new(AtomicUsize::new(0));
    let peak_files = Arc::new(AtomicUsize::new(open_files(pid)));
    let started = Instant::now();
    let loader = {
        let (server, progress, peak_files) = (server.clone(), progress.clone(), peak_files.clone());
        tokio::spawn(async move {
            let http = http_client();
            let (mut failures, mut first_failure, mut unhealthy) = (0usize, None, 0usize);
            for chunk in (0..knobs.orgs).collect::<Vec<_>>().chunks(IN_FLIGHT) {
                let mut batch = tokio::task::JoinSet::new();
                for &i in chunk {
                    let (server, http) = (server.clone(), http.clone());
                    batch.spawn(async move {
                        let org = try_org(&http, &server, &format!("org-{i}")).await?;
                        let body = log_json("api", &[(Utc::now(), format!("hello from org {i}"))]);
                        let url = format!("{}/v1/logs", server.otlp_http);
                        match post_json(&http, &url, Some(&org.key), None, &body).await? {
                            (200, answer) if answer.get("partialSuccess").is_none() => Ok(()),
                            (status, answer) => Err(format!("ingest {status}: {answer}")),
                        }
                    });
                }
                for result in batch.join_all().await {
                    if let Err(e) = result {
                        failures += 1;
                        first_failure.get_or_insert(e);
                    }
                }
                let done = progress.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len();
                peak_files.fetch_max(open_files(server.pid()), Ordering::Relaxed);
                if done % 250 < IN_FLIGHT {
                    let health = http.get(server.url("/healthz")).send().await;
                    if !health.is_ok_and(|h| h.status() == 200) {
                        unhealthy += 1;
                    }
                }
            }
            (failures, first_failure, unhealthy)
        })
    };
    // B during the load, from two thirds of the orgs on (where the old server ran out).
    while progress.load(Ordering::Relaxed) < knobs.orgs * 2 / 3 && !loader.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let from = progress.load(Ordering::Relaxed);
    let cpu = CpuWindow::start(&server);
    let during = probe_b(&target, knobs).await;
    let cpu = cpu.note();
    let to = progress.load(Ordering::Relaxed);
    let (failures, first_failure, unhealthy) = loader.await.unwrap();
    let load_secs = started.elapsed().as_secs();
    let after = probe_b(&target, knobs).await;

    let http = http_client();
    let healthz = http
        .get(server.url("/healthz"))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    let readyz = http
        .get(server.url("/readyz"))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    let late = match try_org(&http, &server, "late-comer").await {
        Ok(late) => {
            let body = log_json("api", &[(Utc::now(), "late".to_string())]);
            let url = format!("{}/v1/logs", server.otlp_http);
            match post_json(&http, &url, Some(&late.key), None, &body).await {
                Ok((200, _)) => "signed up and sent".to_string(),
                other => format!("signed up, send failed: {other:?}"),
            }
        }
        Err(e) => format!("failed: {e}"),
    };
    let emfile = server.log().contains("Too many open files");
    let failure_note = first_failure
        .map(|e| format!(" (first: {})", e.chars().take(120).collect::<String>()))
        .unwrap_or_default();
    let summary = format!(
        "{} orgs signed up and sent one record each in {load_secs} s, {failures} failed{failure_note}; \
         /healthz failed {unhealthy} of the checks every 250 orgs; server's peak open files {}; \
         after: /healthz {healthz}, /readyz {readyz}, a late-comer org {late}; \"Too many open files\" logged: {emfile}",
        knobs.orgs,
        peak_files.load(Ordering::Relaxed),
    );
    vec![
        Row {
            case: format!(
                "2a. open files, during the load ({} orgs each sending one record, server under prlimit --nofile=1024)",
                knobs.orgs
            ),
            alone: alone.clone(),
            under: during,
            notes: format!("B measured while orgs {from}–{to} signed up and sent; {cpu}"),
        },
        Row {
            case: format!("2b. open files, after the {} orgs", knobs.orgs),
            alone,
            under: after,
            notes: summary,
        },
    ]
}

// ---------------------------------------------------------------------------------------
// 3. Unauthenticated 15 MiB requests

/// A codec that sends and receives messages as raw bytes (as ingest_limits.rs).
#[derive(Clone, Default)]
struct Raw;
struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put(dst, item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Bytes>, tonic::Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n)))
    }
}

async fn grpc_channel(url: &str) -> Option<tonic::client::Grpc<tonic::transport::Channel>> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .ok()?
        .connect()
        .await
        .ok()?;
    Some(tonic::client::Grpc::new(channel).max_encoding_message_size(64 << 20))
}

async fn big_unauthenticated(knobs: Knobs) -> Vec<Row> {
    let server = TestServer::start();
    let b = org(&server, "steady").await;
    seed(&server, &b.key).await;
    let target = Target::new(&server, &b.key);
    let alone = Arc::new(probe_b(&target, knobs).await);
    let (rest, _) = memory_mib(server.pid());

    let message = proto_logs(15_000, Utc::now(), |_| "x".repeat(1000));
    let size_mib = message.len() as f64 / (1 << 20) as f64;
    let stop = Arc::new(AtomicBool::new(false));
    // refused (401 / Unauthenticated), shed (503 / Unavailable), reset or other errors
    let tally = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let clients: Vec<_> = (0..32)
        .map(|i| {
            let (stop, tally, message) = (stop.clone(), tally.clone(), message.clone());
            let (grpc_url, http_url) = (server.grpc.clone(), server.otlp_http.clone());
            tokio::spawn(async move {
                let http = http_client();
                let mut grpc = None;
                while !stop.load(Ordering::Relaxed) {
                    let slot = if i % 2 == 0 {
                        if grpc.is_none() {
                            grpc = grpc_channel(&grpc_url).await;
                        }
                        let Some(client) = grpc.as_mut() else {
                            tally[2].fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        };
                        let sent = match client.ready().await {
                            Ok(()) => {
                                client
                                    .unary(
                                        tonic::Request::new(message.clone()),
                                        LOGS_EXPORT.parse().unwrap(),
                                        Raw,
                                    )
                                    .await
                            }
                            Err(e) => Err(tonic::Status::unknown(e.to_string())),
                        };
                        match sent {
                            Err(s) if s.code() == tonic::Code::Unauthenticated => 0,
                            Err(s) if s.code() == tonic::Code::Unavailable => 1,
                            _ => {
                                grpc = None;
                                2
                            }
                        }
                    } else {
                        let sent = http
                            .post(format!("{http_url}/v1/logs"))
                            .header("content-type", "application/x-protobuf")
                            .body(message.clone())
                            .send()
                            .await;
                        match sent.map(|r| r.status().as_u16()) {
                            Ok(401) => 0,
                            Ok(503) => 1,
                            _ => 2,
                        }
                    };
                    tally[slot].fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Let the flood build up before B is measured.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = CpuWindow::start(&server);
    let under = probe_b(&target, knobs).await;
    let cpu = cpu.note();
    let (during, _) = memory_mib(server.pid());
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let (after, peak) = memory_mib(server.pid());
    vec![Row {
        case: format!(
            "3. 32 unauthenticated {size_mib:.1} MiB requests in parallel, looping (16 gRPC, 16 HTTP)"
        ),
        alone,
        under,
        notes: format!(
            "A: {} refused (401 / Unauthenticated), {} shed (503 / Unavailable), {} connection resets or other errors; \
             server RSS {rest} MiB at rest, {during} MiB at the end of the flood, peak (VmHWM) {peak} MiB, {after} MiB after; {cpu}",
            tally[0].load(Ordering::Relaxed),
            tally[1].load(Ordering::Relaxed),
            tally[2].load(Ordering::Relaxed)
        ),
    }]
}

// ---------------------------------------------------------------------------------------
// 4. Login flood

/// The `n`-th attacker address: 127.0.1.1, 127.0.2.1, … 127.0.254.1, 127.0.1.2, … (any
/// 127.x.y.z is this machine): consecutive addresses lie in different /24 networks, so the
/// flood comes from as many networks as it has clients.
fn address(n: usize) -> Ipv4Addr {
    let n = n % (254 * 254);
    Ipv4Addr::new(127, 0, 1 + (n % 254) as u8, 1 + (n / 254) as u8)
}

fn client_from(addr: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(addr))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// B's admin logs in with the right password, retrying after a second while told `busy`.
async fn valid_login(server: &TestServer, b: &Org) -> (Duration, u16, usize) {
    let http = http_client();
    let body = json!({ "email": b.session.email, "password": common::PASSWORD });
    let started = Instant::now();
    let mut retries = 0;
    loop {
        let answer = post_json(&http, &server.url("/api/v1/auth/login"), None, None, &body).await;
        match answer {
            Ok((503, _)) if retries < 60 => {
                retries += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok((status, _)) => return (started.elapsed(), status, retries),
            Err(_) => return (started.elapsed(), 0, retries),
        }
    }
}

async fn login_flood(knobs: Knobs) -> Vec<Row> {
    let server = TestServer::start();
    let b = org(&server, "steady").await;
    seed(&server, &b.key).await;
    let target = Target::new(&server, &b.key);
    let alone = Arc::new(probe_b(&target, knobs).await);
    let (login_alone, _, _) = valid_login(&server, &b).await;

    const ATTACKERS: usize = 32;
    let stop = Arc::new(AtomicBool::new(false));
    let next_address = Arc::new(AtomicUsize::new(0));
    // 401 invalid_credentials, 503 busy, 429 throttled (the attacker moves on), other
    let tally = Arc::new([
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ]);
    let url = server.url("/api/v1/auth/login");
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|i| {
            let (stop, next_address, tally, url) = (
                stop.clone(),
                next_address.clone(),
                tally.clone(),
                url.clone(),
            );
            tokio::spawn(async move {
                let mut http = client_from(address(next_address.fetch_add(1, Ordering::Relaxed)));
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body = json!({ "email": format!("nobody-{i}-{n}@flood.io"),
                                       "password": "wrong password!!" });
                    let slot = match post_json(&http, &url, None, None, &body).await {
                        Ok((401, _)) => 0,
                        Ok((503, _)) => 1,
                        Ok((429, _)) => {
                            // This address used its free failures: take the next one.
                            http =
                                client_from(address(next_address.fetch_add(1, Ordering::Relaxed)));
                            2
                        }
                        _ => 3,
                    };
                    tally[slot].fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // The flood is on once the hashing pool has turned someone away.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tally[1].load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = CpuWindow::start(&server);
    let under = probe_b(&target, knobs).await;
    let cpu = cpu.note();
    let (login_under, login_status, retries) = valid_login(&server, &b).await;
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.await.unwrap();
    }
    let sent: u64 = tally.iter().map(|t| t.load(Ordering::Relaxed)).sum();
    vec![Row {
        case: format!(
            "4. login flood ({ATTACKERS} clients, wrong passwords for unknown emails, each from its own loopback address in its own /24, a fresh one when throttled)"
        ),
        alone,
        under,
        notes: format!(
            "A: {sent} logins from {} addresses: {} 401, {} 503 busy, {} 429 throttled, {} other; \
             B's valid login {} ms alone, {} ms under the flood (answer {login_status} after {retries} busy retries); {cpu}",
            next_address.load(Ordering::Relaxed),
            tally[0].load(Ordering::Relaxed),
            tally[1].load(Ordering::Relaxed),
            tally[2].load(Ordering::Relaxed),
            tally[3].load(Ordering::Relaxed),
            ms(login_alone),
            ms(login_under),
        ),
    }]
}

// ---------------------------------------------------------------------------------------
// 5. Query loops

async fn query_loops(knobs: Knobs) -> Vec<Row> {
    let server = TestServer::start();
    let a = org(&server, "heavy").await;
    let b = org(&server, "light").await;
    let http = http_client();
    let at = Utc::now() - TimeDelta::minutes(5);
    let mut loaded = 0;
    while loaded < knobs.heavy_rows {
        let n = (knobs.heavy_rows - loaded).min(10_000);
        let body = proto_logs(n, at, |i| {
            format!("{}-{}", loaded + i, "payload ".repeat(20))
        });
        let status = post_proto(&http, &server, Some(&a.key), body)
            .await
            .unwrap();
        assert_eq!(status, 200, "loading A's rows");
        loaded += n;
    }
    seed(&server, &b.key).await;
    let mut heavy_alone = Vec::new();
    for _ in 0..3 {
        let (took, _) = dsl(&http, &server.base, &a.key, HEAVY).await.unwrap();
        heavy_alone.push(took);
    }
    let heavy_alone = percentile(&heavy_alone, 0.5);
    let target = Target::new(&server, &b.key);
    let alone = Arc::new(probe_b(&target, knobs).await);

    const LOOPERS: usize = 8;
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let heavy_times = Arc::new(std::sync::Mutex::new(Vec::new()));
    let loopers: Vec<_> = (0..LOOPERS)
        .map(|_| {
            let (stop, answered, failed, times) = (
                stop.clone(),
                answered.clone(),
                failed.clone(),
                heavy_times.clone(),
            );
            let (api, key) = (server.base.clone(), a.key.clone());
            tokio::spawn(async move {
                let http = http_client();
                while !stop.load(Ordering::Relaxed) {
                    match dsl(&http, &api, &key, HEAVY).await {
                        Ok((took, _)) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                            times.lock().unwrap().push(took);
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    // Every looper has a query queued or running.
    tokio::time::sleep(heavy_alone * 2 + Duration::from_millis(500)).await;
    let cpu = CpuWindow::start(&server);
    let under = probe_b(&target, knobs).await;
    let cpu = cpu.note();
    stop.store(true, Ordering::Relaxed);
    for looper in loopers {
        looper.await.unwrap();
    }
    let times = heavy_times.lock().unwrap().clone();
    let heavy_under = if times.is_empty() {
        "—".to_string()
    } else {
        ms(percentile(&times, 0.5))
    };
    vec![Row {
        case: format!(
            "5. query loops (A: {LOOPERS} clients looping a heavy GROUP BY body over {} rows; default 4 query slots)",
            knobs.heavy_rows
        ),
        alone,
        under,
        notes: format!(
            "A's heavy query {} ms alone, median {heavy_under} ms in the loop; A: {} answered, {} failed; {cpu}",
            ms(heavy_alone),
            answered.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        ),
    }]
}

// ---------------------------------------------------------------------------------------
// 6. Corrupt WAL

/// The org's newest write-ahead log segment holding records.
fn newest_segment(data_dir: &Path, org: &str) -> Option<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(data_dir.join("wal").join(org))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 8))
        .collect();
    segments.sort();
    segments.pop()
}

/// The byte ranges of a segment's records (header: length u32, crc u32, seq u64, signal u8,
/// ingest time i64; then the payload), if it parses that way (as store_limits.rs reads it).
fn record_ranges(segment: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut ranges = Vec::new();
    let mut at = 8;
    while at + 25 <= segment.len() {
        let len = u32::from_le_bytes(segment[at..at + 4].try_into().unwrap()) as usize;
        let end = at + 25 + len;
        if end > segment.len() {
            return None;
        }
        ranges.push((at, end));
        at = end;
    }
    (at == segment.len()).then_some(ranges)
}

async fn corrupt_wal(knobs: Knobs) -> Vec<Row> {
    const A_RECORDS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    // No flush before the kill: every record is only in the log.
    let args = ["--flush-interval-secs", "3600"];
    let mut server = TestServer::start_in(dir.path(), &args);
    let a = org(&server, "damaged").await;
    let b = org(&server, "bystander").await;
    let http = http_client();
    let url = format!("{}/v1/logs", server.otlp_http);
    for i in 0..A_RECORDS {
        let body = log_json("api", &[(Utc::now(), format!("record-{i:04}"))]);
        let (status, _) = post_json(&http, &url, Some(&a.key), None, &body)
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    seed(&server, &b.key).await;
    let alone = Arc::new(probe_b(&Target::new(&server, &b.key), knobs).await);
    let b_rows = B_SEED + alone.acks.len();
    server.kill();

    // 256 bytes overwritten in the middle of A's newest segment (mid-record 45 if it parses).
    let segment = newest_segment(dir.path(), &a.session.org_id).expect("A has a WAL segment");
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = match record_ranges(&bytes) {
        Some(ranges) if ranges.len() > 60 => (ranges[44].0 + ranges[44].1) / 2,
        _ => bytes.len() / 2,
    };
    let end = (at + 256).min(bytes.len());
    bytes[at..end].fill(0x5A);
    std::fs::write(&segment, &bytes).unwrap();

    let restart = Instant::now();
    let server = TestServer::start_in(dir.path(), &args);
    let up_in = restart.elapsed();
    let (ready_status, ready) = match http.get(server.url("/readyz")).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    };
    let names_a = ready.contains(&a.session.org_id);
    let count = |v: Result<(Duration, Value), String>| match v {
        Ok((_, n)) => n.to_string(),
        Err(e) => format!("error {e}"),
    };
    let b_back = count(dsl(&http, &server.base, &b.key, LIGHT).await);
    let a_back = count(dsl(&http, &server.base, &a.key, LIGHT).await);
    let logged = server.log().contains("corrupt");
    let under = probe_b(&Target::new(&server, &b.key), knobs).await;
    vec![Row {
        case: "6. corrupt WAL (256 bytes of A's newest segment overwritten mid-file while stopped; \"under abuse\" = B after the restart)".into(),
        alone,
        under,
        notes: format!(
            "restart to listening {} ms; /readyz {ready_status}{}; A's rows back {a_back} of {A_RECORDS}; B's rows back {b_back} of {b_rows}; corruption logged: {logged}",
            ms(up_in),
            if names_a { " naming A" } else { ", not naming A" }
        ),
    }]
}

// ---------------------------------------------------------------------------------------

fn main() {
    let knobs = Knobs {
        secs: env("BENCH_FAIR_SECS", 10),
        acks: env("BENCH_FAIR_ACKS", 100) as usize,
        queries: env("BENCH_FAIR_QUERIES", 30) as usize,
        orgs: env("BENCH_FAIR_ORGS", 1500) as usize,
        heavy_rows: env("BENCH_FAIR_HEAVY_ROWS", 200_000) as usize,
    };
    let cases: Vec<u32> = std::env::var("BENCH_FAIR_CASES")
        .unwrap_or_else(|_| "1,2,3,4,5,6".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "hexcovery fairness benchmark: {cores} cores; B per phase: ≥{} sequential one-record OTLP/HTTP acks, then ≥{} runs of `{LIGHT}` over the last hour, each for ≥{} s; {} orgs in case 2",
        knobs.acks,
        knobs.queries,
        knobs.secs / 2,
        knobs.orgs
    );
    let started = Instant::now();
    let mut rows = Vec::new();
    for case in cases {
        let case_started = Instant::now();
        let new = runtime.block_on(async {
            match case {
                1 => timestamps(knobs).await,
                2 => many_orgs(knobs).await,
                3 => big_unauthenticated(knobs).await,
                4 => login_flood(knobs).await,
                5 => query_loops(knobs).await,
                6 => corrupt_wal(knobs).await,
                _ => Vec::new(),
            }
        });
        for row in &new {
            eprintln!(
                "case {case} done in {} s: {} | ack {} → {} | query {} → {}",
                case_started.elapsed().as_secs(),
                row.case,
                cell(&row.alone.acks, row.alone.acks_refused, "refused"),
                cell(&row.under.acks, row.under.acks_refused, "refused"),
                cell(&row.alone.queries, row.alone.queries_failed, "failed"),
                cell(&row.under.queries, row.under.queries_failed, "failed"),
            );
        }
        rows.extend(new);
    }
    println!();
    println!(
        "| case | B ack p50 / p99 alone | under abuse | B query p50 / p99 alone | under abuse | notes |"
    );
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        row.print();
    }
    println!("\nwhole run: {} s", started.elapsed().as_secs());
}
