//! Issue #14, test 2: the agent is killed with `kill -9` at random points, 20 times, while
//! lines are written and rotated and batches are sent (fsync on an interval and on every
//! record in turn, so kills land mid-fsync and mid-send): nothing missing, nothing twice.

mod common;

use common::{Agent, Server, logs};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_20_times() {
    let server = Server::start();
    let org = server.org("killnine").await;
    let dedup = common::server_dedups(&server, &org).await;
    let dir = tempfile::tempdir().unwrap();
    let glob = format!("{}/*.log", dir.path().display());
    let mut agent = Agent::new(&server, &org.key, &logs(&glob, "kill9"), "");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (dir, stop) = (dir.path().to_path_buf(), stop.clone());
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
            let mut n = 0usize;
            let mut ticks = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut chunk = String::new();
                for _ in 0..10 {
                    chunk.push_str(&format!("kill9 {n:06}\n"));
                    n += 1;
                }
                file.write_all(chunk.as_bytes()).unwrap();
                ticks += 1;
                if ticks % 150 == 0 {
                    // Rename-and-create every 1.5 s, to a name outside the glob.
                    std::fs::rename(&log, dir.join(format!("app.log.{}", ticks / 150))).unwrap();
                    file = open();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            n
        })
    };
    let mut seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("seed {seed}");
    let base = std::fs::read_to_string(&agent.config).unwrap();
    for i in 0..20 {
        let fsync = if i % 2 == 0 { "200ms" } else { "always" };
        std::fs::write(
            &agent.config,
            base.replace("[queue]\n", &format!("[queue]\nfsync = \"{fsync}\"\n")),
        )
        .unwrap();
        agent.start();
        // xorshift: a random kill point 50–800 ms into the run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(50 + seed % 750)).await;
        agent.kill9();
    }
    agent.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap() as u64;
    eprintln!("{written} lines written across 20 kills");
    org.expect_delivered(dedup, "kill9", written, Duration::from_secs(120))
        .await;
}
