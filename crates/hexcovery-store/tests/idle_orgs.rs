//! Idle orgs hold no open files: once everything of an org is flushed and it has been idle
//! for `idle_unload_after`, its write-ahead log closes and its tables go; the next ingest or
//! query loads it again, and retention of an unloaded org works on its manifests alone.

use datafusion::prelude::SessionContext;
use hexcovery_store::{ExportRequest, Signal, StoreConfig, TelemetryStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn logs(times: impl IntoIterator<Item = u64>) -> ExportRequest {
    ExportRequest::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: times
                    .into_iter()
                    .map(|t| LogRecord {
                        time_unix_nano: t,
                        severity_number: 9,
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

async fn count(store: &TelemetryStore, org: Uuid) -> usize {
    let ctx = SessionContext::new();
    store.register_with(&ctx).unwrap();
    ctx.read_table(store.table_provider(org, Signal::Logs).await.unwrap())
        .unwrap()
        .count()
        .await
        .unwrap()
}

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn config(dir: &std::path::Path, idle: Duration) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.idle_unload_after = idle;
    config
}

/// Runs maintenance flushes until no org is loaded (or fails after 30 s).
async fn until_all_unloaded(store: &TelemetryStore) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.loaded_org_count() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} orgs still loaded",
            store.loaded_org_count()
        );
        store.flush(false).await.unwrap();
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_orgs_close_their_files_and_load_again_on_use() {
    const ORGS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let idle = Duration::from_millis(300);
    let store = TelemetryStore::open(config(dir.path(), idle))
        .await
        .unwrap();
    let baseline = open_fds();
    let orgs: Vec<Uuid> = (0..ORGS).map(|_| Uuid::now_v7()).collect();
    for &org in &orgs {
        store.ingest(org, &logs([now_ns()]), None).await.unwrap();
    }
    assert_eq!(store.loaded_org_count(), ORGS);
    let loaded_fds = open_fds();
    assert!(
        loaded_fds >= baseline + ORGS,
        "each loaded org holds its log open: {baseline} -> {loaded_fds}"
    );
    until_all_unloaded(&store).await;
    let idle_fds = open_fds();
    assert!(
        idle_fds <= baseline + 8,
        "idle orgs hold no open files: baseline {baseline}, now {idle_fds}"
    );
    assert_eq!(store.buffered_bytes(), 0);

    // Queries of unloaded orgs read their Parquet files; ingest works again.
    for &org in &orgs {
        assert_eq!(count(&store, org).await, 1, "org {org}");
        store.ingest(org, &logs([now_ns()]), None).await.unwrap();
        assert_eq!(count(&store, org).await, 2, "org {org}");
    }
    until_all_unloaded(&store).await;
    assert!(open_fds() <= baseline + 8);

    // A restart loads orgs one at a time and leaves them unloaded.
    drop(store);
    let store = TelemetryStore::open(config(dir.path(), idle))
        .await
        .unwrap();
    assert_eq!(store.loaded_org_count(), 0);
    assert!(open_fds() <= baseline + 8);
    assert_eq!(count(&store, orgs[0]).await, 2);
    assert_eq!(count(&store, orgs[ORGS - 1]).await, 2);
}

#[tokio::test]
async fn a_flushed_org_stays_loaded_until_idle_for_the_configured_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path(), Duration::from_secs(3600)))
        .await
        .unwrap();
    let org = Uuid::now_v7();
    store.ingest(org, &logs([now_ns()]), None).await.unwrap();
    store.flush(true).await.unwrap();
    store.flush(false).await.unwrap();
    assert_eq!(store.loaded_org_count(), 1);
}

#[tokio::test]
async fn an_org_in_use_or_with_unflushed_rows_stays_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path(), Duration::ZERO))
        .await
        .unwrap();
    let org = Uuid::now_v7();
    store.ingest(org, &logs([now_ns()]), None).await.unwrap();
    // Holding a table provider keeps no files, but an unflushed buffer keeps the org.
    assert_eq!(count(&store, org).await, 1);
    assert_eq!(store.loaded_org_count(), 1);
    store.flush(true).await.unwrap();
    assert_eq!(store.loaded_org_count(), 0, "flushed and idle: unloaded");
    assert_eq!(count(&store, org).await, 1);
    // Rows written after a reload are replayed after a restart and not lost by unloading.
    store.ingest(org, &logs([now_ns()]), None).await.unwrap();
    drop(store);
    let store = TelemetryStore::open(config(dir.path(), Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(store.loaded_org_count(), 0, "replayed rows were flushed");
    assert_eq!(count(&store, org).await, 2);
}

#[tokio::test]
async fn retention_of_an_unloaded_org_does_not_load_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path(), Duration::ZERO))
        .await
        .unwrap();
    let org = Uuid::now_v7();
    store.set_retention(org, 60);
    let day = 86_400_000_000_000u64;
    let now = now_ns();
    store
        .ingest(org, &logs([now - 40 * day, now - 35 * day, now]), None)
        .await
        .unwrap();
    store.flush(true).await.unwrap();
    assert_eq!(store.loaded_org_count(), 0);
    let wal_files = || std::fs::read_dir(store.wal_dir(org)).unwrap().count();
    let before = wal_files();
    assert_eq!(store.enforce_retention(org, 30).await.unwrap(), 2);
    assert_eq!(
        store.loaded_org_count(),
        0,
        "retention did not load the org"
    );
    assert_eq!(wal_files(), before, "no log segment was opened");
    // An org never seen has nothing to drop and is not loaded either.
    assert_eq!(
        store.enforce_retention(Uuid::now_v7(), 30).await.unwrap(),
        0
    );
    assert_eq!(store.loaded_org_count(), 0);
    store.delete_replaced_files(true).await.unwrap();
    assert_eq!(count(&store, org).await, 1);
    // The loaded org's manifest is the one retention wrote: a further flush keeps it.
    store.ingest(org, &logs([now_ns()]), None).await.unwrap();
    store.flush(true).await.unwrap();
    assert_eq!(count(&store, org).await, 2);
}

#[tokio::test]
async fn past_the_loaded_org_cap_the_least_recently_used_are_unloaded_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), Duration::from_secs(3600));
    config.max_loaded_orgs = 5;
    let store = TelemetryStore::open(config).await.unwrap();
    let orgs: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    for &org in &orgs {
        store.ingest(org, &logs([now_ns()]), None).await.unwrap();
    }
    assert_eq!(store.loaded_org_count(), 20);
    store.flush(false).await.unwrap();
    assert_eq!(store.loaded_org_count(), 5);
    // The most recently used stayed; their rows are still buffered, not lost.
    for &org in &orgs {
        assert_eq!(count(&store, org).await, 1, "org {org}");
    }
}

#[tokio::test]
async fn files_replaced_before_an_unload_wait_out_their_grace_period_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(config(dir.path(), Duration::ZERO))
        .await
        .unwrap();
    let org = Uuid::now_v7();
    store.set_retention(org, 60);
    let day = 86_400_000_000_000u64;
    let now = now_ns();
    store
        .ingest(org, &logs([now - 40 * day, now]), None)
        .await
        .unwrap();
    store.flush(true).await.unwrap();
    let parquet = || {
        let mut found = 0;
        let mut stack = vec![store.local_org_dir(org).unwrap()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "parquet") {
                    found += 1;
                }
            }
        }
        found
    };
    assert_eq!(parquet(), 2);
    assert_eq!(store.enforce_retention(org, 30).await.unwrap(), 1);
    // Loading the org again does not treat the replaced file as an orphan.
    assert_eq!(count(&store, org).await, 1);
    assert_eq!(parquet(), 2, "the replaced file waits for its grace period");
    store.delete_replaced_files(true).await.unwrap();
    assert_eq!(parquet(), 1);
}
