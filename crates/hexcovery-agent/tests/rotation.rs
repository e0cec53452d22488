//! The rotation matrix (issue #14, test 3): each way a log file is rotated or replaced, with
//! the server up and with it down while it happens; every line is stored exactly once
//! (copytruncate: the documented gap, measured).

mod common;

use common::{Agent, Org, Server, append, logs, numbered, wait_for};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Up,
    Down,
}

const MODES: [Mode; 2] = [Mode::Up, Mode::Down];

/// The lines the agent has read (its status page).
fn lines_read(agent: &Agent) -> u64 {
    agent.status()["lines_read"].as_u64().unwrap()
}

async fn wait_read(agent: &Agent, at_least: u64) {
    wait_for(
        &format!("the agent to read {at_least} lines"),
        Duration::from_secs(30),
        || lines_read(agent) >= at_least,
    )
    .await;
}

/// Runs `rotate` between two phases of writing: with the server up, or killed just before
/// and started again once the agent has read everything (so it all went through the queue).
#[allow(clippy::too_many_arguments)] // one call shape for every case reads best
async fn with_mode(
    server: &mut Server,
    org: &Org,
    mode: Mode,
    agent: &mut Agent,
    service: &str,
    before: u64,
    repeats: u64,
    rotate: impl FnOnce(&mut Agent) -> u64,
) {
    agent.start();
    wait_read(agent, before).await;
    if mode == Mode::Up {
        org.expect_exactly_once(service, before, Duration::from_secs(30))
            .await;
    } else {
        server.kill();
    }
    let total = rotate(agent);
    if mode == Mode::Down {
        agent.wait_caught_up().await;
        server.up();
    }
    org.expect_counts(service, total, total - repeats, Duration::from_secs(60))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_and_create() {
    let mut server = Server::start();
    let org = server.org("rename").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let service = format!("rename-{mode:?}");
        let mut agent = Agent::new(
            &server,
            &org.key,
            &logs(&format!("{}/*.log", dir.path().display()), &service),
            "",
        );
        append(&log, &numbered("a", 0, 300));
        with_mode(
            &mut server,
            &org,
            mode,
            &mut agent,
            &service,
            300,
            0,
            |_| {
                let old = dir.path().join("app.log.1");
                std::fs::rename(&log, &old).unwrap();
                // The application still writes to its open file before it reopens.
                append(&old, &numbered("a", 300, 50));
                append(&log, &numbered("a", 350, 300));
                650
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copytruncate_with_the_copy_included_has_a_measured_gap() {
    let mut server = Server::start();
    let org = server.org("copytrunc").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let service = format!("copytruncate-{mode:?}");
        let glob = format!("{}/app.log*", dir.path().display());
        let mut agent = Agent::new(&server, &org.key, &logs(&glob, &service), "");
        append(&log, &numbered("c", 0, 500));
        agent.start();
        wait_read(&agent, 500).await;
        if mode == Mode::Down {
            server.kill();
        }
        // The application writes on (O_APPEND) while logrotate copies and truncates.
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        fn write(n: &mut usize, count: usize, file: &mut std::fs::File) {
            for line in numbered("c", *n, count) {
                file.write_all(format!("{line}\n").as_bytes()).unwrap();
            }
            *n += count;
        }
        let mut n = 500;
        write(&mut n, 200, &mut file);
        let gap_from = n;
        std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
        write(&mut n, 20, &mut file); // between the copy and the truncation: the gap
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        let gap_to = n;
        write(&mut n, 300, &mut file);
        let total = n as u64;
        if mode == Mode::Down {
            agent.wait_caught_up().await;
            server.up();
        }
        // Everything but the gap arrives; nothing twice.
        let expected_min = total - (gap_to - gap_from) as u64;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (count, _) = org.counts(&service).await.unwrap_or((0, 0));
            if count >= expected_min || std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let bodies = org.bodies(&service).await;
        assert!(bodies.iter().all(|(_, c)| *c == 1), "a line stored twice");
        let stored: std::collections::HashSet<usize> = bodies
            .iter()
            .map(|(b, _)| b[2..].parse().unwrap())
            .collect();
        let missing: Vec<usize> = (0..n).filter(|i| !stored.contains(i)).collect();
        assert!(
            missing.iter().all(|i| (gap_from..gap_to).contains(i)),
            "lines missing outside the copy-to-truncate window: {missing:?}"
        );
        eprintln!(
            "copytruncate ({mode:?}): {} of the {} lines written between copy and truncation lost",
            missing.len(),
            gap_to - gap_from
        );
        drop(agent);
    }
}

fn gzip(from: &Path, to: &Path) {
    let data = std::fs::read(from).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&data).unwrap();
    encoder.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delaycompress_with_gzip() {
    let mut server = Server::start();
    let org = server.org("delaycompress").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let log = d.join("app.log");
        let service = format!("delaycompress-{mode:?}");
        let mut agent = Agent::new(
            &server,
            &org.key,
            &logs(&format!("{}/app.log*", d.display()), &service),
            "",
        );
        append(&log, &numbered("d", 0, 200));
        with_mode(
            &mut server,
            &org,
            mode,
            &mut agent,
            &service,
            200,
            0,
            |_| {
                // Rotation 1: app.log → app.log.1 (kept uncompressed), a new app.log.
                std::fs::rename(&log, d.join("app.log.1")).unwrap();
                append(&log, &numbered("d", 200, 200));
                std::thread::sleep(Duration::from_millis(600));
                // Rotation 2: app.log.1 → app.log.2.gz, app.log → app.log.1, a new app.log.
                gzip(&d.join("app.log.1"), &d.join("app.log.2.gz"));
                std::fs::remove_file(d.join("app.log.1")).unwrap();
                std::fs::rename(&log, d.join("app.log.1")).unwrap();
                append(&log, &numbered("d", 400, 200));
                600
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_create_reusing_the_inode() {
    let mut server = Server::start();
    let org = server.org("reuse").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let service = format!("reuse-{mode:?}");
        let mut agent = Agent::new(
            &server,
            &org.key,
            &logs(&format!("{}/*.log", dir.path().display()), &service),
            "",
        );
        append(&log, &numbered("r", 0, 200));
        with_mode(
            &mut server,
            &org,
            mode,
            &mut agent,
            &service,
            200,
            0,
            |agent| {
                // While the agent holds the file open its inode cannot be reused.
                std::fs::remove_file(&log).unwrap();
                append(&log, &numbered("r", 200, 200));
                // Stopped, the agent holds nothing: delete and create, which on most file
                // systems hands the freed inode to the new file.
                std::thread::sleep(Duration::from_millis(800));
                agent.stop();
                let old = std::fs::metadata(&log).unwrap().ino();
                std::fs::remove_file(&log).unwrap();
                append(&log, &numbered("r", 400, 150));
                let reused = std::fs::metadata(&log).unwrap().ino() == old;
                eprintln!("delete and create ({mode:?}): inode reused: {reused}");
                agent.start();
                550
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_while_the_agent_is_stopped() {
    let mut server = Server::start();
    let org = server.org("truncstopped").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let service = format!("truncstopped-{mode:?}");
        let mut agent = Agent::new(
            &server,
            &org.key,
            &logs(&format!("{}/*.log", dir.path().display()), &service),
            "",
        );
        append(&log, &numbered("t", 0, 300));
        with_mode(
            &mut server,
            &org,
            mode,
            &mut agent,
            &service,
            300,
            0,
            |agent| {
                agent.stop();
                // Shorter than the offset: size < offset.
                std::fs::write(&log, "").unwrap();
                append(&log, &numbered("t", 300, 20));
                agent.start();
                std::thread::sleep(Duration::from_millis(800));
                agent.stop();
                // Longer than the offset, other first bytes: the fingerprint tells.
                std::fs::write(&log, "").unwrap();
                append(&log, &numbered("T", 320, 400));
                agent.start();
                720
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_smaller_than_the_fingerprint() {
    let mut server = Server::start();
    let org = server.org("small").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let service = format!("small-{mode:?}");
        let mut agent = Agent::new(
            &server,
            &org.key,
            &logs(&format!("{}/*.log", dir.path().display()), &service),
            "",
        );
        append(&log, &numbered("s", 0, 3)); // 27 bytes
        with_mode(
            &mut server,
            &org,
            mode,
            &mut agent,
            &service,
            3,
            1,
            |agent| {
                // It grows while the agent is stopped: the short fingerprint still matches.
                agent.stop();
                append(&log, &numbered("s", 3, 2));
                agent.start();
                std::thread::sleep(Duration::from_millis(800));
                // Renamed away, and a new small file begins with the same line.
                std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
                append(&log, &["s 000000".to_string(), "s 000005".to_string()]);
                5 + 2
            },
        )
        .await;
        // The repeated first line is a line of the new file, stored as a second record.
        let bodies = org.bodies(&service).await;
        assert!(
            bodies
                .iter()
                .all(|(b, c)| *c == if b == "s 000000" { 2 } else { 1 })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_files_with_the_same_first_4_kib() {
    let mut server = Server::start();
    let org = server.org("samehead").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let service = format!("samehead-{mode:?}");
        let mut agent = Agent::new(
            &server,
            &org.key,
            &logs(&format!("{}/*.log", dir.path().display()), &service),
            "",
        );
        // 4 KiB of identical header lines (each line tagged by file only after them).
        let header: Vec<String> = (0..64)
            .map(|i| format!("# header line {i:02} {}", "x".repeat(46)))
            .collect();
        assert_eq!(header.iter().map(|l| l.len() + 1).sum::<usize>(), 4096);
        append(&dir.path().join("a.log"), &header);
        append(&dir.path().join("a.log"), &numbered("a", 0, 100));
        with_mode(
            &mut server,
            &org,
            mode,
            &mut agent,
            &service,
            164,
            64,
            |_| {
                let b = dir.path().join("b.log");
                append(&b, &header);
                append(&b, &numbered("b", 0, 100));
                append(&dir.path().join("a.log"), &numbered("a", 100, 100));
                428 // a: 64 + 200 lines, b: 64 + 100 lines
            },
        )
        .await;
        // The header lines, identical in both files by design, are stored once per file.
        let bodies = org.bodies(&service).await;
        assert!(
            bodies
                .iter()
                .all(|(b, c)| *c == if b.starts_with('#') { 2 } else { 1 })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_swap() {
    let mut server = Server::start();
    let org = server.org("symlink").await;
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let service = format!("symlink-{mode:?}");
        let link = d.join("current");
        std::os::unix::fs::symlink(d.join("one.txt"), &link).unwrap();
        append(&d.join("one.txt"), &numbered("l", 0, 200));
        let mut agent = Agent::new(
            &server,
            &org.key,
            &logs(&link.display().to_string(), &service),
            "",
        );
        with_mode(
            &mut server,
            &org,
            mode,
            &mut agent,
            &service,
            200,
            0,
            |_| {
                append(&d.join("two.txt"), &numbered("l", 250, 200));
                append(&d.join("one.txt"), &numbered("l", 200, 50));
                // Swapped atomically, as `ln -sfn` does: a new link renamed over the old.
                std::os::unix::fs::symlink(d.join("two.txt"), d.join("current.new")).unwrap();
                std::fs::rename(d.join("current.new"), &link).unwrap();
                append(&d.join("two.txt"), &numbered("l", 450, 50));
                500
            },
        )
        .await;
    }
}
