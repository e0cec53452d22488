//! Alert rules over HTTP against the real server, with telemetry sent through OTLP and time
//! taken from the test clock file, so ticks pass without sleeping: firing, repeats and
//! resolving through a webhook, pending that never fires, no_data, a failing query,
//! silences, a restart between firing and resolving, Slack and email channels, previews of
//! past data, and bad rules refused.

mod common;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::otlp::{send_bodies_at, send_logs_at};
use common::smtp::{Recipients, fake_smtp, next_mail};
use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const ERRORS_BY_SERVICE: &str =
    "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service";

/// An hour ago on the minute: data sent "at minute n" is in the past, so ingest takes it.
fn start() -> DateTime<Utc> {
    (Utc::now() - TimeDelta::hours(1))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
}

fn start_server(data: &Path, clock: &Clock, extra: &[&str]) -> TestServer {
    let mut args = clock.args().to_vec();
    args.extend_from_slice(extra);
    TestServer::start_in(data, &args)
}

struct Org {
    admin: Session,
    key: String,
}

async fn org(api: &Api, slug: &str) -> Org {
    let admin = api.signup(slug).await;
    let (_, key) = api.create_key(&admin, "otel").await;
    Org { admin, key }
}

async fn webhook_channel(api: &Api, admin: &Session, url: &str) -> Value {
    api.post(
        "/api/v1/notification-channels",
        &admin.jwt(),
        json!({"name": "ops", "url": url}),
    )
    .await
    .expect(201)["id"]
        .clone()
}

/// A server on the test clock with one org, its admin's token, and a webhook channel to a
/// local receiver.
struct Fixture {
    data: tempfile::TempDir,
    clock: Clock,
    server: TestServer,
    api: Api,
    acme: Org,
    jwt: Cred,
    hook: Receiver,
    channel: Value,
}

impl Fixture {
    async fn start(slug: &str, extra: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let clock = Clock::at(data.path(), start());
        let server = start_server(data.path(), &clock, extra);
        let api = server.api();
        let acme = org(&api, slug).await;
        let jwt = acme.admin.jwt();
        let hook = Receiver::start(vec![]).await;
        let channel = webhook_channel(&api, &acme.admin, &hook.url).await;
        Self {
            data,
            clock,
            server,
            api,
            acme,
            jwt,
            hook,
            channel,
        }
    }
}

/// `count` error logs of service checkout at minute 1:30 of the clock.
async fn checkout_errors(server: &TestServer, key: &str, clock: &Clock, count: usize) {
    let at = clock.start + TimeDelta::seconds(90);
    send_logs_at(server, key, "checkout", "error", at, count).await;
}

fn rule(name: &str, channels: &[&Value]) -> Value {
    json!({
        "name": name,
        "query": ERRORS_BY_SERVICE,
        "window": "5m",
        "interval": "1m",
        "condition": {"op": ">", "threshold": 50},
        "labels": {"team": "payments"},
        "annotations": {"summary": "{{labels.service}}: {{value}} errors in {{window}}"},
        "channels": channels,
    })
}

/// Waits until the rule's last evaluation is the one at `at`; answers the rule.
async fn evaluated(api: &Api, cred: &Cred, id: &Value, at: DateTime<Utc>) -> Value {
    let path = format!("/api/v1/alerts/{}", id.as_str().unwrap());
    let want = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let wait = async {
        loop {
            let rule = api.get(&path, cred).await.expect(200);
            if let Some(last) = rule["last_eval_at"].as_str() {
                let last: DateTime<Utc> = last.parse().unwrap();
                if last >= at {
                    assert_eq!(last, at, "evaluated at the tick, not past it");
                    return rule;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("the rule is evaluated at {want}"))
}

async fn instances(api: &Api, cred: &Cred, id: &Value) -> Vec<(String, String)> {
    let answer = api
        .get(
            &format!("/api/v1/alerts/{}/instances", id.as_str().unwrap()),
            cred,
        )
        .await
        .expect(200);
    let mut instances: Vec<(String, String)> = answer["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["labels"]["service"].as_str().unwrap_or("").to_string(),
                i["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    instances.sort();
    instances
}

fn bodies(received: &[(axum::http::HeaderMap, String)]) -> Vec<Value> {
    received
        .iter()
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fires_repeats_and_resolves_through_a_webhook() {
    let f = Fixture::start("acme", &[]).await;
    let (clock, server, api, acme) = (f.clock, f.server, f.api, f.acme);
    let (jwt, hook, channel) = (f.jwt, f.hook, f.channel);
    let t = |m: i64| clock.start + TimeDelta::minutes(m);
    checkout_errors(&server, &acme.key, &clock, 60).await;
    send_logs_at(
        &server,
        &acme.key,
        "search",
        "error",
        t(1) + TimeDelta::seconds(30),
        10,
    )
    .await;

    let mut body = rule("Checkout errors", &[&channel]);
    body["repeat_interval"] = json!("2m");
    let created = api.post("/api/v1/alerts", &jwt, body).await.expect(201);
    let id = created["id"].clone();
    assert_eq!(created["health"], "unknown");
    assert_eq!(created["pending_for"], "0s");
    assert_eq!(created["no_data"], "ok");
    assert_eq!(created["send_resolved"], true);
    assert_eq!(clock.minutes(&created["next_eval_at"]), 1);

    // Minute 1: the window [-4m, 1m) holds nothing yet.
    clock.set_minutes(1);
    let rule_now = evaluated(&api, &jwt, &id, t(1)).await;
    assert_eq!(rule_now["health"], "no_data");
    assert!(instances(&api, &jwt, &id).await.is_empty());

    // Minute 2: checkout's 60 errors breach 50 (no pending_for: firing at once).
    clock.set_minutes(2);
    evaluated(&api, &jwt, &id, t(2)).await;
    assert_eq!(
        instances(&api, &jwt, &id).await,
        vec![
            ("checkout".to_string(), "firing".to_string()),
            ("search".to_string(), "normal".to_string())
        ]
    );
    let firing = api
        .get("/api/v1/alert-instances?state=firing", &jwt)
        .await
        .expect(200);
    assert_eq!(firing["alert_instances"][0]["rule_name"], "Checkout errors");
    assert_eq!(firing["alert_instances"].as_array().unwrap().len(), 1);
    let first = bodies(&hook.wait_for(1).await);
    let message = &first[0];
    assert_eq!(message["version"], "4");
    assert_eq!(message["type"], "alert.firing");
    assert_eq!(message["status"], "firing");
    assert_eq!(message["receiver"], "ops");
    assert_eq!(message["rule"]["id"], id);
    assert_eq!(message["rule"]["query"], ERRORS_BY_SERVICE);
    let alerts = message["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "only the instance that changed: {message}");
    assert_eq!(alerts[0]["status"], "firing");
    assert_eq!(alerts[0]["labels"]["service"], "checkout");
    assert_eq!(alerts[0]["labels"]["team"], "payments");
    assert_eq!(alerts[0]["values"]["value"], 60);
    assert_eq!(
        alerts[0]["annotations"]["summary"],
        "checkout: 60 errors in 5m"
    );
    assert_eq!(alerts[0]["endsAt"], "0001-01-01T00:00:00Z");
    assert!(
        alerts[0]["generatorURL"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/alerts/{}", id.as_str().unwrap()))
    );
    assert!(message["event_id"].as_str().is_some_and(|e| e.len() >= 16));

    // Minute 3: still firing, the repeat is not due; minute 4: it is.
    clock.set_minutes(3);
    evaluated(&api, &jwt, &id, t(3)).await;
    clock.set_minutes(4);
    evaluated(&api, &jwt, &id, t(4)).await;
    let two = bodies(&hook.wait_for(2).await);
    assert_eq!(two[1]["type"], "alert.firing");
    assert_ne!(two[0]["event_id"], two[1]["event_id"]);

    // Minutes 8 and 9: the errors left the window; missing twice, checkout resolves.
    clock.set_minutes(8);
    evaluated(&api, &jwt, &id, t(8)).await;
    clock.set_minutes(9);
    evaluated(&api, &jwt, &id, t(9)).await;
    // Minute 8 repeated the firing message (4 minutes after the last), minute 9 resolved.
    let all = bodies(&hook.wait_for(4).await);
    let types: Vec<&str> = all.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "alert.firing",
            "alert.firing",
            "alert.firing",
            "alert.resolved"
        ]
    );
    let last = all.last().unwrap();
    assert_eq!(last["status"], "resolved");
    assert_eq!(last["alerts"][0]["labels"]["service"], "checkout");
    assert_ne!(last["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    let history = api
        .get(
            &format!(
                "/api/v1/alerts/{}/history?from={}",
                id.as_str().unwrap(),
                t(0).timestamp_millis()
            ),
            &jwt,
        )
        .await
        .expect(200);
    let checkout: Vec<(String, String, i64)> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["labels"]["service"] == "checkout")
        .map(|h| {
            (
                h["from"].as_str().unwrap().to_string(),
                h["to"].as_str().unwrap().to_string(),
                clock.minutes(&h["at"]),
            )
        })
        .collect();
    assert_eq!(
        checkout,
        vec![
            ("firing".to_string(), "normal".to_string(), 9),
            ("normal".to_string(), "firing".to_string(), 2),
        ],
        "newest first"
    );
    // A dashboard draws the org's alert transitions in its range.
    let dashboard = api
        .post(
            "/api/v1/dashboards",
            &jwt,
            json!({"title": "Checkout", "annotations": {"alerts": true}, "panels": []}),
        )
        .await
        .expect(201);
    let marks = api
        .get(
            &format!(
                "/api/v1/dashboards/{}/annotations?from={}&to={}",
                dashboard["id"].as_str().unwrap(),
                t(0).timestamp_millis(),
                t(10).timestamp_millis()
            ),
            &jwt,
        )
        .await
        .expect(200);
    let drawn: Vec<(&str, &str, i64)> = marks["alert_transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["labels"]["service"] == "checkout")
        .map(|m| {
            (
                m["rule_name"].as_str().unwrap(),
                m["to"].as_str().unwrap(),
                clock.minutes(&m["at"]),
            )
        })
        .collect();
    assert_eq!(
        drawn,
        [
            ("Checkout errors", "normal", 9),
            ("Checkout errors", "firing", 2)
        ]
    );
    assert!(
        api.get("/api/v1/alert-instances?state=firing", &jwt)
            .await
            .expect(200)["alert_instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_that_never_fires_sends_nothing_and_no_data_raises_its_own_instance() {
    let f = Fixture::start("pending", &[]).await;
    let (clock, server, api, acme) = (f.clock, f.server, f.api, f.acme);
    let (jwt, hook, channel) = (f.jwt, f.hook, f.channel);
    let t = |m: i64| clock.start + TimeDelta::minutes(m);
    checkout_errors(&server, &acme.key, &clock, 60).await;

    let mut pending = rule("Slow burn", &[&channel]);
    pending["pending_for"] = json!("10m");
    let pending = api.post("/api/v1/alerts", &jwt, pending).await.expect(201)["id"].clone();
    let mut quiet = rule("Nothing from billing", &[&channel]);
    quiet["query"] = json!("SELECT count(*) AS value FROM logs WHERE service = 'billing'");
    quiet["condition"] = json!({"op": "<", "threshold": 1});
    quiet["query"] = json!(
        "SELECT service, count(*) AS value FROM logs WHERE service = 'billing' GROUP BY service"
    );
    quiet["no_data"] = json!("no_data");
    let quiet = api.post("/api/v1/alerts", &jwt, quiet).await.expect(201)["id"].clone();

    clock.set_minutes(2);
    evaluated(&api, &jwt, &pending, t(2)).await;
    assert_eq!(
        instances(&api, &jwt, &pending).await,
        vec![("checkout".to_string(), "pending".to_string())]
    );
    let quiet_rule = evaluated(&api, &jwt, &quiet, t(2)).await;
    assert_eq!(quiet_rule["health"], "no_data");
    assert_eq!(
        instances(&api, &jwt, &quiet).await,
        vec![(String::new(), "no_data".to_string())]
    );
    let received = bodies(&hook.wait_for(1).await);
    assert_eq!(received[0]["type"], "alert.no_data");
    assert_eq!(received[0]["rule"]["id"], quiet);

    // The errors leave the window before pending_for has passed: back to normal, silently.
    clock.set_minutes(8);
    evaluated(&api, &jwt, &pending, t(8)).await;
    clock.set_minutes(9);
    evaluated(&api, &jwt, &pending, t(9)).await;
    evaluated(&api, &jwt, &quiet, t(9)).await;
    assert!(instances(&api, &jwt, &pending).await.is_empty());
    let received = bodies(&hook.received());
    assert!(
        received.iter().all(|m| m["rule"]["id"] == quiet),
        "the pending rule never notified: {received:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_query_raises_an_error_instance_and_tells_why() {
    let f = Fixture::start("failing", &["--query-memory-mb", "16"]).await;
    let (clock, server, api, acme) = (f.clock, f.server, f.api, f.acme);
    let (jwt, hook, channel) = (f.jwt, f.hook, f.channel);
    let t = |m: i64| clock.start + TimeDelta::minutes(m);
    // 3 000 distinct 10 KB bodies: grouping by body needs ~30 MB, over the 16 MB limit.
    for batch in 0..3 {
        let bodies: Vec<String> = (0..1000)
            .map(|i| format!("{batch}-{i}-{}", "x".repeat(10_000)))
            .collect();
        send_bodies_at(
            &server,
            &acme.key,
            "api",
            "info",
            t(1) + TimeDelta::seconds(30),
            &bodies,
        )
        .await;
    }
    let mut heavy = rule("Noisy bodies", &[&channel]);
    heavy["query"] = json!("SELECT body, count(*) AS value FROM logs GROUP BY body");
    let id = api.post("/api/v1/alerts", &jwt, heavy).await.expect(201)["id"].clone();
    clock.set_minutes(2);
    let evaluated_rule = evaluated(&api, &jwt, &id, t(2)).await;
    assert_eq!(evaluated_rule["health"], "error");
    let error = evaluated_rule["last_error"].as_str().unwrap();
    assert!(error.contains("memory limit"), "{error}");
    assert_eq!(
        instances(&api, &jwt, &id).await,
        vec![(String::new(), "error".to_string())]
    );
    let received = bodies(&hook.wait_for(1).await);
    assert_eq!(received[0]["type"], "alert.error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_holds_notifications_back_until_it_ends() {
    let f = Fixture::start("silenced", &[]).await;
    let (clock, server, api, acme) = (f.clock, f.server, f.api, f.acme);
    let (jwt, hook, channel) = (f.jwt, f.hook, f.channel);
    let t = |m: i64| clock.start + TimeDelta::minutes(m);
    checkout_errors(&server, &acme.key, &clock, 60).await;
    let id = api
        .post("/api/v1/alerts", &jwt, rule("Checkout errors", &[&channel]))
        .await
        .expect(201)["id"]
        .clone();
    let silence = api
        .post(
            "/api/v1/silences",
            &jwt,
            json!({
                "matchers": [{"label": "service", "op": "=~", "value": "check.*"}],
                "rule_id": id,
                "starts_at": t(0).to_rfc3339(),
                "ends_at": t(3).to_rfc3339(),
                "comment": "deploying checkout",
            }),
        )
        .await
        .expect(201);
    assert_eq!(silence["created_by"]["kind"], "user");

    clock.set_minutes(2);
    evaluated(&api, &jwt, &id, t(2)).await;
    assert_eq!(
        instances(&api, &jwt, &id).await,
        vec![("checkout".to_string(), "firing".to_string())],
        "states are kept under a silence"
    );
    // The silence ends at minute 3 (exclusive): that evaluation sends what was held.
    clock.set_minutes(3);
    evaluated(&api, &jwt, &id, t(3)).await;
    let received = bodies(&hook.wait_for(1).await);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["type"], "alert.firing");
    assert_eq!(received[0]["alerts"][0]["labels"]["service"], "checkout");

    // Bad silences are refused with the field named.
    for (bad, field) in [
        (
            json!({"matchers": [], "ends_at": t(9).to_rfc3339()}),
            "matchers",
        ),
        (
            json!({"matchers": [{"label": "service", "op": "=~", "value": "("}], "ends_at": t(9).to_rfc3339()}),
            "matchers.0.value",
        ),
        (
            json!({"matchers": [{"label": "service", "op": "~", "value": "x"}], "ends_at": t(9).to_rfc3339()}),
            "matchers.0.op",
        ),
        (
            json!({"matchers": [{"label": "service", "op": "=", "value": "x"}], "starts_at": t(5).to_rfc3339(), "ends_at": t(4).to_rfc3339()}),
            "ends_at",
        ),
    ] {
        let answer = api.post("/api/v1/silences", &jwt, bad).await;
        answer.expect_error(400, "invalid_field");
        assert_eq!(answer.body["error"]["field"], field, "{}", answer.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_firing_and_resolving_loses_and_repeats_nothing() {
    let f = Fixture::start("restarts", &[]).await;
    let (clock, mut server, api, acme) = (f.clock, f.server, f.api, f.acme);
    let (jwt, hook, channel) = (f.jwt, f.hook, f.channel);
    let t = |m: i64| clock.start + TimeDelta::minutes(m);
    checkout_errors(&server, &acme.key, &clock, 60).await;
    let id = api
        .post("/api/v1/alerts", &jwt, rule("Checkout errors", &[&channel]))
        .await
        .expect(201)["id"]
        .clone();
    clock.set_minutes(2);
    evaluated(&api, &jwt, &id, t(2)).await;
    hook.wait_for(1).await;
    // Delivery is at least once: wait until the firing message is recorded as delivered, so
    // the kill falls between firing and resolving rather than inside a delivery.
    let deliveries_path = format!(
        "/api/v1/notification-channels/{}/deliveries",
        channel.as_str().unwrap()
    );
    let wait = async {
        loop {
            let answer = api.get(&deliveries_path, &jwt).await.expect(200);
            if answer["deliveries"][0]["status"] == "delivered" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the firing delivery is recorded");

    server.kill();
    let server = start_server(f.data.path(), &clock, &[]);
    let api = server.api();
    // The session survives the restart; the evaluator continues from the stored instances.
    clock.set_minutes(8);
    evaluated(&api, &jwt, &id, t(8)).await;
    clock.set_minutes(9);
    evaluated(&api, &jwt, &id, t(9)).await;
    let received = bodies(&hook.wait_for(2).await);
    let types: Vec<&str> = received
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["alert.firing", "alert.resolved"]);
    let deliveries = api.get(&deliveries_path, &jwt).await.expect(200);
    assert_eq!(deliveries["deliveries"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_is_retried_after_429_and_email_threads_the_resolve() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut inbox = fake_smtp(listener, Recipients::Accept);
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::at(data.path(), start());
    let server = start_server(
        data.path(),
        &clock,
        &[
            "--smtp-url",
            &smtp_url,
            "--smtp-from",
            "Hexcovery <alerts@example.test>",
        ],
    );
    let api = server.api();
    let acme = org(&api, "channels").await;
    let jwt = acme.admin.jwt();
    let slack = Receiver::start(vec![(axum::http::StatusCode::TOO_MANY_REQUESTS, Some(1))]).await;
    let slack_channel = api
        .post(
            "/api/v1/notification-channels",
            &jwt,
            json!({"name": "slack", "kind": "slack", "url": slack.url}),
        )
        .await
        .expect(201);
    assert_eq!(slack_channel["url"], "set", "the Slack URL is a secret");
    let email_channel = api
        .post(
            "/api/v1/notification-channels",
            &jwt,
            json!({"name": "oncall", "kind": "email", "emails": ["oncall@example.com"]}),
        )
        .await
        .expect(201);
    assert_eq!(email_channel["emails"], json!(["oncall@example.com"]));
    let t = |m: i64| clock.start + TimeDelta::minutes(m);
    checkout_errors(&server, &acme.key, &clock, 60).await;
    let id = api
        .post(
            "/api/v1/alerts",
            &jwt,
            rule(
                "Checkout errors",
                &[&slack_channel["id"], &email_channel["id"]],
            ),
        )
        .await
        .expect(201)["id"]
        .clone();
    clock.set_minutes(2);
    evaluated(&api, &jwt, &id, t(2)).await;
    // Slack answered 429 with Retry-After: 1; the retry is due a second later.
    slack.wait_for(1).await;
    let slack_id = slack_channel["id"].as_str().unwrap();
    api.attempts_recorded(&jwt, slack_id, 1).await;
    clock.set(t(2) + TimeDelta::seconds(2));
    let posts = bodies(&slack.wait_for(2).await);
    assert_eq!(posts[0], posts[1], "the same message is retried");
    let text = posts[0]["text"].as_str().unwrap();
    assert!(text.starts_with("[FIRING:1] Checkout errors"), "{text}");
    assert!(posts[0]["blocks"].as_array().unwrap().len() <= 50);

    let firing = next_mail(&mut inbox).await;
    assert_eq!(firing.rcpt_to, ["<oncall@example.com>"]);
    assert_eq!(firing.header("Subject"), "[FIRING:1] Checkout errors");
    assert!(
        firing.data.contains("multipart/alternative"),
        "text and HTML parts"
    );
    let thread = firing.header("Message-ID");

    clock.set_minutes(8);
    evaluated(&api, &jwt, &id, t(8)).await;
    clock.set_minutes(9);
    evaluated(&api, &jwt, &id, t(9)).await;
    let resolved = next_mail(&mut inbox).await;
    assert_eq!(resolved.header("Subject"), "[RESOLVED] Checkout errors");
    assert_eq!(resolved.header("In-Reply-To"), thread);
    assert_eq!(resolved.header("References"), thread);
    let posts = bodies(&slack.wait_for(3).await);
    assert!(posts[2]["text"].as_str().unwrap().starts_with("[RESOLVED]"));

    // A test message reaches both channels.
    let queued = api
        .post(
            &format!("/api/v1/alerts/{}/test", id.as_str().unwrap()),
            &jwt,
            json!({}),
        )
        .await
        .expect(202);
    assert_eq!(queued["queued"], 2);
    let test_mail = next_mail(&mut inbox).await;
    assert!(test_mail.header("Subject").starts_with("[FIRING:1]"));
    let posts = bodies(&slack.wait_for(4).await);
    assert!(
        posts[3]["text"]
            .as_str()
            .unwrap()
            .contains("Checkout errors")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_replays_past_telemetry_without_side_effects() {
    let f = Fixture::start("preview", &[]).await;
    let (clock, server, api, acme) = (f.clock, f.server, f.api, f.acme);
    let (jwt, hook, channel) = (f.jwt, f.hook, f.channel);
    // Telemetry from two hours before the clock's now.
    let past = clock.start - TimeDelta::hours(2);
    send_logs_at(
        &server,
        &acme.key,
        "checkout",
        "error",
        past + TimeDelta::seconds(30),
        60,
    )
    .await;
    let viewer = api
        .add_user(&acme.admin, "viewer@preview.io", "viewer")
        .await;
    let answer = api
        .post(
            "/api/v1/alerts/preview",
            &viewer.jwt(),
            json!({
                "rule": rule("Checkout errors", &[&channel]),
                "from": (past - TimeDelta::minutes(10)).to_rfc3339(),
                "to": (past + TimeDelta::minutes(10)).to_rfc3339(),
            }),
        )
        .await
        .expect(200);
    assert_eq!(
        answer["method"], "bucketed",
        "a bare count replays from one bucketed query"
    );
    let ticks = answer["ticks"].as_array().unwrap();
    assert_eq!(ticks.len(), 21, "one tick a minute, both ends included");
    let state_at = |minute: i64| -> Vec<String> {
        ticks[(minute + 10) as usize]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["state"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        state_at(0).is_empty(),
        "the tick at the data's minute does not see it yet"
    );
    for minute in 1..=5 {
        assert_eq!(state_at(minute), ["firing"], "minute {minute}");
    }
    assert_eq!(state_at(6), ["firing"], "missing once keeps its state");
    assert!(state_at(8).is_empty(), "resolved and dropped");
    let notifications = answer["notifications"].as_array().unwrap();
    let kinds: Vec<(&str, i64)> = notifications
        .iter()
        .map(|n| {
            let at: DateTime<Utc> = n["at"].as_str().unwrap().parse().unwrap();
            (n["type"].as_str().unwrap(), (at - past).num_minutes())
        })
        .collect();
    assert_eq!(kinds, [("alert.firing", 1), ("alert.resolved", 7)]);
    assert_eq!(notifications[0]["alerts"][0]["values"]["value"], 60);
    // Nothing was stored or sent.
    assert!(
        api.get("/api/v1/alerts", &jwt).await.expect(200)["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(hook.received().is_empty(), "a preview sends nothing");
    // A range of more ticks than a preview replays is refused, saying so.
    let answer = api
        .post(
            "/api/v1/alerts/preview",
            &jwt,
            json!({"rule": rule("x", &[]), "from": "now-3d", "to": "now"}),
        )
        .await;
    answer.expect_error(422, "invalid_range");
}

#[tokio::test]
async fn bad_rules_are_refused_with_the_field_and_change_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let acme = org(&api, "refusals").await;
    let jwt = acme.admin.jwt();
    let other = org(&api, "others").await;
    let hook = Receiver::start(vec![]).await;
    let theirs = webhook_channel(&api, &other.admin, &hook.url).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"query": "SELECT count(*) AS value FROM logs LAST 5m"}),
            "oql_time_range_not_allowed",
            "query",
        ),
        (
            json!({"query": "SELECT nope FROM logs"}),
            "oql_unknown",
            "query",
        ),
        (
            json!({"query": "SELECT service FROM logs"}),
            "invalid_field",
            "query",
        ),
        (json!({"interval": "5s"}), "invalid_field", "interval"),
        (json!({"window": "2d"}), "invalid_field", "window"),
        (
            json!({"condition": {"op": "=>", "threshold": 1}}),
            "invalid_field",
            "condition.op",
        ),
        (
            json!({"condition": {"op": ">", "threshold": 50, "warning": 60}}),
            "invalid_field",
            "condition.warning",
        ),
        (
            json!({"annotations": {"summary": "{{labels.service"}}),
            "invalid_field",
            "annotations.summary",
        ),
        (json!({"no_data": "maybe"}), "invalid_field", "no_data"),
        (json!({"colour": "red"}), "invalid_field", "colour"),
        (json!({"channels": [theirs]}), "invalid_field", "channels"),
    ];
    for (change, code, field) in cases {
        let mut body = rule("Bad", &[]);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let answer = api.post("/api/v1/alerts", &jwt, body).await;
        answer.expect_error(400, code);
        assert_eq!(answer.body["error"]["field"], field, "{}", answer.body);
    }
    assert!(
        api.get("/api/v1/alerts", &jwt).await.expect(200)["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn editing_a_rule_is_audited_and_stays_in_its_org() {
    let server = TestServer::start();
    let api = server.api();
    let acme = org(&api, "editing").await;
    let other = org(&api, "elsewhere").await;
    let jwt = acme.admin.jwt();
    let viewer = api
        .add_user(&acme.admin, "viewer@editing.io", "viewer")
        .await;
    let created = api
        .post("/api/v1/alerts", &jwt, rule("Checkout errors", &[]))
        .await
        .expect(201);
    let path = format!("/api/v1/alerts/{}", created["id"].as_str().unwrap());
    // PATCH changes some fields; PUT replaces (a GET's body can be sent back).
    let paused = api
        .patch(&path, &jwt, json!({"paused": true}))
        .await
        .expect(200);
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["query"], ERRORS_BY_SERVICE);
    let mut replaced = api.get(&path, &jwt).await.expect(200);
    replaced["condition"]["threshold"] = json!(10);
    let replaced = api
        .send("PUT", &path, &jwt, Some(replaced))
        .await
        .expect(200);
    assert_eq!(replaced["condition"]["threshold"].as_f64(), Some(10.0));
    // Viewers read but do not write; another org sees nothing.
    api.get(&path, &viewer.jwt()).await.expect(200);
    api.patch(&path, &viewer.jwt(), json!({"paused": false}))
        .await
        .expect_error(403, "insufficient_role");
    for (method, suffix) in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/instances"),
        ("GET", "/history"),
        ("POST", "/test"),
    ] {
        let body = (method != "GET" && method != "DELETE").then(|| json!({"paused": true}));
        api.send(method, &format!("{path}{suffix}"), &other.admin.jwt(), body)
            .await
            .expect_error(404, "not_found");
    }
    api.delete(&path, &jwt).await.expect(204);
    api.get(&path, &jwt).await.expect_error(404, "not_found");
    let audit = api
        .get("/api/v1/audit?action=alert.*", &jwt)
        .await
        .expect(200);
    let actions: Vec<&str> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "alert.delete",
            "alert.update",
            "alert.update",
            "alert.create"
        ]
    );
}
