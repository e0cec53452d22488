//! The telemetry store's limits against the real server (SPEC §13): ingest accepts records
//! only within `[now − retention_days, now + 1 h]`, rejecting the rest in `partial_success`;
//! and a write-ahead log segment overwritten in the middle loses only the damaged records —
//! every intact, acknowledged record after the damage is back after a restart.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

async fn post_logs(server: &TestServer, key: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("x-api-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Every log body the org has, over a range wide enough for anything ever accepted.
async fn bodies(api: &Api, key: &str) -> BTreeSet<String> {
    let now = chrono::Utc::now();
    let answer = api
        .post(
            "/api/v1/dsl",
            &Cred::Key(key.to_string()),
            json!({
                "query": "SELECT body FROM logs LIMIT 10000",
                "from": (now - chrono::TimeDelta::days(3 * 365)).timestamp_millis(),
                "to": (now + chrono::TimeDelta::days(3)).timestamp_millis(),
            }),
        )
        .await
        .expect(200);
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn records_outside_retention_or_too_far_ahead_are_rejected_one_by_one() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("window").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let now = chrono::Utc::now();
    let day = chrono::TimeDelta::days(1);
    let body = otlp::log_records(&[
        (now - day * 730, "two years old"),
        (now - day, "yesterday"),
        (now + day * 2, "two days ahead"),
        (now - day * 29, "29 days old"),
        (now + chrono::TimeDelta::minutes(30), "half an hour ahead"),
        (now - day * 31, "31 days old"),
    ]);
    let answer = post_logs(&server, &key, &body).await;
    assert_eq!(
        answer["partialSuccess"]["rejectedLogRecords"], 3,
        "{answer}"
    );
    let message = answer["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("3 log records outside the accepted time range [")
            && message.contains("30-day retention"),
        "{message}"
    );
    let expected: BTreeSet<String> = ["yesterday", "29 days old", "half an hour ahead"]
        .map(String::from)
        .into();
    assert_eq!(bodies(&api, &key).await, expected);

    // A request wholly outside is answered (nothing stored), not refused.
    let far = otlp::log_records(&[(now - day * 730, "still too old")]);
    let answer = post_logs(&server, &key, &far).await;
    assert_eq!(
        answer["partialSuccess"]["rejectedLogRecords"], 1,
        "{answer}"
    );
    assert_eq!(bodies(&api, &key).await, expected);
}

/// The org's newest write-ahead log segment holding records.
fn newest_segment(data_dir: &Path, org: &str) -> PathBuf {
    let dir = data_dir.join("wal").join(org);
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .filter(|p| std::fs::metadata(p).unwrap().len() > 8)
        .collect();
    segments.sort();
    segments.pop().expect("a segment with records")
}

/// The byte ranges of a segment's records (header: length u32, crc u32, seq u64, signal u8,
/// ingest time i64; then the payload), read the way the log writes them.
fn record_ranges(segment: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut at = 8;
    while at < segment.len() {
        let len = u32::from_le_bytes(segment[at..at + 4].try_into().unwrap()) as usize;
        ranges.push((at, at + 25 + len));
        at += 25 + len;
    }
    assert_eq!(at, segment.len(), "the segment is whole before the damage");
    ranges
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_overwritten_in_the_middle_loses_only_the_damaged_records() {
    let dir = tempfile::tempdir().unwrap();
    // No flush before the kill: every record is only in the log.
    let args = ["--flush-interval-secs", "3600"];
    let mut server = TestServer::start_in(dir.path(), &args);
    let api = server.api();
    let admin = api.signup("damaged").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let other = api.signup("bystander").await;
    let (_, other_key) = api.create_key(&other, "agent").await;
    let now = chrono::Utc::now();
    // One request (one log record) per body; each answered 200 is acknowledged.
    let sent: Vec<String> = (0..300).map(|i| format!("record-{i:04}")).collect();
    for body in &sent {
        let answer = post_logs(&server, &key, &otlp::log_records(&[(now, body)])).await;
        assert!(answer.get("partialSuccess").is_none(), "{answer}");
    }
    post_logs(
        &server,
        &other_key,
        &otlp::log_records(&[(now, "bystander")]),
    )
    .await;
    server.kill();

    let segment = newest_segment(dir.path(), &admin.org_id);
    let mut bytes = std::fs::read(&segment).unwrap();
    let ranges = record_ranges(&bytes);
    assert_eq!(ranges.len(), 300);
    // 256 bytes overwritten starting in the middle of record 45.
    let (start, end) = ranges[44];
    let at = start + (end - start) / 2;
    bytes[at..at + 256].fill(0x5A);
    let damaged: Vec<usize> = (0..300)
        .filter(|i| ranges[*i].0 < at + 256 && ranges[*i].1 > at)
        .collect();
    let intact: BTreeSet<String> = (0..300)
        .filter(|i| !damaged.contains(i))
        .map(|i| {
            let (s, e) = ranges[i];
            let body = sent
                .iter()
                .find(|b| contains(&bytes[s..e], b.as_bytes()))
                .expect("each record holds its body");
            body.clone()
        })
        .collect();
    assert!(
        intact.len() >= 296 && intact.iter().filter(|b| **b > sent[50]).count() >= 249,
        "the damage covers a few records in the middle"
    );
    std::fs::write(&segment, &bytes).unwrap();

    let server = TestServer::start_in(dir.path(), &args);
    let api = server.api();
    assert_eq!(
        bodies(&api, &key).await,
        intact,
        "every intact acknowledged record is back"
    );
    assert_eq!(
        bodies(&api, &other_key).await,
        BTreeSet::from(["bystander".to_string()])
    );
    // A quarantined copy of the damaged segment is kept, and the damage is reported.
    let name = segment.file_name().unwrap().to_str().unwrap().to_string();
    let copies: Vec<PathBuf> = std::fs::read_dir(segment.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{name}.corrupt-"))
        })
        .collect();
    assert_eq!(copies.len(), 1, "one quarantined copy");
    assert_eq!(std::fs::read(&copies[0]).unwrap(), bytes);
    assert!(
        server
            .log_contains("write-ahead log segment is corrupt")
            .await
    );
    assert!(server.log_contains(&admin.org_id).await);
    // Ingest continues for the org, and numbering after the recovered records holds.
    let answer = post_logs(&server, &key, &otlp::log_records(&[(now, "after restart")])).await;
    assert!(answer.get("partialSuccess").is_none(), "{answer}");
    let mut expected = intact.clone();
    expected.insert("after restart".into());
    assert_eq!(bodies(&api, &key).await, expected);
}

/// An org whose manifest is damaged is offline alone: `/readyz` answers 503 naming it, and
/// the other org starts, takes telemetry and answers queries.
#[tokio::test]
async fn an_org_that_cannot_load_is_named_by_readyz_while_others_serve() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    let broken = api.signup("broken").await;
    let (_, broken_key) = api.create_key(&broken, "agent").await;
    let fine = api.signup("fine").await;
    let (_, fine_key) = api.create_key(&fine, "agent").await;
    let now = chrono::Utc::now();
    post_logs(
        &server,
        &broken_key,
        &otlp::log_records(&[(now, "lost for now")]),
    )
    .await;
    post_logs(&server, &fine_key, &otlp::log_records(&[(now, "before")])).await;
    // SIGTERM flushes every buffer to Parquet, so each org has a manifest: here, one commit
    // in its manifest log.
    assert!(server.terminate().success());
    let log = dir
        .path()
        .join("telemetry")
        .join(format!("org={}", broken.org_id))
        .join("logs/_manifest_log");
    let commit = std::fs::read_dir(&log)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&commit, b"{ not json").unwrap();

    let server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    let ready = api.get("/readyz", &Cred::None).await;
    ready.expect_error(503, "orgs_offline");
    assert_eq!(
        ready.body["error"]["offline_orgs"][0]["org_id"],
        broken.org_id.as_str()
    );
    assert_eq!(
        ready.body["error"]["offline_orgs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    post_logs(&server, &fine_key, &otlp::log_records(&[(now, "after")])).await;
    assert_eq!(
        bodies(&api, &fine_key).await,
        BTreeSet::from(["before".to_string(), "after".to_string()])
    );
}

/// A longer retention widens the accepted window at once, not at the next hourly pass.
#[tokio::test]
async fn a_changed_retention_moves_the_window_at_once() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("keeper").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let old = chrono::Utc::now() - chrono::TimeDelta::days(60);
    let refused = post_logs(
        &server,
        &key,
        &otlp::log_records(&[(old, "sixty days old")]),
    )
    .await;
    assert_eq!(
        refused["partialSuccess"]["rejectedLogRecords"], 1,
        "{refused}"
    );
    api.patch("/api/v1/org", &admin.jwt(), json!({ "retention_days": 90 }))
        .await
        .expect(200);
    let answer = post_logs(
        &server,
        &key,
        &otlp::log_records(&[(old, "sixty days old")]),
    )
    .await;
    assert!(answer.get("partialSuccess").is_none(), "{answer}");
}

/// `hexcovery repair` on a stopped server's data directory: reports the damaged segment
/// (exit 1) without changing it, `--quarantine` recovers it, and then only the kept copy is
/// listed (exit 0); the restarted server has every intact record.
#[tokio::test]
async fn repair_lists_damage_and_quarantines_it() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--flush-interval-secs", "3600"];
    let mut server = TestServer::start_in(dir.path(), &args);
    let api = server.api();
    let admin = api.signup("repaired").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let now = chrono::Utc::now();
    let sent: Vec<String> = (0..100).map(|i| format!("line-{i:03}")).collect();
    for body in &sent {
        post_logs(&server, &key, &otlp::log_records(&[(now, body)])).await;
    }
    server.kill();
    let segment = newest_segment(dir.path(), &admin.org_id);
    let mut bytes = std::fs::read(&segment).unwrap();
    let ranges = record_ranges(&bytes);
    let (start, end) = ranges[40];
    bytes[(start + end) / 2..(start + end) / 2 + 64].fill(0x33);
    std::fs::write(&segment, &bytes).unwrap();

    let repair = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hexcovery"))
            .args(["repair", "--data-dir", dir.path().to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = repair(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("DAMAGED") && out.contains(&admin.org_id),
        "{out}"
    );
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        bytes,
        "inspecting changes nothing"
    );

    let (code, out) = repair(&["--quarantine"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("recovered") && out.contains("quarantined copy kept"),
        "{out}"
    );
    let (code, out) = repair(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no damage found"), "{out}");

    let server = TestServer::start_in(dir.path(), &args);
    let kept = bodies(&server.api(), &key).await;
    assert!(
        kept.len() >= 98 && kept.len() < 100,
        "{} of 100 kept",
        kept.len()
    );
    assert!(
        kept.contains("line-099"),
        "records after the damage are back"
    );
}
