//! A per-org write-ahead log. Every export request is appended as one record (the OTLP
//! protobuf bytes, the signal, the ingest time and a sequence number, guarded by a length
//! and a CRC32) and acknowledged only after an `fdatasync` covers it. Syncs are group
//! commits: while one request syncs, others append, and the next sync covers them all.
//!
//! Segments are files named by their first sequence number; a segment is deleted once every
//! record in it is in a Parquet file recorded in its table's manifest (the per-signal
//! watermarks). On open, records above the watermarks are handed out for replay, one segment
//! in memory at a time. Only a torn tail — damage with nothing valid after it, at the end of
//! the newest segment (a crash mid-append: such a record was never acknowledged) — is cut
//! off. Damage followed by valid records is corruption: the segment is quarantined (a copy
//! kept aside), every intact record after the damage is recovered by resynchronising on the
//! next valid header and CRC, and the lost byte ranges are reported.

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
/// Set in the signal byte when the body starts with the request's batch id (u8 length, then
/// the id's bytes) before the payload. Records without it are read as before.
const BATCH_ID_FLAG: u8 = 0x80;
/// Longest batch id a record may carry (its length is one byte).
pub const MAX_BATCH_ID_BYTES: usize = 255;
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
    /// The client's `x-hexcovery-batch-id`, when the request carried one.
    pub batch_id: Option<String>,
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

/// A record as it lies in a segment's bytes.
struct RawRecord<'a> {
    seq: u64,
    signal: Signal,
    ingest_time: i64,
    batch_id: Option<&'a str>,
    payload: &'a [u8],
    /// Byte range of the whole record (header and payload) in the segment.
    start: usize,
    end: usize,
}

/// The record at `offset`, if a whole valid one starts there and is numbered after
/// `after_seq` (and, when `max_seq` is given, at most `max_seq`); otherwise why not.
fn parse_at(
    data: &[u8],
    offset: usize,
    after_seq: u64,
    max_seq: Option<u64>,
) -> Result<RawRecord<'_>, &'static str> {
    if data.len() - offset < HEADER_LEN {
        return Err("truncated record header");
    }
    let header = &data[offset..offset + HEADER_LEN];
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
    let seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    let tag = header[16];
    let body_start = offset + HEADER_LEN;
    if len > MAX_RECORD_BYTES || data.len() - body_start < len {
        return Err("truncated record");
    }
    let signal = Signal::from_tag(tag & !BATCH_ID_FLAG).ok_or("unknown signal tag")?;
    if seq <= after_seq || max_seq.is_some_and(|max| seq > max) {
        return Err("record out of sequence");
    }
    let stored_crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let ingest_time = i64::from_le_bytes(header[17..25].try_into().expect("8 bytes"));
    let body = &data[body_start..body_start + len];
    if crc(seq, tag, ingest_time, body) != stored_crc {
        return Err("record checksum mismatch");
    }
    let (batch_id, payload) = if tag & BATCH_ID_FLAG == 0 {
        (None, body)
    } else {
        let id_len = usize::from(*body.first().ok_or("batch id missing")?);
        let id = body.get(1..1 + id_len).ok_or("batch id truncated")?;
        let id = std::str::from_utf8(id).map_err(|_| "batch id not UTF-8")?;
        (Some(id), &body[1 + id_len..])
    };
    Ok(RawRecord {
        seq,
        signal,
        ingest_time,
        batch_id,
        payload,
        start: offset,
        end: body_start + len,
    })
}

/// A byte range of a segment that holds no valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub start: u64,
    pub end: u64,
    pub problem: &'static str,
}

/// What reading a segment found.
#[derive(Debug, Default)]
struct Scan {
    /// Byte ranges of the valid records, in order.
    records: Vec<(usize, usize)>,
    /// Damage followed by at least one valid record: corruption.
    corrupt: Vec<Damage>,
    /// Damage with nothing valid after it, up to the end of the file.
    tail: Option<Damage>,
}

/// Reads a segment's bytes (`first_seq` is the number its name gives), handing each valid
/// record to `each` in order. After damage it resynchronises on the next offset where a
/// whole record with a plausible number and a matching CRC starts, so records after the
/// damage are kept; only damage with nothing valid after it is a (torn) tail.
fn scan_segment(
    data: &[u8],
    first_seq: u64,
    mut each: impl FnMut(&RawRecord<'_>) -> io::Result<()>,
) -> io::Result<Scan> {
    let mut scan = Scan::default();
    let mut after_seq = first_seq.saturating_sub(1);
    let mut offset = MAGIC.len().min(data.len());
    let mut damage: Option<(usize, &'static str)> = None;
    if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        damage = Some((0, "missing or wrong segment header"));
        offset = 0;
    }
    loop {
        let found = match damage {
            None if offset >= data.len() => break,
            None => match parse_at(data, offset, after_seq, None) {
                Ok(record) => Some(record),
                Err(problem) => {
                    damage = Some((offset, problem));
                    None
                }
            },
            Some((damage_start, problem)) => {
                // Resynchronise: the next offset where a valid record starts. Records in a
                // segment are numbered consecutively, so one found `n` bytes after the damage
                // began is numbered at most `n / HEADER_LEN + 1` after the last good one.
                let next = (offset + 1..data.len().saturating_sub(HEADER_LEN - 1)).find_map(|at| {
                    let span = ((at - damage_start) / HEADER_LEN) as u64 + 1;
                    parse_at(data, at, after_seq, Some(after_seq.saturating_add(span))).ok()
                });
                match next {
                    Some(record) => {
                        scan.corrupt.push(Damage {
                            start: damage_start as u64,
                            end: record.start as u64,
                            problem,
                        });
                        damage = None;
                        Some(record)
                    }
                    None => {
                        scan.tail = Some(Damage {
                            start: damage_start as u64,
                            end: data.len() as u64,
                            problem,
                        });
                        break;
                    }
                }
            }
        };
        if let Some(record) = found {
            each(&record)?;
            scan.records.push((record.start, record.end));
            after_seq = record.seq;
            offset = record.end;
        }
    }
    Ok(scan)
}

/// The byte ranges of `damage`, for logs and reports: `8..264 (record checksum mismatch), …`.
pub fn describe(damage: &[Damage]) -> String {
    damage
        .iter()
        .map(|d| format!("{}..{} ({})", d.start, d.end, d.problem))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies a damaged segment aside (`<segment>.corrupt-<unix seconds>`, which no listing
/// takes for a segment) and rewrites it holding only its valid records, atomically.
/// Returns the quarantine path and the rewritten length.
fn quarantine_and_rewrite(
    path: &Path,
    data: &[u8],
    records: &[(usize, usize)],
) -> io::Result<(PathBuf, u64)> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("segment");
    let mut quarantine = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 1;
    while quarantine.exists() {
        quarantine = path.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut copy = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&quarantine)?;
    copy.write_all(data)?;
    copy.sync_all()?;
    let temp = path.with_file_name(format!("{name}.rewrite"));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&temp)?;
    file.write_all(MAGIC)?;
    let mut len = MAGIC.len() as u64;
    for (start, end) in records {
        file.write_all(&data[*start..*end])?;
        len += (end - start) as u64;
    }
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    sync_dir(dir)?;
    Ok((quarantine, len))
}

/// What a read-only look at one segment found (the `repair` subcommand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentHealth {
    pub segment: PathBuf,
    /// Valid records in the segment.
    pub records: usize,
    /// Damage followed by valid records: corruption (replay keeps those records and a copy).
    pub corrupt: Vec<Damage>,
    /// Damage up to the end of the file.
    pub tail: Option<Damage>,
    /// Whether this is the log's newest segment, where a damaged tail is a torn write.
    pub newest: bool,
}

/// Reads every segment of the log in `dir` without changing anything and reports what
/// replay would find, plus the quarantined copies (`*.wal.corrupt-*`) kept from earlier
/// recoveries.
pub fn inspect(dir: &Path) -> io::Result<(Vec<SegmentHealth>, Vec<PathBuf>)> {
    let mut paths: Vec<(u64, PathBuf)> = Vec::new();
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.contains(".wal.corrupt-") {
            copies.push(entry.path());
        } else if let Some(first) = name
            .strip_suffix(".wal")
            .and_then(|n| n.parse::<u64>().ok())
        {
            paths.push((first, entry.path()));
        }
    }
    paths.sort();
    copies.sort();
    let last = paths.len().saturating_sub(1);
    let mut report = Vec::with_capacity(paths.len());
    for (index, (first_seq, path)) in paths.into_iter().enumerate() {
        let data = std::fs::read(&path)?;
        let scan = scan_segment(&data, first_seq, |_| Ok(()))?;
        report.push(SegmentHealth {
            segment: path,
            records: scan.records.len(),
            corrupt: scan.corrupt,
            tail: scan.tail,
            newest: index == last,
        });
    }
    Ok((report, copies))
}

/// What opening a log recovered from damaged segments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Segments that held damage followed by valid records (or damage in a closed segment):
    /// each was copied to its quarantine path and rewritten with its valid records.
    pub quarantined: Vec<QuarantinedSegment>,
    /// Bytes cut off the newest segment as a torn tail (nothing valid after them).
    pub torn_tail_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedSegment {
    pub segment: PathBuf,
    pub copy: PathBuf,
    pub lost: Vec<Damage>,
    /// Valid records kept in the segment.
    pub records: usize,
}

impl OrgWal {
    /// Opens (creating) the log in `dir`. Returns the log, ready for appends in a fresh
    /// segment, and every record whose sequence number is above its signal's watermark, in
    /// sequence order, for replay. Holds every such record in memory: replay with
    /// [`Self::open_with`].
    pub fn open(dir: &Path, watermarks: [u64; 3]) -> io::Result<(Self, Vec<WalRecord>)> {
        let mut replay = Vec::new();
        let (wal, _) = Self::open_with(dir, watermarks, |record| {
            replay.push(record);
            Ok(())
        })?;
        Ok((wal, replay))
    }

    /// Opens (creating) the log in `dir`, handing every record whose sequence number is
    /// above its signal's watermark to `replay`, in sequence order, one segment in memory
    /// at a time. An error from `replay` stops the open.
    ///
    /// Damage is recovered, never silently cut: damage with nothing valid after it in the
    /// newest segment is a torn tail (a crash mid-append; that record was never
    /// acknowledged) and is cut off. Any other damage — followed by valid records, or in a
    /// closed segment — is corruption: the segment is copied to a quarantine path, every
    /// intact record is kept (reading resumes at the next valid record), the segment is
    /// rewritten with them, and a warning names the segment and the byte ranges lost.
    pub fn open_with(
        dir: &Path,
        watermarks: [u64; 3],
        mut replay: impl FnMut(WalRecord) -> io::Result<()>,
    ) -> io::Result<(Self, Recovery)> {
        std::fs::create_dir_all(dir)?;
        let org = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let mut paths: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let first = name.strip_suffix(".wal")?.parse::<u64>().ok()?;
                Some((first, entry.path()))
            })
            .collect();
        paths.sort();
        // A rewrite interrupted by a crash left its temporary file; the segment is intact.
        for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
            if entry
                .file_name()
                .to_string_lossy()
                .ends_with(".wal.rewrite")
            {
                std::fs::remove_file(entry.path())?;
            }
        }
        let mut closed = Vec::new();
        let mut recovery = Recovery::default();
        let mut max_seen = watermarks.iter().copied().max().unwrap_or(0);
        let last = paths.len().saturating_sub(1);
        for (index, (first_seq, path)) in paths.into_iter().enumerate() {
            let data = std::fs::read(&path)?;
            let mut max_seq = [0u64; 3];
            let mut last_seq = 0;
            let scan = scan_segment(&data, first_seq, |record| {
                let i = record.signal.index();
                max_seq[i] = max_seq[i].max(record.seq);
                last_seq = record.seq;
                if record.seq > watermarks[i] {
                    replay(WalRecord {
                        seq: record.seq,
                        signal: record.signal,
                        ingest_time: record.ingest_time,
                        batch_id: record.batch_id.map(str::to_string),
                        payload: record.payload.to_vec(),
                    })?;
                }
                Ok(())
            })?;
            max_seen = max_seen.max(last_seq);
            let mut bytes = scan.records.last().map_or(MAGIC.len(), |r| r.1) as u64;
            let torn_tail = scan.corrupt.is_empty() && index == last;
            match scan.tail {
                Some(tail) if torn_tail => {
                    // A crash mid-append or mid-creation: nothing past here was acknowledged.
                    tracing::warn!(%org, segment = %path.display(), from = tail.start, to = tail.end, problem = tail.problem, "cutting the torn tail of the write-ahead log");
                    recovery.torn_tail_bytes += tail.end - tail.start;
                    if !scan.records.is_empty() {
                        OpenOptions::new().write(true).open(&path)?.set_len(bytes)?;
                    }
                }
                tail if !scan.corrupt.is_empty() || tail.is_some() => {
                    let mut lost = scan.corrupt.clone();
                    lost.extend(tail);
                    let (copy, len) = quarantine_and_rewrite(&path, &data, &scan.records)?;
                    tracing::warn!(
                        %org,
                        segment = %path.display(),
                        quarantined = %copy.display(),
                        lost = %describe(&lost),
                        recovered = scan.records.len(),
                        "write-ahead log segment is corrupt: quarantined a copy, kept every intact record, lost the byte ranges named"
                    );
                    recovery.quarantined.push(QuarantinedSegment {
                        segment: path.clone(),
                        copy,
                        lost,
                        records: scan.records.len(),
                    });
                    bytes = len;
                }
                _ => {}
            }
            drop(data);
            if scan.records.is_empty() {
                // Nothing in it (a fresh segment, or one torn before its first record).
                std::fs::remove_file(&path)?;
                continue;
            }
            closed.push(Segment {
                path,
                max_seq,
                bytes,
            });
        }
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
        Ok((wal, recovery))
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
        self.append_batch(signal, ingest_time, None, payload, then)
    }

    /// [`Self::append`], with the request's batch id kept in the same record, so replay
    /// knows which batches the log holds.
    pub fn append_batch<T>(
        &self,
        signal: Signal,
        ingest_time: i64,
        batch_id: Option<&str>,
        payload: &[u8],
        then: impl FnOnce(u64) -> T,
    ) -> io::Result<T> {
        let prefixed;
        let (tag, payload) = match batch_id {
            None => (signal.tag(), payload),
            Some(id) => {
                let id_len = u8::try_from(id.len()).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "batch id longer than 255 bytes",
                    )
                })?;
                let mut body = Vec::with_capacity(1 + id.len() + payload.len());
                body.push(id_len);
                body.extend_from_slice(id.as_bytes());
                body.extend_from_slice(payload);
                prefixed = body;
                (signal.tag() | BATCH_ID_FLAG, prefixed.as_slice())
            }
        };
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
        header[4..8].copy_from_slice(&crc(seq, tag, ingest_time, payload).to_le_bytes());
        header[8..16].copy_from_slice(&seq.to_le_bytes());
        header[16] = tag;
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
    async fn a_batch_id_is_kept_in_its_record_and_replayed_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        wal.append(Signal::Logs, 1, b"plain", |_| ()).unwrap();
        let id = "agent-7f3a:000042";
        let last = wal
            .append_batch(Signal::Metrics, 2, Some(id), b"with id", |s| s)
            .unwrap();
        let empty = wal
            .append_batch(Signal::Logs, 3, Some(""), b"", |s| s)
            .unwrap();
        assert!(empty > last);
        let too_long = "x".repeat(MAX_BATCH_ID_BYTES + 1);
        assert!(
            wal.append_batch(Signal::Logs, 4, Some(&too_long), b"no", |_| ())
                .is_err()
        );
        wal.sync(empty).await.unwrap();
        drop(wal);
        let (_, replay) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        let seen: Vec<_> = replay
            .iter()
            .map(|r| (r.signal, r.batch_id.as_deref(), r.payload.as_slice()))
            .collect();
        assert_eq!(
            seen,
            [
                (Signal::Logs, None, &b"plain"[..]),
                (Signal::Metrics, Some(id), &b"with id"[..]),
                (Signal::Logs, Some(""), &b""[..]),
            ]
        );
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

    /// Writes `n` records of `payload_len` bytes (seq i holds bytes `i % 251`) into a fresh
    /// log; returns its one segment's path. Record `seq` starts at `8 + (seq − 1) × (25 + len)`.
    async fn written(dir: &Path, n: u64, payload_len: usize) -> PathBuf {
        let (wal, _) = OrgWal::open(dir, [0; 3]).unwrap();
        for i in 1..=n {
            let payload = vec![(i % 251) as u8; payload_len];
            assert_eq!(
                wal.append(Signal::Logs, i as i64, &payload, |s| s).unwrap(),
                i
            );
        }
        wal.sync(n).await.unwrap();
        drop(wal);
        dir.join(segment_name(1))
    }

    fn overwrite(path: &Path, at: usize, garbage: &[u8]) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at..at + garbage.len()].copy_from_slice(garbage);
        std::fs::write(path, bytes).unwrap();
    }

    fn quarantined(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".corrupt-"))
            .collect();
        found.sort();
        found
    }

    fn replay_seqs(dir: &Path) -> (Vec<u64>, Recovery) {
        let mut seqs = Vec::new();
        let (_, recovery) = OrgWal::open_with(dir, [0; 3], |r| {
            assert_eq!(
                r.payload,
                vec![(r.seq % 251) as u8; r.payload.len()],
                "seq {}",
                r.seq
            );
            assert_eq!(r.ingest_time, r.seq as i64);
            seqs.push(r.seq);
            Ok(())
        })
        .unwrap();
        (seqs, recovery)
    }

    const RECORD: usize = HEADER_LEN + 100;

    #[tokio::test]
    async fn inspect_reports_damage_without_changing_the_segment() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), 300, 100).await;
        let (clean, copies) = inspect(dir.path()).unwrap();
        assert!(copies.is_empty());
        assert!(
            clean
                .iter()
                .all(|h| h.corrupt.is_empty() && h.tail.is_none())
        );
        let at = MAGIC.len() + 47 * RECORD + 60;
        overwrite(&path, at, &[0xA5; 256]);
        let damaged = std::fs::read(&path).unwrap();
        let (report, _) = inspect(dir.path()).unwrap();
        let health = report.iter().find(|h| h.segment == path).unwrap();
        assert_eq!(health.records, 297);
        assert_eq!(health.corrupt.len(), 1);
        assert_eq!(health.corrupt[0].problem, "record checksum mismatch");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            damaged,
            "inspecting changes nothing"
        );
        assert!(quarantined(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_mid_segment_overwrite_keeps_every_intact_record_after_it_and_a_quarantined_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), 300, 100).await;
        let original = std::fs::read(&path).unwrap();
        // 256 bytes from the middle of record 48 to the middle of record 50.
        let at = MAGIC.len() + 47 * RECORD + 60;
        overwrite(&path, at, &[0xA5; 256]);
        let damaged = std::fs::read(&path).unwrap();
        let (seqs, recovery) = replay_seqs(dir.path());
        let expected: Vec<u64> = (1..=300).filter(|s| !(48..=50).contains(s)).collect();
        assert_eq!(seqs, expected, "all 250 records after the damage are back");
        assert_eq!(seqs.iter().filter(|s| **s > 50).count(), 250);
        assert_eq!(recovery.torn_tail_bytes, 0);
        let [q] = recovery.quarantined.as_slice() else {
            panic!("one quarantined segment: {recovery:?}")
        };
        assert_eq!(q.segment, path);
        assert_eq!(q.records, 297);
        assert_eq!(
            q.lost,
            [Damage {
                start: (MAGIC.len() + 47 * RECORD) as u64,
                end: (MAGIC.len() + 50 * RECORD) as u64,
                problem: "record checksum mismatch",
            }]
        );
        assert_eq!(quarantined(dir.path()), std::slice::from_ref(&q.copy));
        assert_eq!(
            std::fs::read(&q.copy).unwrap(),
            damaged,
            "the copy is the damaged segment"
        );
        assert_ne!(damaged, original);
        // The segment now holds only intact records: a second open finds nothing to report
        // and the same records, and numbering continues after the highest.
        let (again, recovery) = replay_seqs(dir.path());
        assert_eq!(again, expected);
        assert_eq!(recovery, Recovery::default());
        assert_eq!(quarantined(dir.path()).len(), 1);
        let (wal, _) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        assert_eq!(wal.append(Signal::Logs, 0, b"x", |s| s).unwrap(), 301);
    }

    #[tokio::test]
    async fn a_torn_tail_that_mimics_a_header_is_cut_without_quarantine() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), 3, 100).await;
        // A header that says "seq 4, logs, 10 bytes" with a wrong CRC, and its 10 bytes.
        let mut fake = Vec::new();
        fake.extend_from_slice(&10u32.to_le_bytes());
        fake.extend_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
        fake.extend_from_slice(&4u64.to_le_bytes());
        fake.push(Signal::Logs.tag());
        fake.extend_from_slice(&4i64.to_le_bytes());
        fake.extend_from_slice(&[4u8; 10]);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&fake).unwrap();
        drop(file);
        let (seqs, recovery) = replay_seqs(dir.path());
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(recovery.torn_tail_bytes, fake.len() as u64);
        assert!(recovery.quarantined.is_empty() && quarantined(dir.path()).is_empty());
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            (MAGIC.len() + 3 * RECORD) as u64,
            "cut at the end of the last whole record"
        );
    }

    #[tokio::test]
    async fn garbage_that_mimics_a_header_between_records_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), 10, 100).await;
        // Record 4's header rewritten to claim seq 5 and a length that fits, CRC wrong.
        let at = MAGIC.len() + 3 * RECORD;
        let mut fake = Vec::new();
        fake.extend_from_slice(&40u32.to_le_bytes());
        fake.extend_from_slice(&0u32.to_le_bytes());
        fake.extend_from_slice(&5u64.to_le_bytes());
        fake.push(Signal::Spans.tag());
        overwrite(&path, at, &fake);
        let (seqs, recovery) = replay_seqs(dir.path());
        assert_eq!(seqs, [1, 2, 3, 5, 6, 7, 8, 9, 10]);
        assert_eq!(recovery.quarantined.len(), 1);
        assert_eq!(
            recovery.quarantined[0].lost,
            [Damage {
                start: at as u64,
                end: (at + RECORD) as u64,
                problem: "record checksum mismatch",
            }]
        );
    }

    #[tokio::test]
    async fn damage_in_a_closed_segment_is_quarantined_even_with_nothing_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), 5, 100).await;
        // A newer segment exists, so this one's tail was synced and acknowledged.
        let (wal, _) = OrgWal::open(dir.path(), [0; 3]).unwrap();
        wal.append(Signal::Logs, 6, &[6; 100], |_| ()).unwrap();
        wal.sync(6).await.unwrap();
        drop(wal);
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        overwrite(&path, len - 30, &[0; 30]);
        let (seqs, recovery) = replay_seqs(dir.path());
        assert_eq!(seqs, [1, 2, 3, 4, 6]);
        assert_eq!(recovery.torn_tail_bytes, 0);
        assert_eq!(recovery.quarantined.len(), 1);
        assert_eq!(quarantined(dir.path()).len(), 1);
    }

    #[tokio::test]
    async fn a_damaged_segment_header_keeps_the_records_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path(), 4, 100).await;
        overwrite(&path, 0, b"garbage!");
        let (seqs, recovery) = replay_seqs(dir.path());
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert_eq!(
            recovery.quarantined[0].lost[0].problem,
            "missing or wrong segment header"
        );
        assert_eq!(&std::fs::read(&path).unwrap()[..MAGIC.len()], MAGIC);
    }

    #[tokio::test]
    async fn an_error_while_replaying_stops_the_open() {
        let dir = tempfile::tempdir().unwrap();
        written(dir.path(), 2, 10).await;
        let result = OrgWal::open_with(dir.path(), [0; 3], |_| Err(io::Error::other("bad record")));
        assert_eq!(result.err().unwrap().to_string(), "bad record");
    }
}
