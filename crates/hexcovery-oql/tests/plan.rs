//! Snapshot tests over `tests/plan/*.oql`: each query compiled through every stage against the
//! real table schemas (and a `host` metric namespace) at a fixed time — the DataFusion logical
//! plan, or the error as a user sees it.

use chrono::{TimeZone, Utc};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::provider_as_source;
use hexcovery_oql::catalog::TableDef;
use hexcovery_oql::plan::scanned_table;
use hexcovery_oql::resolve::Resolved;
use hexcovery_oql::tables::org_tables;
use hexcovery_oql::{OqlError, PlanError, parse, plan, resolve};
use hexcovery_store::schema::{LOGS, METRICS, SPANS};
use std::sync::Arc;

fn catalog() -> Vec<TableDef> {
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

fn render(text: &str, error: &OqlError) -> String {
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

fn compile(text: &str) -> Result<String, OqlError> {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let statement = parse(text)?;
    let Resolved::Select(query) = resolve(text, &statement, &catalog(), now)? else {
        return Ok("not a SELECT".into());
    };
    let schema = match scanned_table(&query.table.kind) {
        "logs" => LOGS.clone(),
        "spans" => SPANS.clone(),
        _ => METRICS.clone(),
    };
    let source = provider_as_source(Arc::new(EmptyTable::new(schema)));
    match plan(&query, source) {
        Ok(plan) => Ok(plan.display_indent().to_string()),
        Err(PlanError::Oql(error)) => Err(error),
        Err(PlanError::DataFusion(error)) => panic!("{text}: planning failed: {error}"),
    }
}

#[test]
fn planned_queries() {
    insta::glob!("plan/*.oql", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.trim_end();
        match compile(text) {
            Ok(plan) => insta::assert_snapshot!(plan),
            Err(error) => insta::assert_snapshot!(render(text, &error)),
        }
    });
}
