//! Tailing: which files are followed (`scan`, the identity rules), reading whole lines from
//! them (`read`), and the positions each queue record carries.
//!
//! A file's `offset` moves only in [`Tailer::commit`], which the producer calls after the
//! record holding those lines (and the new offsets) was appended to the queue.

pub mod level;
mod scan;
pub mod walk;

use crate::config::{LogGroup, StartAt, Tail};
use crate::queue::record::{Position, fingerprint_hash};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use walk::FileKey;

/// Fingerprints cover at most this many leading bytes.
pub const FP_MAX: usize = 1024;
/// Longer lines are cut into pieces of this size.
pub const MAX_LINE: usize = 256 << 10;

struct Tracked {
    key: FileKey,
    path: PathBuf,
    service: Arc<str>,
    file: File,
    /// The file's first bytes, up to [`FP_MAX`] (grows with a young file).
    fp: Vec<u8>,
    /// The next byte to read: always just after a line (or a flushed partial line).
    offset: u64,
    /// A last line without newline has been waiting since.
    partial_since: Option<Instant>,
    /// Gone from the globs (renamed away or deleted) since; read to its end, then closed.
    gone_since: Option<Instant>,
    /// The rest of an older file (a copy or new name of one truncated or gone): read before
    /// the others, so lines keep their order across a rotation.
    continues: bool,
}

impl Tracked {
    fn position(&self, offset: u64) -> Position {
        Position {
            dev: self.key.dev,
            ino: self.key.ino,
            fp_len: self.fp.len() as u16,
            fp_hash: fingerprint_hash(&self.fp),
            offset,
            path: self.path.display().to_string(),
        }
    }
}

/// One line read, with the file it came from.
#[derive(Debug, Clone)]
pub struct Line {
    pub service: Arc<str>,
    pub path: Arc<str>,
    pub body: String,
}

/// Lines read but not yet committed, and the offsets they move their files to.
#[derive(Default)]
pub struct Staged {
    pub lines: Vec<Line>,
    pub bytes: usize,
    offsets: Vec<(FileKey, u64)>,
}

impl Staged {
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }
}

/// A tailed file, for the status page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileStatus {
    pub path: String,
    pub offset: u64,
    /// The size of the open file (not of whatever has its name now).
    pub size: u64,
    pub gone: bool,
}

pub struct Tailer {
    groups: Vec<LogGroup>,
    opts: Tail,
    files: Vec<Tracked>,
    /// Positions from the queue, matched to files in the first scan.
    restored: Option<Vec<Position>>,
    /// The queue held no state: `start_at` applies to files of the first scan.
    first_run: bool,
    scanned: bool,
    /// Files that look like a copy of a file still present and unchanged: they wait a moment
    /// for the original's truncation (copytruncate) before being taken as new files.
    deferred: std::collections::HashMap<FileKey, Instant>,
    /// Positions changed without lines (a file added, reset or closed): worth a record.
    pub changed: bool,
}

impl Tailer {
    pub fn new(groups: Vec<LogGroup>, opts: Tail, restored: Option<Vec<Position>>) -> Self {
        Self {
            groups,
            opts,
            files: Vec::new(),
            first_run: restored.is_none(),
            restored,
            scanned: false,
            deferred: Default::default(),
            changed: false,
        }
    }

    /// New globs or timings (SIGHUP); files no longer matched drain and close as if renamed.
    pub fn reconfigure(&mut self, groups: Vec<LogGroup>, opts: Tail) {
        self.groups = groups;
        self.opts = opts;
    }

    pub fn positions(&self, staged: &Staged) -> Vec<Position> {
        self.files
            .iter()
            .map(|t| {
                let offset = staged
                    .offsets
                    .iter()
                    .find(|(k, _)| *k == t.key)
                    .map_or(t.offset, |(_, o)| *o);
                t.position(offset)
            })
            .collect()
    }

    /// New files waiting to tell a copy from a file of their own.
    pub fn deferred(&self) -> usize {
        self.deferred.len()
    }

    pub fn status(&self) -> Vec<FileStatus> {
        self.files
            .iter()
            .map(|t| FileStatus {
                path: t.path.display().to_string(),
                offset: t.offset,
                size: t.file.metadata().map_or(0, |m| m.len()),
                gone: t.gone_since.is_some(),
            })
            .collect()
    }

    /// Reads whole lines from every file, up to `max_bytes` and `max_lines` in all; files
    /// gone from the globs first, so a rotated file's last lines precede the new file's.
    pub fn read(&mut self, now: Instant, max_bytes: usize, max_lines: usize) -> Staged {
        let mut staged = Staged::default();
        let mut order: Vec<usize> = (0..self.files.len()).collect();
        order.sort_by_key(|&i| !(self.files[i].gone_since.is_some() || self.files[i].continues));
        for i in order {
            if staged.bytes >= max_bytes || staged.lines.len() >= max_lines {
                break;
            }
            let (flush_timeout, rotate_wait) = (self.opts.flush_timeout, self.opts.rotate_wait);
            let t = &mut self.files[i];
            let Ok(meta) = t.file.metadata() else {
                continue;
            };
            let size = meta.len();
            if size <= t.offset {
                continue;
            }
            let want = ((size - t.offset) as usize).min(max_bytes - staged.bytes);
            let mut buf = vec![0u8; want];
            let Ok(got) = read_full_at(&t.file, &mut buf, t.offset) else {
                continue;
            };
            buf.truncate(got);
            let at_eof = t.offset + got as u64 >= size;
            let path: Arc<str> = t.path.display().to_string().into();
            let mut used = 0usize;
            let mut rest = &buf[..];
            while staged.lines.len() < max_lines {
                match rest.iter().position(|&b| b == b'\n') {
                    Some(nl) if nl <= MAX_LINE => {
                        push_line(&mut staged, t, &path, &rest[..nl]);
                        used += nl + 1;
                        rest = &rest[nl + 1..];
                    }
                    _ if rest.len() >= MAX_LINE => {
                        push_line(&mut staged, t, &path, &rest[..MAX_LINE]);
                        used += MAX_LINE;
                        rest = &rest[MAX_LINE..];
                    }
                    _ => break,
                }
            }
            // A last line without its newline: held until the newline comes, or until it has
            // waited `flush_timeout` (or its file is gone and drained past `rotate_wait`).
            if at_eof && !rest.is_empty() && staged.lines.len() < max_lines {
                let since = *t.partial_since.get_or_insert(now);
                let gone_long = t
                    .gone_since
                    .is_some_and(|g| now.duration_since(g) >= rotate_wait);
                if now.duration_since(since) >= flush_timeout || gone_long {
                    push_line(&mut staged, t, &path, rest);
                    used += rest.len();
                }
            }
            if used > 0 {
                staged.offsets.push((t.key, t.offset + used as u64));
            }
        }
        staged
    }

    /// The record holding `staged` is in the queue: its offsets become the files' own.
    pub fn commit(&mut self, staged: Staged) {
        for (key, offset) in staged.offsets {
            if let Some(t) = self.files.iter_mut().find(|t| t.key == key) {
                t.offset = offset;
                t.continues = false;
                // What follows waits afresh for its newline.
                t.partial_since = None;
            }
        }
    }

    /// Closes files gone from the globs that are read to their end and past `rotate_wait`.
    pub fn close_drained(&mut self, now: Instant) {
        let rotate_wait = self.opts.rotate_wait;
        let before = self.files.len();
        self.files.retain(|t| {
            let Some(gone) = t.gone_since else {
                return true;
            };
            let size = t.file.metadata().map_or(0, |m| m.len());
            let done = t.offset >= size && now.duration_since(gone) >= rotate_wait;
            if done {
                tracing::info!(path = %t.path.display(), offset = t.offset, "closed a file gone from the globs after reading it to its end");
            }
            !done
        });
        if self.files.len() != before {
            self.changed = true;
        }
    }

    pub fn start_offset(&self, size: u64, start_at: StartAt) -> u64 {
        if self.first_run && !self.scanned && start_at == StartAt::End {
            size
        } else {
            0
        }
    }
}

fn push_line(staged: &mut Staged, t: &Tracked, path: &Arc<str>, raw: &[u8]) {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    staged.bytes += raw.len() + 1;
    if raw.is_empty() {
        return;
    }
    staged.lines.push(Line {
        service: t.service.clone(),
        path: path.clone(),
        body: String::from_utf8_lossy(raw).into_owned(),
    });
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
pub(crate) fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The first bytes of `file`, up to `n`.
pub(crate) fn prefix(file: &File, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let got = read_full_at(file, &mut buf, 0).unwrap_or(0);
    buf.truncate(got);
    buf
}

#[cfg(test)]
mod tests;
