//! The webhook body: Alertmanager's webhook (version 4) so its receivers work unchanged, plus
//! `type`, `event_id`, `rule` and each alert's `values` and `state`.

use super::{MessageContext, common, labels_with_alertname};
use crate::alert::notify::Notification;
use serde_json::{Value, json};

/// The JSON body for `notification`. `groupKey` is `{}:{rule_id="<id>"}` (one group per
/// rule); `groupLabels` is `{"alertname": <rule name>}`; `truncatedAlerts` is always 0 (every
/// alert is sent).
pub fn webhook_body(notification: &Notification, ctx: &MessageContext<'_>) -> Value {
    let generator = ctx.rule_url();
    let labelled: Vec<_> = notification
        .alerts
        .iter()
        .map(|a| labels_with_alertname(a, ctx.rule_name))
        .collect();
    let alerts: Vec<Value> = notification
        .alerts
        .iter()
        .zip(&labelled)
        .map(|(alert, labels)| {
            let mut value = serde_json::to_value(alert).unwrap_or(Value::Null);
            value["labels"] = json!(labels);
            value["generatorURL"] = json!(generator);
            value
        })
        .collect();
    let rule_id = ctx.rule_id.replace('\\', "\\\\").replace('"', "\\\"");
    json!({
        "version": "4",
        "type": notification.kind,
        "status": notification.status,
        "receiver": ctx.receiver,
        "groupKey": format!("{{}}:{{rule_id=\"{rule_id}\"}}"),
        "groupLabels": {"alertname": ctx.rule_name},
        "commonLabels": common(&labelled),
        "commonAnnotations": common(notification.alerts.iter().map(|a| &a.annotations)),
        "externalURL": ctx.external_url(),
        "truncatedAlerts": 0,
        "event_id": ctx.event_id,
        "rule": {"id": ctx.rule_id, "name": ctx.rule_name, "query": ctx.rule_query},
        "alerts": alerts,
    })
}
