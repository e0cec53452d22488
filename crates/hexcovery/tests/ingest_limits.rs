//! OTLP ingest limits against the real server: credentials are checked before a body is read
//! (gRPC and HTTP), the server-wide in-flight budget sheds with 503 / Unavailable and
//! `Retry-After` and recovers, one org saturating it with large requests gets 503 alone
//! while another org's requests are all accepted, every member of a multi-member gzip body is stored, and a
//! flood of unauthenticated large requests leaves the server's memory alone.

mod common;

use bytes::Bytes;
use common::*;
use datafusion::prelude::{SessionContext, col, get_field};
use hexcovery_store::{Signal, StoreConfig, TelemetryStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message as _;
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use uuid::Uuid;

const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
/// How long a refusal may take; a server waiting for the body never answers.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// `n` log records, each with a unique `rid` attribute `<prefix>-<i>` and a body of
/// `body_bytes` bytes.
fn logs(prefix: &str, n: usize, body_bytes: usize) -> ExportLogsServiceRequest {
    let t = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64;
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: t + i as u64,
                        severity_number: 9,
                        body: Some(AnyValue {
                            value: Some(Value::StringValue("x".repeat(body_bytes))),
                        }),
                        attributes: vec![KeyValue {
                            key: "rid".into(),
                            value: Some(AnyValue {
                                value: Some(Value::StringValue(format!("{prefix}-{i}"))),
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn host(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// Opens a connection and sends a request's head (with `Content-Length: declared`) and the
/// first `body` bytes, leaving the rest of the body unsent.
async fn start_post(
    server: &TestServer,
    headers: &[(&str, &str)],
    declared: usize,
    body: &[u8],
) -> TcpStream {
    let mut stream = TcpStream::connect(host(&server.otlp_http)).await.unwrap();
    let mut head = format!(
        "POST /v1/logs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {declared}\r\n",
        host(&server.otlp_http)
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream
}

/// Reads one response head (status line and headers), failing after [`ANSWER_WITHIN`].
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(ANSWER_WITHIN, async {
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.unwrap();
            assert_eq!(n, 1, "the connection closed before an answer: {head:?}");
            head.push(byte[0]);
        }
    })
    .await
    .expect("the server answers without waiting for the rest of the body");
    String::from_utf8(head).unwrap().to_ascii_lowercase()
}

/// A codec that sends and receives messages as raw bytes.
#[derive(Clone, Default)]
struct Raw;
struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put(dst, item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Bytes>, tonic::Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n)))
    }
}

async fn raw_grpc(server: &TestServer) -> tonic::client::Grpc<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(server.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    tonic::client::Grpc::new(channel)
}

/// An export whose request stream never yields its message: only a server that answers from
/// the headers alone answers it.
async fn grpc_export_without_body(server: &TestServer, key: Option<&str>) -> tonic::Status {
    let mut grpc = raw_grpc(server).await;
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(tonic::codegen::tokio_stream::pending::<Bytes>());
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert("x-api-key", key.parse().unwrap());
    }
    let answer = tokio::time::timeout(
        ANSWER_WITHIN,
        grpc.client_streaming(request, LOGS_EXPORT.parse().unwrap(), Raw),
    )
    .await
    .expect("the server answers without waiting for the message");
    answer.expect_err("the export is refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_exports_are_refused_before_their_bodies_are_read() {
    let server = TestServer::start();

    // HTTP: 15 MiB declared, 4 KiB sent; the answer comes while the rest is pending.
    for headers in [vec![], vec![("X-API-Key", "hxk_not_a_real_key_at_all")]] {
        let mut stream = start_post(&server, &headers, 15 << 20, &[0u8; 4096]).await;
        let head = read_head(&mut stream).await;
        assert!(head.starts_with("http/1.1 401"), "{head}");
    }

    // gRPC: the message is never sent.
    for key in [None, Some("hxk_not_a_real_key_at_all")] {
        let status = grpc_export_without_body(&server, key).await;
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    }

    // A whole 15 MiB message without a key is refused the same way.
    let big = logs("big", 15_000, 1000);
    let status = LogsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap()
        .max_encoding_message_size(64 << 20)
        .export(big)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_inflight_budget_are_shed_and_the_server_recovers() {
    let server = TestServer::start_with(&["--max-inflight-mb", "4"]);
    let api = server.api();
    let admin = api.signup("budget").await;
    let (_, key) = api.create_key(&admin, "agent").await;

    // About 3 MiB: one such request in flight leaves no room for a second.
    let held = logs("held", 3000, 1000).encode_to_vec();
    assert!((5 << 19..4 << 20).contains(&held.len()), "{}", held.len());

    // The held request's head is read, its key checked and its size charged before the
    // server asks for the body (100 Continue), so once that arrives the budget is taken.
    let mut holder = start_post(
        &server,
        &[("X-API-Key", &key), ("Expect", "100-continue")],
        held.len(),
        &[],
    )
    .await;
    let head = read_head(&mut holder).await;
    assert!(head.starts_with("http/1.1 100"), "{head}");

    // Many more at once: every one is shed with Retry-After, over HTTP and gRPC.
    let shed = (0..16).map(|_| {
        let (server_http, key) = (server.otlp_http.clone(), key.clone());
        let declared = held.len();
        tokio::spawn(async move {
            let mut stream = TcpStream::connect(host(&server_http)).await.unwrap();
            let head = format!(
                "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nX-API-Key: {key}\r\nContent-Length: {declared}\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            read_head(&mut stream).await
        })
    });
    for answer in shed.collect::<Vec<_>>() {
        let head = answer.await.unwrap();
        assert!(head.starts_with("http/1.1 503"), "{head}");
        assert!(head.contains("\r\nretry-after: 1\r\n"), "{head}");
    }
    let mut request = tonic::Request::new(logs("grpc", 3000, 1000));
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    let status = LogsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap()
        .export(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(
        status
            .metadata()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );

    // The held request finishes and is stored; its budget comes back.
    holder.write_all(&held).await.unwrap();
    let head = read_head(&mut holder).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let stored = reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("Content-Type", "application/x-protobuf")
        .header("X-API-Key", &key)
        .body(held.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 200);
    let mut request = tonic::Request::new(logs("grpc", 3000, 1000));
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    LogsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap()
        .export(request)
        .await
        .expect("gRPC is admitted again");
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

/// Opens the store of a stopped server and counts the org's log rows per `rid` attribute.
async fn rows_by_rid(data_dir: &std::path::Path, org: Uuid) -> HashMap<String, usize> {
    use datafusion::arrow::array::{Array, AsArray};
    let store = TelemetryStore::open(StoreConfig::new(data_dir))
        .await
        .unwrap();
    let ctx = SessionContext::new();
    store.register_with(&ctx).unwrap();
    let batches = ctx
        .read_table(store.table_provider(org, Signal::Logs).await.unwrap())
        .unwrap()
        .select(vec![get_field(col("attributes"), "rid").alias("rid")])
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut counts = HashMap::new();
    for batch in batches {
        let strings = datafusion::arrow::compute::cast(
            batch.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let strings = strings.as_string::<i32>();
        for i in 0..strings.len() {
            *counts.entry(strings.value(i).to_string()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_of_a_multi_member_gzip_body_is_stored() {
    use flate2::write::GzEncoder;
    use std::io::Write as _;
    let mut server = TestServer::start();
    let api = server.api();
    let admin = api.signup("gzip-members").await;
    let (_, key) = api.create_key(&admin, "agent").await;

    let body = logs("gz", 100, 20).encode_to_vec();
    let mut gzipped = Vec::new();
    for part in [&body[..body.len() / 3], &body[body.len() / 3..]] {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(part).unwrap();
        gzipped.extend(encoder.finish().unwrap());
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip")
        .header("X-API-Key", &key)
        .body(gzipped)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);

    assert!(server.terminate().success());
    let rows = rows_by_rid(&server.data_dir, Uuid::parse_str(&admin.org_id).unwrap()).await;
    assert_eq!(rows.len(), 100, "{rows:?}");
    assert!((0..100).all(|i| rows.get(&format!("gz-{i}")) == Some(&1)));
}

/// The server process's `VmRSS` and `VmHWM` (peak) in KiB.
fn memory_kib(server: &TestServer) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unauthenticated_large_requests_leaves_memory_alone() {
    let server = TestServer::start();
    // Warm the listeners up once so that their first allocations are not counted.
    let status = grpc_export_without_body(&server, None).await;
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let (rss_before, _) = memory_kib(&server);

    let message = Bytes::from(logs("flood", 15_000, 1000).encode_to_vec());
    let clients = (0..32).map(|i| {
        let (grpc_url, http_url, message) = (
            server.grpc.clone(),
            server.otlp_http.clone(),
            message.clone(),
        );
        tokio::spawn(async move {
            for _ in 0..3 {
                if i % 2 == 0 {
                    let channel = tonic::transport::Endpoint::from_shared(grpc_url.clone())
                        .unwrap()
                        .connect()
                        .await
                        .unwrap();
                    let mut grpc = tonic::client::Grpc::new(channel);
                    grpc.ready().await.unwrap();
                    let status = grpc
                        .unary(
                            tonic::Request::new(message.clone()),
                            LOGS_EXPORT.parse().unwrap(),
                            Raw,
                        )
                        .await
                        .unwrap_err();
                    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
                } else {
                    // The server answers 401 and drops the connection before the body is in;
                    // the client may see the answer or a reset connection, never a success.
                    let sent = reqwest::Client::new()
                        .post(format!("{http_url}/v1/logs"))
                        .header("Content-Type", "application/x-protobuf")
                        .body(message.clone())
                        .send()
                        .await;
                    if let Ok(answer) = sent {
                        assert_eq!(answer.status(), 401);
                    }
                }
            }
        })
    });
    for client in clients.collect::<Vec<_>>() {
        client.await.unwrap();
    }
    let (rss_after, peak) = memory_kib(&server);
    // 32 clients × 15 MiB held would be ~500 MiB and more once decoded; reading none of it,
    // the server grows by little. Generous: 128 MiB.
    let grown_mib = peak.saturating_sub(rss_before) / 1024;
    eprintln!("peak RSS grew by {grown_mib} MiB (before {rss_before} KiB, peak {peak} KiB)");
    assert!(
        grown_mib < 128,
        "peak RSS grew by {grown_mib} MiB (before {rss_before} KiB, after {rss_after} KiB, peak {peak} KiB)"
    );
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_org_saturating_the_budget_leaves_room_for_another() {
    // 16 MiB in flight, 1 MiB requests: an org's share is a quarter, or one largest
    // request's charge if that is more, so a few MiB; never the whole.
    let server = TestServer::start_with(&["--max-inflight-mb", "16", "--max-request-mb", "1"]);
    let api = server.api();
    let greedy = api.signup("greedy").await;
    let (_, greedy_key) = api.create_key(&greedy, "agent").await;
    let modest = api.signup("modest").await;
    let (_, modest_key) = api.create_key(&modest, "agent").await;

    // The greedy org holds as many 1 MiB requests open as it can (charged on their
    // Content-Length before the body is asked for): its share is spent long before the
    // budget, and the rest of its requests are shed with Retry-After.
    let declared = 1 << 20;
    let (mut holders, mut shed) = (Vec::new(), 0);
    for _ in 0..16 {
        let mut stream = start_post(
            &server,
            &[("X-API-Key", &greedy_key), ("Expect", "100-continue")],
            declared,
            &[],
        )
        .await;
        let head = read_head(&mut stream).await;
        if head.starts_with("http/1.1 100") {
            holders.push(stream);
        } else {
            assert!(head.starts_with("http/1.1 503"), "{head}");
            assert!(head.contains("\r\nretry-after: 1\r\n"), "{head}");
            shed += 1;
        }
    }
    eprintln!("greedy org: {} requests held, {shed} shed", holders.len());
    assert!(!holders.is_empty(), "a lone org's requests run");
    assert!(
        holders.len() < 12,
        "one org holds at most its share: {}",
        holders.len()
    );

    // Meanwhile the greedy org keeps sending ~0.9 MiB requests from 12 tasks, and the
    // modest org's small requests are every one accepted.
    let http = reqwest::Client::new();
    let big = Bytes::from(logs("greedy", 900, 1000).encode_to_vec());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood: Vec<_> = (0..12)
        .map(|_| {
            let (http, url, key, big, stop) = (
                http.clone(),
                format!("{}/v1/logs", server.otlp_http),
                greedy_key.clone(),
                big.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let (mut ok, mut refused) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let answer = http
                        .post(&url)
                        .header("Content-Type", "application/x-protobuf")
                        .header("X-API-Key", &key)
                        .body(big.clone())
                        .send()
                        .await;
                    // A shed request is answered before its body is read and its connection
                    // closed: the client sees the 503 or, mid-upload, a reset connection.
                    let Ok(answer) = answer else {
                        refused += 1;
                        continue;
                    };
                    match answer.status().as_u16() {
                        200 => ok += 1,
                        503 => {
                            assert_eq!(answer.headers()["retry-after"], "1");
                            refused += 1;
                        }
                        other => panic!("unexpected answer to the greedy org: {other}"),
                    }
                }
                (ok, refused)
            })
        })
        .collect();
    let small = logs("modest", 5, 50).encode_to_vec();
    // Its own client: the greedy org's connections are closed on its shed requests.
    let modest_http = reqwest::Client::new();
    for i in 0..40 {
        let answer = modest_http
            .post(format!("{}/v1/logs", server.otlp_http))
            .header("Content-Type", "application/x-protobuf")
            .header("X-API-Key", &modest_key)
            .body(small.clone())
            .send()
            .await
            .unwrap();
        let status = answer.status();
        assert_eq!(status, 200, "modest request {i}: {:?}", answer.text().await);
    }
    let mut request = tonic::Request::new(logs("modest-grpc", 5, 50));
    request
        .metadata_mut()
        .insert("x-api-key", modest_key.parse().unwrap());
    LogsServiceClient::connect(server.grpc.clone())
        .await
        .unwrap()
        .export(request)
        .await
        .expect("the modest org's gRPC export is accepted too");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut refused) = (0, 0);
    for task in flood {
        let (o, r) = task.await.unwrap();
        (ok, refused) = (ok + o, refused + r);
    }
    eprintln!("greedy org's parallel requests: {ok} accepted, {refused} shed (503)");
    assert!(refused > 0, "the greedy org was over its share");

    // Once the greedy org lets go (the server sees its connections close), its share is its
    // own again.
    drop(holders);
    tokio::time::timeout(ANSWER_WITHIN, async {
        loop {
            let answer = http
                .post(format!("{}/v1/logs", server.otlp_http))
                .header("Content-Type", "application/x-protobuf")
                .header("X-API-Key", &greedy_key)
                .body(big.clone())
                .send()
                .await;
            match answer.map(|a| a.status().as_u16()) {
                Ok(200) => break,
                // Shed (503, or the connection closed on it mid-upload): still releasing.
                Ok(503) | Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                Ok(other) => panic!("unexpected answer: {other}"),
            }
        }
    })
    .await
    .expect("the released share is admitted again");
}
