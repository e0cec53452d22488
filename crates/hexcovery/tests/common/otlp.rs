//! Telemetry for tests, sent over OTLP/HTTP JSON as a client would: log records at given
//! instants for a service.

use super::TestServer;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// An OTLP/JSON logs body of service `api` on `web-1`: one INFO record per (time, body).
pub fn log_records(records: &[(DateTime<Utc>, impl AsRef<str>)]) -> Value {
    json!({"resourceLogs": [{"resource": resource("api", "web-1"),
        "scopeLogs": [{"logRecords": records.iter().map(|(at, body)| json!({
            "timeUnixNano": at.timestamp_nanos_opt().unwrap().to_string(),
            "severityText": "INFO", "body": {"stringValue": body.as_ref()}
        })).collect::<Vec<_>>()}]}]})
}

pub fn resource(service: &str, host: &str) -> Value {
    json!({"attributes": [
        {"key": "service.name", "value": {"stringValue": service}},
        {"key": "host.name", "value": {"stringValue": host}},
    ]})
}

/// Sends `count` log records of `service` at `at` with severity `level`.
pub async fn send_logs_at(
    server: &TestServer,
    key: &str,
    service: &str,
    level: &str,
    at: DateTime<Utc>,
    count: usize,
) {
    let bodies: Vec<String> = (0..count).map(|i| format!("{level} {i}")).collect();
    send_bodies_at(server, key, service, level, at, &bodies).await;
}

/// Sends one log record per body, of `service` at `at` with severity `level`.
pub async fn send_bodies_at(
    server: &TestServer,
    key: &str,
    service: &str,
    level: &str,
    at: DateTime<Utc>,
    bodies: &[String],
) {
    let nanos = at.timestamp_nanos_opt().unwrap().to_string();
    let records: Vec<Value> = bodies
        .iter()
        .map(|body| {
            json!({"timeUnixNano": nanos, "severityText": level,
                "body": {"stringValue": body}})
        })
        .collect();
    let body = json!({"resourceLogs": [{"resource": resource(service, "web-1"),
        "scopeLogs": [{"logRecords": records}]}]});
    let response = reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}
