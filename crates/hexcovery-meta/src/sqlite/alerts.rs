//! Alert rules, instances, transitions and evaluation claims in SQLite. A claim is one
//! `UPDATE … RETURNING` on the single writer, so two evaluators cannot both take a tick; the
//! evaluation is recorded in one transaction that first checks the claim and generation.

use super::{SqliteMetastore, ms, opt_time, opt_uuid, time, uuid};
use crate::AlertStore;
use crate::error::{MetaError, MetaResult};
use crate::model::*;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The rule columns every rule query reads (a macro so queries stay `&'static str`).
macro_rules! rule_columns {
    () => {
        "id, org_id, name, description, query, definition, channels, paused, interval_ms, \
         next_eval_at, generation, health, last_eval_at, last_error, created_by_kind, \
         created_by_id, created_by_name, created_at, updated_at"
    };
}

fn json_column<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> MetaResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .with_context(|| format!("stored {column} {text:?} is not the expected JSON"))
        .map_err(MetaError::Internal)
}

pub(super) fn actor_from_row(row: &SqliteRow) -> MetaResult<Actor> {
    let kind: String = row.try_get("created_by_kind")?;
    Ok(Actor {
        kind: match kind.as_str() {
            "api_key" => ActorKind::ApiKey,
            "anonymous" => ActorKind::Anonymous,
            _ => ActorKind::User,
        },
        id: opt_uuid(row, "created_by_id")?,
        name: row.try_get("created_by_name")?,
    })
}

fn rule_from_row(row: &SqliteRow) -> MetaResult<AlertRuleRecord> {
    Ok(AlertRuleRecord {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        query: row.try_get("query")?,
        definition: json_column(row, "definition")?,
        channels: json_column(row, "channels")?,
        paused: row.try_get::<i64, _>("paused")? != 0,
        interval_ms: row.try_get("interval_ms")?,
        next_eval_at: time(row.try_get("next_eval_at")?)?,
        generation: row.try_get("generation")?,
        health: row.try_get("health")?,
        last_eval_at: opt_time(row.try_get("last_eval_at")?)?,
        last_error: row.try_get("last_error")?,
        created_by: actor_from_row(row)?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn instance_from_row(row: &SqliteRow) -> MetaResult<AlertInstanceRecord> {
    Ok(AlertInstanceRecord {
        rule_id: uuid(row, "rule_id")?,
        fingerprint: row.try_get("fingerprint")?,
        labels: json_column(row, "labels")?,
        state: row.try_get("state")?,
        value: row.try_get("value")?,
        since: time(row.try_get("since")?)?,
        last_eval_at: time(row.try_get("last_eval_at")?)?,
        data: json_column(row, "data")?,
    })
}

fn labels_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).expect("a string map serialises")
}

fn ids_json(ids: &[Uuid]) -> String {
    serde_json::to_string(ids).expect("a list of ids serialises")
}

impl SqliteMetastore {
    /// NotFound unless every channel id is a channel of the org.
    async fn check_channels(&self, org_id: Uuid, channels: &[Uuid]) -> MetaResult<()> {
        let known: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notification_channels WHERE org_id = ? \
             AND id IN (SELECT value FROM json_each(?))",
        )
        .bind(org_id.to_string())
        .bind(ids_json(channels))
        .fetch_one(&self.writer)
        .await?;
        let distinct: std::collections::BTreeSet<_> = channels.iter().collect();
        if known as usize != distinct.len() {
            return Err(MetaError::NotFound("notification_channel"));
        }
        Ok(())
    }

    async fn rule_via_writer(&self, org_id: Uuid, id: Uuid) -> MetaResult<AlertRuleRecord> {
        sqlx::query(concat!(
            "SELECT ",
            rule_columns!(),
            " FROM alert_rules WHERE org_id = ? AND id = ?"
        ))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(rule_from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("alert_rule"))
    }
}

/// Inserts deliveries (for channels still in the org) and emails inside `tx`.
async fn queue_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    org_id: &str,
    deliveries: &[NewDelivery],
    emails: &[NewAlertEmail],
    now: DateTime<Utc>,
) -> MetaResult<()> {
    for delivery in deliveries {
        // Only channels still in the org receive it (one may have been deleted since).
        sqlx::query(
            "INSERT INTO notification_deliveries (id, org_id, channel_id, event, payload, \
                 status, attempts, next_attempt_at, created_at) \
                 SELECT ?1, org_id, id, ?2, ?3, 'pending', 0, ?4, ?4 \
                 FROM notification_channels WHERE id = ?5 AND org_id = ?6",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(&delivery.event)
        .bind(&delivery.payload)
        .bind(ms(now))
        .bind(delivery.channel_id.to_string())
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
    }
    for email in emails {
        sqlx::query(
            "INSERT INTO outbox (id, org_id, created_at, recipient, subject, body, status, \
                 attempts, next_attempt_at, html_body, message_id, in_reply_to) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?10 THEN 'pending' ELSE 'not_sent' END, \
                 0, CASE WHEN ?10 THEN ?3 END, ?7, ?8, ?9)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(org_id)
        .bind(ms(now))
        .bind(&email.recipient)
        .bind(&email.subject)
        .bind(&email.text)
        .bind(&email.html)
        .bind(&email.message_id)
        .bind(&email.in_reply_to)
        .bind(email.send)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl AlertStore for SqliteMetastore {
    async fn create_alert_rule(
        &self,
        org_id: Uuid,
        fields: AlertRuleFields,
        created_by: Actor,
        first_tick: DateTime<Utc>,
    ) -> MetaResult<AlertRuleRecord> {
        self.check_channels(org_id, &fields.channels).await?;
        let id = Uuid::now_v7();
        let now = ms(Utc::now());
        sqlx::query(
            "INSERT INTO alert_rules (id, org_id, name, description, query, definition, \
             channels, paused, interval_ms, next_eval_at, created_by_kind, created_by_id, \
             created_by_name, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.query)
        .bind(fields.definition.to_string())
        .bind(ids_json(&fields.channels))
        .bind(i64::from(fields.paused))
        .bind(fields.interval_ms)
        .bind(ms(first_tick))
        .bind(created_by.kind.as_str())
        .bind(created_by.id.map(|i| i.to_string()))
        .bind(&created_by.name)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        self.rule_via_writer(org_id, id).await
    }

    async fn count_alert_rules(&self, org_id: Uuid) -> MetaResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_rules WHERE org_id = ?")
            .bind(org_id.to_string())
            .fetch_one(&self.writer)
            .await?;
        Ok(n as u64)
    }

    async fn list_alert_rules(&self, org_id: Uuid, page: Page) -> MetaResult<Vec<AlertRuleRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            rule_columns!(),
            " FROM alert_rules WHERE org_id = ?1 AND (?2 IS NULL OR id < ?2) \
             ORDER BY id DESC LIMIT ?3"
        ))
        .bind(org_id.to_string())
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(rule_from_row)
        .collect()
    }

    async fn get_alert_rule(&self, org_id: Uuid, id: Uuid) -> MetaResult<AlertRuleRecord> {
        self.rule_via_writer(org_id, id).await
    }

    async fn replace_alert_rule(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: AlertRuleFields,
        reset: bool,
        next_tick: DateTime<Utc>,
    ) -> MetaResult<AlertRuleRecord> {
        self.check_channels(org_id, &fields.channels).await?;
        let mut tx = self.writer.begin().await?;
        // Every change drops the claim and bumps the generation: an evaluation in flight
        // belongs to the rule as it was (its channels, its pause) and must record nothing. A
        // reset or a new interval also reschedules.
        let changed = sqlx::query(
            "UPDATE alert_rules SET name = ?1, description = ?2, query = ?3, definition = ?4, \
             channels = ?5, paused = ?6, updated_at = ?7, \
             next_eval_at = CASE WHEN ?8 OR interval_ms != ?9 THEN ?10 ELSE next_eval_at END, \
             generation = generation + 1, lease_owner = NULL, lease_until = NULL, \
             health = CASE WHEN ?8 THEN 'unknown' ELSE health END, \
             last_error = CASE WHEN ?8 THEN NULL ELSE last_error END, \
             interval_ms = ?9 \
             WHERE org_id = ?11 AND id = ?12",
        )
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.query)
        .bind(fields.definition.to_string())
        .bind(ids_json(&fields.channels))
        .bind(i64::from(fields.paused))
        .bind(ms(Utc::now()))
        .bind(reset)
        .bind(fields.interval_ms)
        .bind(ms(next_tick))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(MetaError::NotFound("alert_rule"));
        }
        if reset {
            sqlx::query("DELETE FROM alert_instances WHERE rule_id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.rule_via_writer(org_id, id).await
    }

    async fn delete_alert_rule(&self, org_id: Uuid, id: Uuid) -> MetaResult<AlertRuleRecord> {
        let rule = self.rule_via_writer(org_id, id).await?;
        // Instances, transitions and rule-scoped silences go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM alert_rules WHERE org_id = ? AND id = ?")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(rule)
    }

    async fn list_alert_instances(
        &self,
        org_id: Uuid,
        rule_id: Uuid,
    ) -> MetaResult<Vec<AlertInstanceRecord>> {
        sqlx::query(
            "SELECT rule_id, fingerprint, labels, state, value, since, last_eval_at, data \
             FROM alert_instances WHERE org_id = ? AND rule_id = ? ORDER BY fingerprint",
        )
        .bind(org_id.to_string())
        .bind(rule_id.to_string())
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(instance_from_row)
        .collect()
    }

    async fn list_org_alert_instances(
        &self,
        org_id: Uuid,
        state: Option<&str>,
        limit: u32,
    ) -> MetaResult<Vec<OrgAlertInstance>> {
        sqlx::query(
            "SELECT i.rule_id, r.name AS rule_name, i.fingerprint, i.labels, i.state, i.value, \
             i.since FROM alert_instances i JOIN alert_rules r ON r.id = i.rule_id \
             WHERE i.org_id = ?1 AND r.org_id = ?1 AND (?2 IS NULL OR i.state = ?2) \
             ORDER BY i.since DESC, i.rule_id, i.fingerprint LIMIT ?3",
        )
        .bind(org_id.to_string())
        .bind(state)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(OrgAlertInstance {
                rule_id: uuid(row, "rule_id")?,
                rule_name: row.try_get("rule_name")?,
                fingerprint: row.try_get("fingerprint")?,
                labels: json_column(row, "labels")?,
                state: row.try_get("state")?,
                value: row.try_get("value")?,
                since: time(row.try_get("since")?)?,
            })
        })
        .collect()
    }

    async fn list_alert_transitions(
        &self,
        org_id: Uuid,
        rule_id: Option<Uuid>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<AlertTransitionRecord>> {
        sqlx::query(
            "SELECT t.rule_id, r.name AS rule_name, t.at, t.fingerprint, t.labels, \
             t.from_state, t.to_state, t.value \
             FROM alert_transitions t JOIN alert_rules r ON r.id = t.rule_id \
             WHERE t.org_id = ?1 AND r.org_id = ?1 AND (?2 IS NULL OR t.rule_id = ?2) \
             AND t.at >= ?3 AND t.at <= ?4 ORDER BY t.at DESC, t.id DESC LIMIT ?5",
        )
        .bind(org_id.to_string())
        .bind(rule_id.map(|r| r.to_string()))
        .bind(ms(from))
        .bind(ms(to))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(AlertTransitionRecord {
                rule_id: uuid(row, "rule_id")?,
                rule_name: row.try_get("rule_name")?,
                at: time(row.try_get("at")?)?,
                fingerprint: row.try_get("fingerprint")?,
                labels: json_column(row, "labels")?,
                from: row.try_get("from_state")?,
                to: row.try_get("to_state")?,
                value: row.try_get("value")?,
            })
        })
        .collect()
    }

    async fn claim_alert_rules(
        &self,
        owner: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<AlertClaim>> {
        let mut tx = self.writer.begin().await?;
        let rules = sqlx::query(concat!(
            "UPDATE alert_rules SET lease_owner = ?1, lease_until = ?2 WHERE id IN \
             (SELECT id FROM alert_rules WHERE paused = 0 AND next_eval_at <= ?3 \
              AND (lease_until IS NULL OR lease_until <= ?3) \
              ORDER BY next_eval_at, id LIMIT ?4) RETURNING ",
            rule_columns!()
        ))
        .bind(owner.to_string())
        .bind(ms(lease_until))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(rule_from_row)
        .collect::<MetaResult<Vec<_>>>()?;
        let mut claims = Vec::with_capacity(rules.len());
        for rule in rules {
            let instances = sqlx::query(
                "SELECT rule_id, fingerprint, labels, state, value, since, last_eval_at, data \
                 FROM alert_instances WHERE rule_id = ? ORDER BY fingerprint",
            )
            .bind(rule.id.to_string())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(instance_from_row)
            .collect::<MetaResult<Vec<_>>>()?;
            claims.push(AlertClaim {
                rule,
                owner,
                instances,
            });
        }
        tx.commit().await?;
        claims.sort_by_key(|c| (c.rule.next_eval_at, c.rule.id));
        Ok(claims)
    }

    async fn record_alert_evaluation(
        &self,
        record: AlertEvaluationRecord,
        now: DateTime<Utc>,
    ) -> MetaResult<RecordOutcome> {
        let rule_id = record.rule_id.to_string();
        let mut tx = self.writer.begin().await?;
        // The claim must still be ours, for this generation and this tick.
        let org: Option<String> = sqlx::query_scalar(
            "UPDATE alert_rules SET lease_owner = NULL, lease_until = NULL, next_eval_at = ?1, \
             health = ?2, last_error = ?3, last_eval_at = ?8 \
             WHERE id = ?5 AND lease_owner = ?6 AND generation = ?7 AND next_eval_at = ?4 \
             AND paused = 0 \
             RETURNING org_id",
        )
        .bind(ms(record.next_eval_at))
        .bind(&record.health)
        .bind(&record.last_error)
        .bind(ms(record.tick))
        .bind(&rule_id)
        .bind(record.owner.to_string())
        .bind(record.generation)
        .bind(ms(record.evaluated_at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(org_id) = org else {
            return Ok(RecordOutcome::ClaimLost);
        };
        sqlx::query("DELETE FROM alert_instances WHERE rule_id = ?")
            .bind(&rule_id)
            .execute(&mut *tx)
            .await?;
        for instance in &record.instances {
            sqlx::query(
                "INSERT INTO alert_instances (rule_id, org_id, fingerprint, labels, state, \
                 value, since, last_eval_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&rule_id)
            .bind(&org_id)
            .bind(&instance.fingerprint)
            .bind(labels_json(&instance.labels))
            .bind(&instance.state)
            .bind(instance.value)
            .bind(ms(instance.since))
            .bind(ms(instance.last_eval_at))
            .bind(instance.data.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for transition in &record.transitions {
            sqlx::query(
                "INSERT INTO alert_transitions (id, org_id, rule_id, at, fingerprint, labels, \
                 from_state, to_state, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(&org_id)
            .bind(&rule_id)
            .bind(ms(transition.at))
            .bind(&transition.fingerprint)
            .bind(labels_json(&transition.labels))
            .bind(&transition.from)
            .bind(&transition.to)
            .bind(transition.value)
            .execute(&mut *tx)
            .await?;
        }
        queue_in(&mut tx, &org_id, &record.deliveries, &record.emails, now).await?;
        tx.commit().await?;
        Ok(RecordOutcome::Recorded)
    }

    async fn release_alert_claims(&self, owner: Uuid, rule_id: Option<Uuid>) -> MetaResult<u64> {
        let released = sqlx::query(
            "UPDATE alert_rules SET lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner = ?1 AND (?2 IS NULL OR id = ?2)",
        )
        .bind(owner.to_string())
        .bind(rule_id.map(|r| r.to_string()))
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(released)
    }

    async fn queue_messages(
        &self,
        org_id: Uuid,
        deliveries: Vec<NewDelivery>,
        emails: Vec<NewAlertEmail>,
        now: DateTime<Utc>,
    ) -> MetaResult<()> {
        let mut tx = self.writer.begin().await?;
        queue_in(&mut tx, &org_id.to_string(), &deliveries, &emails, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_silence(
        &self,
        org_id: Uuid,
        fields: SilenceFields,
        created_by: Actor,
        now: DateTime<Utc>,
    ) -> MetaResult<Silence> {
        self.silence_create(org_id, fields, created_by, now).await
    }

    async fn count_silences(&self, org_id: Uuid, active_at: DateTime<Utc>) -> MetaResult<u64> {
        self.silence_count(org_id, active_at).await
    }

    async fn list_silences(&self, org_id: Uuid, page: Page) -> MetaResult<Vec<Silence>> {
        self.silence_list(org_id, page).await
    }

    async fn get_silence(&self, org_id: Uuid, id: Uuid) -> MetaResult<Silence> {
        self.silence_get(org_id, id).await
    }

    async fn replace_silence(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: SilenceFields,
        now: DateTime<Utc>,
    ) -> MetaResult<Silence> {
        self.silence_replace(org_id, id, fields, now).await
    }

    async fn delete_silence(&self, org_id: Uuid, id: Uuid) -> MetaResult<Silence> {
        self.silence_delete(org_id, id).await
    }

    async fn active_silences(
        &self,
        org_id: Uuid,
        rule_id: Uuid,
        at: DateTime<Utc>,
    ) -> MetaResult<Vec<Silence>> {
        self.silence_active(org_id, rule_id, at).await
    }
}
