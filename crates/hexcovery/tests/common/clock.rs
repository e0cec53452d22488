//! The server's test clock (`--test-clock-file`): the test writes the instant the server
//! reads as "now" for heartbeats, alerts and retries, so time-based tests never sleep.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub struct Clock {
    pub path: PathBuf,
    pub start: DateTime<Utc>,
}

impl Clock {
    pub fn new(dir: &Path, start: &str) -> Self {
        Self::at(
            dir,
            DateTime::parse_from_rfc3339(start)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    pub fn at(dir: &Path, start: DateTime<Utc>) -> Self {
        let clock = Clock {
            path: dir.join("now"),
            start,
        };
        clock.set_minutes(0);
        clock
    }

    /// Moves the server's clock to `start + minutes`.
    pub fn set_minutes(&self, minutes: i64) {
        self.set(self.start + TimeDelta::minutes(minutes));
    }

    /// Written to a temporary file and renamed over the clock, so the server never reads a
    /// half-written instant (which it would take for "no clock file": the system time).
    pub fn set(&self, at: DateTime<Utc>) {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, at.to_rfc3339()).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }

    /// Whole minutes from the start to the RFC 3339 time `at`.
    pub fn minutes(&self, at: &Value) -> i64 {
        let at = DateTime::parse_from_rfc3339(at.as_str().unwrap()).unwrap();
        (at.with_timezone(&Utc) - self.start).num_minutes()
    }

    /// The server arguments that make it read this clock.
    pub fn args(&self) -> [&str; 2] {
        ["--test-clock-file", self.path.to_str().unwrap()]
    }
}
