//! Save-time checks of an alert rule: every problem with the path of its field
//! (`condition.warning`, `labels.team`) and a message saying what is wrong and what is allowed.

use super::rule::{AlertDuration, AlertRule};
use super::template;
use serde::Serialize;

/// One problem with one field of a rule (or a silence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's path in the API's JSON, e.g. `condition.warning` or `annotations.summary`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub const MAX_LABELS: usize = 32;
pub const MAX_ANNOTATIONS: usize = 32;
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_LABEL_VALUE_CHARS: usize = 1_024;
pub const MAX_TEMPLATE_CHARS: usize = 4_096;

const DAY: i64 = 86_400;

fn range(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: AlertDuration,
    min: i64,
    max: i64,
    allowed: &str,
) {
    let secs = value.delta().num_seconds();
    if secs < min || secs > max {
        errors.push(FieldError::new(
            field,
            format!("{value} is out of range: {allowed}"),
        ));
    }
}

/// A label or annotation name: a letter or `_`, then letters, digits, `_`, `.` or `-`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= MAX_NAME_CHARS
}

fn name_error(kind: &str) -> String {
    format!(
        "not a valid {kind} name: start with a letter or _, then letters, digits, _, . or -, at most {MAX_NAME_CHARS} characters"
    )
}

/// Every problem with `rule`; empty when it can be saved.
pub fn validate_rule(rule: &AlertRule) -> Vec<FieldError> {
    let mut errors = Vec::new();
    range(
        &mut errors,
        "interval",
        rule.interval,
        10,
        DAY,
        "the interval is from 10s to 24h",
    );
    range(
        &mut errors,
        "window",
        rule.window,
        10,
        DAY,
        "the window is from 10s to 24h",
    );
    range(
        &mut errors,
        "pending_for",
        rule.pending_for,
        0,
        7 * DAY,
        "pending_for is from 0s to 7d",
    );
    range(
        &mut errors,
        "keep_firing_for",
        rule.keep_firing_for,
        0,
        7 * DAY,
        "keep_firing_for is from 0s to 7d",
    );
    range(
        &mut errors,
        "repeat_interval",
        rule.repeat_interval,
        60,
        30 * DAY,
        "repeat_interval is from 1m to 30d",
    );
    condition(rule, &mut errors);
    if rule.labels.len() > MAX_LABELS {
        errors.push(FieldError::new(
            "labels",
            format!("at most {MAX_LABELS} labels"),
        ));
    }
    for (name, value) in &rule.labels {
        let field = format!("labels.{name}");
        if !valid_name(name) {
            errors.push(FieldError::new(&field, name_error("label")));
        } else if value.chars().count() > MAX_LABEL_VALUE_CHARS {
            errors.push(FieldError::new(
                &field,
                format!("a label value has at most {MAX_LABEL_VALUE_CHARS} characters"),
            ));
        }
    }
    if rule.annotations.len() > MAX_ANNOTATIONS {
        errors.push(FieldError::new(
            "annotations",
            format!("at most {MAX_ANNOTATIONS} annotations"),
        ));
    }
    for (name, text) in &rule.annotations {
        let field = format!("annotations.{name}");
        if !valid_name(name) {
            errors.push(FieldError::new(&field, name_error("annotation")));
        } else if text.chars().count() > MAX_TEMPLATE_CHARS {
            errors.push(FieldError::new(
                &field,
                format!("a template has at most {MAX_TEMPLATE_CHARS} characters"),
            ));
        } else if let Err(message) = template::validate(text) {
            errors.push(FieldError::new(&field, message));
        }
    }
    errors
}

fn condition(rule: &AlertRule, errors: &mut Vec<FieldError>) {
    let c = &rule.condition;
    let op = c.op.as_str();
    let levels = [
        ("condition.threshold", Some(c.threshold)),
        ("condition.warning", c.warning),
        ("condition.recovery", c.recovery),
    ];
    for (field, level) in levels {
        if level.is_some_and(|v| !v.is_finite()) {
            errors.push(FieldError::new(field, "must be a finite number"));
        }
    }
    let side = |level: f64| -> Option<(&str, bool)> {
        // (words, whether `level` is on the non-breaching side of the threshold)
        match c.op.upwards()? {
            true => Some(("below", level < c.threshold)),
            false => Some(("above", level > c.threshold)),
        }
    };
    if let Some(warning) = c.warning.filter(|v| v.is_finite()) {
        match side(warning) {
            None => errors.push(FieldError::new(
                "condition.warning",
                format!("a warning level needs op >, >=, < or <= (not {op}); leave it out"),
            )),
            Some((words, false)) => errors.push(FieldError::new(
                "condition.warning",
                format!(
                    "{warning} must be {words} the threshold ({}) for op {op}: it is the lower level that fires at severity warning",
                    c.threshold
                ),
            )),
            Some(_) => {}
        }
    }
    if let Some(recovery) = c.recovery.filter(|v| v.is_finite()) {
        match side(recovery) {
            None => errors.push(FieldError::new(
                "condition.recovery",
                format!("a recovery level needs op >, >=, < or <= (not {op}); leave it out"),
            )),
            Some((words, false)) => errors.push(FieldError::new(
                "condition.recovery",
                format!(
                    "{recovery} must be {words} the threshold ({}) for op {op}: a firing instance resolves once the value no longer breaches it (leave it out to resolve at the threshold)",
                    c.threshold
                ),
            )),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(patch: serde_json::Value) -> AlertRule {
        let mut base = json!({
            "window": "5m", "interval": "1m",
            "condition": {"op": ">", "threshold": 50}
        });
        for (k, v) in patch.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn fields(rule: &AlertRule) -> Vec<String> {
        validate_rule(rule).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_rule_passes() {
        let good = rule(json!({
            "condition": {"op": ">", "threshold": 50, "warning": 20, "recovery": 30},
            "labels": {"team": "payments", "k8s.ns": "x"},
            "annotations": {"summary": "{{labels.service}}: {{value}} in {{window}}"}
        }));
        assert_eq!(validate_rule(&good), []);
        let down =
            rule(json!({"condition": {"op": "<=", "threshold": 5, "warning": 10, "recovery": 8}}));
        assert_eq!(validate_rule(&down), []);
    }

    #[test]
    fn durations_out_of_range() {
        let table = [
            (json!({"interval": "5s"}), "interval"),
            (json!({"interval": "2d"}), "interval"),
            (json!({"window": "9s"}), "window"),
            (json!({"window": "25h"}), "window"),
            (json!({"pending_for": "8d"}), "pending_for"),
            (json!({"keep_firing_for": "8d"}), "keep_firing_for"),
            (json!({"repeat_interval": "30s"}), "repeat_interval"),
        ];
        for (patch, field) in table {
            assert_eq!(fields(&rule(patch.clone())), [field], "{patch}");
        }
        assert_eq!(
            fields(&rule(json!({"window": "10s", "interval": "10s"}))),
            Vec::<String>::new()
        );
        assert_eq!(
            fields(&rule(json!({"window": "24h"}))),
            Vec::<String>::new()
        );
        let error = &validate_rule(&rule(json!({"interval": "5s"})))[0];
        assert_eq!(
            error.message,
            "5s is out of range: the interval is from 10s to 24h"
        );
    }

    #[test]
    fn warning_and_recovery_sides() {
        let table = [
            (
                json!({"op": ">", "threshold": 50, "warning": 60}),
                vec!["condition.warning"],
            ),
            (
                json!({"op": ">", "threshold": 50, "warning": 50}),
                vec!["condition.warning"],
            ),
            (
                json!({"op": "<", "threshold": 50, "warning": 40}),
                vec!["condition.warning"],
            ),
            (
                json!({"op": ">=", "threshold": 50, "recovery": 60}),
                vec!["condition.recovery"],
            ),
            (
                json!({"op": "<", "threshold": 50, "recovery": 50}),
                vec!["condition.recovery"],
            ),
            (
                json!({"op": "==", "threshold": 0, "warning": 1}),
                vec!["condition.warning"],
            ),
            (
                json!({"op": "!=", "threshold": 0, "recovery": 1}),
                vec!["condition.recovery"],
            ),
            (
                json!({"op": ">", "threshold": 5, "warning": 9, "recovery": 9}),
                vec!["condition.warning", "condition.recovery"],
            ),
        ];
        for (condition, expected) in table {
            let r = rule(json!({ "condition": condition }));
            assert_eq!(fields(&r), expected, "{condition}");
        }
        let message = &validate_rule(&rule(
            json!({"condition": {"op": ">", "threshold": 50, "warning": 60}}),
        ))[0]
            .message;
        assert!(message.contains("below the threshold (50)"), "{message}");
        let mut infinite = rule(json!({}));
        infinite.condition.threshold = f64::INFINITY;
        assert_eq!(fields(&infinite), ["condition.threshold"]);
    }

    #[test]
    fn labels_and_annotations() {
        let r = rule(json!({
            "labels": {"": "x", "1st": "y", "ok": "z".repeat(2_000)},
            "annotations": {"summary": "{{value", "bad name": "x", "desc": "{{nope}}"}
        }));
        assert_eq!(
            fields(&r),
            [
                "labels.",
                "labels.1st",
                "labels.ok",
                "annotations.bad name",
                "annotations.desc",
                "annotations.summary"
            ]
        );
        let many: serde_json::Map<String, serde_json::Value> =
            (0..40).map(|i| (format!("l{i}"), json!("v"))).collect();
        assert_eq!(fields(&rule(json!({ "labels": many }))), ["labels"]);
    }
}
