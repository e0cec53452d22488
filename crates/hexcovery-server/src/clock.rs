//! The server's notion of "now" for heartbeats: the system clock, or — for tests only — the
//! RFC 3339 instant written in a file, so integration tests move time without sleeping
//! through real schedules.

use chrono::{DateTime, Utc};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum Clock {
    System,
    /// Reads the instant from this file on every call (`--test-clock-file`); the system
    /// clock when the file is missing or unreadable.
    File(PathBuf),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::File(path) => std::fs::read_to_string(path)
                .ok()
                .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_clock_reads_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("now");
        let clock = Clock::File(path.clone());
        let before = Utc::now();
        assert!(clock.now() >= before, "missing file: the system clock");
        std::fs::write(&path, "2027-03-28T01:00:00Z\n").unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2027-03-28T01:00:00+00:00");
    }
}
