//! The batches an org has stored, by the client's `x-hexcovery-batch-id`, so that a repeat
//! (an agent resending after a lost acknowledgement, a crash or an outage) is acknowledged
//! without being stored again: exactly-once delivery for clients that send the id.
//!
//! An id is claimed before its request is logged and marked stored only once the request's
//! log record is synced, so two copies of one batch in flight at once store it once, and a
//! copy whose first attempt failed is stored by the retry. Ids are kept as 128-bit hashes
//! (SHA-256, truncated), by the hour they were stored in, for [`KEEP_HOURS`]: in memory
//! while the org is loaded, and in a journal of one file per hour (`<org wal>/batches/
//! <unix hour>.ids`, 16 bytes an id) that is synced before the log records holding them can
//! be trimmed. So the memory survives restart, replay and unloading: on load it is the
//! journal plus the ids in the replayed log records.

use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Hours an id is remembered: at least 24 h after it was stored whatever the minute.
pub const KEEP_HOURS: u64 = 25;

/// Ids remembered per org at most (16 MiB of journal, about 48 MiB of memory). Past it the
/// oldest hour is forgotten early, with a warning: an org sending more than this many
/// batches a day loses only the guarantee for its oldest ones, and no other org's memory.
pub const MAX_IDS: usize = 1 << 20;

const ID_BYTES: usize = 16;

type Hash = u128;

fn hash(id: &str) -> Hash {
    let digest = Sha256::digest(id.as_bytes());
    u128::from_le_bytes(digest[..ID_BYTES].try_into().expect("16 bytes"))
}

fn hour_of(nanos: i64) -> u64 {
    (nanos.max(0) as u64) / 3_600_000_000_000
}

struct State {
    stored: HashMap<Hash, u64>,
    by_hour: BTreeMap<u64, Vec<Hash>>,
    /// Ids whose request is being logged: a repeat waits for its outcome. The semaphore
    /// has no permits and is closed when the first attempt ends.
    in_flight: HashMap<Hash, Arc<tokio::sync::Semaphore>>,
    /// The journal file of the newest hour written, and whether it needs a sync.
    journal: Option<(u64, File)>,
    unsynced: bool,
    /// Ids a journal write failed for: written again by the next `sync`, which fails (and
    /// so keeps their log records) until they are.
    unjournaled: Vec<(Hash, u64)>,
}

pub struct BatchIds {
    dir: PathBuf,
    state: Mutex<State>,
}

/// What a claim found.
pub enum Claim {
    /// The batch is stored already: acknowledge without storing it again.
    Stored,
    /// The caller stores it, then calls [`ClaimGuard::stored`]; dropping the guard instead
    /// lets a waiting repeat try.
    New(ClaimGuard),
}

pub struct ClaimGuard {
    ids: Arc<BatchIds>,
    hash: Hash,
    done: bool,
}

impl ClaimGuard {
    /// The batch's log record is synced: remember it as stored at `ingest_time`.
    pub fn stored(mut self, ingest_time: i64) {
        self.ids.remember(self.hash, hour_of(ingest_time), true);
        self.release();
    }

    fn release(&mut self) {
        self.done = true;
        let waiting = self
            .ids
            .lock()
            .in_flight
            .remove(&self.hash)
            .expect("a claim's id is in flight");
        waiting.close();
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.done {
            self.release();
        }
    }
}

impl BatchIds {
    /// Opens the org's journal under `dir` (`<org wal>/batches`), forgetting hours older
    /// than [`KEEP_HOURS`] before `now` (ns) and cutting a torn last id.
    pub fn open(dir: &Path, now: i64) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let oldest = hour_of(now).saturating_sub(KEEP_HOURS);
        let mut hours: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(hour) = name.strip_suffix(".ids").and_then(|h| h.parse().ok()) else {
                continue;
            };
            if hour < oldest {
                std::fs::remove_file(entry.path())?;
            } else {
                hours.push((hour, entry.path()));
            }
        }
        hours.sort();
        let ids = Self {
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                stored: HashMap::new(),
                by_hour: BTreeMap::new(),
                in_flight: HashMap::new(),
                journal: None,
                unsynced: false,
                unjournaled: Vec::new(),
            }),
        };
        for (hour, path) in hours {
            let mut data = std::fs::read(&path)?;
            let whole = data.len() / ID_BYTES * ID_BYTES;
            if whole < data.len() {
                // A crash mid-append: that id's record is still in the log, which replays it.
                OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(whole as u64)?;
                data.truncate(whole);
            }
            for chunk in data.chunks_exact(ID_BYTES) {
                let hash = u128::from_le_bytes(chunk.try_into().expect("16 bytes"));
                ids.remember(hash, hour, false);
            }
        }
        Ok(ids)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("batch id lock")
    }

    /// Claims `id` for storing, waiting while another copy of it is being stored.
    pub async fn claim(self: &Arc<Self>, id: &str) -> Claim {
        let hash = hash(id);
        loop {
            let waiting = {
                let mut state = self.lock();
                if state.stored.contains_key(&hash) {
                    return Claim::Stored;
                }
                match state.in_flight.get(&hash) {
                    Some(waiting) => waiting.clone(),
                    None => {
                        state
                            .in_flight
                            .insert(hash, Arc::new(tokio::sync::Semaphore::new(0)));
                        return Claim::New(ClaimGuard {
                            ids: self.clone(),
                            hash,
                            done: false,
                        });
                    }
                }
            };
            // Closed when that attempt ends, stored or not; then look again.
            let _ = waiting.acquire().await;
        }
    }

    /// An id found in a replayed log record: remembered, and journaled so that it outlives
    /// the record.
    pub fn replayed(&self, id: &str, ingest_time: i64) {
        self.remember(hash(id), hour_of(ingest_time), true);
    }

    fn remember(&self, hash: Hash, hour: u64, journal: bool) {
        let mut state = self.lock();
        if state.stored.insert(hash, hour).is_some() {
            return;
        }
        state.by_hour.entry(hour).or_default().push(hash);
        if journal && let Err(error) = self.append(&mut state, hash, hour) {
            // Still remembered in memory, and the id's record stays in the log until a sync
            // of the journal succeeds (`sync` fails, so the log is not trimmed).
            tracing::warn!(dir = %self.dir.display(), error = %error, "could not journal a batch id; retried at the next flush");
            state.journal = None;
            state.unjournaled.push((hash, hour));
        }
        while state.stored.len() > MAX_IDS && state.by_hour.len() > 1 {
            let (oldest, hashes) = state.by_hour.pop_first().expect("an hour");
            tracing::warn!(dir = %self.dir.display(), hour = oldest, ids = hashes.len(), "too many batch ids remembered: forgetting the oldest hour early");
            for hash in hashes {
                state.stored.remove(&hash);
            }
            let _ = std::fs::remove_file(self.dir.join(format!("{oldest}.ids")));
        }
    }

    fn append(&self, state: &mut State, hash: Hash, hour: u64) -> io::Result<()> {
        if state.journal.as_ref().is_none_or(|(h, _)| *h != hour) {
            if state.unsynced
                && let Some((_, file)) = &state.journal
            {
                file.sync_data()?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("{hour}.ids")))?;
            state.journal = Some((hour, file));
            // A new file: its directory entry needs the next sync too.
            state.unsynced = true;
        }
        let (_, file) = state.journal.as_mut().expect("journal open");
        file.write_all(&hash.to_le_bytes())?;
        state.unsynced = true;
        Ok(())
    }

    /// Makes every remembered id durable in the journal. Called before log records that
    /// hold ids may be trimmed (a flush's commit), so no id is only in a deleted record.
    pub fn sync(&self) -> io::Result<()> {
        let mut state = self.lock();
        let retry = std::mem::take(&mut state.unjournaled);
        for (i, (hash, hour)) in retry.iter().enumerate() {
            if let Err(error) = self.append(&mut state, *hash, *hour) {
                state.journal = None;
                state.unjournaled.extend_from_slice(&retry[i..]);
                return Err(error);
            }
        }
        if !state.unsynced {
            return Ok(());
        }
        if let Some((_, file)) = &state.journal {
            file.sync_data()?;
        }
        File::open(&self.dir)?.sync_all()?;
        state.unsynced = false;
        Ok(())
    }

    /// Forgets hours older than [`KEEP_HOURS`] before `now` (ns), in memory and on disk.
    pub fn expire(&self, now: i64) {
        let oldest = hour_of(now).saturating_sub(KEEP_HOURS);
        let mut state = self.lock();
        while state
            .by_hour
            .first_key_value()
            .is_some_and(|(h, _)| *h < oldest)
        {
            let (hour, hashes) = state.by_hour.pop_first().expect("an hour");
            for hash in hashes {
                state.stored.remove(&hash);
            }
            if state.journal.as_ref().is_some_and(|(h, _)| *h == hour) {
                state.journal = None;
            }
            let _ = std::fs::remove_file(self.dir.join(format!("{hour}.ids")));
        }
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.lock().stored.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    fn now() -> i64 {
        1_764_547_200_000_000_000
    }

    #[tokio::test]
    async fn a_stored_id_is_a_repeat_until_it_expires_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let ids = Arc::new(BatchIds::open(dir.path(), now()).unwrap());
        let Claim::New(guard) = ids.claim("b-1").await else {
            panic!("a new id");
        };
        guard.stored(now());
        assert!(matches!(ids.claim("b-1").await, Claim::Stored));
        assert!(matches!(ids.claim("b-2").await, Claim::New(_)));
        ids.sync().unwrap();
        drop(ids);

        let ids = Arc::new(BatchIds::open(dir.path(), now() + 24 * HOUR).unwrap());
        assert!(matches!(ids.claim("b-1").await, Claim::Stored));
        // b-2 was claimed but never stored.
        assert!(matches!(ids.claim("b-2").await, Claim::New(_)));
        ids.expire(now() + 26 * HOUR);
        assert!(ids.is_empty());
        drop(ids);
        let ids = Arc::new(BatchIds::open(dir.path(), now() + 26 * HOUR).unwrap());
        assert!(matches!(ids.claim("b-1").await, Claim::New(_)));
    }

    #[tokio::test]
    async fn a_repeat_in_flight_waits_for_the_first_copy() {
        let dir = tempfile::tempdir().unwrap();
        let ids = Arc::new(BatchIds::open(dir.path(), now()).unwrap());
        let Claim::New(first) = ids.claim("b").await else {
            panic!("a new id");
        };
        let repeat = tokio::spawn({
            let ids = ids.clone();
            async move { matches!(ids.claim("b").await, Claim::Stored) }
        });
        tokio::task::yield_now().await;
        assert!(!repeat.is_finished());
        first.stored(now());
        assert!(repeat.await.unwrap(), "the repeat is a duplicate");

        // A first copy that fails lets the waiting repeat store it.
        let Claim::New(failing) = ids.claim("c").await else {
            panic!("a new id");
        };
        let retry = tokio::spawn({
            let ids = ids.clone();
            async move { matches!(ids.claim("c").await, Claim::New(_)) }
        });
        tokio::task::yield_now().await;
        drop(failing);
        assert!(retry.await.unwrap(), "the repeat stores it");
    }

    #[test]
    fn a_torn_last_id_is_cut_and_replayed_ids_are_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let ids = BatchIds::open(dir.path(), now()).unwrap();
        ids.replayed("from the log", now());
        ids.sync().unwrap();
        drop(ids);
        let file = dir.path().join(format!("{}.ids", hour_of(now())));
        let mut bytes = std::fs::read(&file).unwrap();
        assert_eq!(bytes.len(), ID_BYTES);
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&file, &bytes).unwrap();
        let ids = BatchIds::open(dir.path(), now()).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(std::fs::read(&file).unwrap().len(), ID_BYTES);
    }
}
