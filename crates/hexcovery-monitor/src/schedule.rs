//! When a monitored job is due: `every 1h` (a fixed period after the last success) or a cron
//! expression (`30 2 * * *`) in a time zone, where daylight-saving changes follow Vixie cron:
//! a time skipped by the clock moving forward runs right after the change, a time that occurs
//! twice runs once.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use std::str::FromStr;

/// A schedule that could not be understood; the message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

#[derive(Debug, Clone)]
pub enum Schedule {
    /// Due this long after the last success.
    Every(TimeDelta),
    /// Due at the first match of `expression` (read in `zone`) after the last success.
    Cron {
        expression: String,
        cron: Box<Cron>,
        zone: Tz,
    },
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text() && self.zone() == other.zone()
    }
}

/// `30s`, `5m`, `1h`, `2d`, `1w` → seconds (at least 1).
pub fn parse_duration(text: &str) -> Result<TimeDelta, ScheduleError> {
    let bad = || {
        ScheduleError(format!(
            "{text:?} is not a duration: write a whole number and a unit, e.g. 30s, 5m, 1h, 2d, 1w"
        ))
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    let secs = number.checked_mul(unit_secs).ok_or_else(bad)?;
    // Ten years is far beyond any job's period; it also keeps every sum of times in range.
    if !(1..=10 * 366 * 86_400).contains(&secs) {
        return Err(ScheduleError(format!(
            "{text:?} is out of range: durations are from 1s to 3660d"
        )));
    }
    Ok(TimeDelta::seconds(secs))
}

impl Schedule {
    /// `every <duration>` or a 5-field cron expression; `zone` is an IANA name (`UTC`,
    /// `Europe/Berlin`) and matters only for cron expressions.
    pub fn parse(text: &str, zone: &str) -> Result<Self, ScheduleError> {
        let text = text.trim();
        let zone: Tz = zone.parse().map_err(|_| {
            ScheduleError(format!(
                "{zone:?} is not an IANA time zone such as UTC or Europe/Berlin"
            ))
        })?;
        if let Some(period) = text.strip_prefix("every ") {
            return Ok(Schedule::Every(parse_duration(period)?));
        }
        let fields = text.split_whitespace().count();
        if fields != 5 {
            return Err(ScheduleError(format!(
                "{text:?} is neither `every <duration>` (e.g. every 1h) nor a cron expression of 5 fields (minute hour day-of-month month day-of-week, e.g. 30 2 * * *); it has {fields} fields"
            )));
        }
        let cron = Cron::from_str(text)
            .map_err(|e| ScheduleError(format!("{text:?} is not a valid cron expression: {e}")))?;
        Ok(Schedule::Cron {
            expression: text.split_whitespace().collect::<Vec<_>>().join(" "),
            cron: Box::new(cron),
            zone,
        })
    }

    /// The schedule as written (normalised).
    pub fn text(&self) -> String {
        match self {
            Schedule::Every(period) => format!("every {}", format_duration(*period)),
            Schedule::Cron { expression, .. } => expression.clone(),
        }
    }

    /// The time zone cron expressions are read in (UTC for periods).
    pub fn zone(&self) -> Tz {
        match self {
            Schedule::Every(_) => Tz::UTC,
            Schedule::Cron { zone, .. } => *zone,
        }
    }

    /// When the job is next due after a success at `after` (strictly later); `None` if the
    /// expression never matches again (e.g. 30 February).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(period) => after.checked_add_signed(*period),
            Schedule::Cron { cron, zone, .. } => cron
                .find_next_occurrence(&after.with_timezone(zone), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// The largest whole unit: 3600 s → `1h`, 90 s → `90s`.
pub fn format_duration(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn periods_and_their_errors() {
        let every = Schedule::parse("every 90m", "UTC").unwrap();
        assert_eq!(every.text(), "every 90m");
        assert_eq!(
            every.next_after(utc("2026-11-22T10:00:00Z")),
            Some(utc("2026-11-22T11:30:00Z"))
        );
        assert_eq!(
            Schedule::parse("every 60m", "UTC").unwrap().text(),
            "every 1h"
        );
        for bad in [
            "every",
            "every 5",
            "every 5y",
            "every 0s",
            "every -1h",
            "every 99999999999w",
        ] {
            assert!(Schedule::parse(bad, "UTC").is_err(), "{bad}");
        }
        let error = Schedule::parse("* * * *", "UTC").unwrap_err();
        assert!(error.0.contains("4 fields"), "{error}");
        assert!(Schedule::parse("61 * * * *", "UTC").is_err());
        assert!(
            Schedule::parse("0 * * * *", "Mars/Olympus")
                .unwrap_err()
                .0
                .contains("IANA")
        );
    }

    #[test]
    fn cron_reads_its_time_zone() {
        let daily = Schedule::parse("0 9 * * 1-5", "America/New_York").unwrap();
        // Friday 2026-11-20 09:00 EST is 14:00 UTC; the next weekday 09:00 is Monday.
        assert_eq!(
            daily.next_after(utc("2026-11-20T14:00:00Z")),
            Some(utc("2026-11-23T14:00:00Z"))
        );
    }

    #[test]
    fn daylight_saving_changes_follow_vixie_cron() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = |y, mo, d, h, mi| {
            berlin
                .with_ymd_and_hms(y, mo, d, h, mi, 0)
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
        };
        let nightly = Schedule::parse("30 2 * * *", "Europe/Berlin").unwrap();
        // 2027-03-28: clocks jump from 02:00 to 03:00; 02:30 does not exist that night, so
        // the job is due right after the jump (03:00 CEST = 01:00 UTC).
        assert_eq!(
            nightly.next_after(at(2027, 3, 27, 2, 30)),
            Some(utc("2027-03-28T01:00:00Z"))
        );
        assert_eq!(
            nightly.next_after(utc("2027-03-28T01:00:00Z")),
            Some(at(2027, 3, 29, 2, 30))
        );
        // 2026-10-25: 02:30 happens twice; the job is due once, at the first.
        let first = nightly.next_after(at(2026, 10, 24, 2, 30)).unwrap();
        assert_eq!(first, utc("2026-10-25T00:30:00Z"));
        assert_eq!(nightly.next_after(first), Some(at(2026, 10, 26, 2, 30)));
        // A period is plain elapsed time, whatever the wall clock does.
        let hourly = Schedule::parse("every 1h", "Europe/Berlin").unwrap();
        assert_eq!(
            hourly.next_after(utc("2027-03-28T00:30:00Z")),
            Some(utc("2027-03-28T01:30:00Z"))
        );
    }
}
