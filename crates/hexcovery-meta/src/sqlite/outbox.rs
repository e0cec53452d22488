//! The outbox in SQLite: each org's messages for people, and — when a mail server is
//! configured — the durable queue the mailer sends from, so a restart resumes sending.

use super::{SqliteMetastore, ms, opt_time, opt_uuid, time, uuid};
use crate::error::{MetaError, MetaResult};
use crate::model::{DeliveryResult, NewOutboxMessage, OutboxMessage, OutboxStatus, Page};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

/// The columns `outbox_from_row` reads, as a literal so queries stay static strings.
macro_rules! columns {
    () => {
        "id, org_id, created_at, recipient, subject, body, status, invite_id, attempts, \
         next_attempt_at, last_error, sent_at, html_body, message_id, in_reply_to"
    };
}

fn outbox_from_row(row: &SqliteRow) -> MetaResult<OutboxMessage> {
    let status: String = row.try_get("status")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(OutboxMessage {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        created_at: time(row.try_get("created_at")?)?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        status: OutboxStatus::parse(&status).ok_or_else(|| {
            MetaError::Internal(anyhow::anyhow!("unknown outbox status {status:?}"))
        })?,
        invite_id: opt_uuid(row, "invite_id")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: opt_time(row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        sent_at: opt_time(row.try_get("sent_at")?)?,
        html_body: row.try_get("html_body")?,
        message_id: row.try_get("message_id")?,
        in_reply_to: row.try_get("in_reply_to")?,
    })
}

impl SqliteMetastore {
    pub(super) async fn outbox_add(
        &self,
        message: NewOutboxMessage,
        now: DateTime<Utc>,
    ) -> MetaResult<OutboxMessage> {
        let id = Uuid::now_v7();
        let (status, next_attempt_at) = if message.send {
            (OutboxStatus::Pending, Some(ms(now)))
        } else {
            (OutboxStatus::NotSent, None)
        };
        let row = sqlx::query(concat!(
            "INSERT INTO outbox (id, org_id, created_at, recipient, subject, body, status, \
             invite_id, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ",
            columns!()
        ))
        .bind(id.to_string())
        .bind(message.org_id.to_string())
        .bind(ms(now))
        .bind(&message.recipient)
        .bind(&message.subject)
        .bind(&message.body)
        .bind(status.as_str())
        .bind(message.invite_id.map(|id| id.to_string()))
        .bind(next_attempt_at)
        .fetch_one(&self.writer)
        .await?;
        outbox_from_row(&row)
    }

    pub(super) async fn outbox_list(
        &self,
        org_id: Uuid,
        page: Page,
    ) -> MetaResult<Vec<OutboxMessage>> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM outbox WHERE org_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?"
        ))
        .bind(org_id.to_string())
        .bind(page.before.map(|b| b.to_string()))
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(outbox_from_row)
        .collect()
    }

    pub(super) async fn outbox_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<OutboxMessage>> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= ? \
             ORDER BY next_attempt_at, id LIMIT ?"
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(outbox_from_row)
        .collect()
    }

    pub(super) async fn outbox_count_since(
        &self,
        org_id: Uuid,
        since: DateTime<Utc>,
    ) -> MetaResult<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE org_id = ? AND created_at >= ?")
                .bind(org_id.to_string())
                .bind(ms(since))
                .fetch_one(&self.reader)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub(super) async fn outbox_claim(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> MetaResult<bool> {
        let claimed = sqlx::query(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ? \
             WHERE id = ? AND status IN ('pending', 'sending') AND next_attempt_at <= ?",
        )
        .bind(ms(until))
        .bind(id.to_string())
        .bind(ms(now))
        .execute(&self.writer)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    pub(super) async fn outbox_record(
        &self,
        id: Uuid,
        result: DeliveryResult,
        now: DateTime<Utc>,
    ) -> MetaResult<()> {
        let (status, error, next) = match &result {
            DeliveryResult::Delivered => (OutboxStatus::Sent, None, None),
            DeliveryResult::Retry { error, at } => {
                (OutboxStatus::Pending, Some(error.as_str()), Some(ms(*at)))
            }
            DeliveryResult::Failed { error } => (OutboxStatus::Failed, Some(error.as_str()), None),
        };
        // Only a claimed message takes an outcome: nothing turns `sent` or `cancelled` back.
        let updated = sqlx::query(
            "UPDATE outbox SET status = ?, \
             last_error = coalesce(?, last_error), next_attempt_at = ?, \
             sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END \
             WHERE id = ? AND status = 'sending'",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(next)
        .bind(status.as_str())
        .bind(ms(now))
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(MetaError::NotFound("claimed outbox message"));
        }
        Ok(())
    }

    pub(super) async fn outbox_redact(&self, id: Uuid, body: &str) -> MetaResult<bool> {
        let updated = sqlx::query("UPDATE outbox SET body = ? WHERE id = ? AND status = 'sent'")
            .bind(body)
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(updated.rows_affected() == 1)
    }
}
