//! Issue #14, test 1: numbered lines at 500/s while the server is killed for 30 s, with two
//! rename-and-create rotations during the outage: every line arrives exactly once, and a
//! metric point arrives for every interval.

mod common;

use common::{Agent, Server, logs};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Writes 25 lines every 50 ms to `dir/app.log`; renames it away and starts a new one
/// whenever `rotate` is raised. Returns the number of lines written.
fn writer(
    dir: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    rotate: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let log = dir.join("app.log");
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap()
        };
        let mut file = open();
        let mut n = 0;
        let mut rotated = 0;
        while !stop.load(Ordering::Relaxed) {
            if rotate.load(Ordering::Relaxed) > rotated {
                rotated += 1;
                std::fs::rename(&log, dir.join(format!("app.log.{rotated}"))).unwrap();
                // A few lines still go to the renamed file before the app reopens.
                for _ in 0..5 {
                    writeln!(file, "outage {n:06}").unwrap();
                    n += 1;
                }
                file = open();
            }
            let mut chunk = String::new();
            for _ in 0..25 {
                chunk.push_str(&format!("outage {n:06}\n"));
                n += 1;
            }
            file.write_all(chunk.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        n
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_of_30s_with_two_rotations_loses_and_duplicates_nothing() {
    let mut server = Server::start();
    let org = server.org("outage").await;
    let dedup = common::server_dedups(&server, &org).await;
    let dir = tempfile::tempdir().unwrap();
    let glob = format!("{}/*.log", dir.path().display());
    let mut agent = Agent::new(&server, &org.key, &logs(&glob, "outage"), "");
    agent.start();
    let started = SystemTime::now();
    let (stop, rotate) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let handle = writer(dir.path().to_path_buf(), stop.clone(), rotate.clone());

    // The scenario's timeline (these sleeps are the outage, not synchronisation).
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill();
    let outage = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    rotate.store(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(10)).await;
    rotate.store(2, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(outage.elapsed())).await;
    server.up();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let written = handle.join().unwrap() as u64;
    let ended = SystemTime::now();
    eprintln!("{written} lines written");

    org.expect_delivered(dedup, "outage", written, Duration::from_secs(120))
        .await;

    // A metric point for every interval (1 s), the outage included, none twice.
    let body = org
        .query("SELECT timestamp FROM metrics WHERE name = 'host.load_1m' ORDER BY timestamp LIMIT 10000 LAST 1d")
        .await
        .unwrap();
    let times: Vec<SystemTime> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| humantime::parse_rfc3339_weak(r[0].as_str().unwrap()).unwrap())
        .collect();
    let span = ended.duration_since(started).unwrap().as_secs();
    assert!(
        times.len() as u64 + 3 >= span,
        "{} points over {span} s",
        times.len()
    );
    for pair in times.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(
            gap >= Duration::from_millis(500),
            "two points {gap:?} apart: a duplicate"
        );
        assert!(
            gap <= Duration::from_millis(2500),
            "a {gap:?} hole in the metric points"
        );
    }
    assert!(agent.log().contains("sending a batch failed; retrying"));
}
