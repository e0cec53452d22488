//! Exactly-once ingest for clients that send `x-hexcovery-batch-id` (SPEC §9), against the
//! real server: a repeated batch is acknowledged and stored once — over gRPC and HTTP, when
//! the copies race, after a clean restart, after `kill -9` before the rows reached Parquet,
//! and per org; a malformed id is refused and stores nothing; requests without an id are
//! stored every time, as before.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::json;

const HEADER: &str = "x-hexcovery-batch-id";

fn batch(body: &str, n: usize) -> ExportLogsServiceRequest {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64;
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(Value::StringValue("agent-test".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: now + i as u64,
                        body: Some(AnyValue {
                            value: Some(Value::StringValue(format!("{body} {i}"))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn grpc_send(
    server: &TestServer,
    key: &str,
    id: Option<&str>,
    request: ExportLogsServiceRequest,
) -> Result<(), tonic::Status> {
    let mut client = LogsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap();
    let mut request = tonic::Request::new(request);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    if let Some(id) = id {
        request.metadata_mut().insert(HEADER, id.parse().unwrap());
    }
    client.export(request).await.map(|_| ())
}

async fn http_send(server: &TestServer, key: &str, id: &str, body: &str) -> reqwest::Response {
    let json = json!({"resourceLogs": [{"resource": otlp::resource("agent-test", "web-1"),
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": chrono::Utc::now().timestamp_nanos_opt().unwrap().to_string(),
            "body": {"stringValue": body}}]}]}]});
    reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("x-api-key", key)
        .header(HEADER, id)
        .json(&json)
        .send()
        .await
        .unwrap()
}

async fn count(api: &Api, key: &str) -> u64 {
    let now = chrono::Utc::now();
    let answer = api
        .post(
            "/api/v1/dsl",
            &Cred::Key(key.to_string()),
            json!({"query": "SELECT count() FROM logs",
                   "from": (now - chrono::TimeDelta::hours(1)).timestamp_millis(),
                   "to": (now + chrono::TimeDelta::minutes(5)).timestamp_millis()}),
        )
        .await
        .expect(200);
    answer["rows"][0][0].as_u64().unwrap()
}

#[tokio::test]
async fn a_repeated_batch_is_stored_once_over_grpc_and_http_and_per_org() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("dedup").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let other = api.signup("dedup-other").await;
    let (_, other_key) = api.create_key(&other, "agent").await;

    for _ in 0..3 {
        grpc_send(&server, &key, Some("host-1:000001"), batch("first", 5))
            .await
            .unwrap();
    }
    assert_eq!(count(&api, &key).await, 5);
    // The same id in another org is that org's own batch.
    grpc_send(&server, &other_key, Some("host-1:000001"), batch("x", 2))
        .await
        .unwrap();
    assert_eq!(count(&api, &other_key).await, 2);
    // Over HTTP, the header does the same.
    for _ in 0..2 {
        let response = http_send(&server, &key, "host-1:000002", "http").await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(count(&api, &key).await, 6);
    // Without an id, every copy is stored (at-least-once, as before).
    for _ in 0..2 {
        grpc_send(&server, &key, None, batch("no id", 1))
            .await
            .unwrap();
    }
    assert_eq!(count(&api, &key).await, 8);
}

#[tokio::test]
async fn copies_racing_each_other_store_the_batch_once() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("race").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (grpc, key) = (server.grpc.clone(), key.clone());
        copies.spawn(async move {
            let mut client = LogsServiceClient::connect(grpc).await.unwrap();
            let mut request = tonic::Request::new(batch("race", 10));
            request
                .metadata_mut()
                .insert("x-api-key", key.parse().unwrap());
            request
                .metadata_mut()
                .insert(HEADER, "racing-batch".parse().unwrap());
            client.export(request).await.map(|_| ())
        });
    }
    while let Some(result) = copies.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(count(&api, &key).await, 10);
}

#[tokio::test]
async fn a_malformed_batch_id_is_refused_and_stores_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("bad-id").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let long = "x".repeat(129);
    for id in ["", "has space", long.as_str()] {
        let status = grpc_send(&server, &key, Some(id), batch("bad", 1))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{id:?}");
        assert!(status.message().contains(HEADER), "{}", status.message());
    }
    let response = http_send(&server, &key, "tab\tinside", "bad").await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains(HEADER), "{body}");
    assert_eq!(count(&api, &key).await, 0);
}

/// The server remembers stored batch ids across a clean restart (rows in Parquet, log
/// trimmed) and across `kill -9` (rows only in the log, replayed).
#[tokio::test]
async fn stored_batch_ids_survive_a_restart_and_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    let admin = api.signup("restarts").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    grpc_send(&server, &key, Some("before-restart"), batch("a", 3))
        .await
        .unwrap();
    // A clean stop flushes everything to Parquet and trims the log.
    assert!(server.terminate().success());
    let mut server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    grpc_send(&server, &key, Some("before-restart"), batch("a", 3))
        .await
        .unwrap();
    assert_eq!(count(&api, &key).await, 3);
    grpc_send(&server, &key, Some("before-crash"), batch("b", 4))
        .await
        .unwrap();
    server.kill();
    let server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    for id in ["before-restart", "before-crash"] {
        grpc_send(&server, &key, Some(id), batch("again", 4))
            .await
            .unwrap();
    }
    assert_eq!(count(&api, &key).await, 7);
}
