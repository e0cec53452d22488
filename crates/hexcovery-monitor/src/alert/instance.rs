//! Alert instances as the metastore keeps them between evaluations (one per series, plus the
//! rule-level `no_data` / `error` instance), and the transitions between their states.

use super::rule::Severity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Normal,
    Pending,
    Firing,
    NoData,
    Error,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Normal => "normal",
            State::Pending => "pending",
            State::Firing => "firing",
            State::NoData => "no_data",
            State::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "normal" => State::Normal,
            "pending" => State::Pending,
            "firing" => State::Firing,
            "no_data" => State::NoData,
            "error" => State::Error,
            _ => return None,
        })
    }

    /// Firing, no_data and error are active: they notify, and their alerts' status is `firing`.
    pub fn is_active(self) -> bool {
        matches!(self, State::Firing | State::NoData | State::Error)
    }
}

/// What raised an instance: a series of the result, or the rule's no-data or error policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceKind {
    #[default]
    Series,
    NoData,
    Error,
}

/// The last notification sent for an instance's active state (none once its resolve went
/// out, or when it never notified). Repeats, silences and resolves are decided against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notified {
    /// `firing`, `no_data` or `error`.
    pub state: State,
    /// When it was sent (the evaluation's time): repeats count from here.
    pub at: DateTime<Utc>,
    /// The episode it announced (`started_at` then): a new episode notifies anew.
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub severity: Option<Severity>,
    /// The start of the rule's notification group (email thread) it was sent in.
    pub group_started_at: DateTime<Utc>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

pub(crate) fn serialize_number<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    // Whole numbers as integers (`61`, not `61.0`), as users wrote them and receivers expect.
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

pub(crate) fn serialize_opt_number<S: Serializer>(
    v: &Option<f64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => serialize_number(v, s),
        None => s.serialize_none(),
    }
}

/// One alert instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Of the series' labels (the query's plus the rule's), without the computed `severity`.
    pub fingerprint: String,
    /// The series' labels, plus `severity` while pending or firing when the rule has a
    /// warning level.
    pub labels: BTreeMap<String, String>,
    pub state: State,
    /// This evaluation's value; null when the series was missing or for rule-level instances.
    #[serde(serialize_with = "serialize_opt_number")]
    pub value: Option<f64>,
    /// When the current state began.
    pub since: DateTime<Utc>,
    pub last_eval_at: DateTime<Utc>,
    /// When the current (or last) active episode began: an alert's `startsAt`.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When the last active episode resolved: a resolved alert's `endsAt`.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub kind: InstanceKind,
    /// The level the condition holds at while pending or firing (`critical` when the rule
    /// has no warning level).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// While firing: since when the condition no longer holds (`keep_firing_for`).
    #[serde(default)]
    pub recovering_since: Option<DateTime<Utc>>,
    /// Consecutive evaluations the series was missing from the result.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub missing: u32,
    #[serde(default)]
    pub notified: Option<Notified>,
}

/// A change of an instance's state (the rule's `history`). A firing instance whose severity
/// changes records `firing → firing` with the new `severity` label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub from: State,
    pub to: State,
    #[serde(serialize_with = "serialize_opt_number")]
    pub value: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_round_trip_and_instances_read_old_records() {
        for s in [
            State::Normal,
            State::Pending,
            State::Firing,
            State::NoData,
            State::Error,
        ] {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert_eq!(State::parse("alerting"), None);
        // Only the fields the API shows: every bookkeeping field has a default.
        let minimal: Instance = serde_json::from_value(json!({
            "fingerprint": "00", "labels": {"a": "b"}, "state": "firing", "value": 61,
            "since": "2026-11-22T10:00:00Z", "last_eval_at": "2026-11-22T10:01:00Z"
        }))
        .unwrap();
        assert_eq!(minimal.kind, InstanceKind::Series);
        assert_eq!(minimal.value, Some(61.0));
        let back = serde_json::to_value(&minimal).unwrap();
        assert_eq!(back["value"], json!(61));
        assert!(back.get("missing").is_none());
        let again: Instance = serde_json::from_value(back).unwrap();
        assert_eq!(again, minimal);
    }
}
