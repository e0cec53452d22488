//! Annotations in SQLite: tags are a JSON array filtered with `json_each`, so the queries stay
//! static text with bound parameters whatever the number of tags asked for.

use super::{SqliteMetastore, ms, now_ms, opt_time, opt_uuid, time, uuid};
use crate::error::{MetaError, MetaResult};
use crate::model::{Actor, ActorKind, Annotation, AnnotationFields, AnnotationFilter, Page};
use anyhow::Context as _;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

fn from_row(row: &SqliteRow) -> MetaResult<Annotation> {
    let tags: String = row.try_get("tags")?;
    let kind: String = row.try_get("created_by_kind")?;
    Ok(Annotation {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        title: row.try_get("title")?,
        text: row.try_get("text")?,
        tags: serde_json::from_str(&tags)
            .with_context(|| format!("stored tags {tags:?} are not a JSON list"))
            .map_err(MetaError::Internal)?,
        time: time(row.try_get("time")?)?,
        time_end: opt_time(row.try_get("time_end")?)?,
        created_by: Actor {
            kind: if kind == "api_key" {
                ActorKind::ApiKey
            } else {
                ActorKind::User
            },
            id: opt_uuid(row, "created_by_id")?,
            name: row.try_get("created_by_name")?,
        },
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("a list of strings serialises")
}

impl SqliteMetastore {
    pub(super) async fn annotation_create(
        &self,
        org_id: Uuid,
        fields: AnnotationFields,
        created_by: Actor,
    ) -> MetaResult<Annotation> {
        let id = Uuid::now_v7();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO annotations (id, org_id, name, title, text, tags, time, time_end, \
             created_by_kind, created_by_id, created_by_name, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(&fields.name)
        .bind(&fields.title)
        .bind(&fields.text)
        .bind(tags_json(&fields.tags))
        .bind(ms(fields.time))
        .bind(fields.time_end.map(ms))
        .bind(created_by.kind.as_str())
        .bind(created_by.id.map(|i| i.to_string()))
        .bind(&created_by.name)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        self.annotation_get(org_id, id).await
    }

    pub(super) async fn annotation_list(
        &self,
        org_id: Uuid,
        filter: &AnnotationFilter,
        page: Page,
    ) -> MetaResult<Vec<Annotation>> {
        sqlx::query(
            "SELECT id, name, title, text, tags, time, time_end, created_by_kind, \
             created_by_id, created_by_name, created_at, updated_at \
             FROM annotations a WHERE org_id = ?1 \
             AND (?2 IS NULL OR coalesce(time_end, time) >= ?2) \
             AND (?3 IS NULL OR time <= ?3) \
             AND (?4 IS NULL OR name = ?4) \
             AND NOT EXISTS (SELECT 1 FROM json_each(?5) AS wanted \
                 WHERE wanted.value NOT IN (SELECT value FROM json_each(a.tags))) \
             AND (?6 IS NULL OR (time, id) < \
                 (SELECT time, id FROM annotations WHERE org_id = ?1 AND id = ?6)) \
             ORDER BY time DESC, id DESC LIMIT ?7",
        )
        .bind(org_id.to_string())
        .bind(filter.from.map(ms))
        .bind(filter.to.map(ms))
        .bind(&filter.name)
        .bind(tags_json(&filter.tags))
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    pub(super) async fn annotation_get(&self, org_id: Uuid, id: Uuid) -> MetaResult<Annotation> {
        sqlx::query(
            "SELECT id, name, title, text, tags, time, time_end, created_by_kind, \
             created_by_id, created_by_name, created_at, updated_at \
             FROM annotations WHERE org_id = ? AND id = ?",
        )
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("annotation"))
    }

    pub(super) async fn annotation_replace(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: AnnotationFields,
    ) -> MetaResult<Annotation> {
        let changed = sqlx::query(
            "UPDATE annotations SET name = ?, title = ?, text = ?, tags = ?, time = ?, \
             time_end = ?, updated_at = ? WHERE org_id = ? AND id = ?",
        )
        .bind(&fields.name)
        .bind(&fields.title)
        .bind(&fields.text)
        .bind(tags_json(&fields.tags))
        .bind(ms(fields.time))
        .bind(fields.time_end.map(ms))
        .bind(now_ms())
        .bind(org_id.to_string())
        .bind(id.to_string())
        .execute(&self.writer)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(MetaError::NotFound("annotation"));
        }
        // Read through the writer: the change must be visible to this answer.
        sqlx::query(
            "SELECT id, name, title, text, tags, time, time_end, created_by_kind, \
             created_by_id, created_by_name, created_at, updated_at \
             FROM annotations WHERE org_id = ? AND id = ?",
        )
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_one(&self.writer)
        .await
        .map_err(MetaError::from)
        .and_then(|row| from_row(&row))
    }

    pub(super) async fn annotation_delete(&self, org_id: Uuid, id: Uuid) -> MetaResult<Annotation> {
        let row = sqlx::query(
            "DELETE FROM annotations WHERE org_id = ? AND id = ? RETURNING id, name, title, \
             text, tags, time, time_end, created_by_kind, created_by_id, created_by_name, \
             created_at, updated_at",
        )
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref()
            .map(from_row)
            .transpose()?
            .ok_or(MetaError::NotFound("annotation"))
    }
}
