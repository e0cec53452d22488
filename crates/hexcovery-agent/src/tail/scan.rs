//! The file identity rules, applied on every poll:
//! - a file is (device, inode) plus a fingerprint of its first bytes (up to 1 KiB);
//! - an inode match whose prefix differs, or whose size fell below the offset, was
//!   truncated or replaced (inode reuse): it is read from 0;
//! - a new inode whose prefix matches a file that was just truncated or is gone from the
//!   globs is that file renamed or copied (copytruncate): it keeps the position;
//! - identical prefixes on inodes that both stay present are different files: a new file
//!   that looks like a copy of one still present and unchanged waits [`COPY_WAIT`] for the
//!   original's truncation, then is read as a file of its own;
//! - a file gone from the globs is read to its end through its open handle (see
//!   `Tailer::close_drained`).

use super::walk::{self, FileKey};
use super::{FP_MAX, Tailer, Tracked, prefix, read_full_at};
use crate::queue::record::fingerprint_hash;
use std::fs::File;
use std::time::{Duration, Instant};

/// How long a copy of a still-present file waits for the original to be truncated.
pub const COPY_WAIT: Duration = Duration::from_secs(2);
/// Bytes before the offset compared between an original and its supposed copy.
const TAIL_CHECK: u64 = 4096;

/// What a truncated or vanished file was, for recognising its copy or new name.
struct Vacated {
    key: FileKey,
    fp: Vec<u8>,
    offset: u64,
    /// Still readable (gone from the globs, not truncated): the copy must match it
    /// before the offset too.
    file: Option<File>,
}

/// Whether `a` and `b` hold the same bytes in the `TAIL_CHECK` bytes before `offset`.
fn same_before(a: &File, b: &File, offset: u64) -> bool {
    let start = offset.saturating_sub(TAIL_CHECK);
    let len = (offset - start) as usize;
    let (mut x, mut y) = (vec![0u8; len], vec![0u8; len]);
    matches!((read_full_at(a, &mut x, start), read_full_at(b, &mut y, start)),
        (Ok(n), Ok(m)) if n == len && m == len && x == y)
}

impl Tailer {
    /// Finds the files the globs name now and applies the identity rules.
    pub fn scan(&mut self, now: Instant) {
        let mut found = walk::find(&self.groups);
        let present: std::collections::HashSet<FileKey> = found.keys().copied().collect();
        let mut vacated: Vec<Vacated> = Vec::new();

        for t in &mut self.files {
            let Some(f) = found.remove(&t.key) else {
                if t.gone_since.is_none() {
                    tracing::info!(path = %t.path.display(), "file gone from the globs (renamed or deleted): reading it to its end");
                    t.gone_since = Some(now);
                }
                vacated.push(Vacated {
                    key: t.key,
                    fp: t.fp.clone(),
                    offset: t.offset,
                    file: t.file.try_clone().ok(),
                });
                continue;
            };
            if t.gone_since.take().is_some() {
                tracing::info!(path = %f.path.display(), "file back in the globs");
            }
            if f.path != t.path {
                tracing::info!(from = %t.path.display(), to = %f.path.display(), "file renamed; position kept");
                t.path = f.path;
                self.changed = true;
            }
            t.service = f.service;
            let head = prefix(&t.file, FP_MAX);
            if f.size < t.offset || !head.starts_with(&t.fp) {
                tracing::info!(path = %t.path.display(), offset = t.offset, size = f.size, "file truncated or replaced: reading it from the start");
                vacated.push(Vacated {
                    key: t.key,
                    fp: std::mem::replace(&mut t.fp, head),
                    offset: t.offset,
                    file: None,
                });
                t.offset = 0;
                t.partial_since = None;
                self.changed = true;
            } else if head.len() > t.fp.len() {
                t.fp = head;
            }
        }

        let mut drop_keys = Vec::new();
        let mut restored = self.restored.take();
        for (key, f) in found {
            let Ok(file) = File::open(&f.path) else {
                continue;
            };
            // The file may have changed between the walk and the open.
            if file.metadata().map(|m| FileKey::of(&m)).ok() != Some(key) {
                continue;
            }
            let head = prefix(&file, FP_MAX);
            let mut offset = None;
            let mut continues = false;

            // First scan after a restart: the queue's positions.
            if let Some(list) = restored.as_mut() {
                if let Some(i) = list
                    .iter()
                    .position(|p| p.dev == key.dev && p.ino == key.ino)
                {
                    let p = list.remove(i);
                    let same = head.len() >= p.fp_len as usize
                        && fingerprint_hash(&head[..p.fp_len as usize]) == p.fp_hash;
                    offset = Some(if !same {
                        tracing::info!(path = %f.path.display(), "file replaced while the agent was stopped: reading it from the start");
                        0
                    } else if f.size < p.offset {
                        tracing::info!(path = %f.path.display(), "file truncated while the agent was stopped: reading it from the start");
                        0
                    } else {
                        p.offset
                    });
                } else if let Some(i) = list.iter().position(|p| {
                    p.fp_len > 0
                        && head.len() >= p.fp_len as usize
                        && fingerprint_hash(&head[..p.fp_len as usize]) == p.fp_hash
                        && f.size >= p.offset
                        && !present.contains(&FileKey {
                            dev: p.dev,
                            ino: p.ino,
                        })
                }) {
                    let p = list.remove(i);
                    tracing::info!(from = %p.path, to = %f.path.display(), "file renamed or copied while the agent was stopped; position kept");
                    offset = Some(p.offset);
                }
            }

            // A rename or copy of a file just truncated or gone.
            if offset.is_none()
                && let Some(i) = vacated.iter().position(|v| {
                    !v.fp.is_empty()
                        && head.starts_with(&v.fp)
                        && match &v.file {
                            Some(orig) => f.size >= v.offset && same_before(orig, &file, v.offset),
                            None => true,
                        }
                })
            {
                let v = vacated.remove(i);
                tracing::info!(path = %f.path.display(), offset = v.offset.min(f.size), "file is a copy or new name of one truncated or gone; position kept");
                offset = Some(v.offset.min(f.size));
                continues = true;
                if v.file.is_some() {
                    // The original is this file now: reading both would send lines twice.
                    drop_keys.push(v.key);
                }
            }

            // Looks like a copy of a file still present: wait for the original's truncation.
            if offset.is_none() {
                let copy_of_present = self.files.iter().any(|t| {
                    // Nothing read yet: reading the new file from 0 loses nothing either way.
                    t.gone_since.is_none()
                        && t.offset > 0
                        && !t.fp.is_empty()
                        && head.starts_with(&t.fp)
                        && f.size >= t.offset
                        && same_before(&t.file, &file, t.offset)
                });
                if copy_of_present {
                    let since = *self.deferred.entry(key).or_insert(now);
                    if now.duration_since(since) < COPY_WAIT {
                        continue;
                    }
                }
            }
            self.deferred.remove(&key);
            let offset = offset.unwrap_or_else(|| {
                let start_at = self
                    .groups
                    .iter()
                    .find(|g| *g.service == *f.service)
                    .map_or(crate::config::StartAt::Beginning, |g| g.start_at);
                self.start_offset(f.size, start_at)
            });
            tracing::info!(path = %f.path.display(), offset, "tailing a file");
            self.files.push(Tracked {
                key,
                path: f.path,
                service: f.service,
                file,
                fp: head,
                offset,
                partial_since: None,
                gone_since: None,
                continues,
            });
            self.changed = true;
        }
        if let Some(list) = restored {
            for p in list {
                self.changed = true;
                match find_renamed(&p) {
                    // Renamed out of the globs while the agent was stopped (or before it
                    // finished): read to its end as any file gone from the globs.
                    Some((path, file, head)) => {
                        tracing::info!(path = %path.display(), offset = p.offset, "a file renamed out of the globs is read to its end");
                        self.files.push(Tracked {
                            key: FileKey {
                                dev: p.dev,
                                ino: p.ino,
                            },
                            path,
                            // The group whose globs named the file where it was last seen.
                            service: self
                                .groups
                                .iter()
                                .find(|g| {
                                    g.include
                                        .iter()
                                        .any(|i| i.matches(std::path::Path::new(&p.path)))
                                })
                                .map_or("unknown_service".into(), |g| g.service.as_str().into()),
                            file,
                            fp: head,
                            offset: p.offset,
                            partial_since: None,
                            gone_since: Some(now),
                            continues: true,
                        });
                    }
                    None => {
                        tracing::warn!(path = %p.path, offset = p.offset, "a file the agent was reading is gone after its restart")
                    }
                }
            }
        }
        if !drop_keys.is_empty() {
            self.files.retain(|t| !drop_keys.contains(&t.key));
        }
        self.deferred.retain(|k, _| present.contains(k));
        self.scanned = true;
    }
}

/// A file of the stored positions found under another name in its old directory (the
/// usual rotation, `app.log` → `app.log.1`), with the same identity and fingerprint.
fn find_renamed(p: &crate::queue::record::Position) -> Option<(std::path::PathBuf, File, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt;
    let dir = std::path::Path::new(&p.path).parent()?;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() && meta.dev() == p.dev && meta.ino() == p.ino && meta.len() >= p.offset {
            let file = File::open(entry.path()).ok()?;
            let head = prefix(&file, FP_MAX);
            let fp_len = p.fp_len as usize;
            if head.len() >= fp_len && fingerprint_hash(&head[..fp_len]) == p.fp_hash {
                return Some((entry.path(), file, head));
            }
        }
    }
    None
}
