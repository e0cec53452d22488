//! Silences (SPEC §8): `GET, POST /api/v1/silences`, `GET, PUT, DELETE
//! /api/v1/silences/{id}`. A silence holds back the notifications of the alert instances its
//! matchers select (of one rule, or of every rule) between `starts_at` and `ends_at`; the
//! instances keep their states. Viewers read, editors write; every change is audited.

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::routes::annotations::instant;
use crate::routes::{ListParams, next_cursor};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_meta::validate::free_text;
use hexcovery_meta::{Actor, MetaError, NewAuditEvent, SilenceFields, SilenceMatcher};
use hexcovery_monitor::alert;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Silences in force or to come that one org may have.
const MAX_SILENCES_PER_ORG: u64 = 1_000;
/// Longest a silence may last.
const MAX_SILENCE_DAYS: i64 = 365;
const MAX_COMMENT_BYTES: usize = 4 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    matchers: Vec<SilenceMatcher>,
    #[serde(default)]
    rule_id: Option<Uuid>,
    /// Default: now.
    #[serde(default)]
    starts_at: Option<Value>,
    ends_at: Value,
    #[serde(default)]
    comment: Option<String>,
    // Read-only fields a client may send back from a GET.
    #[serde(default, rename = "id")]
    _id: Option<Value>,
    #[serde(default, rename = "created_by")]
    _created_by: Option<Value>,
    #[serde(default, rename = "created_at")]
    _created_at: Option<Value>,
    #[serde(default, rename = "updated_at")]
    _updated_at: Option<Value>,
}

impl SilenceBody {
    fn fields(self, now: DateTime<Utc>) -> ApiResult<SilenceFields> {
        let starts_at = self
            .starts_at
            .as_ref()
            .map(|t| instant("starts_at", t))
            .transpose()?
            .unwrap_or(now);
        let ends_at = instant("ends_at", &self.ends_at)?;
        if ends_at <= starts_at {
            return Err(ApiError::invalid_field(
                "ends_at",
                format!("must be after starts_at ({})", starts_at.to_rfc3339()),
            ));
        }
        if ends_at - starts_at > TimeDelta::days(MAX_SILENCE_DAYS) {
            return Err(ApiError::invalid_field(
                "ends_at",
                format!("a silence lasts at most {MAX_SILENCE_DAYS} days"),
            ));
        }
        // The state machine's own rules for matchers (regexes compile, no empty matcher list).
        let mut matchers = Vec::with_capacity(self.matchers.len());
        for (i, m) in self.matchers.iter().enumerate() {
            let op = alert::MatchOp::parse(&m.op).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_field",
                    format!(
                        "matchers.{i}.op: is {:?}; it must be \"=\", \"!=\", \"=~\" or \"!~\"",
                        m.op
                    ),
                )
                .with("field", format!("matchers.{i}.op"))
            })?;
            matchers.push(alert::Matcher {
                label: m.label.clone(),
                op,
                value: m.value.clone(),
            });
        }
        let check = alert::Silence {
            matchers,
            rule_id: self.rule_id.map(|r| r.to_string()),
            starts_at,
            ends_at,
        };
        if let Some(error) = check.validate().first() {
            return Err(super::alerts::field_error(error));
        }
        let comment = match self.comment.as_deref() {
            Some(c) => free_text("comment", c, MAX_COMMENT_BYTES)?.unwrap_or_default(),
            None => String::new(),
        };
        Ok(SilenceFields {
            matchers: self.matchers,
            rule_id: self.rule_id,
            starts_at,
            ends_at,
            comment,
        })
    }
}

fn map_error(e: MetaError) -> ApiError {
    match e {
        MetaError::NotFound("alert_rule") => {
            ApiError::invalid_field("rule_id", "is not an alert rule of this organization")
        }
        MetaError::NotFound(_) => ApiError::not_found("silence"),
        other => other.into(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = params.page(100, 1000)?;
    let silences = state.meta.list_silences(session.user.org_id, page).await?;
    let cursor = next_cursor(page, silences.len(), silences.last().map(|s| s.id));
    Ok(Json(json!({ "silences": silences, "next_cursor": cursor })))
}

pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<SilenceBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = &session.user;
    let now = state.clock.now();
    let fields = body.fields(now)?;
    if state.meta.count_silences(user.org_id, now).await? >= MAX_SILENCES_PER_ORG {
        return Err(ApiError::new(
            ErrorClass::Conflict,
            "too_many_silences",
            format!(
                "an organization may have at most {MAX_SILENCES_PER_ORG} silences in force or to come"
            ),
        ));
    }
    let silence = state
        .meta
        .create_silence(user.org_id, fields, Actor::user(user), now)
        .await
        .map_err(map_error)?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "silence.create")
                .target(format!("silence:{}", silence.id))
                .client(client)
                .detail(json!({ "rule_id": silence.rule_id, "ends_at": silence.ends_at })),
        )
        .await;
    Ok((StatusCode::CREATED, Json(json!(silence))))
}

pub async fn show(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Value>> {
    let silence = state
        .meta
        .get_silence(session.user.org_id, id)
        .await
        .map_err(map_error)?;
    Ok(Json(json!(silence)))
}

pub async fn replace(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SilenceBody>,
) -> ApiResult<Json<Value>> {
    let user = &session.user;
    let now = state.clock.now();
    let fields = body.fields(now)?;
    let silence = state
        .meta
        .replace_silence(user.org_id, id, fields, now)
        .await
        .map_err(map_error)?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "silence.update")
                .target(format!("silence:{id}"))
                .client(client)
                .detail(json!({ "rule_id": silence.rule_id, "ends_at": silence.ends_at })),
        )
        .await;
    Ok(Json(json!(silence)))
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    state
        .meta
        .delete_silence(user.org_id, id)
        .await
        .map_err(map_error)?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "silence.delete")
                .target(format!("silence:{id}"))
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
