//! Alert rules (SPEC §8): `GET, POST /api/v1/alerts`, `GET, PUT, PATCH, DELETE
//! /api/v1/alerts/{id}`, a rule's instances and history, the org's instances across rules,
//! a backtest preview and a test notification. Viewers read and preview, editors write;
//! every change is audited. The rule's evaluation fields are `hexcovery_monitor::alert`'s
//! `AlertRule`, validated there; the query is checked against the org's catalog here.

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::routes::{ListParams, next_cursor};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hexcovery_meta::validate::{free_text, name as name_rule};
use hexcovery_meta::{Actor, AlertRuleFields, AlertRuleRecord, NewAuditEvent};
use hexcovery_monitor::alert::{AlertRule, FieldError, validate_rule};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Most rules one org may have.
pub const MAX_RULES_PER_ORG: u64 = 1_000;
/// Most channels one rule notifies.
const MAX_CHANNELS_PER_RULE: usize = 20;
/// Longest description, in bytes.
const MAX_DESCRIPTION_BYTES: usize = 4 * 1024;

/// Fields the API answers but a client does not set; a body that carries them back (a GET
/// edited and PUT) is accepted and they are ignored.
const READ_ONLY: &[&str] = &[
    "id",
    "health",
    "last_eval_at",
    "last_error",
    "next_eval_at",
    "created_by",
    "created_at",
    "updated_at",
];
/// The top-level fields that are not the evaluation rule's.
const RULE_ENVELOPE: &[&str] = &["name", "description", "query", "channels", "paused"];
/// The evaluation rule's fields (`hexcovery_monitor::alert::AlertRule`).
const RULE_FIELDS: &[&str] = &[
    "window",
    "interval",
    "condition",
    "pending_for",
    "keep_firing_for",
    "no_data",
    "on_error",
    "labels",
    "annotations",
    "repeat_interval",
    "send_resolved",
];

/// A rule as the API shows it: the stored record with its evaluation fields inline.
pub fn view(rule: &AlertRuleRecord) -> Value {
    let mut view = Map::new();
    view.insert("id".into(), json!(rule.id));
    view.insert("name".into(), json!(rule.name));
    view.insert("description".into(), json!(rule.description));
    view.insert("query".into(), json!(rule.query));
    if let Value::Object(definition) = &rule.definition {
        for (k, v) in definition {
            view.insert(k.clone(), v.clone());
        }
    }
    view.insert("channels".into(), json!(rule.channels));
    view.insert("paused".into(), json!(rule.paused));
    view.insert("health".into(), json!(rule.health));
    view.insert("last_eval_at".into(), json!(rule.last_eval_at));
    view.insert("last_error".into(), json!(rule.last_error));
    view.insert("next_eval_at".into(), json!(rule.next_eval_at));
    view.insert("created_by".into(), json!(rule.created_by));
    view.insert("created_at".into(), json!(rule.created_at));
    view.insert("updated_at".into(), json!(rule.updated_at));
    Value::Object(view)
}

/// 400 for a field of a rule, with its path.
pub fn field_error(error: &FieldError) -> ApiError {
    ApiError::bad_request("invalid_field", error.to_string()).with("field", error.field.clone())
}

/// A rule body checked field by field (not yet the query).
pub struct RuleInput {
    pub name: String,
    pub description: String,
    pub query: String,
    pub rule: AlertRule,
    pub channels: Vec<Uuid>,
    pub paused: bool,
}

impl RuleInput {
    /// Reads a rule from the API's JSON object.
    pub fn parse(body: &Value) -> ApiResult<Self> {
        let Value::Object(object) = body else {
            return Err(ApiError::bad_request(
                "invalid_body",
                "the body must be a JSON object with the rule's fields",
            ));
        };
        let mut evaluation = Map::new();
        for (key, value) in object {
            if RULE_FIELDS.contains(&key.as_str()) {
                evaluation.insert(key.clone(), value.clone());
            } else if !RULE_ENVELOPE.contains(&key.as_str()) && !READ_ONLY.contains(&key.as_str()) {
                return Err(ApiError::bad_request(
                    "invalid_field",
                    format!(
                        "{key}: is not a field of an alert rule; the fields are {}",
                        [RULE_ENVELOPE, RULE_FIELDS].concat().join(", ")
                    ),
                )
                .with("field", key.clone()));
            }
        }
        let text = |field: &'static str| -> ApiResult<Option<&str>> {
            match object.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(ApiError::invalid_field(
                    field,
                    format!("must be a string, got {other}"),
                )),
            }
        };
        let name = name_rule(
            "name",
            text("name")?.ok_or_else(|| ApiError::invalid_field("name", "is required"))?,
            200,
        )?;
        let description = match text("description")? {
            Some(d) => free_text("description", d, MAX_DESCRIPTION_BYTES)?.unwrap_or_default(),
            None => String::new(),
        };
        let query = text("query")?
            .ok_or_else(|| ApiError::invalid_field("query", "is required"))?
            .to_string();
        if query.len() > crate::routes::dsl::MAX_QUERY_BYTES {
            return Err(ApiError::invalid_field(
                "query",
                format!(
                    "is {} bytes; the most accepted is {}",
                    query.len(),
                    crate::routes::dsl::MAX_QUERY_BYTES
                ),
            ));
        }
        let channels: Vec<Uuid> = match object.get("channels") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => serde_json::from_value(value.clone()).map_err(|_| {
                ApiError::invalid_field("channels", "must be a list of notification channel ids")
            })?,
        };
        if channels.len() > MAX_CHANNELS_PER_RULE {
            return Err(ApiError::invalid_field(
                "channels",
                format!("lists at most {MAX_CHANNELS_PER_RULE} channels"),
            ));
        }
        let paused = match object.get("paused") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "paused",
                    format!("must be true or false, got {other}"),
                ));
            }
        };
        let rule: AlertRule =
            serde_path_to_error::deserialize(Value::Object(evaluation)).map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                ApiError::bad_request(
                    "invalid_field",
                    format!("{path}: {}", e.into_inner())
                        .trim_start_matches(": ")
                        .to_string(),
                )
                .with("field", path)
            })?;
        if let Some(error) = validate_rule(&rule).first() {
            return Err(field_error(error));
        }
        Ok(Self {
            name,
            description,
            query,
            rule,
            channels,
            paused,
        })
    }

    pub fn fields(&self) -> AlertRuleFields {
        AlertRuleFields {
            name: self.name.clone(),
            description: self.description.clone(),
            query: self.query.clone(),
            definition: serde_json::to_value(&self.rule).expect("a rule serialises"),
            channels: self.channels.clone(),
            paused: self.paused,
            interval_ms: self.rule.interval.delta().num_milliseconds(),
        }
    }
}

/// The first tick after `now`: ticks are multiples of the interval since the epoch, so every
/// node computes the same ones.
pub fn next_tick(now: DateTime<Utc>, interval_ms: i64) -> DateTime<Utc> {
    let interval_ms = interval_ms.max(1);
    let now_ms = now.timestamp_millis();
    let next = (now_ms.div_euclid(interval_ms) + 1) * interval_ms;
    DateTime::from_timestamp_millis(next).unwrap_or(now)
}

/// Refuses a query that does not parse or resolve against the org's catalog, or that holds
/// a time range (the rule's window is its range).
async fn check_query(state: &AppState, org: Uuid, query: &str) -> ApiResult<()> {
    let checked = state
        .queries
        .check(
            &state.telemetry,
            org,
            &hexcovery_query::CheckRequest::new(query).without_time_range(),
        )
        .await
        .map_err(|e| prefix_query(ApiError::from(e)))?;
    if checked.kind != hexcovery_query::StatementKind::Select {
        return Err(ApiError::invalid_field(
            "query",
            "must be a SELECT: an alert reads the rows it answers",
        ));
    }
    if checked.value_column.is_none() {
        return Err(ApiError::invalid_field(
            "query",
            "answers no numeric column: an alert's value is the column named `value`, else the last number, e.g. SELECT service, count(*) AS value FROM logs GROUP BY service",
        ));
    }
    Ok(())
}

/// An OQL error about a rule's query names the field it is in.
fn prefix_query(error: ApiError) -> ApiError {
    error.with("field", "query")
}

fn not_found() -> ApiError {
    ApiError::not_found("alert rule")
}

fn meta_not_found(e: hexcovery_meta::MetaError) -> ApiError {
    match e {
        hexcovery_meta::MetaError::NotFound("notification_channel") => ApiError::new(
            ErrorClass::InvalidInput,
            "invalid_field",
            "channels: lists a notification channel that does not exist",
        )
        .with("field", "channels"),
        hexcovery_meta::MetaError::NotFound(_) => not_found(),
        other => other.into(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = params.page(100, 1000)?;
    let rules = state
        .meta
        .list_alert_rules(session.user.org_id, page)
        .await?;
    let cursor = next_cursor(page, rules.len(), rules.last().map(|r| r.id));
    Ok(Json(json!({
        "alerts": rules.iter().map(view).collect::<Vec<_>>(),
        "next_cursor": cursor,
    })))
}

pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = &session.user;
    let input = RuleInput::parse(&body)?;
    if state.meta.count_alert_rules(user.org_id).await? >= MAX_RULES_PER_ORG {
        return Err(ApiError::new(
            ErrorClass::Conflict,
            "too_many_alert_rules",
            format!(
                "an organization may have at most {MAX_RULES_PER_ORG} alert rules; delete some first"
            ),
        ));
    }
    check_query(&state, user.org_id, &input.query).await?;
    let fields = input.fields();
    let first = next_tick(state.clock.now(), fields.interval_ms);
    let rule = state
        .meta
        .create_alert_rule(user.org_id, fields, Actor::user(user), first)
        .await
        .map_err(meta_not_found)?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "alert.create")
                .target(format!("alert:{}", rule.id))
                .client(client)
                .detail(json!({ "name": rule.name })),
        )
        .await;
    Ok((StatusCode::CREATED, Json(view(&rule))))
}

pub async fn show(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Value>> {
    let rule = state
        .meta
        .get_alert_rule(session.user.org_id, id)
        .await
        .map_err(meta_not_found)?;
    Ok(Json(view(&rule)))
}

/// Stores `input` over rule `id`; editing the query or condition (or the window) resets
/// the rule's instances, as its old states say nothing about the new question.
async fn save(
    state: &AppState,
    org: Uuid,
    id: Uuid,
    input: RuleInput,
) -> ApiResult<(AlertRuleRecord, AlertRuleRecord)> {
    let before = state
        .meta
        .get_alert_rule(org, id)
        .await
        .map_err(meta_not_found)?;
    // An unchanged query is not checked again: a rule whose catalog changed under it can
    // still be paused or have its threshold edited.
    if before.query != input.query {
        check_query(state, org, &input.query).await?;
    }
    let mut input = input;
    // Channels deleted since the rule named them are dropped rather than refused.
    let existing: Vec<Uuid> = state
        .meta
        .list_notification_channels(org)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    input
        .channels
        .retain(|c| existing.contains(c) || !before.channels.contains(c));
    let fields = input.fields();
    let old: Option<AlertRule> = serde_json::from_value(before.definition.clone()).ok();
    let reset = before.query != fields.query
        || old.as_ref().is_none_or(|old| {
            old.condition != input.rule.condition || old.window != input.rule.window
        });
    let next = next_tick(state.clock.now(), fields.interval_ms);
    let after = state
        .meta
        .replace_alert_rule(org, id, fields, reset, next)
        .await
        .map_err(meta_not_found)?;
    Ok((before, after))
}

async fn audit_update(
    state: &AppState,
    user: &hexcovery_meta::User,
    client: Option<String>,
    before: &AlertRuleRecord,
    after: &AlertRuleRecord,
) {
    let (old, new) = (view(before), view(after));
    let changed: Vec<&String> = new
        .as_object()
        .into_iter()
        .flat_map(|o| o.iter())
        .filter(|(k, v)| !READ_ONLY.contains(&k.as_str()) && old.get(k.as_str()) != Some(v))
        .map(|(k, _)| k)
        .collect();
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "alert.update")
                .target(format!("alert:{}", after.id))
                .client(client)
                .detail(json!({ "name": after.name, "fields": changed })),
        )
        .await;
}

pub async fn replace(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let user = &session.user;
    let input = RuleInput::parse(&body)?;
    let (before, after) = save(&state, user.org_id, id, input).await?;
    audit_update(&state, user, client, &before, &after).await;
    Ok(Json(view(&after)))
}

/// `PATCH`: the given top-level fields replace the stored ones (e.g. `{"paused": true}`).
pub async fn update(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let user = &session.user;
    let stored = state
        .meta
        .get_alert_rule(user.org_id, id)
        .await
        .map_err(meta_not_found)?;
    let mut merged = view(&stored);
    for (key, value) in patch {
        merged[key] = value;
    }
    let input = RuleInput::parse(&merged)?;
    let (before, after) = save(&state, user.org_id, id, input).await?;
    audit_update(&state, user, client, &before, &after).await;
    Ok(Json(view(&after)))
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    let rule = state
        .meta
        .delete_alert_rule(user.org_id, id)
        .await
        .map_err(meta_not_found)?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "alert.delete")
                .target(format!("alert:{id}"))
                .client(client)
                .detail(json!({ "name": rule.name })),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn instances(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Value>> {
    let org = session.user.org_id;
    state
        .meta
        .get_alert_rule(org, id)
        .await
        .map_err(meta_not_found)?;
    let instances = state.meta.list_alert_instances(org, id).await?;
    Ok(Json(json!({ "instances": instances })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

/// `from`/`to` of a listing: RFC 3339 or epoch ms; default the last 24 hours.
fn history_range(
    params: &HistoryParams,
    now: DateTime<Utc>,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let parse = |field: &'static str, text: &Option<String>| -> ApiResult<Option<DateTime<Utc>>> {
        text.as_deref()
            .map(|t| {
                let value = t.parse::<i64>().map_or_else(|_| json!(t), |ms| json!(ms));
                super::annotations::instant(field, &value)
            })
            .transpose()
    };
    let to = parse("to", &params.to)?.unwrap_or(now);
    let from = match parse("from", &params.from)? {
        Some(from) => from,
        None => to
            .checked_sub_signed(chrono::TimeDelta::days(1))
            .ok_or_else(|| ApiError::invalid_field("to", "is too far in the past"))?,
    };
    if from > to {
        return Err(ApiError::invalid_field("from", "must not be after to"));
    }
    Ok((from, to))
}

pub async fn history(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> ApiResult<Json<Value>> {
    let org = session.user.org_id;
    state
        .meta
        .get_alert_rule(org, id)
        .await
        .map_err(meta_not_found)?;
    let (from, to) = history_range(&params, state.clock.now())?;
    let limit = ListParams {
        limit: params.limit,
        before: None,
    }
    .limit(500, 5000)?;
    let history = state
        .meta
        .list_alert_transitions(org, Some(id), from, to, limit)
        .await?;
    let history: Vec<Value> = history
        .iter()
        .map(|t| {
            json!({
                "at": t.at, "fingerprint": t.fingerprint, "labels": t.labels,
                "from": t.from, "to": t.to, "value": t.value,
            })
        })
        .collect();
    Ok(Json(json!({ "history": history })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceParams {
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/alert-instances?state=firing`: instances of every rule of the org.
pub async fn org_instances(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<InstanceParams>,
) -> ApiResult<Json<Value>> {
    const STATES: &[&str] = &["normal", "pending", "firing", "no_data", "error"];
    if let Some(wanted) = params.state.as_deref()
        && !STATES.contains(&wanted)
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "state: is {wanted:?}; it must be one of {}",
                STATES.join(", ")
            ),
        )
        .with("field", "state"));
    }
    let limit = ListParams {
        limit: params.limit,
        before: None,
    }
    .limit(1000, 10_000)?;
    let instances = state
        .meta
        .list_org_alert_instances(session.user.org_id, params.state.as_deref(), limit)
        .await?;
    Ok(Json(json!({ "alert_instances": instances })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    rule: Value,
    from: Value,
    #[serde(default)]
    to: Option<Value>,
}

/// `POST /api/v1/alerts/preview` `{rule, from, to}`: what the rule would have done over the
/// past range, without storing or sending anything.
pub async fn preview(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<PreviewBody>,
) -> ApiResult<Json<Value>> {
    let org = session.user.org_id;
    let input = RuleInput::parse(&body.rule).map_err(|e| prefix_field(e, "rule"))?;
    let _running = PreviewSlot::take(&state, org)?;
    check_query(&state, org, &input.query)
        .await
        .map_err(|e| prefix_field(e, "rule"))?;
    let now = state.clock.now();
    let from = request_bound("from", &body.from, now)?;
    let to = match &body.to {
        Some(to) => request_bound("to", to, now)?,
        None => now,
    };
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    let silences: Vec<_> = state
        .meta
        .list_silences(
            org,
            hexcovery_meta::Page {
                limit: 1000,
                before: None,
            },
        )
        .await?
        .iter()
        .filter(|s| s.rule_id.is_none())
        .filter_map(hexcovery_alerting::silence_of)
        .collect();
    let answer = hexcovery_alerting::preview(
        state.alert_queries.as_ref(),
        &hexcovery_alerting::PreviewRequest {
            org,
            rule_id: None,
            rule_name: &input.name,
            query: &input.query,
            rule: &hexcovery_alerting::with_alertname(input.rule.clone(), &input.name),
            from,
            to,
            external_url: &state.config.public_url,
            silences: &silences,
        },
    )
    .await
    .map_err(|e| ApiError::new(ErrorClass::Unprocessable, "invalid_range", e.to_string()))?;
    Ok(Json(answer))
}

/// The org's one running preview; released when the request ends (or is dropped).
struct PreviewSlot {
    previews: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>,
    org: Uuid,
}

impl PreviewSlot {
    fn take(state: &AppState, org: Uuid) -> ApiResult<Self> {
        let mut running = state.previews.lock().unwrap_or_else(|e| e.into_inner());
        if !running.insert(org) {
            return Err(ApiError::new(
                ErrorClass::Throttled,
                "preview_running",
                "a preview is already running for this organization; try again when it has answered",
            )
            .with("retry_after_secs", 1));
        }
        Ok(Self {
            previews: state.previews.clone(),
            org,
        })
    }
}

impl Drop for PreviewSlot {
    fn drop(&mut self) {
        self.previews
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.org);
    }
}

/// A request's time bound: RFC 3339, epoch milliseconds, `now` or `now-<duration>`.
fn request_bound(
    field: &'static str,
    value: &Value,
    now: DateTime<Utc>,
) -> ApiResult<DateTime<Utc>> {
    hexcovery_query::parse_bound(field, value, now)
        .map_err(|e| ApiError::invalid_field(field, e.message))
}

/// An error about a field inside `outer` names it there (`rule.condition.op`).
fn prefix_field(mut error: ApiError, outer: &str) -> ApiError {
    if let Some(Value::String(field)) = error.extra.get("field").cloned() {
        let path = if field.is_empty() {
            outer.to_string()
        } else {
            format!("{outer}.{field}")
        };
        error.message = format!("{outer}.{}", error.message);
        error.extra.insert("field".into(), Value::String(path));
    }
    error
}

/// `POST /api/v1/alerts/{id}/test`: a test notification to the rule's channels, through the
/// same queue real ones take.
pub async fn test(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = &session.user;
    let rule = state
        .meta
        .get_alert_rule(user.org_id, id)
        .await
        .map_err(meta_not_found)?;
    let definition: AlertRule = serde_json::from_value(rule.definition.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored rule {id}: {e}")))?;
    let now = state.clock.now();
    let (deliveries, emails) = hexcovery_alerting::test_messages(
        state.meta.as_ref(),
        &rule,
        &definition,
        &state.config.public_url,
        state.mailer.is_some(),
        now,
    )
    .await
    .map_err(ApiError::internal)?;
    let queued = deliveries.len() + emails.len();
    state
        .meta
        .queue_messages(user.org_id, deliveries, emails, now)
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "alert.test")
                .target(format!("alert:{id}"))
                .client(client),
        )
        .await;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))))
}
