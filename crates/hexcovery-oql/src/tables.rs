//! An org's catalog: the three stored tables described from their Arrow schemas, plus one
//! table per metric namespace, derived from the metric names the org has sent.

use crate::catalog::{ColumnDef, MetricColumn, TableDef, TableKind, ValueType};
use datafusion::arrow::datatypes::{DataType, Schema};
use std::collections::BTreeMap;

/// Table names a metric namespace cannot take.
const STORED: [&str; 4] = ["logs", "spans", "traces", "metrics"];

/// The OQL type of an Arrow column type.
pub fn value_type(data_type: &DataType) -> ValueType {
    match data_type {
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => ValueType::Timestamp,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ValueType::String,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ValueType::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            ValueType::Float
        }
        DataType::Boolean => ValueType::Boolean,
        DataType::Map(..) => ValueType::Map,
        DataType::Dictionary(_, value) => value_type(value),
        DataType::Null => ValueType::Null,
        _ => ValueType::List,
    }
}

fn from_schema(name: &str, kind: TableKind, schema: &Schema) -> TableDef {
    TableDef {
        name: name.into(),
        kind,
        columns: schema
            .fields()
            .iter()
            .map(|f| ColumnDef {
                name: f.name().clone(),
                ty: value_type(f.data_type()),
            })
            .collect(),
    }
}

/// The org's tables: `logs`, `spans`, `metrics` with the given schemas, then the metric
/// namespaces found in `metric_names`, by name.
pub fn org_tables<'a>(
    logs: &Schema,
    spans: &Schema,
    metrics: &Schema,
    metric_names: impl IntoIterator<Item = &'a str>,
) -> Vec<TableDef> {
    let mut tables = vec![
        from_schema("logs", TableKind::Logs, logs),
        from_schema("spans", TableKind::Spans, spans),
        from_schema("metrics", TableKind::Metrics, metrics),
    ];
    tables.extend(metric_namespaces(metric_names));
    tables
}

/// `host.cpu_usage_pct` → table `host`, column `cpu_usage_pct`; dots after the namespace
/// become `_` (`system.cpu.time` → `cpu_time` of `system`). A metric whose column would
/// clash with a series column (`timestamp`, `service`, `host`, `attributes`, `resource`) or
/// with an earlier metric's column, or whose namespace is a stored table's name, is left to
/// the `metrics` table.
pub fn metric_namespaces<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<TableDef> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    let mut namespaces: BTreeMap<&str, Vec<MetricColumn>> = BTreeMap::new();
    for metric in names {
        let Some((namespace, rest)) = metric.split_once('.') else {
            continue;
        };
        if namespace.is_empty() || rest.is_empty() || STORED.contains(&namespace) {
            continue;
        }
        let column = rest.replace('.', "_");
        let columns = namespaces.entry(namespace).or_default();
        if crate::plan::SERIES_KEY.contains(&column.as_str())
            || columns.iter().any(|c| c.column == column)
        {
            continue;
        }
        columns.push(MetricColumn {
            column,
            metric: metric.to_string(),
        });
    }
    namespaces
        .into_iter()
        // A namespace all of whose metrics clashed has no columns of its own.
        .filter(|(_, metrics)| !metrics.is_empty())
        .map(|(namespace, metrics)| {
            let key = |name: &str, ty| ColumnDef {
                name: name.into(),
                ty,
            };
            let mut columns = vec![
                key("timestamp", ValueType::Timestamp),
                key("service", ValueType::String),
                key("host", ValueType::String),
            ];
            columns.extend(metrics.iter().map(|m| key(&m.column, ValueType::Float)));
            columns.push(key("attributes", ValueType::Map));
            columns.push(key("resource", ValueType::Map));
            TableDef {
                name: namespace.to_string(),
                kind: TableKind::MetricNamespace {
                    namespace: namespace.to_string(),
                    metrics,
                },
                columns,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_come_from_the_first_dot() {
        let tables = metric_namespaces([
            "host.cpu_usage_pct",
            "host.mem.used_pct",
            "host.host",
            "only.host",
            "http.server.duration",
            "uptime",
            "logs.count",
            "host.cpu_usage_pct",
        ]);
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["host", "http"]);
        let TableKind::MetricNamespace { metrics, .. } = &tables[0].kind else {
            panic!("not a namespace");
        };
        let columns: Vec<(&str, &str)> = metrics
            .iter()
            .map(|m| (m.column.as_str(), m.metric.as_str()))
            .collect();
        assert_eq!(
            columns,
            [
                ("cpu_usage_pct", "host.cpu_usage_pct"),
                ("mem_used_pct", "host.mem.used_pct")
            ]
        );
        assert!(tables[0].column("mem_used_pct").is_some());
        assert!(tables[1].column("server_duration").is_some());
    }

    #[test]
    fn clashing_columns_keep_the_first_metric() {
        let tables = metric_namespaces(["app.a_b", "app.a.b"]);
        let TableKind::MetricNamespace { metrics, .. } = &tables[0].kind else {
            panic!("not a namespace");
        };
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].metric, "app.a.b");
    }
}
