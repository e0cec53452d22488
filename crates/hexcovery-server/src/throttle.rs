//! Login throttling, per account and per client address (and signups per address): a few failures cost nothing, more
//! earn a block that doubles with each further failure up to a cap, and all is forgotten a
//! quiet while after the last failure — attackers slow to a crawl, a person who mistyped is
//! never locked out for long. In memory, per node (a cluster multiplies the budget by its
//! size; the caps still hold per node).

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How a kind of key is throttled.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before the first block.
    pub free_failures: u32,
    /// The first block; each further failure doubles it...
    pub first_block: TimeDelta,
    /// ...up to this.
    pub max_block: TimeDelta,
    /// Failures older than this (after the last one) are forgotten.
    pub forget_after: TimeDelta,
}

/// Per account: 5 free failures, then 30 s doubling to 5 minutes.
pub const ACCOUNT: Policy = Policy {
    free_failures: 5,
    first_block: TimeDelta::seconds(30),
    max_block: TimeDelta::minutes(5),
    forget_after: TimeDelta::minutes(15),
};

/// Per client address: 20 free failures (offices share addresses), then 1 min doubling to 15.
pub const ADDRESS: Policy = Policy {
    free_failures: 20,
    first_block: TimeDelta::minutes(1),
    max_block: TimeDelta::minutes(15),
    forget_after: TimeDelta::minutes(30),
};

/// Per client address, for signups (each counted, success or not: a signup creates an org
/// and costs a password hash): `free` signups, then 1 min doubling to an hour; forgotten after
/// an hour without one.
pub fn signup_policy(free: u32) -> Policy {
    Policy {
        free_failures: free,
        first_block: TimeDelta::minutes(1),
        max_block: TimeDelta::hours(1),
        forget_after: TimeDelta::hours(1),
    }
}

/// Entries kept at most; past this, forgotten ones are swept first, then the oldest.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: DateTime<Utc>,
    blocked_until: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, (Policy, Entry)>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Throttle")
    }
}

impl Throttle {
    /// Counts a failure of `key` at `now`; the block it starts, if any.
    fn count(
        entries: &mut HashMap<String, (Policy, Entry)>,
        key: &str,
        policy: Policy,
        now: DateTime<Utc>,
    ) -> Option<TimeDelta> {
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            entries.retain(|_, (p, e)| now - e.last_failure < p.forget_after);
            if entries.len() >= MAX_ENTRIES
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (_, e))| e.last_failure)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        let (_, entry) = entries.entry(key.to_string()).or_insert((
            policy,
            Entry {
                failures: 0,
                last_failure: now,
                blocked_until: None,
            },
        ));
        if now - entry.last_failure >= policy.forget_after {
            entry.failures = 0;
            entry.blocked_until = None;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if let Some(beyond) = entry.failures.checked_sub(policy.free_failures + 1) {
            let block = policy
                .first_block
                .checked_mul(1i32.checked_shl(beyond.min(20)).unwrap_or(i32::MAX))
                .unwrap_or(policy.max_block)
                .min(policy.max_block);
            entry.blocked_until = Some(now + block);
            return Some(block);
        }
        None
    }

    /// Starts an attempt at `key`: refused with the seconds to wait while it is blocked;
    /// otherwise counted as a failure at once — before the password or code is checked — so
    /// parallel guesses cannot all slip in before the first is counted. `Ok` says whether this
    /// count started a block; an attempt that then succeeds takes its count back
    /// (`succeeded` or `forgive`).
    pub fn attempt(
        &self,
        key: &str,
        policy: Policy,
        now: DateTime<Utc>,
    ) -> Result<Option<TimeDelta>, u64> {
        // Checked and counted under one lock: nothing can come between.
        let mut entries = self.entries.lock().expect("throttle lock");
        if let Some((_, entry)) = entries.get(key)
            && let Some(until) = entry.blocked_until.filter(|u| *u > now)
        {
            return Err(((until - now).num_milliseconds() as u64)
                .div_ceil(1000)
                .max(1));
        }
        Ok(Self::count(&mut entries, key, policy, now))
    }

    /// Takes back one counted attempt of `key` that succeeded (lifting the block it started).
    pub fn forgive(&self, key: &str) {
        let mut entries = self.entries.lock().expect("throttle lock");
        if let Some((policy, entry)) = entries.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures <= policy.free_failures {
                entry.blocked_until = None;
            }
        }
    }

    /// Forgets `key`'s failures (a successful login).
    pub fn succeeded(&self, key: &str) {
        self.entries.lock().expect("throttle lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_grow_then_cap_then_are_forgotten() {
        let throttle = Throttle::default();
        let t0 = Utc::now();
        let at = |s: i64| t0 + TimeDelta::seconds(s);
        let try_at = |s: i64| throttle.attempt("a", ACCOUNT, at(s));
        for i in 0..5 {
            assert_eq!(try_at(i), Ok(None), "free failure {i}");
        }
        assert_eq!(try_at(5), Ok(Some(TimeDelta::seconds(30))));
        assert_eq!(try_at(6), Err(29), "refused, and not counted");
        // Each failure after a block doubles the next one, up to 5 minutes.
        assert_eq!(try_at(35), Ok(Some(TimeDelta::seconds(60))));
        assert_eq!(try_at(95), Ok(Some(TimeDelta::seconds(120))));
        assert_eq!(try_at(215), Ok(Some(TimeDelta::seconds(240))));
        assert_eq!(try_at(455), Ok(Some(TimeDelta::seconds(300))));
        assert_eq!(try_at(755), Ok(Some(TimeDelta::seconds(300))), "capped");
        // Quiet for 15 minutes after the last failure: forgotten.
        assert_eq!(try_at(755 + 15 * 60), Ok(None));
        throttle.succeeded("a");
        for i in 0..5 {
            assert_eq!(try_at(2000 + i), Ok(None), "a success clears the count");
        }
    }

    #[test]
    fn attempts_count_before_they_are_checked() {
        let throttle = Throttle::default();
        let now = Utc::now();
        // Six guesses in flight at once: the sixth count starts the block, the seventh is
        // refused before anything is checked.
        for _ in 0..5 {
            assert_eq!(throttle.attempt("a", ACCOUNT, now), Ok(None));
        }
        assert_eq!(
            throttle.attempt("a", ACCOUNT, now),
            Ok(Some(TimeDelta::seconds(30)))
        );
        assert_eq!(throttle.attempt("a", ACCOUNT, now), Err(30));
        // The sixth turned out right: its count and its block are taken back.
        throttle.forgive("a");
        assert_eq!(
            throttle.attempt("a", ACCOUNT, now),
            Ok(Some(TimeDelta::seconds(30)))
        );
    }
}
