//! Runs compiled OQL on DataFusion over rows made by the real OTLP conversion, and checks the
//! exact answers: the product examples, the metric-namespace pivot, map access, grouping,
//! ordering and limits.

use chrono::{DateTime, TimeZone, Utc};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::prelude::SessionContext;
use hexcovery_oql::plan::scanned_table;
use hexcovery_oql::resolve::Resolved;
use hexcovery_oql::tables::org_tables;
use hexcovery_oql::{Context, ParamValue, Params, parse, plan, resolve};
use hexcovery_store::schema::{LOGS, METRICS, SPANS};
use hexcovery_store::{ExportRequest, Signal};
use serde_json::{Value, json};
use std::sync::Arc;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// Nanoseconds since the epoch, `minutes_ago` before [`now`], as OTLP/JSON writes them.
fn at(minutes_ago: i64) -> String {
    (now() - chrono::TimeDelta::minutes(minutes_ago))
        .timestamp_nanos_opt()
        .unwrap()
        .to_string()
}

fn resource(service: &str, host: &str) -> Value {
    json!({"attributes": [
        {"key": "service.name", "value": {"stringValue": service}},
        {"key": "host.name", "value": {"stringValue": host}},
    ]})
}

fn gauge(name: &str, points: &[(i64, f64)]) -> Value {
    let points: Vec<Value> = points
        .iter()
        .map(|(ago, v)| json!({"timeUnixNano": at(*ago), "asDouble": v}))
        .collect();
    json!({"name": name, "gauge": {"dataPoints": points}})
}

fn metrics() -> Value {
    json!({"resourceMetrics": [
        {"resource": resource("agent", "web-1"), "scopeMetrics": [{"metrics": [
            gauge("host.cpu_usage_pct", &[(1, 10.0), (2, 20.0), (90, 99.0)]),
            gauge("host.mem_used_pct", &[(1, 50.0), (2, 55.0)]),
        ]}]},
        {"resource": resource("agent", "web-2"), "scopeMetrics": [{"metrics": [
            gauge("host.cpu_usage_pct", &[(1, 30.0)]),
            gauge("host.mem_used_pct", &[(3, 95.0)]),
        ]}]},
    ]})
}

fn log(ago: i64, severity: &str, body: &str, status: &str) -> Value {
    json!({"timeUnixNano": at(ago), "severityText": severity, "body": {"stringValue": body},
        "attributes": [{"key": "http.status_code", "value": {"stringValue": status}}]})
}

fn logs() -> Value {
    json!({"resourceLogs": [
        {"resource": resource("api", "web-1"), "scopeLogs": [{"logRecords": [
            log(1, "ERROR", "timeout talking to db", "503"),
            log(2, "ERROR", "bad gateway", "502"),
            log(3, "INFO", "ok", "200"),
            log(120, "ERROR", "old", "500"),
        ]}]},
        {"resource": resource("worker", "web-2"), "scopeLogs": [{"logRecords": [
            log(5, "WARN", "slow", "200"),
            log(6, "ERROR", "crash", "not a number"),
        ]}]},
    ]})
}

fn batch(signal: Signal, body: Value) -> RecordBatch {
    let request = ExportRequest::decode_json(signal, body.to_string().as_bytes()).unwrap();
    request.convert(0).unwrap().batch.expect("rows")
}

/// The query's answer, one line per row, cells separated by ` | `.
async fn run(text: &str) -> Vec<String> {
    run_in(text, &Context::at(now())).await
}

/// [`run`] with a request range and parameters.
async fn run_in(text: &str, context: &Context<'_>) -> Vec<String> {
    let metric_names = ["host.cpu_usage_pct", "host.mem_used_pct"];
    let catalog = org_tables(&LOGS, &SPANS, &METRICS, metric_names);
    let statement = parse(text).unwrap();
    let Resolved::Select(query) = resolve(text, &statement, &catalog, context).unwrap() else {
        panic!("not a SELECT");
    };
    let (schema, rows) = match scanned_table(&query.table.kind) {
        "logs" => (LOGS.clone(), batch(Signal::Logs, logs())),
        "metrics" => (METRICS.clone(), batch(Signal::Metrics, metrics())),
        other => panic!("no rows for {other}"),
    };
    let table = MemTable::try_new(schema, vec![vec![rows]]).unwrap();
    let plan = plan(&query, provider_as_source(Arc::new(table))).unwrap();
    let ctx = SessionContext::new();
    let batches = ctx
        .execute_logical_plan(plan)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let options = FormatOptions::default().with_null("NULL");
    let mut lines = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            lines.push(cells.join(" | "));
        }
    }
    lines
}

#[tokio::test]
async fn product_examples_answer_exactly() {
    // 10, 20 and 30 are in the last hour; the 99 from 90 minutes ago is not.
    assert_eq!(
        run("SELECT avg(cpu_usage_pct) FROM host LAST 1h").await,
        ["20.0"]
    );
    assert_eq!(
        run("SELECT count(*) FROM logs WHERE level = 'error' LAST 1h").await,
        ["3"]
    );
}

#[tokio::test]
async fn namespace_rows_pivot_points_of_one_series_and_time() {
    assert_eq!(
        run("SELECT host, cpu_usage_pct, mem_used_pct FROM host ORDER BY host, timestamp DESC")
            .await,
        [
            "web-1 | 10.0 | 50.0",
            "web-1 | 20.0 | 55.0",
            "web-2 | 30.0 | NULL",
            "web-2 | NULL | 95.0",
        ]
    );
    assert_eq!(
        run("SELECT host, avg(cpu_usage_pct) AS cpu, count(*) FROM host GROUP BY host ORDER BY cpu DESC LIMIT 1")
            .await,
        ["web-2 | 30.0 | 2"]
    );
    assert_eq!(
        run("SELECT host FROM host WHERE mem_used_pct > 90").await,
        ["web-2"]
    );
}

#[tokio::test]
async fn grouping_map_values_and_time_ranges() {
    assert_eq!(
        run("SELECT level, count(*) AS n FROM logs GROUP BY level ORDER BY n DESC, level LAST 24h")
            .await,
        ["error | 4", "info | 1", "warn | 1"]
    );
    // The unparseable status is not >= 500; it is not an error either.
    assert_eq!(
        run("SELECT service, count(*) FROM logs WHERE attributes['http.status_code'] >= 500 GROUP BY service")
            .await,
        ["api | 2"]
    );
    assert_eq!(
        run("SELECT body FROM logs WHERE contains(body, 'time') OR body LIKE 'b%' ORDER BY timestamp").await,
        ["bad gateway", "timeout talking to db"]
    );
    assert_eq!(
        run("SELECT bucket(5m) AS t, count(*) FROM logs GROUP BY t ORDER BY t").await,
        ["2026-11-22T11:55:00Z | 4", "2026-11-22T11:50:00Z | 1"]
            .iter()
            .rev()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        run("SELECT count(*), 7 / 2, count_distinct(service) FROM logs SINCE now() - 4m").await,
        ["3 | 3.5 | 1"]
    );
    // The smallest integer is one literal, though its magnitude alone is not an i64.
    let all = run("SELECT count(*) FROM logs").await;
    assert_eq!(
        run("SELECT -9223372036854775808, - -5, count(*) FROM logs WHERE -9223372036854775808 < 0")
            .await,
        [format!("-9223372036854775808 | 5 | {}", all[0])]
    );
}

#[tokio::test]
async fn distinct_rows() {
    assert_eq!(
        run("SELECT DISTINCT service FROM logs ORDER BY service LAST 24h").await,
        ["api", "worker"]
    );
    assert_eq!(
        run("SELECT DISTINCT level, service FROM logs ORDER BY 1, service DESC LAST 24h").await,
        [
            "error | worker",
            "error | api",
            "info | api",
            "warn | worker"
        ]
    );
    // Over a grouped answer: the counts per level are 4, 1 and 1.
    assert_eq!(
        run("SELECT DISTINCT count(*) AS n FROM logs GROUP BY level ORDER BY n DESC LAST 24h")
            .await,
        ["4", "1"]
    );
    assert_eq!(
        run("SELECT DISTINCT host FROM host WHERE cpu_usage_pct > 0 ORDER BY host LIMIT 1").await,
        ["web-1"]
    );
}

#[tokio::test]
async fn star_is_every_column_in_describe_order() {
    let metric_names = ["host.cpu_usage_pct", "host.mem_used_pct"];
    let catalog = org_tables(&LOGS, &SPANS, &METRICS, metric_names);
    let logs_columns = catalog[0].columns.len();
    let row = run("SELECT * FROM logs WHERE body = 'ok'").await;
    assert_eq!(row.len(), 1);
    assert_eq!(row[0].split(" | ").count(), logs_columns, "{row:?}");
    assert!(row[0].contains("| api | web-1 |"), "{row:?}");
    // A namespace's row: timestamp, service, host, its metrics, attributes, resource.
    let rows = run("SELECT * FROM host WHERE mem_used_pct > 90").await;
    let cells: Vec<&str> = rows[0].split(" | ").collect();
    assert_eq!(
        cells[..5],
        ["2026-11-22T11:57:00Z", "agent", "web-2", "NULL", "95.0"]
    );
    assert_eq!(cells.len(), 7);
    // `*` next to other items.
    assert_eq!(
        run("SELECT body, * FROM logs WHERE body = 'ok'").await[0],
        format!("ok | {}", row[0])
    );
}

#[tokio::test]
async fn parameters_are_values() {
    let params = Params::new(
        [
            (
                "services",
                ParamValue::List(vec![
                    ParamValue::String("api".into()),
                    ParamValue::String("nope".into()),
                ]),
            ),
            ("level", ParamValue::String("error".into())),
            ("body", ParamValue::String("'; DROP TABLE logs; --".into())),
            ("neg", ParamValue::Integer(-3)),
            ("none", ParamValue::List(Vec::new())),
            ("status", ParamValue::Integer(500)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    let context = Context::at(now()).with_params(&params);
    let count = |text: &'static str| async move { run_in(text, &context).await };
    assert_eq!(
        count("SELECT count(*) FROM logs WHERE service IN ($services) AND level = $level LAST 24h")
            .await,
        ["3"]
    );
    // A string that would be SQL if spliced is only a value that no body equals.
    assert_eq!(
        count("SELECT count(*), $body FROM logs WHERE body = $body OR body != $body").await,
        ["5 | '; DROP TABLE logs; --"]
    );
    assert_eq!(
        count("SELECT count(*) FROM logs WHERE severity_number > $neg").await,
        ["5"]
    );
    assert_eq!(
        count("SELECT count(*) FROM logs WHERE service IN ($none)").await,
        ["0"]
    );
    assert_eq!(
        count("SELECT count(*) FROM logs WHERE service NOT IN ($none)").await,
        ["5"]
    );
    assert_eq!(
        count("SELECT count(*) FROM logs WHERE attributes['http.status_code'] >= $status").await,
        ["2"]
    );
}

#[tokio::test]
async fn request_ranges_and_the_automatic_bucket() {
    let six_hours = Context::at(now()).with_range(now() - chrono::TimeDelta::hours(6), now());
    // Over six hours bucket() is 5m (1m would make 360 buckets).
    assert_eq!(
        run_in(
            "SELECT bucket() AS t, count(*) FROM logs GROUP BY t ORDER BY t",
            &six_hours
        )
        .await,
        [
            "2026-11-22T10:00:00Z | 1",
            "2026-11-22T11:50:00Z | 1",
            "2026-11-22T11:55:00Z | 4"
        ]
    );
    // A range in the text wins over the request's.
    let recent = Context::at(now()).with_range(now() - chrono::TimeDelta::seconds(150), now());
    assert_eq!(run_in("SELECT count(*) FROM logs", &recent).await, ["2"]);
    assert_eq!(
        run_in("SELECT count(*) FROM logs LAST 24h", &recent).await,
        ["6"]
    );
    // Over the default hour bucket() is 15s: the three api records fall in three buckets.
    assert_eq!(
        run("SELECT bucket() AS t, count(*) FROM logs WHERE service = 'api' GROUP BY t ORDER BY t")
            .await,
        [
            "2026-11-22T11:57:00Z | 1",
            "2026-11-22T11:58:00Z | 1",
            "2026-11-22T11:59:00Z | 1"
        ]
    );
}
