//! The bounded pool password hashing runs on: a fixed number of argon2 computations at a time
//! (each on a blocking thread; by default one per two cores), and at most `max_waiting` more callers queued for one.
//! Beyond that a caller is turned away at once (`Busy`), so a flood of logins costs the
//! server a fixed amount of CPU and memory (19 MiB per running hash) instead of every core
//! and an unbounded queue, and ingest and queries keep theirs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// Callers allowed to wait for a hashing slot, per slot.
const WAITING_PER_SLOT: usize = 16;

/// Why the pool did not run a job.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PoolError {
    /// Every slot is running and the queue is full: try again shortly.
    #[error("password hashing is at capacity")]
    Busy,
    /// The job panicked on its blocking thread.
    #[error("a password hashing job failed: {0}")]
    Failed(String),
}

/// A bounded pool for password hashing and verification.
#[derive(Debug)]
pub struct PasswordPool {
    slots: Arc<Semaphore>,
    /// Callers admitted: running plus waiting for a slot.
    admitted: Arc<AtomicUsize>,
    max_admitted: usize,
    size: usize,
}

impl Default for PasswordPool {
    /// One slot per two cores (at least one), so a flood of logins leaves the other half to
    /// ingest and queries; sixteen waiting per slot.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let slots = (cores / 2).max(1);
        // Made now, so the first unknown-email login costs no more than the rest.
        crate::password::dummy_hash();
        Self::new(slots, slots * WAITING_PER_SLOT)
    }
}

/// Gives an admission back when dropped, wherever the job ends (or is abandoned).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordPool {
    /// `slots` jobs run at once (at least one); `max_waiting` more may wait for a slot.
    pub fn new(slots: usize, max_waiting: usize) -> Self {
        let size = slots.max(1);
        Self {
            slots: Arc::new(Semaphore::new(size)),
            admitted: Arc::new(AtomicUsize::new(0)),
            max_admitted: size + max_waiting,
            size,
        }
    }

    /// Jobs that run at once.
    pub fn slots(&self) -> usize {
        self.size
    }

    /// Runs `job` on a blocking thread once a slot is free, or answers `Busy` at once when
    /// the queue is full. A caller that gives up (its request cancelled) leaves the queue; a
    /// job that has started keeps its slot until it ends, so the bound holds regardless.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let max = self.max_admitted;
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| PoolError::Busy)?;
        let admission = Admission(self.admitted.clone());
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| PoolError::Failed(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _held = (slot, admission);
            job()
        })
        .await
        .map_err(|e| PoolError::Failed(e.to_string()))
    }

    /// Hashes a new password (see `password::hash_password`).
    pub async fn hash(&self, password: String) -> Result<String, PoolError> {
        self.run(move || crate::password::hash_password(&password))
            .await?
            .map_err(|e| PoolError::Failed(e.to_string()))
    }

    /// Whether `password` matches `stored`; with no stored hash (an unknown account) the same
    /// work is done against a dummy hash and the answer is false, so both take as long.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, PoolError> {
        self.run(move || match stored {
            Some(hash) => crate::password::verify_password(&password, &hash),
            None => {
                crate::password::verify_against_dummy(&password);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_at_most_slots_at_once_and_turns_away_beyond_the_queue() {
        let pool = Arc::new(PasswordPool::new(1, 2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let mut jobs = Vec::new();
        for _ in 0..3 {
            let (pool, running, peak, release_rx) = (
                pool.clone(),
                running.clone(),
                peak.clone(),
                release_rx.clone(),
            );
            jobs.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    release_rx.lock().unwrap().recv().unwrap();
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        // Three admitted (one running, two waiting): the fourth is refused at once.
        while pool.admitted.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| ()).await, Err(PoolError::Busy));
        for _ in 0..3 {
            release_tx.send(()).unwrap();
        }
        for job in jobs {
            assert_eq!(job.await.unwrap(), Ok(()));
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            1,
            "one slot: one job at a time"
        );
        assert_eq!(
            pool.admitted.load(Ordering::SeqCst),
            0,
            "every admission returned"
        );
        assert_eq!(
            pool.run(|| 7).await,
            Ok(7),
            "room again once the queue drained"
        );
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_while_waiting_leaves_the_queue() {
        let pool = Arc::new(PasswordPool::new(1, 1));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let holder = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || release_rx.recv().unwrap()).await })
        };
        while pool.slots.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // Waits for the slot, then is abandoned.
        let waiting = tokio::time::timeout(Duration::from_millis(20), pool.run(|| ())).await;
        assert!(waiting.is_err());
        assert_eq!(pool.admitted.load(Ordering::SeqCst), 1);
        release_tx.send(()).unwrap();
        assert_eq!(holder.await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn hashes_and_verifies_through_the_pool() {
        let pool = PasswordPool::new(2, 4);
        let hash = pool.hash("correct horse battery".into()).await.unwrap();
        assert_eq!(
            pool.verify("correct horse battery".into(), Some(hash.clone()))
                .await,
            Ok(true)
        );
        assert_eq!(
            pool.verify("wrong horse battery".into(), Some(hash)).await,
            Ok(false)
        );
        assert_eq!(pool.verify("anything at all".into(), None).await, Ok(false));
    }
}
