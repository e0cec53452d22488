//! Heartbeats (SPEC §7): cron jobs ping `POST /api/v1/heartbeat/{name}[/start|/fail]` with
//! an API key (a first ping creates the monitor); people list, inspect, configure and delete
//! monitors. Time comes from the server's clock (`AppState::clock`).

use crate::auth::{Caller, SignedInUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use hexcovery_meta::{Actor, MonitorConfig, MonitorPatch, NewAuditEvent, NewPing, Page, PingKind};
use hexcovery_monitor::{Schedule, parse_duration};
use serde::Deserialize;
use serde_json::{Value, json};

/// Ping output kept per ping; longer bodies are cut here.
pub const MAX_PING_BODY_BYTES: usize = 10 * 1024;

/// How a monitor created by its first ping starts out.
fn defaults() -> MonitorConfig {
    MonitorConfig {
        schedule: "every 1h".into(),
        timezone: "UTC".into(),
        grace_secs: 300,
        max_runtime_secs: None,
    }
}

/// Monitor names: 1–64 of letters, digits and `. _ -` (they are one path segment).
fn monitor_name(name: &str) -> ApiResult<String> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(name.to_string())
    } else {
        Err(ApiError::bad_request(
            "invalid_path",
            format!(
                "{name:?} is not a monitor name: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            ),
        )
        .with("field", "name"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingParams {
    run_id: Option<String>,
}

/// The first `MAX_PING_BODY_BYTES` of the body as text (invalid UTF-8 replaced).
fn capped_body(body: &Bytes) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let cut = &body[..body.len().min(MAX_PING_BODY_BYTES)];
    Some(match std::str::from_utf8(cut) {
        Ok(text) => text.to_string(),
        // Only the last character was cut in half: drop it rather than show a replacement.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&cut[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(cut).into_owned(),
    })
}

async fn ping(
    state: AppState,
    principal: crate::auth::Principal,
    name: String,
    kind: PingKind,
    params: PingParams,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = monitor_name(&name)?;
    if let Some(run) = &params.run_id
        && !(1..=64).contains(&run.len())
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("run_id must be 1 to 64 characters, got {}", run.len()),
        )
        .with("field", "run_id"));
    }
    let outcome = state
        .meta
        .heartbeat_ping(
            principal.org_id(),
            NewPing {
                name,
                kind,
                run_id: params.run_id,
                body: capped_body(&body),
            },
            &defaults(),
            state.clock.now(),
        )
        .await?;
    crate::notify::on_transitions(&outcome.events);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "monitor": outcome.monitor, "created": outcome.created })),
    ))
}

pub async fn success(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<PingParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ping(state, principal, name, PingKind::Success, params, body).await
}

pub async fn start(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<PingParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ping(state, principal, name, PingKind::Start, params, body).await
}

pub async fn fail(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<PingParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ping(state, principal, name, PingKind::Fail, params, body).await
}

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let monitors = state
        .meta
        .list_heartbeats(session.user.org_id, state.clock.now())
        .await?;
    Ok(Json(json!({ "heartbeats": monitors })))
}

/// One monitor with its latest 50 pings and state transitions.
pub async fn show(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let org = session.user.org_id;
    let monitor = state
        .meta
        .get_heartbeat(org, &name, state.clock.now())
        .await?;
    let pings = state
        .meta
        .list_heartbeat_pings(
            org,
            &name,
            Page {
                limit: 50,
                before: None,
            },
        )
        .await?;
    let events = state.meta.list_heartbeat_events(org, &name, 50).await?;
    let mut body = serde_json::to_value(monitor).map_err(ApiError::internal)?;
    body["pings"] = json!(pings);
    body["events"] = json!(events);
    Ok(Json(body))
}

/// `PATCH` body: durations as text (`5m`), `max_runtime: null` removes the limit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorChange {
    schedule: Option<String>,
    timezone: Option<String>,
    grace: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    max_runtime: Option<Option<String>>,
    paused: Option<bool>,
}

fn seconds(field: &'static str, text: &str, max_secs: i64) -> ApiResult<u32> {
    let invalid = |message: String| ApiError::invalid_field(field, message);
    let d = parse_duration(text).map_err(|e| invalid(e.0))?;
    if d.num_seconds() > max_secs {
        return Err(invalid(format!(
            "must be at most {} days",
            max_secs / 86_400
        )));
    }
    u32::try_from(d.num_seconds()).map_err(|_| invalid("is too long".into()))
}

pub async fn update(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(name): ApiPath<String>,
    ApiJson(change): ApiJson<MonitorChange>,
) -> ApiResult<Json<Value>> {
    let org = session.user.org_id;
    let now = state.clock.now();
    let current = state.meta.get_heartbeat(org, &name, now).await?;
    // Schedule and zone are checked together: a cron expression is read in the zone.
    let schedule = change.schedule.clone().unwrap_or(current.schedule.clone());
    let timezone = change.timezone.clone().unwrap_or(current.timezone.clone());
    let parsed = Schedule::parse(&schedule, &timezone).map_err(|e| {
        let field = if change.timezone.is_some() && e.0.contains("time zone") {
            "timezone"
        } else {
            "schedule"
        };
        ApiError::invalid_field(field, e.0)
    })?;
    let patch = MonitorPatch {
        schedule: change.schedule.as_ref().map(|_| parsed.text()),
        timezone: change.timezone.clone(),
        grace_secs: change
            .grace
            .as_deref()
            .map(|g| seconds("grace", g, 30 * 86_400))
            .transpose()?,
        max_runtime_secs: change
            .max_runtime
            .as_ref()
            .map(|m| {
                m.as_deref()
                    .map(|m| seconds("max_runtime", m, 30 * 86_400))
                    .transpose()
            })
            .transpose()?,
        paused: change.paused,
    };
    let (monitor, events) = state.meta.update_heartbeat(org, &name, patch, now).await?;
    crate::notify::on_transitions(&events);
    state
        .audit(
            NewAuditEvent::success(org, Actor::user(&session.user), "heartbeat.update")
                .target(format!("heartbeat:{name}"))
                .client(client)
                .detail(json!({
                    "schedule": monitor.schedule, "timezone": monitor.timezone,
                    "grace_secs": monitor.grace_secs, "max_runtime_secs": monitor.max_runtime_secs,
                    "paused": monitor.paused,
                })),
        )
        .await;
    Ok(Json(json!(monitor)))
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let org = session.user.org_id;
    state.meta.delete_heartbeat(org, &name).await?;
    state
        .audit(
            NewAuditEvent::success(org, Actor::user(&session.user), "heartbeat.delete")
                .target(format!("heartbeat:{name}"))
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
