//! Stage 4: a resolved query → a DataFusion logical plan, built through DataFusion's API
//! (never SQL text). The only data a plan can read is the one table source the caller hands
//! in — the caller's org's table of the right signal — so no query can reach another org.
//!
//! Shape of every plan: scan → time-range filter (pushed into the scan, where it prunes files)
//! → [metric-namespace pivot] → WHERE → [aggregate → HAVING] → ORDER BY → select list → LIMIT;
//! with DISTINCT: … → select list → DISTINCT → ORDER BY (on the selected columns) → LIMIT.

use crate::ast::{BinaryOp, Literal, UnaryOp};
use crate::catalog::{MetricColumn, TableKind};
use crate::error::OqlError;
use crate::resolve::{Aggregate, Query, RExpr, RKind, Scalar};
use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, ScalarValue, TableReference};
use datafusion::functions::{core, datetime, math, string, unicode};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{
    Expr, LogicalPlan, LogicalPlanBuilder, SortExpr, TableSource, cast, ident, lit, not, try_cast,
    when,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The column a table may offer for one value of a map — `attributes['http.route']` — when
/// its storage keeps that value apart (the store's promoted columns). A plan reads it in
/// place of taking the value out of the whole map; a table that has no such column is read
/// the slow way.
pub fn map_value_column(map: &str, key: &str) -> String {
    format!("{map}['{key}']")
}

/// Why a plan could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Something in the query the resolver let through but that cannot run (e.g. a string
    /// compared with a timestamp that is not a time).
    #[error(transparent)]
    Oql(#[from] OqlError),
    /// A bug: the resolver accepted something the planner cannot express.
    #[error("planning failed: {0}")]
    DataFusion(#[from] DataFusionError),
}

/// Which of the org's three stored tables a query of this kind reads.
pub fn scanned_table(kind: &TableKind) -> &'static str {
    match kind {
        TableKind::Logs => "logs",
        TableKind::Spans => "spans",
        TableKind::Metrics | TableKind::MetricNamespace { .. } => "metrics",
    }
}

/// The time column every table has.
const TIMESTAMP: &str = "timestamp";

/// Plans `query` over `source`, the caller's org's table named by
/// [`scanned_table`]`(&query.table.kind)`.
pub fn plan(query: &Query, source: Arc<dyn TableSource>) -> Result<LogicalPlan, PlanError> {
    let scanned = scanned_table(&query.table.kind);
    let in_range = ident(TIMESTAMP)
        .gt_eq(timestamp_literal(query.from))
        .and(ident(TIMESTAMP).lt(timestamp_literal(query.to)));
    // Map-value columns the source offers. After a pivot, maps are the pivot's group keys and
    // no such column exists.
    let map_columns: Arc<BTreeSet<String>> = Arc::new(match &query.table.kind {
        TableKind::MetricNamespace { .. } => BTreeSet::new(),
        _ => source
            .schema()
            .fields()
            .iter()
            .filter(|f| f.name().ends_with("']"))
            .map(|f| f.name().clone())
            .collect(),
    });
    let mut builder =
        LogicalPlanBuilder::scan(TableReference::bare(scanned), source, None)?.filter(in_range)?;
    if let TableKind::MetricNamespace { metrics, .. } = &query.table.kind {
        builder = pivot(builder, metrics, &referenced_columns(query))?;
    }
    if let Some(filter) = &query.filter {
        builder = builder.filter(Lower::rows(&map_columns).expr(filter)?)?;
    }
    let mut lower = Lower::rows(&map_columns);
    if query.aggregate {
        lower = Lower::groups(&map_columns, &query.group_by)?;
        // Lowering every post-aggregate expression first collects the aggregates they use.
        let having = query.having.as_ref().map(|h| lower.expr(h)).transpose()?;
        let items = query
            .items
            .iter()
            .map(|item| lower.expr(&item.expr))
            .collect::<Result<Vec<_>, _>>()?;
        let order = sort_exprs(&mut lower, &query.order_by)?;
        builder = builder.aggregate(lower.group_exprs(), lower.aggregate_exprs())?;
        if let Some(having) = having {
            builder = builder.filter(having)?;
        }
        builder = finish(builder, order, items, query)?;
    } else {
        let order = sort_exprs(&mut lower, &query.order_by)?;
        let items = query
            .items
            .iter()
            .map(|item| lower.expr(&item.expr))
            .collect::<Result<Vec<_>, _>>()?;
        builder = finish(builder, order, items, query)?;
    }
    Ok(builder.build()?)
}

/// ORDER BY, the select list under internal unique names (`SELECT level, level` is legal
/// OQL; DataFusion needs distinct names — the response uses the item names), then LIMIT.
/// DISTINCT comes after the select list, and ORDER BY after it, on the output columns (the
/// resolver made sure every ORDER BY expression is a select item).
fn finish(
    mut builder: LogicalPlanBuilder,
    order: Vec<SortExpr>,
    items: Vec<Expr>,
    query: &Query,
) -> Result<LogicalPlanBuilder, PlanError> {
    if !order.is_empty() && !query.distinct {
        builder = builder.sort(order)?;
    }
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.alias(output_column(i)));
    builder = builder.project(items)?;
    if query.distinct {
        builder = builder.distinct()?;
        let order = query
            .order_by
            .iter()
            .map(|(e, descending)| {
                let i = query
                    .items
                    .iter()
                    .position(|item| same(&item.expr, e))
                    .ok_or_else(|| {
                        DataFusionError::Plan("DISTINCT ordered by an unselected column".into())
                    })?;
                Ok(ident(output_column(i)).sort(!descending, *descending))
            })
            .collect::<Result<Vec<_>, DataFusionError>>()?;
        if !order.is_empty() {
            builder = builder.sort(order)?;
        }
    }
    if let Some(limit) = query.limit {
        builder = builder.limit(0, Some(usize::try_from(limit).unwrap_or(usize::MAX)))?;
    }
    Ok(builder)
}

/// The plan's name for the `i`-th select item.
pub fn output_column(i: usize) -> String {
    format!("c{i}")
}

fn sort_exprs(lower: &mut Lower, order_by: &[(RExpr, bool)]) -> Result<Vec<SortExpr>, PlanError> {
    order_by
        .iter()
        // Nulls sort as the largest value: last ascending, first descending (as PostgreSQL).
        .map(|(e, descending)| Ok(lower.expr(e)?.sort(!descending, *descending)))
        .collect()
}

fn timestamp_literal(at: DateTime<Utc>) -> Expr {
    // Times before 1677 or after 2262 do not fit in nanoseconds; clamp to what does.
    let nanos = at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    });
    lit(ScalarValue::TimestampNanosecond(
        Some(nanos),
        Some("UTC".into()),
    ))
}

/// Columns of the table the query names anywhere.
fn referenced_columns(query: &Query) -> Vec<String> {
    fn walk(e: &RExpr, out: &mut Vec<String>) {
        match &e.kind {
            RKind::Column(c) | RKind::MapValue { column: c, .. } => out.push(c.clone()),
            RKind::Literal(_) | RKind::Bucket(_) => {}
            RKind::Unary(_, a) | RKind::IsNull { expr: a, .. } => walk(a, out),
            RKind::Binary(_, a, b)
            | RKind::Like {
                expr: a,
                pattern: b,
                ..
            } => {
                walk(a, out);
                walk(b, out);
            }
            RKind::Scalar(_, args) => args.iter().for_each(|a| walk(a, out)),
            RKind::Aggregate(_, arg) => {
                if let Some(a) = arg {
                    walk(a, out);
                }
            }
            RKind::InList { expr, list, .. } => {
                walk(expr, out);
                list.iter().for_each(|a| walk(a, out));
            }
        }
    }
    let mut out = Vec::new();
    let exprs = query
        .items
        .iter()
        .map(|i| &i.expr)
        .chain(&query.filter)
        .chain(&query.group_by)
        .chain(&query.having)
        .chain(query.order_by.iter().map(|(e, _)| e));
    for e in exprs {
        walk(e, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// The columns a metric-namespace row is keyed by: data points that share these form a row.
pub const SERIES_KEY: [&str; 5] = [TIMESTAMP, "service", "host", "attributes", "resource"];

/// Metric-namespace rows: the namespace's data points grouped by [`SERIES_KEY`], one column
/// per metric the query uses (`max` of its value, should a series repeat a point).
fn pivot(
    builder: LogicalPlanBuilder,
    metrics: &[MetricColumn],
    used: &[String],
) -> Result<LogicalPlanBuilder, PlanError> {
    let names: Vec<Expr> = metrics.iter().map(|m| lit(m.metric.clone())).collect();
    let columns = metrics
        .iter()
        .filter(|m| used.contains(&m.column))
        .map(|m| {
            when(ident("name").eq(lit(m.metric.clone())), ident("value"))
                .end()
                .map(|v| agg::max(v).alias(&m.column))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(builder
        .filter(ident("name").in_list(names, false))?
        .aggregate(SERIES_KEY.map(ident), columns)?)
}

/// Turns resolved expressions into DataFusion expressions. After an aggregate, group keys and
/// aggregates become references to the aggregate's output columns (`g0..`, `a0..`).
struct Lower {
    /// Group keys: their shape and their expression over the input rows.
    groups: Option<Vec<(RExpr, Expr)>>,
    aggregates: Vec<(RExpr, Expr)>,
    /// The source's map-value columns ([`map_value_column`]).
    map_columns: Arc<BTreeSet<String>>,
}

impl Lower {
    fn rows(map_columns: &Arc<BTreeSet<String>>) -> Self {
        Self {
            groups: None,
            aggregates: Vec::new(),
            map_columns: map_columns.clone(),
        }
    }

    fn groups(map_columns: &Arc<BTreeSet<String>>, keys: &[RExpr]) -> Result<Self, PlanError> {
        let mut rows = Self::rows(map_columns);
        let mut groups = Vec::with_capacity(keys.len());
        for key in keys {
            let expr = rows.expr(key)?;
            if !groups.iter().any(|(k, _): &(RExpr, Expr)| same(k, key)) {
                groups.push((key.clone(), expr));
            }
        }
        Ok(Self {
            groups: Some(groups),
            aggregates: Vec::new(),
            map_columns: map_columns.clone(),
        })
    }

    fn group_exprs(&self) -> Vec<Expr> {
        self.groups
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, (_, e))| e.clone().alias(format!("g{i}")))
            .collect()
    }

    fn aggregate_exprs(&self) -> Vec<Expr> {
        self.aggregates
            .iter()
            .enumerate()
            .map(|(i, (_, e))| e.clone().alias(format!("a{i}")))
            .collect()
    }

    fn expr(&mut self, e: &RExpr) -> Result<Expr, PlanError> {
        if let Some(groups) = &self.groups {
            if let Some(i) = groups.iter().position(|(k, _)| same(k, e)) {
                return Ok(ident(format!("g{i}")));
            }
            if let RKind::Aggregate(func, arg) = &e.kind {
                if let Some(i) = self.aggregates.iter().position(|(k, _)| same(k, e)) {
                    return Ok(ident(format!("a{i}")));
                }
                let expr = Lower::rows(&self.map_columns).aggregate(*func, arg.as_deref())?;
                self.aggregates.push((e.clone(), expr));
                return Ok(ident(format!("a{}", self.aggregates.len() - 1)));
            }
        }
        Ok(match &e.kind {
            RKind::Column(c) => ident(c),
            RKind::MapValue { column, key } => {
                let name = map_value_column(column, key);
                if self.map_columns.contains(&name) {
                    ident(name)
                } else {
                    core::get_field().call(vec![ident(column), lit(key.clone())])
                }
            }
            RKind::Literal(l) => literal(l),
            RKind::Unary(UnaryOp::Not, a) => not(self.expr(a)?),
            // A negative integer literal is one value, so -9223372036854775808 works although
            // its magnitude alone is beyond i64 (the resolver refused anything smaller).
            RKind::Unary(UnaryOp::Negate, a)
                if let RKind::Literal(Literal::Integer(n)) = &a.kind
                    && let Some(negative) = 0i64.checked_sub_unsigned(*n) =>
            {
                lit(negative)
            }
            RKind::Unary(UnaryOp::Negate, a) => {
                // Unsigned columns (counts) negate as signed numbers.
                let inner = self.expr(a)?;
                Expr::Negative(Box::new(if a.ty == crate::catalog::ValueType::Integer {
                    cast(inner, DataType::Int64)
                } else {
                    inner
                }))
            }
            RKind::Binary(op, a, b) => self.binary(*op, a, b)?,
            RKind::Scalar(f, args) => self.scalar(*f, args)?,
            RKind::Aggregate(func, arg) => self.aggregate(*func, arg.as_deref())?,
            RKind::Bucket(seconds) => {
                let nanos = i64::try_from(*seconds)
                    .ok()
                    .and_then(|s| s.checked_mul(1_000_000_000))
                    .unwrap_or(i64::MAX);
                datetime::date_bin().call(vec![
                    lit(ScalarValue::new_interval_mdn(0, 0, nanos)),
                    ident(TIMESTAMP),
                    lit(ScalarValue::TimestampNanosecond(
                        Some(0),
                        Some("UTC".into()),
                    )),
                ])
            }
            RKind::InList {
                expr,
                list,
                negated,
            } => self.in_list(expr, list, *negated)?,
            RKind::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => Expr::Like(datafusion::logical_expr::expr::Like::new(
                *negated,
                Box::new(self.expr(expr)?),
                Box::new(self.expr(pattern)?),
                None,
                *case_insensitive,
            )),
            RKind::IsNull { expr, negated } => {
                let inner = self.expr(expr)?;
                if *negated {
                    inner.is_not_null()
                } else {
                    inner.is_null()
                }
            }
        })
    }

    /// A number-valued operand: map values (strings) become numbers, or NULL if they are not.
    fn number(&mut self, e: &RExpr) -> Result<Expr, PlanError> {
        let expr = self.expr(e)?;
        Ok(match e.kind {
            RKind::MapValue { .. } => try_cast(expr, DataType::Float64),
            _ => expr,
        })
    }

    /// Both sides of a comparison, converted so they compare as the resolver typed them.
    fn compared(&mut self, a: &RExpr, b: &RExpr) -> Result<(Expr, Expr), PlanError> {
        use crate::catalog::ValueType as T;
        let map_value = |e: &RExpr| matches!(e.kind, RKind::MapValue { .. });
        let mut side = |this: &RExpr, other: &RExpr| -> Result<Expr, PlanError> {
            match (this.ty, other.ty) {
                (T::String, T::Timestamp) => self.timestamp_text(this),
                (T::String, t) if t.is_numeric() && t != T::Null && map_value(this) => {
                    self.number(this)
                }
                _ => self.expr(this),
            }
        };
        Ok((side(a, b)?, side(b, a)?))
    }

    /// `x [NOT] IN (…)`: one IN list per way the items compare with `x` — usually one; two for
    /// `attributes['k'] IN ('a', 5)` (as text, and as a number) — joined by OR (AND for NOT
    /// IN), so the plan stays shallow however long the list.
    fn in_list(&mut self, expr: &RExpr, list: &[RExpr], negated: bool) -> Result<Expr, PlanError> {
        let mut groups: Vec<(Expr, Vec<Expr>)> = Vec::new();
        for item in list {
            let (left, right) = self.compared(expr, item)?;
            match groups.iter_mut().find(|(l, _)| *l == left) {
                Some((_, items)) => items.push(right),
                None => groups.push((left, vec![right])),
            }
        }
        Ok(groups
            .into_iter()
            .map(|(left, items)| left.in_list(items, negated))
            .reduce(|a, b| if negated { a.and(b) } else { a.or(b) })
            .unwrap_or(lit(negated)))
    }

    /// A string literal compared with a timestamp: an RFC 3339 time.
    fn timestamp_text(&mut self, e: &RExpr) -> Result<Expr, PlanError> {
        let RKind::Literal(Literal::String(text)) = &e.kind else {
            return self.expr(e);
        };
        let at = DateTime::parse_from_rfc3339(text).map_err(|_| {
            OqlError {
                kind: crate::OqlErrorKind::Type,
                message: format!("'{text}' is not a time"),
                span: e.span,
                hint: None,
            }
            .with_hint("write times as RFC 3339, e.g. '2026-11-22T10:00:00Z'")
        })?;
        Ok(timestamp_literal(at.with_timezone(&Utc)))
    }

    fn binary(&mut self, op: BinaryOp, a: &RExpr, b: &RExpr) -> Result<Expr, PlanError> {
        use BinaryOp::*;
        Ok(match op {
            And => self.expr(a)?.and(self.expr(b)?),
            Or => self.expr(a)?.or(self.expr(b)?),
            Eq | NotEq | Lt | LtEq | Gt | GtEq => {
                let (l, r) = self.compared(a, b)?;
                match op {
                    Eq => l.eq(r),
                    NotEq => l.not_eq(r),
                    Lt => l.lt(r),
                    LtEq => l.lt_eq(r),
                    Gt => l.gt(r),
                    _ => l.gt_eq(r),
                }
            }
            // `/` always divides as numbers with fractions: 7 / 2 is 3.5.
            Divide => {
                cast(self.number(a)?, DataType::Float64) / cast(self.number(b)?, DataType::Float64)
            }
            Plus => self.number(a)? + self.number(b)?,
            Minus => self.number(a)? - self.number(b)?,
            Multiply => self.number(a)? * self.number(b)?,
            Modulo => self.number(a)? % self.number(b)?,
        })
    }

    fn scalar(&mut self, f: Scalar, args: &[RExpr]) -> Result<Expr, PlanError> {
        let mut lowered = Vec::with_capacity(args.len());
        for arg in args {
            lowered.push(match f {
                Scalar::Abs | Scalar::Floor | Scalar::Ceil | Scalar::Round
                    if lowered.is_empty() =>
                {
                    cast(self.number(arg)?, DataType::Float64)
                }
                Scalar::Round => cast(self.expr(arg)?, DataType::Int64),
                _ => self.expr(arg)?,
            });
        }
        let udf = match f {
            Scalar::Lower => string::lower(),
            Scalar::Upper => string::upper(),
            Scalar::Length => unicode::character_length(),
            Scalar::Contains => string::contains(),
            Scalar::StartsWith => string::starts_with(),
            Scalar::EndsWith => string::ends_with(),
            Scalar::Coalesce => core::coalesce(),
            Scalar::Round => math::round(),
            Scalar::Abs => math::abs(),
            Scalar::Floor => math::floor(),
            Scalar::Ceil => math::ceil(),
        };
        Ok(udf.call(lowered))
    }

    fn aggregate(&mut self, func: Aggregate, arg: Option<&RExpr>) -> Result<Expr, PlanError> {
        let Some(arg) = arg else {
            return Ok(agg::count(lit(1i64)));
        };
        Ok(match func {
            Aggregate::Count => agg::count(self.expr(arg)?),
            Aggregate::CountDistinct => agg::count_distinct(self.expr(arg)?),
            Aggregate::Sum => agg::sum(self.number(arg)?),
            Aggregate::Avg => agg::avg(self.number(arg)?),
            Aggregate::Min => agg::min(self.expr(arg)?),
            Aggregate::Max => agg::max(self.expr(arg)?),
            Aggregate::Percentile(p) => agg::approx_percentile_cont(
                cast(self.number(arg)?, DataType::Float64).sort(true, false),
                lit(p / 100.0),
                None,
            ),
        })
    }
}

fn literal(l: &Literal) -> Expr {
    match l {
        Literal::String(s) => lit(s.clone()),
        Literal::Integer(n) => match i64::try_from(*n) {
            Ok(n) => lit(n),
            Err(_) => lit(*n),
        },
        Literal::Float(f) => lit(*f),
        Literal::Boolean(b) => lit(*b),
        Literal::Null => lit(ScalarValue::Null),
        Literal::Duration(d) => {
            let nanos = d
                .seconds()
                .and_then(|s| i64::try_from(s).ok())
                .and_then(|s| s.checked_mul(1_000_000_000))
                .unwrap_or(i64::MAX);
            lit(ScalarValue::new_interval_mdn(0, 0, nanos))
        }
    }
}

/// Whether two resolved expressions are the same expression (ignoring where they were written).
fn same(a: &RExpr, b: &RExpr) -> bool {
    a.shape() == b.shape()
}
