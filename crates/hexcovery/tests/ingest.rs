//! OTLP ingest against the real server: gRPC and HTTP clients, two orgs, every refusal, and
//! a crash (SIGKILL) in the middle of a stream.

mod common;

use common::*;
use datafusion::prelude::{SessionContext, col, get_field};
use hexcovery_store::{Signal, StoreConfig, TelemetryStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use serde_json::json;
use std::collections::HashMap;
use tonic::codec::CompressionEncoding;
use uuid::Uuid;

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            string_attr("service.name", service),
            string_attr("host.name", "web-1"),
        ],
        ..Default::default()
    })
}

fn now_ns() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64
}

/// `n` log records, each with a unique `rid` attribute `<prefix>-<i>`.
fn logs(prefix: &str, n: usize) -> ExportLogsServiceRequest {
    let t = now_ns();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("api"),
            scope_logs: vec![ScopeLogs {
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: t + i as u64,
                        severity_number: 17,
                        body: Some(AnyValue {
                            value: Some(Value::StringValue(format!("request {i} failed"))),
                        }),
                        attributes: vec![string_attr("rid", &format!("{prefix}-{i}"))],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn spans(n: usize, bad_trace_ids: usize) -> ExportTraceServiceRequest {
    let t = now_ns();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource("api"),
            scope_spans: vec![ScopeSpans {
                spans: (0..n + bad_trace_ids)
                    .map(|i| Span {
                        trace_id: if i < n { vec![1; 16] } else { vec![1; 3] },
                        span_id: vec![2; 8],
                        name: "GET /users".into(),
                        start_time_unix_nano: t,
                        end_time_unix_nano: t + 5_000_000,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics_json(n: usize) -> serde_json::Value {
    let t = now_ns().to_string();
    json!({ "resourceMetrics": [{
        "resource": { "attributes": [{ "key": "host.name", "value": { "stringValue": "db-1" } }] },
        "scopeMetrics": [{ "metrics": [{
            "name": "host.cpu_usage_pct", "unit": "%",
            "gauge": { "dataPoints": (0..n).map(|i| json!({ "timeUnixNano": t, "asDouble": i as f64 })).collect::<Vec<_>>() }
        }]}]
    }]})
}

fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    request
}

async fn logs_client(server: &TestServer) -> LogsServiceClient<tonic::transport::Channel> {
    LogsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip)
}

async fn post_otlp(
    server: &TestServer,
    path: &str,
    key: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", server.otlp_http))
        .header("Content-Type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    request.send().await.unwrap()
}

/// Opens the store of a stopped server and counts each org's rows per `rid` attribute.
async fn rows_by_rid(
    data_dir: &std::path::Path,
    org: Uuid,
    signal: Signal,
) -> HashMap<String, usize> {
    let store = TelemetryStore::open(StoreConfig::new(data_dir))
        .await
        .unwrap();
    let ctx = SessionContext::new();
    store.register_with(&ctx).unwrap();
    let batches = ctx
        .read_table(store.table_provider(org, signal).await.unwrap())
        .unwrap()
        .select(vec![get_field(col("attributes"), "rid").alias("rid")])
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut counts = HashMap::new();
    for batch in batches {
        let column = arrow_strings(batch.column(0));
        for rid in column {
            *counts.entry(rid.unwrap_or_default()).or_insert(0) += 1;
        }
    }
    counts
}

fn arrow_strings(array: &datafusion::arrow::array::ArrayRef) -> Vec<Option<String>> {
    use datafusion::arrow::array::{Array, AsArray};
    let strings =
        datafusion::arrow::compute::cast(array, &datafusion::arrow::datatypes::DataType::Utf8)
            .unwrap();
    let strings = strings.as_string::<i32>();
    (0..strings.len())
        .map(|i| strings.is_valid(i).then(|| strings.value(i).to_string()))
        .collect()
}

fn org_id(session: &Session) -> Uuid {
    Uuid::parse_str(&session.org_id).unwrap()
}

// Multi-threaded: `terminate` blocks its thread while the server drains, and the dropped
// gRPC clients need another thread to close their connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_and_http_exports_land_in_their_own_orgs_storage() {
    let mut server = TestServer::start();
    let api = server.api();
    let admin_a = api.signup("ingest-a").await;
    let admin_b = api.signup("ingest-b").await;
    let (_, key_a) = api.create_key(&admin_a, "agent").await;
    let (_, key_b) = api.create_key(&admin_b, "agent").await;

    // gRPC logs (gzip) for A
    let response = logs_client(&server)
        .await
        .export(with_key(logs("a", 40), &key_a))
        .await
        .unwrap()
        .into_inner();
    assert!(response.partial_success.is_none());
    // gRPC spans for A: three with bad trace ids are rejected as partial success
    let mut traces = TraceServiceClient::connect(server.grpc.clone())
        .await
        .unwrap();
    let partial = traces
        .export(with_key(spans(5, 3), &key_a))
        .await
        .unwrap()
        .into_inner()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 3);
    assert!(
        partial.error_message.contains("trace_id must be 16 bytes"),
        "{}",
        partial.error_message
    );
    // HTTP protobuf logs for A
    let http_logs = post_otlp(
        &server,
        "/v1/logs",
        Some(&key_a),
        "application/x-protobuf",
        logs("h", 10).encode_to_vec(),
    )
    .await;
    assert_eq!(http_logs.status(), 200);
    assert_eq!(
        http_logs.headers()["content-type"],
        "application/x-protobuf"
    );
    // HTTP JSON metrics (gzip) for B
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, metrics_json(7).to_string().as_bytes()).unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/metrics", server.otlp_http))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .header("X-API-Key", &key_b)
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "{}");
    // HTTP JSON spans with a rejection answer partialSuccess
    let bad = json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [{ "traceId": "0102", "spanId": "0102030405060708", "name": "x", "startTimeUnixNano": "1", "endTimeUnixNano": "2" }] }] }] });
    let answer = post_otlp(
        &server,
        "/v1/traces",
        Some(&key_b),
        "application/json",
        bad.to_string().into_bytes(),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["partialSuccess"]["rejectedSpans"], 1);

    // Usage per org and signal, in records and uncompressed bytes.
    let usage_a = api.get("/api/v1/usage", &admin_a.jwt()).await.expect(200);
    let by_signal: HashMap<String, (u64, u64)> = usage_a["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["signal"].as_str().unwrap().to_string(),
                (r["records"].as_u64().unwrap(), r["bytes"].as_u64().unwrap()),
            )
        })
        .collect();
    assert_eq!(by_signal["logs"].0, 50);
    assert_eq!(by_signal["spans"].0, 5);
    assert!(
        by_signal["logs"].1 > 50 * 20,
        "bytes are the uncompressed payload: {:?}",
        by_signal["logs"]
    );
    let usage_b = api.get("/api/v1/usage", &admin_b.jwt()).await.expect(200);
    assert_eq!(usage_b["usage"].as_array().unwrap().len(), 1);
    assert_eq!(usage_b["usage"][0]["records"], 7);
    api.get("/api/v1/usage?from=yesterday", &admin_a.jwt())
        .await
        .expect_error(400, "invalid_query");

    // Graceful stop flushes to Parquet; each org's files are under its own directory.
    drop(traces);
    assert!(server.terminate().success());
    assert!(
        !server.log().contains("still open"),
        "closed clients do not hold up the stop"
    );
    let (a, b) = (org_id(&admin_a), org_id(&admin_b));
    let logs_a = rows_by_rid(&server.data_dir, a, Signal::Logs).await;
    assert_eq!(logs_a.len(), 50);
    assert!(logs_a.values().all(|n| *n == 1));
    assert!(
        rows_by_rid(&server.data_dir, b, Signal::Logs)
            .await
            .is_empty(),
        "B sees none of A's logs"
    );
    assert_eq!(
        rows_by_rid(&server.data_dir, b, Signal::Metrics)
            .await
            .values()
            .sum::<usize>(),
        7
    );
    assert!(
        rows_by_rid(&server.data_dir, a, Signal::Metrics)
            .await
            .is_empty()
    );
    let telemetry = server.data_dir.join("telemetry");
    for entry in std::fs::read_dir(&telemetry).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == format!("org={a}") || name == format!("org={b}"),
            "unexpected {name}"
        );
    }
    assert!(
        telemetry.join(format!("org={a}/logs")).exists()
            && !telemetry.join(format!("org={b}/logs")).exists()
    );
}

#[tokio::test]
async fn ingest_refuses_bad_credentials_and_bad_input_and_keeps_serving() {
    let server = TestServer::start_with(&["--max-request-mb", "1"]);
    let api = server.api();
    let admin = api.signup("refuse").await;
    let (key_id, key) = api.create_key(&admin, "agent").await;
    let mut client = logs_client(&server).await;

    let status = client
        .export(tonic::Request::new(logs("x", 1)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let mut with_jwt = tonic::Request::new(logs("x", 1));
    with_jwt.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", admin.access_token).parse().unwrap(),
    );
    assert_eq!(
        client.export(with_jwt).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    let mut key_as_bearer = tonic::Request::new(logs("x", 1));
    key_as_bearer
        .metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    assert_eq!(
        client.export(key_as_bearer).await.unwrap_err().code(),
        tonic::Code::Unauthenticated
    );

    assert_eq!(
        post_otlp(&server, "/v1/logs", None, "application/x-protobuf", vec![])
            .await
            .status(),
        401
    );
    let garbage = post_otlp(
        &server,
        "/v1/logs",
        Some(&key),
        "application/x-protobuf",
        vec![0xff; 32],
    )
    .await;
    assert_eq!(garbage.status(), 400);
    let status = RpcStatus::decode(garbage.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, tonic::Code::InvalidArgument as i32);
    assert!(status.message.contains("protobuf"), "{}", status.message);
    let bad_json = post_otlp(
        &server,
        "/v1/traces",
        Some(&key),
        "application/json",
        b"{\"resourceSpans\": [".to_vec(),
    )
    .await;
    assert_eq!(bad_json.status(), 400);
    let body: serde_json::Value = bad_json.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("not valid JSON"));
    assert_eq!(
        post_otlp(
            &server,
            "/v1/logs",
            Some(&key),
            "text/plain",
            b"hi".to_vec()
        )
        .await
        .status(),
        415
    );

    // Over-size: 413 over HTTP, ResourceExhausted over gRPC.
    let big = logs("big", 30_000);
    assert!(big.encoded_len() > 1 << 20);
    assert_eq!(
        post_otlp(
            &server,
            "/v1/logs",
            Some(&key),
            "application/x-protobuf",
            big.encode_to_vec()
        )
        .await
        .status(),
        413
    );
    let mut plain = LogsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap();
    assert_eq!(
        plain.export(with_key(big, &key)).await.unwrap_err().code(),
        tonic::Code::ResourceExhausted
    );

    // Still serving, and a revoked key stops working on the next request.
    client.export(with_key(logs("ok", 3), &key)).await.unwrap();
    api.delete(&format!("/api/v1/api-keys/{key_id}"), &admin.jwt())
        .await
        .expect(204);
    assert_eq!(
        client
            .export(with_key(logs("late", 1), &key))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::Unauthenticated
    );
    assert_eq!(
        post_otlp(
            &server,
            "/v1/logs",
            Some(&key),
            "application/x-protobuf",
            logs("late", 1).encode_to_vec()
        )
        .await
        .status(),
        401
    );
    api.get("/healthz", &Cred::None).await.expect(200);
}

#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[tokio::test]
async fn a_full_buffer_answers_unavailable_with_retry_after() {
    let server = TestServer::start_with(&["--max-buffer-mb", "1", "--flush-interval-secs", "3600"]);
    let api = server.api();
    let admin = api.signup("busy").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    // One request fills the buffer past 1 MiB; the next is refused unless a flush ran in
    // between (the flusher relieves pressure), so try a few pairs.
    let mut refused = None;
    for attempt in 0..20 {
        post_otlp(
            &server,
            "/v1/logs",
            Some(&key),
            "application/x-protobuf",
            logs(&format!("fill{attempt}"), 8_000).encode_to_vec(),
        )
        .await;
        let next = post_otlp(
            &server,
            "/v1/logs",
            Some(&key),
            "application/x-protobuf",
            logs("next", 1).encode_to_vec(),
        )
        .await;
        if next.status() == 503 {
            refused = Some(next);
            break;
        }
    }
    let refused = refused.expect("a full buffer sheds load");
    assert!(
        refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let status = RpcStatus::decode(refused.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, tonic::Code::Unavailable as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_stream_loses_no_acknowledged_record_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    let admin = api.signup("crash").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let (acked_tx, mut acked_rx) = tokio::sync::watch::channel(0usize);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for sender in 0..4 {
        let (endpoint, key, acked, acked_tx) = (
            server.grpc.clone(),
            key.clone(),
            acked.clone(),
            acked_tx.clone(),
        );
        senders.push(tokio::spawn(async move {
            let Ok(client) = LogsServiceClient::connect(endpoint).await else {
                return;
            };
            let mut client = client.send_compressed(CompressionEncoding::Gzip);
            for request in 0..200 {
                let prefix = format!("s{sender}r{request}");
                if client
                    .export(with_key(logs(&prefix, 50), &key))
                    .await
                    .is_err()
                {
                    return; // the server is gone
                }
                acked.lock().unwrap().push(prefix);
                acked_tx.send_modify(|n| *n += 1);
            }
        }));
    }
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        acked_rx.wait_for(|n| *n >= 40),
    )
    .await
    .unwrap()
    .unwrap();
    server.kill();
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 40);

    // Restart: the log is replayed; the server serves again; a clean stop writes Parquet.
    let mut server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    let session = Session::from_tokens(&api.login("admin@crash.io", PASSWORD).await.expect(200));
    let mut client = logs_client(&server).await;
    client
        .export(with_key(logs("after", 5), &key))
        .await
        .unwrap();
    drop(client);
    assert!(server.terminate().success());

    let counts = rows_by_rid(dir.path(), org_id(&session), Signal::Logs).await;
    for prefix in &acked {
        for i in 0..50 {
            assert_eq!(
                counts.get(&format!("{prefix}-{i}")),
                Some(&1),
                "acknowledged record {prefix}-{i}"
            );
        }
    }
    assert!(
        counts.values().all(|n| *n == 1),
        "no record is stored twice"
    );
    assert_eq!(counts.keys().filter(|k| k.starts_with("after-")).count(), 5);
    // Unacknowledged requests are either wholly in or wholly out.
    let mut by_request: HashMap<&str, usize> = HashMap::new();
    for key in counts.keys() {
        *by_request
            .entry(key.rsplit_once('-').unwrap().0)
            .or_insert(0) += 1;
    }
    assert!(
        by_request
            .iter()
            .all(|(p, n)| *n == if *p == "after" { 5 } else { 50 }),
        "{by_request:?}"
    );
}
