//! The metastore: everything Hexcovery stores that is not telemetry — orgs, users, sessions,
//! API keys, invites, usage, annotations, audit events — behind one [`Metastore`] trait. SQLite is the embedded backend;
//! a PostgreSQL backend for scale-out implements the same trait and runs the same test suite.
//!
//! Invariant: every method that reads or changes org-owned rows takes the org id as an
//! argument and filters by it, so an id from another org behaves exactly as a missing one.

mod alerts;
mod dashboards;
mod error;
pub mod model;
mod sqlite;
pub mod validate;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hexcovery_auth::Role;
use uuid::Uuid;

pub use alerts::AlertStore;
pub use dashboards::DashboardStore;
pub use error::{MetaError, MetaResult};
pub use model::*;
pub use sqlite::SqliteMetastore;

/// The whole metastore. Resources with many methods have traits of their own
/// ([`DashboardStore`], [`AlertStore`]); every backend implements all of them.
#[async_trait]
pub trait Metastore: DashboardStore + AlertStore + Send + Sync + 'static {
    /// Whether the store answers (readiness).
    async fn ping(&self) -> MetaResult<()>;

    // --- orgs ---
    /// Creates an org and its first admin atomically. Conflict `slug_taken` / `email_taken`.
    async fn create_org_with_admin(&self, org: NewOrg, admin: NewUser) -> MetaResult<(Org, User)>;
    async fn get_org(&self, org_id: Uuid) -> MetaResult<Org>;
    async fn update_org(&self, org_id: Uuid, patch: OrgPatch) -> MetaResult<Org>;
    async fn count_orgs(&self) -> MetaResult<u64>;
    /// Every org's id and telemetry retention, for the retention task.
    async fn list_retention(&self) -> MetaResult<Vec<(Uuid, u32)>>;

    // --- users ---
    /// The user with this (normalised) email and their password hash, in any org: login is
    /// the one lookup that precedes knowing the org.
    async fn find_user_for_login(&self, email: &str) -> MetaResult<Option<(User, String)>>;
    async fn list_users(&self, org_id: Uuid) -> MetaResult<Vec<User>>;
    async fn get_user(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<User>;
    /// Changes a role; refuses ([`MetaError::LastAdmin`]) to demote the org's last admin.
    async fn set_user_role(&self, org_id: Uuid, user_id: Uuid, role: Role) -> MetaResult<User>;
    /// Removes a user and their sessions; refuses to remove the org's last admin.
    async fn delete_user(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<User>;

    // --- sessions ---
    async fn create_session(&self, user: &User, new: NewSession) -> MetaResult<Session>;
    /// The session if it is unrevoked and unexpired at `now`, with its user as stored now.
    async fn live_session(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<Option<SessionPrincipal>>;
    /// Exchanges a refresh token for a new one (rotation with reuse detection).
    async fn rotate_refresh_token(
        &self,
        presented_digest: &str,
        new_digest: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<RefreshOutcome>;
    /// The user's live sessions, newest first.
    async fn list_sessions(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<Session>>;
    /// Revokes one of the user's live sessions; NotFound for anyone else's.
    async fn revoke_session(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<()>;

    // --- API keys ---
    async fn create_api_key(&self, new: NewApiKey) -> MetaResult<ApiKeyRecord>;
    /// Unrevoked keys, newest first.
    async fn list_api_keys(&self, org_id: Uuid, limit: u32) -> MetaResult<Vec<ApiKeyRecord>>;
    /// Revokes an unrevoked key of the org; NotFound otherwise.
    async fn revoke_api_key(
        &self,
        org_id: Uuid,
        key_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<ApiKeyRecord>;
    /// Resolves a key digest to its org if the key exists and is unrevoked, and records the
    /// use. Consulted on every request, so revocation acts on the next one on every node.
    async fn authenticate_api_key(
        &self,
        key_digest: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<Option<ApiKeyPrincipal>>;

    // --- invites ---
    /// Creates a pending invite. Conflict `email_taken` if the email already has an account,
    /// `already_invited` if the org has a pending invite for it.
    async fn create_invite(&self, new: NewInvite, now: DateTime<Utc>) -> MetaResult<Invite>;
    /// The org's invites of every status, newest first.
    async fn list_invites(
        &self,
        org_id: Uuid,
        page: Page,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<Invite>>;
    /// Revokes a pending invite and cancels its email if that is still pending; NotFound if
    /// absent, another org's, or no longer pending.
    async fn revoke_invite(
        &self,
        org_id: Uuid,
        invite_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<()>;
    /// Turns a pending, unexpired invite into a user of its org with its role, atomically and
    /// at most once. NotFound (`invite`) for unknown, used, revoked or expired tokens.
    async fn accept_invite(
        &self,
        token_digest: &str,
        acceptance: InviteAcceptance,
        now: DateTime<Utc>,
    ) -> MetaResult<User>;
    /// Whether `token_digest` names a pending, unexpired invite: checked before a password is
    /// hashed, so a wrong token costs no hash (`accept_invite` still decides, atomically).
    async fn invite_is_pending(&self, token_digest: &str, now: DateTime<Utc>) -> MetaResult<bool>;

    // --- outbox ---
    async fn add_outbox_message(
        &self,
        message: NewOutboxMessage,
        now: DateTime<Utc>,
    ) -> MetaResult<OutboxMessage>;
    /// How many messages the org's outbox received since `since`.
    async fn count_outbox_since(&self, org_id: Uuid, since: DateTime<Utc>) -> MetaResult<u64>;
    /// The org's messages, newest first.
    async fn list_outbox(&self, org_id: Uuid, page: Page) -> MetaResult<Vec<OutboxMessage>>;
    /// Messages (of any org) due for an attempt — pending and due, or claimed by a mailer
    /// whose claim ran out — oldest due first: the mailer's queue.
    async fn due_outbox_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<OutboxMessage>>;
    /// Claims a due message for one attempt until `until` (status `sending`, one more
    /// attempt counted); false if it is no longer due (sent, cancelled, claimed by another).
    async fn claim_outbox_message(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> MetaResult<bool>;
    /// Records how a claimed attempt ended: sent, retry at a time, or failed for good.
    /// NotFound if the message is not claimed.
    async fn record_outbox_attempt(
        &self,
        id: Uuid,
        result: DeliveryResult,
        now: DateTime<Utc>,
    ) -> MetaResult<()>;
    /// Replaces the body of a message that was sent (status `sent`), e.g. with its invite
    /// token removed: the recipient has it, the outbox need not keep it. False if the message
    /// is not sent.
    async fn redact_sent_outbox_body(&self, id: Uuid, body: &str) -> MetaResult<bool>;

    // --- usage ---
    /// Adds ingested records and bytes to the per-day, per-signal totals.
    async fn add_usage(&self, increments: &[UsageIncrement]) -> MetaResult<()>;
    /// The org's daily totals for days in `[from_day, to_day]` (`YYYY-MM-DD`), newest first.
    async fn list_usage(
        &self,
        org_id: Uuid,
        from_day: &str,
        to_day: &str,
    ) -> MetaResult<Vec<UsageRow>>;

    // --- annotations ---
    async fn create_annotation(
        &self,
        org_id: Uuid,
        fields: AnnotationFields,
        created_by: Actor,
    ) -> MetaResult<Annotation>;
    /// Newest first by `time` (then id); `page.before` is the id of the last annotation of the
    /// previous page.
    async fn list_annotations(
        &self,
        org_id: Uuid,
        filter: &AnnotationFilter,
        page: Page,
    ) -> MetaResult<Vec<Annotation>>;
    async fn get_annotation(&self, org_id: Uuid, id: Uuid) -> MetaResult<Annotation>;
    async fn replace_annotation(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: AnnotationFields,
    ) -> MetaResult<Annotation>;
    async fn delete_annotation(&self, org_id: Uuid, id: Uuid) -> MetaResult<Annotation>;

    // --- heartbeats ---
    /// Records a ping at `now`, creating the monitor with `defaults` if the name is new, and
    /// the state transitions it and the time before it caused.
    async fn heartbeat_ping(
        &self,
        org_id: Uuid,
        ping: NewPing,
        defaults: &MonitorConfig,
        now: DateTime<Utc>,
    ) -> MetaResult<PingOutcome>;
    /// The org's monitors by name, each in its state at `now`.
    async fn list_heartbeats(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<HeartbeatMonitor>>;
    async fn get_heartbeat(
        &self,
        org_id: Uuid,
        name: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<HeartbeatMonitor>;
    /// Changes a monitor's configuration (already validated) at `now`.
    async fn update_heartbeat(
        &self,
        org_id: Uuid,
        name: &str,
        patch: MonitorPatch,
        now: DateTime<Utc>,
    ) -> MetaResult<(HeartbeatMonitor, Vec<HeartbeatEvent>)>;
    async fn delete_heartbeat(&self, org_id: Uuid, name: &str) -> MetaResult<()>;
    /// A monitor's pings, newest first.
    async fn list_heartbeat_pings(
        &self,
        org_id: Uuid,
        name: &str,
        page: Page,
    ) -> MetaResult<Vec<HeartbeatPing>>;
    /// A monitor's state transitions, newest first.
    async fn list_heartbeat_events(
        &self,
        org_id: Uuid,
        name: &str,
        limit: u32,
    ) -> MetaResult<Vec<HeartbeatEvent>>;
    /// The evaluator's pass over every org: settles monitors whose state may have changed by
    /// `now` and returns the transitions recorded.
    async fn evaluate_heartbeats(&self, now: DateTime<Utc>) -> MetaResult<Vec<HeartbeatEvent>>;

    // --- notification channels and deliveries ---
    async fn create_notification_channel(
        &self,
        org_id: Uuid,
        new: NewNotificationChannel,
        now: DateTime<Utc>,
    ) -> MetaResult<NotificationChannel>;
    async fn list_notification_channels(
        &self,
        org_id: Uuid,
    ) -> MetaResult<Vec<NotificationChannel>>;
    async fn delete_notification_channel(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> MetaResult<NotificationChannel>;
    /// Pending deliveries (of any org) whose next attempt is due, with their channels.
    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<(Delivery, NotificationChannel)>>;
    async fn record_delivery(
        &self,
        id: Uuid,
        result: DeliveryResult,
        now: DateTime<Utc>,
    ) -> MetaResult<()>;
    /// A channel's deliveries, newest first.
    async fn list_deliveries(
        &self,
        org_id: Uuid,
        channel_id: Uuid,
        limit: u32,
    ) -> MetaResult<Vec<Delivery>>;

    // --- two-factor authentication ---
    async fn totp_record(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<TotpRecord>;
    /// Stores a pending (not yet enabled) sealed secret; 409 while 2FA is on.
    async fn set_totp_secret(&self, org_id: Uuid, user_id: Uuid, sealed: &str) -> MetaResult<()>;
    /// Turns 2FA on (the pending secret, `step` as the last accepted) with these recovery
    /// code digests.
    async fn enable_totp(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        step: u64,
        recovery_digests: &[String],
    ) -> MetaResult<()>;
    /// Accepts TOTP `step` if it is later than every step accepted before (each once).
    async fn accept_totp_step(&self, user_id: Uuid, step: u64) -> MetaResult<bool>;
    /// Spends an unused recovery code; false if there is none with this digest.
    async fn spend_recovery_code(&self, user_id: Uuid, digest: &str) -> MetaResult<bool>;
    async fn replace_recovery_codes(&self, user_id: Uuid, digests: &[String]) -> MetaResult<()>;
    async fn disable_totp(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<()>;
    /// Sets a new password hash and revokes the user's other sessions (all but
    /// `keep_session`); answers how many were revoked.
    async fn change_password(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Uuid,
    ) -> MetaResult<u64>;

    // --- teams ---
    async fn create_team(&self, org_id: Uuid, name: &str) -> MetaResult<Team>;
    /// The org's teams by name, with their members.
    async fn list_teams(&self, org_id: Uuid) -> MetaResult<Vec<Team>>;
    /// Renames and changes members in one transaction; a member id that is not a user of
    /// the org is `NotFound("user")` and changes nothing.
    async fn update_team(&self, org_id: Uuid, id: Uuid, patch: TeamPatch) -> MetaResult<Team>;
    async fn delete_team(&self, org_id: Uuid, id: Uuid) -> MetaResult<()>;

    // --- audit ---
    async fn record_audit(&self, event: NewAuditEvent) -> MetaResult<()>;
    /// The org's audit events matching `filter`, newest first.
    async fn list_audit(
        &self,
        org_id: Uuid,
        filter: &AuditFilter,
        page: Page,
    ) -> MetaResult<Vec<AuditEvent>>;
}
