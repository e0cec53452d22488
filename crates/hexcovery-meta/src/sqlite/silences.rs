//! Silences in SQLite: matchers are a JSON list; a silence scoped to a rule goes with it.

use super::alerts::actor_from_row;
use super::{SqliteMetastore, ms, opt_uuid, time, uuid};
use crate::error::{MetaError, MetaResult};
use crate::model::{Actor, Page, Silence, SilenceFields};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

macro_rules! silence_columns {
    () => {
        "id, rule_id, matchers, starts_at, ends_at, comment, created_by_kind, created_by_id, \
         created_by_name, created_at, updated_at"
    };
}

fn from_row(row: &SqliteRow) -> MetaResult<Silence> {
    let matchers: String = row.try_get("matchers")?;
    Ok(Silence {
        id: uuid(row, "id")?,
        matchers: serde_json::from_str(&matchers)
            .with_context(|| format!("stored matchers {matchers:?} are not a JSON list"))
            .map_err(MetaError::Internal)?,
        rule_id: opt_uuid(row, "rule_id")?,
        starts_at: time(row.try_get("starts_at")?)?,
        ends_at: time(row.try_get("ends_at")?)?,
        comment: row.try_get("comment")?,
        created_by: actor_from_row(row)?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn matchers_json(fields: &SilenceFields) -> String {
    serde_json::to_string(&fields.matchers).expect("matchers serialise")
}

impl SqliteMetastore {
    /// NotFound unless the rule (if any) is the org's.
    async fn check_silenced_rule(&self, org_id: Uuid, rule_id: Option<Uuid>) -> MetaResult<()> {
        let Some(rule_id) = rule_id else {
            return Ok(());
        };
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM alert_rules WHERE org_id = ? AND id = ?")
                .bind(org_id.to_string())
                .bind(rule_id.to_string())
                .fetch_optional(&self.writer)
                .await?;
        found.map(|_| ()).ok_or(MetaError::NotFound("alert_rule"))
    }

    pub(super) async fn silence_create(
        &self,
        org_id: Uuid,
        fields: SilenceFields,
        created_by: Actor,
        now: DateTime<Utc>,
    ) -> MetaResult<Silence> {
        self.check_silenced_rule(org_id, fields.rule_id).await?;
        let row = sqlx::query(concat!(
            "INSERT INTO silences (id, org_id, rule_id, matchers, starts_at, ends_at, comment, \
             created_by_kind, created_by_id, created_by_name, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) RETURNING ",
            silence_columns!()
        ))
        .bind(Uuid::now_v7().to_string())
        .bind(org_id.to_string())
        .bind(fields.rule_id.map(|r| r.to_string()))
        .bind(matchers_json(&fields))
        .bind(ms(fields.starts_at))
        .bind(ms(fields.ends_at))
        .bind(&fields.comment)
        .bind(created_by.kind.as_str())
        .bind(created_by.id.map(|i| i.to_string()))
        .bind(&created_by.name)
        .bind(ms(now))
        .fetch_one(&self.writer)
        .await?;
        from_row(&row)
    }

    pub(super) async fn silence_count(
        &self,
        org_id: Uuid,
        active_at: DateTime<Utc>,
    ) -> MetaResult<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM silences WHERE org_id = ? AND ends_at > ?")
                .bind(org_id.to_string())
                .bind(ms(active_at))
                .fetch_one(&self.writer)
                .await?;
        Ok(n as u64)
    }

    pub(super) async fn silence_list(&self, org_id: Uuid, page: Page) -> MetaResult<Vec<Silence>> {
        sqlx::query(concat!(
            "SELECT ",
            silence_columns!(),
            " FROM silences WHERE org_id = ?1 AND (?2 IS NULL OR id < ?2) \
             ORDER BY id DESC LIMIT ?3"
        ))
        .bind(org_id.to_string())
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    pub(super) async fn silence_get(&self, org_id: Uuid, id: Uuid) -> MetaResult<Silence> {
        sqlx::query(concat!(
            "SELECT ",
            silence_columns!(),
            " FROM silences WHERE org_id = ? AND id = ?"
        ))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("silence"))
    }

    pub(super) async fn silence_replace(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: SilenceFields,
        now: DateTime<Utc>,
    ) -> MetaResult<Silence> {
        self.check_silenced_rule(org_id, fields.rule_id).await?;
        sqlx::query(concat!(
            "UPDATE silences SET rule_id = ?, matchers = ?, starts_at = ?, ends_at = ?, \
             comment = ?, updated_at = ? WHERE org_id = ? AND id = ? RETURNING ",
            silence_columns!()
        ))
        .bind(fields.rule_id.map(|r| r.to_string()))
        .bind(matchers_json(&fields))
        .bind(ms(fields.starts_at))
        .bind(ms(fields.ends_at))
        .bind(&fields.comment)
        .bind(ms(now))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("silence"))
    }

    pub(super) async fn silence_delete(&self, org_id: Uuid, id: Uuid) -> MetaResult<Silence> {
        sqlx::query(concat!(
            "DELETE FROM silences WHERE org_id = ? AND id = ? RETURNING ",
            silence_columns!()
        ))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("silence"))
    }

    pub(super) async fn silence_active(
        &self,
        org_id: Uuid,
        rule_id: Uuid,
        at: DateTime<Utc>,
    ) -> MetaResult<Vec<Silence>> {
        sqlx::query(concat!(
            "SELECT ",
            silence_columns!(),
            " FROM silences WHERE org_id = ?1 AND (rule_id IS NULL OR rule_id = ?2) \
             AND starts_at <= ?3 AND ends_at > ?3 ORDER BY id"
        ))
        .bind(org_id.to_string())
        .bind(rule_id.to_string())
        .bind(ms(at))
        .fetch_all(&self.writer)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }
}
