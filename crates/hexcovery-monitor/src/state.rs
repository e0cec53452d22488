//! The heartbeat state machine: from a monitor's rules and the facts its pings established,
//! the state at any instant — `new`, `up`, `late` (due, inside the grace period), `down`
//! (grace over), `failed` (a `/fail` ping, or a started run past its maximum runtime),
//! `paused` — with when it began and when it next changes on its own.

use crate::schedule::Schedule;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorState {
    New,
    Up,
    Late,
    Down,
    Failed,
    Paused,
}

impl MonitorState {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorState::New => "new",
            MonitorState::Up => "up",
            MonitorState::Late => "late",
            MonitorState::Down => "down",
            MonitorState::Failed => "failed",
            MonitorState::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "new" => MonitorState::New,
            "up" => MonitorState::Up,
            "late" => MonitorState::Late,
            "down" => MonitorState::Down,
            "failed" => MonitorState::Failed,
            "paused" => MonitorState::Paused,
            _ => return None,
        })
    }
}

/// What the monitor's owner configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub schedule: Schedule,
    /// How long after being due the job may still report before it is down.
    pub grace: TimeDelta,
    /// A started run that has not finished after this long has failed.
    pub max_runtime: Option<TimeDelta>,
    /// Since when the monitor is paused, if it is.
    pub paused_since: Option<DateTime<Utc>>,
}

/// What the pings established.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub created_at: DateTime<Utc>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_fail: Option<DateTime<Utc>>,
    /// The start of the oldest run still open (started, neither succeeded nor failed).
    pub open_run_since: Option<DateTime<Utc>>,
}

/// The state at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    pub state: MonitorState,
    /// When this state began.
    pub since: DateTime<Utc>,
    /// When the job is (or was) next due, once it has succeeded.
    pub due: Option<DateTime<Utc>>,
    /// When the state changes by itself (without a ping or a configuration change).
    pub next_change: Option<DateTime<Utc>>,
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The monitor's state at `now`.
pub fn evaluate(rules: &Rules, facts: &Facts, now: DateTime<Utc>) -> Evaluation {
    let at = |state, since, due, next_change| Evaluation {
        state,
        since,
        due,
        next_change,
    };
    if let Some(paused) = rules.paused_since {
        return at(MonitorState::Paused, paused, None, None);
    }
    let due = facts
        .last_success
        .and_then(|s| rules.schedule.next_after(s));
    if let Some(fail) = facts.last_fail
        && facts.last_success.is_none_or(|s| fail >= s)
    {
        return at(MonitorState::Failed, fail, due, None);
    }
    // A run past its maximum runtime has failed; until then its deadline is a change point.
    let overrun_at = facts
        .open_run_since
        .zip(rules.max_runtime)
        .and_then(|(start, max)| start.checked_add_signed(max));
    if let Some(deadline) = overrun_at
        && deadline <= now
    {
        return at(MonitorState::Failed, deadline, due, None);
    }
    let Some(success) = facts.last_success else {
        return at(MonitorState::New, facts.created_at, None, overrun_at);
    };
    let Some(due_at) = due else {
        // The schedule never fires again: nothing can be late.
        return at(MonitorState::Up, success, None, overrun_at);
    };
    let down_at = due_at.checked_add_signed(rules.grace).unwrap_or(due_at);
    if now < due_at {
        at(
            MonitorState::Up,
            success,
            due,
            min_opt(Some(due_at), overrun_at),
        )
    } else if now < down_at {
        at(
            MonitorState::Late,
            due_at,
            due,
            min_opt(Some(down_at), overrun_at),
        )
    } else {
        at(MonitorState::Down, down_at, due, overrun_at)
    }
}

/// Every state the monitor went through after `from` up to `now`, in order, each with the
/// instant it began — what an evaluator that was not running (a restart, a slow tick) must
/// record. The last entry is the state at `now`. States that change by themselves only
/// change at `next_change` points, so stepping through those misses none.
pub fn timeline(
    rules: &Rules,
    facts: &Facts,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Evaluation> {
    let mut steps = Vec::new();
    let mut at = from.min(now);
    loop {
        let evaluation = evaluate(rules, facts, at);
        if steps
            .last()
            .is_none_or(|last: &Evaluation| last.state != evaluation.state)
        {
            steps.push(evaluation);
        }
        match evaluation.next_change {
            Some(next) if next <= now && next > at => at = next,
            _ => break,
        }
    }
    let final_state = evaluate(rules, facts, now);
    if steps
        .last()
        .is_none_or(|last| last.state != final_state.state)
    {
        steps.push(final_state);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + TimeDelta::minutes(minutes)
    }

    fn hourly() -> Rules {
        Rules {
            schedule: Schedule::parse("every 1h", "UTC").unwrap(),
            grace: TimeDelta::minutes(5),
            max_runtime: Some(TimeDelta::minutes(30)),
            paused_since: None,
        }
    }

    fn facts(success: Option<i64>, fail: Option<i64>, open: Option<i64>) -> Facts {
        Facts {
            created_at: t(0),
            last_success: success.map(t),
            last_fail: fail.map(t),
            open_run_since: open.map(t),
        }
    }

    fn state_at(rules: &Rules, facts: &Facts, minute: i64) -> (MonitorState, DateTime<Utc>) {
        let e = evaluate(rules, facts, t(minute));
        (e.state, e.since)
    }

    #[test]
    fn up_late_down_by_schedule_and_grace() {
        let rules = hourly();
        let f = facts(Some(0), None, None);
        assert_eq!(state_at(&rules, &f, 59), (MonitorState::Up, t(0)));
        assert_eq!(state_at(&rules, &f, 60), (MonitorState::Late, t(60)));
        assert_eq!(state_at(&rules, &f, 64), (MonitorState::Late, t(60)));
        assert_eq!(state_at(&rules, &f, 65), (MonitorState::Down, t(65)));
        assert_eq!(evaluate(&rules, &f, t(10)).next_change, Some(t(60)));
        assert_eq!(evaluate(&rules, &f, t(61)).next_change, Some(t(65)));
        assert_eq!(evaluate(&rules, &f, t(70)).next_change, None);
    }

    #[test]
    fn new_failed_and_paused() {
        let rules = hourly();
        assert_eq!(
            state_at(&rules, &facts(None, None, None), 500),
            (MonitorState::New, t(0))
        );
        // A fail after the last success is failed, until the next success.
        assert_eq!(
            state_at(&rules, &facts(Some(0), Some(10), None), 20),
            (MonitorState::Failed, t(10))
        );
        assert_eq!(
            state_at(&rules, &facts(Some(30), Some(10), None), 40),
            (MonitorState::Up, t(30))
        );
        // A run started at 10 that is still open at 40 exceeded its 30 minutes at 40.
        let open = facts(Some(0), None, Some(10));
        assert_eq!(state_at(&rules, &open, 39), (MonitorState::Up, t(0)));
        assert_eq!(evaluate(&rules, &open, t(20)).next_change, Some(t(40)));
        assert_eq!(state_at(&rules, &open, 40), (MonitorState::Failed, t(40)));
        let paused = Rules {
            paused_since: Some(t(3)),
            ..hourly()
        };
        assert_eq!(
            state_at(&paused, &facts(Some(0), None, None), 500),
            (MonitorState::Paused, t(3))
        );
    }

    #[test]
    fn a_timeline_records_every_transition_missed_while_away() {
        let rules = hourly();
        let f = facts(Some(0), None, None);
        // The server was down from minute 30 to minute 100.
        let steps: Vec<(MonitorState, DateTime<Utc>)> = timeline(&rules, &f, t(30), t(100))
            .into_iter()
            .map(|e| (e.state, e.since))
            .collect();
        assert_eq!(
            steps,
            [
                (MonitorState::Up, t(0)),
                (MonitorState::Late, t(60)),
                (MonitorState::Down, t(65))
            ]
        );
        // Nothing happened: one entry.
        assert_eq!(timeline(&rules, &f, t(10), t(20)).len(), 1);
    }
}
