//! Issue #14, test 4: a full queue (`max_size` of 2 MiB during an outage) stops reading: no
//! position advances and the queue stays within its bound; after recovery every line
//! arrives, once.

mod common;

use common::{Agent, Server, append, logs};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_stops_reading_and_loses_nothing() {
    let mut server = Server::start();
    let org = server.org("fullq").await;
    server.kill();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let pad = "p".repeat(90);
    let lines: Vec<String> = (0..40_000).map(|i| format!("full {i:06} {pad}")).collect();
    append(&log, &lines);
    let glob = format!("{}/*.log", dir.path().display());
    let mut agent = Agent::new(&server, &org.key, &logs(&glob, "fullq"), "");
    agent
        .env
        .push(("HEXCOVERY_AGENT_QUEUE_MAX_SIZE".into(), "2MiB".into()));
    agent.start();
    common::wait_for("the queue to fill", Duration::from_secs(60), || {
        agent.status()["queue"]["full"] == true
    })
    .await;
    let offset = |agent: &Agent| agent.status()["files"][0]["offset"].as_u64().unwrap();
    let at_full = offset(&agent);
    assert!(at_full < std::fs::metadata(&log).unwrap().len());
    // Several polls and metric intervals later, still where it stopped.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = agent.status();
    assert_eq!(
        offset(&agent),
        at_full,
        "a position advanced while full: {status}"
    );
    assert!(
        status["queue"]["bytes"].as_u64().unwrap() <= 2 << 20,
        "{status}"
    );
    let on_disk: u64 = std::fs::read_dir(&agent.dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    assert!(
        on_disk <= (2 << 20) + (64 << 10),
        "{on_disk} bytes in the queue directory"
    );
    server.up();
    org.expect_exactly_once("fullq", 40_000, Duration::from_secs(120))
        .await;
    assert_eq!(agent.status()["queue"]["full"], false);
}
