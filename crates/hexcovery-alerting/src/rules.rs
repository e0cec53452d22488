//! What the evaluator needs from the rest of the system, as small seams: running a rule's
//! query over a window ([`RunQuery`], the query engine in production), and the metastore's
//! silences as the state machine reads them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
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
