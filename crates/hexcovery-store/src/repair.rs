//! Offline inspection and repair of a data directory, for `hexcovery repair` (run with the
//! server stopped): which write-ahead-log segments are damaged and what replay would do with
//! them, which quarantined copies earlier recoveries kept, and which table manifests cannot
//! be read (checkpoint or log) or name files that are gone.

use crate::manifest::Manifest;
use crate::manifest_log;
use crate::wal::{self, OrgWal, Recovery, SegmentHealth};
use std::io;
use std::path::{Path, PathBuf};

/// A manifest that stops its org from loading, or that lists files no longer on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    pub path: PathBuf,
    pub problem: String,
}

/// What [`inspect`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// Damaged segments, with the org directory name they belong to.
    pub damaged_segments: Vec<(String, SegmentHealth)>,
    /// Segments read, damaged or not.
    pub segments_read: usize,
    /// Quarantined copies of earlier recoveries (`*.wal.corrupt-*`).
    pub quarantined_copies: Vec<PathBuf>,
    pub manifests_read: usize,
    pub manifest_problems: Vec<ManifestProblem>,
}

impl Report {
    /// Whether anything needs an operator: damaged segments or unreadable manifests.
    pub fn is_clean(&self) -> bool {
        self.damaged_segments.is_empty() && self.manifest_problems.is_empty()
    }
}

fn dirs(path: &Path) -> io::Result<Vec<PathBuf>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Reads every org's log and manifests under `data_dir`, changing nothing.
pub fn inspect(data_dir: &Path) -> io::Result<Report> {
    let mut report = Report::default();
    for org in dirs(&data_dir.join("wal"))? {
        let (segments, copies) = wal::inspect(&org)?;
        report.segments_read += segments.len();
        report.quarantined_copies.extend(copies);
        for health in segments {
            if !health.corrupt.is_empty() || health.tail.is_some() {
                report.damaged_segments.push((name(&org), health));
            }
        }
    }
    let root = data_dir.join("telemetry");
    for org in dirs(&root)? {
        for table in dirs(&org)? {
            let Some(read) = read_manifest(&table)? else {
                continue;
            };
            report.manifests_read += 1;
            match read {
                Err(problem) => report.manifest_problems.push(ManifestProblem {
                    path: table,
                    problem: format!(
                        "cannot be read ({problem}); the org stays offline until it is restored"
                    ),
                }),
                Ok(manifest) => {
                    let missing: Vec<&str> = manifest
                        .files
                        .iter()
                        .filter(|f| !root.join(&f.path).exists())
                        .map(|f| f.path.as_str())
                        .collect();
                    if !missing.is_empty() {
                        report.manifest_problems.push(ManifestProblem {
                            path: table,
                            problem: format!(
                                "lists {} file(s) that are gone: {}",
                                missing.len(),
                                missing.join(", ")
                            ),
                        });
                    }
                }
            }
        }
    }
    report.quarantined_copies.sort();
    Ok(report)
}

/// A table directory's manifest as the server would load it (checkpoint plus log), `None`
/// when the directory has neither.
fn read_manifest(table: &Path) -> io::Result<Option<Result<Manifest, String>>> {
    let checkpoint = table.join(manifest_log::CHECKPOINT);
    let log_dir = table.join(manifest_log::LOG_DIR);
    let mut deltas = Vec::new();
    if log_dir.is_dir() {
        for entry in std::fs::read_dir(&log_dir)? {
            let entry = entry?;
            let bytes = std::fs::read(entry.path())?;
            deltas.push((name(&entry.path()), bytes::Bytes::from(bytes)));
        }
    }
    if !checkpoint.exists() && deltas.is_empty() {
        return Ok(None);
    }
    let checkpoint = checkpoint
        .exists()
        .then(|| std::fs::read(&checkpoint))
        .transpose()?;
    Ok(Some(
        manifest_log::rebuild(checkpoint.as_deref(), deltas).map(|(m, _)| m),
    ))
}

/// Applies replay's recovery now to every org log with damage: each damaged segment is
/// copied aside (`<segment>.corrupt-<unix seconds>`) and rewritten with its intact records,
/// and a torn tail of a newest segment is cut — what the server does at start, without
/// starting it. Manifests are never touched: moving one aside would orphan its org's files.
pub fn quarantine(data_dir: &Path) -> io::Result<Vec<(String, Recovery)>> {
    let mut done = Vec::new();
    for org in dirs(&data_dir.join("wal"))? {
        let (segments, _) = wal::inspect(&org)?;
        if segments
            .iter()
            .all(|h| h.corrupt.is_empty() && h.tail.is_none())
        {
            continue;
        }
        // Opening runs the recovery; the records it streams are not needed here (the
        // watermarks stay real, so the next segment is numbered after the highest record).
        let (log, recovery) = OrgWal::open_with(&org, [0; 3], |_| Ok(()))?;
        drop(log);
        done.push((name(&org), recovery));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_data_dir_is_clean() {
        let dir = tempfile::tempdir().unwrap();
        let report = inspect(dir.path()).unwrap();
        assert!(report.is_clean());
        assert_eq!((report.segments_read, report.manifests_read), (0, 0));
    }

    #[test]
    fn unreadable_manifests_and_missing_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("telemetry/org=a/logs");
        std::fs::create_dir_all(&table).unwrap();
        std::fs::write(table.join("_manifest.json"), b"{ not json").unwrap();
        let other = dir.path().join("telemetry/org=b/spans");
        std::fs::create_dir_all(&other).unwrap();
        let manifest = Manifest {
            version: 1,
            watermark: 3,
            files: vec![crate::manifest::FileEntry {
                path: "org=b/spans/gone.parquet".into(),
                partition: "dt=2026-11-22/hour=10".into(),
                min_ts: 0,
                max_ts: 1,
                rows: 1,
                bytes: 1,
                metric_names: Vec::new(),
                promoted: Vec::new(),
                counts: None,
            }],
        };
        std::fs::write(
            other.join("_manifest.json"),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let report = inspect(dir.path()).unwrap();
        assert!(!report.is_clean());
        assert_eq!(report.manifests_read, 2);
        let problems: Vec<&str> = report
            .manifest_problems
            .iter()
            .map(|p| p.problem.as_str())
            .collect();
        assert!(problems[0].starts_with("cannot be read"), "{problems:?}");
        assert!(problems[1].contains("gone.parquet"), "{problems:?}");
    }
}
