//! Notification channels (admin): `GET, POST /api/v1/notification-channels`, `DELETE
//! /api/v1/notification-channels/{id}`, a channel's recent deliveries and a test message. A
//! channel is a webhook (an http(s) URL and an optional signing secret, sealed at rest and
//! never shown), a Slack incoming webhook (the URL is the secret: sealed, shown as "set") or
//! a list of email addresses (sent through the SMTP mailer's outbox).

use crate::auth::SignedInUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hexcovery_meta::validate::{email as email_rule, name as name_rule};
use hexcovery_meta::{
    Actor, ChannelKind, NewAuditEvent, NewNotificationChannel, NotificationChannel,
};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Most channels one org may have.
const MAX_CHANNELS_PER_ORG: usize = 100;
/// Most addresses one email channel sends to.
const MAX_EMAILS: usize = 50;

pub fn view(channel: &NotificationChannel) -> Value {
    let mut view = json!({
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "created_by": channel.created_by,
        "created_at": channel.created_at,
    });
    match channel.kind {
        ChannelKind::Webhook => {
            view["url"] = json!(channel.url);
            view["has_secret"] = json!(channel.secret_sealed.is_some());
        }
        ChannelKind::Slack => view["url"] = json!("set"),
        ChannelKind::Email => view["emails"] = json!(channel.emails),
    }
    view
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    emails: Option<Vec<String>>,
}

/// Whether `url` is a Slack incoming webhook (whose URL is a secret).
fn is_slack_webhook(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.eq_ignore_ascii_case("hooks.slack.com"))
        })
        .unwrap_or(false)
}

/// Checks a channel's fields for its kind and seals what is secret.
fn new_channel(
    state: &AppState,
    body: ChannelBody,
    created_by: String,
) -> ApiResult<NewNotificationChannel> {
    let name = name_rule("name", &body.name, 100)?;
    let kind = match body.kind.as_deref() {
        None => ChannelKind::Webhook,
        Some(text) => ChannelKind::parse(text).ok_or_else(|| {
            ApiError::invalid_field(
                "kind",
                format!("is {text:?}; it must be \"webhook\", \"slack\" or \"email\""),
            )
        })?,
    };
    let refuse = |field: &'static str, what: &str| {
        ApiError::invalid_field(field, format!("is not used by {what} channels"))
    };
    let mut new = NewNotificationChannel {
        name,
        kind,
        url: None,
        url_sealed: None,
        secret_sealed: None,
        emails: Vec::new(),
        created_by,
    };
    match kind {
        ChannelKind::Webhook | ChannelKind::Slack => {
            let Some(url) = body.url.as_deref() else {
                return Err(ApiError::invalid_field(
                    "url",
                    "is required for webhook and slack channels",
                ));
            };
            let url = super::http_url("url", url)?;
            if body.emails.is_some() {
                return Err(refuse("emails", kind.as_str()));
            }
            if kind == ChannelKind::Webhook && is_slack_webhook(&url) {
                return Err(ApiError::invalid_field(
                    "url",
                    "is a Slack incoming webhook: create it with \"kind\": \"slack\", which keeps the URL secret and sends Slack's message format",
                ));
            }
            if kind == ChannelKind::Slack {
                if body.secret.is_some() {
                    return Err(refuse("secret", "slack"));
                }
                new.url_sealed = Some(state.secrets.seal(&url));
            } else {
                new.url = Some(url);
            }
        }
        ChannelKind::Email => {
            if body.url.is_some() {
                return Err(refuse("url", "email"));
            }
            if body.secret.is_some() {
                return Err(refuse("secret", "email"));
            }
            let emails = body.emails.unwrap_or_default();
            if emails.is_empty() || emails.len() > MAX_EMAILS {
                return Err(ApiError::invalid_field(
                    "emails",
                    format!(
                        "must list 1 to {MAX_EMAILS} addresses, got {}",
                        emails.len()
                    ),
                ));
            }
            for address in &emails {
                let address = email_rule("emails", address)?;
                if !new.emails.contains(&address) {
                    new.emails.push(address);
                }
            }
        }
    }
    if let Some(secret) = &body.secret {
        if !(16..=256).contains(&secret.len()) {
            return Err(ApiError::invalid_field(
                "secret",
                format!("must be 16 to 256 characters long, got {}", secret.len()),
            ));
        }
        new.secret_sealed = Some(state.secrets.seal(secret));
    }
    Ok(new)
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
    let user = &session.user;
    let new = new_channel(&state, body, user.email.clone())?;
    if state
        .meta
        .list_notification_channels(user.org_id)
        .await?
        .len()
        >= MAX_CHANNELS_PER_ORG
    {
        return Err(ApiError::new(
            crate::error::ErrorClass::Conflict,
            "too_many_channels",
            format!(
                "an organization may have at most {MAX_CHANNELS_PER_ORG} notification channels"
            ),
        ));
    }
    let channel = state
        .meta
        .create_notification_channel(user.org_id, new, chrono::Utc::now())
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
            .detail(json!({ "name": channel.name, "kind": channel.kind, "url": channel.url })),
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

/// `POST /api/v1/notification-channels/{id}/test`: a test message through the channel's
/// queue (webhook and Slack deliveries, or an email per address), so an admin sees it arrive
/// and can read its outcome under the channel's deliveries.
pub async fn test(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SignedInUser(session): SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = &session.user;
    let channel = state
        .meta
        .list_notification_channels(user.org_id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found("notification channel"))?;
    let now = state.clock.now();
    let (deliveries, emails) = hexcovery_alerting::channel_test_messages(
        &channel,
        &state.config.public_url,
        state.mailer.is_some(),
        now,
    );
    let queued = deliveries.len() + emails.len();
    state
        .meta
        .queue_messages(user.org_id, deliveries, emails, now)
        .await?;
    state
        .audit(
            NewAuditEvent::success(user.org_id, Actor::user(user), "notification_channel.test")
                .target(format!("notification_channel:{id}"))
                .client(client),
        )
        .await;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))))
}
