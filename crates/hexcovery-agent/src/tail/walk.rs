//! Finding the files the `[[logs]]` globs name: walk each include pattern's fixed leading
//! directory as deep as the pattern reaches, keep regular files (following symlinks, so a
//! symlink is known by its target) that match an include and no exclude, skip `.gz`.

use crate::config::LogGroup;
use std::collections::BTreeMap;
use std::fs::{self, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// (device, inode): what a file is, whatever its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
}

impl FileKey {
    pub fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

pub struct Found {
    pub path: PathBuf,
    pub service: Arc<str>,
    pub size: u64,
}

/// Compressed rotations are copies of what was already read as text.
fn compressed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// Every matching file by identity; the first path found for an identity wins.
pub fn find(groups: &[LogGroup]) -> BTreeMap<FileKey, Found> {
    let mut found = BTreeMap::new();
    for group in groups {
        let service: Arc<str> = group.service.as_str().into();
        for pattern in &group.include {
            let (root, depth) = pattern.walk_root();
            let mut candidates = Vec::new();
            collect(&root, depth, &mut candidates);
            for path in candidates {
                if compressed(&path)
                    || !pattern.matches(&path)
                    || group.exclude.iter().any(|e| e.matches(&path))
                {
                    continue;
                }
                let Ok(meta) = fs::metadata(&path) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                found.entry(FileKey::of(&meta)).or_insert(Found {
                    path,
                    service: service.clone(),
                    size: meta.len(),
                });
            }
        }
    }
    found
}

/// Paths under `dir` down to `depth` more components (`None`: unbounded, not following
/// symlinked directories so a loop cannot trap the walk).
fn collect(path: &Path, depth: Option<usize>, out: &mut Vec<PathBuf>) {
    if depth == Some(0) {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = fs::read_dir(path) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for entry in entries {
        let is_dir = fs::symlink_metadata(&entry).is_ok_and(|m| m.is_dir());
        match depth {
            None if is_dir => {
                collect(&entry, None, out);
            }
            None => out.push(entry),
            Some(1) => out.push(entry),
            Some(n) if is_dir || fs::metadata(&entry).is_ok_and(|m| m.is_dir()) => {
                collect(&entry, Some(n - 1), out);
            }
            Some(_) => {}
        }
    }
}
