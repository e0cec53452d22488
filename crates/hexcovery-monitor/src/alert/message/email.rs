//! An alert email: subject, plain-text and HTML parts (every interpolated value escaped), and
//! the thread it belongs to. A thread is one notification group of the rule — from its first
//! notified alert until its last one resolved — so the resolved mail answers the firing one.

use super::{MessageContext, one_line, state_word, title};
use crate::alert::notify::{Alert, AlertStatus, Notification};
use crate::alert::template::format_value;
use sha2::{Digest, Sha256};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `[FIRING:<n>] <rule name>` or `[RESOLVED] <rule name>`, on one line.
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The `Message-ID` local part of the mail that opens the thread:
    /// `hexcovery.alert.<rule id>.<unix seconds of the group's start>`. The caller sets
    /// `Message-ID: <thread_key@host>` on the mail that opens the thread, and on every other
    /// mail of the group its own id with `In-Reply-To` and `References: <thread_key@host>`.
    pub thread_key: String,
    /// Whether this mail opens the thread.
    pub opens_thread: bool,
}

/// HTML text and attribute escapes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn thread_key(ctx: &MessageContext<'_>, notification: &Notification) -> String {
    let id = ctx.rule_id;
    let plain = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let id = if plain {
        id.to_string()
    } else {
        hex::encode(&Sha256::digest(id.as_bytes())[..16])
    };
    format!(
        "hexcovery.alert.{id}.{}",
        notification.group_started_at.timestamp()
    )
}

fn labels_text(alert: &Alert) -> String {
    alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn text_part(notification: &Notification, ctx: &MessageContext<'_>, heading: &str) -> String {
    let mut out = format!("{heading}\n");
    for alert in &notification.alerts {
        let _ = write!(out, "\n{}: {}\n", state_word(alert), labels_text(alert));
        for (name, text) in &alert.annotations {
            let _ = writeln!(out, "  {name}: {text}");
        }
        if let Some(value) = alert.values.get("value") {
            let _ = writeln!(out, "  value: {}", format_value(*value));
        }
        let _ = writeln!(
            out,
            "  started: {}",
            alert
                .starts_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
        if let (AlertStatus::Resolved, Some(ended)) = (alert.status, alert.ends_at) {
            let _ = writeln!(
                out,
                "  ended: {}",
                ended.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            );
        }
    }
    let _ = write!(
        out,
        "\nRule: {}\n{}\nQuery: {}\n",
        ctx.rule_name,
        ctx.rule_url(),
        ctx.rule_query
    );
    out
}

fn html_part(notification: &Notification, ctx: &MessageContext<'_>, heading: &str) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<h2>{}</h2>\n",
        escape(heading)
    );
    for alert in &notification.alerts {
        let _ = write!(
            out,
            "<h3>{}: {}</h3>\n<table>\n",
            escape(state_word(alert)),
            escape(&labels_text(alert))
        );
        let mut row = |name: &str, value: &str| {
            let _ = writeln!(
                out,
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                escape(name),
                escape(value)
            );
        };
        for (name, text) in &alert.annotations {
            row(name, text);
        }
        if let Some(value) = alert.values.get("value") {
            row("value", &format_value(*value));
        }
        row(
            "started",
            &alert
                .starts_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        );
        if let (AlertStatus::Resolved, Some(ended)) = (alert.status, alert.ends_at) {
            row(
                "ended",
                &ended.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            );
        }
        out.push_str("</table>\n");
    }
    let url = ctx.rule_url();
    let _ = write!(
        out,
        "<p><a href=\"{}\">{}</a></p>\n<pre>{}</pre>\n</body></html>\n",
        escape(&url),
        escape(ctx.rule_name),
        escape(ctx.rule_query)
    );
    out
}

/// The email for `notification`.
pub fn email(notification: &Notification, ctx: &MessageContext<'_>) -> Email {
    let subject = one_line(&title(notification, ctx.rule_name));
    Email {
        text: text_part(notification, ctx, &subject),
        html: html_part(notification, ctx, &subject),
        thread_key: thread_key(ctx, notification),
        opens_thread: notification.opens_group,
        subject,
    }
}
