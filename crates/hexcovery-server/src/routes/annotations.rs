//! Annotations (SPEC §6): `GET, POST /api/v1/annotations`, `PUT, DELETE
//! /api/v1/annotations/{id}` for API keys (CI posting deploys) and users (editors and admins
//! write, viewers read). Every change is audited.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::routes::next_cursor;
use crate::state::AppState;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use hexcovery_meta::validate::{free_text, machine_name, name as title_rule, tags as tags_rule};
use hexcovery_meta::{Annotation, AnnotationFields, AnnotationFilter, NewAuditEvent, Page};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Longest `text`, in bytes.
const MAX_TEXT_BYTES: usize = 10 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotationBody {
    name: String,
    title: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// RFC 3339 text or epoch milliseconds.
    #[serde(default)]
    time: Option<Value>,
    #[serde(default)]
    time_end: Option<Value>,
}

/// An instant as the API accepts it: RFC 3339 text or epoch milliseconds.
pub fn instant(field: &'static str, value: &Value) -> ApiResult<DateTime<Utc>> {
    let bad = || {
        ApiError::invalid_field(
            field,
            format!(
                "must be an RFC 3339 time such as \"2026-11-22T10:00:00Z\" or epoch milliseconds, got {value}"
            ),
        )
    };
    match value {
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad()),
        Value::Number(n) => n
            .as_i64()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

impl AnnotationBody {
    /// Validated fields; `time` defaults to `default_time`.
    fn fields(self, default_time: DateTime<Utc>) -> ApiResult<AnnotationFields> {
        let time = self
            .time
            .as_ref()
            .map(|t| instant("time", t))
            .transpose()?
            .unwrap_or(default_time);
        let time_end = self
            .time_end
            .as_ref()
            .map(|t| instant("time_end", t))
            .transpose()?;
        if let Some(end) = time_end
            && end < time
        {
            return Err(ApiError::invalid_field(
                "time_end",
                format!(
                    "must not be before time ({}), got {}",
                    time.to_rfc3339(),
                    end.to_rfc3339()
                ),
            ));
        }
        Ok(AnnotationFields {
            name: machine_name("name", &self.name, 128)?,
            title: title_rule("title", &self.title, 500)?,
            text: self
                .text
                .as_deref()
                .map(|t| free_text("text", t, MAX_TEXT_BYTES))
                .transpose()?
                .flatten(),
            tags: tags_rule("tags", &self.tags)?,
            time,
            time_end,
        })
    }
}

/// `?from=&to=&name=&tag=&tag=&limit=&before=`; `tag` may repeat.
fn filter_and_page(query: Option<&str>) -> ApiResult<(AnnotationFilter, Page)> {
    let mut filter = AnnotationFilter::default();
    let mut page = Page {
        limit: 100,
        before: None,
    };
    let bad = |field: &'static str, message: String| {
        ApiError::bad_request("invalid_query", format!("{field}: {message}")).with("field", field)
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "from" | "to" => {
                let field = if key == "from" { "from" } else { "to" };
                // Query strings carry text: digits are epoch milliseconds.
                let parsed = match value.parse::<i64>() {
                    Ok(ms) => json!(ms),
                    Err(_) => json!(value),
                };
                let at = instant(field, &parsed).map_err(|e| bad(field, e.message))?;
                if field == "from" {
                    filter.from = Some(at);
                } else {
                    filter.to = Some(at);
                }
            }
            "name" => filter.name = Some(value.into_owned()),
            "tag" => filter.tags.push(value.into_owned()),
            "limit" => {
                page.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "limit",
                            format!("must be between 1 and 1000, got {value:?}"),
                        )
                    })?;
            }
            "before" => {
                page.before = Some(Uuid::parse_str(&value).map_err(|_| {
                    bad("before", format!("must be an annotation id, got {value:?}"))
                })?);
            }
            other => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("unknown parameter {other:?}; use from, to, name, tag, limit, before"),
                ));
            }
        }
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(bad(
            "to",
            format!(
                "must not be before from ({}), got {}",
                from.to_rfc3339(),
                to.to_rfc3339()
            ),
        ));
    }
    Ok((filter, page))
}

pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let (filter, page) = filter_and_page(query.as_deref())?;
    // The cursor is an annotation of this org; one deleted since (or never this org's)
    // cannot mark a place in the list, and an empty page would look like the end.
    if let Some(before) = page.before {
        match state.meta.get_annotation(principal.org_id(), before).await {
            Ok(_) => {}
            Err(hexcovery_meta::MetaError::NotFound(_)) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    "before: no such annotation; start again from the first page",
                )
                .with("field", "before"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let annotations = state
        .meta
        .list_annotations(principal.org_id(), &filter, page)
        .await?;
    let next = next_cursor(page, annotations.len(), annotations.last().map(|a| a.id));
    Ok(Json(
        json!({ "annotations": annotations, "next_cursor": next }),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Caller(principal): Caller,
    ApiJson(body): ApiJson<AnnotationBody>,
) -> ApiResult<(StatusCode, Json<Annotation>)> {
    let fields = body.fields(Utc::now())?;
    let org = principal.org_id();
    let annotation = state
        .meta
        .create_annotation(org, fields, principal.actor())
        .await?;
    audit(&state, &principal, "annotation.create", &annotation, client).await;
    Ok((StatusCode::CREATED, Json(annotation)))
}

/// `PUT` replaces every field; an omitted `time` keeps the stored one (rather than moving the
/// mark to now), omitted `text`, `tags` and `time_end` are cleared.
pub async fn replace(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AnnotationBody>,
) -> ApiResult<Json<Annotation>> {
    let org = principal.org_id();
    let stored = state.meta.get_annotation(org, id).await?;
    let fields = body.fields(stored.time)?;
    let annotation = state.meta.replace_annotation(org, id, fields).await?;
    audit(&state, &principal, "annotation.update", &annotation, client).await;
    Ok(Json(annotation))
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let annotation = state.meta.delete_annotation(principal.org_id(), id).await?;
    audit(&state, &principal, "annotation.delete", &annotation, client).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(
    state: &AppState,
    principal: &crate::auth::Principal,
    action: &'static str,
    annotation: &Annotation,
    client: Option<String>,
) {
    state
        .audit(
            NewAuditEvent::success(principal.org_id(), principal.actor(), action)
                .target(format!("annotation:{}", annotation.id))
                .client(client)
                .detail(json!({ "name": annotation.name, "title": annotation.title })),
        )
        .await;
}

pub async fn show(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Annotation>> {
    Ok(Json(
        state.meta.get_annotation(principal.org_id(), id).await?,
    ))
}
