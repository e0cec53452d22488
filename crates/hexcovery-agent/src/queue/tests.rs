//! Queue unit tests: restart, torn tails, the size bound, and positions surviving the
//! deletion of acknowledged segments.

use super::*;

fn opts(dir: &Path, max_size: u64) -> Options {
    Options {
        dir: dir.to_path_buf(),
        max_size,
        fsync: Fsync::Interval(Duration::from_millis(200)),
    }
}

fn pos(offset: u64) -> Vec<Position> {
    vec![Position {
        dev: 1,
        ino: 2,
        fp_len: 0,
        fp_hash: record::fingerprint_hash(b""),
        offset,
        path: "/x.log".into(),
    }]
}

#[test]
fn records_survive_a_restart_with_their_batch_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (queue, recovered) = Queue::open(opts(dir.path(), 1 << 20)).unwrap();
    assert!(recovered.positions.is_none());
    let a = queue.append(Kind::Logs, b"one".to_vec(), pos(10)).unwrap();
    let b = queue.append(Kind::Logs, b"two".to_vec(), pos(20)).unwrap();
    let id = queue.read(b).unwrap().batch_id;
    drop(queue);
    let (queue, recovered) = Queue::open(opts(dir.path(), 1 << 20)).unwrap();
    assert_eq!(recovered.positions, Some(pos(20)));
    assert_eq!(recovered.pending, 2);
    assert_eq!(*queue.synced().borrow(), b);
    assert_eq!(queue.read(a).unwrap().payload, b"one");
    assert_eq!(queue.read(b).unwrap().batch_id, id);
    assert_eq!(queue.append(Kind::Logs, vec![], pos(30)).unwrap(), b + 1);
}

#[test]
fn a_torn_tail_is_cut_and_the_previous_positions_win() {
    let dir = tempfile::tempdir().unwrap();
    let (queue, _) = Queue::open(opts(dir.path(), 1 << 20)).unwrap();
    queue.append(Kind::Logs, b"one".to_vec(), pos(10)).unwrap();
    queue.append(Kind::Logs, vec![7; 500], pos(20)).unwrap();
    drop(queue);
    let seg = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let len = fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let (queue, recovered) = Queue::open(opts(dir.path(), 1 << 20)).unwrap();
    assert_eq!(recovered.positions, Some(pos(10)));
    assert_eq!(recovered.pending, 1);
    assert!(recovered.torn_bytes > 0);
    // The cut record's sequence is used again, under a new batch id.
    assert_eq!(queue.append(Kind::Logs, vec![], pos(20)).unwrap(), 2);
}

#[test]
fn a_full_queue_refuses_and_acks_make_room() {
    let dir = tempfile::tempdir().unwrap();
    let (queue, _) = Queue::open(opts(dir.path(), 256 << 10)).unwrap();
    let mut last = 0;
    loop {
        match queue.append(Kind::Logs, vec![1; 10_000], pos(last)) {
            Ok(seq) => last = seq,
            Err(AppendError::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(queue.stats().bytes <= 256 << 10);
    queue.sync().unwrap();
    queue.ack(last, Some(pos(last)));
    queue.write_acked().unwrap();
    assert!(queue.room() > 100_000, "{:?}", queue.stats());
    queue.append(Kind::Logs, vec![1; 10_000], pos(0)).unwrap();
}

#[test]
fn positions_outlive_acknowledged_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (queue, _) = Queue::open(opts(dir.path(), 1 << 20)).unwrap();
    let mut last = 0;
    for i in 0..40 {
        last = queue.append(Kind::Logs, vec![1; 10_000], pos(i)).unwrap();
    }
    queue.sync().unwrap();
    let positions = queue.read(last).unwrap().positions;
    queue.ack(last, Some(positions));
    queue.write_acked().unwrap();
    drop(queue);
    let (queue, recovered) = Queue::open(opts(dir.path(), 1 << 20)).unwrap();
    assert_eq!(recovered.positions, Some(pos(39)));
    assert_eq!(recovered.pending, 0);
    assert_eq!(queue.stats().bytes, 0);
    assert_eq!(queue.append(Kind::Logs, vec![], pos(40)).unwrap(), last + 1);
}
