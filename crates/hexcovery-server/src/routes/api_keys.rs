//! Org-scoped API keys (admin): create (the key is shown once), list, revoke.

use super::ListParams;
use crate::auth::SignedInUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use hexcovery_auth::ApiKey;
use hexcovery_meta::{Actor, CreatedBy, NewApiKey, NewAuditEvent, validate};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// `GET /api/v1/api-keys`: unrevoked keys, newest first; never the key or its digest.
pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit(100, 1000)?;
    let keys = state.meta.list_api_keys(session.user.org_id, limit).await?;
    Ok(Json(json!({ "api_keys": keys })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
}

/// `POST /api/v1/api-keys` → 201 `{id, name, key, prefix, created_at, created_by}`. This is
/// the only answer that ever contains the key.
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(req): ApiJson<CreateKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = validate::name("name", &req.name, 100)?;
    let key = ApiKey::generate();
    let user = &session.user;
    let record = state
        .meta
        .create_api_key(NewApiKey {
            org_id: user.org_id,
            name,
            prefix: key.display_prefix().to_string(),
            key_digest: key.digest(),
            created_by: CreatedBy {
                user_id: Some(user.id),
                name: user.email.clone(),
            },
        })
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "api_key.create")
                .target(format!("api_key:{}", record.id))
                .client(client)
                .detail(json!({ "name": record.name, "prefix": record.prefix })),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": record.id,
            "name": record.name,
            "key": key.expose_secret(),
            "prefix": record.prefix,
            "created_at": record.created_at,
            "created_by": record.created_by,
        })),
    ))
}

/// `DELETE /api/v1/api-keys/{id}`: revoked keys are refused from the very next request.
pub async fn revoke(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(key_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    let record = state
        .meta
        .revoke_api_key(user.org_id, key_id, Utc::now())
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "api_key.revoke")
                .target(format!("api_key:{key_id}"))
                .client(client)
                .detail(json!({ "name": record.name, "prefix": record.prefix })),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
