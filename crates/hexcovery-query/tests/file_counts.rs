//! Counts and `DISTINCT` answered from the files' stored counts equal the answers from
//! their rows: the same generated logs and spans are queried with counts on and off, over
//! files written before counts existed (their manifest entries have none), files with
//! counts, compacted files, and rows still in memory, over ranges that take whole files and
//! ranges whose ends cut through files.

use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_query::{Answer, QueryEngine, QueryLimits, QueryRequest};
use hexcovery_store::{ExportRequest, StoreConfig, TelemetryStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::Value as Json;
use std::path::Path;
use uuid::Uuid;

mod common;
use common::Rng;

fn resource(service: String) -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(service)),
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// 200 records over the last ~40 hours, four services (one rare), every level and none
/// (severity 0 without text).
fn logs(rng: &mut Rng, batch: u64, now: u64) -> ExportRequest {
    let resource_logs = (0..4)
        .map(|r| ResourceLogs {
            resource: resource(format!(
                "svc-{}",
                if r == 3 && !batch.is_multiple_of(3) {
                    0
                } else {
                    r
                }
            )),
            scope_logs: vec![ScopeLogs {
                log_records: (0..50)
                    .map(|i| LogRecord {
                        time_unix_nano: now - ((i + 50 * r) * 12 + batch) * 60_000_000_000,
                        observed_time_unix_nano: now,
                        severity_number: [0, 5, 9, 9, 9, 13, 17, 21][rng.below(8) as usize],
                        body: Some(AnyValue {
                            value: Some(Value::StringValue(format!("line {batch}-{i}"))),
                        }),
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
                kind: rng.below(6) as i32,
                status: Some(Status {
                    code: rng.below(3) as i32,
                    ..Default::default()
                }),
                start_time_unix_nano: start,
                end_time_unix_nano: start + rng.below(1_000_000_000),
                ..Default::default()
            }
        })
        .collect();
    ExportRequest::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(format!("svc-{}", batch % 2)),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// How many of [`QUERIES`], from the first, are shapes counts answer.
const COUNTABLE: usize = 15;

/// The shapes counts answer, then shapes they must leave to the rows.
const QUERIES: &[&str] = &[
    "SELECT level, count(*) FROM logs GROUP BY level ORDER BY level",
    "SELECT service, count(*) AS n FROM logs GROUP BY service ORDER BY n DESC, service",
    "SELECT service, level, count(*), count(*) AS again FROM logs GROUP BY service, level ORDER BY service, level",
    "SELECT count(*) FROM logs",
    "SELECT count(*) FROM logs WHERE level = 'error'",
    "SELECT count(*) FROM logs WHERE service = 'no-such-service'",
    "SELECT level, count(*) FROM logs WHERE service = 'svc-1' AND level IS NOT NULL GROUP BY level ORDER BY level",
    "SELECT service, count(*) FROM logs WHERE level IN ('warn', 'error') OR level IS NULL GROUP BY service ORDER BY service",
    "SELECT DISTINCT service FROM logs ORDER BY service",
    "SELECT DISTINCT level FROM logs ORDER BY level",
    "SELECT DISTINCT service, level FROM logs WHERE level != 'info' ORDER BY service, level",
    "SELECT level, count(*) FROM logs GROUP BY level HAVING count(*) > 100 ORDER BY level",
    "SELECT kind, status, count(*) FROM spans GROUP BY kind, status ORDER BY kind, status",
    "SELECT service, count(*) FROM spans WHERE status = 'error' GROUP BY service ORDER BY service",
    "SELECT DISTINCT kind FROM spans ORDER BY kind",
    // Left to the rows: other columns, other aggregates, other filters.
    "SELECT level, count(level), count(body) FROM logs GROUP BY level ORDER BY level",
    "SELECT level, count(*) FROM logs WHERE body LIKE 'line 1%' GROUP BY level ORDER BY level",
    "SELECT name, count(*) FROM spans GROUP BY name ORDER BY name",
    "SELECT service, count_distinct(level) FROM logs GROUP BY service ORDER BY service",
    "SELECT upper(level) AS l, count(*) FROM logs GROUP BY l ORDER BY l",
    "SELECT bucket(1h) AS t, count(*) FROM logs GROUP BY t ORDER BY t",
];

fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.flush_interval = std::time::Duration::from_secs(3600);
    config
}

async fn load(store: &TelemetryStore, org: Uuid, batches: std::ops::Range<u64>, now: u64) {
    for batch in batches {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (batch + 1));
        for request in [logs(&mut rng, batch, now), spans(&mut rng, batch, now)] {
            store.ingest(org, &request, None).await.unwrap();
        }
    }
}

/// Removes the counts from every manifest entry under `dir`, as a build from before counts
/// wrote them.
fn forget_counts(dir: &Path) -> usize {
    let mut removed = 0;
    for entry in walk(dir) {
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        let in_log = entry.parent().is_some_and(|p| p.ends_with("_manifest_log"));
        if !(name == "_manifest.json" || in_log && name.ends_with(".json")) {
            continue;
        }
        let mut manifest: Json = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
        for list in ["files", "added"] {
            for file in manifest[list].as_array_mut().into_iter().flatten() {
                removed += usize::from(file.as_object_mut().unwrap().remove("counts").is_some());
            }
        }
        std::fs::write(&entry, serde_json::to_vec(&manifest).unwrap()).unwrap();
    }
    removed
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn answer(
    engine: &QueryEngine,
    store: &TelemetryStore,
    org: Uuid,
    text: &str,
    range: (DateTime<Utc>, DateTime<Utc>),
) -> Answer {
    let request = QueryRequest::new(text).with_range(range.0, range.1);
    engine
        .run(store, org, &request, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Every query over every range answers alike with counts and from rows; returns how many
/// answers took rows from counts.
async fn compare(store: &TelemetryStore, org: Uuid, what: &str, expect_counts: bool) -> u64 {
    let counted = QueryEngine::new(QueryLimits::default()).unwrap();
    let rows = QueryEngine::new(QueryLimits::default())
        .unwrap()
        .with_file_counts(false);
    let now = Utc::now();
    // Whole hours, then ends in the middle of hours (files straddling both ends).
    let ranges = [
        (now - TimeDelta::days(3), now + TimeDelta::hours(1)),
        (
            now - TimeDelta::minutes(1_234),
            now - TimeDelta::minutes(77),
        ),
        (now - TimeDelta::minutes(30), now + TimeDelta::minutes(1)),
    ];
    let mut from_counts = 0;
    for (r, range) in ranges.into_iter().enumerate() {
        for (i, text) in QUERIES.iter().enumerate() {
            let want = answer(&rows, store, org, text, range).await;
            let got = answer(&counted, store, org, text, range).await;
            assert_eq!(want.stats.files_counted, 0, "{text}: counts were off");
            assert_eq!(
                (&got.columns, &got.rows),
                (&want.columns, &want.rows),
                "{what}, {text} over {range:?}"
            );
            assert!(
                got.stats.rows_scanned + got.stats.rows_counted >= want.stats.rows_scanned,
                "{text}: the counts stand for rows that were scanned without them"
            );
            let countable = i < COUNTABLE;
            if got.stats.files_counted > 0 {
                assert!(countable, "{text} is not a shape counts may answer");
                from_counts += 1;
            } else if r == 0 && expect_counts {
                assert!(!countable, "{text}: counts did not answer over whole files");
            }
        }
    }
    from_counts
}

#[tokio::test]
async fn counts_answer_what_the_rows_answer() {
    let now = Utc::now().timestamp_nanos_opt().unwrap() as u64 - 60_000_000_000;
    let org = Uuid::new_v4();
    let dir = tempfile::tempdir().unwrap();

    // Files written before counts existed...
    let before = TelemetryStore::open(config(dir.path())).await.unwrap();
    load(&before, org, 0..4, now).await;
    before.flush(true).await.unwrap();
    drop(before);
    assert!(
        forget_counts(dir.path()) > 0,
        "the files had counts to forget"
    );

    // ...then files with counts, and rows not yet flushed.
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    assert_eq!(
        compare(&store, org, "files without counts", false).await,
        0,
        "files without counts are read row by row"
    );
    for part in [4..6, 6..8] {
        load(&store, org, part, now).await;
        store.flush(true).await.unwrap();
    }
    load(&store, org, 8..10, now).await;
    let mixed = compare(&store, org, "mixed files", true).await;
    assert!(
        mixed > 20,
        "counts answered most of the shapes they may ({mixed})"
    );

    // Compaction writes counts for what it merges, files from before included.
    store.flush(true).await.unwrap();
    assert!(
        store.compact().await.unwrap() > 0,
        "the hours had files to merge"
    );
    let compacted = compare(&store, org, "compacted files", true).await;
    assert!(compacted >= mixed, "{compacted} < {mixed}");
}
