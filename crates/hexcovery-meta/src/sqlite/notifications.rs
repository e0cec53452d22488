//! Notification channels and the delivery queue in SQLite. Deliveries are rows, so a restart
//! resumes them; the dispatcher takes due ones across orgs and records each attempt.

use super::{SqliteMetastore, ms, opt_time, time, uuid};
use crate::error::{MetaError, MetaResult};
use crate::model::{
    ChannelKind, Delivery, DeliveryResult, NewNotificationChannel, NotificationChannel,
};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

/// The channel columns (a macro so queries stay `&'static str`); `channel_from_row` reads
/// them under these names, with the id in `channel_id`.
macro_rules! channel_columns {
    ($t:literal) => {
        concat!(
            $t,
            ".id AS channel_id, ",
            $t,
            ".name, ",
            $t,
            ".kind, ",
            $t,
            ".url, ",
            $t,
            ".url_sealed, ",
            $t,
            ".secret_sealed, ",
            $t,
            ".emails, ",
            $t,
            ".created_by_name, ",
            $t,
            ".created_at AS channel_created_at"
        )
    };
}

fn channel_from_row(row: &SqliteRow) -> MetaResult<NotificationChannel> {
    let kind: String = row.try_get("kind")?;
    let emails: Option<String> = row.try_get("emails")?;
    Ok(NotificationChannel {
        id: uuid(row, "channel_id")?,
        name: row.try_get("name")?,
        kind: ChannelKind::parse(&kind)
            .ok_or_else(|| anyhow::anyhow!("stored channel kind {kind:?} is unknown"))?,
        url: row.try_get("url")?,
        url_sealed: row.try_get("url_sealed")?,
        secret_sealed: row.try_get("secret_sealed")?,
        emails: match emails {
            Some(text) => serde_json::from_str(&text)
                .with_context(|| format!("stored emails {text:?} are not a JSON list"))?,
            None => Vec::new(),
        },
        created_by: row.try_get("created_by_name")?,
        created_at: time(row.try_get("channel_created_at")?)?,
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
        let emails = (new.kind == ChannelKind::Email)
            .then(|| serde_json::to_string(&new.emails).expect("a list of strings serialises"));
        sqlx::query(
            "INSERT INTO notification_channels (id, org_id, name, kind, url, url_sealed, \
             secret_sealed, emails, created_by_name, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(&new.url)
        .bind(&new.url_sealed)
        .bind(&new.secret_sealed)
        .bind(emails)
        .bind(&new.created_by)
        .bind(ms(now))
        .execute(&self.writer)
        .await?;
        Ok(NotificationChannel {
            id,
            name: new.name,
            kind: new.kind,
            url: new.url,
            url_sealed: new.url_sealed,
            secret_sealed: new.secret_sealed,
            emails: new.emails,
            created_by: new.created_by,
            created_at: time(ms(now))?,
        })
    }

    pub(super) async fn channel_list(&self, org_id: Uuid) -> MetaResult<Vec<NotificationChannel>> {
        sqlx::query(concat!(
            "SELECT ",
            channel_columns!("c"),
            " FROM notification_channels c WHERE org_id = ? ORDER BY id DESC"
        ))
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
        sqlx::query(concat!(
            "DELETE FROM notification_channels WHERE org_id = ? AND id = ? RETURNING ",
            "id AS channel_id, name, kind, url, url_sealed, secret_sealed, emails, ",
            "created_by_name, created_at AS channel_created_at"
        ))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(channel_from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("notification channel"))
    }

    pub(super) async fn delivery_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<(Delivery, NotificationChannel)>> {
        sqlx::query(concat!(
            "SELECT d.id, d.org_id, d.event, d.payload, d.status, d.attempts, \
             d.next_attempt_at, d.last_error, d.created_at, d.delivered_at, ",
            channel_columns!("c"),
            " FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= ? \
             ORDER BY d.next_attempt_at LIMIT ?"
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| Ok((delivery_from_row(row)?, channel_from_row(row)?)))
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

/// Queues `event` for every channel of the org inside the caller's transaction, so the
/// change that caused it and its notification are written together or not at all.
pub(super) async fn insert_deliveries(
    tx: &mut Transaction<'_, Sqlite>,
    org_id: Uuid,
    event: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> MetaResult<Vec<Delivery>> {
    let channels: Vec<String> =
        sqlx::query_scalar("SELECT id FROM notification_channels WHERE org_id = ?")
            .bind(org_id.to_string())
            .fetch_all(&mut **tx)
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
        .execute(&mut **tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, org_id, channel_id, event, payload, status, attempts, next_attempt_at, \
             last_error, created_at, delivered_at FROM notification_deliveries WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_one(&mut **tx)
        .await?;
        queued.push(delivery_from_row(&row)?);
    }
    Ok(queued)
}
