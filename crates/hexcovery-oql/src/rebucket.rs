//! Re-bucketing a resolved query: the same SELECT with one more GROUP BY key — a time bucket
//! of a given step, as the first output column ([`bucket_by`]) — so one query over a long
//! range answers per-bucket rows a caller can combine into every window the step divides (the
//! alert preview's fast path); and whether that combination gives exactly what the query
//! itself would answer over each window ([`bucketable`]).
//!
//! A window's value can be combined from its buckets' only when the value is a bare `count`,
//! `sum`, `min` or `max`, every other column is a label fixed by the group, and nothing acts on
//! the whole answer (HAVING, LIMIT, DISTINCT would act per bucket instead of per window).

use crate::catalog::ValueType;
use crate::error::{OqlError, OqlErrorKind};
use crate::resolve::{Aggregate, Item, Query, RExpr, RKind};
use crate::span::Span;

/// The name of the column [`bucket_by`] adds.
pub const BUCKET_COLUMN: &str = "bucket";

/// Adds `bucket(<step_secs>)` to `query` as its first output column (named
/// [`BUCKET_COLUMN`]) and its first GROUP BY key: one row per bucket and group instead of one
/// per group. Everything else — filter, other keys, aggregates, HAVING, ORDER BY, LIMIT —
/// stays (resolved expressions hold no positions, so nothing shifts). Refused for a step of
/// zero, a query that already has a `bucket()`, and one that does not aggregate (its rows
/// have no groups to split).
pub fn bucket_by(query: &mut Query, step_secs: u64) -> Result<(), OqlError> {
    let refuse = |message: &str| OqlError {
        kind: OqlErrorKind::Type,
        message: message.into(),
        span: Span::default(),
        hint: None,
    };
    if step_secs == 0 {
        return Err(refuse("the bucket width must be positive"));
    }
    if query.bucket.is_some() {
        return Err(refuse(
            "the query already has a bucket(); it cannot be bucketed again",
        ));
    }
    if !query.aggregate {
        return Err(refuse(
            "only a query that aggregates can be bucketed: its rows have no groups to split",
        ));
    }
    let bucket = RExpr {
        kind: RKind::Bucket(step_secs),
        ty: ValueType::Timestamp,
        span: Span::default(),
    };
    query.items.insert(
        0,
        Item {
            name: BUCKET_COLUMN.into(),
            expr: bucket.clone(),
        },
    );
    query.group_by.insert(0, bucket);
    query.bucket = Some(step_secs);
    Ok(())
}

/// A bare aggregate whose per-bucket values combine into a window's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueAggregate {
    /// `count(*)` or `count(x)`: a window's count is the sum of its buckets'.
    Count,
    Sum,
    Min,
    Max,
}

impl ValueAggregate {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueAggregate::Count => "count",
            ValueAggregate::Sum => "sum",
            ValueAggregate::Min => "min",
            ValueAggregate::Max => "max",
        }
    }

    /// The expression's aggregate when it is exactly `count(…)`, `sum(x)`, `min(x)` or
    /// `max(x)` — not `count_distinct`, `avg` or a percentile, and not wrapped in anything.
    pub fn of(expr: &RExpr) -> Option<Self> {
        match &expr.kind {
            RKind::Aggregate(Aggregate::Count, _) => Some(ValueAggregate::Count),
            RKind::Aggregate(Aggregate::Sum, Some(_)) => Some(ValueAggregate::Sum),
            RKind::Aggregate(Aggregate::Min, Some(_)) => Some(ValueAggregate::Min),
            RKind::Aggregate(Aggregate::Max, Some(_)) => Some(ValueAggregate::Max),
            _ => None,
        }
    }
}

/// The select item an alert reads as its value, chosen as the alert evaluator chooses it: the
/// item named `value`, else one named so in any case, else the last integer or float item —
/// never a `bucket()` item.
pub fn value_item(query: &Query) -> Option<usize> {
    let bucket = query.bucket_item();
    let candidates = || {
        query
            .items
            .iter()
            .enumerate()
            .filter(move |(i, _)| Some(*i) != bucket)
    };
    candidates()
        .find(|(_, item)| item.name == "value")
        .or_else(|| candidates().find(|(_, item)| item.name.eq_ignore_ascii_case("value")))
        .or_else(|| {
            candidates()
                .rfind(|(_, item)| matches!(item.expr.ty, ValueType::Integer | ValueType::Float))
        })
        .map(|(i, _)| i)
}

/// Why a query's windows cannot be combined from its buckets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotBucketable {
    #[error("the query does not aggregate")]
    NotAggregate,
    #[error("the query has no value column")]
    NoValue,
    #[error("the value column `{0}` is not a number")]
    ValueNotNumeric(String),
    #[error("the value column `{0}` is not a bare count, sum, min or max")]
    ValueNotCombinable(String),
    #[error("the value column `{0}` sums floats: bucket sums added up round differently")]
    FloatSum(String),
    #[error("the query has HAVING, which would filter buckets instead of windows")]
    Having,
    #[error("the query has LIMIT, which would cut buckets instead of windows")]
    Limit,
    #[error("the query is SELECT DISTINCT")]
    Distinct,
    #[error("the query already has a bucket()")]
    Bucketed,
    #[error("the column `{0}` is an aggregate other than the value")]
    LabelAggregates(String),
    #[error("the column `{0}` is a time, which the evaluator folds as a time axis")]
    LabelIsTime(String),
    #[error("a GROUP BY key is not selected, so groups would share labels")]
    UnselectedGroupKey,
}

impl NotBucketable {
    pub fn code(&self) -> &'static str {
        match self {
            NotBucketable::NotAggregate => "not_aggregate",
            NotBucketable::NoValue => "no_value",
            NotBucketable::ValueNotNumeric(_) => "value_not_numeric",
            NotBucketable::ValueNotCombinable(_) => "value_not_combinable",
            NotBucketable::FloatSum(_) => "float_sum",
            NotBucketable::Having => "having",
            NotBucketable::Limit => "limit",
            NotBucketable::Distinct => "distinct",
            NotBucketable::Bucketed => "bucketed",
            NotBucketable::LabelAggregates(_) => "label_aggregates",
            NotBucketable::LabelIsTime(_) => "label_is_time",
            NotBucketable::UnselectedGroupKey => "unselected_group_key",
        }
    }
}

/// Whether each window's answer of `query` can be computed from its per-bucket answer under
/// [`bucket_by`] — and if so, how buckets combine. It can when:
/// - the query aggregates and has no `bucket()`, HAVING, LIMIT or DISTINCT (ORDER BY is fine:
///   it orders, it does not cut);
/// - its value column ([`value_item`]) is a bare `count(…)`, `sum(x)`, `min(x)` or `max(x)`
///   of integer or float type, and a sum is of integers (float sums combined from buckets
///   round differently from one sum over the window, and the answers must be identical);
/// - every other column is a label the group fixes: no aggregate and no time (a time column
///   is folded as a time axis by the evaluator), and every GROUP BY key is selected (else
///   several groups would share one label set).
pub fn bucketable(query: &Query) -> Result<ValueAggregate, NotBucketable> {
    if !query.aggregate {
        return Err(NotBucketable::NotAggregate);
    }
    if query.bucket.is_some() {
        return Err(NotBucketable::Bucketed);
    }
    if query.having.is_some() {
        return Err(NotBucketable::Having);
    }
    if query.limit.is_some() {
        return Err(NotBucketable::Limit);
    }
    if query.distinct {
        return Err(NotBucketable::Distinct);
    }
    let value_at = value_item(query).ok_or(NotBucketable::NoValue)?;
    let value = &query.items[value_at];
    if !matches!(value.expr.ty, ValueType::Integer | ValueType::Float) {
        return Err(NotBucketable::ValueNotNumeric(value.name.clone()));
    }
    let aggregate = ValueAggregate::of(&value.expr)
        .ok_or_else(|| NotBucketable::ValueNotCombinable(value.name.clone()))?;
    if aggregate == ValueAggregate::Sum && value.expr.ty != ValueType::Integer {
        return Err(NotBucketable::FloatSum(value.name.clone()));
    }
    for (i, item) in query.items.iter().enumerate() {
        if i == value_at {
            continue;
        }
        if item.expr.contains_aggregate() {
            return Err(NotBucketable::LabelAggregates(item.name.clone()));
        }
        if item.expr.ty == ValueType::Timestamp {
            return Err(NotBucketable::LabelIsTime(item.name.clone()));
        }
    }
    let selected: Vec<String> = query.items.iter().map(|i| i.expr.shape()).collect();
    if query
        .group_by
        .iter()
        .any(|key| !selected.contains(&key.shape()))
    {
        return Err(NotBucketable::UnselectedGroupKey);
    }
    Ok(aggregate)
}
