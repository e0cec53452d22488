//! A table's manifest: the Parquet files that hold its rows (with their time ranges, for
//! pruning) and the write-ahead-log watermark — every record of this table's signal up to
//! that sequence number is in those files. Writing the next manifest version is the commit
//! point of a flush, a compaction or a retention pass; files not in it are not part of the
//! table. A version is stored as a [`ManifestDelta`] from the one before (see
//! `manifest_log`), so a commit costs what it changes, not the table's whole history.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Incremented on every commit.
    pub version: u64,
    pub watermark: u64,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Object path, relative to the storage root.
    pub path: String,
    /// The time partition, `dt=YYYY-MM-DD/hour=HH`.
    pub partition: String,
    /// Smallest and largest `timestamp` in the file, ns since the epoch.
    pub min_ts: i64,
    pub max_ts: i64,
    pub rows: u64,
    pub bytes: u64,
    /// Metrics files: the metric names in the file, so the org's metric namespaces are known
    /// without opening files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_names: Vec<String>,
    /// The map values the file keeps as columns of their own, by column name
    /// (`attributes['http.route']`, see `promote`); none in files written before promotion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promoted: Vec<String>,
    /// The file's rows per group of its signal's counted columns (see `counts`); none in
    /// files written before counts, or with too many groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<crate::counts::GroupCounts>,
}

/// One commit: what it adds to and removes from the version before it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestDelta {
    /// The version this delta makes (the one before it plus one).
    pub version: u64,
    pub watermark: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<FileEntry>,
    /// Paths of files no longer part of the table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

impl Manifest {
    /// The delta that turns `self` into `next` (whose version must be one more). Costs a
    /// hash of each path, in memory; nothing of the unchanged files is written.
    pub fn delta_to(&self, next: &Manifest) -> ManifestDelta {
        let before: HashSet<&str> = self.files.iter().map(|f| f.path.as_str()).collect();
        let after: HashSet<&str> = next.files.iter().map(|f| f.path.as_str()).collect();
        ManifestDelta {
            version: next.version,
            watermark: next.watermark,
            added: next
                .files
                .iter()
                .filter(|f| !before.contains(f.path.as_str()))
                .cloned()
                .collect(),
            removed: self
                .files
                .iter()
                .filter(|f| !after.contains(f.path.as_str()))
                .map(|f| f.path.clone())
                .collect(),
        }
    }

    /// Applies the next version's delta. A delta that is not the next version is refused:
    /// a missing version means a lost commit, and guessing past it would resurrect or drop
    /// files.
    pub fn apply(&mut self, delta: ManifestDelta) -> Result<(), String> {
        if delta.version != self.version + 1 {
            return Err(format!(
                "version {} follows version {}: version {} is missing",
                delta.version,
                self.version,
                self.version + 1
            ));
        }
        let removed: HashSet<&str> = delta.removed.iter().map(String::as_str).collect();
        self.files.retain(|f| !removed.contains(f.path.as_str()));
        self.files.extend(delta.added);
        self.version = delta.version;
        self.watermark = delta.watermark;
        Ok(())
    }
}

impl FileEntry {
    /// Whether the file may hold rows in `[from, to)`.
    pub fn overlaps(&self, from: Option<i64>, to: Option<i64>) -> bool {
        from.is_none_or(|f| self.max_ts >= f) && to.is_none_or(|t| self.min_ts < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_uses_inclusive_max_and_exclusive_upper_bound() {
        let file = FileEntry {
            path: "p".into(),
            partition: "x".into(),
            min_ts: 10,
            max_ts: 20,
            rows: 1,
            bytes: 1,
            metric_names: vec![],
            promoted: vec![],
            counts: None,
        };
        assert!(file.overlaps(None, None));
        assert!(file.overlaps(Some(20), None));
        assert!(!file.overlaps(Some(21), None));
        assert!(file.overlaps(None, Some(11)));
        assert!(!file.overlaps(None, Some(10)));
    }

    fn entry(path: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            partition: "dt=2026-12-01/hour=00".into(),
            min_ts: 0,
            max_ts: 1,
            rows: 1,
            bytes: 1,
            metric_names: vec![],
            promoted: vec![],
            counts: None,
        }
    }

    #[test]
    fn a_delta_applied_to_the_version_before_gives_the_next_version() {
        let before = Manifest {
            version: 4,
            watermark: 10,
            files: vec![entry("a"), entry("b"), entry("c")],
        };
        let next = Manifest {
            version: 5,
            watermark: 12,
            files: vec![entry("a"), entry("c"), entry("d")],
        };
        let delta = before.delta_to(&next);
        assert_eq!(delta.added, vec![entry("d")]);
        assert_eq!(delta.removed, vec!["b".to_string()]);
        let mut rebuilt = before.clone();
        rebuilt.apply(delta).unwrap();
        assert_eq!(rebuilt, next);
    }

    #[test]
    fn a_delta_skipping_a_version_is_refused_and_changes_nothing() {
        let mut manifest = Manifest {
            version: 4,
            watermark: 10,
            files: vec![entry("a")],
        };
        let delta = ManifestDelta {
            version: 6,
            watermark: 11,
            added: vec![entry("z")],
            removed: vec!["a".into()],
        };
        let error = manifest.apply(delta).unwrap_err();
        assert!(error.contains("version 5 is missing"), "{error}");
        assert_eq!(manifest.files, vec![entry("a")]);
        assert_eq!(manifest.version, 4);
    }
}
