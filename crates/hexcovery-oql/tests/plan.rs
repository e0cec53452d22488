//! Snapshot tests over `tests/plan/*.oql`: each query compiled through every stage against the
//! real table schemas (and a `host` metric namespace) at a fixed time, with the parameters and
//! request ranges of `common::example_context` — the DataFusion logical plan, or the error as
//! a user sees it.

mod common;

use chrono::{TimeZone, Utc};
use common::{catalog, example_context, example_params, plan_over_empty_tables, render};
use hexcovery_oql::resolve::Resolved;
use hexcovery_oql::{OqlError, PlanError, parse, resolve};

fn compile(text: &str) -> Result<String, OqlError> {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let statement = parse(text)?;
    let params = example_params();
    let context = example_context(text, now, &params);
    let Resolved::Select(query) = resolve(text, &statement, &catalog(), &context)? else {
        return Ok("not a SELECT".into());
    };
    match plan_over_empty_tables(&query) {
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
