//! Contract cases for heartbeat alerts: a transition to `down` or `failed` and its
//! notification are written in one transaction, so no crash between them can lose the alert.

use chrono::{Duration, Utc};
use hexcovery_meta::*;

/// Every way a transition is recorded (the evaluator, a ping, an edit) queues the alerting
/// ones for each of the org's channels by itself: the caller has nothing left to do.
pub(crate) async fn heartbeat_alerts_are_queued_with_their_transition(store: &dyn Metastore) {
    use hexcovery_monitor::MonitorState::*;
    let (org, _) = crate::org_with_admin(store, "beats").await;
    let channel = store
        .create_notification_channel(
            org.id,
            NewNotificationChannel {
                name: "ops".into(),
                kind: ChannelKind::Webhook,
                url: Some("http://127.0.0.1:9/hook".into()),
                url_sealed: None,
                secret_sealed: None,
                emails: Vec::new(),
                created_by: "admin".into(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let t0 = chrono::DateTime::from_timestamp(Utc::now().timestamp() - 86_400, 0).unwrap();
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let config = MonitorConfig {
        schedule: "every 1h".into(),
        timezone: "UTC".into(),
        grace_secs: 300,
        max_runtime_secs: None,
    };
    let ping = |kind| NewPing {
        name: "backup".into(),
        kind,
        run_id: None,
        body: None,
    };
    store
        .heartbeat_ping(org.id, ping(PingKind::Success), &config, at(0))
        .await
        .unwrap();
    assert!(
        queued(store, org.id, channel.id).await.is_empty(),
        "up alerts nobody"
    );

    // The evaluator records late and down; down is queued in the same write.
    let events = store.evaluate_heartbeats(at(120)).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.to).collect::<Vec<_>>(),
        [Late, Down]
    );
    let down = queued(store, org.id, channel.id).await;
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].0, "heartbeat.down");
    assert_eq!(down[0].1["monitor"], "backup");
    assert_eq!(down[0].1["event_id"], events[1].id.to_string());

    // A failing ping queues `failed` the same way; a success alerts nobody.
    store
        .heartbeat_ping(org.id, ping(PingKind::Fail), &config, at(130))
        .await
        .unwrap();
    store
        .heartbeat_ping(org.id, ping(PingKind::Success), &config, at(140))
        .await
        .unwrap();
    let all = queued(store, org.id, channel.id).await;
    let mut events: Vec<&str> = all.iter().map(|(e, _)| e.as_str()).collect();
    events.sort_unstable();
    assert_eq!(events, ["heartbeat.down", "heartbeat.failed"]);
}

/// The event names and payloads queued for `channel`.
async fn queued(
    store: &dyn Metastore,
    org: uuid::Uuid,
    channel: uuid::Uuid,
) -> Vec<(String, serde_json::Value)> {
    store
        .list_deliveries(org, channel, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.event, serde_json::from_str(&d.payload).unwrap()))
        .collect()
}
