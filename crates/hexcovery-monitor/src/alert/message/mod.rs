//! The messages a notification becomes on each kind of channel — the webhook body (a
//! superset of Alertmanager's version 4), Slack's blocks, an email's parts and thread — and
//! what they share: the title, common labels, the rule's link, truncation.

mod email;
mod slack;
mod webhook;

pub use email::{Email, email};
pub use slack::{MAX_BLOCKS, MAX_HEADER_CHARS, MAX_SECTION_CHARS, slack_body};
pub use webhook::webhook_body;

use super::notify::{Alert, AlertStatus, Notification, NotificationType};
use std::collections::BTreeMap;

/// Where a message goes and what it is about, beside the notification itself.
#[derive(Debug, Clone, Copy)]
pub struct MessageContext<'a> {
    pub rule_id: &'a str,
    pub rule_name: &'a str,
    pub rule_query: &'a str,
    /// The channel's name.
    pub receiver: &'a str,
    /// The server's public URL, e.g. `https://hexcovery.example.com`.
    pub external_url: &'a str,
    /// [`event_id`](crate::alert::event_id) of the notification.
    pub event_id: &'a str,
}

impl MessageContext<'_> {
    pub fn external_url(&self) -> &str {
        self.external_url.trim_end_matches('/')
    }

    /// The rule's page: `<external_url>/alerts/<rule id>` (the alerts' `generatorURL`).
    pub fn rule_url(&self) -> String {
        format!(
            "{}/alerts/{}",
            self.external_url(),
            percent_encode(self.rule_id)
        )
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Control characters (newlines included) as spaces: names go into one-line headers.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `[FIRING:<n>] <rule name>` (n = active alerts) or `[RESOLVED] <rule name>`; a message
/// about no data or a failing query says so after the name.
pub fn title(notification: &Notification, rule_name: &str) -> String {
    let name = one_line(rule_name);
    match notification.status {
        AlertStatus::Resolved => format!("[RESOLVED] {name}"),
        AlertStatus::Firing => {
            let suffix = match notification.kind {
                NotificationType::NoData => " (no data)",
                NotificationType::Error => " (query error)",
                NotificationType::Firing | NotificationType::Resolved => "",
            };
            format!("[FIRING:{}] {name}{suffix}", notification.active_count())
        }
    }
}

/// An alert's labels as receivers see them: with `alertname` (the rule's name) unless the
/// alert has one, as Alertmanager receivers expect.
pub(crate) fn labels_with_alertname(alert: &Alert, rule_name: &str) -> BTreeMap<String, String> {
    let mut labels = alert.labels.clone();
    labels
        .entry("alertname".to_string())
        .or_insert_with(|| rule_name.to_string());
    labels
}

/// The pairs every map has with the same value.
pub(crate) fn common<'a>(
    maps: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut maps = maps.into_iter();
    let Some(first) = maps.next() else {
        return BTreeMap::new();
    };
    let mut shared = first.clone();
    for map in maps {
        shared.retain(|k, v| map.get(k) == Some(v));
    }
    shared
}

/// How people read an alert's state.
pub(crate) fn state_word(alert: &Alert) -> &'static str {
    use super::instance::State;
    match (alert.status, alert.state) {
        (AlertStatus::Resolved, _) => "Resolved",
        (_, State::NoData) => "No data",
        (_, State::Error) => "Query error",
        _ => "Firing",
    }
}

/// At most `max` characters of `text`, ending in "…" when cut (on a character boundary).
/// Characters outside the Basic Multilingual Plane count twice, as in UTF-16 (what Slack
/// counts), so the result is within `max` however it is counted.
pub fn truncate(text: &str, max: usize) -> String {
    let width = |s: &str| s.chars().map(char::len_utf16).sum::<usize>();
    if width(text) <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(1);
    let mut used = 0;
    let mut cut = 0;
    for (i, c) in text.char_indices() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        cut = i + c.len_utf8();
    }
    format!("{}…", &text[..cut])
}

#[cfg(test)]
mod tests;
