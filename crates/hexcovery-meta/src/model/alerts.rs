//! Records of alerting: rules, their instances and transitions, silences, and what one
//! evaluation writes. The rule's condition and policies are kept as the JSON the server
//! validated (the server owns their meaning, through `hexcovery-monitor`); the metastore
//! keeps what scheduling, claims and listings need as columns.

use super::Actor;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// An alert rule as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRuleRecord {
    pub id: Uuid,
    #[serde(skip)]
    pub org_id: Uuid,
    pub name: String,
    pub description: String,
    pub query: String,
    /// Window, interval, condition, policies, labels, annotations (the API's fields).
    pub definition: serde_json::Value,
    pub channels: Vec<Uuid>,
    pub paused: bool,
    #[serde(skip)]
    pub interval_ms: i64,
    /// The next tick the evaluator runs.
    pub next_eval_at: DateTime<Utc>,
    /// Bumped when the query or condition changes (instances reset).
    #[serde(skip)]
    pub generation: i64,
    /// `unknown` (never evaluated), `ok`, `error` (the last evaluation failed), `no_data`.
    pub health: String,
    pub last_eval_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What creating or replacing a rule sets.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRuleFields {
    pub name: String,
    pub description: String,
    pub query: String,
    pub definition: serde_json::Value,
    /// Channel ids; each must be a channel of the org (`NotFound("notification_channel")`).
    pub channels: Vec<Uuid>,
    pub paused: bool,
    pub interval_ms: i64,
}

/// One alert instance (one series of a rule's result) as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertInstanceRecord {
    pub rule_id: Uuid,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub state: String,
    pub value: Option<f64>,
    pub since: DateTime<Utc>,
    pub last_eval_at: DateTime<Utc>,
    /// The state machine's whole record of the instance.
    #[serde(skip)]
    pub data: serde_json::Value,
}

/// An instance of any rule of the org, with its rule's name (`GET /alert-instances`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OrgAlertInstance {
    pub rule_id: Uuid,
    pub rule_name: String,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub state: String,
    pub value: Option<f64>,
    pub since: DateTime<Utc>,
}

/// A change of an instance's state.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertTransitionRecord {
    pub rule_id: Uuid,
    pub rule_name: String,
    pub at: DateTime<Utc>,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub from: String,
    pub to: String,
    pub value: Option<f64>,
}

/// A transition to record (the rule is the evaluated one).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlertTransition {
    pub at: DateTime<Utc>,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub from: String,
    pub to: String,
    pub value: Option<f64>,
}

/// A rule claimed by one evaluator for its due tick.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertClaim {
    pub rule: AlertRuleRecord,
    /// The claim's token: only the holder can record the evaluation.
    pub owner: Uuid,
    /// The instances as the previous evaluation left them.
    pub instances: Vec<AlertInstanceRecord>,
}

/// A message for a webhook or Slack channel, queued in the delivery queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub channel_id: Uuid,
    /// What happened, e.g. `alert.firing`.
    pub event: String,
    pub payload: String,
}

/// An alert email for the outbox (sent by the mailer when SMTP is configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertEmail {
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `Message-ID` of this mail, and the one it answers (a resolved mail answers its firing one).
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// Queue it for the mail server; without one it stays `not_sent` in the outbox.
    pub send: bool,
}

/// Everything one evaluation of a rule writes, in one transaction.
#[derive(Debug, Clone)]
pub struct AlertEvaluationRecord {
    pub rule_id: Uuid,
    /// The claim's token; a lost claim (expired and taken, or the rule edited) writes nothing.
    pub owner: Uuid,
    /// The generation the evaluation ran for.
    pub generation: i64,
    /// The tick claimed (the rule's `next_eval_at` when claimed).
    pub tick: DateTime<Utc>,
    /// The instant evaluated: the claimed tick, or a later one when ticks were missed (the
    /// evaluator runs the latest due tick rather than replaying old ones).
    pub evaluated_at: DateTime<Utc>,
    pub next_eval_at: DateTime<Utc>,
    pub health: String,
    pub last_error: Option<String>,
    /// The rule's instances after the evaluation (replacing the stored ones).
    pub instances: Vec<AlertInstanceRecord>,
    pub transitions: Vec<NewAlertTransition>,
    pub deliveries: Vec<NewDelivery>,
    pub emails: Vec<NewAlertEmail>,
}

/// How a claim ended when recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Recorded,
    /// The claim was lost (expired and taken by another evaluator, or the rule changed or
    /// was deleted): nothing was written.
    ClaimLost,
}

/// A label matcher of a silence.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SilenceMatcher {
    pub label: String,
    /// `=`, `!=`, `=~`, `!~`.
    pub op: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Silence {
    pub id: Uuid,
    pub matchers: Vec<SilenceMatcher>,
    pub rule_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SilenceFields {
    pub matchers: Vec<SilenceMatcher>,
    /// A rule of the org (`NotFound("alert_rule")` otherwise).
    pub rule_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
}
