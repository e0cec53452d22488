//! The messages, rendered from notifications the state machine produced.

use super::*;
use crate::alert::{AlertRule, Outcome, Series, evaluate, event_id};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

fn t(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_348_800 + minute * 60, 0).unwrap()
}

fn rule() -> AlertRule {
    serde_json::from_value(json!({
        "window": "5m", "interval": "1m",
        "condition": {"op": ">", "threshold": 50},
        "labels": {"team": "payments"},
        "annotations": {"summary": "{{labels.service}}: {{value}} errors in {{window}}"}
    }))
    .unwrap()
}

fn outcome(services: &[(&str, f64)]) -> Outcome {
    Outcome::Series(
        services
            .iter()
            .map(|(s, v)| Series::new([("service", *s)], *v))
            .collect(),
    )
}

fn firing(services: &[(&str, f64)]) -> Notification {
    evaluate(&rule(), &[], &outcome(services), t(0), &[])
        .notification
        .unwrap()
}

fn resolved(service: &str) -> Notification {
    let r = rule();
    let first = evaluate(&r, &[], &outcome(&[(service, 61.0)]), t(0), &[]);
    evaluate(&r, &first.instances, &outcome(&[(service, 1.0)]), t(3), &[])
        .notification
        .unwrap()
}

const CTX: MessageContext<'static> = MessageContext {
    rule_id: "0190a6e0-0000-7000-8000-000000000001",
    rule_name: "Checkout errors",
    rule_query: "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service",
    receiver: "ops",
    external_url: "https://hx.example.com/",
    event_id: "e1",
};

#[test]
fn the_webhook_is_an_alertmanager_v4_superset() {
    let n = firing(&[("checkout", 61.0), ("cart", 70.5)]);
    let id = event_id(CTX.rule_id, &n);
    let body = webhook_body(
        &n,
        &MessageContext {
            event_id: &id,
            ..CTX
        },
    );
    assert_eq!(body["version"], "4");
    assert_eq!(body["type"], "alert.firing");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "ops");
    assert_eq!(
        body["groupKey"],
        "{}:{rule_id=\"0190a6e0-0000-7000-8000-000000000001\"}"
    );
    assert_eq!(body["groupLabels"], json!({"alertname": "Checkout errors"}));
    assert_eq!(
        body["commonLabels"],
        json!({"alertname": "Checkout errors", "team": "payments"})
    );
    // The summaries differ: nothing in common.
    assert_eq!(body["commonAnnotations"], json!({}));
    assert_eq!(body["externalURL"], "https://hx.example.com");
    assert_eq!(body["truncatedAlerts"], 0);
    assert_eq!(body["event_id"], id.as_str());
    assert_eq!(body["rule"]["name"], "Checkout errors");
    assert_eq!(body["rule"]["query"], CTX.rule_query);
    let alerts = body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2);
    let cart = &alerts[0];
    assert_eq!(cart["status"], "firing");
    assert_eq!(cart["state"], "firing");
    assert_eq!(
        cart["labels"],
        json!({"alertname": "Checkout errors", "service": "cart", "team": "payments"})
    );
    assert_eq!(cart["annotations"]["summary"], "cart: 70.5 errors in 5m");
    assert_eq!(cart["values"], json!({"value": 70.5}));
    assert_eq!(alerts[1]["values"], json!({"value": 61}));
    assert_eq!(cart["startsAt"], "2026-11-22T12:00:00Z");
    assert_eq!(cart["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(cart["fingerprint"].as_str().unwrap().len(), 16);
    assert_eq!(
        cart["generatorURL"],
        "https://hx.example.com/alerts/0190a6e0-0000-7000-8000-000000000001"
    );
    let done = webhook_body(&resolved("checkout"), &CTX);
    assert_eq!(
        (&done["type"], &done["status"]),
        (&json!("alert.resolved"), &json!("resolved"))
    );
    assert_eq!(done["alerts"][0]["endsAt"], "2026-11-22T12:03:00Z");
    assert_eq!(
        done["commonAnnotations"]["summary"],
        "checkout: 1 errors in 5m"
    );
    // The notification itself (the preview's shape) reads back.
    let text = serde_json::to_string(&n).unwrap();
    assert_eq!(serde_json::from_str::<Notification>(&text).unwrap(), n);
}

#[test]
fn titles() {
    assert_eq!(
        title(&firing(&[("a", 61.0), ("b", 61.0)]), "Checkout errors"),
        "[FIRING:2] Checkout errors"
    );
    assert_eq!(
        title(&resolved("a"), "Checkout errors"),
        "[RESOLVED] Checkout errors"
    );
    let no_data: AlertRule = serde_json::from_value(json!({
        "window": "5m", "interval": "1m", "condition": {"op": ">", "threshold": 1}, "no_data": "no_data"
    }))
    .unwrap();
    let n = evaluate(&no_data, &[], &Outcome::Series(vec![]), t(0), &[])
        .notification
        .unwrap();
    assert_eq!(
        title(&n, "Line\r\nbreak"),
        "[FIRING:1] Line  break (no data)"
    );
    let failed = evaluate(&no_data, &[], &Outcome::Failed("x".into()), t(0), &[])
        .notification
        .unwrap();
    assert_eq!(title(&failed, "R"), "[FIRING:1] R (query error)");
}

fn texts(body: &Value) -> Vec<(String, String)> {
    body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let text = b["text"]["text"]
                .as_str()
                .or_else(|| b["elements"][0]["text"].as_str())
                .unwrap();
            (b["type"].as_str().unwrap().to_string(), text.to_string())
        })
        .collect()
}

fn utf16(text: &str) -> usize {
    text.encode_utf16().count()
}

#[test]
fn slack_stays_within_its_limits() {
    let long = "x".repeat(10_000);
    let names: Vec<String> = (0..100).map(|i| format!("svc-{i:03}-{long}")).collect();
    let services: Vec<(&str, f64)> = names.iter().map(|n| (n.as_str(), 61.0)).collect();
    let n = firing(&services);
    let long_name = "N".repeat(500);
    let body = slack_body(
        &n,
        &MessageContext {
            rule_name: &long_name,
            ..CTX
        },
    );
    let blocks = texts(&body);
    assert!(blocks.len() <= MAX_BLOCKS, "{}", blocks.len());
    assert_eq!(blocks.len(), 50);
    assert_eq!(blocks[0].0, "header");
    assert!(utf16(&blocks[0].1) <= MAX_HEADER_CHARS);
    assert!(blocks[0].1.starts_with("[FIRING:100] NNN") && blocks[0].1.ends_with('…'));
    for (kind, text) in &blocks[1..] {
        assert!(utf16(text) <= MAX_SECTION_CHARS, "{kind}: {}", utf16(text));
    }
    assert_eq!(blocks.iter().filter(|(k, _)| k == "section").count(), 48);
    let (kind, last) = blocks.last().unwrap();
    assert_eq!(kind, "context");
    assert!(
        last.starts_with("and 52 more · <https://hx.example.com/alerts/"),
        "{last}"
    );
    assert!(body["text"].as_str().unwrap().starts_with("[FIRING:100] "));
    assert!(utf16(body["text"].as_str().unwrap()) <= MAX_SECTION_CHARS);
}

#[test]
fn slack_escapes_and_never_cuts_an_entity() {
    let body = slack_body(&firing(&[("<b>&co</b>", 61.0)]), &CTX);
    let blocks = texts(&body);
    assert_eq!(blocks.len(), 3);
    let section = &blocks[1].1;
    assert!(
        section.contains("service=&lt;b&gt;&amp;co&lt;/b&gt;"),
        "{section}"
    );
    assert!(section.contains("*summary*: &lt;b&gt;&amp;co&lt;/b&gt;: 61 errors in 5m"));
    assert!(section.starts_with("*Firing*"));
    let ampersands = "&".repeat(5_000);
    let body = slack_body(&firing(&[(ampersands.as_str(), 61.0)]), &CTX);
    let section = &texts(&body)[1].1;
    assert!(utf16(section) <= MAX_SECTION_CHARS);
    assert!(
        section.ends_with("&amp;…"),
        "{}",
        &section[section.len() - 20..]
    );
    let done = slack_body(&resolved("a"), &CTX);
    assert!(
        done["text"]
            .as_str()
            .unwrap()
            .starts_with("[RESOLVED] Checkout errors")
    );
    assert!(texts(&done)[1].1.contains("*Ended*: 2026-11-22T12:03:00Z"));
}

#[test]
fn truncation_respects_characters() {
    assert_eq!(truncate("short", 10), "short");
    assert_eq!(truncate("exactly10!", 10), "exactly10!");
    assert_eq!(truncate("abcdefghijk", 5), "abcd…");
    assert_eq!(truncate("ééééééé", 4), "ééé…");
    // Outside the BMP a character is two UTF-16 units: never split, never over.
    let emoji = "😀".repeat(10);
    let cut = truncate(&emoji, 7);
    assert_eq!(cut, "😀😀😀…");
    assert!(utf16(&cut) <= 7);
    assert_eq!(truncate("abc", 0), "…");
}

#[test]
fn email_parts_escape_everything_and_thread() {
    let evil = "<script>alert('x')</script>";
    let n = firing(&[(evil, 61.0)]);
    let name = "Errors <b>\"all\"</b> & more\r\nBcc: victim@example.com";
    let query = "SELECT count(*) AS value FROM logs WHERE body = '<img src=x>'";
    let mail = email(
        &n,
        &MessageContext {
            rule_name: name,
            rule_query: query,
            ..CTX
        },
    );
    assert_eq!(
        mail.subject,
        "[FIRING:1] Errors <b>\"all\"</b> & more  Bcc: victim@example.com"
    );
    assert!(!mail.subject.contains(['\r', '\n']));
    assert!(
        !mail.html.contains("<script>")
            && !mail.html.contains("<img")
            && !mail.html.contains("<b>")
    );
    assert!(
        mail.html
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    );
    assert!(
        mail.html
            .contains("Errors &lt;b&gt;&quot;all&quot;&lt;/b&gt; &amp; more")
    );
    assert!(mail.html.contains("&lt;img src=x&gt;"));
    assert!(mail.html.contains(
        "<a href=\"https://hx.example.com/alerts/0190a6e0-0000-7000-8000-000000000001\">"
    ));
    assert!(mail.text.starts_with("[FIRING:1] Errors"));
    assert!(
        mail.text
            .contains(&format!("Firing: service={evil}, team=payments"))
    );
    assert!(mail.text.contains("  value: 61\n"));
    assert!(mail.text.contains(query));
    assert!(mail.opens_thread);
    let key = format!("hexcovery.alert.{}.{}", CTX.rule_id, t(0).timestamp());
    assert_eq!(mail.thread_key, key);
    // The resolved mail answers in the same thread.
    let done = email(&resolved(evil), &CTX);
    assert_eq!(done.subject, "[RESOLVED] Checkout errors");
    assert_eq!(
        (done.thread_key.as_str(), done.opens_thread),
        (key.as_str(), false)
    );
    assert!(done.text.contains("  ended: 2026-11-22T12:03:00Z"));
    // A rule id that is not Message-ID safe is hashed.
    let odd = email(
        &n,
        &MessageContext {
            rule_id: "a b@c",
            ..CTX
        },
    );
    assert!(odd.thread_key.starts_with("hexcovery.alert.") && !odd.thread_key.contains([' ', '@']));
}

#[test]
fn common_pairs() {
    let m = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let maps = [
        m(&[("a", "1"), ("b", "2")]),
        m(&[("a", "1"), ("b", "3")]),
        m(&[("a", "1")]),
    ];
    assert_eq!(common(&maps), m(&[("a", "1")]));
    assert_eq!(common(std::iter::empty()), m(&[]));
}
