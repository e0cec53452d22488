//! The metastore's records and the inputs that create or change them.

mod alerts;
mod dashboards;

pub use alerts::*;
pub use dashboards::*;

use chrono::{DateTime, Utc};
use hexcovery_auth::Role;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub email: String,
    /// Telemetry older than this many days is deleted.
    pub retention_days: u32,
    pub error_rate_thresholds: ErrorRateThresholds,
    /// The AI provider the agent uses, if one is configured.
    pub ai_provider: Option<AiProvider>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// A live session together with its user as stored now (current role included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPrincipal {
    pub session_id: Uuid,
    pub user: User,
}

/// An API key as listings show it: never the key or its digest.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub created_by: CreatedBy,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CreatedBy {
    /// The creating user's id, if they still exist.
    pub user_id: Option<Uuid>,
    pub name: String,
}

/// What a valid, unrevoked API key resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyPrincipal {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
}

pub struct NewOrg {
    pub name: String,
    pub slug: String,
    pub email: String,
}

pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// An argon2id PHC string; the metastore never sees a password.
    pub password_hash: String,
}

pub struct NewSession {
    pub expires_at: DateTime<Utc>,
    /// Digest of the first refresh token of the session.
    pub refresh_token_digest: String,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

pub struct NewApiKey {
    pub org_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub key_digest: String,
    pub created_by: CreatedBy,
}

/// A partial update of an org's identity; `None` leaves a field as it is.
#[derive(Default)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub email: Option<String>,
    pub retention_days: Option<u32>,
    pub error_rate_thresholds: Option<ErrorRateThresholds>,
    /// `Some(None)` removes the AI provider; `Some(Some(..))` sets it.
    pub ai_provider: Option<Option<AiProviderSettings>>,
}

/// Error rates (percent) at which the overview shows a service as warning or critical.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ErrorRateThresholds {
    pub warning: f64,
    pub critical: f64,
}

/// The AI provider as the API shows it: the key only as "set" or "not set".
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AiProvider {
    pub provider: String,
    pub model: String,
    pub base_url: Option<String>,
    /// `"set"` or `"not set"`.
    pub api_key: &'static str,
}

/// An AI provider to store; `api_key_sealed: None` keeps the stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiProviderSettings {
    pub provider: String,
    pub model: String,
    pub base_url: Option<String>,
    pub api_key_sealed: Option<String>,
}

/// The result of presenting a refresh token.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now used and the new digest is the session's token.
    Rotated(SessionPrincipal),
    /// The token had been used before: the whole session has been revoked.
    Reused(SessionPrincipal),
    /// Unknown token, or its session is revoked or expired.
    Invalid,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    ApiKey,
    /// Someone not (yet) authenticated, e.g. a failed login.
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::Anonymous => "anonymous",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

pub struct NewAuditEvent {
    pub org_id: Uuid,
    pub actor: Actor,
    /// A dotted verb, e.g. `auth.login`, `api_key.create`.
    pub action: &'static str,
    /// What was acted on, e.g. `api_key:<id>`.
    pub target: Option<String>,
    pub outcome: Outcome,
    pub client_addr: Option<String>,
    /// Extra facts (never secrets), e.g. which fields changed.
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    pub actor: Actor,
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub client_addr: Option<String>,
    pub detail: Option<serde_json::Value>,
}

/// One page of a newest-first listing: at most `limit` items older than `before`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u32,
    pub before: Option<Uuid>,
}

impl NewAuditEvent {
    pub fn success(org_id: Uuid, actor: Actor, action: &'static str) -> Self {
        Self {
            org_id,
            actor,
            action,
            target: None,
            outcome: Outcome::Success,
            client_addr: None,
            detail: None,
        }
    }

    pub fn failure(org_id: Uuid, actor: Actor, action: &'static str) -> Self {
        Self {
            outcome: Outcome::Failure,
            ..Self::success(org_id, actor, action)
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn client(mut self, client_addr: Option<String>) -> Self {
        self.client_addr = client_addr;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl Actor {
    pub fn user(user: &User) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(user.id),
            name: user.email.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Invite {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: InviteStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub invited_by: CreatedBy,
}

pub struct NewInvite {
    pub org_id: Uuid,
    pub email: String,
    pub role: Role,
    pub token_digest: String,
    pub expires_at: DateTime<Utc>,
    pub invited_by: CreatedBy,
}

/// The person accepting an invite; email, org and role come from the invite.
pub struct InviteAcceptance {
    pub name: String,
    pub password_hash: String,
}

/// A message for a person (an invite email), kept in the org's outbox and, when a mail
/// server is configured, queued for sending.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: Uuid,
    /// Never shown: the outbox is listed per org already.
    #[serde(skip)]
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: OutboxStatus,
    /// The invite this message carries, if any.
    pub invite_id: Option<Uuid>,
    /// Sending attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due while `pending`; the end of the claim while `sending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// An HTML alternative to `body` (alert emails).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html_body: Option<String>,
    /// This message's `Message-ID`, and the one it answers (`In-Reply-To`, `References`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
}

/// Where an outbox message is on its way to the recipient.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// No mail server is configured: the outbox is where the message is read.
    NotSent,
    /// Queued for the mail server; retried with back-off.
    Pending,
    /// A mailer is sending it now (claimed until `next_attempt_at`).
    Sending,
    /// The mail server accepted it.
    Sent,
    /// The mail server refused it for good, or every attempt failed.
    Failed,
    /// Its invite was revoked before it went out.
    Cancelled,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::NotSent => "not_sent",
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::NotSent,
            Self::Pending,
            Self::Sending,
            Self::Sent,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

pub struct NewOutboxMessage {
    pub org_id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Queue it for the mail server (`pending`, due now) rather than keep it `not_sent`.
    pub send: bool,
    /// The invite it carries: revoking the invite cancels the message if still pending.
    pub invite_id: Option<Uuid>,
}

/// Telemetry ingested by an org on one UTC day for one signal, to be added to its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageIncrement {
    pub org_id: Uuid,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// `logs`, `spans` or `metrics`.
    pub signal: &'static str,
    pub records: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UsageRow {
    pub day: String,
    pub signal: String,
    pub records: u64,
    pub bytes: u64,
}

/// A mark on the time axis (a deploy, an incident), or a region when it has an end.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Annotation {
    pub id: Uuid,
    /// What it is about, e.g. `deploy/myapp`.
    pub name: String,
    pub title: String,
    pub text: Option<String>,
    pub tags: Vec<String>,
    pub time: DateTime<Utc>,
    pub time_end: Option<DateTime<Utc>>,
    /// The user or API key that created it.
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An annotation's writable fields (create, and replace with `PUT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationFields {
    pub name: String,
    pub title: String,
    pub text: Option<String>,
    pub tags: Vec<String>,
    pub time: DateTime<Utc>,
    pub time_end: Option<DateTime<Utc>>,
}

/// Which annotations to list: those overlapping `[from, to]`, with this name, carrying every
/// one of `tags`; newest (by time) first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnotationFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub name: Option<String>,
    pub tags: Vec<String>,
}

/// What a heartbeat ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PingKind {
    /// `/heartbeat/<name>`: the job ran and succeeded.
    Success,
    /// `/heartbeat/<name>/start`: a run began.
    Start,
    /// `/heartbeat/<name>/fail`: the job failed.
    Fail,
}

impl PingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PingKind::Success => "success",
            PingKind::Start => "start",
            PingKind::Fail => "fail",
        }
    }
}

/// A ping to record. `body` is already capped by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPing {
    pub name: String,
    pub kind: PingKind,
    pub run_id: Option<String>,
    pub body: Option<String>,
}

/// How a monitor created by its first ping is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    /// `every <duration>` or a 5-field cron expression (already validated).
    pub schedule: String,
    /// IANA zone the cron expression is read in.
    pub timezone: String,
    pub grace_secs: u32,
    pub max_runtime_secs: Option<u32>,
}

/// A monitor as the API shows it, its state computed at the instant asked for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeartbeatMonitor {
    pub id: Uuid,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub grace_secs: u32,
    pub max_runtime_secs: Option<u32>,
    pub paused: bool,
    pub state: hexcovery_monitor::MonitorState,
    pub state_since: DateTime<Utc>,
    /// When the job is next due (or was, if late or down).
    pub next_due: Option<DateTime<Utc>>,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_fail_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeartbeatPing {
    pub id: Uuid,
    pub kind: PingKind,
    pub at: DateTime<Utc>,
    pub run_id: Option<String>,
    /// For a success or fail that ended a started run: how long the run took.
    pub duration_ms: Option<i64>,
    pub body: Option<String>,
}

/// A state transition of a monitor.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeartbeatEvent {
    pub id: Uuid,
    #[serde(skip)]
    pub org_id: Uuid,
    pub monitor: String,
    pub at: DateTime<Utc>,
    pub from: hexcovery_monitor::MonitorState,
    pub to: hexcovery_monitor::MonitorState,
}

/// What a ping did: the monitor after it, whether the ping created it, and the transitions
/// recorded (those that time caused before the ping, then the ping's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingOutcome {
    pub monitor: HeartbeatMonitor,
    pub created: bool,
    pub events: Vec<HeartbeatEvent>,
}

/// A change to a monitor's configuration; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorPatch {
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub grace_secs: Option<u32>,
    pub max_runtime_secs: Option<Option<u32>>,
    pub paused: Option<bool>,
}

/// What kind of receiver a channel is.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// An http(s) endpoint, optionally signed with HMAC-SHA256.
    Webhook,
    /// A Slack incoming webhook (its URL is a secret: stored sealed).
    Slack,
    /// Email addresses, sent through the SMTP mailer and its outbox.
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Webhook, Self::Slack, Self::Email]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// Where an org's alerts go: a webhook, a Slack incoming webhook, or email addresses.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotificationChannel {
    pub id: Uuid,
    pub name: String,
    pub kind: ChannelKind,
    /// The webhook's URL (`None` for Slack, whose URL is sealed, and for email).
    pub url: Option<String>,
    /// The sealed Slack URL (never shown).
    #[serde(skip)]
    pub url_sealed: Option<String>,
    /// The sealed signing secret (never shown; the API says only whether there is one).
    #[serde(skip)]
    pub secret_sealed: Option<String>,
    /// Email recipients (email channels).
    pub emails: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotificationChannel {
    pub name: String,
    pub kind: ChannelKind,
    pub url: Option<String>,
    pub url_sealed: Option<String>,
    pub secret_sealed: Option<String>,
    pub emails: Vec<String>,
    pub created_by: String,
}

/// One message for one channel, and where its delivery stands.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    #[serde(skip)]
    pub org_id: Uuid,
    pub channel_id: Uuid,
    /// What happened, e.g. `heartbeat.down`.
    pub event: String,
    /// The JSON body sent.
    pub payload: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    /// Why the latest failed attempt failed (kept once a later attempt succeeds).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered,
    /// Try again at this time.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// Given up.
    Failed {
        error: String,
    },
}

/// A user's second factor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// Sealed secret: set by setup, kept while enabled.
    pub secret_sealed: Option<String>,
    pub enabled: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: u32,
}

/// Which audit events to list. `action` ending in `*` matches as a prefix (`auth.*`); `actor`
/// is an actor's name (email, key name) or id; times are inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A team and its members.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub members: Vec<TeamMember>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TeamMember {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
}

/// A change to a team: a new name, members to add and to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub add_members: Vec<Uuid>,
    pub remove_members: Vec<Uuid>,
}
