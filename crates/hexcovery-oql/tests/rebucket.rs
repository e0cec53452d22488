//! Snapshot tests over `tests/rebucket/*.oql`: whether each query's windows can be combined
//! from its buckets (`rebucket::bucketable`, with the reason when not), and the DataFusion
//! plan of the query with `rebucket::bucket_by` applied at the step its `-- step: <seconds>`
//! comment gives (60 by default) — or why it cannot be bucketed. Plus the bucketed plan run on
//! real rows: per-bucket counts add up to the query's answer over the whole range.

mod common;

use chrono::{TimeZone, Utc};
use common::{catalog, example_context, example_params, plan_over_empty_tables};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Int64Type, TimestampNanosecondType};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::prelude::SessionContext;
use hexcovery_oql::rebucket::{
    BUCKET_COLUMN, NotBucketable, ValueAggregate, bucket_by, bucketable, value_item,
};
use hexcovery_oql::resolve::{Query, RKind, Resolved};
use hexcovery_oql::{Context, Params, parse, plan, resolve};
use hexcovery_store::schema::LOGS;
use hexcovery_store::{ExportRequest, Signal};
use serde_json::json;
use std::sync::Arc;

fn resolved(text: &str) -> Query {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let params = example_params();
    let context = example_context(text, now, &params);
    let statement = parse(text).expect("rebucket examples parse");
    match resolve(text, &statement, &catalog(), &context).expect("rebucket examples resolve") {
        Resolved::Select(query) => *query,
        other => panic!("{text}: not a SELECT: {other:?}"),
    }
}

fn step(text: &str) -> u64 {
    text.lines()
        .take_while(|l| l.starts_with("--"))
        .find_map(|l| l.trim_start_matches('-').trim().strip_prefix("step:"))
        .map_or(60, |s| s.trim().parse().unwrap())
}

#[test]
fn bucketed_queries() {
    insta::glob!("rebucket/*.oql", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.trim_end();
        let mut query = resolved(text);
        let verdict = match bucketable(&query) {
            Ok(aggregate) => format!("bucketable: {}", aggregate.as_str()),
            Err(why) => format!("not bucketable ({}): {why}", why.code()),
        };
        let bucketed = match bucket_by(&mut query, step(text)) {
            Ok(()) => plan_over_empty_tables(&query)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .display_indent()
                .to_string(),
            Err(error) => format!("bucket_by refused: {}", error.message),
        };
        insta::assert_snapshot!(format!("{verdict}\n\n{bucketed}"));
    });
}

#[test]
fn bucket_by_adds_the_first_column_and_group_key() {
    let text = "-- range: 2026-11-22T11:00:00Z 2026-11-22T12:00:00Z\n\
                SELECT service, count(*) AS value FROM logs GROUP BY 1 ORDER BY 2 DESC";
    let before = resolved(text);
    assert_eq!(bucketable(&before), Ok(ValueAggregate::Count));
    assert_eq!(value_item(&before), Some(1));
    let mut after = before.clone();
    bucket_by(&mut after, 60).unwrap();
    assert_eq!(after.items.len(), 3);
    assert_eq!(after.items[0].name, BUCKET_COLUMN);
    assert_eq!(after.items[0].expr.kind, RKind::Bucket(60));
    assert_eq!(after.items[1..], before.items[..]);
    assert_eq!(after.group_by[0].kind, RKind::Bucket(60));
    assert_eq!(after.group_by[1..], before.group_by[..]);
    assert_eq!((after.bucket, after.bucket_item()), (Some(60), Some(0)));
    assert_eq!(after.group_key_items(), [0, 1]);
    // The ORDER BY and the range are untouched; the value is still the count.
    assert_eq!(after.order_by, before.order_by);
    assert_eq!((after.from, after.to), (before.from, before.to));
    assert_eq!(value_item(&after), Some(2));
    // Bucketed once, it is not again; nor at a step of zero.
    assert_eq!(bucketable(&after), Err(NotBucketable::Bucketed));
    assert!(bucket_by(&mut after.clone(), 60).is_err());
    assert!(bucket_by(&mut before.clone(), 0).is_err());
}

/// Nanoseconds since the epoch of 2026-11-22 11:00 plus `secs`.
fn at(secs: i64) -> String {
    let start = Utc.with_ymd_and_hms(2026, 11, 22, 11, 0, 0).unwrap();
    (start + chrono::TimeDelta::seconds(secs))
        .timestamp_nanos_opt()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn bucket_counts_add_up_to_the_whole_range() {
    // Two services; logs at 0:10, 0:50, 1:05 and 3:00 past 11:00 (minutes:seconds).
    let record = |secs: i64| json!({"timeUnixNano": at(secs), "severityText": "ERROR"});
    let resource = |service: &str| json!({"attributes": [{"key": "service.name", "value": {"stringValue": service}}]});
    let body = json!({"resourceLogs": [
        {"resource": resource("api"), "scopeLogs": [{"logRecords": [record(10), record(50), record(65)]}]},
        {"resource": resource("web"), "scopeLogs": [{"logRecords": [record(180)]}]},
    ]});
    let request = ExportRequest::decode_json(Signal::Logs, body.to_string().as_bytes()).unwrap();
    let batch = request.convert(0).unwrap().batch.unwrap();
    let table = MemTable::try_new(LOGS.clone(), vec![vec![batch]]).unwrap();
    let text = "SELECT service, count(*) AS value FROM logs GROUP BY service";
    let statement = parse(text).unwrap();
    let from = Utc.with_ymd_and_hms(2026, 11, 22, 11, 0, 0).unwrap();
    let params = Params::default();
    let context = Context::at(from)
        .with_params(&params)
        .with_range(from, from + chrono::TimeDelta::hours(1))
        .without_time_range();
    let Resolved::Select(mut query) = resolve(text, &statement, &catalog(), &context).unwrap()
    else {
        panic!()
    };
    bucket_by(&mut query, 60).unwrap();
    let plan = plan(&query, provider_as_source(Arc::new(table))).unwrap();
    let ctx = SessionContext::new();
    let batches = ctx
        .execute_logical_plan(plan)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut rows = Vec::new();
    for batch in &batches {
        let buckets = batch.column(0).as_primitive::<TimestampNanosecondType>();
        let services = batch.column(1);
        let counts = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let service = datafusion::arrow::util::display::ArrayFormatter::try_new(
                services.as_ref(),
                &Default::default(),
            )
            .unwrap()
            .value(i)
            .to_string();
            let minute = (buckets.value(i) - from.timestamp_nanos_opt().unwrap()) / 60_000_000_000;
            assert!(!counts.is_null(i));
            rows.push((minute, service, counts.value(i)));
        }
    }
    rows.sort();
    assert_eq!(
        rows,
        [
            (0, "api".to_string(), 2),
            (1, "api".to_string(), 1),
            (3, "web".to_string(), 1)
        ]
    );
}
