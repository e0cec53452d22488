//! The alert-instance state machine: one evaluation of a rule at a tick, from the instances
//! the previous one left, the query's outcome and the silences in force — the new instances,
//! the transitions to record and the notification to send, all in one value so the caller
//! writes them in one transaction.
//!
//! Per series: normal → pending when the condition holds (→ firing at once when
//! `pending_for` is 0); pending → firing once it has held for `pending_for`, → normal when it
//! stops holding; firing → normal (resolved) once it has not held for `keep_firing_for`
//! (`recovery` decides "holds" for an instance firing at critical). A series missing once
//! keeps its state; missing a second time it no longer holds. No rows, or a failed query,
//! apply the rule's `no_data` / `on_error` policy; the rule-level instance they raise carries
//! the rule's own labels and resolves at the first evaluation that no longer raises it.

use super::fingerprint::fingerprint_of;
use super::instance::{Instance, InstanceKind, State, Transition};
use super::notify::{Notification, notify};
use super::rule::{AlertRule, ErrorPolicy, NoDataPolicy, Reducer, Severity};
use super::series::{Series, series_from_result};
use super::silence::{ActiveSilences, Silence};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the query gave at a tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The result's series (none: the query answered no rows).
    Series(Vec<Series>),
    /// The query failed (after the evaluator's retries), or its result had no value.
    Failed(String),
}

impl Outcome {
    /// The outcome of a result; a result no series can come from is a failure with the
    /// [`SeriesError`](super::SeriesError)'s message.
    pub fn from_result(
        columns: &[(&str, &str)],
        rows: &[Vec<serde_json::Value>],
        bucket: Option<usize>,
        reducer: Reducer,
    ) -> Outcome {
        match series_from_result(columns, rows, bucket, reducer) {
            Ok(series) => Outcome::Series(series),
            Err(error) => Outcome::Failed(error.to_string()),
        }
    }
}

/// The rule's health after an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    NoData,
    Error,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::NoData => "no_data",
            Health::Error => "error",
        }
    }
}

/// Everything one evaluation decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The instances to keep (sorted by labels). Normal instances of missing series and
    /// resolved rule-level ones are dropped once no resolve notification waits for them.
    pub instances: Vec<Instance>,
    pub transitions: Vec<Transition>,
    pub notification: Option<Notification>,
    pub health: Health,
    /// The failure's message when the query failed.
    pub last_error: Option<String>,
}

/// What the outcome asks of the rule-level instance.
#[derive(Clone, Copy)]
enum Raise {
    None,
    /// Raise it in this state (`no_data` or `error`).
    State(InstanceKind, State),
    /// It fires, as a series whose condition holds.
    Fires(InstanceKind),
    /// Every instance keeps its state.
    KeepAll,
}

struct Step<'a> {
    rule: &'a AlertRule,
    at: DateTime<Utc>,
    transitions: Vec<Transition>,
}

impl Step<'_> {
    fn new_instance(&self, fingerprint: String, labels: BTreeMap<String, String>) -> Instance {
        Instance {
            fingerprint,
            labels,
            state: State::Normal,
            value: None,
            since: self.at,
            last_eval_at: self.at,
            started_at: None,
            ended_at: None,
            kind: InstanceKind::Series,
            severity: None,
            recovering_since: None,
            missing: 0,
            notified: None,
        }
    }

    /// Moves `instance` to `to` (recording the transition when the state changes) with
    /// `severity`; `base` are the labels to show without `severity` (`None`: keep them).
    fn set(
        &mut self,
        instance: &mut Instance,
        to: State,
        severity: Option<Severity>,
        base: Option<BTreeMap<String, String>>,
    ) {
        let from = instance.state;
        let severity_before = instance.severity;
        let graded = matches!(to, State::Pending | State::Firing);
        instance.severity = if graded { severity } else { None };
        if let Some(labels) = base {
            instance.labels = labels;
        }
        if graded
            && self.rule.condition.warning.is_some()
            && let Some(severity) = instance.severity
        {
            instance
                .labels
                .insert("severity".into(), severity.as_str().into());
        }
        if to != State::Firing {
            instance.recovering_since = None;
        }
        if to.is_active() && from != to {
            instance.started_at = Some(self.at);
            instance.ended_at = None;
        } else if from.is_active() && !to.is_active() {
            instance.ended_at = Some(self.at);
        }
        let severity_changed = to == State::Firing
            && from == State::Firing
            && self.rule.condition.warning.is_some()
            && severity_before != instance.severity;
        if from != to {
            instance.state = to;
            instance.since = self.at;
        }
        if from != to || severity_changed {
            self.transitions.push(Transition {
                at: self.at,
                fingerprint: instance.fingerprint.clone(),
                labels: instance.labels.clone(),
                from,
                to,
                value: instance.value,
            });
        }
    }

    /// One evaluation of the condition: `level` is the severity it holds at, if it does.
    fn advance(
        &mut self,
        instance: &mut Instance,
        level: Option<Severity>,
        base: Option<BTreeMap<String, String>>,
    ) {
        let at = self.at;
        let pending_for = self.rule.pending_for.delta();
        match (instance.state, level) {
            (State::Firing, Some(severity)) => {
                instance.recovering_since = None;
                self.set(instance, State::Firing, Some(severity), base);
            }
            (State::Firing, None) => {
                let since = *instance.recovering_since.get_or_insert(at);
                if at - since >= self.rule.keep_firing_for.delta() {
                    self.set(instance, State::Normal, None, base);
                } else {
                    let severity = instance.severity;
                    self.set(instance, State::Firing, severity, base);
                }
            }
            (State::Pending, Some(severity)) => {
                let to = if at - instance.since >= pending_for {
                    State::Firing
                } else {
                    State::Pending
                };
                self.set(instance, to, Some(severity), base);
            }
            (_, Some(severity)) => {
                let to = if pending_for.is_zero() {
                    State::Firing
                } else {
                    State::Pending
                };
                self.set(instance, to, Some(severity), base);
            }
            (_, None) => self.set(instance, State::Normal, None, base),
        }
    }

    fn present(
        &mut self,
        previous: Option<Instance>,
        fingerprint: String,
        labels: BTreeMap<String, String>,
        value: f64,
    ) -> Instance {
        let mut instance =
            previous.unwrap_or_else(|| self.new_instance(fingerprint, labels.clone()));
        instance.kind = InstanceKind::Series;
        instance.missing = 0;
        instance.value = Some(value);
        instance.last_eval_at = self.at;
        let critical_before =
            instance.state == State::Firing && instance.severity == Some(Severity::Critical);
        let level = self.rule.condition.assess(value, critical_before);
        self.advance(&mut instance, level, Some(labels));
        instance
    }

    fn missing(&mut self, mut instance: Instance) -> Instance {
        instance.value = None;
        instance.last_eval_at = self.at;
        if instance.kind != InstanceKind::Series {
            // The rule-level instance: what raised it no longer holds.
            self.set(&mut instance, State::Normal, None, None);
            return instance;
        }
        instance.missing = instance.missing.saturating_add(1);
        if instance.missing >= 2 {
            self.advance(&mut instance, None, None);
        }
        instance
    }

    fn raise(
        &mut self,
        previous: Option<Instance>,
        fingerprint: String,
        labels: BTreeMap<String, String>,
        raise: Raise,
    ) -> Instance {
        let mut instance =
            previous.unwrap_or_else(|| self.new_instance(fingerprint, labels.clone()));
        instance.missing = 0;
        instance.value = None;
        instance.last_eval_at = self.at;
        match raise {
            Raise::State(kind, state) => {
                instance.kind = kind;
                self.set(&mut instance, state, None, Some(labels));
            }
            Raise::Fires(kind) => {
                instance.kind = kind;
                self.advance(&mut instance, Some(Severity::Critical), Some(labels));
            }
            Raise::None | Raise::KeepAll => {}
        }
        instance
    }
}

/// One evaluation of `rule` at `at`. `previous` are the instances the last evaluation
/// returned (none for a new or reset rule); `silences` those whose scope includes this rule
/// (the caller filters by `rule_id`, see [`Silence::applies_to`]; only those in force at
/// `at` count).
pub fn evaluate(
    rule: &AlertRule,
    previous: &[Instance],
    outcome: &Outcome,
    at: DateTime<Utc>,
    silences: &[Silence],
) -> Evaluation {
    let (series, raise, health, last_error): (&[Series], Raise, Health, Option<String>) =
        match outcome {
            Outcome::Series(series) if !series.is_empty() => {
                (series, Raise::None, Health::Ok, None)
            }
            Outcome::Series(_) => {
                let raise = match rule.no_data {
                    NoDataPolicy::Ok => Raise::None,
                    NoDataPolicy::NoData => Raise::State(InstanceKind::NoData, State::NoData),
                    NoDataPolicy::Firing => Raise::Fires(InstanceKind::NoData),
                    NoDataPolicy::KeepLast => Raise::KeepAll,
                };
                (&[], raise, Health::NoData, None)
            }
            Outcome::Failed(message) => {
                let raise = match rule.on_error {
                    ErrorPolicy::Error => Raise::State(InstanceKind::Error, State::Error),
                    ErrorPolicy::Ok => Raise::None,
                    ErrorPolicy::Firing => Raise::Fires(InstanceKind::Error),
                    ErrorPolicy::KeepLast => Raise::KeepAll,
                };
                (&[], raise, Health::Error, Some(message.clone()))
            }
        };
    let mut previous_by_fingerprint: BTreeMap<String, Instance> = BTreeMap::new();
    for instance in previous {
        previous_by_fingerprint
            .entry(instance.fingerprint.clone())
            .or_insert_with(|| instance.clone());
    }
    let mut step = Step {
        rule,
        at,
        transitions: Vec::new(),
    };
    let mut instances: Vec<Instance> = Vec::with_capacity(previous.len().max(series.len()));
    if let Raise::KeepAll = raise {
        instances.extend(previous_by_fingerprint.into_values().map(|mut i| {
            i.last_eval_at = at;
            i
        }));
    } else {
        // The result's columns win over the rule's labels of the same name, so distinct
        // series never merge; a later series with the same labels replaces an earlier one.
        let mut current: BTreeMap<String, (BTreeMap<String, String>, f64)> = BTreeMap::new();
        for s in series {
            let mut labels = rule.labels.clone();
            labels.extend(s.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            current.insert(fingerprint_of(&labels), (labels, s.value));
        }
        for (fingerprint, (labels, value)) in current {
            let before = previous_by_fingerprint.remove(&fingerprint);
            instances.push(step.present(before, fingerprint, labels, value));
        }
        if let Raise::State(..) | Raise::Fires(_) = raise {
            let fingerprint = fingerprint_of(&rule.labels);
            let before = previous_by_fingerprint.remove(&fingerprint);
            instances.push(step.raise(before, fingerprint, rule.labels.clone(), raise));
        }
        for (_, before) in previous_by_fingerprint {
            instances.push(step.missing(before));
        }
    }
    let active = ActiveSilences::new(silences, at);
    let notification = notify(rule, &mut instances, at, &active);
    instances.retain(|i| {
        i.state != State::Normal
            || i.notified.is_some()
            || (i.kind == InstanceKind::Series && i.missing < 2)
    });
    instances.sort_by(|a, b| (&a.labels, &a.fingerprint).cmp(&(&b.labels, &b.fingerprint)));
    let mut transitions = step.transitions;
    transitions.sort_by(|a, b| (&a.labels, &a.fingerprint).cmp(&(&b.labels, &b.fingerprint)));
    Evaluation {
        instances,
        transitions,
        notification,
        health,
        last_error,
    }
}

#[cfg(test)]
mod tests;
