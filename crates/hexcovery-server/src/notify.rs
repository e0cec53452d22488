//! Messages to an org's notification channels: heartbeat transitions to `down` and `failed`
//! are queued (durably, by the metastore, with the transition) for every channel of the org,
//! alert notifications for their rule's channels, and a dispatcher delivers them — webhooks signed with
//! HMAC-SHA256 when the channel has a secret, Slack messages to the sealed incoming-webhook
//! URL (a 429 is retried after its `Retry-After`), emails handed to the mail outbox —
//! retrying with back-off until a 2xx answer or the last attempt.

use crate::retry::next_attempt;
use crate::state::AppState;
use hexcovery_meta::{
    ChannelKind, Delivery, DeliveryResult, HeartbeatEvent, NewOutboxMessage, NotificationChannel,
};
use hmac::{KeyInit, Mac};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Logs heartbeat transitions. Those that alert (to `down` or `failed`) were queued for the
/// org's channels by the metastore in the transaction that recorded them.
pub fn on_transitions(events: &[HeartbeatEvent]) {
    for e in events {
        tracing::info!(org = %e.org_id, monitor = %e.monitor, from = e.from.as_str(), to = e.to.as_str(), at = %e.at, "heartbeat state changed");
    }
}

/// Delivers due notifications every second until `stop`.
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    crate::every(Duration::from_secs(1), stop, || deliver_due(&state)).await;
}

async fn deliver_due(state: &AppState) {
    let due = match state.meta.due_deliveries(state.clock.now(), 50).await {
        Ok(due) => due,
        Err(error) => return tracing::error!(%error, "listing due notifications failed"),
    };
    let attempts = due
        .into_iter()
        .map(|(delivery, channel)| deliver(state, delivery, channel));
    futures::future::join_all(attempts).await;
}

/// Why an attempt failed, and when the receiver asked to be tried again (Slack's 429).
struct Failure {
    error: String,
    retry_after: Option<Duration>,
}

impl From<String> for Failure {
    fn from(error: String) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// Longest `Retry-After` honoured; a longer one waits this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

async fn deliver(state: &AppState, delivery: Delivery, channel: NotificationChannel) {
    let outcome = match channel.kind {
        ChannelKind::Webhook => attempt(state, &delivery, &channel).await,
        ChannelKind::Slack => attempt_slack(state, &delivery, &channel).await,
        ChannelKind::Email => to_outbox(state, &delivery, &channel).await,
    };
    let now = state.clock.now();
    let result = match outcome {
        Ok(()) => DeliveryResult::Delivered,
        Err(Failure { error, retry_after }) => {
            let attempts = delivery.attempts + 1;
            tracing::warn!(channel = %channel.id, kind = channel.kind.as_str(), delivery = %delivery.id, attempts, %error, "notification delivery failed");
            match (next_attempt(attempts, now), retry_after) {
                (Some(_), Some(wait)) => DeliveryResult::Retry {
                    error,
                    at: now
                        + chrono::TimeDelta::from_std(wait.min(MAX_RETRY_AFTER))
                            .unwrap_or(chrono::TimeDelta::hours(1)),
                },
                (Some(at), None) => DeliveryResult::Retry { error, at },
                (None, _) => DeliveryResult::Failed { error },
            }
        }
    };
    if let Err(error) = state.meta.record_delivery(delivery.id, result, now).await {
        tracing::error!(delivery = %delivery.id, %error, "recording a delivery attempt failed");
    }
}

async fn attempt(
    state: &AppState,
    delivery: &Delivery,
    channel: &NotificationChannel,
) -> Result<(), Failure> {
    let url = channel
        .url
        .as_deref()
        .ok_or_else(|| "the webhook channel has no URL".to_string())?;
    let timestamp = state.clock.now().timestamp();
    let mut request = state
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("x-hexcovery-event", &delivery.event)
        .header("x-hexcovery-delivery", delivery.id.to_string())
        .header("x-hexcovery-timestamp", timestamp.to_string())
        .body(delivery.payload.clone());
    if let Some(sealed) = &channel.secret_sealed {
        let secret = state.secrets.open(sealed).map_err(|_| {
            "the channel's secret cannot be opened with this server key".to_string()
        })?;
        request = request.header(
            "x-hexcovery-signature",
            signature(&secret, timestamp, &delivery.payload),
        );
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the endpoint answered {}", response.status()).into())
    }
}

/// Posts a Slack message (alert deliveries carry one already; heartbeat ones are rendered
/// here) to the channel's sealed incoming-webhook URL.
async fn attempt_slack(
    state: &AppState,
    delivery: &Delivery,
    channel: &NotificationChannel,
) -> Result<(), Failure> {
    let sealed = channel
        .url_sealed
        .as_deref()
        .ok_or_else(|| "the slack channel has no URL".to_string())?;
    let url = state
        .secrets
        .open(sealed)
        .map_err(|_| "the channel's URL cannot be opened with this server key".to_string())?;
    let body = if delivery.event.starts_with("heartbeat.") {
        heartbeat_slack(&delivery.payload)
    } else {
        delivery.payload.clone()
    };
    let response = state
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        // The URL is a secret: reqwest's error may quote it.
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = (status == reqwest::StatusCode::TOO_MANY_REQUESTS)
        .then(|| {
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        })
        .flatten();
    Err(Failure {
        error: format!("Slack answered {status}"),
        retry_after,
    })
}

/// A heartbeat notification as a Slack message.
fn heartbeat_slack(payload: &str) -> String {
    let event: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let text = format!(
        "[{}] heartbeat {} is {} (was {}) since {}",
        event["to"].as_str().unwrap_or("?").to_uppercase(),
        event["monitor"].as_str().unwrap_or("?"),
        event["to"].as_str().unwrap_or("?"),
        event["from"].as_str().unwrap_or("?"),
        event["at"].as_str().unwrap_or("?"),
    );
    json!({ "text": text }).to_string()
}

/// An email channel's delivery is handed to the outbox, one message per address; the mailer
/// sends it (or, without a mail server, the outbox keeps it for admins to read).
async fn to_outbox(
    state: &AppState,
    delivery: &Delivery,
    channel: &NotificationChannel,
) -> Result<(), Failure> {
    let event: serde_json::Value = serde_json::from_str(&delivery.payload).unwrap_or_default();
    let (subject, body) = if delivery.event.starts_with("heartbeat.") {
        let monitor = event["monitor"].as_str().unwrap_or("?");
        let to = event["to"].as_str().unwrap_or("?");
        (
            format!("[{}] heartbeat {monitor}", to.to_uppercase()),
            format!(
                "The heartbeat monitor {monitor} is {to} (was {}) since {}.\n",
                event["from"].as_str().unwrap_or("?"),
                event["at"].as_str().unwrap_or("?"),
            ),
        )
    } else {
        (
            format!("[{}] notification", delivery.event),
            delivery.payload.clone(),
        )
    };
    for recipient in &channel.emails {
        state
            .meta
            .add_outbox_message(
                NewOutboxMessage {
                    org_id: delivery.org_id,
                    recipient: recipient.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                    send: state.mailer.is_some(),
                    invite_id: None,
                },
                state.clock.now(),
            )
            .await
            .map_err(|e| format!("queueing the email failed: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_events_become_one_line_slack_messages() {
        let payload = json!({"type": "heartbeat.down", "monitor": "nightly-backup",
            "from": "late", "to": "down", "at": "2026-11-22T11:05:00Z", "event_id": "e"});
        let slack: serde_json::Value =
            serde_json::from_str(&heartbeat_slack(&payload.to_string())).unwrap();
        assert_eq!(
            slack,
            json!({"text": "[DOWN] heartbeat nightly-backup is down (was late) since 2026-11-22T11:05:00Z"})
        );
        // A payload that is not what a heartbeat sends still gives a message, not a panic.
        let odd: serde_json::Value = serde_json::from_str(&heartbeat_slack("not json")).unwrap();
        assert!(odd["text"].as_str().unwrap().contains("heartbeat ?"));
    }

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", 0, "what do ya want for nothing?").len(),
            "sha256=".len() + 64
        );
        assert_eq!(
            signature("Jefe", 1, "{}"),
            signature("Jefe", 1, "{}"),
            "deterministic"
        );
        assert_ne!(signature("Jefe", 1, "{}"), signature("Jefe", 2, "{}"));
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
