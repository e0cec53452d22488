//! A per-org write-ahead log. Every export request is appended as one record (the OTLP
//! protobuf bytes, the signal, the ingest time and a sequence number, guarded by a length
//! and a CRC32) and acknowledged only after an `fdatasync` covers it. Syncs are group
//! commits: while one request syncs, others append, and the next sync covers them all.
//!
//! Segments are files named by their first sequence number; a segment is deleted once every
//! record in it is in a Parquet file recorded in its table's manifest (the per-signal
//! watermarks). On open, records above the watermarks are returned for replay and a torn
//! tail (a crash mid-append: such a record was never acknowledged) is cut off.

use crate::Signal;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

const MAGIC: &[u8; 8] = b"HXWAL\x00\x00\x01";
/// length u32 | crc32 u32 | seq u64 | signal u8 | ingest time i64
const HEADER_LEN: usize = 4 + 4 + 8 + 1 + 8;
/// A segment is closed and a new one started once it grows past this.
pub const SEGMENT_TARGET_BYTES: u64 = 64 << 20;
/// Largest payload a record may hold (a sanity bound while reading).
const MAX_RECORD_BYTES: usize = 256 << 20;

/// A record read back for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    pub seq: u64,
    pub signal: Signal,
    pub ingest_time: i64,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    /// Highest sequence number per signal in the segment (0: none).
    max_seq: [u64; 3],
    bytes: u64,
}

struct WriterState {
    file: File,
    current: Segment,
    /// Older segments, oldest first.
    closed: Vec<Segment>,
    /// Closed segments' files that the next sync must still flush.
    unsynced: Vec<File>,
    /// A segment file was created since the last sync (its directory entry needs syncing).
    dir_unsynced: bool,
    next_seq: u64,
}

pub struct OrgWal {
    dir: PathBuf,
    state: Mutex<WriterState>,
    /// The highest sequence number known to be on stable storage.
    synced: watch::Sender<u64>,
    sync_leader: tokio::sync::Mutex<()>,
    /// Set when an fsync failed: what is on disk is unknown, so nothing more is accepted.
    poisoned: Arc<AtomicBool>,
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

fn crc(seq: u64, signal: u8, ingest_time: i64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(&[signal]);
    hasher.update(&ingest_time.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn new_segment(dir: &Path, first_seq: u64) -> io::Result<(File, Segment)> {
    let path = dir.join(segment_name(first_seq));
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)?;
    file.write_all(MAGIC)?;
    Ok((
        file,
        Segment {
            path,
            max_seq: [0; 3],
            bytes: MAGIC.len() as u64,
        },
    ))
}

/// Reads one segment; returns its records and the length of its valid prefix.
fn read_segment(path: &Path) -> io::Result<(Vec<WalRecord>, u64, Option<String>)> {
    let data = std::fs::read(path)?;
    if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        return Ok((
            Vec::new(),
            0,
            Some("missing or wrong segment header".into()),
        ));
    }
    let mut records = Vec::new();
    let mut offset = MAGIC.len();
    while offset < data.len() {
        let problem = if data.len() - offset < HEADER_LEN {
            Some("truncated record header")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Ok((records, offset as u64, Some(problem.into())));
        }
        let header = &data[offset..offset + HEADER_LEN];
        let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
        let stored_crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
        let seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        let tag = header[16];
        let ingest_time = i64::from_le_bytes(header[17..25].try_into().expect("8 bytes"));
        let body_start = offset + HEADER_LEN;
        if len > MAX_RECORD_BYTES || data.len() - body_start < len {
            return Ok((records, offset as u64, Some("truncated record".into())));
        }
        let payload = &data[body_start..body_start + len];
        let signal = Signal::from_tag(tag);
        if crc(seq, tag, ingest_time, payload) != stored_crc || signal.is_none() {
            return Ok((
                records,
                offset as u64,
                Some("record checksum mismatch".into()),
            ));
        }
        records.push(WalRecord {
            seq,
            signal: signal.expect("checked above"),
            ingest_time,
            payload: payload.to_vec(),
        });
        offset = body_start + len;
    }
    Ok((records, offset as u64, None))
}

impl OrgWal {
    /// Opens (creating) the log in `dir`. Returns the log, ready for appends in a fresh
    /// segment, and every record whose sequence number is above its signal's watermark, in
    /// sequence order, for replay.
    pub fn open(dir: &Path, watermarks: [u64; 3]) -> io::Result<(Self, Vec<WalRecord>)> {
        std::fs::create_dir_all(dir)?;
        let mut paths: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let first = name.strip_suffix(".wal")?.parse::<u64>().ok()?;
                Some((first, entry.path()))
            })
            .collect();
        paths.sort();
        let mut closed = Vec::new();
        let mut replay = Vec::new();
        let mut max_seen = watermarks.iter().copied().max().unwrap_or(0);
        let last = paths.len().saturating_sub(1);
        for (index, (_, path)) in paths.into_iter().enumerate() {
            let (records, valid_len, problem) = read_segment(&path)?;
            if let Some(problem) = problem {
                if index == last {
                    // A crash mid-append or mid-creation: nothing past here was acknowledged.
                    tracing::warn!(path = %path.display(), %problem, "cutting the torn tail of the write-ahead log");
                    OpenOptions::new()
                        .write(true)
                        .open(&path)?
                        .set_len(valid_len)?;
                } else {
                    tracing::error!(path = %path.display(), %problem, "write-ahead log segment is damaged; records after the damage are lost");
                }
            }
            if records.is_empty() {
                // Nothing in it (a fresh segment, or one torn before its first record).
                std::fs::remove_file(&path)?;
                continue;
            }
            let mut segment = Segment {
                path,
                max_seq: [0; 3],
                bytes: valid_len,
            };
            for record in records {
                let i = record.signal.index();
                segment.max_seq[i] = segment.max_seq[i].max(record.seq);
                max_seen = max_seen.max(record.seq);
                if record.seq > watermarks[i] {
                    replay.push(record);
                }
            }
            closed.push(segment);
        }
        replay.sort_by_key(|r| r.seq);
        let next_seq = max_seen + 1;
        let (file, current) = new_segment(dir, next_seq)?;
        file.sync_all()?;
        sync_dir(dir)?;
        let wal = Self {
            dir: dir.to_path_buf(),
            state: Mutex::new(WriterState {
                file,
                current,
                closed,
                unsynced: Vec::new(),
                dir_unsynced: false,
                next_seq,
            }),
            synced: watch::Sender::new(max_seen),
            sync_leader: tokio::sync::Mutex::new(()),
            poisoned: Arc::new(AtomicBool::new(false)),
        };
        wal.trim(watermarks)?;
        Ok((wal, replay))
    }

    /// Appends a record (not yet synced) and returns its sequence number. `then` runs with the
    /// sequence number while the log is still locked, so whatever it records (the rows in a
    /// buffer) is ordered exactly as the log is.
    pub fn append<T>(
        &self,
        signal: Signal,
        ingest_time: i64,
        payload: &[u8],
        then: impl FnOnce(u64) -> T,
    ) -> io::Result<T> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(io::Error::other(
                "the write-ahead log failed to sync earlier and accepts no more writes",
            ));
        }
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| (*l as usize) <= MAX_RECORD_BYTES)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "record too large for the write-ahead log",
                )
            })?;
        let mut state = self.state.lock().expect("WAL lock poisoned");
        let seq = state.next_seq;
        let mut header = [0u8; HEADER_LEN];
        header[0..4].copy_from_slice(&len.to_le_bytes());
        header[4..8].copy_from_slice(&crc(seq, signal.tag(), ingest_time, payload).to_le_bytes());
        header[8..16].copy_from_slice(&seq.to_le_bytes());
        header[16] = signal.tag();
        header[17..25].copy_from_slice(&ingest_time.to_le_bytes());
        if let Err(error) = state
            .file
            .write_all(&header)
            .and_then(|()| state.file.write_all(payload))
        {
            // Cut off the partial record, or later records would sit behind garbage and be
            // lost as a "torn tail" on restart. If even that fails, stop taking writes.
            let valid = state.current.bytes;
            if state.file.set_len(valid).is_err() {
                self.poisoned.store(true, Ordering::Release);
            }
            return Err(error);
        }
        state.next_seq += 1;
        let index = signal.index();
        state.current.max_seq[index] = seq;
        state.current.bytes += (HEADER_LEN + payload.len()) as u64;
        let result = then(seq);
        // The record is written and will be acknowledged: a failed rotation must not fail it
        // (it is retried on the next append).
        if state.current.bytes >= SEGMENT_TARGET_BYTES
            && let Err(error) = self.rotate_locked(&mut state)
        {
            tracing::warn!(error = %error, dir = %self.dir.display(), "could not start a new write-ahead log segment; will retry");
        }
        Ok(result)
    }

    /// Returns once record `seq` is on stable storage. Concurrent callers share syncs.
    pub async fn sync(&self, seq: u64) -> io::Result<()> {
        loop {
            if *self.synced.borrow() >= seq {
                return Ok(());
            }
            let _leader = self.sync_leader.lock().await;
            if *self.synced.borrow() >= seq {
                return Ok(());
            }
            // After a failed fsync the kernel may have dropped dirty pages and a retry can
            // "succeed": nothing written since may be acknowledged.
            if self.is_poisoned() {
                return Err(io::Error::other(
                    "the write-ahead log failed to sync and accepts no more writes",
                ));
            }
            let (files, dir, covered) = {
                let mut state = self.state.lock().expect("WAL lock poisoned");
                let current = state.file.try_clone()?;
                let mut files = std::mem::take(&mut state.unsynced);
                files.push(current);
                let dir = std::mem::take(&mut state.dir_unsynced).then(|| self.dir.clone());
                (files, dir, state.next_seq - 1)
            };
            let poisoned = self.poisoned.clone();
            // Runs to the end even if this request is cancelled, and records a failure itself.
            let outcome = tokio::task::spawn_blocking(move || {
                let result = files
                    .iter()
                    .try_for_each(File::sync_data)
                    .and_then(|()| dir.map_or(Ok(()), |d| sync_dir(&d)));
                if result.is_err() {
                    poisoned.store(true, Ordering::Release);
                }
                result
            })
            .await
            .map_err(io::Error::other)
            .and_then(|r| r);
            if let Err(error) = outcome {
                self.poisoned.store(true, Ordering::Release);
                tracing::error!(error = %error, dir = %self.dir.display(), "write-ahead log sync failed; refusing further writes");
                return Err(error);
            }
            self.synced.send_replace(covered);
        }
    }

    /// Deletes closed segments whose every record is at or below its signal's watermark.
    pub fn trim(&self, watermarks: [u64; 3]) -> io::Result<usize> {
        let doomed: Vec<Segment> = {
            let mut state = self.state.lock().expect("WAL lock poisoned");
            let (doomed, kept) = std::mem::take(&mut state.closed)
                .into_iter()
                .partition(|s| (0..3).all(|i| s.max_seq[i] <= watermarks[i]));
            state.closed = kept;
            doomed
        };
        let mut removed = 0;
        let mut failed = Vec::new();
        let mut first_error = None;
        for segment in doomed {
            match std::fs::remove_file(&segment.path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => removed += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                    failed.push(segment);
                }
            }
        }
        if !failed.is_empty() {
            // Keep them listed so a later trim tries again.
            self.state
                .lock()
                .expect("WAL lock poisoned")
                .closed
                .extend(failed);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    /// Whether an fsync failed: the log then refuses writes until the server restarts.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Bytes of log on disk (closed segments and the current one).
    pub fn disk_bytes(&self) -> u64 {
        let state = self.state.lock().expect("WAL lock poisoned");
        state.current.bytes + state.closed.iter().map(|s| s.bytes).sum::<u64>()
    }

    /// Forces the current segment closed, so that it can be trimmed once flushed (used when
    /// the log has gone idle with everything flushed).
    pub fn rotate(&self) -> io::Result<()> {
        let mut state = self.state.lock().expect("WAL lock poisoned");
        if state.current.max_seq == [0; 3] {
            return Ok(());
        }
        self.rotate_locked(&mut state)
    }

    fn rotate_locked(&self, state: &mut WriterState) -> io::Result<()> {
        let (file, segment) = new_segment(&self.dir, state.next_seq)?;
        let old_file = std::mem::replace(&mut state.file, file);
        let old_segment = std::mem::replace(&mut state.current, segment);
        state.unsynced.push(old_file);
        state.closed.push(old_segment);
        state.dir_unsynced = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[tokio::test]
    async fn records_survive_reopen_and_watermarks_filter_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, replay) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        assert!(replay.is_empty());
        let a = wal.append(Signal::Logs, 10, b"first", |s| s).unwrap();
        let b = wal.append(Signal::Spans, 11, b"second", |s| s).unwrap();
        let c = wal.append(Signal::Logs, 12, b"third", |s| s).unwrap();
        assert_eq!((a, b, c), (1, 2, 3));
        wal.sync(c).await.unwrap();
        drop(wal);

        let (wal, replay) = OrgWal::open(dir.path(), [1, 0, 0]).unwrap();
        let seqs: Vec<_> = replay
            .iter()
            .map(|r| (r.seq, r.signal, r.payload.as_slice()))
            .collect();
        assert_eq!(
            seqs,
            [
                (2, Signal::Spans, &b"second"[..]),
                (3, Signal::Logs, &b"third"[..])
            ]
        );
        assert_eq!(replay[0].ingest_time, 11);
        assert_eq!(
            wal.append(Signal::Metrics, 0, b"x", |s| s).unwrap(),
            4,
            "numbering continues"
        );
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_and_earlier_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        wal.append(Signal::Logs, 0, b"whole", |_| ()).unwrap();
        wal.append(Signal::Logs, 0, b"torn record payload", |_| ())
            .unwrap();
        wal.sync(2).await.unwrap();
        drop(wal);
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 5)
            .unwrap();

        let (wal, replay) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        assert_eq!(replay.len(), 1);
        assert_eq!(replay[0].payload, b"whole");
        assert_eq!(
            wal.append(Signal::Logs, 0, b"next", |s| s).unwrap(),
            2,
            "the torn record's number is reused: it was never acknowledged"
        );
        drop(wal);
        let (_, replay) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        assert_eq!(
            replay.iter().map(|r| r.payload.clone()).collect::<Vec<_>>(),
            [b"whole".to_vec(), b"next".to_vec()]
        );
    }

    #[tokio::test]
    async fn corrupt_bytes_fail_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        wal.append(Signal::Logs, 0, b"good", |_| ()).unwrap();
        wal.append(Signal::Logs, 0, b"flipped", |_| ()).unwrap();
        wal.sync(2).await.unwrap();
        drop(wal);
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let (_, replay) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        assert_eq!(replay.len(), 1);
    }

    #[tokio::test]
    async fn trimming_deletes_only_fully_flushed_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        wal.append(Signal::Logs, 0, b"l1", |_| ()).unwrap();
        wal.append(Signal::Spans, 0, b"s2", |_| ()).unwrap();
        wal.rotate().unwrap();
        wal.append(Signal::Logs, 0, b"l3", |_| ()).unwrap();
        wal.sync(3).await.unwrap();
        assert_eq!(segments(dir.path()), 2);
        assert_eq!(wal.trim([1, 0, 0]).unwrap(), 0, "spans not yet flushed");
        assert_eq!(wal.trim([1, 2, 0]).unwrap(), 1);
        assert_eq!(segments(dir.path()), 1);
        drop(wal);
        let (_, replay) = OrgWal::open(dir.path(), [1, 2, 0]).unwrap();
        assert_eq!(replay.len(), 1);
        assert_eq!(replay[0].seq, 3);
    }

    #[tokio::test]
    async fn concurrent_appends_share_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        let wal = std::sync::Arc::new(wal);
        let mut tasks = Vec::new();
        for i in 0..64u32 {
            let wal = wal.clone();
            tasks.push(tokio::spawn(async move {
                let seq = wal
                    .append(Signal::Logs, 0, &i.to_le_bytes(), |s| s)
                    .unwrap();
                wal.sync(seq).await.unwrap();
                seq
            }));
        }
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await.unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (1..=64).collect::<Vec<_>>());
        drop(wal);
        let (_, replay) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        assert_eq!(replay.len(), 64);
    }
}
