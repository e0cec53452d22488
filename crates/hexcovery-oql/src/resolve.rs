//! Stage 3: a parsed statement → a resolved query: the table and every column checked against
//! the caller's org's catalog, functions and their arguments checked, types inferred, the time
//! range made absolute (the text's, else the request's, else the last hour), parameters bound
//! as literals, `*` expanded, grouping validated. Errors point at the offending name with the
//! names that exist.

use crate::ast::{self, BinaryOp, Expr, ExprKind, Literal, Statement, TimeRange, UnaryOp};
use crate::catalog::{Catalog, TableDef, TableKind, ValueType, did_you_mean};
use crate::error::{OqlError, OqlErrorKind};
use crate::params::{ParamValue, Params};
use crate::parse::MAX_IN_LIST;
use crate::span::Span;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// The time range used when neither the query nor the request names one.
pub const DEFAULT_RANGE_SECS: u64 = 3_600;

/// The steps `bucket()` picks from, in seconds: 1s 5s 10s 15s 30s 1m 5m 10m 15m 30m 1h 3h 6h
/// 12h 1d.
pub const AUTO_BUCKET_STEPS: [u64; 15] = [
    1, 5, 10, 15, 30, 60, 300, 600, 900, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400,
];

/// Most buckets `bucket()` aims for over the time range.
pub const MAX_AUTO_BUCKETS: u64 = 300;

/// The step `bucket()` takes over `[from, to)`: the smallest of [`AUTO_BUCKET_STEPS`] that
/// cuts the range into at most [`MAX_AUTO_BUCKETS`] (the range's length divided by the step,
/// rounded up); a range longer than 300 days gets the largest, one day.
pub fn auto_bucket_step(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((to - from).num_milliseconds()).unwrap_or(0);
    AUTO_BUCKET_STEPS
        .into_iter()
        .find(|step| millis.div_ceil(step * 1_000) <= MAX_AUTO_BUCKETS)
        .unwrap_or(86_400)
}

/// A bucket step as a duration in its largest whole unit: `300` → `"5m"`, `90` → `"90s"`.
pub fn format_step(seconds: u64) -> String {
    let units = [(604_800, 'w'), (86_400, 'd'), (3_600, 'h'), (60, 'm')];
    for (size, unit) in units {
        if seconds >= size && seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// What a statement is resolved with besides its text and the org's catalog.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The instant `now()`, `LAST` and relative request bounds count from.
    pub now: DateTime<Utc>,
    /// The time range when the text has none (a request's `from`/`to`, a dashboard's range,
    /// an alert's window); `None`: the last hour. A range in the text wins.
    pub range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Values for `$name`, and names declared to be bound later.
    pub params: &'a Params,
    /// Whether the text may hold a time range; panel and alert queries may not.
    pub time_range_allowed: bool,
}

static NO_PARAMS: Params = Params {
    values: BTreeMap::new(),
    declared: BTreeSet::new(),
};

impl Context<'static> {
    /// Resolving at `now`, with no request range and no parameters.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            range: None,
            params: &NO_PARAMS,
            time_range_allowed: true,
        }
    }
}

impl<'a> Context<'a> {
    /// The range to use when the text has none.
    pub fn with_range(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            range: Some((from, to)),
            ..self
        }
    }

    pub fn with_params<'b>(self, params: &'b Params) -> Context<'b> {
        Context {
            now: self.now,
            range: self.range,
            params,
            time_range_allowed: self.time_range_allowed,
        }
    }

    /// Refuses a time range in the text (`oql_time_range_not_allowed`).
    pub fn without_time_range(self) -> Self {
        Self {
            time_range_allowed: false,
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Lower,
    Upper,
    Length,
    Contains,
    StartsWith,
    EndsWith,
    Coalesce,
    Round,
    Abs,
    Floor,
    Ceil,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregate {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    /// The percentile in `[0, 100]`.
    Percentile(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Select(Box<Query>),
    ShowTables,
    Describe(TableDef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub table: TableDef,
    pub items: Vec<Item>,
    pub filter: Option<RExpr>,
    pub group_by: Vec<RExpr>,
    pub having: Option<RExpr>,
    pub order_by: Vec<(RExpr, bool)>,
    pub limit: Option<u64>,
    /// `[from, to)` on the table's timestamp.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Whether the query aggregates (has aggregates or GROUP BY).
    pub aggregate: bool,
    /// `SELECT DISTINCT`: ORDER BY then uses only selected columns.
    pub distinct: bool,
    /// The step of the query's `bucket()` (the first in the select list, else in GROUP BY),
    /// picked from the range for `bucket()` or as written (`bucket(5m)`), in seconds.
    pub bucket: Option<u64>,
}

impl Query {
    /// Index of the first select item that is a `bucket()`.
    pub fn bucket_item(&self) -> Option<usize> {
        self.items
            .iter()
            .position(|i| matches!(i.expr.kind, RKind::Bucket(_)))
    }

    /// Indices of the select items that are GROUP BY keys (a `bucket()` key included).
    pub fn group_key_items(&self) -> Vec<usize> {
        let keys: Vec<String> = self.group_by.iter().map(RExpr::shape).collect();
        (0..self.items.len())
            .filter(|&i| keys.contains(&self.items[i].expr.shape()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The result column's name: the alias, or the expression as written.
    pub name: String,
    pub expr: RExpr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RExpr {
    pub kind: RKind,
    pub ty: ValueType,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RKind {
    Column(String),
    /// `column['key']` on a string map: a string, compared as a number against numbers.
    MapValue {
        column: String,
        key: String,
    },
    Literal(Literal),
    Unary(UnaryOp, Box<RExpr>),
    Binary(BinaryOp, Box<RExpr>, Box<RExpr>),
    Scalar(Scalar, Vec<RExpr>),
    /// `None` argument: `count(*)`.
    Aggregate(Aggregate, Option<Box<RExpr>>),
    /// `bucket(5m)`: the table's timestamp floored to this many seconds.
    Bucket(u64),
    InList {
        expr: Box<RExpr>,
        list: Vec<RExpr>,
        negated: bool,
    },
    Like {
        expr: Box<RExpr>,
        pattern: Box<RExpr>,
        negated: bool,
        case_insensitive: bool,
    },
    IsNull {
        expr: Box<RExpr>,
        negated: bool,
    },
}

impl RExpr {
    pub(crate) fn contains_aggregate(&self) -> bool {
        match &self.kind {
            RKind::Aggregate(..) => true,
            RKind::Unary(_, e) | RKind::IsNull { expr: e, .. } => e.contains_aggregate(),
            RKind::Binary(_, a, b)
            | RKind::Like {
                expr: a,
                pattern: b,
                ..
            } => a.contains_aggregate() || b.contains_aggregate(),
            RKind::Scalar(_, args) => args.iter().any(RExpr::contains_aggregate),
            RKind::InList { expr, list, .. } => {
                expr.contains_aggregate() || list.iter().any(RExpr::contains_aggregate)
            }
            RKind::Column(_) | RKind::MapValue { .. } | RKind::Literal(_) | RKind::Bucket(_) => {
                false
            }
        }
    }

    /// Whether the expression has one value per group: every column it reads is inside a
    /// GROUP BY key or an aggregate (`upper(service)` when grouping by `service`).
    fn grouped(&self, keys: &[String]) -> bool {
        if keys.contains(&self.shape()) {
            return true;
        }
        match &self.kind {
            RKind::Aggregate(..) | RKind::Literal(_) => true,
            RKind::Column(_) | RKind::MapValue { .. } | RKind::Bucket(_) => false,
            RKind::Unary(_, e) | RKind::IsNull { expr: e, .. } => e.grouped(keys),
            RKind::Binary(_, a, b)
            | RKind::Like {
                expr: a,
                pattern: b,
                ..
            } => a.grouped(keys) && b.grouped(keys),
            RKind::Scalar(_, args) => args.iter().all(|a| a.grouped(keys)),
            RKind::InList { expr, list, .. } => {
                expr.grouped(keys) && list.iter().all(|a| a.grouped(keys))
            }
        }
    }

    /// The first `bucket(…)` step inside the expression.
    fn bucket(&self) -> Option<u64> {
        match &self.kind {
            RKind::Bucket(step) => Some(*step),
            RKind::Column(_) | RKind::MapValue { .. } | RKind::Literal(_) => None,
            RKind::Unary(_, e) | RKind::IsNull { expr: e, .. } => e.bucket(),
            RKind::Aggregate(_, e) => e.as_ref().and_then(|e| e.bucket()),
            RKind::Binary(_, a, b)
            | RKind::Like {
                expr: a,
                pattern: b,
                ..
            } => a.bucket().or_else(|| b.bucket()),
            RKind::Scalar(_, args) => args.iter().find_map(RExpr::bucket),
            RKind::InList { expr, list, .. } => expr
                .bucket()
                .or_else(|| list.iter().find_map(RExpr::bucket)),
        }
    }

    /// The expression without spans, to compare select items with GROUP BY keys.
    pub(crate) fn shape(&self) -> String {
        match &self.kind {
            RKind::Column(c) => c.clone(),
            RKind::MapValue { column, key } => format!("{column}[{key:?}]"),
            RKind::Literal(l) => format!("{l:?}"),
            RKind::Unary(op, e) => format!("{op:?}({})", e.shape()),
            RKind::Binary(op, a, b) => format!("{op:?}({},{})", a.shape(), b.shape()),
            RKind::Scalar(f, args) => format!(
                "{f:?}({})",
                args.iter().map(RExpr::shape).collect::<Vec<_>>().join(",")
            ),
            RKind::Aggregate(f, arg) => {
                format!("{f:?}({})", arg.as_ref().map_or("*".into(), |a| a.shape()))
            }
            RKind::Bucket(s) => format!("bucket({s})"),
            RKind::InList {
                expr,
                list,
                negated,
            } => {
                format!(
                    "in({},{negated},{})",
                    expr.shape(),
                    list.iter().map(RExpr::shape).collect::<Vec<_>>().join(",")
                )
            }
            RKind::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                format!(
                    "like({},{},{negated},{case_insensitive})",
                    expr.shape(),
                    pattern.shape()
                )
            }
            RKind::IsNull { expr, negated } => format!("isnull({},{negated})", expr.shape()),
        }
    }
}

fn unknown(span: Span, message: String) -> OqlError {
    OqlError {
        kind: OqlErrorKind::Unknown,
        message,
        span,
        hint: None,
    }
}

fn type_error(span: Span, message: String) -> OqlError {
    OqlError {
        kind: OqlErrorKind::Type,
        message,
        span,
        hint: None,
    }
}

/// Table names as users may write them.
fn canonical_table(name: &str) -> String {
    match name.to_lowercase().as_str() {
        "traces" => "spans".into(),
        other => other.into(),
    }
}

/// Resolves `statement` (parsed from `text`) against `catalog`, in `context` (the time,
/// the request's range and parameters).
pub fn resolve(
    text: &str,
    statement: &Statement,
    catalog: &dyn Catalog,
    context: &Context<'_>,
) -> Result<Resolved, OqlError> {
    let tables = catalog.tables();
    let find_table = |ident: &ast::Ident| -> Result<TableDef, OqlError> {
        let wanted = if ident.quoted {
            ident.name.clone()
        } else {
            canonical_table(&ident.name)
        };
        tables
            .iter()
            .find(|t| t.name == wanted)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
                let mut error = unknown(
                    ident.span,
                    format!(
                        "there is no table `{}`; tables: {}",
                        ident.name,
                        names.join(", ")
                    ),
                );
                if let Some(best) = did_you_mean(&ident.name, names.iter().copied()).first() {
                    error = error.with_hint(format!("did you mean `{best}`?"));
                }
                error
            })
    };
    match statement {
        Statement::ShowTables { .. } => Ok(Resolved::ShowTables),
        Statement::Describe { table, .. } => Ok(Resolved::Describe(find_table(table)?)),
        Statement::Select(select) => {
            let table = find_table(&select.from)?;
            if let Some(range) = &select.time_range
                && !context.time_range_allowed
            {
                return Err(OqlError {
                    kind: OqlErrorKind::TimeRangeNotAllowed,
                    message: "this query takes its time range from where it runs; it cannot hold one".into(),
                    span: range.span(),
                    hint: Some("panel and alert queries take their time range from the dashboard or the rule's window".into()),
                });
            }
            let (from, to) = time_range(select.time_range.as_ref(), context)?;
            let scope = Scope {
                table: &table,
                aliases: &[],
                params: context.params,
                range: (from, to),
            };
            let mut items = Vec::with_capacity(select.items.len());
            // The `*` item, if any: it stands for every column, in DESCRIBE order.
            let mut star = None;
            for item in &select.items {
                if item.expr.kind == ExprKind::Wildcard {
                    if let Some(alias) = &item.alias {
                        return Err(type_error(
                            alias.span,
                            "`*` stands for every column and cannot be renamed".into(),
                        )
                        .with_hint("rename single columns: SELECT body AS message FROM logs"));
                    }
                    star = Some(item.expr.span);
                    items.extend(table.columns.iter().map(|c| Item {
                        name: c.name.clone(),
                        expr: RExpr {
                            kind: RKind::Column(c.name.clone()),
                            ty: c.ty,
                            span: item.expr.span,
                        },
                    }));
                    continue;
                }
                let expr = scope.expr(&item.expr)?;
                let name = item.alias.as_ref().map_or_else(
                    || text[item.expr.span.start..item.expr.span.end].to_string(),
                    |a| a.name.clone(),
                );
                items.push(Item { name, expr });
            }
            let filter = select
                .filter
                .as_ref()
                .map(|f| scope.condition(f, "WHERE"))
                .transpose()?;
            if let Some(f) = &filter
                && f.contains_aggregate()
            {
                return Err(
                    type_error(f.span, "aggregates cannot be used in WHERE".into())
                        .with_hint("filter on aggregates with HAVING"),
                );
            }
            let by_alias = |expr: &Expr| -> Option<RExpr> {
                match &expr.kind {
                    ExprKind::Column(ident)
                        if !ident.quoted || table.column(&ident.name).is_none() =>
                    {
                        items
                            .iter()
                            .find(|i| {
                                i.name.eq_ignore_ascii_case(&ident.name)
                                    && table.column(&ident.name.to_lowercase()).is_none()
                            })
                            .map(|i| i.expr.clone())
                    }
                    ExprKind::Literal(Literal::Integer(n)) => items
                        .get((*n as usize).wrapping_sub(1))
                        .map(|i| i.expr.clone()),
                    _ => None,
                }
            };
            let mut group_by = Vec::new();
            for expr in &select.group_by {
                if let ExprKind::Literal(Literal::Integer(n)) = expr.kind
                    && (n == 0 || n as usize > items.len())
                {
                    let count = items.len();
                    return Err(type_error(
                        expr.span,
                        format!(
                            "GROUP BY {n} refers to no column: the query selects {count} column{}",
                            if count == 1 { "" } else { "s" }
                        ),
                    ));
                }
                let resolved = match by_alias(expr) {
                    Some(e) => e,
                    None => scope.expr(expr)?,
                };
                if resolved.contains_aggregate() {
                    return Err(type_error(expr.span, "cannot GROUP BY an aggregate".into()));
                }
                group_by.push(resolved);
            }
            let having = select
                .having
                .as_ref()
                .map(|h| {
                    Scope {
                        aliases: &items,
                        ..scope
                    }
                    .condition(h, "HAVING")
                })
                .transpose()?;
            let mut order_by = Vec::new();
            for item in &select.order_by {
                if let ExprKind::Literal(Literal::Integer(n)) = item.expr.kind
                    && (n == 0 || n as usize > items.len())
                {
                    let count = items.len();
                    let noun = if count == 1 { "column" } else { "columns" };
                    return Err(type_error(
                        item.expr.span,
                        format!(
                            "ORDER BY {n} refers to no column: the query selects {count} {noun}"
                        ),
                    ));
                }
                // A bare name in ORDER BY is an output column first (as in PostgreSQL):
                // `SELECT -duration_ms AS duration_ms … ORDER BY duration_ms` sorts by the item.
                let output = match &item.expr.kind {
                    ExprKind::Column(ident) => items
                        .iter()
                        .find(|i| {
                            if ident.quoted {
                                i.name == ident.name
                            } else {
                                i.name.eq_ignore_ascii_case(&ident.name)
                            }
                        })
                        .map(|i| i.expr.clone()),
                    _ => None,
                };
                let resolved = match output.or_else(|| by_alias(&item.expr)) {
                    Some(e) => e,
                    None => Scope {
                        aliases: &items,
                        ..scope
                    }
                    .expr(&item.expr)?,
                };
                if matches!(resolved.ty, ValueType::Map | ValueType::List) {
                    return Err(type_error(
                        resolved.span,
                        format!("cannot ORDER BY a {}", resolved.ty.name()),
                    )
                    .with_hint("order by one value of a map, e.g. attributes['k']"));
                }
                order_by.push((resolved, item.descending));
            }
            let aggregate = !group_by.is_empty()
                || items.iter().any(|i| i.expr.contains_aggregate())
                || having.is_some();
            if let Some(star) = star
                && aggregate
            {
                return Err(type_error(
                    star,
                    "`*` cannot be used in a grouped query: it answers one row per group, and \
                     `*` is every column of every row"
                        .into(),
                )
                .with_hint("name the columns you group by: SELECT service, count(*) FROM logs GROUP BY service"));
            }
            if select.distinct {
                distinct_checks(&items, &order_by, star)?;
            }
            if aggregate {
                let keys: Vec<String> = group_by.iter().map(RExpr::shape).collect();
                for (item, source) in items.iter().zip(&select.items) {
                    if !item.expr.grouped(&keys) {
                        return Err(type_error(
                            source.expr.span,
                            format!(
                                "`{}` must be in GROUP BY or inside an aggregate such as count() or avg()",
                                item.name
                            ),
                        ));
                    }
                }
                let elsewhere = having
                    .iter()
                    .map(|h| (h, "HAVING"))
                    .chain(order_by.iter().map(|(e, _)| (e, "ORDER BY")));
                for (expr, clause) in elsewhere {
                    if !expr.grouped(&keys) {
                        return Err(type_error(
                            expr.span,
                            format!(
                                "{clause} of a grouped query can only use GROUP BY keys and aggregates"
                            ),
                        )
                        .with_hint("add the column to GROUP BY, or aggregate it, e.g. max(timestamp)"));
                    }
                }
            }
            if !aggregate
                && let Some((expr, _)) = order_by.iter().find(|(e, _)| e.contains_aggregate())
            {
                return Err(type_error(
                    expr.span,
                    "ORDER BY an aggregate needs an aggregating query".into(),
                )
                .with_hint("select an aggregate or add GROUP BY"));
            }
            let bucket = items
                .iter()
                .map(|i| &i.expr)
                .chain(&group_by)
                .find_map(RExpr::bucket);
            Ok(Resolved::Select(Box::new(Query {
                table: table.clone(),
                items,
                filter,
                group_by,
                having,
                order_by,
                limit: select.limit.map(|(n, _)| n),
                from,
                to,
                aggregate,
                distinct: select.distinct,
                bucket,
            })))
        }
    }
}

fn instant(at: &ast::Instant, now: DateTime<Utc>) -> Result<DateTime<Utc>, OqlError> {
    match at {
        ast::Instant::Absolute(t, _) => Ok(*t),
        ast::Instant::Now { minus: None, .. } => Ok(now),
        ast::Instant::Now {
            minus: Some(d),
            span,
        } => before(now, d)
            .ok_or_else(|| type_error(*span, "this duration reaches before year 0".into())),
    }
}

fn before(now: DateTime<Utc>, d: &ast::Duration) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(d.seconds()?).ok()?;
    now.checked_sub_signed(chrono::TimeDelta::try_seconds(secs)?)
}

/// `SELECT DISTINCT` compares whole rows (so no maps or lists) and sorts what it answers (so
/// ORDER BY uses selected columns only).
fn distinct_checks(
    items: &[Item],
    order_by: &[(RExpr, bool)],
    star: Option<Span>,
) -> Result<(), OqlError> {
    if let Some(item) = items
        .iter()
        .find(|i| matches!(i.expr.ty, ValueType::Map | ValueType::List))
    {
        let hint = if star.is_some_and(|s| s == item.expr.span) {
            "list the columns instead of *, e.g. SELECT DISTINCT service, host FROM logs"
        } else {
            "select one value of a map, e.g. attributes['http.route']"
        };
        return Err(type_error(
            item.expr.span,
            format!(
                "SELECT DISTINCT compares whole rows, but `{}` is a {}",
                item.name,
                item.expr.ty.name()
            ),
        )
        .with_hint(hint));
    }
    let shapes: Vec<String> = items.iter().map(|i| i.expr.shape()).collect();
    if let Some((expr, _)) = order_by.iter().find(|(e, _)| !shapes.contains(&e.shape())) {
        return Err(type_error(
            expr.span,
            "with SELECT DISTINCT, ORDER BY can only use selected columns".into(),
        )
        .with_hint("add it to the select list, or order by a column's name or position"));
    }
    Ok(())
}

fn time_range(
    range: Option<&TimeRange>,
    context: &Context<'_>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), OqlError> {
    let now = context.now;
    let (from, to, span) = match range {
        None => match context.range {
            Some((from, to)) => (from, to, Span::default()),
            None => (
                now - chrono::TimeDelta::seconds(DEFAULT_RANGE_SECS as i64),
                now,
                Span::default(),
            ),
        },
        Some(TimeRange::Last { duration: d, .. }) => (
            before(now, d).ok_or_else(|| type_error(d.span, "this duration is too long".into()))?,
            now,
            d.span,
        ),
        Some(TimeRange::Since { from, until, span }) => (
            instant(from, now)?,
            until.as_ref().map_or(Ok(now), |u| instant(u, now))?,
            *span,
        ),
        Some(TimeRange::Between { from, to, span }) => {
            (instant(from, now)?, instant(to, now)?, *span)
        }
    };
    if from >= to {
        let (whose, hint) = if range.is_none() && context.range.is_some() {
            (
                "the request's time range",
                "`from` must be earlier than `to`",
            )
        } else {
            (
                "the time range",
                "the first time must be earlier than the second",
            )
        };
        return Err(type_error(
            span,
            format!(
                "{whose} is empty: it starts at {} and ends at {}",
                from.to_rfc3339(),
                to.to_rfc3339()
            ),
        )
        .with_hint(hint));
    }
    Ok((from, to))
}

#[derive(Clone, Copy)]
struct Scope<'a> {
    table: &'a TableDef,
    /// Select items whose aliases a name may refer to when the table has no such column
    /// (in HAVING and ORDER BY: `HAVING c > 1` for `count(*) AS c`).
    aliases: &'a [Item],
    params: &'a Params,
    /// The query's effective time range (for `bucket()`).
    range: (DateTime<Utc>, DateTime<Utc>),
}

impl Scope<'_> {
    fn condition(&self, expr: &Expr, clause: &str) -> Result<RExpr, OqlError> {
        let resolved = self.expr(expr)?;
        if !matches!(resolved.ty, ValueType::Boolean | ValueType::Null) {
            return Err(type_error(
                expr.span,
                format!(
                    "{clause} needs a true/false condition, but this is a {}",
                    resolved.ty.name()
                ),
            )
            .with_hint("compare it, e.g. level = 'error'"));
        }
        Ok(resolved)
    }

    fn column(&self, ident: &ast::Ident) -> Result<RExpr, OqlError> {
        let name = if ident.quoted {
            ident.name.clone()
        } else {
            ident.name.to_lowercase()
        };
        // A qualified name `logs.level` refers to this table's column.
        let name = name
            .strip_prefix(&format!("{}.", self.table.name))
            .map(str::to_string)
            .unwrap_or(name);
        if self.table.column(&name).is_none()
            && let Some(item) = self
                .aliases
                .iter()
                .find(|i| i.name.eq_ignore_ascii_case(&ident.name))
        {
            return Ok(item.expr.clone());
        }
        let column = self.table.column(&name).ok_or_else(|| {
            let names: Vec<&str> = self.table.columns.iter().map(|c| c.name.as_str()).collect();
            let mut error = unknown(
                ident.span,
                format!(
                    "table `{}` has no column `{}`; its columns: {}",
                    self.table.name,
                    ident.name,
                    names.join(", ")
                ),
            );
            if let Some(best) = did_you_mean(&ident.name, names.iter().copied()).first() {
                error = error.with_hint(format!("did you mean `{best}`?"));
            }
            error
        })?;
        Ok(RExpr {
            kind: RKind::Column(column.name.clone()),
            ty: column.ty,
            span: ident.span,
        })
    }

    fn expr(&self, expr: &Expr) -> Result<RExpr, OqlError> {
        let span = expr.span;
        let r = |kind, ty| Ok(RExpr { kind, ty, span });
        match &expr.kind {
            ExprKind::Column(ident) => self.column(ident),
            ExprKind::Literal(literal) => {
                let ty = match literal {
                    Literal::String(_) => ValueType::String,
                    Literal::Integer(_) => ValueType::Integer,
                    Literal::Float(_) => ValueType::Float,
                    Literal::Boolean(_) => ValueType::Boolean,
                    Literal::Null => ValueType::Null,
                    Literal::Duration(_) => ValueType::Duration,
                };
                r(RKind::Literal(literal.clone()), ty)
            }
            ExprKind::Param(name) => match self.param(name, span)? {
                Bound::One(e) => Ok(e),
                Bound::List(values) => Err(type_error(
                    span,
                    format!(
                        "`${name}` is a list of {} values, but here it must be one value",
                        values.len()
                    ),
                )
                .with_hint(format!(
                    "a list parameter goes in an IN list: x IN (${name})"
                ))),
            },
            ExprKind::Wildcard => Err(type_error(
                span,
                "`*` is only allowed in count(*) and as a whole select item (SELECT *)".into(),
            )),
            ExprKind::Index { base, key } => {
                let base = self.expr(base)?;
                let RKind::Column(column) = &base.kind else {
                    return Err(type_error(
                        span,
                        "only a map column can be indexed, e.g. attributes['http.route']".into(),
                    ));
                };
                if base.ty != ValueType::Map {
                    return Err(type_error(
                        base.span,
                        format!(
                            "`{column}` is a {}, not a map; maps are attributes and resource",
                            base.ty.name()
                        ),
                    ));
                }
                let ExprKind::Literal(Literal::String(key)) = &key.kind else {
                    let mut error = type_error(
                        key.span,
                        "a map key is a string in single quotes, e.g. ['http.route']".into(),
                    );
                    if matches!(key.kind, ExprKind::Param(_)) {
                        error = error.with_hint(
                            "parameters are values to compare with, not keys: write the key in the query",
                        );
                    }
                    return Err(error);
                };
                r(
                    RKind::MapValue {
                        column: column.clone(),
                        key: key.clone(),
                    },
                    ValueType::String,
                )
            }
            ExprKind::Unary { op, expr: inner } => {
                let inner = self.expr(inner)?;
                if let (UnaryOp::Negate, RKind::Literal(Literal::Integer(n))) = (op, &inner.kind)
                    && 0i64.checked_sub_unsigned(*n).is_none()
                {
                    return Err(type_error(
                        span,
                        format!("-{n} is below the smallest integer"),
                    )
                    .with_hint("integers are 64-bit: the smallest is -9223372036854775808; write a float (e.g. -1e19) for larger magnitudes"));
                }
                let ty = match op {
                    UnaryOp::Not => self.expect_boolean(&inner, "NOT")?,
                    UnaryOp::Negate if inner.ty.is_numeric() => inner.ty,
                    UnaryOp::Negate => {
                        return Err(type_error(
                            inner.span,
                            format!("cannot negate a {}", inner.ty.name()),
                        ));
                    }
                };
                r(RKind::Unary(*op, Box::new(inner)), ty)
            }
            ExprKind::Binary { op, left, right } => {
                let (left, right) = (self.expr(left)?, self.expr(right)?);
                let ty = self.binary_type(*op, &left, &right)?;
                r(RKind::Binary(*op, Box::new(left), Box::new(right)), ty)
            }
            ExprKind::InList {
                expr: inner,
                list,
                negated,
            } => {
                let inner = self.expr(inner)?;
                let mut values = Vec::with_capacity(list.len());
                for e in list {
                    match &e.kind {
                        ExprKind::Param(name) => match self.param(name, e.span)? {
                            Bound::One(value) => values.push(value),
                            Bound::List(more) => values.extend(more),
                        },
                        _ => values.push(self.expr(e)?),
                    }
                    if values.len() > MAX_IN_LIST {
                        return Err(type_error(
                            e.span,
                            format!("an IN list holds at most {MAX_IN_LIST} values"),
                        )
                        .with_hint("a list parameter counts as its values"));
                    }
                }
                let list = values;
                for item in &list {
                    self.comparable(&inner, item)?;
                }
                r(
                    RKind::InList {
                        expr: Box::new(inner),
                        list,
                        negated: *negated,
                    },
                    ValueType::Boolean,
                )
            }
            ExprKind::Like {
                expr: inner,
                pattern,
                negated,
                case_insensitive,
            } => {
                let (inner, pattern) = (self.expr(inner)?, self.expr(pattern)?);
                for side in [&inner, &pattern] {
                    if !matches!(side.ty, ValueType::String | ValueType::Null) {
                        return Err(type_error(
                            side.span,
                            format!("LIKE compares strings, but this is a {}", side.ty.name()),
                        ));
                    }
                }
                r(
                    RKind::Like {
                        expr: Box::new(inner),
                        pattern: Box::new(pattern),
                        negated: *negated,
                        case_insensitive: *case_insensitive,
                    },
                    ValueType::Boolean,
                )
            }
            ExprKind::IsNull {
                expr: inner,
                negated,
            } => {
                let inner = self.expr(inner)?;
                r(
                    RKind::IsNull {
                        expr: Box::new(inner),
                        negated: *negated,
                    },
                    ValueType::Boolean,
                )
            }
            ExprKind::Function { name, args } => self.function(name, args, span),
        }
    }

    /// `$name` bound: its value as literals (spanning `$name`), NULL for a parameter declared
    /// to be bound later, or `oql_unknown`.
    fn param(&self, name: &str, span: Span) -> Result<Bound, OqlError> {
        let Some(value) = self.params.values.get(name) else {
            if self.params.declared.contains(name) {
                return Ok(Bound::One(RExpr {
                    kind: RKind::Literal(Literal::Null),
                    ty: ValueType::Null,
                    span,
                }));
            }
            let mut known: Vec<&str> = self
                .params
                .values
                .keys()
                .chain(&self.params.declared)
                .map(String::as_str)
                .collect();
            known.sort_unstable();
            known.dedup();
            let message = if known.is_empty() {
                format!("there is no parameter `${name}`: the request binds none")
            } else {
                format!(
                    "there is no parameter `${name}`; the request binds {}",
                    known
                        .iter()
                        .map(|k| format!("${k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let mut error = unknown(span, message);
            error = match did_you_mean(name, known.iter().copied()).first() {
                Some(best) => error.with_hint(format!("did you mean `${best}`?")),
                None => error.with_hint(format!(
                    "give its value in the request: \"params\": {{\"{name}\": …}}"
                )),
            };
            return Err(error);
        };
        let literal = |value: &ParamValue| -> Result<RExpr, OqlError> {
            let (kind, ty) = match value {
                ParamValue::Null => (RKind::Literal(Literal::Null), ValueType::Null),
                ParamValue::Boolean(b) => {
                    (RKind::Literal(Literal::Boolean(*b)), ValueType::Boolean)
                }
                ParamValue::Float(f) => (RKind::Literal(Literal::Float(*f)), ValueType::Float),
                ParamValue::String(text) => (
                    RKind::Literal(Literal::String(text.clone())),
                    ValueType::String,
                ),
                ParamValue::Integer(n) => {
                    let magnitude = u64::try_from(n.unsigned_abs()).map_err(|_| {
                        type_error(span, format!("`${name}` is too large for an integer"))
                    })?;
                    let literal = RExpr {
                        kind: RKind::Literal(Literal::Integer(magnitude)),
                        ty: ValueType::Integer,
                        span,
                    };
                    if *n >= 0 {
                        return Ok(literal);
                    }
                    if 0i64.checked_sub_unsigned(magnitude).is_none() {
                        return Err(type_error(
                            span,
                            format!("`${name}` is below the smallest integer"),
                        ));
                    }
                    (
                        RKind::Unary(UnaryOp::Negate, Box::new(literal)),
                        ValueType::Integer,
                    )
                }
                ParamValue::List(_) => {
                    return Err(type_error(
                        span,
                        format!("`${name}` holds a list in a list; a list holds single values"),
                    ));
                }
            };
            Ok(RExpr { kind, ty, span })
        };
        Ok(match value {
            ParamValue::List(values) => {
                if values.len() > MAX_IN_LIST {
                    return Err(type_error(
                        span,
                        format!(
                            "`${name}` has {} values; an IN list holds at most {MAX_IN_LIST}",
                            values.len()
                        ),
                    ));
                }
                Bound::List(values.iter().map(literal).collect::<Result<_, _>>()?)
            }
            scalar => Bound::One(literal(scalar)?),
        })
    }

    fn expect_boolean(&self, e: &RExpr, what: &str) -> Result<ValueType, OqlError> {
        if matches!(e.ty, ValueType::Boolean | ValueType::Null) {
            Ok(ValueType::Boolean)
        } else {
            Err(type_error(
                e.span,
                format!(
                    "{what} needs a true/false operand, but this is a {}",
                    e.ty.name()
                ),
            ))
        }
    }

    fn comparable(&self, a: &RExpr, b: &RExpr) -> Result<(), OqlError> {
        use ValueType::*;
        let map_value = |e: &RExpr| matches!(e.kind, RKind::MapValue { .. });
        let ok = match (a.ty, b.ty) {
            (Null, _) | (_, Null) => true,
            (x, y) if x.is_numeric() && y.is_numeric() => true,
            (String, String) | (Boolean, Boolean) | (Timestamp, Timestamp) => true,
            // A time written as a string literal.
            (Timestamp, String) => matches!(b.kind, RKind::Literal(_)),
            (String, Timestamp) => matches!(a.kind, RKind::Literal(_)),
            // Attribute values are strings; against a number they compare as numbers.
            (String, x) | (x, String) if x.is_numeric() => map_value(a) || map_value(b),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(type_error(
                a.span.to(b.span),
                format!(
                    "cannot compare {} with {}",
                    a.ty.with_article(),
                    b.ty.with_article()
                ),
            ))
        }
    }

    fn binary_type(&self, op: BinaryOp, a: &RExpr, b: &RExpr) -> Result<ValueType, OqlError> {
        use BinaryOp::*;
        match op {
            And | Or => {
                self.expect_boolean(a, if op == And { "AND" } else { "OR" })?;
                self.expect_boolean(b, if op == And { "AND" } else { "OR" })
            }
            Eq | NotEq | Lt | LtEq | Gt | GtEq => {
                self.comparable(a, b).map(|()| ValueType::Boolean)
            }
            Plus | Minus | Multiply | Divide | Modulo => {
                for side in [a, b] {
                    if !side.ty.is_numeric() {
                        return Err(type_error(
                            side.span,
                            format!("arithmetic needs numbers, but this is a {}", side.ty.name()),
                        ));
                    }
                }
                Ok(
                    if op == Divide || a.ty == ValueType::Float || b.ty == ValueType::Float {
                        ValueType::Float
                    } else {
                        ValueType::Integer
                    },
                )
            }
        }
    }

    fn function(&self, name: &ast::Ident, args: &[Expr], span: Span) -> Result<RExpr, OqlError> {
        let lower = name.name.to_lowercase();
        let arity = |n: usize| -> Result<(), OqlError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(type_error(
                    span,
                    format!(
                        "{lower}() takes {n} argument{}, got {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                ))
            }
        };
        let no_nested_aggregate = |e: &RExpr| {
            if e.contains_aggregate() {
                Err(type_error(e.span, "aggregates cannot be nested".into()))
            } else {
                Ok(())
            }
        };
        let aggregate = |func: Aggregate, arg: Option<RExpr>, ty: ValueType| {
            Ok(RExpr {
                kind: RKind::Aggregate(func, arg.map(Box::new)),
                ty,
                span,
            })
        };
        let numeric_arg = |e: RExpr| -> Result<RExpr, OqlError> {
            if e.ty.is_numeric() || matches!(e.kind, RKind::MapValue { .. }) {
                Ok(e)
            } else {
                Err(type_error(
                    e.span,
                    format!("{lower}() needs a number, but this is a {}", e.ty.name()),
                ))
            }
        };
        let percentile_of = |p: f64, args: &[Expr]| -> Result<RExpr, OqlError> {
            let arg = numeric_arg(self.expr(&args[0])?)?;
            no_nested_aggregate(&arg)?;
            aggregate(Aggregate::Percentile(p), Some(arg), ValueType::Float)
        };
        match lower.as_str() {
            "count" => {
                if args.len() > 1 {
                    return Err(type_error(
                        span,
                        format!("count() takes at most 1 argument, got {}", args.len()),
                    ));
                }
                match args.first() {
                    None => aggregate(Aggregate::Count, None, ValueType::Integer),
                    Some(Expr {
                        kind: ExprKind::Wildcard,
                        ..
                    }) => aggregate(Aggregate::Count, None, ValueType::Integer),
                    Some(arg) => {
                        let arg = self.expr(arg)?;
                        no_nested_aggregate(&arg)?;
                        aggregate(Aggregate::Count, Some(arg), ValueType::Integer)
                    }
                }
            }
            "count_distinct" => {
                arity(1)?;
                let arg = self.expr(&args[0])?;
                no_nested_aggregate(&arg)?;
                aggregate(Aggregate::CountDistinct, Some(arg), ValueType::Integer)
            }
            "sum" | "avg" | "min" | "max" => {
                arity(1)?;
                let arg = self.expr(&args[0])?;
                no_nested_aggregate(&arg)?;
                let (func, ty) = match lower.as_str() {
                    "sum" => (Aggregate::Sum, numeric_arg(arg.clone())?.ty),
                    "avg" => (
                        Aggregate::Avg,
                        numeric_arg(arg.clone()).map(|_| ValueType::Float)?,
                    ),
                    _ if matches!(arg.ty, ValueType::Map | ValueType::List) => {
                        return Err(type_error(
                            arg.span,
                            format!("{lower}() compares values, but this is a {}", arg.ty.name()),
                        )
                        .with_hint("take one value out of a map, e.g. max(attributes['k'])"));
                    }
                    "min" => (Aggregate::Min, arg.ty),
                    _ => (Aggregate::Max, arg.ty),
                };
                aggregate(
                    func,
                    Some(arg),
                    if ty == ValueType::String && func == Aggregate::Sum {
                        ValueType::Float
                    } else {
                        ty
                    },
                )
            }
            "p50" | "p90" | "p95" | "p99" => {
                arity(1)?;
                percentile_of(
                    lower[1..].parse::<f64>().expect("p50..p99 are numbers"),
                    args,
                )
            }
            "percentile" => {
                arity(2)?;
                let p = match &args[1].kind {
                    ExprKind::Literal(Literal::Integer(n)) => *n as f64,
                    ExprKind::Literal(Literal::Float(f)) => *f,
                    _ => {
                        let mut error = type_error(args[1].span, "the percentile is a number from 0 to 100, e.g. percentile(duration_ms, 95)".into());
                        if matches!(args[1].kind, ExprKind::Param(_)) {
                            error = error.with_hint(
                                "write the percentile in the query; a parameter cannot set it",
                            );
                        }
                        return Err(error);
                    }
                };
                if !(0.0..=100.0).contains(&p) {
                    return Err(type_error(
                        args[1].span,
                        format!("the percentile must be from 0 to 100, got {p}"),
                    ));
                }
                percentile_of(p, args)
            }
            "bucket" => {
                if args.is_empty() {
                    // The step follows the time range: at most MAX_AUTO_BUCKETS buckets.
                    let (from, to) = self.range;
                    return Ok(RExpr {
                        kind: RKind::Bucket(auto_bucket_step(from, to)),
                        ty: ValueType::Timestamp,
                        span,
                    });
                }
                if args.len() > 1 {
                    return Err(type_error(
                        span,
                        format!("bucket() takes at most 1 argument, got {}", args.len()),
                    ));
                }
                let ExprKind::Literal(Literal::Duration(d)) = &args[0].kind else {
                    return Err(type_error(
                        args[0].span,
                        "bucket() takes a duration written in the query, e.g. bucket(5m), or none: bucket() picks one from the time range".into(),
                    ));
                };
                let seconds = d.seconds().filter(|s| *s > 0).ok_or_else(|| {
                    type_error(d.span, "the bucket width must be positive".into())
                })?;
                Ok(RExpr {
                    kind: RKind::Bucket(seconds),
                    ty: ValueType::Timestamp,
                    span,
                })
            }
            _ => self.scalar(&lower, name, args, span),
        }
    }

    fn scalar(
        &self,
        lower: &str,
        name: &ast::Ident,
        args: &[Expr],
        span: Span,
    ) -> Result<RExpr, OqlError> {
        let (func, arg_types, ty): (Scalar, &[ValueType], ValueType) = match lower {
            "lower" => (Scalar::Lower, &[ValueType::String], ValueType::String),
            "upper" => (Scalar::Upper, &[ValueType::String], ValueType::String),
            "length" => (Scalar::Length, &[ValueType::String], ValueType::Integer),
            "contains" => (
                Scalar::Contains,
                &[ValueType::String, ValueType::String],
                ValueType::Boolean,
            ),
            "starts_with" => (
                Scalar::StartsWith,
                &[ValueType::String, ValueType::String],
                ValueType::Boolean,
            ),
            "ends_with" => (
                Scalar::EndsWith,
                &[ValueType::String, ValueType::String],
                ValueType::Boolean,
            ),
            "abs" => (Scalar::Abs, &[ValueType::Float], ValueType::Float),
            "floor" => (Scalar::Floor, &[ValueType::Float], ValueType::Float),
            "ceil" => (Scalar::Ceil, &[ValueType::Float], ValueType::Float),
            "round" => (Scalar::Round, &[ValueType::Float], ValueType::Float),
            "coalesce" => {
                if args.is_empty() {
                    return Err(type_error(
                        span,
                        "coalesce() takes at least one argument".into(),
                    ));
                }
                let resolved = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let ty = resolved
                    .iter()
                    .map(|e| e.ty)
                    .find(|t| *t != ValueType::Null)
                    .unwrap_or(ValueType::Null);
                // Every argument must be of that type (numbers mix; NULL fits anywhere).
                let fits = |t: ValueType| {
                    t == ty || t == ValueType::Null || (t.is_numeric() && ty.is_numeric())
                };
                if let Some(odd) = resolved
                    .iter()
                    .find(|e| !fits(e.ty) || matches!(e.ty, ValueType::Map | ValueType::List))
                {
                    let message = if matches!(odd.ty, ValueType::Map | ValueType::List) {
                        format!(
                            "coalesce() takes single values, but this is a {}",
                            odd.ty.name()
                        )
                    } else {
                        format!(
                            "coalesce() needs arguments of one type: the first is {}, this is {}",
                            ty.with_article(),
                            odd.ty.with_article()
                        )
                    };
                    return Err(type_error(odd.span, message));
                }
                return Ok(RExpr {
                    kind: RKind::Scalar(Scalar::Coalesce, resolved),
                    ty,
                    span,
                });
            }
            _ => {
                let known = [
                    "count",
                    "count_distinct",
                    "sum",
                    "avg",
                    "min",
                    "max",
                    "percentile",
                    "p50",
                    "p90",
                    "p95",
                    "p99",
                    "bucket",
                    "lower",
                    "upper",
                    "length",
                    "contains",
                    "starts_with",
                    "ends_with",
                    "coalesce",
                    "round",
                    "abs",
                    "floor",
                    "ceil",
                ];
                let mut error = unknown(name.span, format!("there is no function `{}`", name.name));
                if let Some(best) = did_you_mean(&name.name, known).first() {
                    error = error.with_hint(format!("did you mean `{best}`?"));
                } else {
                    error = error.with_hint(format!("functions: {}", known.join(", ")));
                }
                return Err(error);
            }
        };
        // round(x, digits) takes an optional second argument.
        let expected = if func == Scalar::Round && args.len() == 2 {
            2
        } else {
            arg_types.len()
        };
        if args.len() != expected {
            return Err(type_error(
                span,
                format!(
                    "{lower}() takes {} argument{}, got {}",
                    arg_types.len(),
                    if arg_types.len() == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        let mut resolved = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let e = self.expr(arg)?;
            let want = arg_types.get(i).copied().unwrap_or(ValueType::Integer);
            let fits = e.ty == ValueType::Null
                || match want {
                    ValueType::Float => {
                        e.ty.is_numeric() || matches!(e.kind, RKind::MapValue { .. })
                    }
                    ValueType::Integer => e.ty == ValueType::Integer,
                    other => e.ty == other,
                };
            if !fits {
                return Err(type_error(
                    e.span,
                    format!(
                        "{lower}() needs a {} here, but this is a {}",
                        if want == ValueType::Float {
                            "number"
                        } else {
                            want.name()
                        },
                        e.ty.name()
                    ),
                ));
            }
            resolved.push(e);
        }
        Ok(RExpr {
            kind: RKind::Scalar(func, resolved),
            ty,
            span,
        })
    }
}

/// A parameter's value as resolved literals.
enum Bound {
    One(RExpr),
    List(Vec<RExpr>),
}

/// The table kinds `SHOW TABLES` describes.
pub fn table_kind_name(kind: &TableKind) -> &'static str {
    match kind {
        TableKind::Logs => "logs",
        TableKind::Spans => "spans",
        TableKind::Metrics => "metrics",
        TableKind::MetricNamespace { .. } => "metric namespace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    #[test]
    fn bucket_picks_the_smallest_step_with_at_most_300_buckets() {
        let to = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let step = |range: TimeDelta| format_step(auto_bucket_step(to - range, to));
        assert_eq!(step(TimeDelta::minutes(5)), "1s");
        assert_eq!(step(TimeDelta::seconds(301)), "5s");
        assert_eq!(step(TimeDelta::hours(1)), "15s");
        assert_eq!(step(TimeDelta::hours(6)), "5m");
        assert_eq!(step(TimeDelta::hours(24)), "5m");
        assert_eq!(step(TimeDelta::minutes(1501)), "10m");
        assert_eq!(step(TimeDelta::days(7)), "1h");
        assert_eq!(step(TimeDelta::days(30)), "3h");
        assert_eq!(step(TimeDelta::days(300)), "1d");
        assert_eq!(step(TimeDelta::days(3000)), "1d");
        assert_eq!(step(TimeDelta::milliseconds(1)), "1s");
    }

    #[test]
    fn steps_read_in_their_largest_whole_unit() {
        assert_eq!(format_step(90), "90s");
        assert_eq!(format_step(120), "2m");
        assert_eq!(format_step(10_800), "3h");
        assert_eq!(format_step(86_400), "1d");
        assert_eq!(format_step(1_209_600), "2w");
        assert_eq!(format_step(0), "0s");
    }
}
