//! A notification as each of the rule's channels receives it: the webhook body (Alertmanager
//! v4 superset) or Slack blocks as a queued delivery, and an email per address for the
//! outbox, threaded so the resolved mail answers the firing one.

use hexcovery_meta::{
    AlertRuleRecord, ChannelKind, Metastore, NewAlertEmail, NewDelivery, NotificationChannel,
};
use hexcovery_monitor::alert::{self, Notification, message};
use uuid::Uuid;

/// The channels a rule notifies (those of its list that still exist in its org).
pub struct Channels(pub Vec<NotificationChannel>);

impl Channels {
    pub async fn of_rule(meta: &dyn Metastore, rule: &AlertRuleRecord) -> anyhow::Result<Self> {
        let all = meta.list_notification_channels(rule.org_id).await?;
        Ok(Self(
            all.into_iter()
                .filter(|c| rule.channels.contains(&c.id))
                .collect(),
        ))
    }
}

/// What the messages say about their rule.
pub struct Context<'a> {
    pub rule_id: Uuid,
    pub rule_name: &'a str,
    pub query: &'a str,
    pub external_url: &'a str,
    pub mail_enabled: bool,
}

/// The host part of alert `Message-ID`s.
const MESSAGE_ID_HOST: &str = "hexcovery";

/// The deliveries and emails `notification` becomes on `channels`.
pub fn render(
    channels: &Channels,
    context: &Context<'_>,
    notification: &Notification,
) -> (Vec<NewDelivery>, Vec<NewAlertEmail>) {
    let rule_id = context.rule_id.to_string();
    let event_id = alert::event_id(&rule_id, notification);
    let event = notification.kind.as_str().to_string();
    let mut deliveries = Vec::new();
    let mut emails = Vec::new();
    for channel in &channels.0 {
        let ctx = message::MessageContext {
            rule_id: &rule_id,
            rule_name: context.rule_name,
            rule_query: context.query,
            receiver: &channel.name,
            external_url: context.external_url,
            event_id: &event_id,
        };
        match channel.kind {
            ChannelKind::Webhook => deliveries.push(NewDelivery {
                channel_id: channel.id,
                event: event.clone(),
                payload: message::webhook_body(notification, &ctx).to_string(),
            }),
            ChannelKind::Slack => deliveries.push(NewDelivery {
                channel_id: channel.id,
                event: event.clone(),
                payload: message::slack_body(notification, &ctx).to_string(),
            }),
            ChannelKind::Email => {
                let mail = message::email(notification, &ctx);
                let thread = format!("<{}@{MESSAGE_ID_HOST}>", mail.thread_key);
                // The mail that opens the thread carries the thread's id; the others their
                // own (stable per event), answering it.
                let (message_id, in_reply_to) = if mail.opens_thread {
                    (thread, None)
                } else {
                    (
                        format!("<{}.{event_id}@{MESSAGE_ID_HOST}>", mail.thread_key),
                        Some(thread),
                    )
                };
                for address in &channel.emails {
                    emails.push(NewAlertEmail {
                        recipient: address.clone(),
                        subject: mail.subject.clone(),
                        text: mail.text.clone(),
                        html: mail.html.clone(),
                        message_id: message_id.clone(),
                        in_reply_to: in_reply_to.clone(),
                        send: context.mail_enabled,
                    });
                }
            }
        }
    }
    (deliveries, emails)
}

/// A notification saying it is a test: one firing alert with `labels` (plus `test: "true"`).
fn test_notification(
    labels: std::collections::BTreeMap<String, String>,
    summary: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Notification {
    let mut labels = labels;
    labels.insert("test".into(), "true".into());
    let annotations = std::collections::BTreeMap::from([("summary".to_string(), summary)]);
    Notification {
        at: now,
        kind: alert::NotificationType::Firing,
        status: alert::AlertStatus::Firing,
        alerts: vec![alert::Alert {
            status: alert::AlertStatus::Firing,
            state: alert::State::Firing,
            fingerprint: alert::fingerprint_of(&labels),
            labels,
            annotations,
            values: Default::default(),
            starts_at: now,
            ends_at: None,
        }],
        group_started_at: now,
        opens_group: true,
    }
}

/// A test message for one channel (`POST /notification-channels/{id}/test`).
pub fn channel_test_messages(
    channel: &NotificationChannel,
    external_url: &str,
    mail_enabled: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<NewDelivery>, Vec<NewAlertEmail>) {
    let name = format!("Test of channel {}", channel.name);
    let labels = std::collections::BTreeMap::from([("alertname".to_string(), name.clone())]);
    let notification = test_notification(
        labels,
        format!(
            "A test message for the notification channel {:?}.",
            channel.name
        ),
        now,
    );
    render(
        &Channels(vec![channel.clone()]),
        &Context {
            rule_id: Uuid::nil(),
            rule_name: &name,
            query: "",
            external_url,
            mail_enabled,
        },
        &notification,
    )
}

/// A test notification for `rule`'s channels: one firing alert with the rule's labels, said
/// to be a test in its annotations and marked `test: "true"`.
pub async fn test_messages(
    meta: &dyn Metastore,
    rule: &AlertRuleRecord,
    definition: &alert::AlertRule,
    external_url: &str,
    mail_enabled: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(Vec<NewDelivery>, Vec<NewAlertEmail>)> {
    let mut labels = definition.labels.clone();
    labels.insert("alertname".into(), rule.name.clone());
    let notification = test_notification(
        labels,
        format!(
            "A test notification for the alert rule {:?}: its channels are reachable.",
            rule.name
        ),
        now,
    );
    let channels = Channels::of_rule(meta, rule).await?;
    Ok(render(
        &channels,
        &Context {
            rule_id: rule.id,
            rule_name: &rule.name,
            query: &rule.query,
            external_url,
            mail_enabled,
        },
        &notification,
    ))
}
