//! An alert rule's evaluation settings as the API's JSON carries them (window, interval,
//! condition, policies, labels, annotations, notification timing) and what the condition
//! says about one value: not breaching, or breaching at `warning` or `critical` severity.

use crate::schedule::{format_duration, parse_duration};
use chrono::TimeDelta;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// A duration written as in the API: `30s`, `5m`, `4h`, `1d`, `1w`, or zero (`0s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertDuration(pub TimeDelta);

impl AlertDuration {
    pub const ZERO: AlertDuration = AlertDuration(TimeDelta::zero());

    pub fn seconds(secs: i64) -> Self {
        AlertDuration(TimeDelta::seconds(secs))
    }

    /// Like [`parse_duration`], and a zero of any unit (`0s`, `0m`) is allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if let Some(unit) = trimmed.strip_prefix('0')
            && unit.trim_start_matches('0').len() == 1
            && "smhdw".contains(unit.trim_start_matches('0'))
        {
            return Ok(AlertDuration::ZERO);
        }
        parse_duration(text)
            .map(AlertDuration)
            .map_err(|e| e.0.replace("from 1s", "from 0s"))
    }

    pub fn delta(self) -> TimeDelta {
        self.0
    }
}

impl std::fmt::Display for AlertDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_zero() {
            f.write_str("0s")
        } else {
            f.write_str(&format_duration(self.0))
        }
    }
}

impl Serialize for AlertDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AlertDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AlertDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// How the condition compares the value with its levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// Whether `value` breaches `level` under this operator.
    pub fn breaches(self, value: f64, level: f64) -> bool {
        match self {
            Op::Gt => value > level,
            Op::Ge => value >= level,
            Op::Lt => value < level,
            Op::Le => value <= level,
            Op::Eq => value == level,
            Op::Ne => value != level,
        }
    }

    /// `Some(true)` for `>`/`>=` (breaching is upwards), `Some(false)` for `<`/`<=`, `None`
    /// for `==`/`!=`, which have no direction (and so no warning or recovery level).
    pub fn upwards(self) -> Option<bool> {
        match self {
            Op::Gt | Op::Ge => Some(true),
            Op::Lt | Op::Le => Some(false),
            Op::Eq | Op::Ne => None,
        }
    }
}

/// How the buckets of one series (a result with a `bucket()` column) become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reducer {
    /// The latest bucket's value.
    #[default]
    Last,
    Min,
    Max,
    /// The mean of the buckets' values (each bucket counts once).
    Avg,
    Sum,
}

/// `value op threshold`, with an optional warning level and recovery level.
///
/// - `warning`: a second level on the non-breaching side of `threshold` (below it for `>`
///   and `>=`, above it for `<` and `<=`). A value that breaches `warning` but not
///   `threshold` holds the condition at severity `warning`; one that breaches `threshold` at
///   severity `critical`. With a warning level, instances carry the label
///   `severity: warning|critical` while pending or firing.
/// - `recovery`: hysteresis for the critical level, on the far side of `threshold` (below
///   it for `>`): an instance firing at critical stays critical until the value no longer
///   breaches `recovery`. Without a warning level that is when the instance stops firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub op: Op,
    pub threshold: f64,
    #[serde(default)]
    pub warning: Option<f64>,
    #[serde(default)]
    pub recovery: Option<f64>,
    #[serde(default)]
    pub reducer: Reducer,
}

/// How serious a breach is; `Critical` is the threshold's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl Condition {
    /// The severity at which `value` holds the condition, `None` when it does not.
    /// `critical_before` is whether the instance was firing at critical severity: then the
    /// recovery level, not the threshold, decides whether it is still critical.
    pub fn assess(&self, value: f64, critical_before: bool) -> Option<Severity> {
        if !value.is_finite() {
            return None;
        }
        let op = self.op;
        let critical = op.breaches(value, self.threshold)
            || (critical_before && self.recovery.is_some_and(|r| op.breaches(value, r)));
        if critical {
            Some(Severity::Critical)
        } else if self.warning.is_some_and(|w| op.breaches(value, w)) {
            Some(Severity::Warning)
        } else {
            None
        }
    }
}

/// What the instances do when the query answers no rows at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataPolicy {
    /// Nothing more: existing instances resolve as missing series do (right for counts).
    #[default]
    Ok,
    /// Those resolve too, and one `no_data` instance with the rule's own labels is raised.
    NoData,
    /// That instance fires (through `pending_for`, like a series whose condition holds).
    Firing,
    /// Every instance keeps its state.
    KeepLast,
}

/// What the instances do when the query fails (after the evaluator's retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPolicy {
    /// Existing instances resolve as missing series do, and one `error` instance with the
    /// rule's own labels is raised.
    #[default]
    Error,
    /// Nothing more: existing instances resolve as missing series do.
    Ok,
    /// The rule-level instance fires (through `pending_for`).
    Firing,
    /// Every instance keeps its state.
    KeepLast,
}

fn zero() -> AlertDuration {
    AlertDuration::ZERO
}

fn four_hours() -> AlertDuration {
    AlertDuration::seconds(4 * 3_600)
}

fn yes() -> bool {
    true
}

/// The evaluation part of an alert rule (the API's fields other than id, name, description,
/// query, channels and bookkeeping; a server record can `#[serde(flatten)]` it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// The query runs over `[t − window, t)` at each tick `t`.
    pub window: AlertDuration,
    /// Time between ticks.
    pub interval: AlertDuration,
    pub condition: Condition,
    #[serde(default = "zero")]
    pub pending_for: AlertDuration,
    #[serde(default = "zero")]
    pub keep_firing_for: AlertDuration,
    #[serde(default)]
    pub no_data: NoDataPolicy,
    #[serde(default)]
    pub on_error: ErrorPolicy,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Templates: `{{labels.<name>}}`, `{{value}}`, `{{window}}`, `{{threshold}}`, `{{state}}`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default = "four_hours")]
    pub repeat_interval: AlertDuration,
    #[serde(default = "yes")]
    pub send_resolved: bool,
}

impl AlertRule {
    /// A rule with every optional field at its default.
    pub fn new(window: AlertDuration, interval: AlertDuration, condition: Condition) -> Self {
        AlertRule {
            window,
            interval,
            condition,
            pending_for: zero(),
            keep_firing_for: zero(),
            no_data: NoDataPolicy::default(),
            on_error: ErrorPolicy::default(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            repeat_interval: four_hours(),
            send_resolved: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_spec_example_reads_with_defaults() {
        let rule: AlertRule = serde_json::from_value(json!({
            "window": "5m", "interval": "1m",
            "condition": {"op": ">", "threshold": 50, "warning": 20, "recovery": 30},
            "pending_for": "2m", "labels": {"team": "payments"},
            "annotations": {"summary": "{{labels.service}}: {{value}} errors in {{window}}"}
        }))
        .unwrap();
        assert_eq!(rule.window, AlertDuration::seconds(300));
        assert_eq!(rule.pending_for, AlertDuration::seconds(120));
        assert_eq!(rule.keep_firing_for, AlertDuration::ZERO);
        assert_eq!(rule.condition.reducer, Reducer::Last);
        assert_eq!(rule.no_data, NoDataPolicy::Ok);
        assert_eq!(rule.on_error, ErrorPolicy::Error);
        assert_eq!(rule.repeat_interval, AlertDuration::seconds(4 * 3_600));
        assert!(rule.send_resolved);
        let back = serde_json::to_value(&rule).unwrap();
        assert_eq!(back["keep_firing_for"], "0s");
        assert_eq!(back["repeat_interval"], "4h");
        assert_eq!(back["condition"]["op"], ">");
        assert_eq!(back["no_data"], "ok");
        let again: AlertRule = serde_json::from_value(back).unwrap();
        assert_eq!(again, rule);
    }

    #[test]
    fn enums_use_the_api_spelling() {
        for (text, op) in [
            (">", Op::Gt),
            (">=", Op::Ge),
            ("<", Op::Lt),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
        ] {
            assert_eq!(serde_json::from_value::<Op>(json!(text)).unwrap(), op);
            assert_eq!(op.as_str(), text);
        }
        assert!(serde_json::from_value::<Op>(json!("=>")).is_err());
        assert_eq!(
            serde_json::from_value::<NoDataPolicy>(json!("keep_last")).unwrap(),
            NoDataPolicy::KeepLast
        );
        assert_eq!(
            serde_json::from_value::<ErrorPolicy>(json!("firing")).unwrap(),
            ErrorPolicy::Firing
        );
        assert_eq!(
            serde_json::from_value::<Reducer>(json!("avg")).unwrap(),
            Reducer::Avg
        );
    }

    #[test]
    fn durations_allow_zero_and_say_what_is_wrong() {
        assert_eq!(AlertDuration::parse("0s").unwrap(), AlertDuration::ZERO);
        assert_eq!(AlertDuration::parse("0m").unwrap(), AlertDuration::ZERO);
        assert_eq!(AlertDuration::parse("00h").unwrap(), AlertDuration::ZERO);
        assert_eq!(
            AlertDuration::parse("90s").unwrap().to_string(),
            "90s".to_string()
        );
        assert_eq!(AlertDuration::parse("60m").unwrap().to_string(), "1h");
        for bad in ["", "0", "5", "5y", "-1m", "0x", "1.5h"] {
            let error = AlertDuration::parse(bad).unwrap_err();
            assert!(error.contains("duration"), "{bad}: {error}");
        }
        let error = serde_json::from_value::<AlertRule>(json!({
            "window": "5 minutes", "interval": "1m", "condition": {"op": ">", "threshold": 1}
        }))
        .unwrap_err();
        assert!(error.to_string().contains("e.g. 30s"), "{error}");
    }

    #[test]
    fn assess_levels_by_direction() {
        let up = Condition {
            op: Op::Gt,
            threshold: 50.0,
            warning: Some(20.0),
            recovery: Some(30.0),
            reducer: Reducer::Last,
        };
        let table = [
            // value, critical before, expected
            (61.0, false, Some(Severity::Critical)),
            (50.0, false, Some(Severity::Warning)),
            (40.0, false, Some(Severity::Warning)),
            (40.0, true, Some(Severity::Critical)),
            (30.0, true, Some(Severity::Warning)),
            (20.0, true, None),
            (20.0, false, None),
            (f64::NAN, true, None),
        ];
        for (value, before, expected) in table {
            assert_eq!(up.assess(value, before), expected, "{value} {before}");
        }
        let down = Condition {
            op: Op::Le,
            threshold: 10.0,
            warning: Some(20.0),
            recovery: None,
            reducer: Reducer::Min,
        };
        assert_eq!(down.assess(10.0, false), Some(Severity::Critical));
        assert_eq!(down.assess(15.0, true), Some(Severity::Warning));
        assert_eq!(down.assess(20.0, false), Some(Severity::Warning));
        assert_eq!(down.assess(20.5, false), None);
        let equal = Condition {
            op: Op::Eq,
            threshold: 0.0,
            warning: None,
            recovery: None,
            reducer: Reducer::Last,
        };
        assert_eq!(equal.assess(0.0, false), Some(Severity::Critical));
        assert_eq!(equal.assess(1.0, true), None);
        let not_equal = Condition {
            op: Op::Ne,
            ..equal
        };
        assert_eq!(not_equal.assess(1.0, false), Some(Severity::Critical));
    }
}
