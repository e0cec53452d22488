//! Heartbeat monitors in SQLite. Every change — a ping, a configuration change, the
//! evaluator noticing time has passed — runs in one write transaction that first records the
//! transitions time caused up to `now` (each at the instant it happened, so a restart or a
//! slow evaluator loses none), then applies the change and records its own transition.

use super::{SqliteMetastore, ms, opt_time, time, uuid};
use crate::error::{MetaError, MetaResult};
use crate::model::{
    HeartbeatEvent, HeartbeatMonitor, HeartbeatPing, MonitorConfig, MonitorPatch, NewPing, Page,
    PingKind, PingOutcome,
};
use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_monitor::{Evaluation, Facts, MonitorState, Rules, Schedule, evaluate, timeline};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

/// A monitor row with the facts needed to evaluate it.
struct Stored {
    id: Uuid,
    org_id: Uuid,
    name: String,
    schedule: String,
    timezone: String,
    grace_secs: u32,
    max_runtime_secs: Option<u32>,
    paused_at: Option<DateTime<Utc>>,
    state: MonitorState,
    state_since: DateTime<Utc>,
    last_ping_at: Option<DateTime<Utc>>,
    facts: Facts,
    updated_at: DateTime<Utc>,
}

fn internal(message: String) -> MetaError {
    MetaError::Internal(anyhow::anyhow!(message))
}

fn stored_from_row(row: &SqliteRow) -> MetaResult<Stored> {
    let state: String = row.try_get("state")?;
    let grace: i64 = row.try_get("grace_secs")?;
    let max_runtime: Option<i64> = row.try_get("max_runtime_secs")?;
    Ok(Stored {
        id: uuid(row, "id")?,
        org_id: uuid(row, "org_id")?,
        name: row.try_get("name")?,
        schedule: row.try_get("schedule")?,
        timezone: row.try_get("timezone")?,
        grace_secs: u32::try_from(grace).unwrap_or(0),
        max_runtime_secs: max_runtime.and_then(|m| u32::try_from(m).ok()),
        paused_at: opt_time(row.try_get("paused_at")?)?,
        state: MonitorState::parse(&state)
            .ok_or_else(|| internal(format!("stored monitor state {state:?} is unknown")))?,
        state_since: time(row.try_get("state_since")?)?,
        last_ping_at: opt_time(row.try_get("last_ping_at")?)?,
        facts: Facts {
            created_at: time(row.try_get("created_at")?)?,
            last_success: opt_time(row.try_get("last_success_at")?)?,
            last_fail: opt_time(row.try_get("last_fail_at")?)?,
            open_run_since: opt_time(row.try_get("open_run_since")?)?,
        },
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

impl Stored {
    fn rules(&self) -> MetaResult<Rules> {
        let schedule = Schedule::parse(&self.schedule, &self.timezone)
            .map_err(|e| internal(format!("stored schedule of {}: {e}", self.name)))?;
        Ok(Rules {
            schedule,
            grace: TimeDelta::seconds(i64::from(self.grace_secs)),
            max_runtime: self
                .max_runtime_secs
                .map(|s| TimeDelta::seconds(i64::from(s))),
            paused_since: self.paused_at,
        })
    }

    /// The monitor as the API shows it at `now`.
    fn view(&self, now: DateTime<Utc>) -> MetaResult<HeartbeatMonitor> {
        let e = evaluate(&self.rules()?, &self.facts, now);
        Ok(HeartbeatMonitor {
            id: self.id,
            name: self.name.clone(),
            schedule: self.schedule.clone(),
            timezone: self.timezone.clone(),
            grace_secs: self.grace_secs,
            max_runtime_secs: self.max_runtime_secs,
            paused: self.paused_at.is_some(),
            state: e.state,
            state_since: e.since,
            next_due: e.due,
            last_ping_at: self.last_ping_at,
            last_success_at: self.facts.last_success,
            last_fail_at: self.facts.last_fail,
            created_at: self.facts.created_at,
            updated_at: self.updated_at,
        })
    }
}

async fn load(
    tx: &mut Transaction<'_, Sqlite>,
    org_id: Uuid,
    name: &str,
) -> MetaResult<Option<Stored>> {
    sqlx::query(
        "SELECT m.id, m.org_id, m.name, m.schedule, m.timezone, m.grace_secs, \
         m.max_runtime_secs, m.paused_at, m.state, m.state_since, m.last_ping_at, \
         m.last_success_at, m.last_fail_at, m.created_at, m.updated_at, \
         (SELECT min(started_at) FROM heartbeat_runs r WHERE r.monitor_id = m.id AND r.finished_at IS NULL) AS open_run_since \
         FROM heartbeat_monitors m WHERE m.org_id = ? AND m.name = ?",
    )
    .bind(org_id.to_string())
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(stored_from_row)
    .transpose()
}

/// Records a transition; one to `down` or `failed` also queues its notification for every
/// channel of the org in the same transaction (a crash or a cancelled request between the
/// two can no longer lose the alert).
async fn insert_event(
    tx: &mut Transaction<'_, Sqlite>,
    stored: &Stored,
    from: MonitorState,
    to: MonitorState,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> MetaResult<HeartbeatEvent> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO heartbeat_events (id, monitor_id, at, from_state, to_state) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(stored.id.to_string())
    .bind(ms(at))
    .bind(from.as_str())
    .bind(to.as_str())
    .execute(&mut **tx)
    .await?;
    let event = HeartbeatEvent {
        id,
        org_id: stored.org_id,
        monitor: stored.name.clone(),
        at,
        from,
        to,
    };
    if matches!(to, MonitorState::Down | MonitorState::Failed) {
        let (name, payload) = notification_of(&event);
        super::notifications::insert_deliveries(tx, stored.org_id, &name, &payload, now).await?;
    }
    Ok(event)
}

/// The event name and webhook payload of an alerting transition.
pub(crate) fn notification_of(e: &HeartbeatEvent) -> (String, String) {
    let name = format!("heartbeat.{}", e.to.as_str());
    let payload = serde_json::json!({
        "type": name,
        "monitor": e.monitor,
        "from": e.from,
        "to": e.to,
        "at": e.at,
        "event_id": e.id,
    })
    .to_string();
    (name, payload)
}

/// Stores the state as of `now` and records the transitions from the stored one: those time
/// caused at their own instants, and one a change of facts or rules (a ping, a pause) caused
/// at `now`.
async fn settle(
    tx: &mut Transaction<'_, Sqlite>,
    stored: &mut Stored,
    now: DateTime<Utc>,
) -> MetaResult<Vec<HeartbeatEvent>> {
    let rules = stored.rules()?;
    let steps = timeline(&rules, &stored.facts, stored.state_since.min(now), now);
    let mut events = Vec::new();
    for step in &steps {
        if step.state != stored.state {
            // A change of facts or rules (not of time) lands at `now`, never in the past.
            let at = if step.since > stored.state_since {
                step.since
            } else {
                now
            };
            events.push(insert_event(tx, stored, stored.state, step.state, at, now).await?);
            stored.state = step.state;
            stored.state_since = at;
        }
    }
    let last: Evaluation = *steps.last().expect("a timeline is never empty");
    sqlx::query(
        "UPDATE heartbeat_monitors SET state = ?, state_since = ?, next_check_at = ? WHERE id = ?",
    )
    .bind(stored.state.as_str())
    .bind(ms(stored.state_since))
    .bind(last.next_change.map(ms))
    .bind(stored.id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(events)
}

fn ping_from_row(row: &SqliteRow) -> MetaResult<HeartbeatPing> {
    let kind: String = row.try_get("kind")?;
    Ok(HeartbeatPing {
        id: uuid(row, "id")?,
        kind: match kind.as_str() {
            "start" => PingKind::Start,
            "fail" => PingKind::Fail,
            _ => PingKind::Success,
        },
        at: time(row.try_get("at")?)?,
        run_id: row.try_get("run_id")?,
        duration_ms: row.try_get("duration_ms")?,
        body: row.try_get("body")?,
    })
}

fn event_from_row(row: &SqliteRow, org_id: Uuid, monitor: &str) -> MetaResult<HeartbeatEvent> {
    let state = |column: &str| -> MetaResult<MonitorState> {
        let text: String = row.try_get(column)?;
        MonitorState::parse(&text).ok_or_else(|| internal(format!("unknown state {text:?}")))
    };
    Ok(HeartbeatEvent {
        id: uuid(row, "id")?,
        org_id,
        monitor: monitor.to_string(),
        at: time(row.try_get("at")?)?,
        from: state("from_state")?,
        to: state("to_state")?,
    })
}

impl SqliteMetastore {
    pub(super) async fn record_ping(
        &self,
        org_id: Uuid,
        ping: NewPing,
        defaults: &MonitorConfig,
        now: DateTime<Utc>,
    ) -> MetaResult<PingOutcome> {
        let mut tx = self.writer.begin().await?;
        let created = match load(&mut tx, org_id, &ping.name).await? {
            Some(_) => false,
            None => {
                sqlx::query(
                    "INSERT INTO heartbeat_monitors (id, org_id, name, schedule, timezone, \
                     grace_secs, max_runtime_secs, state, state_since, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(org_id.to_string())
                .bind(&ping.name)
                .bind(&defaults.schedule)
                .bind(&defaults.timezone)
                .bind(i64::from(defaults.grace_secs))
                .bind(defaults.max_runtime_secs.map(i64::from))
                .bind(ms(now))
                .bind(ms(now))
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
                true
            }
        };
        let mut stored = load(&mut tx, org_id, &ping.name)
            .await?
            .ok_or(MetaError::NotFound("monitor"))?;
        let mut events = settle(&mut tx, &mut stored, now).await?;

        // A success or fail ends the run it names (or, without a run id, every open run).
        let mut duration_ms = None;
        if ping.kind == PingKind::Start {
            sqlx::query(
                "INSERT INTO heartbeat_runs (id, monitor_id, run_id, started_at) VALUES (?, ?, ?, ?)",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(stored.id.to_string())
            .bind(&ping.run_id)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        } else {
            let started: Option<i64> = sqlx::query_scalar(
                "SELECT max(started_at) FROM heartbeat_runs WHERE monitor_id = ? \
                 AND finished_at IS NULL AND (? IS NULL OR run_id = ?)",
            )
            .bind(stored.id.to_string())
            .bind(&ping.run_id)
            .bind(&ping.run_id)
            .fetch_one(&mut *tx)
            .await?;
            duration_ms = started.map(|s| (ms(now) - s).max(0));
            sqlx::query(
                "UPDATE heartbeat_runs SET finished_at = ? WHERE monitor_id = ? \
                 AND finished_at IS NULL AND (? IS NULL OR run_id = ?)",
            )
            .bind(ms(now))
            .bind(stored.id.to_string())
            .bind(&ping.run_id)
            .bind(&ping.run_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO heartbeat_pings (id, monitor_id, kind, at, run_id, duration_ms, body) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(stored.id.to_string())
        .bind(ping.kind.as_str())
        .bind(ms(now))
        .bind(&ping.run_id)
        .bind(duration_ms)
        .bind(&ping.body)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE heartbeat_monitors SET last_ping_at = ?1, updated_at = ?1, \
             last_success_at = CASE WHEN ?2 = 'success' THEN ?1 ELSE last_success_at END, \
             last_fail_at = CASE WHEN ?2 = 'fail' THEN ?1 ELSE last_fail_at END \
             WHERE id = ?3",
        )
        .bind(ms(now))
        .bind(ping.kind.as_str())
        .bind(stored.id.to_string())
        .execute(&mut *tx)
        .await?;
        let mut stored = load(&mut tx, org_id, &ping.name)
            .await?
            .ok_or(MetaError::NotFound("monitor"))?;
        events.extend(settle(&mut tx, &mut stored, now).await?);
        tx.commit().await?;
        Ok(PingOutcome {
            monitor: stored.view(now)?,
            created,
            events,
        })
    }

    pub(super) async fn heartbeat_list(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<HeartbeatMonitor>> {
        sqlx::query(
            "SELECT m.id, m.org_id, m.name, m.schedule, m.timezone, m.grace_secs, \
             m.max_runtime_secs, m.paused_at, m.state, m.state_since, m.last_ping_at, \
             m.last_success_at, m.last_fail_at, m.created_at, m.updated_at, \
             (SELECT min(started_at) FROM heartbeat_runs r WHERE r.monitor_id = m.id AND r.finished_at IS NULL) AS open_run_since \
             FROM heartbeat_monitors m WHERE m.org_id = ? ORDER BY m.name",
        )
        .bind(org_id.to_string())
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| stored_from_row(row)?.view(now))
        .collect()
    }

    pub(super) async fn heartbeat_get(
        &self,
        org_id: Uuid,
        name: &str,
        now: DateTime<Utc>,
    ) -> MetaResult<HeartbeatMonitor> {
        let mut tx = self.reader.begin().await?;
        let stored = load(&mut tx, org_id, name)
            .await?
            .ok_or(MetaError::NotFound("monitor"))?;
        stored.view(now)
    }

    pub(super) async fn heartbeat_update(
        &self,
        org_id: Uuid,
        name: &str,
        patch: MonitorPatch,
        now: DateTime<Utc>,
    ) -> MetaResult<(HeartbeatMonitor, Vec<HeartbeatEvent>)> {
        let mut tx = self.writer.begin().await?;
        let mut stored = load(&mut tx, org_id, name)
            .await?
            .ok_or(MetaError::NotFound("monitor"))?;
        // Transitions under the old rules first, at their own instants.
        let mut events = settle(&mut tx, &mut stored, now).await?;
        let paused_at = match patch.paused {
            Some(true) => Some(stored.paused_at.unwrap_or(now)),
            Some(false) => None,
            None => stored.paused_at,
        };
        sqlx::query(
            "UPDATE heartbeat_monitors SET schedule = ?, timezone = ?, grace_secs = ?, \
             max_runtime_secs = ?, paused_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(patch.schedule.as_ref().unwrap_or(&stored.schedule))
        .bind(patch.timezone.as_ref().unwrap_or(&stored.timezone))
        .bind(i64::from(patch.grace_secs.unwrap_or(stored.grace_secs)))
        .bind(
            patch
                .max_runtime_secs
                .unwrap_or(stored.max_runtime_secs)
                .map(i64::from),
        )
        .bind(paused_at.map(ms))
        .bind(ms(now))
        .bind(stored.id.to_string())
        .execute(&mut *tx)
        .await?;
        let mut stored = load(&mut tx, org_id, name)
            .await?
            .ok_or(MetaError::NotFound("monitor"))?;
        events.extend(settle(&mut tx, &mut stored, now).await?);
        tx.commit().await?;
        Ok((stored.view(now)?, events))
    }

    pub(super) async fn heartbeat_delete(&self, org_id: Uuid, name: &str) -> MetaResult<()> {
        let deleted = sqlx::query("DELETE FROM heartbeat_monitors WHERE org_id = ? AND name = ?")
            .bind(org_id.to_string())
            .bind(name)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(MetaError::NotFound("monitor"));
        }
        Ok(())
    }

    pub(super) async fn monitor_pings(
        &self,
        org_id: Uuid,
        name: &str,
        page: Page,
    ) -> MetaResult<Vec<HeartbeatPing>> {
        sqlx::query(
            "SELECT p.id, p.kind, p.at, p.run_id, p.duration_ms, p.body FROM heartbeat_pings p \
             JOIN heartbeat_monitors m ON m.id = p.monitor_id \
             WHERE m.org_id = ? AND m.name = ? AND (? IS NULL OR p.id < ?) \
             ORDER BY p.id DESC LIMIT ?",
        )
        .bind(org_id.to_string())
        .bind(name)
        .bind(page.before.map(|b| b.to_string()))
        .bind(page.before.map(|b| b.to_string()))
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(ping_from_row)
        .collect()
    }

    pub(super) async fn monitor_events(
        &self,
        org_id: Uuid,
        name: &str,
        limit: u32,
    ) -> MetaResult<Vec<HeartbeatEvent>> {
        sqlx::query(
            "SELECT e.id, e.at, e.from_state, e.to_state FROM heartbeat_events e \
             JOIN heartbeat_monitors m ON m.id = e.monitor_id \
             WHERE m.org_id = ? AND m.name = ? ORDER BY e.at DESC, e.id DESC LIMIT ?",
        )
        .bind(org_id.to_string())
        .bind(name)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| event_from_row(row, org_id, name))
        .collect()
    }

    /// The evaluator's pass: every monitor (of any org) whose state may have changed by `now`
    /// is settled; the transitions recorded are returned for notification.
    pub(super) async fn heartbeat_evaluate(
        &self,
        now: DateTime<Utc>,
    ) -> MetaResult<Vec<HeartbeatEvent>> {
        let due: Vec<(String, String)> = sqlx::query_as(
            "SELECT org_id, name FROM heartbeat_monitors WHERE next_check_at <= ? \
             ORDER BY next_check_at LIMIT 1000",
        )
        .bind(ms(now))
        .fetch_all(&self.reader)
        .await?;
        let mut events = Vec::new();
        for (org, name) in due {
            let org_id = Uuid::parse_str(&org).map_err(|e| internal(e.to_string()))?;
            let mut tx = self.writer.begin().await?;
            if let Some(mut stored) = load(&mut tx, org_id, &name).await? {
                events.extend(settle(&mut tx, &mut stored, now).await?);
            }
            tx.commit().await?;
        }
        Ok(events)
    }
}
