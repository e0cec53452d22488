//! One org with pathological timestamps against the real server (SPEC §13): every request of
//! org A spreads its records over every hour of its retention, so each of its flushes writes
//! hundreds of Parquet files. Meanwhile org B sends steadily. B's acknowledgements stay fast
//! and are never refused, and B's rows keep reaching Parquet while A's flushes run: one org's
//! slow flush delays no other org's.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Hours of A's retention each of its requests covers (30 days, less a margin).
const HOURS: i64 = 29 * 24;

/// Posts OTLP/HTTP logs; returns the status and how long the acknowledgement took.
async fn post(
    http: &reqwest::Client,
    server: &TestServer,
    key: &str,
    body: &Value,
) -> (u16, Duration) {
    let started = Instant::now();
    let response = http
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("x-api-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    (status, started.elapsed())
}

fn p99(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

/// Commits in the org's logs manifest (checkpoint or log entries): grows with each flush.
fn commits(data_dir: &Path, org: &str) -> usize {
    let table = data_dir.join(format!("telemetry/org={org}/logs"));
    std::fs::read_dir(table.join("_manifest_log")).map_or(0, |d| d.count())
        + usize::from(table.join("_manifest.json").exists())
}

/// Hour partitions the org's logs have on disk.
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

/// B sends `n` one-record requests in turn; every one must be accepted.
async fn steady(
    http: &reqwest::Client,
    server: &TestServer,
    key: &str,
    label: &str,
    n: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let body = otlp::log_records(&[(chrono::Utc::now(), format!("{label} {i}"))]);
        let (status, took) = post(http, server, key, &body).await;
        assert_eq!(status, 200, "B's request {label} {i} was refused");
        latencies.push(took);
    }
    latencies
}

#[tokio::test]
async fn an_org_spreading_rows_over_every_hour_leaves_another_orgs_acks_and_flushes_alone() {
    let server = TestServer::start_with(&["--flush-interval-secs", "1"]);
    let api = server.api();
    let a = api.signup("spreads-hours").await;
    let (_, a_key) = api.create_key(&a, "agent").await;
    let b = api.signup("steady").await;
    let (_, b_key) = api.create_key(&b, "agent").await;
    let http = reqwest::Client::new();

    let mut alone = steady(&http, &server, &b_key, "alone", 40).await;

    // A: two clients, each request one record in every hour of the last 29 days.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut abusers = Vec::new();
    for client in 0..2 {
        let (stop, sent, http, key) = (stop.clone(), sent.clone(), http.clone(), a_key.clone());
        let url = format!("{}/v1/logs", server.otlp_http);
        abusers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let now = chrono::Utc::now();
                let body = otlp::log_records(
                    &(0..HOURS)
                        .map(|h| {
                            (
                                now - chrono::TimeDelta::hours(h),
                                format!("a{client} {n} {h}"),
                            )
                        })
                        .collect::<Vec<_>>(),
                );
                let response = http
                    .post(&url)
                    .header("x-api-key", &key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    [200, 503].contains(&response.status().as_u16()),
                    "{}",
                    response.status()
                );
                sent.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        }));
    }
    // Under way once A's first flush has written a file in most of those hours.
    let deadline = Instant::now() + Duration::from_secs(60);
    while partitions(&server.data_dir, &a.org_id) < HOURS as usize / 2 {
        assert!(Instant::now() < deadline, "A's rows never reached Parquet");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let b_commits_before = commits(&server.data_dir, &b.org_id);
    let mut under = steady(&http, &server, &b_key, "under", 40).await;
    // B's own flush commits while A's flushes keep running: within a few flush intervals.
    let deadline = Instant::now() + Duration::from_secs(10);
    while commits(&server.data_dir, &b.org_id) == b_commits_before {
        assert!(
            Instant::now() < deadline,
            "B's rows were not flushed while A's flushes ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for abuser in abusers {
        abuser.await.unwrap();
    }

    let (alone_p99, under_p99) = (p99(&mut alone), p99(&mut under));
    eprintln!(
        "B's ack p99: alone {alone_p99:?}, under A's spread ({} requests of {HOURS} hours) {under_p99:?}",
        sent.load(Ordering::Relaxed)
    );
    assert!(
        under_p99 <= (alone_p99 * 10).max(alone_p99 + Duration::from_millis(250)),
        "B's acknowledgements slowed from p99 {alone_p99:?} alone to {under_p99:?}"
    );
    // Every record B sent is there.
    let now = chrono::Utc::now();
    let answer = api
        .post(
            "/api/v1/dsl",
            &Cred::Key(b_key.clone()),
            json!({"query": "SELECT count() FROM logs",
                   "from": (now - chrono::TimeDelta::hours(1)).timestamp_millis(),
                   "to": (now + chrono::TimeDelta::minutes(1)).timestamp_millis()}),
        )
        .await
        .expect(200);
    assert_eq!(answer["rows"][0][0], 80, "{answer}");
}
