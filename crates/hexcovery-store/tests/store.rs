//! The store end to end on a temporary directory: ingest, query through DataFusion, flush,
//! reopen (WAL replay), compaction, retention and back-pressure.

use datafusion::prelude::{SessionContext, col, lit};
use hexcovery_store::{ExportRequest, IngestError, Signal, StoreConfig, TelemetryStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use uuid::Uuid;

fn logs(service: &str, times: impl IntoIterator<Item = u64>, severity: i32) -> ExportRequest {
    let attr = KeyValue {
        key: "service.name".into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(service.into())),
        }),
        ..Default::default()
    };
    ExportRequest::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![attr],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: times
                    .into_iter()
                    .map(|t| LogRecord {
                        time_unix_nano: t,
                        severity_number: severity,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn now_ns() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64
}

async fn count(
    store: &TelemetryStore,
    org: Uuid,
    filter: Option<datafusion::prelude::Expr>,
) -> usize {
    let ctx = SessionContext::new();
    store.register_with(&ctx).unwrap();
    let mut df = ctx
        .read_table(store.table_provider(org, Signal::Logs).await.unwrap())
        .unwrap();
    if let Some(filter) = filter {
        df = df.filter(filter).unwrap();
    }
    df.count().await.unwrap()
}

fn config(dir: &std::path::Path) -> StoreConfig {
    StoreConfig::new(dir)
}

#[tokio::test]
async fn each_org_sees_only_its_rows_in_memory_and_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let t = now_ns();
    let report = store
        .ingest(a, &logs("api", (0..10).map(|i| t + i), 17), None)
        .await
        .unwrap();
    assert_eq!((report.accepted, report.rejected), (10, 0));
    store
        .ingest(b, &logs("web", (0..3).map(|i| t + i), 9), None)
        .await
        .unwrap();
    assert_eq!(
        count(&store, a, None).await,
        10,
        "buffered rows are queryable at once"
    );
    assert_eq!(count(&store, b, None).await, 3);
    assert_eq!(
        count(&store, a, Some(col("level").eq(lit("error")))).await,
        10
    );

    store.flush(true).await.unwrap();
    assert_eq!(
        count(&store, a, None).await,
        10,
        "no row lost or doubled by the flush"
    );
    assert_eq!(count(&store, b, None).await, 3);
    // Files live under each org's own prefix only.
    let files_of = |org: Uuid| {
        walk(&store.local_org_dir(org).unwrap())
            .into_iter()
            .filter(|p| p.ends_with(".parquet"))
            .count()
    };
    assert_eq!((files_of(a), files_of(b)), (1, 1));
    for path in walk(&dir.path().join("telemetry")) {
        assert!(
            path.contains(&format!("org={a}")) || path.contains(&format!("org={b}")),
            "{path}"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn reopening_replays_exactly_what_was_not_yet_in_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let org = Uuid::now_v7();
    let t = now_ns();
    {
        let store = TelemetryStore::open(config(dir.path())).await.unwrap();
        store
            .ingest(org, &logs("api", (0..5).map(|i| t + i), 9), None)
            .await
            .unwrap();
        store.flush(true).await.unwrap();
        store
            .ingest(org, &logs("api", (5..12).map(|i| t + i), 9), None)
            .await
            .unwrap();
        // dropped without flushing: 7 rows exist only in the WAL
    }
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    assert_eq!(count(&store, org, None).await, 12);
    store.flush(true).await.unwrap();
    drop(store);
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    assert_eq!(
        count(&store, org, None).await,
        12,
        "flushed rows are not replayed again"
    );
    assert!(store.buffered_bytes() == 0);
}

#[tokio::test]
async fn time_filters_skip_files_outside_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let org = Uuid::now_v7();
    let hour = 3_600_000_000_000u64;
    let base = now_ns() / hour * hour - 10 * hour;
    for h in 0..3 {
        store
            .ingest(org, &logs("api", [base + h * hour + 1], 9), None)
            .await
            .unwrap();
    }
    store.flush(true).await.unwrap();
    let table = store.table(org, Signal::Logs).await.unwrap();
    let (b, h) = (base as i64, hour as i64);
    assert_eq!(table.files_for(None, None), 3);
    assert_eq!(table.files_for(Some(b + h), Some(b + 2 * h)), 1);
    let ts = |v: i64| {
        lit(datafusion::common::ScalarValue::TimestampNanosecond(
            Some(v),
            Some("UTC".into()),
        ))
    };
    let in_range = col("timestamp")
        .gt_eq(ts(b + h))
        .and(col("timestamp").lt(ts(b + 2 * h)));
    assert_eq!(count(&store, org, Some(in_range)).await, 1);
}

#[tokio::test]
async fn compaction_merges_small_files_without_changing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let org = Uuid::now_v7();
    let old = now_ns() - 5 * 3_600_000_000_000;
    for i in 0..5 {
        store
            .ingest(org, &logs("api", [old + i, old + i + 100], 9), None)
            .await
            .unwrap();
        store.flush(true).await.unwrap();
    }
    assert_eq!(
        store
            .table(org, Signal::Logs)
            .await
            .unwrap()
            .files_for(None, None),
        5
    );
    assert_eq!(store.compact().await.unwrap(), 1);
    assert_eq!(
        store
            .table(org, Signal::Logs)
            .await
            .unwrap()
            .files_for(None, None),
        1
    );
    assert_eq!(count(&store, org, None).await, 10);
    store.delete_replaced_files(true).await.unwrap();
    let parquet = walk(&store.local_org_dir(org).unwrap())
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .count();
    assert_eq!(parquet, 1, "replaced files are deleted");
    drop(store);
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    assert_eq!(count(&store, org, None).await, 10);
}

#[tokio::test]
async fn retention_drops_whole_old_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let org = Uuid::now_v7();
    // Kept for 60 days while the old rows arrive, then cut to 30.
    store.set_retention(org, 60);
    let day = 86_400_000_000_000u64;
    let now = now_ns();
    store
        .ingest(org, &logs("api", [now - 40 * day, now - 35 * day], 9), None)
        .await
        .unwrap();
    store
        .ingest(org, &logs("api", [now - day, now], 9), None)
        .await
        .unwrap();
    store.flush(true).await.unwrap();
    assert_eq!(count(&store, org, None).await, 4);
    assert_eq!(store.enforce_retention(org, 30).await.unwrap(), 2);
    assert_eq!(count(&store, org, None).await, 2);
    store.delete_replaced_files(true).await.unwrap();
    let days: Vec<String> = walk(&store.local_org_dir(org).unwrap())
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .collect();
    assert_eq!(days.len(), 2);
}

#[tokio::test]
async fn a_request_that_would_expand_past_the_limit_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let org = Uuid::now_v7();
    // 1 MiB of resource attribute repeated on 300 empty records: ~300 MiB of rows.
    let ExportRequest::Logs(mut bomb) = logs("api", std::iter::repeat_n(now_ns(), 300), 9) else {
        unreachable!()
    };
    let big = KeyValue {
        key: "blob".into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue("x".repeat(1 << 20))),
        }),
        ..Default::default()
    };
    bomb.resource_logs[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes
        .push(big);
    let refused = store.ingest(org, &ExportRequest::Logs(bomb), None).await;
    assert!(
        matches!(refused, Err(IngestError::TooLarge { .. })),
        "{refused:?}"
    );
    assert_eq!(count(&store, org, None).await, 0);
    assert!(store.buffered_bytes() == 0);
}

#[tokio::test]
async fn a_full_buffer_sheds_load_until_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.max_buffered_bytes = 1;
    let store = TelemetryStore::open(config).await.unwrap();
    let org = Uuid::now_v7();
    store
        .ingest(org, &logs("api", [now_ns()], 9), None)
        .await
        .unwrap();
    let refused = store.ingest(org, &logs("api", [now_ns()], 9), None).await;
    assert!(matches!(
        refused,
        Err(IngestError::Overloaded {
            retry_after_secs: 2
        })
    ));
    store.flush(true).await.unwrap();
    store
        .ingest(org, &logs("api", [now_ns()], 9), None)
        .await
        .unwrap();
    assert_eq!(count(&store, org, None).await, 2);
}

/// One org past its share of the buffer (a quarter) is asked to retry while the buffer as a
/// whole has room; another org still writes.
#[tokio::test]
async fn an_org_over_its_buffer_share_is_shed_alone() {
    let one = logs("api", [now_ns()], 9);
    let probe_dir = tempfile::tempdir().unwrap();
    let probe = TelemetryStore::open(config(probe_dir.path()))
        .await
        .unwrap();
    probe.ingest(Uuid::now_v7(), &one, None).await.unwrap();
    let request_bytes = probe.buffered_bytes();

    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // Room for eight requests in all, so two for one org.
    config.max_buffered_bytes = request_bytes * 8;
    let store = TelemetryStore::open(config).await.unwrap();
    let (greedy, other) = (Uuid::now_v7(), Uuid::now_v7());
    store.ingest(greedy, &one, None).await.unwrap();
    store.ingest(greedy, &one, None).await.unwrap();
    let refused = store.ingest(greedy, &one, None).await;
    assert!(
        matches!(refused, Err(IngestError::Overloaded { .. })),
        "{refused:?}"
    );
    assert_eq!(store.buffered_bytes(), request_bytes * 2);
    store.ingest(other, &one, None).await.unwrap();
    store.ingest(other, &one, None).await.unwrap();
    // Once flushed, the greedy org writes again.
    store.flush(true).await.unwrap();
    store.ingest(greedy, &one, None).await.unwrap();
    assert_eq!(count(&store, greedy, None).await, 3);
}

fn gauges(names: &[&str]) -> ExportRequest {
    let metrics: Vec<serde_json::Value> = names
        .iter()
        .map(|n| {
            serde_json::json!({"name": n, "gauge": {"dataPoints": [
                {"timeUnixNano": now_ns().to_string(), "asDouble": 1.0}
            ]}})
        })
        .collect();
    let body = serde_json::json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]});
    ExportRequest::decode_json(Signal::Metrics, body.to_string().as_bytes()).unwrap()
}

#[tokio::test]
async fn metric_names_are_known_from_memory_files_and_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (org, other) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let store = TelemetryStore::open(config(dir.path())).await.unwrap();
        store
            .ingest(
                org,
                &gauges(&["host.cpu_usage_pct", "host.mem_used_pct"]),
                None,
            )
            .await
            .unwrap();
        store
            .ingest(other, &gauges(&["secret.metric"]), None)
            .await
            .unwrap();
        assert_eq!(
            store.metric_names(org).await.unwrap(),
            ["host.cpu_usage_pct", "host.mem_used_pct"]
        );
        store.flush(true).await.unwrap();
        store
            .ingest(org, &gauges(&["app.queue_depth"]), None)
            .await
            .unwrap();
        assert_eq!(
            store.metric_names(org).await.unwrap(),
            ["app.queue_depth", "host.cpu_usage_pct", "host.mem_used_pct"]
        );
        store.flush(true).await.unwrap();
    }
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    assert_eq!(
        store.metric_names(org).await.unwrap(),
        ["app.queue_depth", "host.cpu_usage_pct", "host.mem_used_pct"]
    );
    assert_eq!(store.metric_names(other).await.unwrap(), ["secret.metric"]);
}

/// Rows (`severity` 9) in `[from, to)`, counted through DataFusion with a time filter and
/// another filter, as OQL plans them.
async fn count_between(
    store: &TelemetryStore,
    org: Uuid,
    filter: datafusion::prelude::Expr,
) -> usize {
    let ctx = SessionContext::new();
    store.register_with(&ctx).unwrap();
    ctx.read_table(store.table_provider(org, Signal::Logs).await.unwrap())
        .unwrap()
        .filter(filter)
        .unwrap()
        .filter(col("severity_number").eq(lit(9)))
        .unwrap()
        .count()
        .await
        .unwrap()
}

#[tokio::test]
async fn time_bounds_are_exact_in_files_inside_straddling_and_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let org = Uuid::now_v7();
    let hour = 3_600_000_000_000u64;
    let base = now_ns() / hour * hour - 10 * hour;
    // Two files: rows at minutes 0, 10, 20, … of hour 0 and of hour 1.
    let minute = 60_000_000_000u64;
    let times = (0..2).flat_map(|h| (0..6).map(move |m| base + h * hour + m * 10 * minute));
    store
        .ingest(org, &logs("api", times, 9), None)
        .await
        .unwrap();
    store.flush(true).await.unwrap();
    // And rows still in memory, in hour 2.
    let in_memory = (0..6).map(|m| base + 2 * hour + m * 10 * minute);
    store
        .ingest(org, &logs("api", in_memory, 9), None)
        .await
        .unwrap();
    let ts = |v: u64| {
        lit(datafusion::common::ScalarValue::TimestampNanosecond(
            Some(v as i64),
            Some("UTC".into()),
        ))
    };
    let t = col("timestamp");
    // From minute 25 of hour 0 (straddles the first file) to the end of time: 3 + 6 + 6.
    assert_eq!(
        count_between(&store, org, t.clone().gt_eq(ts(base + 25 * minute))).await,
        15
    );
    // Strict and inclusive bounds on exact row times.
    let exact = t
        .clone()
        .gt(ts(base + 20 * minute))
        .and(t.clone().lt_eq(ts(base + 2 * hour + 10 * minute)));
    assert_eq!(count_between(&store, org, exact).await, 3 + 6 + 2);
    // Only hour 1, wholly inside the bounds: no row of the others.
    let hour_one = t
        .clone()
        .gt_eq(ts(base + hour))
        .and(t.lt(ts(base + 2 * hour)));
    assert_eq!(count_between(&store, org, hour_one).await, 6);
}

#[tokio::test]
async fn records_outside_the_time_window_are_rejected_and_never_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let org = Uuid::now_v7();
    let day = 86_400_000_000_000u64;
    let now = now_ns();
    let request = logs(
        "api",
        [
            now - 730 * day,
            now - day,
            now + 2 * day,
            now,
            now - 31 * day,
        ],
        9,
    );
    let report = store.ingest(org, &request, None).await.unwrap();
    assert_eq!((report.accepted, report.rejected), (2, 3));
    let reason = report.rejection.unwrap();
    assert!(
        reason.starts_with("3 log records outside the accepted time range [")
            && reason.contains("30-day retention"),
        "{reason}"
    );
    assert_eq!(count(&store, org, None).await, 2);
    // The log holds only the accepted records: a restart (even one with a longer retention
    // set) replays exactly them.
    drop(store);
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    store.set_retention(org, 3650);
    assert_eq!(count(&store, org, None).await, 2);
    // The org's own retention widens the window.
    let report = store
        .ingest(org, &logs("api", [now - 730 * day], 9), None)
        .await
        .unwrap();
    assert_eq!((report.accepted, report.rejected), (1, 0));
    // Mixed reasons are both named.
    let mut mixed = logs("api", [now + 2 * day, now], 9);
    if let ExportRequest::Logs(r) = &mut mixed {
        r.resource_logs[0].scope_logs[0].log_records[1].trace_id = vec![1, 2];
    }
    let report = store.ingest(org, &mixed, None).await.unwrap();
    assert_eq!((report.accepted, report.rejected), (0, 2));
    let reason = report.rejection.unwrap();
    assert!(
        reason.contains("1 log records outside") && reason.contains("trace_id must be 16 bytes"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_org_that_cannot_load_is_offline_and_the_others_serve() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let (broken, fine) = (Uuid::now_v7(), Uuid::now_v7());
    for org in [broken, fine] {
        store
            .ingest(org, &logs("api", [now_ns()], 9), None)
            .await
            .unwrap();
    }
    store.flush(true).await.unwrap();
    store
        .ingest(broken, &logs("api", [now_ns()], 9), None)
        .await
        .unwrap();
    let log = store
        .local_org_dir(broken)
        .unwrap()
        .join("logs/_manifest_log");
    drop(store);
    let commit = std::fs::read_dir(&log)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&commit, b"{ not json").unwrap();

    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    assert_eq!(count(&store, fine, None).await, 1);
    let offline = store.offline_orgs();
    assert_eq!(offline.len(), 1);
    assert_eq!(offline[0].0, broken);
    assert!(offline[0].1.contains("manifest"), "{}", offline[0].1);
    let error = store
        .ingest(broken, &logs("api", [now_ns()], 9), None)
        .await
        .unwrap_err();
    assert!(matches!(error, IngestError::Internal(_)), "{error}");
    assert!(store.table(broken, Signal::Logs).await.is_err());
    store
        .ingest(fine, &logs("api", [now_ns()], 9), None)
        .await
        .unwrap();
    assert_eq!(count(&store, fine, None).await, 2);
}

/// One org's compaction failing (a file gone from storage) is logged and skipped: another
/// org's compaction still merges, and the failed attempt leaves no file behind that its
/// manifest does not list.
#[tokio::test]
async fn a_failed_compaction_stops_no_other_org_and_leaves_no_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let (broken, fine) = (Uuid::now_v7(), Uuid::now_v7());
    let hour = 3_600_000_000_000;
    // Two old hours of five small files each per org.
    let base = now_ns() - 6 * hour;
    for org in [broken, fine] {
        for h in [0, 1] {
            for i in 0..5 {
                let t = base + h * hour + i;
                store.ingest(org, &logs("api", [t], 9), None).await.unwrap();
                store.flush(true).await.unwrap();
            }
        }
    }
    let parquet = |org: Uuid| -> Vec<String> {
        let mut files: Vec<_> = walk(&store.local_org_dir(org).unwrap())
            .into_iter()
            .filter(|p| p.ends_with(".parquet"))
            .collect();
        files.sort();
        files
    };
    // One of the broken org's files disappears from storage.
    let before = parquet(broken);
    assert_eq!(before.len(), 10);
    std::fs::remove_file(&before[7]).unwrap();

    let merged = store.compact().await.unwrap();
    assert!(merged >= 2, "the fine org's two hours merged: {merged}");
    assert_eq!(
        store
            .table(fine, Signal::Logs)
            .await
            .unwrap()
            .files_for(None, None),
        2
    );
    assert_eq!(count(&store, fine, None).await, 10);
    // Whatever the broken org's attempt wrote before it failed is gone again: its files on
    // disk are exactly the ones its manifest lists (the merged hour, if that one went first,
    // is committed and listed).
    let listed = store
        .table(broken, Signal::Logs)
        .await
        .unwrap()
        .files_for(None, None);
    store.delete_replaced_files(true).await.unwrap();
    assert_eq!(
        parquet(broken).len(),
        listed - 1,
        "only the missing file is absent"
    );
}

/// A flush that fails part-way (storage refusing one of its partitions) deletes the files it
/// had written: nothing is left that the manifest does not list, the rows stay queryable
/// from memory, and the retry writes them once storage takes writes again.
#[tokio::test]
async fn a_failed_flush_leaves_no_orphans_and_its_retry_writes_the_rows_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path())).await.unwrap();
    let org = Uuid::now_v7();
    let hour = 3_600_000_000_000;
    let (early, late) = (now_ns() - 3 * hour, now_ns() - 2 * hour);
    store
        .ingest(org, &logs("api", [early, late], 9), None)
        .await
        .unwrap();
    // The later hour's partition directory cannot be made: a file is in its place. Files
    // are written in partition order, so the earlier hour's file is written first.
    let partition = |ns: u64| {
        let at = chrono::DateTime::from_timestamp_nanos(ns as i64);
        format!("dt={}/hour={}", at.format("%Y-%m-%d"), at.format("%H"))
    };
    let table = store.local_org_dir(org).unwrap().join("logs");
    let blocked = table.join(partition(late));
    std::fs::create_dir_all(blocked.parent().unwrap()).unwrap();
    std::fs::write(&blocked, b"in the way").unwrap();
    let parquet = || -> Vec<String> {
        walk(&table)
            .into_iter()
            .filter(|p| p.ends_with(".parquet"))
            .collect()
    };

    store.flush(true).await.unwrap();
    assert_eq!(
        parquet(),
        Vec::<String>::new(),
        "the failed attempt's file is gone"
    );
    assert_eq!(count(&store, org, None).await, 2);

    std::fs::remove_file(&blocked).unwrap();
    store.flush(true).await.unwrap();
    assert_eq!(parquet().len(), 2);
    assert_eq!(count(&store, org, None).await, 2);
}
