//! A table's manifest: the Parquet files that hold its rows (with their time ranges, for
//! pruning) and the write-ahead-log watermark — every record of this table's signal up to
//! that sequence number is in those files. Replacing the manifest object is the commit point
//! of a flush, a compaction or a retention pass; files not in it are not part of the table.

use serde::{Deserialize, Serialize};

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
        };
        assert!(file.overlaps(None, None));
        assert!(file.overlaps(Some(20), None));
        assert!(!file.overlaps(Some(21), None));
        assert!(file.overlaps(None, Some(11)));
        assert!(!file.overlaps(None, Some(10)));
    }
}
