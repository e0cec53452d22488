//! The evaluator: every second, claim the rules that are due (on any node, one evaluator wins
//! each tick), run each one's query over `[t − window, t)`, step its instances through the
//! state machine and record the tick — instances, transitions, notifications — in one
//! metastore transaction that first checks the claim still holds.

use crate::messages::{self, Channels};
use crate::rules::{self, RunQuery};
use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt as _;
use hexcovery_meta::{
    AlertClaim, AlertEvaluationRecord, AlertInstanceRecord, Metastore, NewAlertTransition,
    RecordOutcome,
};
use hexcovery_monitor::alert::{self, AlertRule, Instance, Outcome};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How the evaluator runs.
#[derive(Debug, Clone)]
pub struct EvaluatorConfig {
    /// The server's public URL, for links in notifications (`generatorURL`, `externalURL`).
    pub external_url: String,
    /// Whether a mail server is configured (emails are queued to be sent, or kept in the
    /// outbox for admins to read).
    pub mail_enabled: bool,
    /// How long a claim lasts: longer than three tries of a query at its time limit.
    pub lease: Duration,
    /// Rules claimed per pass.
    pub batch: u32,
    /// Rules evaluated at once (their queries take the engine's background slots).
    pub concurrency: usize,
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        Self {
            external_url: "http://localhost:8080".into(),
            mail_enabled: false,
            lease: Duration::from_secs(120),
            batch: 100,
            concurrency: 2,
        }
    }
}

/// Tries of a failing query within one tick before `on_error` applies.
const QUERY_TRIES: usize = 3;

/// Evaluates due rules of every org.
#[derive(Clone)]
pub struct Evaluator {
    meta: Arc<dyn Metastore>,
    queries: Arc<dyn RunQuery>,
    config: Arc<EvaluatorConfig>,
    /// This evaluator's claim token.
    owner: Uuid,
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassSummary {
    pub evaluated: usize,
    /// Claims that were lost before recording (taken over after expiry, or the rule changed).
    pub lost: usize,
    pub failed: usize,
    /// Rules whose query found no free slot in its time limit: their ticks were given back.
    pub deferred: usize,
}

/// How one rule's evaluation ended.
enum Done {
    Recorded,
    Lost,
    Deferred,
}

impl Evaluator {
    pub fn new(
        meta: Arc<dyn Metastore>,
        queries: Arc<dyn RunQuery>,
        config: EvaluatorConfig,
    ) -> Self {
        Self {
            meta,
            queries,
            config: Arc::new(config),
            owner: Uuid::now_v7(),
        }
    }

    /// Gives back the claims this evaluator holds (at stop).
    pub async fn release_claims(&self) -> anyhow::Result<u64> {
        Ok(self.meta.release_alert_claims(self.owner, None).await?)
    }

    /// Claims and evaluates the rules due at `now`.
    pub async fn run_due(&self, now: DateTime<Utc>) -> anyhow::Result<PassSummary> {
        let lease = TimeDelta::from_std(self.config.lease).unwrap_or(TimeDelta::minutes(2));
        let claims = self
            .meta
            .claim_alert_rules(self.owner, now, now + lease, self.config.batch)
            .await?;
        let mut summary = PassSummary::default();
        let mut results = futures::stream::iter(claims)
            .map(|claim| self.evaluate(claim, now))
            .buffer_unordered(self.config.concurrency.max(1));
        while let Some(result) = results.next().await {
            match result {
                Ok(Done::Recorded) => summary.evaluated += 1,
                Ok(Done::Lost) => summary.lost += 1,
                Ok(Done::Deferred) => summary.deferred += 1,
                Err(error) => {
                    summary.failed += 1;
                    tracing::error!(error = %format!("{error:#}"), "evaluating an alert rule failed");
                }
            }
        }
        Ok(summary)
    }

    async fn evaluate(&self, claim: AlertClaim, now: DateTime<Utc>) -> anyhow::Result<Done> {
        let rule_record = &claim.rule;
        let interval_ms = rule_record.interval_ms.max(1);
        let tick = rule_record.next_eval_at;
        // Missed ticks (the cluster was down, or overloaded) are not replayed: the latest due
        // tick is evaluated, as an on-call person would want the current state.
        let at = latest_tick(tick, now, interval_ms);
        let next = at + TimeDelta::milliseconds(interval_ms);
        let skipped = (at - tick).num_milliseconds() / interval_ms;
        if skipped > 0 {
            // Falling behind is the one thing the rule's owner cannot see in its health.
            tracing::warn!(rule = %rule_record.id, skipped, tick = %at, "an alert rule fell behind its interval; evaluating the latest tick, the missed ones are not replayed");
        }
        let rule: AlertRule = match serde_json::from_value(rule_record.definition.clone()) {
            Ok(rule) => with_alertname(rule, &rule_record.name),
            Err(error) => {
                // Only a stored rule from an incompatible version can get here.
                return self
                    .record(
                        &claim,
                        at,
                        next,
                        "error",
                        Some(format!("the stored rule cannot be read: {error}")),
                        claim.instances.clone(),
                        Vec::new(),
                        None,
                        &rule_record.name,
                        now,
                    )
                    .await;
            }
        };
        let Some(outcome) = self.outcome(&claim, &rule, at).await else {
            // Overloaded, not failing: give the tick back for the next pass.
            tracing::warn!(rule = %rule_record.id, tick = %at, "no query slot came free for an alert evaluation; deferred");
            self.meta
                .release_alert_claims(self.owner, Some(rule_record.id))
                .await?;
            return Ok(Done::Deferred);
        };
        let previous: Vec<Instance> = claim
            .instances
            .iter()
            .filter_map(|i| serde_json::from_value(i.data.clone()).ok())
            .collect();
        let rule_id = rule_record.id.to_string();
        let silences: Vec<alert::Silence> = self
            .meta
            .active_silences(rule_record.org_id, rule_record.id, at)
            .await?
            .iter()
            .filter_map(rules::silence_of)
            .filter(|s| s.applies_to(&rule_id))
            .collect();
        let evaluation = alert::evaluate(&rule, &previous, &outcome, at, &silences);
        let instances = evaluation
            .instances
            .iter()
            .map(|i| instance_record(rule_record.id, i))
            .collect();
        let transitions = evaluation
            .transitions
            .iter()
            .map(|t| NewAlertTransition {
                at: t.at,
                fingerprint: t.fingerprint.clone(),
                labels: t.labels.clone(),
                from: t.from.as_str().to_string(),
                to: t.to.as_str().to_string(),
                value: t.value,
            })
            .collect();
        self.record(
            &claim,
            at,
            next,
            evaluation.health.as_str(),
            evaluation.last_error.clone(),
            instances,
            transitions,
            evaluation.notification.as_ref(),
            &rule_record.name,
            now,
        )
        .await
    }

    /// The query's outcome at `at`, after up to [`QUERY_TRIES`] tries; a query that is
    /// invalid (the catalog changed under it) is not retried. `None`: the query could not
    /// run at all (no slot came free), so the tick says nothing about the rule.
    async fn outcome(
        &self,
        claim: &AlertClaim,
        rule: &AlertRule,
        at: DateTime<Utc>,
    ) -> Option<Outcome> {
        let from = at - rule.window.delta();
        let mut last = String::new();
        for _ in 0..QUERY_TRIES {
            match self
                .queries
                .run(claim.rule.org_id, &claim.rule.query, from, at)
                .await
            {
                Ok(result) => {
                    return Some(rules::capped(Outcome::from_result(
                        &result.column_refs(),
                        &result.rows,
                        result.bucket,
                        rule.condition.reducer,
                    )));
                }
                Err(failure) if failure.busy => return None,
                Err(failure) => {
                    last = failure.message;
                    if !failure.retryable {
                        break;
                    }
                }
            }
        }
        Some(Outcome::Failed(last))
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        claim: &AlertClaim,
        at: DateTime<Utc>,
        next: DateTime<Utc>,
        health: &str,
        last_error: Option<String>,
        instances: Vec<AlertInstanceRecord>,
        transitions: Vec<NewAlertTransition>,
        notification: Option<&alert::Notification>,
        rule_name: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Done> {
        let rule = &claim.rule;
        let (deliveries, emails) = match notification {
            Some(notification) => {
                let channels = Channels::of_rule(self.meta.as_ref(), rule).await?;
                messages::render(
                    &channels,
                    &messages::Context {
                        rule_id: rule.id,
                        rule_name,
                        query: &rule.query,
                        external_url: &self.config.external_url,
                        mail_enabled: self.config.mail_enabled,
                    },
                    notification,
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        let record = AlertEvaluationRecord {
            rule_id: rule.id,
            owner: claim.owner,
            generation: rule.generation,
            tick: rule.next_eval_at,
            evaluated_at: at,
            next_eval_at: next,
            health: health.to_string(),
            last_error,
            instances,
            transitions,
            deliveries,
            emails,
        };
        let outcome = self.meta.record_alert_evaluation(record, now).await?;
        if outcome == RecordOutcome::ClaimLost {
            tracing::info!(rule = %rule.id, tick = %rule.next_eval_at, "an alert evaluation lost its claim and recorded nothing");
        }
        Ok(match outcome {
            RecordOutcome::Recorded => Done::Recorded,
            RecordOutcome::ClaimLost => Done::Lost,
        })
    }
}

/// The rule with the `alertname` label (its name) that Alertmanager users match silences
/// and routes on; a label of that name the rule sets itself wins.
pub fn with_alertname(mut rule: AlertRule, name: &str) -> AlertRule {
    rule.labels
        .entry("alertname".to_string())
        .or_insert_with(|| name.to_string());
    rule
}

/// The tick to evaluate when `tick` is due at `now`: `tick` itself, or the latest tick at or
/// before `now` on the same grid when whole intervals were missed.
pub fn latest_tick(tick: DateTime<Utc>, now: DateTime<Utc>, interval_ms: i64) -> DateTime<Utc> {
    let behind = (now - tick).num_milliseconds();
    if behind < interval_ms {
        return tick;
    }
    tick + TimeDelta::milliseconds(behind / interval_ms * interval_ms)
}

/// The metastore's record of an instance: the columns listings need, and the whole state.
fn instance_record(rule_id: Uuid, instance: &Instance) -> AlertInstanceRecord {
    AlertInstanceRecord {
        rule_id,
        fingerprint: instance.fingerprint.clone(),
        labels: instance.labels.clone(),
        state: instance.state.as_str().to_string(),
        value: instance.value,
        since: instance.since,
        last_eval_at: instance.last_eval_at,
        data: serde_json::to_value(instance).expect("an instance serialises"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn the_latest_due_tick_stays_on_the_grid() {
        assert_eq!(latest_tick(t(60), t(60), 60_000), t(60));
        assert_eq!(latest_tick(t(60), t(119), 60_000), t(60));
        assert_eq!(latest_tick(t(60), t(120), 60_000), t(120));
        assert_eq!(latest_tick(t(60), t(3_659), 60_000), t(3_600));
    }
}
