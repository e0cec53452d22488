//! How a table's manifest is stored: a checkpoint (`<table>/_manifest.json`, the whole
//! manifest as of one version) and a log of the commits after it
//! (`<table>/_manifest_log/<version>.json`, one [`ManifestDelta`] each). A commit writes only
//! its delta, so its cost does not grow with the number of files the table has; now and then
//! (after [`MAX_DELTAS`] commits, or once the deltas add up to the checkpoint's size) the
//! commit writes a new checkpoint instead and the deltas it covers are deleted. Amortised, a
//! commit costs its own size plus 1/[`MAX_DELTAS`] of the manifest, and loading reads one
//! checkpoint and at most [`MAX_DELTAS`] small files.
//!
//! Both kinds of object are written atomically, so a crash leaves either version: deltas at
//! or below the checkpoint's version are ignored (and deleted at the next checkpoint), and a
//! gap in the versions after it is an error, never skipped. A commit whose outcome is unknown
//! (an error, or its future dropped, after the write may have landed) makes the next commit a
//! checkpoint at a higher version: a checkpoint states the whole table, so it is right
//! whether or not the unknown one landed.

use crate::manifest::{Manifest, ManifestDelta};
use crate::storage::Storage;
use anyhow::Context as _;
use bytes::Bytes;

/// The checkpoint's object name inside a table's prefix (the name manifests always had, so
/// a table written before the log existed loads as a checkpoint with no deltas).
pub const CHECKPOINT: &str = "_manifest.json";

/// The folder of deltas inside a table's prefix.
pub const LOG_DIR: &str = "_manifest_log";

/// A checkpoint is written at least every this many commits.
pub const MAX_DELTAS: usize = 128;

/// ...or once the deltas since the last one add up to its size (at least this many bytes).
const MIN_CHECKPOINT_BYTES: u64 = 64 << 10;

/// What the log holds since its checkpoint, to decide when the next one is due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogState {
    pub deltas: usize,
    pub delta_bytes: u64,
    pub checkpoint_bytes: u64,
    /// The highest version a commit was attempted at; the next commit goes above it.
    pub attempted: u64,
    /// Set while a commit's outcome is unknown: the next commit must be a checkpoint.
    pub uncertain: bool,
}

impl LogState {
    fn checkpoint_due(&self, next_delta_bytes: u64) -> bool {
        self.uncertain
            || self.deltas + 1 >= MAX_DELTAS
            || self.delta_bytes + next_delta_bytes
                >= self.checkpoint_bytes.max(MIN_CHECKPOINT_BYTES)
    }
}

/// The object name of the delta making `version`.
pub fn delta_name(version: u64) -> String {
    format!("{version:020}.json")
}

fn version_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Rebuilds a manifest from its checkpoint (if there is one) and the log's deltas, given as
/// (object name, bytes) in any order. Names that are not deltas are ignored.
pub fn rebuild(
    checkpoint: Option<&[u8]>,
    deltas: Vec<(String, Bytes)>,
) -> Result<(Manifest, LogState), String> {
    let (mut manifest, checkpoint_bytes) = match checkpoint {
        Some(bytes) => (
            serde_json::from_slice::<Manifest>(bytes)
                .map_err(|e| format!("{CHECKPOINT} cannot be read: {e}"))?,
            bytes.len() as u64,
        ),
        None => (Manifest::default(), 0),
    };
    let mut log: Vec<(u64, String, Bytes)> = deltas
        .into_iter()
        .filter_map(|(name, bytes)| Some((version_of(&name)?, name, bytes)))
        .filter(|(version, _, _)| *version > manifest.version)
        .collect();
    log.sort_by_key(|(version, _, _)| *version);
    let mut state = LogState {
        checkpoint_bytes,
        ..LogState::default()
    };
    for (_, name, bytes) in log {
        let delta: ManifestDelta = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{LOG_DIR}/{name} cannot be read: {e}"))?;
        manifest
            .apply(delta)
            .map_err(|e| format!("{LOG_DIR}/{name}: {e}"))?;
        state.deltas += 1;
        state.delta_bytes += bytes.len() as u64;
    }
    Ok((manifest, state))
}

/// Loads the manifest of the table stored under `table` (its prefix), as of its last commit.
pub async fn load(storage: &Storage, table: &str) -> anyhow::Result<(Manifest, LogState)> {
    let checkpoint = storage.get(&format!("{table}/{CHECKPOINT}")).await?;
    let mut deltas = Vec::new();
    for object in storage.list(&format!("{table}/{LOG_DIR}")).await? {
        let Some(name) = object.location.filename().map(str::to_string) else {
            continue;
        };
        if version_of(&name).is_none() {
            continue;
        }
        let path = object.location.to_string();
        // Deleted since it was listed: a checkpoint covering it was written meanwhile.
        if let Some(bytes) = storage.get(&path).await? {
            deltas.push((name, bytes));
        }
    }
    rebuild(checkpoint.as_deref(), deltas)
        .map_err(|e| anyhow::anyhow!("the manifest of {table}: {e}"))
}

/// Commits `next`, the table under `table` as it should be after `before` (the last version
/// known committed): its delta, or a checkpoint when one is due. Sets `next.version`, and
/// returns once the commit is durable. On an error the commit may or may not have landed;
/// the next one is then a checkpoint, right either way.
pub async fn commit(
    storage: &Storage,
    table: &str,
    before: &Manifest,
    next: &mut Manifest,
    log: &mut LogState,
) -> anyhow::Result<()> {
    next.version = before.version.max(log.attempted) + 1;
    // Recorded before writing, so an error or a dropped future leaves them set.
    log.attempted = next.version;
    let delta = Bytes::from(serde_json::to_vec(&before.delta_to(next))?);
    let checkpoint = next.version != before.version + 1 || log.checkpoint_due(delta.len() as u64);
    log.uncertain = true;
    if !checkpoint {
        storage
            .put(
                &format!("{table}/{LOG_DIR}/{}", delta_name(next.version)),
                delta.clone(),
            )
            .await
            .with_context(|| format!("writing version {} of {table}'s manifest", next.version))?;
        log.deltas += 1;
        log.delta_bytes += delta.len() as u64;
        log.uncertain = false;
        return Ok(());
    }
    let whole = serde_json::to_vec(next)?;
    let whole_bytes = whole.len() as u64;
    write_checkpoint(storage, table, Bytes::from(whole))
        .await
        .with_context(|| {
            format!(
                "checkpointing {table}'s manifest at version {}",
                next.version
            )
        })?;
    *log = LogState {
        checkpoint_bytes: whole_bytes,
        attempted: next.version,
        ..LogState::default()
    };
    // The checkpoint covers every delta so far; one left behind by a failure here is
    // ignored on load and deleted by the next checkpoint.
    for object in storage.list(&format!("{table}/{LOG_DIR}")).await? {
        let covered = object
            .location
            .filename()
            .and_then(version_of)
            .is_some_and(|v| v <= next.version);
        if covered && let Err(e) = storage.delete(object.location.as_ref()).await {
            tracing::warn!(path = %object.location, error = format!("{e:#}"), "could not delete a manifest delta a checkpoint covers; the next checkpoint retries");
        }
    }
    Ok(())
}

/// Writes a whole manifest as the table's checkpoint (what every commit did before the log).
pub async fn write_checkpoint(storage: &Storage, table: &str, whole: Bytes) -> anyhow::Result<()> {
    storage.put(&format!("{table}/{CHECKPOINT}"), whole).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::FileEntry;

    fn entry(i: u64) -> FileEntry {
        FileEntry {
            path: format!("org=x/logs/dt=2026-12-01/hour=00/{i}.parquet"),
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

    fn storage() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path()).unwrap();
        (dir, storage)
    }

    /// Commits adding one file each, and every so often one that removes the oldest.
    async fn commit_many(storage: &Storage, table: &str, n: u64) -> Manifest {
        let mut manifest = Manifest::default();
        let mut log = LogState::default();
        for i in 0..n {
            let mut next = manifest.clone();
            next.watermark = i;
            next.files.push(entry(i));
            if i % 7 == 6 {
                next.files.remove(0);
            }
            commit(storage, table, &manifest, &mut next, &mut log)
                .await
                .unwrap();
            assert_eq!(next.version, manifest.version + 1);
            manifest = next;
        }
        manifest
    }

    #[tokio::test]
    async fn load_after_many_commits_gives_the_last_version_with_few_objects_left() {
        let (_dir, storage) = storage();
        let last = commit_many(&storage, "org=x/logs", 300).await;
        let (loaded, state) = load(&storage, "org=x/logs").await.unwrap();
        assert_eq!(loaded, last);
        // Checkpoints happened and took the deltas they cover with them.
        let left = storage
            .list("org=x/logs/_manifest_log")
            .await
            .unwrap()
            .len();
        assert!(left < MAX_DELTAS, "{left} deltas left");
        assert_eq!(state.deltas, left);
    }

    #[tokio::test]
    async fn a_table_from_before_the_log_loads_from_its_manifest_file() {
        let (_dir, storage) = storage();
        let old = Manifest {
            version: 9,
            watermark: 3,
            files: vec![entry(1)],
        };
        write_checkpoint(
            &storage,
            "t",
            Bytes::from(serde_json::to_vec(&old).unwrap()),
        )
        .await
        .unwrap();
        let (loaded, state) = load(&storage, "t").await.unwrap();
        assert_eq!(loaded, old);
        assert_eq!(state.deltas, 0);
        // And it takes commits on top.
        let mut next = old.clone();
        next.files.push(entry(2));
        let mut log = state;
        commit(&storage, "t", &old, &mut next, &mut log)
            .await
            .unwrap();
        assert_eq!(next.version, 10);
        assert_eq!(load(&storage, "t").await.unwrap().0, next);
    }

    /// A commit whose future is dropped after its delta landed (the caller never learns of
    /// it and keeps the version before) is superseded by a checkpoint above it.
    #[tokio::test]
    async fn after_a_commit_of_unknown_outcome_the_next_is_a_checkpoint_above_it() {
        let (_dir, storage) = storage();
        let base = commit_many(&storage, "t", 3).await;
        let mut log = load(&storage, "t").await.unwrap().1;
        // The lost commit: it lands, but the caller drops it before it can say so.
        let mut lost = base.clone();
        lost.files.push(entry(50));
        {
            let mut attempt = std::pin::pin!(commit(&storage, "t", &base, &mut lost, &mut log));
            // Polled once, then dropped: whether or not it got as far as writing, the caller
            // still holds `base`.
            let _ = futures::poll!(attempt.as_mut());
        }
        let mut next = base.clone();
        next.files.push(entry(60));
        commit(&storage, "t", &base, &mut next, &mut log)
            .await
            .unwrap();
        assert_eq!(next.version, base.version + 2);
        let (loaded, _) = load(&storage, "t").await.unwrap();
        assert_eq!(loaded, next);
        assert!(!loaded.files.contains(&entry(50)));
    }

    /// The same, when the lost commit's delta is known to be on storage.
    #[tokio::test]
    async fn a_landed_delta_the_caller_lost_is_covered_by_the_next_checkpoint() {
        let (_dir, storage) = storage();
        let base = commit_many(&storage, "t", 3).await;
        let mut log = load(&storage, "t").await.unwrap().1;
        let mut lost = base.clone();
        lost.files.push(entry(50));
        let mut scratch = log;
        commit(&storage, "t", &base, &mut lost, &mut scratch)
            .await
            .unwrap();
        // The caller's bookkeeping as if the commit errored after landing.
        log.attempted = lost.version;
        log.uncertain = true;
        let mut next = base.clone();
        next.files.push(entry(60));
        commit(&storage, "t", &base, &mut next, &mut log)
            .await
            .unwrap();
        let (loaded, _) = load(&storage, "t").await.unwrap();
        assert_eq!(loaded, next);
        assert!(!loaded.files.contains(&entry(50)));
    }

    #[tokio::test]
    async fn a_missing_delta_is_an_error_naming_the_version() {
        let (_dir, storage) = storage();
        commit_many(&storage, "t", 5).await;
        storage
            .delete(&format!("t/{LOG_DIR}/{}", delta_name(3)))
            .await
            .unwrap();
        let error = format!("{:#}", load(&storage, "t").await.unwrap_err());
        assert!(error.contains("version 3 is missing"), "{error}");
    }

    #[test]
    fn deltas_the_checkpoint_covers_and_foreign_names_are_ignored() {
        let checkpoint = Manifest {
            version: 2,
            watermark: 0,
            files: vec![entry(1)],
        };
        let stale = ManifestDelta {
            version: 2,
            watermark: 0,
            added: vec![entry(99)],
            removed: vec![],
        };
        let next = ManifestDelta {
            version: 3,
            watermark: 5,
            added: vec![entry(2)],
            removed: vec![],
        };
        let json = |d: &ManifestDelta| Bytes::from(serde_json::to_vec(d).unwrap());
        let (manifest, state) = rebuild(
            Some(&serde_json::to_vec(&checkpoint).unwrap()),
            vec![
                (delta_name(3), json(&next)),
                (delta_name(2), json(&stale)),
                ("notes.txt".into(), Bytes::from_static(b"?")),
            ],
        )
        .unwrap();
        assert_eq!(manifest.version, 3);
        assert_eq!(manifest.files, vec![entry(1), entry(2)]);
        assert_eq!(state.deltas, 1);
    }

    #[test]
    fn an_unreadable_delta_is_named() {
        let error = rebuild(
            None,
            vec![(delta_name(1), Bytes::from_static(b"{ not json"))],
        )
        .unwrap_err();
        assert!(
            error.contains("_manifest_log/00000000000000000001.json"),
            "{error}"
        );
    }
}
