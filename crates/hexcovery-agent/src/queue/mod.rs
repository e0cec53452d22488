//! The disk queue, the agent's durability point: append-only segments of checksummed records
//! (see [`record`]), fsync'd on an interval or on every record, an atomically replaced
//! `acked` file, and deletion of segments the server has acknowledged.
//!
//! Rules that keep exactly-once delivery:
//! - a record is handed to the sender only once it is fsync'd (`synced`), so a record the
//!   server may have stored can never be lost to a crash and re-read under a new batch id;
//! - a segment is deleted only after an `acked` file covering all of it is durable, so the
//!   positions a restart resumes from are never older than what the server holds.

pub mod ackfile;
pub mod record;

use record::{Kind, Parsed, Position, Record};
use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// When appended records are made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always,
    Interval(Duration),
}

#[derive(Clone, Debug)]
pub struct Options {
    pub dir: PathBuf,
    pub max_size: u64,
    pub fsync: Fsync,
}

/// What opening the queue found.
#[derive(Debug)]
pub struct Recovered {
    /// The file positions to resume from (`None`: the queue never held a record).
    pub positions: Option<Vec<Position>>,
    /// Bytes cut from segment tails that did not hold whole, valid records.
    pub torn_bytes: u64,
    /// Unacknowledged records found.
    pub pending: usize,
}

#[derive(Debug)]
pub enum AppendError {
    /// At `max_size`: nothing more until the server acknowledges.
    Full,
    Io(io::Error),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Full => write!(f, "the queue is full"),
            AppendError::Io(e) => write!(f, "writing the queue failed: {e}"),
        }
    }
}

struct Segment {
    first_seq: u64,
    /// 0 while it holds no record.
    last_seq: u64,
    path: PathBuf,
    size: u64,
    file: Arc<File>,
}

#[derive(Clone, Copy)]
struct Loc {
    segment_first: u64,
    offset: u64,
    len: u32,
}

struct Inner {
    /// Oldest first; the last one is written to.
    segments: VecDeque<Segment>,
    /// Unacknowledged records.
    index: BTreeMap<u64, Loc>,
    next_seq: u64,
    synced: u64,
    acked: u64,
    acked_positions: Vec<Position>,
    ack_written: u64,
    bytes: u64,
    rejected: u64,
}

/// A snapshot for the status page and the health log.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Stats {
    pub records: usize,
    pub bytes: u64,
    pub max_bytes: u64,
    pub next_seq: u64,
    pub synced_seq: u64,
    pub acked_seq: u64,
    pub rejected: u64,
}

pub struct Queue {
    opts: Options,
    segment_size: u64,
    inner: Mutex<Inner>,
    synced_tx: watch::Sender<u64>,
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

impl Queue {
    /// Opens (or creates) the queue in `opts.dir`, cutting torn tails and making everything
    /// it found durable before anything is sent.
    pub fn open(opts: Options) -> io::Result<(Arc<Queue>, Recovered)> {
        fs::create_dir_all(&opts.dir)?;
        fs::create_dir_all(opts.dir.join("rejected"))?;
        let acked = ackfile::read(&opts.dir)?;
        let (acked_seq, acked_positions) = match acked {
            Some(a) => (a.seq, Some(a.positions)),
            None => (0, None),
        };
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        for entry in fs::read_dir(&opts.dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(first) = name.strip_suffix(".seg").and_then(|n| n.parse().ok()) {
                names.push((first, path));
            }
        }
        names.sort();
        let mut segments = VecDeque::new();
        let mut index = BTreeMap::new();
        let mut torn_bytes = 0;
        let mut last: Option<(u64, Vec<Position>)> = None;
        let mut bytes = 0;
        for (first_seq, path) in names {
            let data = fs::read(&path)?;
            let mut at = 0usize;
            let mut last_seq = 0;
            while at < data.len() {
                match record::parse(&data[at..]) {
                    Parsed::Record(rec, len)
                        if last.as_ref().is_none_or(|(seq, _)| rec.seq > *seq) =>
                    {
                        if rec.seq > acked_seq {
                            index.insert(
                                rec.seq,
                                Loc {
                                    segment_first: first_seq,
                                    offset: at as u64,
                                    len: len as u32,
                                },
                            );
                        }
                        last_seq = rec.seq;
                        last = Some((rec.seq, rec.positions));
                        at += len;
                    }
                    _ => break,
                }
            }
            let file = OpenOptions::new().read(true).write(true).open(&path)?;
            if at < data.len() {
                let cut = (data.len() - at) as u64;
                tracing::warn!(
                    segment = %path.display(),
                    offset = at,
                    bytes = cut,
                    "the queue segment ends in a torn or damaged record; cut there (its lines are read again from their files)"
                );
                torn_bytes += cut;
                file.set_len(at as u64)?;
            }
            file.sync_all()?;
            if last_seq == 0 || last_seq <= acked_seq {
                // Empty, or acknowledged whole (the acked file covering it is durable).
                drop(file);
                fs::remove_file(&path)?;
                continue;
            }
            bytes += at as u64;
            segments.push_back(Segment {
                first_seq,
                last_seq,
                path,
                size: at as u64,
                file: Arc::new(file),
            });
        }
        let last_seq = last.as_ref().map_or(0, |(seq, _)| *seq).max(acked_seq);
        let positions = match (last, acked_positions.clone()) {
            (Some((seq, positions)), _) if seq >= acked_seq => Some(positions),
            (_, acked) => acked,
        };
        let next_seq = last_seq + 1;
        // Always start a fresh segment: appends never follow a cut tail.
        let active = Self::create_segment(&opts.dir, next_seq)?;
        segments.push_back(active);
        ackfile::sync_dir(&opts.dir)?;
        let segment_size = (opts.max_size / 8).clamp(64 << 10, 16 << 20);
        let pending = index.len();
        let (synced_tx, _) = watch::channel(last_seq);
        let queue = Queue {
            segment_size,
            inner: Mutex::new(Inner {
                segments,
                index,
                next_seq,
                synced: last_seq,
                acked: acked_seq,
                acked_positions: acked_positions.unwrap_or_default(),
                ack_written: acked_seq,
                bytes,
                rejected: count_rejected(&opts.dir),
            }),
            synced_tx,
            opts,
        };
        Ok((
            Arc::new(queue),
            Recovered {
                positions,
                torn_bytes,
                pending,
            },
        ))
    }

    fn create_segment(dir: &Path, first_seq: u64) -> io::Result<Segment> {
        let path = dir.join(segment_name(first_seq));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        Ok(Segment {
            first_seq,
            last_seq: 0,
            path,
            size: 0,
            file: Arc::new(file),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not wedge the queue: its state is updated only after
        // each I/O step succeeded, so it is consistent at every unlock.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Bytes that may still be appended.
    pub fn room(&self) -> u64 {
        self.opts.max_size.saturating_sub(self.lock().bytes)
    }

    /// Largest payload worth building: a record never exceeds a sixteenth of the queue.
    pub fn max_record(&self) -> u64 {
        (self.opts.max_size / 16).clamp(16 << 10, 1 << 20)
    }

    /// Appends a record; returns its sequence number. `Kind::Positions` records may exceed
    /// `max_size` by a little: they are tiny and keep a restart exact.
    pub fn append(
        &self,
        kind: Kind,
        payload: Vec<u8>,
        positions: Vec<Position>,
    ) -> Result<u64, AppendError> {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        let batch_id = *uuid::Uuid::now_v7().as_bytes();
        let bytes = record::encode(&Record {
            seq,
            batch_id,
            kind,
            payload,
            positions,
        });
        let len = bytes.len() as u64;
        let limit = match kind {
            Kind::Positions => self.opts.max_size + (1 << 20),
            _ => self.opts.max_size,
        };
        if inner.bytes + len > limit {
            return Err(AppendError::Full);
        }
        let active_size = inner.segments.back().map_or(0, |s| s.size);
        if active_size > 0 && active_size + len > self.segment_size {
            self.roll(&mut inner, seq).map_err(AppendError::Io)?;
        }
        let segment = inner.segments.back_mut().expect("an active segment");
        let offset = segment.size;
        if let Err(e) = segment.file.write_all_at(&bytes, offset) {
            // Do not leave half a record for the next append to follow.
            let _ = segment.file.set_len(offset);
            return Err(AppendError::Io(e));
        }
        segment.size += len;
        segment.last_seq = seq;
        let segment_first = segment.first_seq;
        inner.bytes += len;
        inner.next_seq = seq + 1;
        inner.index.insert(
            seq,
            Loc {
                segment_first,
                offset,
                len: len as u32,
            },
        );
        if self.opts.fsync == Fsync::Always {
            let file = inner.segments.back().unwrap().file.clone();
            drop(inner);
            file.sync_data().map_err(AppendError::Io)?;
            self.mark_synced(seq);
        }
        Ok(seq)
    }

    /// Closes the active segment (fsync'd, so `synced` covers it) and starts the next.
    fn roll(&self, inner: &mut Inner, next_seq: u64) -> io::Result<()> {
        let old = inner.segments.back().unwrap();
        old.file.sync_data()?;
        let old_last = old.last_seq;
        let segment = Self::create_segment(&self.opts.dir, next_seq)?;
        ackfile::sync_dir(&self.opts.dir)?;
        inner.segments.push_back(segment);
        if old_last > inner.synced {
            inner.synced = old_last;
            self.synced_tx.send_replace(old_last);
        }
        Ok(())
    }

    fn mark_synced(&self, seq: u64) {
        let mut inner = self.lock();
        if seq > inner.synced {
            inner.synced = seq;
            drop(inner);
            self.synced_tx.send_replace(seq);
        }
    }

    /// Makes every appended record durable (the interval syncer's step; also at shutdown).
    pub fn sync(&self) -> io::Result<()> {
        let (file, target) = {
            let inner = self.lock();
            let target = inner.next_seq - 1;
            if target <= inner.synced {
                return Ok(());
            }
            (inner.segments.back().unwrap().file.clone(), target)
        };
        // Outside the lock: appends go on while the disk works.
        file.sync_data()?;
        self.mark_synced(target);
        Ok(())
    }

    /// The highest durable sequence, watched by the sender.
    pub fn synced(&self) -> watch::Receiver<u64> {
        self.synced_tx.subscribe()
    }

    pub fn acked_seq(&self) -> u64 {
        self.lock().acked
    }

    /// Reads record `seq` back (it must be unacknowledged).
    pub fn read(&self, seq: u64) -> io::Result<Record> {
        let (file, loc) = {
            let inner = self.lock();
            let loc = *inner.index.get(&seq).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no record {seq}"))
            })?;
            let segment = inner
                .segments
                .iter()
                .find(|s| s.first_seq == loc.segment_first)
                .ok_or_else(|| io::Error::other("the record's segment is gone"))?;
            (segment.file.clone(), loc)
        };
        let mut buf = vec![0u8; loc.len as usize];
        file.read_exact_at(&mut buf, loc.offset)?;
        match record::parse(&buf) {
            Parsed::Record(rec, _) if rec.seq == seq => Ok(*rec),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("queue record {seq} no longer reads back whole"),
            )),
        }
    }

    /// Records everything up to `seq` as acknowledged. The `acked` file and the deletion of
    /// segments follow in [`Queue::write_acked`].
    /// `positions` are those of record `seq` (`None`: unknown, the previous ones stay).
    pub fn ack(&self, seq: u64, positions: Option<Vec<Position>>) {
        let mut inner = self.lock();
        if seq <= inner.acked {
            return;
        }
        inner.acked = seq;
        if let Some(positions) = positions {
            inner.acked_positions = positions;
        }
        let rest = inner.index.split_off(&(seq + 1));
        inner.index = rest;
    }

    /// Copies record `seq` into `rejected/` (the server refused it as invalid); the caller
    /// then acknowledges it as any other.
    pub fn reject(&self, record: &Record) -> io::Result<()> {
        let path = self
            .opts
            .dir
            .join("rejected")
            .join(format!("{:020}.rec", record.seq));
        let mut file = File::create(&path)?;
        file.write_all(&record::encode(record))?;
        file.sync_all()?;
        ackfile::sync_dir(&self.opts.dir.join("rejected"))?;
        self.lock().rejected += 1;
        Ok(())
    }

    /// Writes the `acked` file if acknowledgements moved, then deletes the segments it
    /// covers whole (never the active one).
    pub fn write_acked(&self) -> io::Result<()> {
        let (seq, positions) = {
            let inner = self.lock();
            if inner.acked <= inner.ack_written {
                return Ok(());
            }
            (inner.acked, inner.acked_positions.clone())
        };
        ackfile::write(&self.opts.dir, &ackfile::Acked { seq, positions })?;
        let mut inner = self.lock();
        inner.ack_written = inner.ack_written.max(seq);
        while inner.segments.len() > 1 {
            let first = inner.segments.front().unwrap();
            if first.last_seq == 0 || first.last_seq > seq {
                break;
            }
            let segment = inner.segments.pop_front().unwrap();
            inner.bytes -= segment.size;
            fs::remove_file(&segment.path)?;
        }
        Ok(())
    }

    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            records: inner.index.len(),
            bytes: inner.bytes,
            max_bytes: self.opts.max_size,
            next_seq: inner.next_seq,
            synced_seq: inner.synced,
            acked_seq: inner.acked,
            rejected: inner.rejected,
        }
    }

    /// Runs the interval fsync and the `acked` file writer until `stop` is set.
    pub fn spawn_syncer(self: &Arc<Self>, stop: Arc<std::sync::atomic::AtomicBool>) {
        let queue = self.clone();
        let every = match self.opts.fsync {
            Fsync::Interval(every) => every,
            // Appends sync themselves; the acked file still wants writing.
            Fsync::Always => Duration::from_millis(200),
        };
        std::thread::Builder::new()
            .name("queue-sync".into())
            .spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(every);
                    if let Err(e) = queue.sync() {
                        tracing::error!(error = %e, "fsync of the queue failed; retrying");
                    }
                    if let Err(e) = queue.write_acked() {
                        tracing::error!(error = %e, "writing the acked file failed; retrying");
                    }
                }
            })
            .expect("spawning the queue syncer");
    }
}

fn count_rejected(dir: &Path) -> u64 {
    fs::read_dir(dir.join("rejected"))
        .map(|entries| entries.filter_map(Result::ok).count() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
