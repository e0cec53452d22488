//! Alert preview benchmark: loads one org of a temporary store with BENCH_PREVIEW_ROWS log
//! records (default 1 million) spread evenly over the last 24 hours (10 services, 20 hosts,
//! 70 % info / 15 % warn / 10 % error / 5 % debug), writes them to Parquet (and compacts) as
//! the server's maintenance would, and times a 1 440-tick preview (interval 1m, window 5m) of a few rule
//! queries both ways — one query per tick (2 at a time, as before) and the bucketed fast path
//! (one query over the range) — checking that both give the same ticks and notifications.
//!
//! `cargo bench -p hexcovery-alerting --bench preview`

use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_alerting::{
    EngineQueries, MAX_BUCKETED_ROWS, Method, PreviewRequest, RunQuery, preview_bucket,
    preview_with,
};
use hexcovery_monitor::alert::AlertRule;
use hexcovery_query::{QueryEngine, QueryLimits};
use hexcovery_store::{ExportRequest, Signal, StoreConfig, TelemetryStore};
use serde_json::{Value, json};
use std::time::Instant;
use uuid::Uuid;

const BATCH: usize = 20_000;

fn level(i: usize) -> (&'static str, i64) {
    match i % 20 {
        0..=13 => ("INFO", 9),
        14..=16 => ("WARN", 13),
        17 | 18 => ("ERROR", 17),
        _ => ("DEBUG", 5),
    }
}

/// Records `start..end` of `total`, evenly over `[from, from + 24h)`, grouped by resource.
fn batch(start: usize, end: usize, total: usize, from: DateTime<Utc>) -> ExportRequest {
    let span_ns = 86_400_000_000_000i64;
    let base = from.timestamp_nanos_opt().unwrap();
    let mut by_resource: Vec<Vec<Value>> = vec![Vec::new(); 200];
    for i in start..end {
        let (text, number) = level(i * 7 + i / 13);
        let at = base + (i as i128 * span_ns as i128 / total as i128) as i64;
        by_resource[i % 200].push(json!({
            "timeUnixNano": at.to_string(),
            "severityNumber": number,
            "severityText": text,
            "body": {"stringValue": format!("request {i} handled")},
        }));
    }
    let resource_logs: Vec<Value> = by_resource
        .into_iter()
        .enumerate()
        .filter(|(_, records)| !records.is_empty())
        .map(|(r, records)| {
            json!({
                "resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": format!("svc-{}", r % 10)}},
                    {"key": "host.name", "value": {"stringValue": format!("host-{}", r % 20)}},
                ]},
                "scopeLogs": [{"logRecords": records}],
            })
        })
        .collect();
    let body = json!({ "resourceLogs": resource_logs }).to_string();
    ExportRequest::decode_json(Signal::Logs, body.as_bytes()).unwrap()
}

fn main() {
    let rows: usize = std::env::var("BENCH_PREVIEW_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(rows));
}

async fn run(rows: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(StoreConfig::new(dir.path()))
        .await
        .unwrap();
    let org = Uuid::now_v7();
    let minute = 60;
    let now = Utc::now().timestamp();
    let now = DateTime::from_timestamp(now - now % minute, 0).unwrap();
    let from = now - TimeDelta::hours(24);
    let loading = Instant::now();
    for start in (0..rows).step_by(BATCH) {
        let request = batch(start, (start + BATCH).min(rows), rows, from);
        store.ingest(org, &request, None).await.unwrap();
        // As the server's flusher does: a buffer of 64 MiB goes to Parquet.
        store.flush(false).await.unwrap();
    }
    store.flush(true).await.unwrap();
    store.compact().await.unwrap();
    println!(
        "loaded {rows} log records over 24 h in {:.1} s (flushed to Parquet, compacted)",
        loading.elapsed().as_secs_f64()
    );
    let queries = EngineQueries {
        engine: QueryEngine::new(QueryLimits::default()).unwrap(),
        store,
        priority: hexcovery_query::Priority::Background,
    };
    let rule: AlertRule = serde_json::from_value(json!({
        "window": "5m", "interval": "1m",
        "condition": {"op": ">", "threshold": 60},
    }))
    .unwrap();
    let cases = [
        "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service",
        "SELECT count(*) AS value FROM logs",
        "SELECT host, max(severity_number) AS value FROM logs GROUP BY host",
    ];
    println!();
    println!(
        "| rule query (1 440 ticks, interval 1m, window 5m) | per tick | bucketed | of which the query | speed-up |"
    );
    println!("|---|---|---|---|---|");
    for query in cases {
        let request = PreviewRequest {
            org,
            rule_id: None,
            rule_name: "bench",
            query,
            rule: &rule,
            from: now - TimeDelta::minutes(1_439),
            to: now,
            external_url: "http://localhost",
            silences: &[],
        };
        let started = Instant::now();
        let slow = preview_with(&queries, &request, Some(Method::PerTick))
            .await
            .unwrap();
        let per_tick = started.elapsed();
        // The fast path: best of three (it is short enough for noise to matter).
        let mut bucketed = std::time::Duration::MAX;
        let mut fast = Value::Null;
        for _ in 0..3 {
            let started = Instant::now();
            fast = preview_with(&queries, &request, None).await.unwrap();
            bucketed = bucketed.min(started.elapsed());
        }
        // The bucketed query alone, as the fast path runs it.
        let (window, interval) = (rule.window.delta(), rule.interval.delta());
        let bucket = preview_bucket(interval, window).unwrap();
        let started = Instant::now();
        let answer = queries
            .run_bucketed(
                org,
                query,
                request.from - window,
                request.to,
                bucket,
                MAX_BUCKETED_ROWS,
            )
            .await
            .unwrap()
            .unwrap();
        let query_alone = started.elapsed();
        assert!(!answer.truncated);
        assert_eq!(slow["method"], "per_tick");
        assert_eq!(fast["method"], "bucketed", "{query}");
        assert_eq!(slow["ticks"].as_array().unwrap().len(), 1_440);
        assert_eq!(fast["ticks"], slow["ticks"], "{query}");
        assert_eq!(fast["notifications"], slow["notifications"], "{query}");
        println!(
            "| `{query}` | {:.2} s | {:.0} ms | {:.0} ms ({} rows) | {:.0}× |",
            per_tick.as_secs_f64(),
            bucketed.as_secs_f64() * 1_000.0,
            query_alone.as_secs_f64() * 1_000.0,
            answer.result.rows.len(),
            per_tick.as_secs_f64() / bucketed.as_secs_f64()
        );
    }
}
