//! [`RunQuery`] on the query engine: a rule's query over its window on the engine's
//! background slots, so evaluation never takes every slot from people.

use crate::rules::{QueryFailure, QueryResult, RunQuery};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hexcovery_query::{QueryEngine, QueryError, QueryRequest};
use hexcovery_store::TelemetryStore;
use uuid::Uuid;

pub struct EngineQueries {
    pub engine: QueryEngine,
    pub store: TelemetryStore,
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
        match self.engine.run_background(&self.store, org, &request, to).await {
            Ok(answer) => {
                let columns: Vec<(String, String)> = answer
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.to_string()))
                    .collect();
                Ok(QueryResult {
                    bucket: QueryResult::time_column(&columns),
                    columns,
                    rows: answer.rows,
                })
            }
            Err(error) => {
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
                Err(QueryFailure { message, retryable })
            }
        }
    }
}
