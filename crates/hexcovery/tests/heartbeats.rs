//! Heartbeats over HTTP against the real server, with time taken from a clock file the test
//! writes (`--test-clock-file`), so schedules pass without sleeping: every state, run
//! durations, maximum runtime, pause, cron across a DST change, a restart in the middle of a
//! grace period, and who may call what.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

fn start_server(data: &Path, clock: &Clock) -> TestServer {
    TestServer::start_in(data, &["--test-clock-file", clock.path.to_str().unwrap()])
}

async fn monitor(api: &Api, cred: &Cred, name: &str) -> Value {
    api.get(&format!("/api/v1/heartbeats/{name}"), cred)
        .await
        .expect(200)
}

/// Waits until the evaluator has recorded `count` transitions for `name`.
async fn transitions(
    api: &Api,
    cred: &Cred,
    name: &str,
    count: usize,
) -> Vec<(String, String, Value)> {
    let wait = async {
        loop {
            let m = monitor(api, cred, name).await;
            let events = m["events"].as_array().unwrap().clone();
            if events.len() >= count {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut events = tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the evaluator records the transitions");
    events.reverse();
    events
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
                e["at"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn states_follow_pings_and_time() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::new(data.path(), "2026-11-22T10:00:00Z");
    let server = start_server(data.path(), &clock);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "cron").await;
    let key = Cred::Key(key);
    let jwt = admin.jwt();

    // First ping: a start creates the monitor (new); success ends the run after 7 minutes.
    let first = api
        .post(
            "/api/v1/heartbeat/nightly-backup/start?run_id=r1",
            &key,
            json!({}),
        )
        .await
        .expect(202);
    assert_eq!(first["created"], true);
    assert_eq!(first["monitor"]["state"], "new");
    assert_eq!(first["monitor"]["schedule"], "every 1h");
    assert_eq!(first["monitor"]["grace_secs"], 300);
    clock.set_minutes(7);
    let request = api
        .http
        .post(format!(
            "{}/api/v1/heartbeat/nightly-backup?run_id=r1",
            api.base
        ))
        .header(
            "X-API-Key",
            match &key {
                Cred::Key(k) => k.clone(),
                _ => unreachable!(),
            },
        )
        .body("backed up 42 GB\n".repeat(1000));
    let done = api.finish(request).await.expect(202);
    assert_eq!(done["monitor"]["state"], "up");
    assert_eq!(clock.minutes(&done["monitor"]["next_due"]), 67);
    let m = monitor(&api, &jwt, "nightly-backup").await;
    assert_eq!(m["pings"][0]["duration_ms"], 7 * 60_000);
    assert_eq!(
        m["pings"][0]["body"].as_str().unwrap().len(),
        10 * 1024,
        "bodies are capped"
    );

    // Late inside the grace period, down after it — recorded by the evaluator at their times.
    clock.set_minutes(68);
    assert_eq!(monitor(&api, &jwt, "nightly-backup").await["state"], "late");
    clock.set_minutes(80);
    assert_eq!(monitor(&api, &jwt, "nightly-backup").await["state"], "down");
    let events = transitions(&api, &jwt, "nightly-backup", 3).await;
    let steps: Vec<(&str, &str, i64)> = events
        .iter()
        .map(|(f, t, at)| (f.as_str(), t.as_str(), clock.minutes(at)))
        .collect();
    assert_eq!(
        steps,
        [("new", "up", 7), ("up", "late", 67), ("late", "down", 72)]
    );

    // A failure, then a success.
    clock.set_minutes(90);
    let failed = api
        .post("/api/v1/heartbeat/nightly-backup/fail", &key, json!({}))
        .await
        .expect(202);
    assert_eq!(failed["monitor"]["state"], "failed");
    clock.set_minutes(95);
    api.post("/api/v1/heartbeat/nightly-backup", &key, json!({}))
        .await
        .expect(202);

    // A maximum runtime: a run still open after it has failed.
    let patched = api
        .patch(
            "/api/v1/heartbeats/nightly-backup",
            &jwt,
            json!({"max_runtime": "20m", "grace": "10m"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            patched["max_runtime_secs"].as_u64(),
            patched["grace_secs"].as_u64()
        ),
        (Some(1200), Some(600))
    );
    clock.set_minutes(100);
    api.post("/api/v1/heartbeat/nightly-backup/start", &key, json!({}))
        .await
        .expect(202);
    clock.set_minutes(121);
    let events = transitions(&api, &jwt, "nightly-backup", 6).await;
    let last = events.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), clock.minutes(&last.2)),
        ("up", "failed", 120)
    );

    // Paused: no state changes; resumed: computed from the pings.
    let paused = api
        .patch(
            "/api/v1/heartbeats/nightly-backup",
            &jwt,
            json!({"paused": true}),
        )
        .await
        .expect(200);
    assert_eq!(paused["state"], "paused");
    clock.set_minutes(10_000);
    assert_eq!(
        monitor(&api, &jwt, "nightly-backup").await["state"],
        "paused"
    );
    let list = api.get("/api/v1/heartbeats", &jwt).await.expect(200);
    assert_eq!(list["heartbeats"][0]["name"], "nightly-backup");
    assert_eq!(list["heartbeats"][0]["paused"], true);
}

#[tokio::test]
async fn cron_schedules_follow_their_time_zone_across_daylight_saving() {
    let data = tempfile::tempdir().unwrap();
    // Saturday 2027-03-27 02:30 in Berlin (CET, UTC+1); that night clocks jump 02:00 → 03:00.
    let clock = Clock::new(data.path(), "2027-03-27T01:30:00Z");
    let server = start_server(data.path(), &clock);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "cron").await;
    api.post(
        "/api/v1/heartbeat/db-dump",
        &Cred::Key(key.clone()),
        json!({}),
    )
    .await
    .expect(202);
    let m = api
        .patch(
            "/api/v1/heartbeats/db-dump",
            &admin.jwt(),
            json!({"schedule": "30 2 * * *", "timezone": "Europe/Berlin"}),
        )
        .await
        .expect(200);
    // 02:30 does not exist on 2027-03-28: due right after the jump, 03:00 CEST = 01:00 UTC.
    assert_eq!(m["next_due"], "2027-03-28T01:00:00Z");
    clock.set_minutes(24 * 60 - 30); // 2027-03-28T01:00Z
    api.post("/api/v1/heartbeat/db-dump", &Cred::Key(key), json!({}))
        .await
        .expect(202);
    let m = monitor(&api, &admin.jwt(), "db-dump").await;
    assert_eq!(
        m["next_due"], "2027-03-29T00:30:00Z",
        "02:30 CEST the next night"
    );

    for (body, field) in [
        (json!({"schedule": "every 5 minutes"}), "schedule"),
        (json!({"schedule": "* * * *"}), "schedule"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"grace": "forever"}), "grace"),
    ] {
        let answer = api
            .patch("/api/v1/heartbeats/db-dump", &admin.jwt(), body)
            .await;
        answer.expect_error(400, "invalid_field");
        assert_eq!(answer.body["error"]["field"], field);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_grace_period_loses_no_transition() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::new(data.path(), "2026-11-22T10:00:00Z");
    let mut server = start_server(data.path(), &clock);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "cron").await;
    api.post("/api/v1/heartbeat/hourly", &Cred::Key(key), json!({}))
        .await
        .expect(202);
    clock.set_minutes(62); // late
    let events = transitions(&api, &admin.jwt(), "hourly", 2).await;
    assert_eq!(events.last().unwrap().1, "late");
    assert!(server.terminate().success());

    // Down at 65 while the server was stopped; it starts again at minute 200.
    clock.set_minutes(200);
    let server = start_server(data.path(), &clock);
    let api = server.api();
    let login = api.login("admin@acme.io", PASSWORD).await.expect(200);
    let jwt = Cred::Jwt(login["access_token"].as_str().unwrap().to_string());
    let events = transitions(&api, &jwt, "hourly", 3).await;
    let steps: Vec<(&str, &str, i64)> = events
        .iter()
        .map(|(f, t, at)| (f.as_str(), t.as_str(), clock.minutes(at)))
        .collect();
    assert_eq!(
        steps,
        [("new", "up", 0), ("up", "late", 60), ("late", "down", 65)]
    );
}

#[tokio::test]
async fn who_may_ping_and_who_may_manage() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::new(data.path(), "2026-11-22T10:00:00Z");
    let server = start_server(data.path(), &clock);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (key_id, key) = api.create_key(&admin, "cron").await;
    let viewer = api.add_user(&admin, "vi@acme.io", "viewer").await;
    let key = Cred::Key(key);

    // Pings are for API keys only; management for people.
    api.post("/api/v1/heartbeat/job", &admin.jwt(), json!({}))
        .await
        .expect_error(403, "api_key_required");
    api.post("/api/v1/heartbeat/job", &key, json!({}))
        .await
        .expect(202);
    api.get("/api/v1/heartbeats", &key)
        .await
        .expect_error(403, "user_session_required");
    api.get("/api/v1/heartbeats", &viewer.jwt())
        .await
        .expect(200);
    api.patch(
        "/api/v1/heartbeats/job",
        &viewer.jwt(),
        json!({"paused": true}),
    )
    .await
    .expect_error(403, "insufficient_role");
    // Bad names and run ids are refused; nothing is created.
    api.post("/api/v1/heartbeat/bad%20name", &key, json!({}))
        .await
        .expect_error(400, "invalid_path");
    let long_run = "r".repeat(65);
    api.post(
        &format!("/api/v1/heartbeat/job?run_id={long_run}"),
        &key,
        json!({}),
    )
    .await
    .expect_error(400, "invalid_query");
    let list = api
        .get("/api/v1/heartbeats", &viewer.jwt())
        .await
        .expect(200);
    assert_eq!(list["heartbeats"].as_array().unwrap().len(), 1);
    // A revoked key pings no more.
    api.delete(&format!("/api/v1/api-keys/{key_id}"), &admin.jwt())
        .await
        .expect(204);
    api.post("/api/v1/heartbeat/job", &key, json!({}))
        .await
        .expect_error(401, "invalid_api_key");
    // Deleting a monitor is audited.
    api.delete("/api/v1/heartbeats/job", &admin.jwt())
        .await
        .expect(204);
    api.get("/api/v1/heartbeats/job", &admin.jwt())
        .await
        .expect_error(404, "not_found");
}

/// A local webhook receiver that answers 500 to the first request and 200 after.
async fn receiver() -> Receiver {
    Receiver::start(vec![(axum::http::StatusCode::INTERNAL_SERVER_ERROR, None)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_monitors_notify_a_signed_webhook_with_retries() {
    use hmac::{KeyInit, Mac};
    let hook = receiver().await;
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::new(data.path(), "2026-11-22T10:00:00Z");
    let server = start_server(data.path(), &clock);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "cron").await;
    let secret = "whsec_0123456789abcdef";
    let channel = api
        .post(
            "/api/v1/notification-channels",
            &admin.jwt(),
            json!({"name": "ops", "url": hook.url, "secret": secret}),
        )
        .await
        .expect(201);
    assert_eq!(channel["has_secret"], true);
    assert!(
        !channel.to_string().contains(secret),
        "the secret is never shown"
    );
    let channel_id = channel["id"].as_str().unwrap().to_string();

    api.post("/api/v1/heartbeat/etl", &Cred::Key(key), json!({}))
        .await
        .expect(202);
    clock.set_minutes(66); // due at 60, grace 5 min: down at 65
    let first = hook.wait_for(1).await;
    assert_eq!(first[0].0["x-hexcovery-event"], "heartbeat.down");
    // The endpoint failed; the next attempt is 10 s later on the server's clock.
    api.attempts_recorded(&admin.jwt(), &channel_id, 1).await;
    clock.set_minutes(67);
    let both = hook.wait_for(2).await;
    let (headers, body) = &both[1];
    assert_eq!(
        headers["x-hexcovery-delivery"],
        first[0].0["x-hexcovery-delivery"]
    );
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (payload["type"].as_str(), payload["monitor"].as_str()),
        (Some("heartbeat.down"), Some("etl"))
    );
    assert_eq!(clock.minutes(&payload["at"]), 65);
    let timestamp = headers["x-hexcovery-timestamp"].to_str().unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-hexcovery-signature"].to_str().unwrap(), expected);

    let deliveries_path = format!("/api/v1/notification-channels/{channel_id}/deliveries");
    let wait = async {
        loop {
            let d = api.get(&deliveries_path, &admin.jwt()).await.expect(200);
            if d["deliveries"][0]["status"] == "delivered" {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let deliveries = tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap();
    assert_eq!(deliveries["deliveries"][0]["attempts"], 2);
    assert_eq!(
        deliveries["deliveries"][0]["last_error"],
        "the endpoint answered 500 Internal Server Error"
    );

    // Channels are the admins' and the org's own.
    let other = api.signup("globex").await;
    api.delete(
        &format!("/api/v1/notification-channels/{channel_id}"),
        &other.jwt(),
    )
    .await
    .expect_error(404, "not_found");
    api.get(&deliveries_path, &other.jwt())
        .await
        .expect_error(404, "not_found");
    for (body, field) in [
        (json!({"name": "x", "url": "ftp://example.com/hook"}), "url"),
        (json!({"name": "x", "url": "not a url"}), "url"),
        (
            json!({"name": "x", "url": "https://example.com", "secret": "short"}),
            "secret",
        ),
        (json!({"name": " ", "url": "https://example.com"}), "name"),
    ] {
        let answer = api
            .post("/api/v1/notification-channels", &admin.jwt(), body)
            .await;
        answer.expect_error(400, "invalid_field");
        assert_eq!(answer.body["error"]["field"], field);
    }
    let list = api
        .get("/api/v1/notification-channels", &admin.jwt())
        .await
        .expect(200);
    assert_eq!(list["notification_channels"].as_array().unwrap().len(), 1);
    api.delete(
        &format!("/api/v1/notification-channels/{channel_id}"),
        &admin.jwt(),
    )
    .await
    .expect(204);
}
