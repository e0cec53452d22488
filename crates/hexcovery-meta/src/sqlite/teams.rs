//! Teams in SQLite. Members are users of the team's org only: an id from another org is
//! refused exactly like one that does not exist.

use super::{SqliteMetastore, conflict_or_internal, now_ms, time, uuid};
use crate::error::{MetaError, MetaResult};
use crate::model::{Team, TeamMember, TeamPatch};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

async fn load(tx: &mut Transaction<'_, Sqlite>, org_id: Uuid, id: Uuid) -> MetaResult<Team> {
    let row = sqlx::query(
        "SELECT id, name, created_at, updated_at FROM teams WHERE org_id = ? AND id = ?",
    )
    .bind(org_id.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(MetaError::NotFound("team"))?;
    let members = sqlx::query(
        "SELECT u.id, u.email, u.name FROM team_members m JOIN users u ON u.id = m.user_id \
         WHERE m.team_id = ? ORDER BY u.email",
    )
    .bind(id.to_string())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|m| {
        Ok(TeamMember {
            user_id: uuid(m, "id")?,
            email: m.try_get("email")?,
            name: m.try_get("name")?,
        })
    })
    .collect::<MetaResult<Vec<_>>>()?;
    Ok(Team {
        id: uuid(&row, "id")?,
        name: row.try_get("name")?,
        members,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

impl SqliteMetastore {
    pub(super) async fn team_create(&self, org_id: Uuid, name: &str) -> MetaResult<Team> {
        let id = Uuid::now_v7();
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO teams (id, org_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or_internal)?;
        let team = load(&mut tx, org_id, id).await?;
        tx.commit().await?;
        Ok(team)
    }

    pub(super) async fn team_list(&self, org_id: Uuid) -> MetaResult<Vec<Team>> {
        let mut tx = self.reader.begin().await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM teams WHERE org_id = ? ORDER BY name")
                .bind(org_id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        let mut teams = Vec::with_capacity(ids.len());
        for id in ids {
            let id = Uuid::parse_str(&id).map_err(|e| MetaError::Internal(e.into()))?;
            teams.push(load(&mut tx, org_id, id).await?);
        }
        Ok(teams)
    }

    pub(super) async fn team_update(
        &self,
        org_id: Uuid,
        id: Uuid,
        patch: TeamPatch,
    ) -> MetaResult<Team> {
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        load(&mut tx, org_id, id).await?;
        if let Some(name) = &patch.name {
            sqlx::query("UPDATE teams SET name = ?, updated_at = ? WHERE org_id = ? AND id = ?")
                .bind(name)
                .bind(now)
                .bind(org_id.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(conflict_or_internal)?;
        }
        for user in &patch.add_members {
            let in_org: Option<String> =
                sqlx::query_scalar("SELECT id FROM users WHERE org_id = ? AND id = ?")
                    .bind(org_id.to_string())
                    .bind(user.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            if in_org.is_none() {
                return Err(MetaError::NotFound("user"));
            }
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, added_at) VALUES (?, ?, ?) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id.to_string())
            .bind(user.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for user in &patch.remove_members {
            sqlx::query("DELETE FROM team_members WHERE team_id = ? AND user_id = ?")
                .bind(id.to_string())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE teams SET updated_at = ? WHERE id = ?")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let team = load(&mut tx, org_id, id).await?;
        tx.commit().await?;
        Ok(team)
    }

    pub(super) async fn team_delete(&self, org_id: Uuid, id: Uuid) -> MetaResult<()> {
        let deleted = sqlx::query("DELETE FROM teams WHERE org_id = ? AND id = ?")
            .bind(org_id.to_string())
            .bind(id.to_string())
            .execute(&self.writer)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(MetaError::NotFound("team"));
        }
        Ok(())
    }
}
