//! The caller's org and identity: `GET /api/v1/me`, `GET/PATCH /api/v1/org` (name, slug,
//! email, telemetry `retention_days`).

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use hexcovery_meta::{Actor, NewAuditEvent, Org, OrgPatch, validate};
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/v1/me`: who the caller is and which org they are in.
pub async fn me(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let org = state.meta.get_org(session.user.org_id).await?;
    Ok(Json(json!({ "user": session.user, "org": org })))
}

/// `GET /api/v1/org`.
pub async fn show(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Org>> {
    Ok(Json(state.meta.get_org(session.user.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUpdate {
    name: Option<String>,
    slug: Option<String>,
    email: Option<String>,
    retention_days: Option<u32>,
}

/// `PATCH /api/v1/org` (admin): change name, slug or email; absent fields stay as they are.
pub async fn update(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(req): ApiJson<OrgUpdate>,
) -> ApiResult<Json<Org>> {
    let patch = OrgPatch {
        name: req
            .name
            .map(|v| validate::name("name", &v, 100))
            .transpose()?,
        slug: req.slug.map(|v| validate::slug("slug", &v)).transpose()?,
        email: req
            .email
            .map(|v| validate::email("email", &v))
            .transpose()?,
        retention_days: req
            .retention_days
            .map(validate::retention_days)
            .transpose()?,
    };
    let changed: Vec<&str> = [
        ("name", patch.name.is_some()),
        ("slug", patch.slug.is_some()),
        ("email", patch.email.is_some()),
        ("retention_days", patch.retention_days.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    if changed.is_empty() {
        return Err(ApiError::bad_request(
            "empty_update",
            "nothing to change: send at least one of name, slug, email, retention_days",
        ));
    }
    let org_id = session.user.org_id;
    let actor = Actor::user(&session.user);
    let result = state.meta.update_org(org_id, patch).await;
    let event = match &result {
        Ok(_) => NewAuditEvent::success(org_id, actor, "org.update"),
        Err(_) => NewAuditEvent::failure(org_id, actor, "org.update"),
    };
    state
        .audit(
            event
                .target(format!("org:{org_id}"))
                .client(client)
                .detail(json!({ "fields": changed })),
        )
        .await;
    Ok(Json(result?))
}
