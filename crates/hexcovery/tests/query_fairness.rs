//! Query slots are shared fairly between orgs (SPEC §13), on the real server with one slot:
//! org A keeps several heavy queries queued from parallel clients, and org B's light query
//! still starts after at most one of A's — counted by A's answers that arrive while B waits,
//! not by wall-clock bounds.

mod common;

use common::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A's clients, each with one heavy query in flight at all times.
const LOOPERS: usize = 6;

/// Grouping every distinct body and sorting the groups: far slower than B's count.
const HEAVY: &str = "SELECT body, count(*) AS n, min(severity_text), max(service) FROM logs \
                     GROUP BY body ORDER BY body DESC LIMIT 5";

/// Runs `query` as `cred`; every answer is a success (no query waits out its time limit).
async fn dsl(api: &Api, cred: &Cred, query: &str) -> serde_json::Value {
    api.post("/api/v1/dsl", cred, json!({ "query": query }))
        .await
        .expect(200)
}

#[tokio::test]
async fn a_busy_orgs_queued_queries_keep_another_org_waiting_behind_at_most_one() {
    let server =
        TestServer::start_with(&["--query-concurrency", "1", "--query-timeout-secs", "300"]);
    let api = server.api();
    let acme = api.signup("acme").await;
    let (_, acme_key) = api.create_key(&acme, "agent").await;
    let globex = api.signup("globex").await;
    let (_, globex_key) = api.create_key(&globex, "agent").await;
    let at = chrono::Utc::now() - chrono::TimeDelta::minutes(5);
    for batch in 0..4 {
        let bodies: Vec<String> = (0..5_000)
            .map(|i| format!("{batch}-{i}-{}", "payload ".repeat(20)))
            .collect();
        otlp::send_bodies_at(&server, &acme_key, "api", "INFO", at, &bodies).await;
    }
    otlp::send_logs_at(&server, &globex_key, "web", "INFO", at, 3).await;
    let (acme, globex) = (Cred::Key(acme_key), Cred::Key(globex_key));
    let started = std::time::Instant::now();
    let answer = dsl(&api, &acme, HEAVY).await;
    let heavy = started.elapsed();
    assert_eq!(answer["rows"].as_array().map(Vec::len), Some(5), "{answer}");
    eprintln!("one heavy query: {heavy:?}");

    // A's clients: each sends its next heavy query as soon as the last one answers.
    let answered = Arc::new(tokio::sync::watch::Sender::new(0usize));
    let stop = Arc::new(AtomicBool::new(false));
    let loopers: Vec<_> = (0..LOOPERS)
        .map(|_| {
            let (answered, stop) = (answered.clone(), stop.clone());
            let (api, acme) = (api.clone(), acme.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    dsl(&api, &acme, HEAVY).await;
                    answered.send_modify(|n| *n += 1);
                }
            })
        })
        .collect();
    // Once two have answered, every client has had its query queued for a while.
    let mut seen = 2;
    for round in 0..3 {
        answered
            .subscribe()
            .wait_for(|n| *n >= seen)
            .await
            .expect("A's clients run");
        let before = *answered.borrow();
        let started = std::time::Instant::now();
        let answer = dsl(&api, &globex, "SELECT count(*) FROM logs").await;
        let waited = started.elapsed();
        assert_eq!(answer["rows"], json!([[3]]), "B sees only its own rows");
        let behind = *answered.borrow() - before;
        eprintln!("round {round}: B waited {waited:?} behind {behind} of A's queries");
        // The one running when B arrived, and (first come, first served) not the other
        // LOOPERS - 1 queued before B.
        assert!(
            behind <= 2,
            "B's query waited behind {behind} of A's {LOOPERS} queued heavy queries"
        );
        seen = *answered.borrow() + 2;
    }
    stop.store(true, Ordering::SeqCst);
    for looper in loopers {
        looper
            .await
            .expect("A's client ends with every query answered");
    }
}
