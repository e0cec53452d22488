//! Promoted attribute columns, and strings read as views, answer exactly what the maps and the
//! stored strings answer: the same generated logs and spans are queried from a store whose
//! files mix layouts (written before promotion, with promotion, compacted together, and rows
//! still in memory) and from a store holding every row in memory (the unoptimised path, where
//! each value is taken out of its map).

use chrono::{TimeDelta, Utc};
use hexcovery_query::{Column, QueryEngine, QueryLimits, QueryRequest};
use hexcovery_store::{ExportRequest, StoreConfig, TelemetryStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use uuid::Uuid;

mod common;
use common::Rng;

fn kv(key: &str, value: Option<Value>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.map(|v| AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn text(s: String) -> Option<Value> {
    Some(Value::StringValue(s))
}

/// Attributes with every kind of frequency: always there, in about a third of rows, rare
/// (under the promotion share), present without a value, numeric, and a key whose share
/// differs from batch to batch (promoted in some files only).
fn attributes(rng: &mut Rng, batch: u64) -> Vec<KeyValue> {
    let mut attributes = vec![
        kv("http.route", text(format!("/api/r{}", rng.below(7)))),
        kv(
            "http.status_code",
            Some(Value::IntValue([200, 404, 500][rng.below(3) as usize])),
        ),
    ];
    if rng.below(3) == 0 {
        attributes.push(kv("sometimes", text(format!("s{}", rng.below(4)))));
    }
    if rng.below(40) == 0 {
        attributes.push(kv("rare", text(format!("x{}", rng.below(3)))));
    }
    if rng.below(4) == 0 {
        attributes.push(kv("empty", None));
    }
    if batch.is_multiple_of(2) && rng.below(2) == 0 {
        attributes.push(kv("flip", text(format!("f{}", rng.below(3)))));
    }
    attributes
}

fn resource(rng: &mut Rng) -> Option<Resource> {
    let mut attributes = vec![
        kv("service.name", text(format!("svc-{}", rng.below(3)))),
        kv("k8s.namespace.name", text(format!("ns-{}", rng.below(3)))),
    ];
    if rng.below(5) == 0 {
        attributes.push(kv("team", text("core".into())));
    }
    Some(Resource {
        attributes,
        ..Default::default()
    })
}

fn logs(rng: &mut Rng, batch: u64, now: u64) -> ExportRequest {
    let resource_logs = (0..4)
        .map(|r| ResourceLogs {
            resource: resource(rng),
            scope_logs: vec![ScopeLogs {
                log_records: (0..50)
                    .map(|i| LogRecord {
                        // Every batch spreads over the same hours, so each flush adds a file to each.
                        time_unix_nano: now - ((i + 50 * r) * 12 + batch) * 60_000_000_000,
                        // Set, so both stores' rows are equal (unset, it is the ingest time).
                        observed_time_unix_nano: now,
                        severity_number: [9, 13, 17][rng.below(3) as usize],
                        body: Some(AnyValue {
                            value: text(format!("line {batch}-{i}")),
                        }),
                        attributes: attributes(rng, batch),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportRequest::Logs(ExportLogsServiceRequest { resource_logs })
}

fn spans(rng: &mut Rng, batch: u64, now: u64) -> ExportRequest {
    let spans = (0..100u64)
        .map(|i| {
            let start = now - (i * 12 + batch) * 90_000_000_000;
            Span {
                trace_id: (batch * 1000 + i + 1).to_be_bytes().repeat(2),
                span_id: (i + 1).to_be_bytes().to_vec(),
                name: format!("op{}", rng.below(3)),
                start_time_unix_nano: start,
                end_time_unix_nano: start + rng.below(1_000_000_000),
                attributes: attributes(rng, batch),
                ..Default::default()
            }
        })
        .collect();
    ExportRequest::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(rng),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

const QUERIES: &[&str] = &[
    "SELECT attributes['http.route'] AS r, count(*) AS n FROM logs GROUP BY r ORDER BY r",
    "SELECT attributes['http.status_code'] AS s, level, count(*) FROM logs GROUP BY s, level ORDER BY s, level",
    "SELECT count(*) FROM logs WHERE attributes['sometimes'] = 's1'",
    "SELECT attributes['rare'] AS r, count(*) FROM logs GROUP BY r ORDER BY r",
    "SELECT attributes['flip'] AS f, count(*) FROM logs GROUP BY f ORDER BY f",
    "SELECT count(*) FROM logs WHERE attributes['empty'] IS NULL",
    "SELECT count(*) FROM logs WHERE attributes['missing'] IS NULL",
    "SELECT resource['k8s.namespace.name'] AS ns, resource['team'] AS t, count(*) FROM logs GROUP BY ns, t ORDER BY ns, t",
    "SELECT count(*) FROM logs WHERE attributes['http.route'] LIKE '/api/r1%' AND resource['k8s.namespace.name'] = 'ns-2'",
    "SELECT DISTINCT attributes['sometimes'] AS s FROM logs ORDER BY s",
    "SELECT timestamp, body, attributes, resource FROM logs ORDER BY timestamp DESC LIMIT 300",
    "SELECT * FROM logs WHERE attributes['sometimes'] = 's2' ORDER BY timestamp LIMIT 200",
    "SELECT attributes['http.route'] AS r, p99(duration_ms), count(*) FROM spans GROUP BY r ORDER BY r",
    "SELECT name, attributes['flip'] AS f, count(*) FROM spans GROUP BY name, f ORDER BY name, f",
    "SELECT timestamp, name, attributes, resource FROM spans ORDER BY timestamp LIMIT 300",
    // The table's own strings, read as views from files and cast from memory.
    "SELECT level, count(*) FROM logs GROUP BY level ORDER BY level",
    "SELECT DISTINCT service FROM logs ORDER BY service",
    "SELECT service, level, count(*) FROM logs WHERE body LIKE 'line 3-%' GROUP BY service, level ORDER BY service, level",
    "SELECT upper(level) AS l, min(body), max(body) FROM logs WHERE service != 'svc-0' GROUP BY l ORDER BY l",
    "SELECT kind, status, name, count(*) FROM spans GROUP BY kind, status, name ORDER BY kind, status, name",
];

async fn load(store: &TelemetryStore, org: Uuid, batches: std::ops::Range<u64>, now: u64) {
    for batch in batches {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ (batch + 1));
        store
            .ingest(org, &logs(&mut rng, batch, now), None)
            .await
            .unwrap();
        store
            .ingest(org, &spans(&mut rng, batch, now), None)
            .await
            .unwrap();
    }
}

/// An answer without its scan statistics (which differ by layout, by design).
type Rows = (Vec<Column>, Vec<Vec<serde_json::Value>>, bool);

async fn answers(engine: &QueryEngine, store: &TelemetryStore, org: Uuid) -> Vec<Rows> {
    let mut out = Vec::new();
    for text in QUERIES {
        let request = QueryRequest::new(*text).with_range(
            Utc::now() - TimeDelta::days(3),
            Utc::now() + TimeDelta::hours(1),
        );
        let answer = engine.run(store, org, &request, Utc::now()).await.unwrap();
        out.push((answer.columns, answer.rows, answer.truncated));
    }
    out
}

/// `DESCRIBE logs` as (column, type) pairs.
async fn describe(
    engine: &QueryEngine,
    store: &TelemetryStore,
    org: Uuid,
) -> Vec<(String, serde_json::Value)> {
    let request = QueryRequest::new("DESCRIBE logs");
    let answer = engine.run(store, org, &request, Utc::now()).await.unwrap();
    answer
        .rows
        .into_iter()
        .map(|row| (row[0].as_str().unwrap().to_owned(), row[1].clone()))
        .collect()
}

/// Each answer equals the expected one; a difference names the query and the first row.
fn same(expected: &[Rows], got: &[Rows], what: &str) {
    for ((text, want), got) in QUERIES.iter().zip(expected).zip(got) {
        assert_eq!(got.0, want.0, "{text}: {what} answer with other columns");
        assert_eq!(
            got.1.len(),
            want.1.len(),
            "{text}: {what} answer with other rows"
        );
        if let Some(i) = (0..want.1.len()).find(|&i| got.1[i] != want.1[i]) {
            panic!(
                "{text}: {what} answer row {i} as {:?}, not {:?}",
                got.1[i], want.1[i]
            );
        }
        assert_eq!(got.2, want.2, "{text}: {what} cut the answer differently");
    }
}

fn config(dir: &std::path::Path, promote: bool) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.promote_keys = promote;
    config.flush_interval = std::time::Duration::from_secs(3600);
    config
}

#[tokio::test]
async fn promoted_columns_answer_what_the_maps_answer() {
    let now = Utc::now().timestamp_nanos_opt().unwrap() as u64 - 60_000_000_000;
    let engine = QueryEngine::new(QueryLimits::default()).unwrap();
    let org = Uuid::new_v4();

    // The reference: every row in memory, every value taken out of its map.
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = TelemetryStore::open(config(reference_dir.path(), true))
        .await
        .unwrap();
    load(&reference, org, 0..12, now).await;
    let expected = answers(&engine, &reference, org).await;
    assert!(
        expected.iter().all(|a| !a.1.is_empty()),
        "every query has rows to compare"
    );

    // Files written before promotion existed...
    let dir = tempfile::tempdir().unwrap();
    let before = TelemetryStore::open(config(dir.path(), false))
        .await
        .unwrap();
    load(&before, org, 0..4, now).await;
    before.flush(true).await.unwrap();
    drop(before);
    // ...then files with promoted columns, and rows not yet flushed.
    let store = TelemetryStore::open(config(dir.path(), true))
        .await
        .unwrap();
    for part in [4..6, 6..8, 8..10] {
        load(&store, org, part, now).await;
        store.flush(true).await.unwrap();
    }
    load(&store, org, 10..12, now).await;
    let table = store
        .table(org, hexcovery_store::Signal::Logs)
        .await
        .unwrap();
    let promoted: Vec<&str> = table.promoted_columns().collect();
    assert!(
        promoted.contains(&"attributes['http.route']"),
        "{promoted:?}"
    );
    assert!(promoted.contains(&"attributes['flip']"), "{promoted:?}");
    assert!(
        promoted.contains(&"resource['k8s.namespace.name']"),
        "{promoted:?}"
    );
    // A key that never has a value stays in the map.
    assert!(!promoted.contains(&"attributes['empty']"), "{promoted:?}");
    let mixed = answers(&engine, &store, org).await;
    same(&expected, &mixed, "mixed layouts");

    // Compaction reads both layouts back into whole rows and writes promoted files.
    store.flush(true).await.unwrap();
    let merged = store.compact().await.unwrap();
    assert!(merged > 0, "the hour partitions had files to merge");
    let compacted = answers(&engine, &store, org).await;
    same(&expected, &compacted, "compacted files");

    // DESCRIBE lists the promoted values after the table's own columns, as strings; a store
    // without files has none to list.
    let columns = describe(&engine, &store, org).await;
    let own = hexcovery_store::schema::LOGS.fields().len();
    let listed: Vec<&str> = columns[own..]
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let table = store
        .table(org, hexcovery_store::Signal::Logs)
        .await
        .unwrap();
    assert_eq!(listed, table.promoted_columns().collect::<Vec<_>>());
    assert!(listed.contains(&"attributes['http.route']"), "{listed:?}");
    assert!(columns[own..].iter().all(|(_, ty)| ty == "string"));
    assert_eq!(describe(&engine, &reference, org).await.len(), own);
}

#[test]
fn the_planner_and_the_store_name_promoted_columns_alike() {
    for (map, key) in [
        ("attributes", "http.route"),
        ("resource", "k8s.pod.name"),
        ("attributes", "a'b"),
    ] {
        assert_eq!(
            hexcovery_oql::plan::map_value_column(map, key),
            hexcovery_store::promote::column_name(map, key)
        );
    }
}
