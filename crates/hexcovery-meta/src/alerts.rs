//! The metastore's alert rules, their instances and transitions, evaluation claims and
//! silences: the trait every backend implements.
//!
//! Evaluation is claim → evaluate → record. A claim leases a rule's due tick to one
//! evaluator (an expired lease may be taken by another); recording checks the claim and
//! writes the instances, transitions, notification deliveries and emails of that tick in one
//! transaction, and advances the tick. So each tick is evaluated once cluster-wide, and a
//! crash between claim and record repeats the tick whole (same event ids) instead of losing
//! or doubling a notification.

use crate::error::MetaResult;
use crate::model::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait AlertStore: Send + Sync + 'static {
    // --- rules ---
    /// Creates a rule, first due at `first_tick`. Every channel must be the org's.
    async fn create_alert_rule(
        &self,
        org_id: Uuid,
        fields: AlertRuleFields,
        created_by: Actor,
        first_tick: DateTime<Utc>,
    ) -> MetaResult<AlertRuleRecord>;
    async fn count_alert_rules(&self, org_id: Uuid) -> MetaResult<u64>;
    /// Newest first.
    async fn list_alert_rules(&self, org_id: Uuid, page: Page) -> MetaResult<Vec<AlertRuleRecord>>;
    async fn get_alert_rule(&self, org_id: Uuid, id: Uuid) -> MetaResult<AlertRuleRecord>;
    /// Replaces a rule's fields and bumps its generation, so an evaluation in flight records
    /// nothing. With `reset`, its instances are removed and it is next due at `next_tick`;
    /// without, the schedule moves only if the interval changed.
    async fn replace_alert_rule(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: AlertRuleFields,
        reset: bool,
        next_tick: DateTime<Utc>,
    ) -> MetaResult<AlertRuleRecord>;
    /// Removes a rule with its instances, transitions and silences scoped to it.
    async fn delete_alert_rule(&self, org_id: Uuid, id: Uuid) -> MetaResult<AlertRuleRecord>;

    // --- instances and history ---
    async fn list_alert_instances(
        &self,
        org_id: Uuid,
        rule_id: Uuid,
    ) -> MetaResult<Vec<AlertInstanceRecord>>;
    /// Instances of every rule of the org, optionally in one state, most recent change first.
    async fn list_org_alert_instances(
        &self,
        org_id: Uuid,
        state: Option<&str>,
        limit: u32,
    ) -> MetaResult<Vec<OrgAlertInstance>>;
    /// Transitions in `[from, to]`, of one rule or all, newest first.
    async fn list_alert_transitions(
        &self,
        org_id: Uuid,
        rule_id: Option<Uuid>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<AlertTransitionRecord>>;

    // --- evaluation ---
    /// Claims up to `limit` unpaused rules (of any org) due at `now` whose lease is free or
    /// expired, leasing each to `owner` until `lease_until`; earliest due first.
    async fn claim_alert_rules(
        &self,
        owner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<AlertClaim>>;
    /// Writes one evaluation if `record.owner` still holds the rule at its generation;
    /// otherwise writes nothing and answers `ClaimLost`.
    async fn record_alert_evaluation(
        &self,
        record: AlertEvaluationRecord,
        now: DateTime<Utc>,
    ) -> MetaResult<RecordOutcome>;

    /// Gives up `owner`'s claims (one rule's, or all of them: a stopping evaluator), so the
    /// ticks can be claimed again at once; answers how many were released.
    async fn release_alert_claims(&self, owner: Uuid, rule_id: Option<Uuid>) -> MetaResult<u64>;
    /// Queues messages outside an evaluation (test notifications): deliveries for channels
    /// of the org (others are skipped) and emails, in one transaction.
    async fn queue_messages(
        &self,
        org_id: Uuid,
        deliveries: Vec<NewDelivery>,
        emails: Vec<NewAlertEmail>,
        now: DateTime<Utc>,
    ) -> MetaResult<()>;

    // --- silences ---
    async fn create_silence(
        &self,
        org_id: Uuid,
        fields: SilenceFields,
        created_by: Actor,
        now: DateTime<Utc>,
    ) -> MetaResult<Silence>;
    async fn count_silences(&self, org_id: Uuid, active_at: DateTime<Utc>) -> MetaResult<u64>;
    /// Newest first.
    async fn list_silences(&self, org_id: Uuid, page: Page) -> MetaResult<Vec<Silence>>;
    async fn get_silence(&self, org_id: Uuid, id: Uuid) -> MetaResult<Silence>;
    async fn replace_silence(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: SilenceFields,
        now: DateTime<Utc>,
    ) -> MetaResult<Silence>;
    async fn delete_silence(&self, org_id: Uuid, id: Uuid) -> MetaResult<Silence>;
    /// Silences of the org in force at `at` that apply to `rule_id` (theirs or org-wide).
    async fn active_silences(
        &self,
        org_id: Uuid,
        rule_id: Uuid,
        at: DateTime<Utc>,
    ) -> MetaResult<Vec<Silence>>;
}
