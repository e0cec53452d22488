//! Issue #14, test 5: a torn last queue record (the tail an unsynced write would leave
//! after a power cut). The restart succeeds, and only that record's lines are read again
//! from their file: every line is stored once.

mod common;

use common::{Agent, Server, append, logs, numbered};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_record_is_cut_and_only_its_lines_are_read_again() {
    let mut server = Server::start();
    let org = server.org("torn").await;
    server.kill();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let glob = format!("{}/*.log", dir.path().display());
    let mut agent = Agent::new(&server, &org.key, &logs(&glob, "torn"), "");
    // Metric records would come last otherwise; this test tears a record of lines.
    agent
        .env
        .push(("HEXCOVERY_AGENT_METRICS_ENABLED".into(), "false".into()));
    agent.start();
    for round in 0..5 {
        append(&log, &numbered("torn", round * 200, 200));
        agent.wait_caught_up().await;
    }
    agent.kill9();
    let mut segments: Vec<_> = std::fs::read_dir(&agent.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "seg") && std::fs::metadata(p).unwrap().len() > 0
        })
        .collect();
    segments.sort();
    let last = segments.last().expect("a segment with records");
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len - 100)
        .unwrap();

    agent.start();
    assert!(agent.log().contains("queue opened"), "{}", agent.log());
    agent.wait_caught_up().await;
    assert!(
        agent.log().contains("torn or damaged record"),
        "{}",
        agent.log()
    );
    // The last round's 200 lines, and nothing before them, are read again.
    assert_eq!(agent.status()["lines_read"], 200, "{}", agent.status());
    server.up();
    org.expect_exactly_once("torn", 1000, Duration::from_secs(60))
        .await;
}
