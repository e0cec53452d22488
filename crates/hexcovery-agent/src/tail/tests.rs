//! Tailer unit tests: the identity rules on a temporary directory, without the queue (each
//! read is committed at once, as an append that succeeded would).

use super::*;
use crate::config::{LogGroup, Pattern, StartAt, Tail};
use std::io::Write;
use std::time::Duration;

fn tailer(dir: &std::path::Path, pattern: &str, restored: Option<Vec<Position>>) -> Tailer {
    let group = LogGroup {
        include: vec![Pattern::new(&format!("{}/{pattern}", dir.display())).unwrap()],
        exclude: vec![],
        start_at: StartAt::Beginning,
        service: "svc".into(),
    };
    let opts = Tail {
        poll_interval: Duration::from_millis(10),
        flush_timeout: Duration::from_millis(200),
        rotate_wait: Duration::ZERO,
    };
    Tailer::new(vec![group], opts, restored)
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// One poll: scan, read everything, commit, close drained files.
fn poll(t: &mut Tailer) -> Vec<String> {
    let now = Instant::now();
    t.scan(now);
    let staged = t.read(now, 1 << 20, 100_000);
    let lines = staged.lines.iter().map(|l| l.body.clone()).collect();
    t.commit(staged);
    t.close_drained(now);
    lines
}

#[test]
fn rename_and_create_reads_the_old_file_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "a\nb\n");
    let mut t = tailer(dir.path(), "*.log", None);
    assert_eq!(poll(&mut t), ["a", "b"]);
    append(&log, "c\n");
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    append(&dir.path().join("app.log.1"), "d\n");
    append(&log, "e\n");
    assert_eq!(poll(&mut t), ["c", "d", "e"]);
    assert_eq!(t.status().len(), 1, "the renamed file is closed once read");
}

#[test]
fn truncation_reads_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "first line\nsecond line\n");
    let mut t = tailer(dir.path(), "*.log", None);
    assert_eq!(poll(&mut t).len(), 2);
    std::fs::write(&log, "x\n").unwrap();
    assert_eq!(poll(&mut t), ["x"]);
}

#[test]
fn a_partial_line_waits_for_its_newline_or_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "whole\nhal");
    let mut t = tailer(dir.path(), "*.log", None);
    assert_eq!(poll(&mut t), ["whole"]);
    append(&log, "f\nrest");
    assert_eq!(poll(&mut t), ["half"]);
    assert!(poll(&mut t).is_empty());
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(poll(&mut t), ["rest"]);
    append(&log, "\nnext\n");
    assert_eq!(poll(&mut t), ["next"]);
}

#[test]
fn same_first_bytes_on_two_files_are_two_files() {
    let dir = tempfile::tempdir().unwrap();
    let header = "h".repeat(4095) + "\n";
    append(&dir.path().join("a.log"), &format!("{header}a1\n"));
    append(&dir.path().join("b.log"), &format!("{header}b1\n"));
    let mut t = tailer(dir.path(), "*.log", None);
    let lines = poll(&mut t);
    assert_eq!(lines.len(), 4, "{}", lines.len());
    assert!(lines.contains(&"a1".to_string()) && lines.contains(&"b1".to_string()));
}

#[test]
fn copytruncate_continues_in_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "1\n2\n");
    let mut t = tailer(dir.path(), "app.log*", None);
    assert_eq!(poll(&mut t), ["1", "2"]);
    append(&log, "3\n");
    std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
    std::fs::write(&log, "").unwrap();
    append(&log, "4\n");
    assert_eq!(poll(&mut t), ["3", "4"]);
}

#[test]
fn positions_resume_after_a_restart_and_follow_a_rename() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "1\n2\n");
    let mut t = tailer(dir.path(), "*.log*", None);
    assert_eq!(poll(&mut t), ["1", "2"]);
    let positions = t.positions(&Staged::default());
    drop(t);
    append(&log, "3\n");
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    let mut t = tailer(dir.path(), "*.log*", Some(positions));
    assert_eq!(poll(&mut t), ["3"]);
}

#[test]
fn replaced_while_stopped_is_read_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, "old one\nold two\n");
    let mut t = tailer(dir.path(), "*.log", None);
    poll(&mut t);
    let mut positions = t.positions(&Staged::default());
    drop(t);
    // Same inode, other first bytes: as a reused inode looks.
    std::fs::write(&log, "new one\nnew two\nnew three\n").unwrap();
    positions[0].offset = 8;
    let mut t = tailer(dir.path(), "*.log", Some(positions));
    assert_eq!(poll(&mut t), ["new one", "new two", "new three"]);
}
