//! The bounded, fair pool password hashing runs on: a fixed number of argon2 computations at
//! a time (each on a blocking thread; by default one per two cores), and a bounded queue of
//! callers waiting for one, kept per [`Lane`] (the client's address prefix) and served round
//! robin between lanes. Beyond the bounds (per lane, and overall) a caller is turned away at
//! once (`Busy`), so a flood of logins costs the server a fixed amount of CPU and memory
//! (19 MiB per running hash) instead of every core and an unbounded queue, ingest and queries
//! keep theirs, and a flood from one prefix delays a login from another by about one hash per
//! other lane waiting, not by the whole queue.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Callers allowed to wait for a hashing slot, per slot, over all lanes.
const WAITING_PER_SLOT: usize = 16;
/// Callers one lane may have waiting, per slot.
const WAITING_PER_LANE_PER_SLOT: usize = 4;

/// Why the pool did not run a job.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PoolError {
    /// Every slot is running and the queue (the caller's lane's, or the whole) is full: try
    /// again shortly.
    #[error("password hashing is at capacity")]
    Busy,
    /// The job panicked on its blocking thread.
    #[error("a password hashing job failed: {0}")]
    Failed(String),
}

/// Whose turn a caller waits in. The lane is the client's network, not the account: an
/// account's lane would tell an attacker, by timing, which emails exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lane(String);

impl Lane {
    /// The lane of a client address as the server resolved it (`ip.to_string()`): its IPv4
    /// /24 or IPv6 /64 prefix (an IPv4-mapped IPv6 address counts as IPv4), so one host's or
    /// one network's flood shares one lane. No address, or text that is not an address, has a
    /// lane of its own.
    pub fn for_client(addr: Option<&str>) -> Self {
        let Some(text) = addr else {
            return Lane("unknown".into());
        };
        match text.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(IpAddr::V4(v4)) => {
                let [a, b, c, _] = v4.octets();
                Lane(format!("{a}.{b}.{c}.0/24"))
            }
            Ok(IpAddr::V6(v6)) => {
                let s = v6.segments();
                Lane(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
            Err(_) => Lane(format!("other:{text}")),
        }
    }

    /// The lane's name (its prefix), for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A caller waiting for a slot: its place is taken back when it gives up.
struct Waiter {
    id: u64,
    slot: oneshot::Sender<Slot>,
}

#[derive(Default)]
struct Queue {
    /// Slots running a job (or being handed to a waiter).
    running: usize,
    /// Waiters of each lane that has any, oldest first.
    lanes: HashMap<Lane, VecDeque<Waiter>>,
    /// Lanes with waiters, in the order they are served (each lane once).
    turns: VecDeque<Lane>,
    waiting: usize,
    next_id: u64,
}

impl Queue {
    /// The next waiter, round robin between lanes: the first of the lane whose turn it is,
    /// that lane going to the back of the line if it has more.
    fn next_waiter(&mut self) -> Option<Waiter> {
        let lane = self.turns.pop_front()?;
        let waiters = self
            .lanes
            .get_mut(&lane)
            .expect("a lane in turn has waiters");
        let waiter = waiters.pop_front().expect("a lane in turn has waiters");
        if waiters.is_empty() {
            self.lanes.remove(&lane);
        } else {
            self.turns.push_back(lane);
        }
        self.waiting -= 1;
        Some(waiter)
    }

    /// Takes waiter `id` of `lane` out of the queue, if it is still there.
    fn remove(&mut self, lane: &Lane, id: u64) {
        let Some(waiters) = self.lanes.get_mut(lane) else {
            return;
        };
        let Some(at) = waiters.iter().position(|w| w.id == id) else {
            return;
        };
        waiters.remove(at);
        self.waiting -= 1;
        if waiters.is_empty() {
            self.lanes.remove(lane);
            self.turns.retain(|l| l != lane);
        }
    }
}

struct Shared {
    queue: Mutex<Queue>,
    size: usize,
    max_waiting: usize,
    max_waiting_per_lane: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue's invariants hold between statements that cannot panic.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot is free: hands it to the next waiter still waiting, or counts it free.
    fn release(self: &Arc<Self>) {
        loop {
            let next = {
                let mut queue = self.lock();
                match queue.next_waiter() {
                    Some(waiter) => waiter,
                    None => {
                        queue.running -= 1;
                        return;
                    }
                }
            };
            // Outside the lock: a slot that cannot be delivered (its caller just gave up) is
            // disarmed and offered to the next waiter.
            match next.slot.send(Slot(Some(Arc::clone(self)))) {
                Ok(()) => return,
                Err(mut undelivered) => undelivered.disarm(),
            }
        }
    }
}

/// One running slot; handed on to the next waiter (or freed) when dropped, wherever the job
/// ends or whoever abandons it.
struct Slot(Option<Arc<Shared>>);

impl Slot {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.release();
        }
    }
}

/// A waiting caller's place: given back if the caller gives up before its slot came.
struct Place {
    shared: Arc<Shared>,
    lane: Lane,
    id: u64,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.shared.lock().remove(&self.lane, self.id);
    }
}

/// What a caller was admitted to: a slot at once, or a place in its lane's queue and the
/// channel its slot will come by.
enum Admission {
    Now(Slot),
    Queued(Place, oneshot::Receiver<Slot>),
}

/// A bounded, lane-fair pool for password hashing and verification.
pub struct PasswordPool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("slots", &self.shared.size)
            .field("max_waiting", &self.shared.max_waiting)
            .field("max_waiting_per_lane", &self.shared.max_waiting_per_lane)
            .finish()
    }
}

impl Default for PasswordPool {
    /// One slot per two cores (at least one), so a flood of logins leaves the other half to
    /// ingest and queries; sixteen waiting per slot, four of them at most from one lane.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let slots = (cores / 2).max(1);
        // Made now, so the first unknown-email login costs no more than the rest.
        crate::password::dummy_hash();
        Self::new(
            slots,
            slots * WAITING_PER_SLOT,
            slots * WAITING_PER_LANE_PER_SLOT,
        )
    }
}

impl PasswordPool {
    /// `slots` jobs run at once (at least one); `max_waiting` more may wait for a slot, at
    /// most `max_waiting_per_lane` of them in one lane.
    pub fn new(slots: usize, max_waiting: usize, max_waiting_per_lane: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                size: slots.max(1),
                max_waiting,
                max_waiting_per_lane: max_waiting_per_lane.min(max_waiting),
            }),
        }
    }

    /// Jobs that run at once.
    pub fn slots(&self) -> usize {
        self.shared.size
    }

    /// A slot now, a place in `lane`'s queue, or `Busy`.
    fn admit(&self, lane: &Lane) -> Result<Admission, PoolError> {
        let mut queue = self.shared.lock();
        if queue.running < self.shared.size {
            queue.running += 1;
            return Ok(Admission::Now(Slot(Some(Arc::clone(&self.shared)))));
        }
        let in_lane = queue.lanes.get(lane).map_or(0, VecDeque::len);
        if queue.waiting >= self.shared.max_waiting || in_lane >= self.shared.max_waiting_per_lane {
            return Err(PoolError::Busy);
        }
        let (tx, rx) = oneshot::channel();
        let id = queue.next_id;
        queue.next_id += 1;
        queue.waiting += 1;
        match queue.lanes.get_mut(lane) {
            Some(waiters) => waiters.push_back(Waiter { id, slot: tx }),
            None => {
                queue
                    .lanes
                    .insert(lane.clone(), VecDeque::from([Waiter { id, slot: tx }]));
                queue.turns.push_back(lane.clone());
            }
        }
        let place = Place {
            shared: Arc::clone(&self.shared),
            lane: lane.clone(),
            id,
        };
        Ok(Admission::Queued(place, rx))
    }

    /// Runs `job` on a blocking thread once a slot is free and it is `lane`'s turn, or
    /// answers `Busy` at once when the lane's queue or the whole queue is full. A caller that
    /// gives up (its request cancelled) leaves the queue; a job that has started keeps its
    /// slot until it ends, so the bound holds regardless.
    pub async fn run<T, F>(&self, lane: &Lane, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = match self.admit(lane)? {
            Admission::Now(slot) => slot,
            Admission::Queued(place, turn) => {
                let slot = turn.await.map_err(|_| {
                    PoolError::Failed("the password pool was dropped while waiting".into())
                })?;
                drop(place);
                slot
            }
        };
        tokio::task::spawn_blocking(move || {
            let _held = slot;
            job()
        })
        .await
        .map_err(|e| PoolError::Failed(e.to_string()))
    }

    /// Hashes a new password (see `password::hash_password`) in `lane`.
    pub async fn hash(&self, lane: &Lane, password: String) -> Result<String, PoolError> {
        self.run(lane, move || crate::password::hash_password(&password))
            .await?
            .map_err(|e| PoolError::Failed(e.to_string()))
    }

    /// Whether `password` matches `stored`, checked in `lane`; with no stored hash (an unknown
    /// account) the same work is done against a dummy hash and the answer is false, so both
    /// take as long.
    pub async fn verify(
        &self,
        lane: &Lane,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, PoolError> {
        self.run(lane, move || match stored {
            Some(hash) => crate::password::verify_password(&password, &hash),
            None => {
                crate::password::verify_against_dummy(&password);
                false
            }
        })
        .await
    }

    /// Callers waiting (all lanes), for tests.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.shared.lock().waiting
    }

    /// Slots running, for tests.
    #[cfg(test)]
    fn running(&self) -> usize {
        self.shared.lock().running
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    fn lane(name: &str) -> Lane {
        Lane(name.into())
    }

    /// Waits until the pool has `n` callers waiting.
    async fn until_waiting(pool: &PasswordPool, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while pool.waiting() != n {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} waiting, never {n}", pool.waiting()));
    }

    /// Occupies the pool's one slot until the returned sender is used (or dropped).
    async fn hold_the_slot(
        pool: &Arc<PasswordPool>,
    ) -> (mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let holder = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(&lane("holder"), move || {
                    let _ = release_rx.recv();
                })
                .await
                .unwrap()
            })
        };
        while pool.running() < pool.slots() {
            tokio::task::yield_now().await;
        }
        (release_tx, holder)
    }

    #[test]
    fn lanes_are_address_prefixes() {
        let of = |a: &str| Lane::for_client(Some(a)).0;
        assert_eq!(of("203.0.113.7"), "203.0.113.0/24");
        assert_eq!(of("203.0.113.200"), of("203.0.113.7"));
        assert_ne!(of("203.0.114.7"), of("203.0.113.7"));
        assert_eq!(of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(of("2001:db8:1:2:ffff::9"), of("2001:db8:1:2::1"));
        assert_ne!(of("2001:db8:1:3::1"), of("2001:db8:1:2::1"));
        assert_eq!(
            of("::ffff:203.0.113.9"),
            "203.0.113.0/24",
            "IPv4-mapped is IPv4"
        );
        assert_eq!(Lane::for_client(None).0, "unknown");
        assert_eq!(of("not an address"), "other:not an address");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_at_most_slots_at_once_and_turns_away_beyond_the_queue() {
        let pool = Arc::new(PasswordPool::new(1, 2, 2));
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
                pool.run(&lane("a"), move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    release_rx.lock().unwrap().recv().unwrap();
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        // One running, two waiting: the fourth is refused at once, in any lane.
        until_waiting(&pool, 2).await;
        assert_eq!(pool.run(&lane("a"), || ()).await, Err(PoolError::Busy));
        assert_eq!(pool.run(&lane("b"), || ()).await, Err(PoolError::Busy));
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
            (pool.running(), pool.waiting()),
            (0, 0),
            "every slot returned"
        );
        assert_eq!(
            pool.run(&lane("a"), || 7).await,
            Ok(7),
            "room again once the queue drained"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_lane_is_busy_while_another_lane_still_queues() {
        let pool = Arc::new(PasswordPool::new(1, 10, 2));
        let (release, holder) = hold_the_slot(&pool).await;
        let mut waiting = Vec::new();
        for _ in 0..2 {
            let pool = pool.clone();
            waiting.push(tokio::spawn(async move {
                pool.run(&lane("flood"), || ()).await
            }));
        }
        until_waiting(&pool, 2).await;
        assert_eq!(pool.run(&lane("flood"), || ()).await, Err(PoolError::Busy));
        let other = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(&lane("other"), || "served").await })
        };
        until_waiting(&pool, 3).await;
        drop(release);
        holder.await.unwrap();
        assert_eq!(other.await.unwrap(), Ok("served"));
        for job in waiting {
            assert_eq!(job.await.unwrap(), Ok(()));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiters_are_served_round_robin_between_lanes() {
        let pool = Arc::new(PasswordPool::new(1, 16, 8));
        let (release, holder) = hold_the_slot(&pool).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut jobs = Vec::new();
        // Lane a queues five first, then b two, then c one: served a b c a b a a a.
        let arrivals = ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "c1"];
        for (n, name) in arrivals.into_iter().enumerate() {
            let (queued, order) = (pool.clone(), order.clone());
            jobs.push(tokio::spawn(async move {
                queued
                    .run(&lane(&name[..1]), move || order.lock().unwrap().push(name))
                    .await
            }));
            // Each in the queue before the next arrives, so arrival order is known.
            until_waiting(&pool, n + 1).await;
        }
        drop(release);
        holder.await.unwrap();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["a1", "b1", "c1", "a2", "b2", "a3", "a4", "a5"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_gives_up_while_waiting_frees_its_place() {
        let pool = Arc::new(PasswordPool::new(1, 1, 1));
        let (release, holder) = hold_the_slot(&pool).await;
        // Waits for the slot, then is abandoned.
        let waiting =
            tokio::time::timeout(Duration::from_millis(20), pool.run(&lane("a"), || ())).await;
        assert!(waiting.is_err());
        assert_eq!(pool.waiting(), 0, "its place was given back");
        // So another caller, of the same lane, queues in its place and is served.
        let next = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(&lane("a"), || 5).await })
        };
        until_waiting(&pool, 1).await;
        drop(release);
        holder.await.unwrap();
        assert_eq!(next.await.unwrap(), Ok(5));
        assert_eq!((pool.running(), pool.waiting()), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slot_handed_to_a_caller_gone_meanwhile_goes_to_the_next() {
        let pool = Arc::new(PasswordPool::new(1, 4, 4));
        let (release, holder) = hold_the_slot(&pool).await;
        let first = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(&lane("a"), || 1).await })
        };
        until_waiting(&pool, 1).await;
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(&lane("b"), || 2).await })
        };
        until_waiting(&pool, 2).await;
        // The first gives up at the moment its slot is freed: either way the second runs.
        first.abort();
        drop(release);
        holder.await.unwrap();
        assert_eq!(second.await.unwrap(), Ok(2));
        let _ = first.await;
        tokio::time::timeout(Duration::from_secs(10), async {
            while pool.running() != 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("every slot comes back");
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test]
    async fn hashes_and_verifies_through_the_pool() {
        let pool = PasswordPool::new(2, 4, 2);
        let me = Lane::for_client(Some("127.0.0.1"));
        let hash = pool
            .hash(&me, "correct horse battery".into())
            .await
            .unwrap();
        assert_eq!(
            pool.verify(&me, "correct horse battery".into(), Some(hash.clone()))
                .await,
            Ok(true)
        );
        assert_eq!(
            pool.verify(&me, "wrong horse battery".into(), Some(hash))
                .await,
            Ok(false)
        );
        assert_eq!(
            pool.verify(&me, "anything at all".into(), None).await,
            Ok(false)
        );
    }
}
