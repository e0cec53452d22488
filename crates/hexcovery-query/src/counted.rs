//! Answers counts and `DISTINCT` over the counted columns (logs: `service`, `level`;
//! spans: `service`, `kind`, `status`) from the row counts each Parquet file keeps in its
//! manifest entry, for the files wholly inside the query's range; the other files and the
//! rows in memory are scanned as before and the two parts summed. A rewrite of the logical
//! plan `hexcovery_oql::plan` builds, for exactly these shapes (anything else is left as
//! it is):
//!
//! - `Aggregate(group by counted columns; count(<literal>)…)` over
//!   `Filter*(time bounds, predicates on counted columns)` over the table scan, which
//!   becomes `sum` over the union of that aggregate on the rest and the counts;
//! - `Distinct(Projection(counted columns))` over the same filters, where the projection
//!   reads the union of the rest and the counts' groups.
//!
//! Both parts evaluate the query's own predicates on the same values, so the answer is the
//! one the rows give (tests compare them on generated data).

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::functions_aggregate::expr_fn::sum;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{
    Aggregate, Distinct, Expr, Filter, LogicalPlan, LogicalPlanBuilder, Projection, TableScan, lit,
};
use hexcovery_store::counts::ROWS;
use hexcovery_store::query::{Counted, OrgTable, is_time_bound, timestamp_bounds};
use std::sync::Arc;

/// Files and rows a query's answer took from counts instead of rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CountedUse {
    pub files: u64,
    pub rows: u64,
}

/// Rewrites the parts of `plan` (over `table`) that counts can answer.
pub fn rewrite(plan: LogicalPlan, table: &OrgTable) -> Result<(LogicalPlan, CountedUse)> {
    let mut used = CountedUse::default();
    let plan = plan
        .transform_up(|node| {
            let rewritten = match &node {
                LogicalPlan::Aggregate(aggregate) => aggregate_from_counts(aggregate, table)?,
                LogicalPlan::Distinct(Distinct::All(input)) => distinct_from_counts(input, table)?,
                _ => None,
            };
            match rewritten {
                Some((new, counted)) => {
                    used.files += counted.files;
                    used.rows += counted.rows;
                    Ok(Transformed::yes(new))
                }
                // Parents of a rewritten node take their schema from it again.
                None => Ok(Transformed::no(node.recompute_schema()?)),
            }
        })?
        .data;
    Ok((plan, used))
}

/// The scan under a chain of filters, and those filters' predicates (innermost first).
fn filtered_scan(plan: &LogicalPlan) -> Option<(&TableScan, Vec<&Expr>)> {
    let mut predicates = Vec::new();
    let mut node = plan;
    loop {
        match node {
            LogicalPlan::Filter(Filter {
                predicate, input, ..
            }) => {
                predicates.push(predicate);
                node = input;
            }
            LogicalPlan::TableScan(scan) if scan.filters.is_empty() && scan.fetch.is_none() => {
                predicates.reverse();
                return Some((scan, predicates));
            }
            _ => return None,
        }
    }
}

/// Whether `expr` only reads counted columns (and is not volatile, so the counts' one
/// evaluation per group stands for every row of it).
fn on_counted(expr: &Expr, counted: &[&str]) -> bool {
    !expr.is_volatile()
        && expr
            .column_refs()
            .iter()
            .all(|c| counted.contains(&c.name.as_str()))
}

/// The split of `table` for the scan under `plan`, if every predicate is a time bound or
/// reads only counted columns; with the predicates the counts must still meet.
fn split<'a>(
    plan: &'a LogicalPlan,
    table: &OrgTable,
) -> Option<(&'a TableScan, Vec<&'a Expr>, Vec<Expr>, Counted)> {
    let (scan, predicates) = filtered_scan(plan)?;
    let counted = table.counted_columns();
    let mut bounds = Vec::new();
    let mut kept = Vec::new();
    for conjunct in predicates.iter().flat_map(|p| split_conjunction(p)) {
        if is_time_bound(conjunct) {
            bounds.push(conjunct.clone());
        } else if on_counted(conjunct, counted) {
            kept.push(conjunct.clone());
        } else {
            return None;
        }
    }
    let (from, to) = timestamp_bounds(&bounds);
    let split = table.split_counted(from, to)?;
    Some((scan, predicates, kept, split))
}

/// The rest of the table under the query's own filters.
fn rest_plan(scan: &TableScan, predicates: &[&Expr], rest: OrgTable) -> Result<LogicalPlanBuilder> {
    let mut builder = LogicalPlanBuilder::scan(
        scan.table_name.clone(),
        provider_as_source(Arc::new(rest)),
        None,
    )?;
    for predicate in predicates {
        builder = builder.filter((*predicate).clone())?;
    }
    Ok(builder)
}

/// The counts under the predicates on counted columns, as a table of the scan's name (so
/// the query's column references resolve against it).
fn counts_plan(
    scan: &TableScan,
    kept: Vec<Expr>,
    counts: RecordBatch,
) -> Result<LogicalPlanBuilder> {
    let table = MemTable::try_new(counts.schema(), vec![vec![counts]])?;
    let mut builder = LogicalPlanBuilder::scan(
        scan.table_name.clone(),
        provider_as_source(Arc::new(table)),
        None,
    )?;
    if let Some(predicate) = conjunction(kept) {
        builder = builder.filter(predicate)?;
    }
    Ok(builder)
}

/// Whether `expr` is a counted column, unaliased or aliased (OQL names group keys `g0`…).
fn counted_column(expr: &Expr, counted: &[&str]) -> bool {
    match expr {
        Expr::Alias(alias) => counted_column(&alias.expr, counted),
        Expr::Column(c) => counted.contains(&c.name.as_str()),
        _ => false,
    }
}

/// `count(<non-null literal>)` (OQL's `count(*)`), unaliased or aliased.
fn is_row_count(expr: &Expr) -> bool {
    match expr {
        Expr::Alias(alias) => is_row_count(&alias.expr),
        Expr::AggregateFunction(f) => {
            f.func.name() == "count"
                && !f.params.distinct
                && f.params.filter.is_none()
                && f.params.order_by.is_empty()
                && !f.params.args.is_empty()
                && f.params
                    .args
                    .iter()
                    .all(|a| matches!(a, Expr::Literal(v, _) if !v.is_null()))
        }
        _ => false,
    }
}

fn aggregate_from_counts(
    aggregate: &Aggregate,
    table: &OrgTable,
) -> Result<Option<(LogicalPlan, CountedUse)>> {
    let counted = table.counted_columns();
    let groups_counted = aggregate
        .group_expr
        .iter()
        .all(|g| counted_column(g, counted));
    if !groups_counted || !aggregate.aggr_expr.iter().all(is_row_count) {
        return Ok(None);
    }
    let Some((scan, predicates, kept, split)) = split(&aggregate.input, table) else {
        return Ok(None);
    };
    let (used, Counted { rest, counts, .. }) = (use_of(&split), split);
    let groups = aggregate.group_expr.len();
    let partial = |i: usize| format!("__n{i}");
    // The rest, aggregated as the query asked, its counts renamed to line up with the
    // counts' rows.
    let rest = rest_plan(scan, &predicates, rest)?
        .aggregate(aggregate.group_expr.clone(), aggregate.aggr_expr.clone())?
        .build()?;
    let rest_columns = rest.schema().columns();
    let rest = LogicalPlanBuilder::from(rest).project(
        rest_columns[..groups]
            .iter()
            .cloned()
            .map(Expr::Column)
            .chain(
                rest_columns[groups..]
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Expr::Column(c.clone()).alias(partial(i))),
            ),
    )?;
    let counts = counts_plan(scan, kept, counts)?.project(
        aggregate.group_expr.iter().cloned().chain(
            (0..aggregate.aggr_expr.len())
                .map(|i| Expr::Column(Column::from_name(ROWS)).alias(partial(i))),
        ),
    )?;
    let union = rest.union(counts.build()?)?.build()?;
    let union_columns = union.schema().columns();
    let summed = LogicalPlanBuilder::from(union)
        .aggregate(
            union_columns[..groups].iter().cloned().map(Expr::Column),
            (0..aggregate.aggr_expr.len()).map(|i| {
                // No rows at all sum to NULL; a count of none is 0.
                coalesce(vec![
                    sum(Expr::Column(Column::from_name(partial(i)))),
                    lit(ScalarValue::Int64(Some(0))),
                ])
                .alias(partial(i))
            }),
        )?
        .build()?;
    // The aggregate's own output names, so the plan above it reads the same columns.
    let summed_columns = summed.schema().columns();
    let names = aggregate
        .schema
        .iter()
        .zip(summed_columns)
        .map(|((qualifier, field), column)| {
            Expr::Column(column).alias_qualified(qualifier.cloned(), field.name())
        });
    let plan = LogicalPlanBuilder::from(summed).project(names)?.build()?;
    Ok(Some((plan, used)))
}

fn distinct_from_counts(
    input: &LogicalPlan,
    table: &OrgTable,
) -> Result<Option<(LogicalPlan, CountedUse)>> {
    let LogicalPlan::Projection(Projection {
        expr, input: below, ..
    }) = input
    else {
        return Ok(None);
    };
    let counted = table.counted_columns();
    if !expr.iter().all(|e| counted_column(e, counted)) {
        return Ok(None);
    }
    let Some((scan, predicates, kept, split)) = split(below, table) else {
        return Ok(None);
    };
    let (used, Counted { rest, counts, .. }) = (use_of(&split), split);
    let rest = rest_plan(scan, &predicates, rest)?.project(expr.clone())?;
    let counts = counts_plan(scan, kept, counts)?.project(expr.clone())?;
    let plan = rest.union(counts.build()?)?.distinct()?.build()?;
    Ok(Some((plan, used)))
}

fn use_of(split: &Counted) -> CountedUse {
    CountedUse {
        files: split.files as u64,
        rows: split.rows,
    }
}
