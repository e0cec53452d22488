//! Shared by the OQL test binaries: the real tables as a catalog, errors rendered as users
//! see them, and planning over empty tables of the stored schemas.

#![allow(dead_code)] // each test binary uses part of this

use chrono::{DateTime, Utc};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::LogicalPlan;
use hexcovery_oql::catalog::TableDef;
use hexcovery_oql::plan::scanned_table;
use hexcovery_oql::resolve::Query;
use hexcovery_oql::tables::org_tables;
use hexcovery_oql::{Context, OqlError, ParamValue, Params, PlanError, plan};
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

/// The parameters every example is resolved with: `$service` = 'api', `$services` =
/// ['api', 'web'], `$n` = 5, `$neg` = -3, `$ratio` = 0.5, `$flag` = true, `$nothing` = NULL,
/// `$injection` = a string that would be SQL if spliced, `$empty` = []; `$later` is declared
/// (bound at run time, NULL now).
pub fn example_params() -> Params {
    let mut params = Params::new(
        [
            ("service", ParamValue::String("api".into())),
            (
                "services",
                ParamValue::List(vec![
                    ParamValue::String("api".into()),
                    ParamValue::String("web".into()),
                ]),
            ),
            ("n", ParamValue::Integer(5)),
            ("neg", ParamValue::Integer(-3)),
            ("ratio", ParamValue::Float(0.5)),
            ("flag", ParamValue::Boolean(true)),
            ("nothing", ParamValue::Null),
            (
                "injection",
                ParamValue::String("'); DROP TABLE logs; --".into()),
            ),
            ("empty", ParamValue::List(Vec::new())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    params.declared.insert("later".into());
    params
}

/// The context an example is resolved in at `now`, read from its leading comments:
/// `-- range: <from> <to>` (request bounds, e.g. `now-6h now`) and `-- no time range` (a
/// panel or alert query). Every example gets [`example_params`].
pub fn example_context<'a>(text: &str, now: DateTime<Utc>, params: &'a Params) -> Context<'a> {
    let mut context = Context::at(now).with_params(params);
    for line in text.lines().take_while(|l| l.starts_with("--")) {
        let line = line.trim_start_matches('-').trim();
        if let Some(bounds) = line.strip_prefix("range:") {
            let bounds: Vec<&str> = bounds.split_whitespace().collect();
            let at = |b: &str| hexcovery_oql::range::parse_bound_str("range", b, now).unwrap();
            context = context.with_range(at(bounds[0]), at(bounds[1]));
        } else if line == "no time range" {
            context = context.without_time_range();
        }
    }
    context
}
