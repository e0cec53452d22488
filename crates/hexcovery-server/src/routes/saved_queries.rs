//! Saved queries (SPEC §8): `GET, POST /api/v1/saved-queries`, `GET, PUT, DELETE
//! /api/v1/saved-queries/{id}`. Viewers read, editors write; every change is audited. The
//! query is checked against the org's catalog when saved (it may hold its own time range).

use crate::auth::{Caller, Principal, SignedInUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::routes::dashboards::{
    MAX_DESCRIPTION_BYTES, QueryRules, check_query, query_error, search_params,
};
use crate::routes::next_cursor;
use crate::state::AppState;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use hexcovery_meta::validate::{free_text, name as name_rule, tags as tags_rule};
use hexcovery_meta::{NewAuditEvent, SavedQuery, SavedQueryFields};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Most saved queries one org may have.
pub const MAX_SAVED_QUERIES_PER_ORG: u32 = 1_000;
/// Longest name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// Members a GET answers that a client does not set; `PUT` accepts them back and ignores
/// them (`id` must be the saved query's own).
const READ_ONLY: &[&str] = &["created_by", "created_at", "updated_at"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedQueryBody {
    name: String,
    #[serde(default)]
    description: String,
    query: String,
    #[serde(default)]
    tags: Vec<String>,
}

fn body_from_value(value: Value) -> ApiResult<SavedQueryBody> {
    serde_path_to_error::deserialize::<_, SavedQueryBody>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::bad_request("invalid_request", inner.to_string())
        } else {
            ApiError::bad_request("invalid_request", format!("{path}: {inner}")).with("field", path)
        }
    })
}

/// The body's fields, validated and with the query checked.
async fn fields(state: &AppState, org: Uuid, body: SavedQueryBody) -> ApiResult<SavedQueryFields> {
    let fields = SavedQueryFields {
        name: name_rule("name", &body.name, MAX_NAME_CHARS)?,
        description: free_text("description", &body.description, MAX_DESCRIPTION_BYTES)?
            .unwrap_or_default(),
        tags: tags_rule("tags", &body.tags)?,
        query: body.query,
    };
    if fields.query.trim().is_empty() {
        return Err(ApiError::invalid_field("query", "must not be empty"));
    }
    if fields.query.len() > crate::routes::dsl::MAX_QUERY_BYTES {
        return Err(ApiError::new(
            crate::error::ErrorClass::TooLarge,
            "query_too_long",
            format!(
                "query: the query is {} bytes; the most accepted is {}",
                fields.query.len(),
                crate::routes::dsl::MAX_QUERY_BYTES
            ),
        )
        .with("field", "query"));
    }
    let rules = QueryRules {
        allow_time_range: true,
        declared: &[],
    };
    check_query(state, org, &fields.query, rules)
        .await
        .map_err(|e| query_error("query", e))?;
    Ok(fields)
}

async fn audit(
    state: &AppState,
    principal: &Principal,
    action: &'static str,
    saved: &SavedQuery,
    client: Option<String>,
) {
    state
        .audit(
            NewAuditEvent::success(principal.org_id(), principal.actor(), action)
                .target(format!("saved_query:{}", saved.id))
                .client(client)
                .detail(json!({ "name": saved.name })),
        )
        .await;
}

/// `?tag=&tag=&q=&limit=&before=`: every `tag` must be carried; `q` is a case-insensitive
/// part of the name.
pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let (filter, page) = search_params(query.as_deref(), "saved query")?;
    let saved = state
        .meta
        .list_saved_queries(principal.org_id(), &filter, page)
        .await?;
    let next = next_cursor(page, saved.len(), saved.last().map(|q| q.id));
    Ok(Json(json!({ "saved_queries": saved, "next_cursor": next })))
}

pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: SignedInUser,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<SavedQuery>)> {
    let org = user.0.user.org_id;
    let fields = fields(&state, org, body_from_value(body)?).await?;
    let saved = state
        .meta
        .create_saved_query(org, fields, &user.0.user.email, MAX_SAVED_QUERIES_PER_ORG)
        .await?;
    let principal = Principal::User(user.0);
    audit(&state, &principal, "saved_query.create", &saved, client).await;
    Ok((StatusCode::CREATED, Json(saved)))
}

pub async fn show(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SavedQuery>> {
    Ok(Json(
        state.meta.get_saved_query(principal.org_id(), id).await?,
    ))
}

/// `PUT` replaces name, description, query and tags (omitted description and tags are
/// cleared).
pub async fn replace(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<SavedQuery>> {
    let org = user.0.user.org_id;
    state.meta.get_saved_query(org, id).await?;
    let mut body = body;
    if let Value::Object(members) = &mut body {
        if let Some(given) = members.remove("id")
            && given != json!(id)
        {
            return Err(ApiError::invalid_field(
                "id",
                "must be this saved query's id, or left out",
            ));
        }
        for member in READ_ONLY {
            members.remove(*member);
        }
    }
    let fields = fields(&state, org, body_from_value(body)?).await?;
    let saved = state.meta.replace_saved_query(org, id, fields).await?;
    let principal = Principal::User(user.0);
    audit(&state, &principal, "saved_query.update", &saved, client).await;
    Ok(Json(saved))
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let saved = state
        .meta
        .delete_saved_query(principal.org_id(), id)
        .await?;
    audit(&state, &principal, "saved_query.delete", &saved, client).await;
    Ok(StatusCode::NO_CONTENT)
}
