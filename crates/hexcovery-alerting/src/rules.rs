//! What the evaluator needs from the rest of the system, as small seams: running a rule's
//! query over a window ([`RunQuery`], the query engine in production) — or, for previews,
//! once over a long range per time bucket — and the metastore's silences as the state
//! machine reads them.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_monitor::alert;
use serde_json::Value;
use uuid::Uuid;

/// A query's answer as the state machine reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// (name, type) per column, as the query engine names types.
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Value>>,
    /// The index of the time-bucket column, whose rows the rule's reducer folds.
    pub bucket: Option<usize>,
}

impl QueryResult {
    pub fn column_refs(&self) -> Vec<(&str, &str)> {
        self.columns
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect()
    }

    /// The bucket column of a result: its first `timestamp` column (a `bucket()` or a
    /// grouped timestamp — either way a time axis to fold).
    pub fn time_column(columns: &[(String, String)]) -> Option<usize> {
        columns.iter().position(|(_, ty)| ty == "timestamp")
    }
}

/// Why a query gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFailure {
    /// Said to the rule's owner (`last_error`): the OQL error or the limit it hit.
    pub message: String,
    /// Whether trying again in the same tick may help (limits and failures may; an invalid
    /// query will not).
    pub retryable: bool,
    /// The query never ran: every slot stayed taken for its whole time limit. That says
    /// nothing about the rule, so the evaluator defers the tick instead of applying
    /// `on_error`.
    pub busy: bool,
}

/// A rule's query answered once over a long range with one row per time bucket and group,
/// for a query whose windows combine from their buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketedResult {
    /// How a window's value combines from its buckets' values.
    pub aggregate: alert::Aggregate,
    /// The answer; its `bucket` column (the first) holds each bucket's start.
    pub result: QueryResult,
    /// Whether the query has GROUP BY keys. One without answers a row even for no rows (a
    /// count of 0), which buckets cannot show.
    pub grouped: bool,
    /// Whether the answer was cut at the row limit asked for.
    pub truncated: bool,
    /// Most rows the query answers over one window (the per-query cap): with more label sets
    /// than this, per-window answers would have been cut.
    pub window_row_limit: usize,
}

/// Runs a rule's query for an org over `[from, to)`, evaluated as of `to`.
#[async_trait]
pub trait RunQuery: Send + Sync + 'static {
    async fn run(
        &self,
        org: Uuid,
        query: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<QueryResult, QueryFailure>;

    /// Runs the query once over `[from, to)` with an extra time-bucket key of step `bucket`,
    /// answering at most `row_limit` rows — when each window's answer can be combined from
    /// its buckets (a bare count, sum, min or max; see `hexcovery_oql::rebucket`). `Ok(None)`:
    /// it cannot (or this source cannot bucket); run it per window instead.
    async fn run_bucketed(
        &self,
        org: Uuid,
        query: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: TimeDelta,
        row_limit: usize,
    ) -> Result<Option<BucketedResult>, QueryFailure> {
        let _ = (org, query, from, to, bucket, row_limit);
        Ok(None)
    }
}

/// Most instances (series) one rule may have; a result with more is an error the rule's
/// owner sees (`last_error`), handled by `on_error`, rather than thousands of alerts.
pub const MAX_INSTANCES_PER_RULE: usize = 1_000;

/// `outcome`, or a failure when it holds more series than a rule may have.
pub fn capped(outcome: alert::Outcome) -> alert::Outcome {
    match outcome {
        alert::Outcome::Series(series) if series.len() > MAX_INSTANCES_PER_RULE => {
            alert::Outcome::Failed(format!(
                "the query answered {} series; a rule may have at most {MAX_INSTANCES_PER_RULE} instances: group by fewer columns or filter",
                series.len()
            ))
        }
        other => other,
    }
}

/// A stored silence as the state machine matches it; `None` for one whose matchers no longer
/// compile (they were checked when saved, so only an incompatible version gets here).
pub fn silence_of(silence: &hexcovery_meta::Silence) -> Option<alert::Silence> {
    let matchers = silence
        .matchers
        .iter()
        .map(|m| {
            Some(alert::Matcher {
                label: m.label.clone(),
                op: alert::MatchOp::parse(&m.op)?,
                value: m.value.clone(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let silence = alert::Silence {
        matchers,
        rule_id: silence.rule_id.map(|r| r.to_string()),
        starts_at: silence.starts_at,
        ends_at: silence.ends_at,
    };
    silence.validate().is_empty().then_some(silence)
}
