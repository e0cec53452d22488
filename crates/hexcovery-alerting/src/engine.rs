//! [`RunQuery`] on the query engine: a rule's query over its window — or, for a preview,
//! bucketed over the whole range — at a priority: the evaluator's on the background slots,
//! so evaluation never takes every slot from people; previews as people's queries.

use crate::rules::{BucketedResult, QueryFailure, QueryResult, RunQuery};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_monitor::alert::Aggregate;
use hexcovery_query::{
    Answer, CheckRequest, Priority, QueryEngine, QueryError, QueryRequest, StatementKind,
    ValueAggregate,
};
use hexcovery_store::TelemetryStore;
use uuid::Uuid;

pub struct EngineQueries {
    pub engine: QueryEngine,
    pub store: TelemetryStore,
    /// `Background` for the evaluator (at most half the slots); `Interactive` for previews,
    /// which a person waits for and which must not take the evaluator's slots.
    pub priority: Priority,
}

#[async_trait]
impl RunQuery for EngineQueries {
    async fn run(
        &self,
        org: Uuid,
        query: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<QueryResult, QueryFailure> {
        let request = QueryRequest::new(query)
            .with_range(from, to)
            .without_time_range();
        match self
            .engine
            .run_as(self.priority, &self.store, org, &request, to)
            .await
        {
            Ok(answer) => {
                let columns = columns(&answer);
                Ok(QueryResult {
                    bucket: QueryResult::time_column(&columns),
                    columns,
                    rows: answer.rows,
                })
            }
            Err(error) => Err(failure(org, error)),
        }
    }

    async fn run_bucketed(
        &self,
        org: Uuid,
        query: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: TimeDelta,
        row_limit: usize,
    ) -> Result<Option<BucketedResult>, QueryFailure> {
        let checked = self
            .engine
            .check(
                &self.store,
                org,
                &CheckRequest::new(query).without_time_range(),
            )
            .await
            .map_err(|e| failure(org, e))?;
        let aggregate = match checked.value_aggregate {
            Some(ValueAggregate::Count) => Aggregate::Count,
            Some(ValueAggregate::Sum) => Aggregate::Sum,
            Some(ValueAggregate::Min) => Aggregate::Min,
            Some(ValueAggregate::Max) => Aggregate::Max,
            None => return Ok(None),
        };
        if checked.kind != StatementKind::Select || checked.not_bucketable.is_some() {
            return Ok(None);
        }
        let request = QueryRequest::new(query)
            .with_range(from, to)
            .without_time_range()
            .with_bucket_by(bucket)
            .with_row_limit(row_limit);
        let answer = self
            .engine
            .run_as(self.priority, &self.store, org, &request, to)
            .await
            .map_err(|e| failure(org, e))?;
        Ok(Some(BucketedResult {
            aggregate,
            grouped: !checked.group_by_columns.is_empty(),
            truncated: answer.truncated,
            window_row_limit: self.engine.limits().max_rows,
            result: QueryResult {
                columns: columns(&answer),
                rows: answer.rows,
                bucket: Some(0),
            },
        }))
    }
}

/// An answer's (name, type) per column.
fn columns(answer: &Answer) -> Vec<(String, String)> {
    answer
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.ty.to_string()))
        .collect()
}

/// A query error as the rule's owner reads it.
fn failure(org: Uuid, error: QueryError) -> QueryFailure {
    let retryable = !matches!(error, QueryError::Invalid { .. });
    let message = match &error {
        QueryError::Invalid { line, column, .. } => {
            format!("{error} (line {line}, column {column})")
        }
        QueryError::Internal(_) => "the query failed inside the server; it has been logged".into(),
        _ => error.to_string(),
    };
    if let QueryError::Internal(e) = &error {
        tracing::error!(%org, error = %format!("{e:#}"), "an alert query failed inside the server");
    }
    QueryFailure {
        busy: matches!(error, QueryError::Busy(_)),
        message,
        retryable,
    }
}
