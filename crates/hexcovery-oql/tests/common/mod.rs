//! Shared by the OQL test binaries: the real tables as a catalog, errors rendered as users
//! see them, and planning over empty tables of the stored schemas.

#![allow(dead_code)] // each test binary uses part of this

use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::LogicalPlan;
use hexcovery_oql::catalog::TableDef;
use hexcovery_oql::plan::scanned_table;
use hexcovery_oql::resolve::Query;
use hexcovery_oql::tables::org_tables;
use hexcovery_oql::{OqlError, PlanError, plan};
use hexcovery_store::schema::{LOGS, METRICS, SPANS};
use std::sync::Arc;

/// The stored tables, a `host` metric namespace and an `http` one.
pub fn catalog() -> Vec<TableDef> {
    org_tables(
        &LOGS,
        &SPANS,
        &METRICS,
        [
            "host.cpu_usage_pct",
            "host.mem_used_pct",
            "http.server.duration",
        ],
    )
}

/// `code at line L, column C: message` and the hint on its own line.
pub fn render(text: &str, error: &OqlError) -> String {
    let at = error.span.line_col(text);
    let mut out = format!(
        "{} at line {}, column {}: {}",
        error.kind.code(),
        at.line,
        at.column,
        error.message
    );
    if let Some(hint) = &error.hint {
        out.push_str(&format!("\nhint: {hint}"));
    }
    out
}

/// Plans `query` over an empty table of the schema it scans.
pub fn plan_over_empty_tables(query: &Query) -> Result<LogicalPlan, PlanError> {
    let schema = match scanned_table(&query.table.kind) {
        "logs" => LOGS.clone(),
        "spans" => SPANS.clone(),
        _ => METRICS.clone(),
    };
    plan(query, provider_as_source(Arc::new(EmptyTable::new(schema))))
}
