//! Runs OQL for one org: parse, resolve against the org's catalog, plan, execute on
//! DataFusion under the per-query time and memory limits, and render the answer. The org
//! comes from the caller's credential; the only tables a query can reach are that org's.
//! Queries come with an optional time range and parameters ([`QueryRequest`]); people's run
//! at [`QueryEngine::run`], background work (alert evaluation) at
//! [`QueryEngine::run_background`], which never holds more than half the slots. Slots are
//! shared fairly between orgs (`slots.rs`): while one org's query waits, every other org
//! starts at most one.
//! [`QueryEngine::check`] resolves a stored query without running it.
//! No HTTP here: the server's `routes::dsl` maps [`QueryError`] to responses.

mod counted;
mod profile;
mod render;
mod slots;
mod stats;

use chrono::{DateTime, TimeDelta, Utc};
use datafusion::error::DataFusionError;
use datafusion::execution::cache::cache_manager::{
    CacheManager, CacheManagerConfig, FileMetadataCache,
};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use hexcovery_oql::catalog::{TableDef, ValueType};
use hexcovery_oql::plan::scanned_table;
use hexcovery_oql::rebucket;
use hexcovery_oql::resolve::{Resolved, format_step, table_kind_name};
use hexcovery_oql::tables::org_tables;
use hexcovery_oql::{Context, OqlError, Params, PlanError};
use hexcovery_store::schema::{LOGS, METRICS, SPANS};
use hexcovery_store::{Signal, TelemetryStore};
use profile::Profile;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub use hexcovery_oql::ParamValue;
pub use hexcovery_oql::range::{BoundError, parse_bound, parse_bound_str};
pub use hexcovery_oql::rebucket::{NotBucketable, ValueAggregate};
pub use stats::ScanStats;

/// One query to run: its text, the time range it gets when the text has none, and the
/// values of its `$name` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    pub text: String,
    /// `[from, to)` for a query whose text has no time range (a range in the text wins);
    /// `None`: the last hour.
    pub range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// `$name` → value. Names the query does not use are ignored.
    pub params: BTreeMap<String, ParamValue>,
    /// `false` refuses a time range in the text (`oql_time_range_not_allowed`), as for
    /// panel and alert queries, whose range comes from the dashboard or the rule.
    pub allow_time_range: bool,
    /// Adds a time bucket of this step (whole seconds) to the resolved SELECT as its first
    /// output column (`bucket`) and first GROUP BY key
    /// ([`hexcovery_oql::rebucket::bucket_by`]): one row per bucket and group. For a query
    /// that aggregates and has no `bucket()` of its own; others are `Invalid`. Never spliced
    /// into the text. The alert preview's fast path runs a rule's query so.
    pub bucket_by: Option<TimeDelta>,
    /// Rows returned at most instead of the engine's `max_rows` — for internal callers whose
    /// one query stands for many (the preview's bucketed query for up to 1 440 per-tick
    /// ones); the HTTP API never sets it.
    pub row_limit: Option<usize>,
}

impl QueryRequest {
    /// `text` over the last hour (or its own range), without parameters.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            range: None,
            params: BTreeMap::new(),
            allow_time_range: true,
            bucket_by: None,
            row_limit: None,
        }
    }

    pub fn with_range(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.range = Some((from, to));
        self
    }

    pub fn with_params(mut self, params: BTreeMap<String, ParamValue>) -> Self {
        self.params = params;
        self
    }

    pub fn without_time_range(mut self) -> Self {
        self.allow_time_range = false;
        self
    }

    /// See [`QueryRequest::bucket_by`].
    pub fn with_bucket_by(mut self, step: TimeDelta) -> Self {
        self.bucket_by = Some(step);
        self
    }

    /// See [`QueryRequest::row_limit`].
    pub fn with_row_limit(mut self, rows: usize) -> Self {
        self.row_limit = Some(rows);
        self
    }
}

/// A stored query to check without running it (saved queries, dashboard panels, alerts).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    pub text: String,
    /// `false`: a time range in the text is refused (`oql_time_range_not_allowed`, its span).
    pub allow_time_range: bool,
    /// Values to check with (a dashboard variable's default, say).
    pub params: BTreeMap<String, ParamValue>,
    /// Parameters whose values come only at run time (a dashboard's variables): `$name` for
    /// these passes the check; any other unbound `$name` is `oql_unknown`.
    pub declared: BTreeSet<String>,
}

impl CheckRequest {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            allow_time_range: true,
            params: BTreeMap::new(),
            declared: BTreeSet::new(),
        }
    }

    pub fn without_time_range(mut self) -> Self {
        self.allow_time_range = false;
        self
    }

    pub fn with_params(mut self, params: BTreeMap<String, ParamValue>) -> Self {
        self.params = params;
        self
    }

    pub fn with_declared<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.declared = names.into_iter().map(Into::into).collect();
        self
    }
}

/// What kind of statement a checked query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    Select,
    ShowTables,
    Describe,
}

/// What a check learned about a valid query: the shape of the answer it will give.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Checked {
    pub kind: StatementKind,
    /// The answer's columns, as the resolver types them.
    pub columns: Vec<Column>,
    /// Index in `columns` of the first `bucket()` item (a time series' time axis).
    pub bucket_column: Option<usize>,
    /// Indices in `columns` of the items that are GROUP BY keys (the bucket included when it
    /// is one): an alert's labels are these minus the bucket.
    pub group_by_columns: Vec<usize>,
    /// Index of the column an alert reads as its value: the one named `value`, else the last
    /// integer or float column.
    pub value_column: Option<usize>,
    /// The alert value's aggregate when it is a bare `count(…)`, `sum(x)`, `min(x)` or
    /// `max(x)` (the value as the evaluator picks it: [`hexcovery_oql::rebucket::value_item`]).
    #[serde(serialize_with = "value_aggregate_name")]
    pub value_aggregate: Option<ValueAggregate>,
    /// Why the answer over a window cannot be combined from per-bucket answers
    /// ([`hexcovery_oql::rebucket::bucketable`]); `None`: it can, as `value_aggregate` says —
    /// run it with [`QueryRequest::bucket_by`] once over a long range instead of once per
    /// window.
    #[serde(serialize_with = "not_bucketable_code")]
    pub not_bucketable: Option<NotBucketable>,
    /// Whether the query aggregates (GROUP BY or aggregates).
    pub aggregate: bool,
    /// Whether the text holds a time range.
    pub has_time_range: bool,
    /// The `$name` parameters the query uses (names without `$`).
    pub params: Vec<String>,
}

fn value_aggregate_name<S: serde::Serializer>(
    value: &Option<ValueAggregate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_some(&value.map(ValueAggregate::as_str))
}

fn not_bucketable_code<S: serde::Serializer>(
    value: &Option<NotBucketable>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_some(&value.as_ref().map(NotBucketable::code))
}

/// Who is waiting for a query: a person (all slots) or background work such as alert
/// evaluation (at most half the slots, at least one), so people always get a slot. Within
/// an org the two take turns when both wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Interactive,
    Background,
}

/// Limits every query runs under.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    /// Wall-clock time from arrival (waiting for a slot included) to the last row.
    pub timeout: Duration,
    /// Memory the query's operators (aggregation tables, sorts) may hold.
    pub memory_bytes: usize,
    /// Rows returned at most; more are cut and the answer says `truncated`.
    pub max_rows: usize,
    /// Queries executing at once; more wait (within their time limit), queued per org: a
    /// freed slot goes to the waiting org holding the fewest, served longest ago.
    /// Background queries hold at most `max(1, concurrency / 2)` of them.
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
    /// Every slot stayed taken for the whole time limit: the server was busy, the query
    /// itself never ran.
    #[error("no query slot came free within the time limit of {} s: the server is busy", .0.as_secs_f64())]
    Busy(Duration),
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

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: &'static str,
}

/// Executes OQL with shared limits, on a Tokio runtime of its own.
#[derive(Clone)]
pub struct QueryEngine {
    limits: Arc<QueryLimits>,
    /// The slots, shared fairly between orgs; background work holds at most half.
    slots: slots::Slots,
    runtime: Arc<QueryRuntime>,
    /// Parquet footers and page indexes, shared by every query's session (files never change
    /// once written; their paths hold the org, and a query reads only its org's files).
    metadata_cache: Arc<FileMetadataCache>,
    /// Whether counts over whole files come from their stored counts (`counted`); off only
    /// to compare against the rows.
    file_counts: bool,
}

/// How much parsed Parquet metadata the engine keeps: about a thousand files' worth.
const METADATA_CACHE_BYTES: usize = 128 << 20;

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
        let slots = slots::Slots::new(limits.concurrency);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
            .thread_name("hexcovery-query")
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("starting the query runtime: {e}"))?;
        let caches = CacheManager::try_new(
            &CacheManagerConfig::default().with_metadata_cache_limit(METADATA_CACHE_BYTES),
        )?;
        Ok(Self {
            limits: Arc::new(limits),
            slots,
            runtime: Arc::new(QueryRuntime(Some(runtime))),
            metadata_cache: caches.get_file_metadata_cache(),
            file_counts: true,
        })
    }

    /// With `false`, every answer is computed from rows, never from the files' stored
    /// counts (to check that both agree).
    pub fn with_file_counts(mut self, on: bool) -> Self {
        self.file_counts = on;
        self
    }

    /// The limits every query runs under.
    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// Answers `request` over `org`'s telemetry as of `now`, for a person waiting.
    pub async fn run(
        &self,
        store: &TelemetryStore,
        org: Uuid,
        request: &QueryRequest,
        now: DateTime<Utc>,
    ) -> Result<Answer, QueryError> {
        self.run_as(Priority::Interactive, store, org, request, now)
            .await
    }

    /// [`run`](Self::run) for background work (alert evaluation): the same limits, but
    /// background queries together hold at most `max(1, concurrency / 2)` slots. An
    /// evaluator at tick `t` runs `QueryRequest::new(q).with_range(t - window, t)` at `now = t`.
    pub async fn run_background(
        &self,
        store: &TelemetryStore,
        org: Uuid,
        request: &QueryRequest,
        now: DateTime<Utc>,
    ) -> Result<Answer, QueryError> {
        self.run_as(Priority::Background, store, org, request, now)
            .await
    }

    /// Runs `request` at `priority`; the time limit counts from here, waiting included.
    pub async fn run_as(
        &self,
        priority: Priority,
        store: &TelemetryStore,
        org: Uuid,
        request: &QueryRequest,
        now: DateTime<Utc>,
    ) -> Result<Answer, QueryError> {
        let started = Instant::now();
        let timeout = self.limits.timeout;
        let (engine, store, request) = (self.clone(), store.clone(), request.clone());
        // Whether the query got a slot before its time ran out: waiting alone is `Busy`.
        let started_work = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = started_work.clone();
        let work = async move {
            // Leaves the org's queue if the time runs out or the caller goes away first.
            let _slot = engine.slots.acquire(org, priority).await;
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
            engine.answer(&store, org, &request, now).await
        };
        let mut task = AbortOnDrop(
            self.runtime
                .handle()
                .spawn(async move { tokio::time::timeout(timeout, work).await }),
        );
        let mut answer = (&mut task.0)
            .await
            .map_err(|e| anyhow::anyhow!("the query task failed: {e}"))?
            .map_err(|_| {
                if started_work.load(std::sync::atomic::Ordering::Relaxed) {
                    QueryError::Timeout(timeout)
                } else {
                    QueryError::Busy(timeout)
                }
            })??;
        answer.stats.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(answer)
    }

    /// Checks `request.text` against `org`'s catalog without running it: it parses, every
    /// name exists, types fit, parameters are bound or declared, and (if asked) it holds no
    /// time range. Errors are [`QueryError::Invalid`] with the position, as from `run`.
    pub async fn check(
        &self,
        store: &TelemetryStore,
        org: Uuid,
        request: &CheckRequest,
    ) -> Result<Checked, QueryError> {
        let text = request.text.as_str();
        let statement = hexcovery_oql::parse(text).map_err(|e| invalid(text, e))?;
        let catalog = catalog(store, org).await?;
        let params = Params {
            values: request.params.clone(),
            declared: request.declared.clone(),
        };
        let mut context = Context::at(Utc::now()).with_params(&params);
        if !request.allow_time_range {
            context = context.without_time_range();
        }
        let resolved = hexcovery_oql::resolve(text, &statement, &catalog, &context)
            .map_err(|e| invalid(text, e))?;
        let used: Vec<String> = hexcovery_oql::params::parameters(&statement)
            .into_iter()
            .collect();
        let fixed = |kind, columns: Vec<Column>| Checked {
            kind,
            columns,
            bucket_column: None,
            group_by_columns: Vec::new(),
            value_column: None,
            value_aggregate: None,
            not_bucketable: Some(NotBucketable::NotAggregate),
            aggregate: false,
            has_time_range: false,
            params: Vec::new(),
        };
        Ok(match resolved {
            Resolved::ShowTables => fixed(StatementKind::ShowTables, text_columns(SHOW_TABLES)),
            Resolved::Describe(_) => fixed(StatementKind::Describe, text_columns(DESCRIBE)),
            Resolved::Select(query) => {
                let columns: Vec<Column> = query
                    .items
                    .iter()
                    .map(|i| Column {
                        name: i.name.clone(),
                        ty: i.expr.ty.name(),
                    })
                    .collect();
                let numeric = |i: &usize| {
                    matches!(
                        query.items[*i].expr.ty,
                        ValueType::Integer | ValueType::Float
                    )
                };
                let value_column = query
                    .items
                    .iter()
                    .position(|i| i.name == "value")
                    .or_else(|| (0..query.items.len()).rev().find(numeric));
                let has_time_range = matches!(
                    &statement,
                    hexcovery_oql::ast::Statement::Select(s) if s.time_range.is_some()
                );
                let value_aggregate = rebucket::value_item(&query)
                    .and_then(|i| ValueAggregate::of(&query.items[i].expr));
                Checked {
                    kind: StatementKind::Select,
                    bucket_column: query.bucket_item(),
                    group_by_columns: query.group_key_items(),
                    value_column,
                    value_aggregate,
                    not_bucketable: rebucket::bucketable(&query).err(),
                    aggregate: query.aggregate,
                    has_time_range,
                    params: used,
                    columns,
                }
            }
        })
    }

    async fn answer(
        &self,
        store: &TelemetryStore,
        org: Uuid,
        request: &QueryRequest,
        now: DateTime<Utc>,
    ) -> Result<Answer, QueryError> {
        let text = request.text.as_str();
        let invalid = |error: OqlError| invalid(text, error);
        let mut profile = Profile::start();
        let statement = hexcovery_oql::parse(text).map_err(invalid)?;
        let catalog = catalog(store, org).await?;
        let params = Params::new(request.params.clone());
        let mut context = Context::at(now).with_params(&params);
        if let Some((from, to)) = request.range {
            context = context.with_range(from, to);
        }
        if !request.allow_time_range {
            context = context.without_time_range();
        }
        let mut query =
            match hexcovery_oql::resolve(text, &statement, &catalog, &context).map_err(invalid)? {
                Resolved::ShowTables => return Ok(show_tables(&catalog)),
                Resolved::Describe(table) => {
                    let promoted = promoted_columns(store, org, &table).await?;
                    return Ok(describe(&table, &promoted));
                }
                Resolved::Select(query) => query,
            };
        if let Some(step) = request.bucket_by {
            let seconds = (step.subsec_nanos() == 0)
                .then(|| u64::try_from(step.num_seconds()).ok())
                .flatten()
                .unwrap_or(0);
            rebucket::bucket_by(&mut query, seconds).map_err(invalid)?;
        }
        let max_rows = request.row_limit.unwrap_or(self.limits.max_rows);
        profile.mark("parse+resolve");
        let signal = match scanned_table(&query.table.kind) {
            "logs" => Signal::Logs,
            "spans" => Signal::Spans,
            _ => Signal::Metrics,
        };
        let table = store.table(org, signal).await?;
        let source = datafusion::datasource::provider_as_source(table.clone());
        let plan = hexcovery_oql::plan(&query, source).map_err(|e| match e {
            PlanError::Oql(error) => invalid(error),
            PlanError::DataFusion(e) => QueryError::Internal(e.into()),
        })?;
        let (plan, counted) = if self.file_counts {
            counted::rewrite(plan, &table).map_err(|e| QueryError::Internal(e.into()))?
        } else {
            (plan, counted::CountedUse::default())
        };
        // One row past the cap tells whether the answer was cut.
        let plan = LogicalPlanBuilder::from(plan)
            .limit(0, Some(max_rows.saturating_add(1)))
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| QueryError::Internal(e.into()))?;
        profile.mark("plan");
        let ctx = self.session(store)?;
        profile.mark("session");
        let physical = physical_plan(&ctx, plan)
            .await
            .map_err(|e| self.failure(e))?;
        profile.mark("physical");
        let batches = datafusion::physical_plan::collect(physical.clone(), ctx.task_ctx())
            .await
            .map_err(|e| self.failure(e))?;
        profile.mark("execute");
        let mut rows = render::rows(&batches)?;
        profile.mark("render");
        profile.finish(text, &physical);
        let truncated = rows.len() > max_rows;
        rows.truncate(max_rows);
        let names = query.items.iter().map(|i| i.name.clone());
        let types = physical.schema();
        let columns = names
            .zip(types.fields().iter())
            .map(|(name, field)| Column {
                name,
                ty: hexcovery_oql::tables::value_type(field.data_type()).name(),
            })
            .collect();
        let mut stats = ScanStats::of(&physical);
        stats.files_counted = counted.files;
        stats.rows_counted = counted.rows;
        stats.bucket = query.bucket.map(format_step);
        Ok(Answer {
            columns,
            rows,
            truncated,
            stats,
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
            .with_cache_manager(
                CacheManagerConfig::default()
                    .with_file_metadata_cache(Some(self.metadata_cache.clone()))
                    .with_metadata_cache_limit(METADATA_CACHE_BYTES),
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

async fn physical_plan(
    ctx: &SessionContext,
    plan: datafusion::logical_expr::LogicalPlan,
) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>, DataFusionError> {
    ctx.execute_logical_plan(plan)
        .await?
        .create_physical_plan()
        .await
}

/// An OQL error with the line and column of its span in `text`.
fn invalid(text: &str, error: OqlError) -> QueryError {
    let at = error.span.line_col(text);
    QueryError::Invalid {
        error,
        line: at.line,
        column: at.column,
    }
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

/// The columns `SHOW TABLES` and `DESCRIBE` answer.
const SHOW_TABLES: &[&str] = &["table", "kind"];
const DESCRIBE: &[&str] = &["column", "type", "metric"];

/// `SHOW TABLES`: one row per table — its name and kind.
fn show_tables(catalog: &[TableDef]) -> Answer {
    let rows = catalog
        .iter()
        .map(|t| vec![Value::from(t.name.clone()), table_kind_name(&t.kind).into()])
        .collect();
    Answer {
        columns: text_columns(SHOW_TABLES),
        rows,
        truncated: false,
        stats: ScanStats::default(),
    }
}

/// The map values some of the table's files store as columns of their own
/// (`attributes['http.route']`), for `DESCRIBE`: logs and spans only.
async fn promoted_columns(
    store: &TelemetryStore,
    org: Uuid,
    table: &TableDef,
) -> anyhow::Result<Vec<String>> {
    use hexcovery_oql::catalog::TableKind;
    let signal = match table.kind {
        TableKind::Logs => Signal::Logs,
        TableKind::Spans => Signal::Spans,
        _ => return Ok(Vec::new()),
    };
    let table = store.table(org, signal).await?;
    Ok(table.promoted_columns().map(str::to_owned).collect())
}

/// `DESCRIBE t`: one row per column — name, type, and for namespace columns the metric —
/// then one per promoted map value (`attributes['http.route']`, a string), so completion and
/// the schema page know which keys read as fast as columns.
fn describe(table: &TableDef, promoted: &[String]) -> Answer {
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
        .chain(promoted.iter().map(|name| {
            vec![
                name.clone().into(),
                ValueType::String.name().into(),
                Value::Null,
            ]
        }))
        .collect();
    Answer {
        columns: text_columns(DESCRIBE),
        rows,
        truncated: false,
        stats: ScanStats::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexcovery_store::StoreConfig;

    async fn store() -> (tempfile::TempDir, TelemetryStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = TelemetryStore::open(StoreConfig::new(dir.path()))
            .await
            .unwrap();
        (dir, store)
    }

    fn count_logs() -> QueryRequest {
        QueryRequest::new("SELECT count(*) FROM logs")
    }

    #[tokio::test]
    async fn waiting_for_a_slot_past_the_time_limit_is_busy_and_says_so() {
        let (_dir, store) = store().await;
        let engine = QueryEngine::new(QueryLimits {
            timeout: Duration::from_millis(100),
            concurrency: 1,
            ..QueryLimits::default()
        })
        .unwrap();
        // Another query holds the only slot for longer than this one may take.
        let busy = engine
            .slots
            .acquire(Uuid::now_v7(), Priority::Interactive)
            .await;
        let error = engine
            .run(&store, Uuid::now_v7(), &count_logs(), Utc::now())
            .await
            .unwrap_err();
        assert!(
            matches!(error, QueryError::Busy(limit) if limit == Duration::from_millis(100)),
            "waiting for a slot the whole time is busy, not slow: {error:?}"
        );
        assert_eq!(
            engine.slots.waiting(),
            0,
            "the query that gave up left the queue"
        );
        drop(busy);
        let answer = engine
            .run(&store, Uuid::now_v7(), &count_logs(), Utc::now())
            .await
            .unwrap();
        assert_eq!(answer.rows, vec![vec![Value::from(0)]]);
        assert_eq!(answer.stats.bucket, None);
    }

    #[tokio::test]
    async fn background_queries_leave_people_a_slot() {
        let (_dir, store) = store().await;
        let engine = QueryEngine::new(QueryLimits {
            timeout: Duration::from_millis(200),
            concurrency: 4,
            ..QueryLimits::default()
        })
        .unwrap();
        let org = Uuid::now_v7();
        // Background work holds its most: two of the four slots.
        let first = engine.slots.acquire(org, Priority::Background).await;
        let second = engine.slots.acquire(org, Priority::Background).await;
        assert_eq!(engine.slots.free(), 2);
        // A third background query waits (here, past its time limit)…
        let error = engine
            .run_background(&store, org, &count_logs(), Utc::now())
            .await
            .unwrap_err();
        assert!(matches!(error, QueryError::Busy(_)), "{error:?}");
        // …while a person's query runs at once, and people may take the other slots: the
        // org one (it holds at most all but one), another org the last.
        let answer = engine
            .run(&store, org, &count_logs(), Utc::now())
            .await
            .unwrap();
        assert_eq!(answer.rows, vec![vec![Value::from(0)]]);
        let third = engine.slots.acquire(org, Priority::Interactive).await;
        let fourth = engine
            .slots
            .acquire(Uuid::now_v7(), Priority::Interactive)
            .await;
        assert_eq!(engine.slots.free(), 0);
        drop((first, third));
        // Freed slots serve both again.
        engine
            .run_background(&store, org, &count_logs(), Utc::now())
            .await
            .unwrap();
        drop((second, fourth));

        // One slot in all: background work may still use it (at least one).
        let single = QueryEngine::new(QueryLimits {
            concurrency: 1,
            ..QueryLimits::default()
        })
        .unwrap();
        single
            .run_background(&store, org, &count_logs(), Utc::now())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn request_ranges_parameters_and_the_bucket_step() {
        let (_dir, store) = store().await;
        let engine = QueryEngine::new(QueryLimits::default()).unwrap();
        let org = Uuid::now_v7();
        let now = Utc::now();
        let request = QueryRequest::new(
            "SELECT bucket() AS t, count(*) FROM logs WHERE service IN ($services) GROUP BY t",
        )
        .with_range(now - chrono::TimeDelta::hours(6), now)
        .with_params(BTreeMap::from([(
            "services".to_string(),
            ParamValue::List(vec![ParamValue::String("'; DROP TABLE logs --".into())]),
        )]));
        let answer = engine.run(&store, org, &request, now).await.unwrap();
        assert_eq!(answer.stats.bucket.as_deref(), Some("5m"));
        assert!(answer.rows.is_empty());
        let error = engine
            .run(
                &store,
                org,
                &request.clone().with_params(BTreeMap::new()),
                now,
            )
            .await
            .unwrap_err();
        let QueryError::Invalid {
            error,
            line,
            column,
        } = error
        else {
            panic!("{error:?}")
        };
        assert_eq!((error.kind.code(), line, column), ("oql_unknown", 1, 60));
        let explicit = QueryRequest::new("SELECT bucket(90s), count(*) FROM logs GROUP BY 1");
        let answer = engine.run(&store, org, &explicit, now).await.unwrap();
        assert_eq!(answer.stats.bucket.as_deref(), Some("90s"));
        let error = engine
            .run(
                &store,
                org,
                &QueryRequest::new("SELECT count(*) FROM logs LAST 1h").without_time_range(),
                now,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, QueryError::Invalid { error, .. } if error.kind.code() == "oql_time_range_not_allowed"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_check_resolves_without_running_and_says_what_the_answer_holds() {
        let (_dir, store) = store().await;
        let engine = QueryEngine::new(QueryLimits::default()).unwrap();
        let org = Uuid::now_v7();
        let panel = "SELECT bucket() AS t, service, count(*) AS value FROM logs \
                     WHERE level = 'error' AND service IN ($service) GROUP BY t, service";
        let checked = engine
            .check(
                &store,
                org,
                &CheckRequest::new(panel)
                    .without_time_range()
                    .with_declared(["service"]),
            )
            .await
            .unwrap();
        assert_eq!(
            checked,
            Checked {
                kind: StatementKind::Select,
                columns: vec![
                    Column {
                        name: "t".into(),
                        ty: "timestamp"
                    },
                    Column {
                        name: "service".into(),
                        ty: "string"
                    },
                    Column {
                        name: "value".into(),
                        ty: "integer"
                    },
                ],
                bucket_column: Some(0),
                group_by_columns: vec![0, 1],
                value_column: Some(2),
                value_aggregate: Some(ValueAggregate::Count),
                not_bucketable: Some(NotBucketable::Bucketed),
                aggregate: true,
                has_time_range: false,
                params: vec!["service".into()],
            }
        );
        // Undeclared parameters, ranges where none may be, and bad names fail with positions.
        let check = |request: CheckRequest| {
            let (engine, store) = (engine.clone(), store.clone());
            async move { engine.check(&store, org, &request).await }
        };
        let code = |result: Result<Checked, QueryError>| match result {
            Err(QueryError::Invalid {
                error,
                line,
                column,
            }) => (error.kind.code().to_string(), line, column),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(check(CheckRequest::new(panel).without_time_range()).await),
            ("oql_unknown".into(), 1, 98)
        );
        assert_eq!(
            code(
                check(CheckRequest::new("SELECT count(*) FROM logs\nLAST 5m").without_time_range())
                    .await
            ),
            ("oql_time_range_not_allowed".into(), 2, 1)
        );
        assert!(
            check(CheckRequest::new("SELECT count(*) FROM logs LAST 5m"))
                .await
                .unwrap()
                .has_time_range
        );
        assert_eq!(
            code(check(CheckRequest::new("SELECT nope FROM logs")).await),
            ("oql_unknown".into(), 1, 8)
        );
        // The value is the last number when no column is named `value`.
        let checked = check(CheckRequest::new(
            "SELECT service, avg(severity_number), count(*), max(body) FROM logs GROUP BY service",
        ))
        .await
        .unwrap();
        assert_eq!(
            (
                checked.value_column,
                checked.bucket_column,
                checked.group_by_columns
            ),
            (Some(2), None, vec![0])
        );
        let checked = check(CheckRequest::new("SHOW TABLES")).await.unwrap();
        assert_eq!(checked.kind, StatementKind::ShowTables);
        // Whether the value is a bare aggregate whose windows combine from buckets.
        let table = [
            (
                "SELECT service, count(*) AS value FROM logs GROUP BY service",
                Some(ValueAggregate::Count),
                None,
            ),
            (
                "SELECT max(severity_number) FROM logs",
                Some(ValueAggregate::Max),
                None,
            ),
            (
                "SELECT service, count(*) AS value FROM logs GROUP BY service HAVING count(*) > 1",
                Some(ValueAggregate::Count),
                Some("having"),
            ),
            (
                "SELECT service, avg(severity_number) AS value FROM logs GROUP BY service",
                None,
                Some("value_not_combinable"),
            ),
            (
                "SELECT service, min(severity_number) + 1 AS value FROM logs GROUP BY service",
                None,
                Some("value_not_combinable"),
            ),
            ("SELECT body FROM logs", None, Some("not_aggregate")),
        ];
        for (text, aggregate, why_not) in table {
            let checked = check(CheckRequest::new(text)).await.unwrap();
            assert_eq!(
                (
                    checked.value_aggregate,
                    checked.not_bucketable.as_ref().map(NotBucketable::code)
                ),
                (aggregate, why_not),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn bucket_by_splits_the_answer_per_bucket_and_row_limits_override_the_cap() {
        let (_dir, store) = store().await;
        let engine = QueryEngine::new(QueryLimits {
            max_rows: 2,
            ..QueryLimits::default()
        })
        .unwrap();
        let org = Uuid::now_v7();
        let minute = 60_000_000_000u64;
        // Five minutes, one log in each, from two services, inside ingest's accepted window
        // (the last retention days up to an hour ahead).
        let hours_ago = (Utc::now() - TimeDelta::hours(3))
            .timestamp_nanos_opt()
            .unwrap() as u64;
        let start = hours_ago / minute * minute;
        let records: Vec<serde_json::Value> = (0..5u64)
            .map(|m| serde_json::json!({"timeUnixNano": (start + m * minute + 7).to_string()}))
            .collect();
        let body = serde_json::json!({"resourceLogs": [
            {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
             "scopeLogs": [{"logRecords": records[..3]}]},
            {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
             "scopeLogs": [{"logRecords": records[3..]}]},
        ]});
        let request = hexcovery_store::ExportRequest::decode_json(
            hexcovery_store::Signal::Logs,
            body.to_string().as_bytes(),
        )
        .unwrap();
        store.ingest(org, &request, None).await.unwrap();
        let from = DateTime::from_timestamp_nanos(start as i64);
        let to = from + TimeDelta::minutes(5);
        let query = QueryRequest::new(
            "SELECT service, count(*) AS value FROM logs GROUP BY service ORDER BY service",
        )
        .with_range(from, to)
        .without_time_range();
        let whole = engine.run(&store, org, &query, to).await.unwrap();
        assert_eq!(
            whole.rows,
            [
                vec![Value::from("api"), Value::from(3)],
                vec![Value::from("web"), Value::from(2)]
            ]
        );
        let bucketed = query.clone().with_bucket_by(TimeDelta::minutes(1));
        let answer = engine.run(&store, org, &bucketed, to).await.unwrap();
        let names: Vec<(&str, &str)> = answer
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty))
            .collect();
        assert_eq!(
            names,
            [
                ("bucket", "timestamp"),
                ("service", "string"),
                ("value", "integer")
            ]
        );
        assert_eq!(answer.stats.bucket.as_deref(), Some("1m"));
        // Five rows over an engine cap of two: cut, unless the request lifts the cap.
        assert!(answer.truncated);
        assert_eq!(answer.rows.len(), 2);
        let answer = engine
            .run(&store, org, &bucketed.clone().with_row_limit(100), to)
            .await
            .unwrap();
        assert!(!answer.truncated);
        let mut rows: Vec<(String, String, i64)> = answer
            .rows
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().to_string(),
                    r[1].as_str().unwrap().to_string(),
                    r[2].as_i64().unwrap(),
                )
            })
            .collect();
        rows.sort();
        let at = |m: i64| {
            (from + TimeDelta::minutes(m)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        };
        assert_eq!(
            rows,
            [
                (at(0), "api".into(), 1),
                (at(1), "api".into(), 1),
                (at(2), "api".into(), 1),
                (at(3), "web".into(), 1),
                (at(4), "web".into(), 1)
            ]
        );
        // Steps that are not whole seconds, and queries that cannot take a bucket, are refused.
        let refused = |request: QueryRequest| {
            let (engine, store) = (engine.clone(), store.clone());
            async move {
                matches!(
                    engine.run(&store, org, &request, to).await,
                    Err(QueryError::Invalid { .. })
                )
            }
        };
        assert!(refused(query.clone().with_bucket_by(TimeDelta::milliseconds(1_500))).await);
        assert!(refused(query.clone().with_bucket_by(TimeDelta::zero())).await);
        assert!(
            refused(
                QueryRequest::new("SELECT body FROM logs").with_bucket_by(TimeDelta::minutes(1))
            )
            .await
        );
        assert!(
            refused(
                QueryRequest::new("SELECT bucket(5m), count(*) FROM logs GROUP BY 1")
                    .with_bucket_by(TimeDelta::minutes(1))
            )
            .await
        );
    }
}
