//! Saved queries and dashboards (with versions) in SQLite. A dashboard save is one
//! transaction on the single writer: an `UPDATE … WHERE version = ?` that only the save of the
//! current version can win, the version row, and the pruning of versions past the cap. Tags
//! are JSON arrays filtered with `json_each`; `q` matches a case-folded copy of the name.

use super::{SqliteMetastore, now_ms, time, uuid};
use crate::DashboardStore;
use crate::error::{MetaError, MetaResult};
use crate::model::{
    Dashboard, DashboardCaps, DashboardDoc, DashboardSummary, DashboardVersion,
    DashboardVersionInfo, Page, SavedQuery, SavedQueryFields, SearchFilter, VersionedWrite,
};
use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

/// The saved-query columns every query reads (a macro so queries stay `&'static str`).
macro_rules! saved_query_columns {
    () => {
        "id, name, description, query, tags, created_by, created_at, updated_at"
    };
}

macro_rules! dashboard_columns {
    () => {
        "id, title, description, tags, version, document, created_by, updated_by, created_at, \
         updated_at"
    };
}

fn json_column<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> MetaResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .with_context(|| format!("stored {column} is not the expected JSON: {text:.200}"))
        .map_err(MetaError::Internal)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialise to JSON")
}

fn version(row: &SqliteRow, column: &str) -> MetaResult<u32> {
    let v: i64 = row.try_get(column)?;
    u32::try_from(v)
        .with_context(|| format!("stored version {v} is out of range"))
        .map_err(MetaError::Internal)
}

/// Case-folded text for the `q` filter, Unicode-aware (SQLite's `lower` knows only ASCII).
fn fold(text: &str) -> String {
    text.to_lowercase()
}

fn saved_query_from_row(row: &SqliteRow) -> MetaResult<SavedQuery> {
    Ok(SavedQuery {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        query: row.try_get("query")?,
        tags: json_column(row, "tags")?,
        created_by: row.try_get("created_by")?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn dashboard_from_row(row: &SqliteRow) -> MetaResult<Dashboard> {
    Ok(Dashboard {
        id: uuid(row, "id")?,
        doc: json_column(row, "document")?,
        version: version(row, "version")?,
        created_by: row.try_get("created_by")?,
        updated_by: row.try_get("updated_by")?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn summary_from_row(row: &SqliteRow) -> MetaResult<DashboardSummary> {
    Ok(DashboardSummary {
        id: uuid(row, "id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        tags: json_column(row, "tags")?,
        version: version(row, "version")?,
        created_by: row.try_get("created_by")?,
        updated_by: row.try_get("updated_by")?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn version_info_from_row(row: &SqliteRow) -> MetaResult<DashboardVersionInfo> {
    Ok(DashboardVersionInfo {
        version: version(row, "version")?,
        created_by: row.try_get("created_by")?,
        created_at: time(row.try_get("created_at")?)?,
        restored_from: row
            .try_get::<Option<i64>, _>("restored_from")?
            .map(|v| u32::try_from(v).unwrap_or(0)),
    })
}

fn too_many(code: &'static str, what: &str, max: u32) -> MetaError {
    MetaError::Conflict {
        code,
        message: format!(
            "the organization already has {max} {what}, the most it may keep; delete some first"
        ),
    }
}

/// The org's saved query read through `conn` (the writer, right after a change).
async fn fetch_saved_query(
    conn: &mut sqlx::SqliteConnection,
    org_id: Uuid,
    id: Uuid,
) -> MetaResult<SavedQuery> {
    sqlx::query(concat!(
        "SELECT ",
        saved_query_columns!(),
        " FROM saved_queries WHERE org_id = ? AND id = ?"
    ))
    .bind(org_id.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(saved_query_from_row)
    .transpose()?
    .ok_or(MetaError::NotFound("saved query"))
}

async fn fetch_dashboard(
    conn: &mut sqlx::SqliteConnection,
    org_id: Uuid,
    id: Uuid,
) -> MetaResult<Dashboard> {
    sqlx::query(concat!(
        "SELECT ",
        dashboard_columns!(),
        " FROM dashboards WHERE org_id = ? AND id = ?"
    ))
    .bind(org_id.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(dashboard_from_row)
    .transpose()?
    .ok_or(MetaError::NotFound("dashboard"))
}

/// Records `doc` as `version` of the dashboard and deletes versions past the cap.
#[allow(clippy::too_many_arguments)]
async fn keep_version(
    conn: &mut sqlx::SqliteConnection,
    org_id: Uuid,
    id: Uuid,
    version: u32,
    document: &str,
    by: &str,
    at: i64,
    restored_from: Option<u32>,
    caps: DashboardCaps,
) -> MetaResult<()> {
    sqlx::query(
        "INSERT INTO dashboard_versions (dashboard_id, org_id, version, document, created_by, \
         created_at, restored_from) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(org_id.to_string())
    .bind(i64::from(version))
    .bind(document)
    .bind(by)
    .bind(at)
    .bind(restored_from.map(i64::from))
    .execute(&mut *conn)
    .await?;
    let oldest_kept = i64::from(version) - i64::from(caps.versions_kept.max(1)) + 1;
    sqlx::query(
        "DELETE FROM dashboard_versions WHERE org_id = ? AND dashboard_id = ? AND version < ?",
    )
    .bind(org_id.to_string())
    .bind(id.to_string())
    .bind(oldest_kept)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqliteMetastore {
    /// Saves `doc` as the version after `expected` (compare-and-set on the row), keeping the
    /// version row, in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn save_dashboard(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<u32>,
        doc: Option<DashboardDoc>,
        restore: Option<u32>,
        by: &str,
        caps: DashboardCaps,
    ) -> MetaResult<VersionedWrite<Dashboard>> {
        let mut tx = self.writer.begin().await?;
        let current = fetch_dashboard(&mut tx, org_id, id).await?;
        let expected = expected.unwrap_or(current.version);
        if expected != current.version {
            return Ok(VersionedWrite::Stale {
                current: current.version,
            });
        }
        let doc = match (doc, restore) {
            (Some(doc), _) => doc,
            (None, Some(n)) => {
                let text: String = sqlx::query_scalar(
                    "SELECT document FROM dashboard_versions \
                     WHERE org_id = ? AND dashboard_id = ? AND version = ?",
                )
                .bind(org_id.to_string())
                .bind(id.to_string())
                .bind(i64::from(n))
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(MetaError::NotFound("dashboard version"))?;
                serde_json::from_str(&text)
                    .context("a stored dashboard version is not a document")
                    .map_err(MetaError::Internal)?
            }
            (None, None) => unreachable!("a save has a document or a version to restore"),
        };
        let document = to_json(&doc);
        let now = now_ms();
        // The version check is part of the write: of two saves of the same version, the
        // second finds the row moved on and changes nothing.
        let next: Option<i64> = sqlx::query_scalar(
            "UPDATE dashboards SET title = ?, title_folded = ?, description = ?, tags = ?, \
             document = ?, version = version + 1, updated_by = ?, updated_at = ? \
             WHERE org_id = ? AND id = ? AND version = ? RETURNING version",
        )
        .bind(&doc.title)
        .bind(fold(&doc.title))
        .bind(&doc.description)
        .bind(to_json(&doc.tags))
        .bind(&document)
        .bind(by)
        .bind(now)
        .bind(org_id.to_string())
        .bind(id.to_string())
        .bind(i64::from(expected))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(next) = next else {
            let current: i64 =
                sqlx::query_scalar("SELECT version FROM dashboards WHERE org_id = ? AND id = ?")
                    .bind(org_id.to_string())
                    .bind(id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
            return Ok(VersionedWrite::Stale {
                current: u32::try_from(current).unwrap_or(u32::MAX),
            });
        };
        let next = u32::try_from(next).context("version out of range")?;
        keep_version(&mut tx, org_id, id, next, &document, by, now, restore, caps).await?;
        let saved = fetch_dashboard(&mut tx, org_id, id).await?;
        tx.commit().await?;
        Ok(VersionedWrite::Written(saved))
    }
}

#[async_trait]
impl DashboardStore for SqliteMetastore {
    async fn create_saved_query(
        &self,
        org_id: Uuid,
        fields: SavedQueryFields,
        created_by: &str,
        max_per_org: u32,
    ) -> MetaResult<SavedQuery> {
        let id = Uuid::now_v7();
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM saved_queries WHERE org_id = ?")
            .bind(org_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if count >= i64::from(max_per_org) {
            return Err(too_many(
                "too_many_saved_queries",
                "saved queries",
                max_per_org,
            ));
        }
        sqlx::query(
            "INSERT INTO saved_queries (id, org_id, name, name_folded, description, query, tags, \
             created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(&fields.name)
        .bind(fold(&fields.name))
        .bind(&fields.description)
        .bind(&fields.query)
        .bind(to_json(&fields.tags))
        .bind(created_by)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let saved = fetch_saved_query(&mut tx, org_id, id).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn list_saved_queries(
        &self,
        org_id: Uuid,
        filter: &SearchFilter,
        page: Page,
    ) -> MetaResult<Vec<SavedQuery>> {
        sqlx::query(concat!(
            "SELECT ",
            saved_query_columns!(),
            " FROM saved_queries s WHERE org_id = ?1 \
             AND (?2 IS NULL OR instr(name_folded, ?2) > 0) \
             AND NOT EXISTS (SELECT 1 FROM json_each(?3) AS wanted \
                 WHERE wanted.value NOT IN (SELECT value FROM json_each(s.tags))) \
             AND (?4 IS NULL OR id < ?4) \
             ORDER BY id DESC LIMIT ?5"
        ))
        .bind(org_id.to_string())
        .bind(filter.q.as_deref().map(fold))
        .bind(to_json(&filter.tags))
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(saved_query_from_row)
        .collect()
    }

    async fn get_saved_query(&self, org_id: Uuid, id: Uuid) -> MetaResult<SavedQuery> {
        let mut conn = self.reader.acquire().await?;
        fetch_saved_query(&mut conn, org_id, id).await
    }

    async fn replace_saved_query(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: SavedQueryFields,
    ) -> MetaResult<SavedQuery> {
        let mut tx = self.writer.begin().await?;
        let changed = sqlx::query(
            "UPDATE saved_queries SET name = ?, name_folded = ?, description = ?, query = ?, \
             tags = ?, updated_at = ? WHERE org_id = ? AND id = ?",
        )
        .bind(&fields.name)
        .bind(fold(&fields.name))
        .bind(&fields.description)
        .bind(&fields.query)
        .bind(to_json(&fields.tags))
        .bind(now_ms())
        .bind(org_id.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(MetaError::NotFound("saved query"));
        }
        let saved = fetch_saved_query(&mut tx, org_id, id).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn delete_saved_query(&self, org_id: Uuid, id: Uuid) -> MetaResult<SavedQuery> {
        sqlx::query(concat!(
            "DELETE FROM saved_queries WHERE org_id = ? AND id = ? RETURNING ",
            saved_query_columns!()
        ))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(saved_query_from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("saved query"))
    }

    async fn create_dashboard(
        &self,
        org_id: Uuid,
        doc: DashboardDoc,
        created_by: &str,
        caps: DashboardCaps,
    ) -> MetaResult<Dashboard> {
        let id = Uuid::now_v7();
        let now = now_ms();
        let document = to_json(&doc);
        let mut tx = self.writer.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM dashboards WHERE org_id = ?")
            .bind(org_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if count >= i64::from(caps.per_org) {
            return Err(too_many("too_many_dashboards", "dashboards", caps.per_org));
        }
        sqlx::query(
            "INSERT INTO dashboards (id, org_id, title, title_folded, description, tags, version, \
             document, created_by, updated_by, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(&doc.title)
        .bind(fold(&doc.title))
        .bind(&doc.description)
        .bind(to_json(&doc.tags))
        .bind(&document)
        .bind(created_by)
        .bind(created_by)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        keep_version(
            &mut tx, org_id, id, 1, &document, created_by, now, None, caps,
        )
        .await?;
        let dashboard = fetch_dashboard(&mut tx, org_id, id).await?;
        tx.commit().await?;
        Ok(dashboard)
    }

    async fn list_dashboards(
        &self,
        org_id: Uuid,
        filter: &SearchFilter,
        page: Page,
    ) -> MetaResult<Vec<DashboardSummary>> {
        sqlx::query(
            "SELECT id, title, description, tags, version, created_by, updated_by, created_at, \
             updated_at FROM dashboards d WHERE org_id = ?1 \
             AND (?2 IS NULL OR instr(title_folded, ?2) > 0) \
             AND NOT EXISTS (SELECT 1 FROM json_each(?3) AS wanted \
                 WHERE wanted.value NOT IN (SELECT value FROM json_each(d.tags))) \
             AND (?4 IS NULL OR id < ?4) \
             ORDER BY id DESC LIMIT ?5",
        )
        .bind(org_id.to_string())
        .bind(filter.q.as_deref().map(fold))
        .bind(to_json(&filter.tags))
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(summary_from_row)
        .collect()
    }

    async fn get_dashboard(&self, org_id: Uuid, id: Uuid) -> MetaResult<Dashboard> {
        let mut conn = self.reader.acquire().await?;
        fetch_dashboard(&mut conn, org_id, id).await
    }

    async fn update_dashboard(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: u32,
        doc: DashboardDoc,
        updated_by: &str,
        caps: DashboardCaps,
    ) -> MetaResult<VersionedWrite<Dashboard>> {
        self.save_dashboard(
            org_id,
            id,
            Some(expected),
            Some(doc),
            None,
            updated_by,
            caps,
        )
        .await
    }

    async fn restore_dashboard_version(
        &self,
        org_id: Uuid,
        id: Uuid,
        version: u32,
        expected: Option<u32>,
        updated_by: &str,
        caps: DashboardCaps,
    ) -> MetaResult<VersionedWrite<Dashboard>> {
        self.save_dashboard(org_id, id, expected, None, Some(version), updated_by, caps)
            .await
    }

    async fn delete_dashboard(&self, org_id: Uuid, id: Uuid) -> MetaResult<Dashboard> {
        // Versions go with the row (ON DELETE CASCADE).
        sqlx::query(concat!(
            "DELETE FROM dashboards WHERE org_id = ? AND id = ? RETURNING ",
            dashboard_columns!()
        ))
        .bind(org_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(dashboard_from_row)
        .transpose()?
        .ok_or(MetaError::NotFound("dashboard"))
    }

    async fn list_dashboard_versions(
        &self,
        org_id: Uuid,
        id: Uuid,
        limit: u32,
        before: Option<u32>,
    ) -> MetaResult<Vec<DashboardVersionInfo>> {
        let mut tx = self.reader.begin().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM dashboards WHERE org_id = ? AND id = ?")
                .bind(org_id.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(MetaError::NotFound("dashboard"));
        }
        sqlx::query(
            "SELECT version, created_by, created_at, restored_from FROM dashboard_versions \
             WHERE org_id = ?1 AND dashboard_id = ?2 AND (?3 IS NULL OR version < ?3) \
             ORDER BY version DESC LIMIT ?4",
        )
        .bind(org_id.to_string())
        .bind(id.to_string())
        .bind(before.map(i64::from))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(version_info_from_row)
        .collect()
    }

    async fn get_dashboard_version(
        &self,
        org_id: Uuid,
        id: Uuid,
        version: u32,
    ) -> MetaResult<DashboardVersion> {
        let row = sqlx::query(
            "SELECT version, document, created_by, created_at, restored_from \
             FROM dashboard_versions WHERE org_id = ? AND dashboard_id = ? AND version = ?",
        )
        .bind(org_id.to_string())
        .bind(id.to_string())
        .bind(i64::from(version))
        .fetch_optional(&self.reader)
        .await?
        .ok_or(MetaError::NotFound("dashboard version"))?;
        Ok(DashboardVersion {
            dashboard_id: id,
            info: version_info_from_row(&row)?,
            document: json_column(&row, "document")?,
        })
    }
}
