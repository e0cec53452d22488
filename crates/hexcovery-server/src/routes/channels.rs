//! Notification channels (admin): `GET, POST /api/v1/notification-channels`, `DELETE
//! /api/v1/notification-channels/{id}`, and a channel's recent deliveries. A channel is a
//! webhook: an http(s) URL and an optional signing secret, sealed at rest and never shown.

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hexcovery_meta::validate::name as name_rule;
use hexcovery_meta::{Actor, NewAuditEvent, NewNotificationChannel, NotificationChannel};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

fn view(channel: &NotificationChannel) -> Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "url": channel.url,
        "has_secret": channel.secret_sealed.is_some(),
        "created_by": channel.created_by,
        "created_at": channel.created_at,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    name: String,
    url: String,
    #[serde(default)]
    secret: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Json<Value>> {
    let channels = state
        .meta
        .list_notification_channels(session.user.org_id)
        .await?;
    let channels: Vec<Value> = channels.iter().map(view).collect();
    Ok(Json(json!({ "notification_channels": channels })))
}

pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiJson(body): ApiJson<ChannelBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = name_rule("name", &body.name, 100)?;
    let url = super::http_url("url", &body.url)?;
    if let Some(secret) = &body.secret
        && !(16..=256).contains(&secret.len())
    {
        return Err(ApiError::invalid_field(
            "secret",
            format!("must be 16 to 256 characters long, got {}", secret.len()),
        ));
    }
    let user = &session.user;
    let channel = state
        .meta
        .create_notification_channel(
            user.org_id,
            NewNotificationChannel {
                name,
                url,
                secret_sealed: body.secret.as_deref().map(|s| state.secrets.seal(s)),
                created_by: user.email.clone(),
            },
            chrono::Utc::now(),
        )
        .await?;
    state
        .audit(
            NewAuditEvent::success(
                user.org_id,
                Actor::user(user),
                "notification_channel.create",
            )
            .target(format!("notification_channel:{}", channel.id))
            .client(client)
            .detail(json!({ "name": channel.name, "url": channel.url })),
        )
        .await;
    Ok((StatusCode::CREATED, Json(view(&channel))))
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let user = &session.user;
    let channel = state
        .meta
        .delete_notification_channel(user.org_id, id)
        .await?;
    state
        .audit(
            NewAuditEvent::success(
                user.org_id,
                Actor::user(user),
                "notification_channel.delete",
            )
            .target(format!("notification_channel:{id}"))
            .client(client)
            .detail(json!({ "name": channel.name })),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The channel's latest 100 deliveries: what was sent, how often, and how it ended.
pub async fn deliveries(
    State(state): State<AppState>,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Value>> {
    let org = session.user.org_id;
    // A channel of another org is not found, like a missing one.
    let channels = state.meta.list_notification_channels(org).await?;
    if !channels.iter().any(|c| c.id == id) {
        return Err(ApiError::not_found("notification channel"));
    }
    let deliveries = state.meta.list_deliveries(org, id, 100).await?;
    Ok(Json(json!({ "deliveries": deliveries })))
}
