//! The embedded SQLite metastore. Writes go through a single connection (SQLite allows one
//! writer; queueing in the pool is cheaper than lock-upgrade retries); reads use a small pool
//! of read-only connections, which WAL mode lets run beside the writer.

mod alerts;
mod annotations;
mod dashboards;
mod heartbeats;
mod notifications;
mod outbox;
mod silences;
mod teams;
mod totp;

use crate::Metastore;
use crate::error::{MetaError, MetaResult};
use crate::model::*;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use hexcovery_auth::Role;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// Last-used timestamps are refreshed at most this often, so hot credentials do not turn
/// every request into a write.
const TOUCH_INTERVAL_MS: i64 = 60_000;

pub struct SqliteMetastore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn now_ms() -> i64 {
    ms(Utc::now())
}

fn time(ms: i64) -> MetaResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| MetaError::Internal(anyhow::anyhow!("stored time {ms} is out of range")))
}

fn opt_time(ms: Option<i64>) -> MetaResult<Option<DateTime<Utc>>> {
    ms.map(time).transpose()
}

fn uuid(row: &SqliteRow, column: &str) -> MetaResult<Uuid> {
    let text: String = row.try_get(column)?;
    Uuid::parse_str(&text)
        .with_context(|| format!("stored id {text:?} in column {column} is not a UUID"))
        .map_err(MetaError::Internal)
}

fn opt_uuid(row: &SqliteRow, column: &str) -> MetaResult<Option<Uuid>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        Uuid::parse_str(&t)
            .with_context(|| format!("stored id {t:?} in column {column} is not a UUID"))
            .map_err(MetaError::Internal)
    })
    .transpose()
}

fn org_from_row(row: &SqliteRow) -> MetaResult<Org> {
    Ok(Org {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        email: row.try_get("email")?,
        retention_days: row
            .try_get::<i64, _>("retention_days")?
            .clamp(0, i64::from(u32::MAX)) as u32,
        error_rate_thresholds: ErrorRateThresholds {
            warning: row.try_get("error_rate_warning")?,
            critical: row.try_get("error_rate_critical")?,
        },
        ai_provider: match row.try_get::<Option<String>, _>("ai_provider")? {
            Some(provider) => Some(AiProvider {
                provider,
                model: row
                    .try_get::<Option<String>, _>("ai_model")?
                    .unwrap_or_default(),
                base_url: row.try_get("ai_base_url")?,
                api_key: if row.try_get::<Option<String>, _>("ai_key_sealed")?.is_some() {
                    "set"
                } else {
                    "not set"
                },
            }),
            None => None,
        },
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn user_from_row(row: &SqliteRow) -> MetaResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role
            .parse()
            .map_err(|e: hexcovery_auth::UnknownRole| MetaError::Internal(e.into()))?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

fn session_from_row(row: &SqliteRow) -> MetaResult<Session> {
    Ok(Session {
        id: uuid(row, "id")?,
        user_id: uuid(row, "user_id")?,
        created_at: time(row.try_get("created_at")?)?,
        last_seen_at: time(row.try_get("last_seen_at")?)?,
        expires_at: time(row.try_get("expires_at")?)?,
        client_addr: row.try_get("client_addr")?,
        user_agent: row.try_get("user_agent")?,
    })
}

fn api_key_from_row(row: &SqliteRow) -> MetaResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: time(row.try_get("created_at")?)?,
        created_by: CreatedBy {
            user_id: opt_uuid(row, "created_by_user_id")?,
            name: row.try_get("created_by_name")?,
        },
        last_used_at: opt_time(row.try_get("last_used_at")?)?,
    })
}

fn audit_from_row(row: &SqliteRow) -> MetaResult<AuditEvent> {
    let kind: String = row.try_get("actor_kind")?;
    let outcome: String = row.try_get("outcome")?;
    let detail: Option<String> = row.try_get("detail")?;
    Ok(AuditEvent {
        id: uuid(row, "id")?,
        time: time(row.try_get("time")?)?,
        actor: Actor {
            kind: match kind.as_str() {
                "user" => ActorKind::User,
                "api_key" => ActorKind::ApiKey,
                _ => ActorKind::Anonymous,
            },
            id: opt_uuid(row, "actor_id")?,
            name: row.try_get("actor_name")?,
        },
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        outcome: if outcome == "success" {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        client_addr: row.try_get("client_addr")?,
        detail: detail
            .map(|d| serde_json::from_str(&d).context("stored audit detail is not JSON"))
            .transpose()?,
    })
}

fn invite_from_row(row: &SqliteRow, now: DateTime<Utc>) -> MetaResult<Invite> {
    let role: String = row.try_get("role")?;
    let expires_at = time(row.try_get("expires_at")?)?;
    let accepted: Option<i64> = row.try_get("accepted_at")?;
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    let status = match (accepted, revoked) {
        (Some(_), _) => InviteStatus::Accepted,
        (None, Some(_)) => InviteStatus::Revoked,
        (None, None) if expires_at <= now => InviteStatus::Expired,
        (None, None) => InviteStatus::Pending,
    };
    Ok(Invite {
        id: uuid(row, "id")?,
        email: row.try_get("email")?,
        role: role
            .parse()
            .map_err(|e: hexcovery_auth::UnknownRole| MetaError::Internal(e.into()))?,
        status,
        created_at: time(row.try_get("created_at")?)?,
        expires_at,
        invited_by: CreatedBy {
            user_id: opt_uuid(row, "invited_by_user_id")?,
            name: row.try_get("invited_by_name")?,
        },
    })
}

fn email_taken() -> MetaError {
    MetaError::Conflict {
        code: "email_taken",
        message:
            "a user with this email already exists; a person belongs to exactly one organization"
                .into(),
    }
}

/// Maps a unique-constraint violation to a [`MetaError::Conflict`] naming the field.
fn conflict_or_internal(e: sqlx::Error) -> MetaError {
    if let Some(db) = e.as_database_error()
        && db.is_unique_violation()
    {
        let message = db.message();
        if message.contains("orgs.slug") {
            return MetaError::Conflict {
                code: "slug_taken",
                message: "an organization with this slug already exists".into(),
            };
        }
        if message.contains("users.email") {
            return email_taken();
        }
        if message.contains("teams.org_id, teams.name") || message.contains("teams.name") {
            return MetaError::Conflict {
                code: "team_name_taken",
                message: "the organization already has a team with this name".into(),
            };
        }
    }
    e.into()
}

impl SqliteMetastore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> MetaResult<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable in WAL mode except for the last transactions before a power
            // loss; FULL makes every commit survive power loss too, at a small write cost.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone().create_if_missing(true))
            .await
            .with_context(|| format!("opening the metastore at {}", path.display()))?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(base.read_only(true))
            .await
            .with_context(|| format!("opening the metastore at {}", path.display()))?;
        Ok(Self { writer, reader })
    }

    /// Waits for in-flight statements and closes the database cleanly.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn insert_user(
        conn: &mut sqlx::SqliteConnection,
        org_id: Uuid,
        new: NewUser,
        now: i64,
    ) -> MetaResult<User> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO users (id, org_id, email, name, role, password_hash, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(org_id.to_string())
        .bind(&new.email)
        .bind(&new.name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(now)
        .bind(now)
        .execute(conn)
        .await
        .map_err(conflict_or_internal)?;
        Ok(User {
            id,
            org_id,
            email: new.email,
            name: new.name,
            role: new.role,
            created_at: time(now)?,
            updated_at: time(now)?,
        })
    }

    async fn admin_count(conn: &mut sqlx::SqliteConnection, org_id: Uuid) -> MetaResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM users WHERE org_id = ? AND role = 'admin'")
                .bind(org_id.to_string())
                .fetch_one(conn)
                .await?,
        )
    }

    async fn fetch_user(
        conn: &mut sqlx::SqliteConnection,
        org_id: Uuid,
        user_id: Uuid,
    ) -> MetaResult<User> {
        let row = sqlx::query(
            "SELECT u.id, u.org_id, u.email, u.name, u.role, u.created_at, u.updated_at \
             FROM users u WHERE u.org_id = ? AND u.id = ?",
        )
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(MetaError::NotFound("user"))?;
        user_from_row(&row)
    }
}

#[async_trait]
impl Metastore for SqliteMetastore {
    async fn ping(&self) -> MetaResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn create_org_with_admin(&self, org: NewOrg, admin: NewUser) -> MetaResult<(Org, User)> {
        let now = now_ms();
        let org_id = Uuid::now_v7();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO orgs (id, name, slug, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(org_id.to_string())
        .bind(&org.name)
        .bind(&org.slug)
        .bind(&org.email)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or_internal)?;
        let user = Self::insert_user(&mut tx, org_id, admin, now).await?;
        tx.commit().await?;
        let created = time(now)?;
        Ok((
            Org {
                id: org_id,
                name: org.name,
                slug: org.slug,
                email: org.email,
                retention_days: 30,
                error_rate_thresholds: ErrorRateThresholds {
                    warning: 1.0,
                    critical: 5.0,
                },
                ai_provider: None,
                created_at: created,
                updated_at: created,
            },
            user,
        ))
    }

    async fn get_org(&self, org_id: Uuid) -> MetaResult<Org> {
        let row = sqlx::query(
            "SELECT id, name, slug, email, retention_days, error_rate_warning, error_rate_critical, \
             ai_provider, ai_model, ai_base_url, ai_key_sealed, created_at, updated_at FROM orgs WHERE id = ?",
        )
        .bind(org_id.to_string())
        .fetch_optional(&self.reader)
        .await?
        .ok_or(MetaError::NotFound("organization"))?;
        org_from_row(&row)
    }

    async fn update_org(&self, org_id: Uuid, patch: OrgPatch) -> MetaResult<Org> {
        // ai: 0 leaves the provider, 1 sets it (keeping the stored key when none is given),
        // 2 removes it.
        let (ai, settings) = match patch.ai_provider {
            None => (0, None),
            Some(Some(settings)) => (1, Some(settings)),
            Some(None) => (2, None),
        };
        let row = sqlx::query(
            "UPDATE orgs SET name = coalesce(?1, name), slug = coalesce(?2, slug), \
             email = coalesce(?3, email), retention_days = coalesce(?4, retention_days), \
             error_rate_warning = coalesce(?5, error_rate_warning), \
             error_rate_critical = coalesce(?6, error_rate_critical), \
             ai_provider = CASE ?7 WHEN 1 THEN ?8 WHEN 2 THEN NULL ELSE ai_provider END, \
             ai_model = CASE ?7 WHEN 1 THEN ?9 WHEN 2 THEN NULL ELSE ai_model END, \
             ai_base_url = CASE ?7 WHEN 1 THEN ?10 WHEN 2 THEN NULL ELSE ai_base_url END, \
             ai_key_sealed = CASE ?7 WHEN 1 THEN coalesce(?11, ai_key_sealed) WHEN 2 THEN NULL ELSE ai_key_sealed END, \
             updated_at = ?12 WHERE id = ?13 \
             RETURNING id, name, slug, email, retention_days, error_rate_warning, error_rate_critical, \
             ai_provider, ai_model, ai_base_url, ai_key_sealed, created_at, updated_at",
        )
        .bind(patch.name)
        .bind(patch.slug)
        .bind(patch.email)
        .bind(patch.retention_days.map(i64::from))
        .bind(patch.error_rate_thresholds.map(|t| t.warning))
        .bind(patch.error_rate_thresholds.map(|t| t.critical))
        .bind(ai)
        .bind(settings.as_ref().map(|s| s.provider.clone()))
        .bind(settings.as_ref().map(|s| s.model.clone()))
        .bind(settings.as_ref().and_then(|s| s.base_url.clone()))
        .bind(settings.as_ref().and_then(|s| s.api_key_sealed.clone()))
        .bind(now_ms())
        .bind(org_id.to_string())
        .fetch_optional(&self.writer)
        .await
        .map_err(conflict_or_internal)?
        .ok_or(MetaError::NotFound("organization"))?;
        org_from_row(&row)
    }

    async fn count_orgs(&self) -> MetaResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orgs")
            .fetch_one(&self.reader)
            .await?;
        Ok(n.max(0) as u64)
    }

    async fn list_retention(&self) -> MetaResult<Vec<(Uuid, u32)>> {
        sqlx::query("SELECT id, retention_days FROM orgs")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| {
                let days: i64 = row.try_get("retention_days")?;
                Ok((uuid(row, "id")?, days.clamp(0, i64::from(u32::MAX)) as u32))
            })
            .collect()
    }

    async fn find_user_for_login(&self, email: &str) -> MetaResult<Option<(User, String)>> {
        let row = sqlx::query(
            "SELECT u.id, u.org_id, u.email, u.name, u.role, u.created_at, u.updated_at, \
             u.password_hash FROM users u WHERE u.email = ?",
        )
        .bind(email)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    async fn list_users(&self, org_id: Uuid) -> MetaResult<Vec<User>> {
        sqlx::query(
            "SELECT u.id, u.org_id, u.email, u.name, u.role, u.created_at, u.updated_at \
             FROM users u WHERE u.org_id = ? ORDER BY u.id DESC",
        )
        .bind(org_id.to_string())
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(user_from_row)
        .collect()
    }

    async fn get_user(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<User> {
        let mut conn = self.reader.acquire().await?;
        Self::fetch_user(&mut conn, org_id, user_id).await
    }

    async fn set_user_role(&self, org_id: Uuid, user_id: Uuid, role: Role) -> MetaResult<User> {
        let mut tx = self.writer.begin().await?;
        let user = Self::fetch_user(&mut tx, org_id, user_id).await?;
        if user.role == Role::Admin
            && role != Role::Admin
            && Self::admin_count(&mut tx, org_id).await? <= 1
        {
            return Err(MetaError::LastAdmin);
        }
        let now = now_ms();
        // The last-admin rule is part of the statement, so a demotion racing another one
        // cannot leave the org without an admin whatever the backend's writers do.
        let changed = sqlx::query(
            "UPDATE users SET role = ?, updated_at = ? WHERE org_id = ? AND id = ? \
             AND (role != 'admin' OR ? = 'admin' \
                  OR (SELECT count(*) FROM users WHERE org_id = ? AND role = 'admin') > 1)",
        )
        .bind(role.as_str())
        .bind(now)
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .bind(role.as_str())
        .bind(org_id.to_string())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(MetaError::LastAdmin);
        }
        tx.commit().await?;
        Ok(User {
            role,
            updated_at: time(now)?,
            ..user
        })
    }

    async fn delete_user(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<User> {
        let mut tx = self.writer.begin().await?;
        let user = Self::fetch_user(&mut tx, org_id, user_id).await?;
        if user.role == Role::Admin && Self::admin_count(&mut tx, org_id).await? <= 1 {
            return Err(MetaError::LastAdmin);
        }
        // Sessions and refresh tokens go with the user (ON DELETE CASCADE). The last-admin
        // rule is part of the statement, as in `set_user_role`.
        let deleted = sqlx::query(
            "DELETE FROM users WHERE org_id = ? AND id = ? \
             AND (role != 'admin' \
                  OR (SELECT count(*) FROM users WHERE org_id = ? AND role = 'admin') > 1)",
        )
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .bind(org_id.to_string())
        .execute(&mut *tx)
        .await?;
        if deleted.rows_affected() != 1 {
            return Err(MetaError::LastAdmin);
        }
        tx.commit().await?;
        Ok(user)
    }

    async fn create_session(&self, user: &User, new: NewSession) -> MetaResult<Session> {
        let now = now_ms();
        let id = Uuid::now_v7();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, org_id, user_id, created_at, last_seen_at, expires_at, client_addr, user_agent) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(user.org_id.to_string())
        .bind(user.id.to_string())
        .bind(now)
        .bind(now)
        .bind(ms(new.expires_at))
        .bind(&new.client_addr)
        .bind(&new.user_agent)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_digest, session_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(&new.refresh_token_digest)
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Session {
            id,
            user_id: user.id,
            created_at: time(now)?,
            last_seen_at: time(now)?,
            expires_at: new.expires_at,
            client_addr: new.client_addr,
            user_agent: new.user_agent,
        })
    }

    async fn live_session(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<Option<SessionPrincipal>> {
        let row = sqlx::query(
            "SELECT u.id, u.org_id, u.email, u.name, u.role, u.created_at, u.updated_at, \
             s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
        )
        .bind(session_id.to_string())
        .bind(ms(now))
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = row.try_get("last_seen_at")?;
        if ms(now) - last_seen > TOUCH_INTERVAL_MS {
            sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ?")
                .bind(ms(now))
                .bind(session_id.to_string())
                .execute(&self.writer)
                .await?;
        }
        Ok(Some(SessionPrincipal {
            session_id,
            user: user_from_row(&row)?,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        presented_digest: &str,
        new_digest: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<RefreshOutcome> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(
            "SELECT rt.session_id, rt.used_at, s.revoked_at, s.expires_at, s.org_id, s.user_id \
             FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id \
             WHERE rt.token_digest = ?",
        )
        .bind(presented_digest)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        let session_id = uuid(&row, "session_id")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if revoked_at.is_some() || expires_at <= ms(now) {
            return Ok(RefreshOutcome::Invalid);
        }
        let user = Self::fetch_user(&mut tx, uuid(&row, "org_id")?, uuid(&row, "user_id")?).await?;
        let principal = SessionPrincipal { session_id, user };
        if used_at.is_some() {
            // A used token came back: someone holds a copy. End the session for everyone.
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ?")
                .bind(ms(now))
                .bind(session_id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused(principal));
        }
        // Conditional: of two refreshes with one token, only one marks it used; the other
        // finds it taken and is a reuse. The check holds with concurrent writers (a second
        // backend's row lock re-evaluates the condition), not only under SQLite's one writer.
        let marked = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ? WHERE token_digest = ? AND used_at IS NULL",
        )
        .bind(ms(now))
        .bind(presented_digest)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() != 1 {
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ?")
                .bind(ms(now))
                .bind(session_id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused(principal));
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_digest, session_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(new_digest)
        .bind(session_id.to_string())
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ?")
            .bind(ms(now))
            .bind(session_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated(principal))
    }

    async fn list_sessions(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<Session>> {
        sqlx::query(
            "SELECT id, user_id, created_at, last_seen_at, expires_at, client_addr, user_agent \
             FROM sessions WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ? \
             ORDER BY id DESC",
        )
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .bind(ms(now))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn revoke_session(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<()> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND org_id = ? AND user_id = ? \
             AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(ms(now))
        .bind(session_id.to_string())
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .bind(ms(now))
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(MetaError::NotFound("session"));
        }
        Ok(())
    }

    async fn create_api_key(&self, new: NewApiKey) -> MetaResult<ApiKeyRecord> {
        let id = Uuid::now_v7();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO api_keys (id, org_id, name, prefix, key_digest, created_at, created_by_user_id, created_by_name) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(new.org_id.to_string())
        .bind(&new.name)
        .bind(&new.prefix)
        .bind(&new.key_digest)
        .bind(now)
        .bind(new.created_by.user_id.map(|u| u.to_string()))
        .bind(&new.created_by.name)
        .execute(&self.writer)
        .await?;
        Ok(ApiKeyRecord {
            id,
            name: new.name,
            prefix: new.prefix,
            created_at: time(now)?,
            created_by: new.created_by,
            last_used_at: None,
        })
    }

    async fn list_api_keys(&self, org_id: Uuid, limit: u32) -> MetaResult<Vec<ApiKeyRecord>> {
        sqlx::query(
            "SELECT id, name, prefix, created_at, created_by_user_id, created_by_name, last_used_at \
             FROM api_keys WHERE org_id = ? AND revoked_at IS NULL ORDER BY id DESC LIMIT ?",
        )
        .bind(org_id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(api_key_from_row)
        .collect()
    }

    async fn revoke_api_key(
        &self,
        org_id: Uuid,
        key_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<ApiKeyRecord> {
        let row = sqlx::query(
            "UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL \
             RETURNING id, name, prefix, created_at, created_by_user_id, created_by_name, last_used_at",
        )
        .bind(ms(now))
        .bind(org_id.to_string())
        .bind(key_id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .ok_or(MetaError::NotFound("API key"))?;
        api_key_from_row(&row)
    }

    async fn authenticate_api_key(
        &self,
        key_digest: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<Option<ApiKeyPrincipal>> {
        let row = sqlx::query(
            "SELECT id, org_id, name, key_digest, last_used_at FROM api_keys \
             WHERE key_digest = ? AND revoked_at IS NULL",
        )
        .bind(key_digest)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("key_digest")?;
        if !hexcovery_auth::constant_time_eq(stored.as_bytes(), key_digest.as_bytes()) {
            return Ok(None);
        }
        let key_id = uuid(&row, "id")?;
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|t| ms(now) - t > TOUCH_INTERVAL_MS) {
            sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
                .bind(ms(now))
                .bind(key_id.to_string())
                .execute(&self.writer)
                .await?;
        }
        Ok(Some(ApiKeyPrincipal {
            key_id,
            org_id: uuid(&row, "org_id")?,
            name: row.try_get("name")?,
        }))
    }

    async fn create_invite(&self, new: NewInvite, now: DateTime<Utc>) -> MetaResult<Invite> {
        let mut tx = self.writer.begin().await?;
        let has_account: bool =
            sqlx::query_scalar("SELECT EXISTS(SELECT 1 FROM users WHERE email = ?)")
                .bind(&new.email)
                .fetch_one(&mut *tx)
                .await?;
        if has_account {
            return Err(email_taken());
        }
        let pending: bool = sqlx::query_scalar(
            "SELECT EXISTS(SELECT 1 FROM invites WHERE org_id = ? AND email = ? \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?)",
        )
        .bind(new.org_id.to_string())
        .bind(&new.email)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await?;
        if pending {
            return Err(MetaError::Conflict {
                code: "already_invited",
                message: "this email already has a pending invite; revoke it to send a new one"
                    .into(),
            });
        }
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO invites (id, org_id, email, role, token_digest, created_at, expires_at, invited_by_user_id, invited_by_name) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(new.org_id.to_string())
        .bind(&new.email)
        .bind(new.role.as_str())
        .bind(&new.token_digest)
        .bind(ms(now))
        .bind(ms(new.expires_at))
        .bind(new.invited_by.user_id.map(|u| u.to_string()))
        .bind(&new.invited_by.name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Invite {
            id,
            email: new.email,
            role: new.role,
            status: InviteStatus::Pending,
            created_at: time(ms(now))?,
            expires_at: new.expires_at,
            invited_by: new.invited_by,
        })
    }

    async fn list_invites(
        &self,
        org_id: Uuid,
        page: Page,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<Invite>> {
        sqlx::query(
            "SELECT id, email, role, created_at, expires_at, invited_by_user_id, invited_by_name, accepted_at, revoked_at \
             FROM invites WHERE org_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        )
        .bind(org_id.to_string())
        .bind(page.before.map(|b| b.to_string()))
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| invite_from_row(row, now))
        .collect()
    }

    async fn revoke_invite(
        &self,
        org_id: Uuid,
        invite_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<()> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE invites SET revoked_at = ? WHERE org_id = ? AND id = ? \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(ms(now))
        .bind(org_id.to_string())
        .bind(invite_id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(MetaError::NotFound("invite"));
        }
        // Its email, if not sent yet, would carry a dead link. One a mailer is sending right
        // now is left to finish (it shows as `sending`, then `sent` or `failed`); one whose
        // mailer died mid-attempt is not being sent and is cancelled.
        sqlx::query(
            "UPDATE outbox SET status = 'cancelled', next_attempt_at = NULL \
             WHERE org_id = ? AND invite_id = ? \
             AND (status = 'pending' OR (status = 'sending' AND next_attempt_at <= ?))",
        )
        .bind(org_id.to_string())
        .bind(invite_id.to_string())
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn accept_invite(
        &self,
        token_digest: &str,
        acceptance: InviteAcceptance,
        now: DateTime<Utc>,
    ) -> MetaResult<User> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(
            "SELECT id, org_id, email, role FROM invites WHERE token_digest = ? \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(token_digest)
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(MetaError::NotFound("invite"))?;
        let role: String = row.try_get("role")?;
        let new_user = NewUser {
            email: row.try_get("email")?,
            name: acceptance.name,
            role: role
                .parse()
                .map_err(|e: hexcovery_auth::UnknownRole| MetaError::Internal(e.into()))?,
            password_hash: acceptance.password_hash,
        };
        let user = Self::insert_user(&mut tx, uuid(&row, "org_id")?, new_user, ms(now)).await?;
        sqlx::query("UPDATE invites SET accepted_at = ? WHERE id = ?")
            .bind(ms(now))
            .bind(uuid(&row, "id")?.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn invite_is_pending(&self, token_digest: &str, now: DateTime<Utc>) -> MetaResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM invites WHERE token_digest = ? \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(token_digest)
        .bind(ms(now))
        .fetch_optional(&self.reader)
        .await?;
        Ok(found.is_some())
    }

    async fn redact_sent_outbox_body(&self, id: Uuid, body: &str) -> MetaResult<bool> {
        self.outbox_redact(id, body).await
    }

    async fn add_outbox_message(
        &self,
        message: NewOutboxMessage,
        now: DateTime<Utc>,
    ) -> MetaResult<OutboxMessage> {
        self.outbox_add(message, now).await
    }

    async fn list_outbox(&self, org_id: Uuid, page: Page) -> MetaResult<Vec<OutboxMessage>> {
        self.outbox_list(org_id, page).await
    }

    async fn due_outbox_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<OutboxMessage>> {
        self.outbox_due(now, limit).await
    }

    async fn count_outbox_since(&self, org_id: Uuid, since: DateTime<Utc>) -> MetaResult<u64> {
        self.outbox_count_since(org_id, since).await
    }

    async fn claim_outbox_message(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> MetaResult<bool> {
        self.outbox_claim(id, now, until).await
    }

    async fn record_outbox_attempt(
        &self,
        id: Uuid,
        result: DeliveryResult,
        now: DateTime<Utc>,
    ) -> MetaResult<()> {
        self.outbox_record(id, result, now).await
    }

    async fn add_usage(&self, increments: &[UsageIncrement]) -> MetaResult<()> {
        let mut tx = self.writer.begin().await?;
        for inc in increments {
            sqlx::query(
                "INSERT INTO usage_daily (org_id, day, signal, records, bytes) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (org_id, day, signal) DO UPDATE SET \
                 records = records + excluded.records, bytes = bytes + excluded.bytes",
            )
            .bind(inc.org_id.to_string())
            .bind(&inc.day)
            .bind(inc.signal)
            .bind(i64::try_from(inc.records).unwrap_or(i64::MAX))
            .bind(i64::try_from(inc.bytes).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_usage(
        &self,
        org_id: Uuid,
        from_day: &str,
        to_day: &str,
    ) -> MetaResult<Vec<UsageRow>> {
        sqlx::query(
            "SELECT day, signal, records, bytes FROM usage_daily \
             WHERE org_id = ? AND day >= ? AND day <= ? ORDER BY day DESC, signal",
        )
        .bind(org_id.to_string())
        .bind(from_day)
        .bind(to_day)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(UsageRow {
                day: row.try_get("day")?,
                signal: row.try_get("signal")?,
                records: row.try_get::<i64, _>("records")?.max(0) as u64,
                bytes: row.try_get::<i64, _>("bytes")?.max(0) as u64,
            })
        })
        .collect()
    }

    async fn record_audit(&self, event: NewAuditEvent) -> MetaResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (id, org_id, time, actor_kind, actor_id, actor_name, action, target, outcome, client_addr, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(event.org_id.to_string())
        .bind(now_ms())
        .bind(event.actor.kind.as_str())
        .bind(event.actor.id.map(|id| id.to_string()))
        .bind(&event.actor.name)
        .bind(event.action)
        .bind(&event.target)
        .bind(event.outcome.as_str())
        .bind(&event.client_addr)
        .bind(event.detail.map(|d| d.to_string()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn create_annotation(
        &self,
        org_id: Uuid,
        fields: AnnotationFields,
        created_by: Actor,
    ) -> MetaResult<Annotation> {
        self.annotation_create(org_id, fields, created_by).await
    }

    async fn list_annotations(
        &self,
        org_id: Uuid,
        filter: &AnnotationFilter,
        page: Page,
    ) -> MetaResult<Vec<Annotation>> {
        self.annotation_list(org_id, filter, page).await
    }

    async fn get_annotation(&self, org_id: Uuid, id: Uuid) -> MetaResult<Annotation> {
        self.annotation_get(org_id, id).await
    }

    async fn replace_annotation(
        &self,
        org_id: Uuid,
        id: Uuid,
        fields: AnnotationFields,
    ) -> MetaResult<Annotation> {
        self.annotation_replace(org_id, id, fields).await
    }

    async fn delete_annotation(&self, org_id: Uuid, id: Uuid) -> MetaResult<Annotation> {
        self.annotation_delete(org_id, id).await
    }

    async fn heartbeat_ping(
        &self,
        org_id: Uuid,
        ping: NewPing,
        defaults: &MonitorConfig,
        now: DateTime<Utc>,
    ) -> MetaResult<PingOutcome> {
        self.record_ping(org_id, ping, defaults, now).await
    }

    async fn list_heartbeats(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<HeartbeatMonitor>> {
        self.heartbeat_list(org_id, now).await
    }

    async fn get_heartbeat(
        &self,
        org_id: Uuid,
        name: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<HeartbeatMonitor> {
        self.heartbeat_get(org_id, name, now).await
    }

    async fn update_heartbeat(
        &self,
        org_id: Uuid,
        name: &str,
        patch: MonitorPatch,
        now: DateTime<Utc>,
    ) -> MetaResult<(HeartbeatMonitor, Vec<HeartbeatEvent>)> {
        self.heartbeat_update(org_id, name, patch, now).await
    }

    async fn delete_heartbeat(&self, org_id: Uuid, name: &str) -> MetaResult<()> {
        self.heartbeat_delete(org_id, name).await
    }

    async fn list_heartbeat_pings(
        &self,
        org_id: Uuid,
        name: &str,
        page: Page,
    ) -> MetaResult<Vec<HeartbeatPing>> {
        self.monitor_pings(org_id, name, page).await
    }

    async fn list_heartbeat_events(
        &self,
        org_id: Uuid,
        name: &str,
        limit: u32,
    ) -> MetaResult<Vec<HeartbeatEvent>> {
        self.monitor_events(org_id, name, limit).await
    }

    async fn evaluate_heartbeats(&self, now: DateTime<Utc>) -> MetaResult<Vec<HeartbeatEvent>> {
        self.heartbeat_evaluate(now).await
    }

    async fn create_notification_channel(
        &self,
        org_id: Uuid,
        new: NewNotificationChannel,
        now: DateTime<Utc>,
    ) -> MetaResult<NotificationChannel> {
        self.channel_create(org_id, new, now).await
    }

    async fn list_notification_channels(
        &self,
        org_id: Uuid,
    ) -> MetaResult<Vec<NotificationChannel>> {
        self.channel_list(org_id).await
    }

    async fn delete_notification_channel(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> MetaResult<NotificationChannel> {
        self.channel_delete(org_id, id).await
    }

    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> MetaResult<Vec<(Delivery, NotificationChannel)>> {
        self.delivery_due(now, limit).await
    }

    async fn record_delivery(
        &self,
        id: Uuid,
        result: DeliveryResult,
        now: DateTime<Utc>,
    ) -> MetaResult<()> {
        self.delivery_record(id, result, now).await
    }

    async fn list_deliveries(
        &self,
        org_id: Uuid,
        channel_id: Uuid,
        limit: u32,
    ) -> MetaResult<Vec<Delivery>> {
        self.delivery_list(org_id, channel_id, limit).await
    }

    async fn totp_record(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<TotpRecord> {
        SqliteMetastore::totp_record(self, org_id, user_id).await
    }

    async fn set_totp_secret(&self, org_id: Uuid, user_id: Uuid, sealed: &str) -> MetaResult<()> {
        self.totp_set_secret(org_id, user_id, sealed).await
    }

    async fn enable_totp(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        step: u64,
        recovery_digests: &[String],
    ) -> MetaResult<()> {
        self.totp_enable(org_id, user_id, step, recovery_digests)
            .await
    }

    async fn accept_totp_step(&self, user_id: Uuid, step: u64) -> MetaResult<bool> {
        self.totp_accept_step(user_id, step).await
    }

    async fn spend_recovery_code(&self, user_id: Uuid, digest: &str) -> MetaResult<bool> {
        self.totp_spend_recovery_code(user_id, digest).await
    }

    async fn replace_recovery_codes(&self, user_id: Uuid, digests: &[String]) -> MetaResult<()> {
        self.totp_replace_recovery_codes(user_id, digests).await
    }

    async fn disable_totp(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<()> {
        self.totp_disable(org_id, user_id).await
    }

    async fn change_password(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Uuid,
    ) -> MetaResult<u64> {
        self.password_change(org_id, user_id, password_hash, keep_session)
            .await
    }

    async fn create_team(&self, org_id: Uuid, name: &str) -> MetaResult<Team> {
        self.team_create(org_id, name).await
    }

    async fn list_teams(&self, org_id: Uuid) -> MetaResult<Vec<Team>> {
        self.team_list(org_id).await
    }

    async fn update_team(&self, org_id: Uuid, id: Uuid, patch: TeamPatch) -> MetaResult<Team> {
        self.team_update(org_id, id, patch).await
    }

    async fn delete_team(&self, org_id: Uuid, id: Uuid) -> MetaResult<()> {
        self.team_delete(org_id, id).await
    }

    async fn list_audit(
        &self,
        org_id: Uuid,
        filter: &AuditFilter,
        page: Page,
    ) -> MetaResult<Vec<AuditEvent>> {
        // A trailing `*` is a prefix match; LIKE's own wildcards in the value are escaped.
        let action = filter.action.as_ref().map(|a| {
            let (stem, prefix) = match a.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (a.as_str(), false),
            };
            let escaped = stem
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            if prefix {
                format!("{escaped}%")
            } else {
                escaped
            }
        });
        sqlx::query(
            "SELECT id, time, actor_kind, actor_id, actor_name, action, target, outcome, client_addr, detail \
             FROM audit_events WHERE org_id = ?1 AND (?2 IS NULL OR id < ?2) \
             AND (?3 IS NULL OR action LIKE ?3 ESCAPE '\\') \
             AND (?4 IS NULL OR actor_name = ?4 OR actor_id = ?4) \
             AND (?5 IS NULL OR time >= ?5) AND (?6 IS NULL OR time <= ?6) \
             ORDER BY id DESC LIMIT ?7",
        )
        .bind(org_id.to_string())
        .bind(page.before.map(|b| b.to_string()))
        .bind(action)
        .bind(&filter.actor)
        .bind(filter.from.map(ms))
        .bind(filter.to.map(ms))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(audit_from_row)
        .collect()
    }
}
