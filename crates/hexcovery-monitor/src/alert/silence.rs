//! Silences: label matchers (`=`, `!=`, `=~`, `!~`, regexes anchored like Alertmanager's) over
//! a time range that hold back an alert's notifications while its states are still recorded.
//! A label the alert lacks matches as the empty string.

use super::validate::FieldError;
use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Regex,
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "=" => MatchOp::Equal,
            "!=" => MatchOp::NotEqual,
            "=~" => MatchOp::Regex,
            "!~" => MatchOp::NotRegex,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

/// What of a silence the evaluator needs. `rule_id` scoping is the caller's: it passes
/// [`evaluate`](super::evaluate) the silences whose `rule_id` is the rule's or none
/// ([`Silence::applies_to`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub matchers: Vec<Matcher>,
    #[serde(default)]
    pub rule_id: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Regexes bigger than this compiled are refused (a silence is matched against every alert).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
pub const MAX_MATCHERS: usize = 32;

fn compile(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "the regular expression is too large".to_string(),
            other => format!("not a valid regular expression: {other}"),
        })
}

impl Silence {
    /// Whether this silence may hold back notifications of rule `rule_id`.
    pub fn applies_to(&self, rule_id: &str) -> bool {
        self.rule_id.as_deref().is_none_or(|r| r == rule_id)
    }

    /// Whether the silence is in force at `at`: from `starts_at` (included) to `ends_at`.
    pub fn active_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    /// Every problem with the silence, with field paths (`matchers.0.value`).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.matchers.is_empty() {
            errors.push(FieldError::new(
                "matchers",
                "a silence needs at least one matcher, e.g. {\"label\": \"service\", \"op\": \"=\", \"value\": \"checkout\"}",
            ));
        }
        if self.matchers.len() > MAX_MATCHERS {
            errors.push(FieldError::new(
                "matchers",
                format!("at most {MAX_MATCHERS} matchers"),
            ));
        }
        for (i, m) in self.matchers.iter().enumerate() {
            if m.label.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("matchers.{i}.label"),
                    "the label name must not be empty",
                ));
            }
            if matches!(m.op, MatchOp::Regex | MatchOp::NotRegex)
                && let Err(message) = compile(&m.value)
            {
                errors.push(FieldError::new(format!("matchers.{i}.value"), message));
            }
        }
        if self.ends_at <= self.starts_at {
            errors.push(FieldError::new(
                "ends_at",
                "ends_at must be after starts_at",
            ));
        }
        errors
    }
}

enum Compiled {
    Equal(String, String),
    NotEqual(String, String),
    Regex(String, Regex),
    NotRegex(String, Regex),
}

/// Silences ready to match, for one evaluation: those in force at its time, regexes compiled
/// once. A silence with an invalid regex (validation refuses those) matches nothing.
pub(crate) struct ActiveSilences(Vec<Vec<Compiled>>);

impl ActiveSilences {
    pub(crate) fn new(silences: &[Silence], at: DateTime<Utc>) -> Self {
        let compiled = silences
            .iter()
            .filter(|s| s.active_at(at) && !s.matchers.is_empty())
            .filter_map(|s| {
                s.matchers
                    .iter()
                    .map(|m| {
                        let label = m.label.clone();
                        Some(match m.op {
                            MatchOp::Equal => Compiled::Equal(label, m.value.clone()),
                            MatchOp::NotEqual => Compiled::NotEqual(label, m.value.clone()),
                            MatchOp::Regex => Compiled::Regex(label, compile(&m.value).ok()?),
                            MatchOp::NotRegex => Compiled::NotRegex(label, compile(&m.value).ok()?),
                        })
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .collect();
        ActiveSilences(compiled)
    }

    /// Whether any silence matches every one of its matchers against `labels`.
    pub(crate) fn silences(&self, labels: &BTreeMap<String, String>) -> bool {
        let get = |label: &str| labels.get(label).map_or("", String::as_str);
        self.0.iter().any(|matchers| {
            matchers.iter().all(|m| match m {
                Compiled::Equal(l, v) => get(l) == v,
                Compiled::NotEqual(l, v) => get(l) != v,
                Compiled::Regex(l, r) => r.is_match(get(l)),
                Compiled::NotRegex(l, r) => !r.is_match(get(l)),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_348_800 + minute * 60, 0).unwrap()
    }

    fn silence(matchers: &[(&str, &str, &str)]) -> Silence {
        Silence {
            matchers: matchers
                .iter()
                .map(|(label, op, value)| Matcher {
                    label: label.to_string(),
                    op: MatchOp::parse(op).unwrap(),
                    value: value.to_string(),
                })
                .collect(),
            rule_id: None,
            starts_at: t(0),
            ends_at: t(60),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matchers_like_alertmanager() {
        let alert = labels(&[("service", "checkout"), ("env", "prod")]);
        type Case<'a> = (&'a [(&'a str, &'a str, &'a str)], bool);
        let table: [Case; 12] = [
            (&[("service", "=", "checkout")], true),
            (&[("service", "=", "check")], false),
            (&[("service", "!=", "cart")], true),
            (&[("service", "=~", "check.*")], true),
            // Anchored: a partial match is no match.
            (&[("service", "=~", "heck")], false),
            (&[("service", "=~", "cart|checkout")], true),
            (&[("service", "!~", "check.*")], false),
            (
                &[("service", "=", "checkout"), ("env", "=", "staging")],
                false,
            ),
            // An absent label is the empty string.
            (&[("team", "=", "")], true),
            (&[("team", "!=", "")], false),
            (&[("team", "=~", ".*")], true),
            (&[("team", "!~", ".+")], true),
        ];
        for (matchers, expected) in table {
            let active = ActiveSilences::new(&[silence(matchers)], t(1));
            assert_eq!(active.silences(&alert), expected, "{matchers:?}");
        }
    }

    #[test]
    fn only_while_in_force() {
        let s = silence(&[("service", "=", "checkout")]);
        let alert = labels(&[("service", "checkout")]);
        for (minute, expected) in [(-1, false), (0, true), (59, true), (60, false)] {
            assert_eq!(
                ActiveSilences::new(std::slice::from_ref(&s), t(minute)).silences(&alert),
                expected,
                "{minute}"
            );
        }
        assert!(!ActiveSilences::new(&[], t(1)).silences(&alert));
        let scoped = Silence {
            rule_id: Some("r1".into()),
            ..s.clone()
        };
        assert!(scoped.applies_to("r1") && !scoped.applies_to("r2") && s.applies_to("r2"));
    }

    #[test]
    fn validation() {
        assert_eq!(silence(&[("a", "=~", "x|y")]).validate(), []);
        let empty = silence(&[]);
        assert_eq!(empty.validate()[0].field, "matchers");
        let bad = Silence {
            ends_at: t(0),
            ..silence(&[
                ("", "=", "x"),
                ("a", "=~", "(unclosed"),
                ("b", "!~", "x{99999999}"),
            ])
        };
        let fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "matchers.0.label",
                "matchers.1.value",
                "matchers.2.value",
                "ends_at"
            ]
        );
        let message = &bad.validate()[1].message;
        assert!(
            message.starts_with("not a valid regular expression"),
            "{message}"
        );
        // An invalid regex that slipped through matches nothing rather than everything.
        let active = ActiveSilences::new(&[silence(&[("a", "!~", "(")])], t(1));
        assert!(!active.silences(&labels(&[])));
        let parsed: Silence = serde_json::from_value(json!({
            "matchers": [{"label": "service", "op": "!~", "value": "a.*"}],
            "starts_at": "2026-11-22T10:00:00Z", "ends_at": "2026-11-22T11:00:00Z"
        }))
        .unwrap();
        assert_eq!(parsed.matchers[0].op, MatchOp::NotRegex);
        assert_eq!(parsed.rule_id, None);
    }
}
