//! When outgoing deliveries (webhooks, invite emails) are tried again: a fixed back-off that
//! spans about four and a half hours, then the delivery has failed.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// Waits before attempts 2, 3, …; after the last, the delivery has failed.
const BACKOFF_SECS: [i64; 7] = [10, 30, 120, 600, 1_800, 3_600, 7_200];

/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// When to try again after `attempts` failed attempts, or `None` to give up.
pub fn next_attempt(attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let wait = BACKOFF_SECS.get(attempts.checked_sub(1)? as usize)?;
    Some(now + TimeDelta::seconds(*wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_then_give_up() {
        let now = Utc::now();
        assert_eq!(next_attempt(0, now), None, "no failure, no retry");
        assert_eq!(next_attempt(1, now), Some(now + TimeDelta::seconds(10)));
        assert_eq!(next_attempt(2, now), Some(now + TimeDelta::seconds(30)));
        assert_eq!(next_attempt(7, now), Some(now + TimeDelta::seconds(7_200)));
        assert_eq!(next_attempt(8, now), None);
    }
}
