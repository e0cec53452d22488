//! Runs OQL for one org: parse, resolve against the org's catalog, plan, execute on
//! DataFusion under the per-query time and memory limits, and render the answer. The org
//! comes from the caller's credential; the only tables a query can reach are that org's.
//! No HTTP here: `routes::dsl` maps [`QueryError`] to responses.

mod render;
mod stats;

use chrono::{DateTime, Utc};
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use hexcovery_oql::catalog::TableDef;
use hexcovery_oql::plan::scanned_table;
use hexcovery_oql::resolve::{Resolved, table_kind_name};
use hexcovery_oql::tables::org_tables;
use hexcovery_oql::{OqlError, PlanError};
use hexcovery_store::schema::{LOGS, METRICS, SPANS};
use hexcovery_store::{Signal, TelemetryStore};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use uuid::Uuid;

pub use stats::ScanStats;

/// Limits every query runs under.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    /// Wall-clock time from arrival (waiting for a slot included) to the last row.
    pub timeout: Duration,
    /// Memory the query's operators (aggregation tables, sorts) may hold.
    pub memory_bytes: usize,
    /// Rows returned at most; more are cut and the answer says `truncated`.
    pub max_rows: usize,
    /// Queries executing at once; more wait (within their time limit).
    pub concurrency: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            memory_bytes: 512 << 20,
            max_rows: 10_000,
            concurrency: 4,
        }
    }
}

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Not valid OQL for this org: `line`/`column` locate `error.span` in the text.
    #[error("{}", .error.message)]
    Invalid {
        error: OqlError,
        line: usize,
        column: usize,
    },
    #[error("the query did not finish within its time limit of {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the query needed more than its memory limit of {} MiB", .0 >> 20)]
    MemoryLimit(usize),
    /// The data made a valid query fail (e.g. integer division by zero).
    #[error("the query failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A query's answer, as SPEC §5 shapes it.
#[derive(Debug, serde::Serialize)]
pub struct Answer {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
    pub stats: ScanStats,
}

#[derive(Debug, serde::Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: &'static str,
}

/// Executes OQL with shared limits, on a Tokio runtime of its own.
#[derive(Clone)]
pub struct QueryEngine {
    limits: Arc<QueryLimits>,
    slots: Arc<Semaphore>,
    runtime: Arc<QueryRuntime>,
}

/// The runtime queries execute on. DataFusion operators are CPU-bound and may run for long
/// stretches between yields; on the server's runtime they would hold the workers that accept
/// telemetry and answer health checks. On their own threads, the OS shares the cores and
/// ingest keeps its latency (the query benchmark measures it under query load).
struct QueryRuntime(Option<tokio::runtime::Runtime>);

impl QueryRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("the runtime lives until drop")
            .handle()
    }
}

impl Drop for QueryRuntime {
    /// Dropping a runtime blocks, which is not allowed inside another runtime; queries still
    /// running are abandoned instead (their callers are gone).
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Aborts a query when its caller stops waiting (a client that hung up).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl QueryEngine {
    pub fn new(limits: QueryLimits) -> anyhow::Result<Self> {
        let slots = Arc::new(Semaphore::new(limits.concurrency.max(1)));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
            .thread_name("hexcovery-query")
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("starting the query runtime: {e}"))?;
        Ok(Self {
            limits: Arc::new(limits),
            slots,
            runtime: Arc::new(QueryRuntime(Some(runtime))),
        })
    }

    /// Answers `text` over `org`'s telemetry as of `now`.
    pub async fn run(
        &self,
        store: &TelemetryStore,
        org: Uuid,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Answer, QueryError> {
        let started = Instant::now();
        let timeout = self.limits.timeout;
        let (engine, store, text) = (self.clone(), store.clone(), text.to_string());
        let work = async move {
            let _slot = engine
                .slots
                .acquire()
                .await
                .map_err(|e| anyhow::anyhow!("query slots closed: {e}"))?;
            engine.answer(&store, org, &text, now).await
        };
        let mut task = AbortOnDrop(
            self.runtime
                .handle()
                .spawn(async move { tokio::time::timeout(timeout, work).await }),
        );
        let mut answer = (&mut task.0)
            .await
            .map_err(|e| anyhow::anyhow!("the query task failed: {e}"))?
            .map_err(|_| QueryError::Timeout(timeout))??;
        answer.stats.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(answer)
    }

    async fn answer(
        &self,
        store: &TelemetryStore,
        org: Uuid,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Answer, QueryError> {
        let invalid = |error: OqlError| {
            let at = error.span.line_col(text);
            QueryError::Invalid {
                error,
                line: at.line,
                column: at.column,
            }
        };
        let statement = hexcovery_oql::parse(text).map_err(invalid)?;
        let catalog = catalog(store, org).await?;
        let query =
            match hexcovery_oql::resolve(text, &statement, &catalog, now).map_err(invalid)? {
                Resolved::ShowTables => return Ok(show_tables(&catalog)),
                Resolved::Describe(table) => return Ok(describe(&table)),
                Resolved::Select(query) => query,
            };
        let signal = match scanned_table(&query.table.kind) {
            "logs" => Signal::Logs,
            "spans" => Signal::Spans,
            _ => Signal::Metrics,
        };
        let source =
            datafusion::datasource::provider_as_source(store.table_provider(org, signal).await?);
        let plan = hexcovery_oql::plan(&query, source).map_err(|e| match e {
            PlanError::Oql(error) => invalid(error),
            PlanError::DataFusion(e) => QueryError::Internal(e.into()),
        })?;
        // One row past the cap tells whether the answer was cut.
        let plan = LogicalPlanBuilder::from(plan)
            .limit(0, Some(self.limits.max_rows + 1))
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| QueryError::Internal(e.into()))?;
        let ctx = self.session(store)?;
        let (physical, batches) = execute(&ctx, plan).await.map_err(|e| self.failure(e))?;
        let mut rows = render::rows(&batches)?;
        let truncated = rows.len() > self.limits.max_rows;
        rows.truncate(self.limits.max_rows);
        let names = query.items.iter().map(|i| i.name.clone());
        let types = physical.schema();
        let columns = names
            .zip(types.fields().iter())
            .map(|(name, field)| Column {
                name,
                ty: hexcovery_oql::tables::value_type(field.data_type()).name(),
            })
            .collect();
        Ok(Answer {
            columns,
            rows,
            truncated,
            stats: ScanStats::of(&physical),
        })
    }

    fn session(&self, store: &TelemetryStore) -> Result<SessionContext, QueryError> {
        // No spilling: a query that needs more than its memory says so instead of filling the
        // disk the telemetry lives on.
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.limits.memory_bytes, 1.0)
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
            .map_err(|e| QueryError::Internal(e.into()))?;
        // Parquet filter pushdown (late materialisation) stays off: measured on the query
        // benchmark it made `level = 'error'` queries slower — a tenth of the rows scattered
        // over every page still means decoding every page, plus the selection bookkeeping.
        let config = SessionConfig::new().with_target_partitions(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        );
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        store.register_with(&ctx)?;
        Ok(ctx)
    }

    fn failure(&self, error: DataFusionError) -> QueryError {
        match error.find_root() {
            DataFusionError::ResourcesExhausted(_) => {
                QueryError::MemoryLimit(self.limits.memory_bytes)
            }
            DataFusionError::ArrowError(e, _) => QueryError::Failed(e.to_string()),
            // Type coercion and planning of a query the resolver accepted: the query, not the
            // server, is at fault — but say it, so the resolver learns to catch it earlier.
            DataFusionError::Execution(message)
            | DataFusionError::Plan(message)
            | DataFusionError::NotImplemented(message) => {
                tracing::warn!(%message, "DataFusion refused an OQL query the resolver accepted");
                QueryError::Failed(message.clone())
            }
            _ => QueryError::Internal(error.into()),
        }
    }
}

async fn execute(
    ctx: &SessionContext,
    plan: datafusion::logical_expr::LogicalPlan,
) -> Result<
    (
        Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        Vec<datafusion::arrow::record_batch::RecordBatch>,
    ),
    DataFusionError,
> {
    let physical = ctx
        .execute_logical_plan(plan)
        .await?
        .create_physical_plan()
        .await?;
    let batches = datafusion::physical_plan::collect(physical.clone(), ctx.task_ctx()).await?;
    Ok((physical, batches))
}

/// The org's tables: the three stored ones and its metric namespaces.
async fn catalog(store: &TelemetryStore, org: Uuid) -> anyhow::Result<Vec<TableDef>> {
    let names = store.metric_names(org).await?;
    Ok(org_tables(
        &LOGS,
        &SPANS,
        &METRICS,
        names.iter().map(String::as_str),
    ))
}

fn text_columns(names: &[&str]) -> Vec<Column> {
    names
        .iter()
        .map(|n| Column {
            name: (*n).into(),
            ty: "string",
        })
        .collect()
}

/// `SHOW TABLES`: one row per table — name, kind, and its metrics' count for namespaces.
fn show_tables(catalog: &[TableDef]) -> Answer {
    let rows = catalog
        .iter()
        .map(|t| vec![Value::from(t.name.clone()), table_kind_name(&t.kind).into()])
        .collect();
    Answer {
        columns: text_columns(&["table", "kind"]),
        rows,
        truncated: false,
        stats: ScanStats::default(),
    }
}

/// `DESCRIBE t`: one row per column — name, type, and for namespace columns the metric.
fn describe(table: &TableDef) -> Answer {
    use hexcovery_oql::catalog::TableKind;
    let metric_of = |column: &str| -> Value {
        match &table.kind {
            TableKind::MetricNamespace { metrics, .. } => metrics
                .iter()
                .find(|m| m.column == column)
                .map_or(Value::Null, |m| m.metric.clone().into()),
            _ => Value::Null,
        }
    };
    let rows = table
        .columns
        .iter()
        .map(|c| {
            vec![
                c.name.clone().into(),
                c.ty.name().into(),
                metric_of(&c.name),
            ]
        })
        .collect();
    Answer {
        columns: text_columns(&["column", "type", "metric"]),
        rows,
        truncated: false,
        stats: ScanStats::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use hexcovery_store::StoreConfig;

    #[tokio::test]
    async fn waiting_past_the_time_limit_is_a_timeout_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = TelemetryStore::open(StoreConfig::new(dir.path()))
            .await
            .unwrap();
        let engine = QueryEngine::new(QueryLimits {
            timeout: Duration::from_millis(100),
            concurrency: 1,
            ..QueryLimits::default()
        })
        .unwrap();
        // Another query holds the only slot for longer than this one may take.
        let _busy = engine.slots.clone().acquire_owned().await.unwrap();
        let error = engine
            .run(
                &store,
                Uuid::now_v7(),
                "SELECT count(*) FROM logs",
                Utc::now(),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, QueryError::Timeout(_)), "{error:?}");
        let api = ApiError::from(error);
        assert_eq!(
            (api.status().as_u16(), api.code.as_ref()),
            (422, "query_timeout")
        );
        assert_eq!(api.extra["limit_ms"], 100);
        drop(_busy);
        let answer = engine
            .run(
                &store,
                Uuid::now_v7(),
                "SELECT count(*) FROM logs",
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(answer.rows, vec![vec![Value::from(0)]]);
    }
}
