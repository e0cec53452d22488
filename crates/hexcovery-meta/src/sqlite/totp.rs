//! Two-factor state and password changes in SQLite. Accepting a TOTP step and spending a
//! recovery code are single conditional updates, so two requests racing with one code cannot
//! both succeed.

use super::{SqliteMetastore, now_ms};
use crate::error::{MetaError, MetaResult};
use crate::model::TotpRecord;
use uuid::Uuid;

fn conflict(code: &'static str, message: &str) -> MetaError {
    MetaError::Conflict {
        code,
        message: message.into(),
    }
}

impl SqliteMetastore {
    pub(super) async fn totp_record(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<TotpRecord> {
        let row: Option<(Option<String>, Option<i64>, i64)> = sqlx::query_as(
            "SELECT u.totp_secret_sealed, u.totp_enabled_at, \
             (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) \
             FROM users u WHERE u.org_id = ? AND u.id = ?",
        )
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        let (secret_sealed, enabled_at, left) = row.ok_or(MetaError::NotFound("user"))?;
        Ok(TotpRecord {
            secret_sealed,
            enabled: enabled_at.is_some(),
            recovery_codes_left: u32::try_from(left).unwrap_or(0),
        })
    }

    pub(super) async fn totp_set_secret(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        sealed: &str,
    ) -> MetaResult<()> {
        let changed = sqlx::query(
            "UPDATE users SET totp_secret_sealed = ?, totp_last_step = NULL, updated_at = ? \
             WHERE org_id = ? AND id = ? AND totp_enabled_at IS NULL",
        )
        .bind(sealed)
        .bind(now_ms())
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&self.writer)
        .await?
        .rows_affected();
        if changed == 0 {
            self.totp_record(org_id, user_id).await?;
            return Err(conflict(
                "totp_already_enabled",
                "two-factor authentication is already on; disable it first to set up a new secret",
            ));
        }
        Ok(())
    }

    pub(super) async fn totp_enable(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        step: u64,
        recovery_digests: &[String],
    ) -> MetaResult<()> {
        let mut tx = self.writer.begin().await?;
        let changed = sqlx::query(
            "UPDATE users SET totp_enabled_at = ?, totp_last_step = ?, updated_at = ? \
             WHERE org_id = ? AND id = ? AND totp_enabled_at IS NULL AND totp_secret_sealed IS NOT NULL",
        )
        .bind(now_ms())
        .bind(i64::try_from(step).unwrap_or(i64::MAX))
        .bind(now_ms())
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(conflict(
                "totp_not_pending",
                "there is no two-factor setup to enable: call setup first (or it is already on)",
            ));
        }
        replace_codes(&mut tx, user_id, recovery_digests).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn totp_accept_step(&self, user_id: Uuid, step: u64) -> MetaResult<bool> {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let changed = sqlx::query(
            "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_enabled_at IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        )
        .bind(step)
        .bind(user_id.to_string())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    pub(super) async fn totp_spend_recovery_code(
        &self,
        user_id: Uuid,
        digest: &str,
    ) -> MetaResult<bool> {
        let changed = sqlx::query(
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND digest = ? AND used_at IS NULL",
        )
        .bind(now_ms())
        .bind(user_id.to_string())
        .bind(digest)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    pub(super) async fn totp_replace_recovery_codes(
        &self,
        user_id: Uuid,
        digests: &[String],
    ) -> MetaResult<()> {
        let mut tx = self.writer.begin().await?;
        replace_codes(&mut tx, user_id, digests).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn totp_disable(&self, org_id: Uuid, user_id: Uuid) -> MetaResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE users SET totp_secret_sealed = NULL, totp_enabled_at = NULL, \
             totp_last_step = NULL, updated_at = ? WHERE org_id = ? AND id = ?",
        )
        .bind(now_ms())
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
        replace_codes(&mut tx, user_id, &[]).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn replace_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    user_id: Uuid,
    digests: &[String],
) -> MetaResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
        .bind(user_id.to_string())
        .execute(&mut **tx)
        .await?;
    for digest in digests {
        sqlx::query("INSERT INTO recovery_codes (user_id, digest) VALUES (?, ?)")
            .bind(user_id.to_string())
            .bind(digest)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl SqliteMetastore {
    /// Sets a new password hash and revokes every other live session of the user, in one
    /// transaction; answers how many sessions were revoked.
    pub(super) async fn password_change(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Uuid,
    ) -> MetaResult<u64> {
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        let changed = sqlx::query(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE org_id = ? AND id = ?",
        )
        .bind(password_hash)
        .bind(now)
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(MetaError::NotFound("user"));
        }
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE org_id = ? AND user_id = ? AND id != ? \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(org_id.to_string())
        .bind(user_id.to_string())
        .bind(keep_session.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(revoked)
    }
}
