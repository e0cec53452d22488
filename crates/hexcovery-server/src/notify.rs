//! Alerts to an org's notification channels: heartbeat transitions to `down` and `failed`
//! are queued (durably, in the metastore) for every webhook of the org, and a dispatcher
//! delivers them — signed with HMAC-SHA256 when the channel has a secret — retrying with
//! back-off until a 2xx answer or the last attempt.

use crate::retry::next_attempt;
use crate::state::AppState;
use hexcovery_meta::{Delivery, DeliveryResult, HeartbeatEvent, NotificationChannel};
use hexcovery_monitor::MonitorState;
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

/// Queues notifications for the transitions that alert (to `down` or `failed`).
pub async fn on_transitions(state: &AppState, events: &[HeartbeatEvent]) {
    for e in events {
        tracing::info!(org = %e.org_id, monitor = %e.monitor, from = e.from.as_str(), to = e.to.as_str(), at = %e.at, "heartbeat state changed");
        if !matches!(e.to, MonitorState::Down | MonitorState::Failed) {
            continue;
        }
        let event = format!("heartbeat.{}", e.to.as_str());
        let payload = json!({
            "type": event,
            "monitor": e.monitor,
            "from": e.from,
            "to": e.to,
            "at": e.at,
            "event_id": e.id,
        })
        .to_string();
        if let Err(error) = state
            .meta
            .enqueue_notification(e.org_id, &event, &payload, state.clock.now())
            .await
        {
            tracing::error!(org = %e.org_id, %error, "queueing a notification failed");
        }
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

async fn deliver(state: &AppState, delivery: Delivery, channel: NotificationChannel) {
    let outcome = attempt(state, &delivery, &channel).await;
    let now = state.clock.now();
    let result = match outcome {
        Ok(()) => DeliveryResult::Delivered,
        Err(error) => {
            let attempts = delivery.attempts + 1;
            tracing::warn!(channel = %channel.id, delivery = %delivery.id, attempts, %error, "webhook delivery failed");
            match next_attempt(attempts, now) {
                Some(at) => DeliveryResult::Retry { error, at },
                None => DeliveryResult::Failed { error },
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
) -> Result<(), String> {
    let timestamp = state.clock.now().timestamp();
    let mut request = state
        .http
        .post(&channel.url)
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
        Err(format!("the endpoint answered {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
