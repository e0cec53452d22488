//! Idle orgs hold no open files (SPEC §13): under an open-file limit of 1024, thousands of
//! orgs that each sent telemetry once leave the server answering health checks, signups
//! and ingest. The limit is set on this test process, and the server inherits it.

mod common;

use common::*;
use serde_json::{Value, json};

const ORGS: usize = 1500;
const IN_FLIGHT: usize = 8;

fn one_log(body: &str) -> Value {
    let now = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap()
        .to_string();
    json!({"resourceLogs": [{"resource": otlp::resource("api", "web-1"),
    "scopeLogs": [{"logRecords": [{
        "timeUnixNano": now, "severityText": "INFO", "body": {"stringValue": body}
    }]}]}]})
}

async fn post_log(client: &reqwest::Client, server: &TestServer, key: &str, body: &str) {
    let response = client
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("x-api-key", key)
        .json(&one_log(body))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("partialSuccess"), "{text}");
}

/// Lowers this process's open-file limit (soft and hard); child processes inherit it.
fn limit_open_files(limit: u32) {
    let status = std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={limit}:{limit}"))
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success());
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(line.contains(&limit.to_string()), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_orgs_that_sent_data_once_work_under_an_open_file_limit_of_1024() {
    limit_open_files(1024);
    let server = std::sync::Arc::new(TestServer::start_with(&["--max-signups-per-address", "0"]));
    let client = reqwest::Client::new();
    let mut keys: Vec<String> = Vec::with_capacity(ORGS);
    for chunk in (0..ORGS).collect::<Vec<_>>().chunks(IN_FLIGHT) {
        let mut batch = tokio::task::JoinSet::new();
        for &i in chunk {
            let (server, client) = (server.clone(), client.clone());
            batch.spawn(async move {
                let api = server.api();
                let admin = api.signup(&format!("org-{i}")).await;
                let (_, key) = api.create_key(&admin, "agent").await;
                post_log(&client, &server, &key, &format!("hello from org {i}")).await;
                key
            });
        }
        keys.extend(batch.join_all().await);
        if keys.len() % 250 < IN_FLIGHT {
            let health = client.get(server.url("/healthz")).send().await.unwrap();
            assert_eq!(health.status(), 200, "after {} orgs", keys.len());
        }
    }
    let api = server.api();
    api.get("/healthz", &Cred::None).await.expect(200);
    api.get("/readyz", &Cred::None).await.expect(200);
    let late = api.signup("late-comer").await;
    let (_, late_key) = api.create_key(&late, "agent").await;
    post_log(&client, &server, &late_key, "late").await;
    // The first orgs were unloaded long ago; they take telemetry again.
    for key in keys.iter().take(20).chain(keys.iter().rev().take(20)) {
        post_log(&client, &server, key, "again").await;
    }
    assert!(
        !server.log_contains("Too many open files").await,
        "{}",
        server.log()
    );
}

/// The operator's knobs: with `--idle-org-unload-secs 1` orgs that went quiet close their
/// log files within seconds (the default waits a minute), and `--max-loaded-orgs` is taken.
#[tokio::test]
async fn idle_orgs_close_their_files_after_the_configured_time() {
    let server = TestServer::start_with(&[
        "--max-signups-per-address",
        "0",
        "--flush-interval-secs",
        "1",
        "--idle-org-unload-secs",
        "1",
        "--max-loaded-orgs",
        "1000",
    ]);
    let open_files = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .unwrap()
            .count()
    };
    let api = server.api();
    let client = reqwest::Client::new();
    let before = open_files();
    // Each org holds its log open while loaded; with a one-second idle time the earliest may
    // close again before the last signs up, so only the peak is known to be above rest.
    let mut peak = before;
    for i in 0..30 {
        let admin = api.signup(&format!("quiet-{i}")).await;
        let (_, key) = api.create_key(&admin, "agent").await;
        post_log(&client, &server, &key, "once").await;
        peak = peak.max(open_files());
    }
    let busy = peak;
    assert!(
        busy > before,
        "a loaded org holds its log open: {before} → {busy}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // A few sockets (kept-alive connections of this test) stay open beside the logs.
    while open_files() > before + 8 {
        assert!(
            std::time::Instant::now() < deadline,
            "idle orgs still hold files: {before} at rest, {busy} busy, {} now",
            open_files()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
