//! Notification channels and the delivery queue in SQLite. Deliveries are rows, so a restart
//! resumes them; the dispatcher takes due ones across orgs and records each attempt.

use super::{SqliteMetastore, ms, opt_time, time, uuid};
use crate::error::{MetaError, MetaResult};
use crate::model::{Delivery, DeliveryResult, NewNotificationChannel, NotificationChannel};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

fn channel_from_row(row: &SqliteRow) -> MetaResult<NotificationChannel> {
    Ok(NotificationChannel {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        kind: "webhook",
        url: row.try_get("url")?,
        secret_sealed: row.try_get("secret_sealed")?,
        created_by: row.try_get("created_by_name")?,
        created_at: time(row.try_get("created_at")?)?,
    })
}

fn delivery_from_row(row: &SqliteRow) -> MetaResult<Delivery> {
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Delivery {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        channel_id: uuid(row, "channel_id")?,
        event: row.try_get("event")?,
        payload: row.try_get("payload")?,
        status: row.try_get("status")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: time(row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        created_at: time(row.try_get("created_at")?)?,
        delivered_at: opt_time(row.try_get("delivered_at")?)?,
    })
}

impl SqliteMetastore {
    pub(super) async fn channel_create(
        &self,
        org_id: Uuid,
        new: NewNotificationChannel,
        now: DateTime<Utc>,
    ) -> MetaResult<NotificationChannel> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO notification_channels (id, org_id, name, kind, url, secret_sealed, \
             created_by_name, created_at) VALUES (?, ?, ?, 'webhook', ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(&new.name)
        .bind(&new.url)
        .bind(&new.secret_sealed)
        .bind(&new.created_by)
        .bind(ms(now))
        .execute(&self.writer)
        .await?;
        Ok(NotificationChannel {
            id,
            name: new.name,
            kind: "webhook",
            url: new.url,
            secret_sealed: new.secret_sealed,
            created_by: new.created_by,
            created_at: time(ms(now))?,
        })
    }

    pub(super) async fn channel_list(&self, org_id: Uuid) -> MetaResult<Vec<NotificationChannel>> {
        sqlx::query(
            "SELECT id, name, url, secret_sealed, created_by_name, created_at \
             FROM notification_channels WHERE org_id = ? ORDER BY id DESC",
        )
        .bind(org_id.to_string())
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(channel_from_row)
        .collect()
    }

    pub(super) async fn channel_delete(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> MetaResult<NotificationChannel> {
        sqlx::query(
            "DELETE FROM notification_channels WHERE org_id = ? AND id = ? \
             RETURNING id, name, url, secret_sealed, created_by_name, created_at",
        )
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(channel_from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("notification channel"))
    }

    pub(super) async fn delivery_enqueue(
        &self,
        org_id: Uuid,
        event: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<Delivery>> {
        let mut tx = self.writer.begin().await?;
        let channels: Vec<String> =
            sqlx::query_scalar("SELECT id FROM notification_channels WHERE org_id = ?")
                .bind(org_id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        let mut queued = Vec::with_capacity(channels.len());
        for channel in channels {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO notification_deliveries (id, org_id, channel_id, event, payload, \
                 status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            )
            .bind(id.to_string())
            .bind(org_id.to_string())
            .bind(&channel)
            .bind(event)
            .bind(payload)
            .bind(ms(now))
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(
                "SELECT id, org_id, channel_id, event, payload, status, attempts, next_attempt_at, \
                 last_error, created_at, delivered_at FROM notification_deliveries WHERE id = ?",
            )
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
            queued.push(delivery_from_row(&row)?);
        }
        tx.commit().await?;
        Ok(queued)
    }

    pub(super) async fn delivery_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<(Delivery, NotificationChannel)>> {
        sqlx::query(
            "SELECT d.id, d.org_id, d.channel_id, d.event, d.payload, d.status, d.attempts, \
             d.next_attempt_at, d.last_error, d.created_at, d.delivered_at, \
             c.name, c.url, c.secret_sealed, c.created_by_name, c.created_at AS channel_created_at \
             FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= ? \
             ORDER BY d.next_attempt_at LIMIT ?",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| {
            let delivery = delivery_from_row(row)?;
            let channel = NotificationChannel {
                id: delivery.channel_id,
                name: row.try_get("name")?,
                kind: "webhook",
                url: row.try_get("url")?,
                secret_sealed: row.try_get("secret_sealed")?,
                created_by: row.try_get("created_by_name")?,
                created_at: time(row.try_get("channel_created_at")?)?,
            };
            Ok((delivery, channel))
        })
        .collect()
    }

    pub(super) async fn delivery_record(
        &self,
        id: Uuid,
        result: DeliveryResult,
        now: DateTime<Utc>,
    ) -> MetaResult<()> {
        let (status, error, next) = match &result {
            DeliveryResult::Delivered => ("delivered", None, now),
            DeliveryResult::Retry { error, at } => ("pending", Some(error.as_str()), *at),
            DeliveryResult::Failed { error } => ("failed", Some(error.as_str()), now),
        };
        sqlx::query(
            "UPDATE notification_deliveries SET status = ?, attempts = attempts + 1, \
             last_error = coalesce(?, last_error), next_attempt_at = ?, \
             delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE id = ?",
        )
        .bind(status)
        .bind(error)
        .bind(ms(next))
        .bind(status)
        .bind(ms(now))
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(super) async fn delivery_list(
        &self,
        org_id: Uuid,
        channel_id: Uuid,
        limit: u32,
    ) -> MetaResult<Vec<Delivery>> {
        sqlx::query(
            "SELECT id, org_id, channel_id, event, payload, status, attempts, next_attempt_at, \
             last_error, created_at, delivered_at FROM notification_deliveries \
             WHERE org_id = ? AND channel_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(org_id.to_string())
        .bind(channel_id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect()
    }
}
