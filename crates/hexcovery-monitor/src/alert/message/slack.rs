//! Slack's incoming-webhook body: `text` (the title, for notifications and clients without
//! blocks) and `blocks` — a header, a section per alert and a closing context line with the
//! rule's link — within Slack's limits: at most 50 blocks (alerts past the 48th are counted
//! in the context line, "and N more"), 150 characters a header and 3000 a section.

use super::{MessageContext, state_word, title, truncate};
use crate::alert::notify::{AlertStatus, Notification};
use crate::alert::template::format_value;
use serde_json::{Value, json};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_HEADER_CHARS: usize = 150;
pub const MAX_SECTION_CHARS: usize = 3_000;

/// Slack's mrkdwn escapes: `&`, `<` and `>` only.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// [`truncate`] for escaped text: a cut inside an entity (`&am…`) drops the broken entity.
fn truncate_escaped(text: &str, max: usize) -> String {
    let cut = truncate(text, max);
    let Some(body) = cut.strip_suffix('…') else {
        return cut;
    };
    match body.rfind('&') {
        Some(amp) if !body[amp..].contains(';') => format!("{}…", &body[..amp]),
        _ => cut,
    }
}

fn section(alert: &crate::alert::notify::Alert) -> String {
    let mut lines = vec![format!("*{}*", state_word(alert))];
    for (name, text) in &alert.annotations {
        lines.push(format!("*{}*: {}", escape(name), escape(text)));
    }
    if let Some(value) = alert.values.get("value") {
        lines.push(format!("*Value*: {}", format_value(*value)));
    }
    if !alert.labels.is_empty() {
        let labels: Vec<String> = alert
            .labels
            .iter()
            .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
            .collect();
        lines.push(format!("*Labels*: {}", labels.join(", ")));
    }
    let mut times = format!(
        "*Started*: {}",
        alert
            .starts_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    if let (AlertStatus::Resolved, Some(ended)) = (alert.status, alert.ends_at) {
        times.push_str(&format!(
            " · *Ended*: {}",
            ended.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        ));
    }
    lines.push(times);
    truncate_escaped(&lines.join("\n"), MAX_SECTION_CHARS)
}

/// The Slack body for `notification`.
pub fn slack_body(notification: &Notification, ctx: &MessageContext<'_>) -> Value {
    let heading = title(notification, ctx.rule_name);
    let shown = notification.alerts.len().min(MAX_BLOCKS - 2);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&heading, MAX_HEADER_CHARS), "emoji": true}
    })];
    for alert in &notification.alerts[..shown] {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": section(alert)}
        }));
    }
    let mut closing = String::new();
    let hidden = notification.alerts.len() - shown;
    if hidden > 0 {
        closing.push_str(&format!("and {hidden} more · "));
    }
    closing.push_str(&format!("<{}|Open the rule>", escape(&ctx.rule_url())));
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate_escaped(&closing, MAX_SECTION_CHARS)}]
    }));
    json!({
        "text": truncate(&heading, MAX_SECTION_CHARS),
        "blocks": blocks,
    })
}
