//! Snapshot tests over `tests/resolve/*.oql`: each query resolved against a fixed catalog at a
//! fixed time, with fixed parameters (`common::example_params`) and the request range its
//! leading comment gives — the resolved query, or the error as a user sees it.

mod common;

use chrono::{TimeZone, Utc};
use common::{example_context, example_params, render};
use hexcovery_oql::catalog::{Catalog, ColumnDef, MetricColumn, TableDef, TableKind, ValueType};
use hexcovery_oql::{parse, resolve};

struct TestCatalog;

fn table(name: &str, kind: TableKind, extra: &[(&str, ValueType)]) -> TableDef {
    use ValueType::*;
    let mut columns: Vec<ColumnDef> = [
        ("timestamp", Timestamp),
        ("service", String),
        ("host", String),
    ]
    .iter()
    .chain(extra)
    .chain(&[
        ("attributes", Map),
        ("resource", Map),
        ("scope_name", String),
    ])
    .map(|(n, t)| ColumnDef {
        name: n.to_string(),
        ty: *t,
    })
    .collect();
    columns.dedup_by(|a, b| a.name == b.name);
    TableDef {
        name: name.into(),
        kind,
        columns,
    }
}

impl Catalog for TestCatalog {
    fn tables(&self) -> Vec<TableDef> {
        use ValueType::*;
        vec![
            table(
                "logs",
                TableKind::Logs,
                &[
                    ("level", String),
                    ("severity_number", Integer),
                    ("body", String),
                    ("trace_id", String),
                ],
            ),
            table(
                "spans",
                TableKind::Spans,
                &[
                    ("name", String),
                    ("kind", String),
                    ("status", String),
                    ("duration_ms", Float),
                    ("trace_id", String),
                ],
            ),
            table(
                "metrics",
                TableKind::Metrics,
                &[("name", String), ("value", Float), ("count", Integer)],
            ),
            table(
                "host",
                TableKind::MetricNamespace {
                    namespace: "host".into(),
                    metrics: ["cpu_usage_pct", "mem_used_pct"]
                        .map(|c| MetricColumn {
                            column: c.into(),
                            metric: format!("host.{c}"),
                        })
                        .to_vec(),
                },
                &[("cpu_usage_pct", Float), ("mem_used_pct", Float)],
            ),
        ]
    }
}

#[test]
fn resolved_queries() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let params = example_params();
    insta::glob!("resolve/*.oql", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.trim_end();
        let statement = parse(text).expect("resolve examples parse");
        let context = example_context(text, now, &params);
        match resolve(text, &statement, &TestCatalog, &context) {
            Ok(resolved) => insta::assert_debug_snapshot!(resolved),
            Err(error) => insta::assert_snapshot!(render(text, &error)),
        }
    });
}
