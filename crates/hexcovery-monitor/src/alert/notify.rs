//! What an evaluation tells the rule's channels: at most one notification per rule and
//! evaluation, holding every instance whose notified state changed (it became active, its
//! severity changed, it resolved, a silence over it ended) or whose repeat is due; and its
//! stable `event_id`.
//!
//! One rule decides all of it, per instance, against what was last notified for it:
//! an active instance (firing, no_data, error) notifies when nothing was notified for its
//! episode yet, or it was notified in another state or severity; a firing one again once
//! `repeat_interval` has passed since its last notification; an instance no longer active
//! whose episode was notified notifies `resolved` (with `send_resolved`). While a silence
//! matches an alert's labels nothing is sent and nothing is marked notified, so what was held
//! back goes out at the first evaluation after the silence ends — and an instance that fired
//! and resolved under a silence sends nothing at all.

use super::instance::{Instance, Notified, State, serialize_number};
use super::rule::AlertRule;
use super::silence::ActiveSilences;
use super::template::{TemplateContext, render};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// An alert's status as Alertmanager knows it: active alerts (firing, no_data, error) are
/// `firing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// The message's type, from its most severe content: any firing alert → `alert.firing`,
/// else any error → `alert.error`, else any no-data → `alert.no_data`, else `alert.resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotificationType {
    #[serde(rename = "alert.firing")]
    Firing,
    #[serde(rename = "alert.error")]
    Error,
    #[serde(rename = "alert.no_data")]
    NoData,
    #[serde(rename = "alert.resolved")]
    Resolved,
}

impl NotificationType {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationType::Firing => "alert.firing",
            NotificationType::Error => "alert.error",
            NotificationType::NoData => "alert.no_data",
            NotificationType::Resolved => "alert.resolved",
        }
    }
}

/// Alertmanager's "zero time" for an alert that has not ended.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn serialize_ends_at<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => t.serialize(s),
        None => s.serialize_str(ZERO_TIME),
    }
}

fn deserialize_ends_at<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let t = DateTime::<Utc>::deserialize(d)?;
    // 0001-01-01T00:00:00Z and anything before it is "not ended".
    Ok((t.timestamp() > -62_135_596_800).then_some(t))
}

fn serialize_values<S: Serializer>(v: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(v.len()))?;
    for (k, value) in v {
        struct Number(f64);
        impl Serialize for Number {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_number(&self.0, s)
            }
        }
        map.serialize_entry(k, &Number(*value))?;
    }
    map.end()
}

/// One alert of a notification, as in the webhook body (without `generatorURL`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub status: AlertStatus,
    /// The instance's state now (an addition to Alertmanager's fields).
    pub state: State,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `{"value": 61}`; empty when the instance has no value (a missing series, no data).
    #[serde(serialize_with = "serialize_values")]
    pub values: BTreeMap<String, f64>,
    #[serde(rename = "startsAt")]
    pub starts_at: DateTime<Utc>,
    /// Set for resolved alerts; the zero time in JSON for active ones.
    #[serde(
        rename = "endsAt",
        serialize_with = "serialize_ends_at",
        deserialize_with = "deserialize_ends_at"
    )]
    pub ends_at: Option<DateTime<Utc>>,
    pub fingerprint: String,
}

/// The message of one evaluation of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The evaluation's time.
    pub at: DateTime<Utc>,
    #[serde(rename = "type")]
    pub kind: NotificationType,
    /// `firing` while any of its alerts is active, else `resolved`.
    pub status: AlertStatus,
    /// Active alerts first, then resolved ones; each group by labels.
    pub alerts: Vec<Alert>,
    /// The rule's notification group is the rule: it opens with the first notified alert
    /// and closes when the last notified one has resolved. This is when its first alert
    /// started (an email thread's key).
    pub group_started_at: DateTime<Utc>,
    /// Whether this message opens the group (the first mail of a thread).
    pub opens_group: bool,
}

impl Notification {
    /// How many of its alerts are active (`[FIRING:<n>]`).
    pub fn active_count(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .count()
    }
}

/// A stable id for a notification: the same rule, evaluation time and content give the same
/// id, so a retried evaluation is recognisable downstream. 32 hex digits.
pub fn event_id(rule_id: &str, notification: &Notification) -> String {
    let mut hasher = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    part(b"hexcovery-alert-event-v1");
    part(rule_id.as_bytes());
    part(
        &notification
            .at
            .timestamp_nanos_opt()
            .unwrap_or_default()
            .to_le_bytes(),
    );
    part(notification.kind.as_str().as_bytes());
    for alert in &notification.alerts {
        part(alert.fingerprint.as_bytes());
        part(alert.status.as_str().as_bytes());
        part(alert.state.as_str().as_bytes());
        part(
            &alert
                .starts_at
                .timestamp_nanos_opt()
                .unwrap_or_default()
                .to_le_bytes(),
        );
        let ends = alert
            .ends_at
            .and_then(|t| t.timestamp_nanos_opt())
            .unwrap_or(0);
        part(&ends.to_le_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The labels a resolved alert carries: those of its last notification's severity.
fn resolved_labels(
    rule: &AlertRule,
    instance: &Instance,
    notified: &Notified,
) -> BTreeMap<String, String> {
    let mut labels = instance.labels.clone();
    if rule.condition.warning.is_some()
        && let Some(severity) = notified.severity
    {
        labels.insert("severity".into(), severity.as_str().into());
    }
    labels
}

fn alert(
    rule: &AlertRule,
    instance: &Instance,
    labels: BTreeMap<String, String>,
    status: AlertStatus,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
) -> Alert {
    let window = rule.window.to_string();
    let context = TemplateContext {
        labels: &labels,
        value: instance.value,
        window: &window,
        threshold: rule.condition.threshold,
        state: instance.state.as_str(),
    };
    let annotations = rule
        .annotations
        .iter()
        .map(|(name, template)| (name.clone(), render(template, &context)))
        .collect();
    Alert {
        status,
        state: instance.state,
        annotations,
        values: instance
            .value
            .map(|v| ("value".to_string(), v))
            .into_iter()
            .collect(),
        starts_at,
        ends_at,
        fingerprint: instance.fingerprint.clone(),
        labels,
    }
}

/// Decides the notification of an evaluation at `at` and marks what it sends as notified
/// in `instances`.
pub(crate) fn notify(
    rule: &AlertRule,
    instances: &mut [Instance],
    at: DateTime<Utc>,
    silences: &ActiveSilences,
) -> Option<Notification> {
    let open_group = instances
        .iter()
        .filter_map(|i| i.notified.as_ref().map(|n| n.group_started_at))
        .min();
    let mut sent_active: Vec<usize> = Vec::new();
    let mut alerts = Vec::new();
    for (index, instance) in instances.iter_mut().enumerate() {
        if instance.state.is_active() {
            let started = instance.started_at.unwrap_or(instance.since);
            let due = match &instance.notified {
                None => true,
                Some(n) => {
                    n.state != instance.state
                        || n.started_at != started
                        || (instance.state == State::Firing
                            && (n.severity != instance.severity
                                || at - n.at >= rule.repeat_interval.delta()))
                }
            };
            if due && !silences.silences(&instance.labels) {
                alerts.push(alert(
                    rule,
                    instance,
                    instance.labels.clone(),
                    AlertStatus::Firing,
                    started,
                    None,
                ));
                sent_active.push(index);
            }
        } else if let Some(notified) = instance.notified.clone() {
            if !rule.send_resolved {
                instance.notified = None;
                continue;
            }
            let labels = resolved_labels(rule, instance, &notified);
            if !silences.silences(&labels) {
                let ended = instance.ended_at.unwrap_or(at);
                alerts.push(alert(
                    rule,
                    instance,
                    labels,
                    AlertStatus::Resolved,
                    notified.started_at,
                    Some(ended),
                ));
                instance.notified = None;
            }
        }
    }
    if alerts.is_empty() {
        return None;
    }
    let new_start = alerts
        .iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .map(|a| a.starts_at)
        .min();
    let group_started_at = open_group.or(new_start).unwrap_or(at);
    for index in sent_active {
        let instance = &mut instances[index];
        instance.notified = Some(Notified {
            state: instance.state,
            at,
            started_at: instance.started_at.unwrap_or(instance.since),
            severity: instance.severity,
            group_started_at,
        });
    }
    alerts.sort_by(|a, b| {
        (a.status != AlertStatus::Firing, &a.labels, &a.fingerprint).cmp(&(
            b.status != AlertStatus::Firing,
            &b.labels,
            &b.fingerprint,
        ))
    });
    let has = |state: State| {
        alerts
            .iter()
            .any(|a| a.status == AlertStatus::Firing && a.state == state)
    };
    let kind = if has(State::Firing) {
        NotificationType::Firing
    } else if has(State::Error) {
        NotificationType::Error
    } else if has(State::NoData) {
        NotificationType::NoData
    } else {
        NotificationType::Resolved
    };
    let status = if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
        AlertStatus::Firing
    } else {
        AlertStatus::Resolved
    };
    Some(Notification {
        at,
        kind,
        status,
        alerts,
        group_started_at,
        opens_group: open_group.is_none(),
    })
}
