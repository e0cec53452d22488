//! The query substrate: a DataFusion table over one org's rows of one signal — the Parquet
//! files its manifest lists (pruned by time range before any file is opened, then by row-group
//! statistics) unioned with the rows still in memory. Built from a snapshot, so a query sees
//! each row exactly once even while flushes and compactions commit.

use crate::manifest::FileEntry;
use crate::schema::TIMESTAMP;
use crate::table::Snapshot;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExecBuilder;
use datafusion::physical_plan::union::UnionExec;
use std::sync::Arc;

/// The URL the telemetry object store is registered under in query sessions.
pub const STORE_URL: &str = "hexcovery://telemetry/";

#[derive(Debug)]
pub struct OrgTable {
    schema: SchemaRef,
    files: Vec<FileEntry>,
    memory: Vec<RecordBatch>,
}

impl OrgTable {
    pub fn new(schema: SchemaRef, snapshot: Snapshot) -> Self {
        Self {
            schema,
            files: snapshot.manifest.files.clone(),
            memory: snapshot.memory,
        }
    }

    /// How many files a scan over `[from, to)` opens (pruning is observable in tests).
    pub fn files_for(&self, from: Option<i64>, to: Option<i64>) -> usize {
        self.files.iter().filter(|f| f.overlaps(from, to)).count()
    }
}

/// The bounds `[from, to)` (ns) a filter of the shape `timestamp <op> <literal>` sets, with
/// `<op>` one of `>= > < <= =`; `None` for any other filter.
fn time_bound(expr: &Expr) -> Option<(Option<i64>, Option<i64>)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return None;
    };
    let (op, value) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c), Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _))
            if c.name == TIMESTAMP =>
        {
            (*op, *v)
        }
        (Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _), Expr::Column(c))
            if c.name == TIMESTAMP =>
        {
            (op.swap()?, *v)
        }
        _ => return None,
    };
    // A bound past the end of time (`< i64::MAX + 1`) is no bound.
    match op {
        Operator::GtEq => Some((Some(value), None)),
        Operator::Gt => Some((value.checked_add(1)?.into(), None)),
        Operator::Lt => Some((None, Some(value))),
        Operator::LtEq => Some((None, value.checked_add(1)?.into())),
        Operator::Eq => Some((Some(value), value.checked_add(1)?.into())),
        _ => None,
    }
}

/// Bounds `[from, to)` on `timestamp` implied by conjunctive filters; unknown shapes are
/// ignored (they only make the bounds looser).
pub fn timestamp_bounds(filters: &[Expr]) -> (Option<i64>, Option<i64>) {
    let (mut from, mut to): (Option<i64>, Option<i64>) = (None, None);
    for filter in filters {
        for expr in split_conjunction(filter) {
            let Some((lower, upper)) = time_bound(expr) else {
                continue;
            };
            if let Some(l) = lower {
                from = Some(from.map_or(l, |f| f.max(l)));
            }
            if let Some(u) = upper {
                to = Some(to.map_or(u, |t| t.min(u)));
            }
        }
    }
    (from, to)
}

#[async_trait]
impl TableProvider for OrgTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Time bounds are applied here, exactly, and only to files straddling them (most
        // files of a range lie wholly inside it and need no per-row check). Other filters
        // prune files and row groups; DataFusion still applies them to every row.
        Ok(filters
            .iter()
            .map(|f| {
                if time_bound(f).is_some() {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (from, to) = timestamp_bounds(filters);
        let time_filter = conjunction(filters.iter().filter(|f| time_bound(f).is_some()).cloned());
        // The predicate handed to Parquet prunes row groups and, where the session enables
        // filter pushdown, filters rows while decoding; in files wholly inside the time range
        // the time bounds would only cost work.
        let prune = conjunction(filters.iter().cloned());
        let prune_whole = conjunction(filters.iter().filter(|f| time_bound(f).is_none()).cloned());
        let inside =
            |min: i64, max: i64| from.is_none_or(|f| min >= f) && to.is_none_or(|t| max < t);
        let (mut whole, mut straddling) = (Vec::new(), Vec::new());
        for file in self.files.iter().filter(|f| f.overlaps(from, to)) {
            let part = PartitionedFile::new(file.path.clone(), file.bytes);
            if time_filter.is_none() || inside(file.min_ts, file.max_ts) {
                whole.push(part);
            } else {
                straddling.push(part);
            }
        }
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        if !whole.is_empty() {
            inputs.push(self.parquet(state, whole, &wanted, prune_whole.as_ref(), limit)?);
        }
        let Some(time_filter) = time_filter else {
            if !self.memory.is_empty() {
                inputs.push(self.memory(&wanted, limit)?);
            }
            return self.union(inputs, &wanted);
        };
        // The rest reads `timestamp` too, keeps the rows in range, then drops it again.
        let timestamp = self.schema.index_of(TIMESTAMP)?;
        let mut with_time = wanted.clone();
        if !with_time.contains(&timestamp) {
            with_time.push(timestamp);
        }
        let mut checked = Vec::new();
        if !straddling.is_empty() {
            checked.push(self.parquet(state, straddling, &with_time, prune.as_ref(), None)?);
        }
        if !self.memory.is_empty() {
            checked.push(self.memory(&with_time, None)?);
        }
        let scanned_schema = DFSchema::try_from(self.schema.project(&with_time)?)?;
        let predicate = state.create_physical_expr(time_filter, &scanned_schema)?;
        for input in checked {
            let filter = FilterExecBuilder::new(predicate.clone(), input)
                .apply_projection(Some((0..wanted.len()).collect()))?
                .build()?;
            inputs.push(Arc::new(filter));
        }
        self.union(inputs, &wanted)
    }
}

impl OrgTable {
    /// A scan of `files` reading the columns `columns` (table indices).
    fn parquet(
        &self,
        state: &dyn Session,
        files: Vec<PartitionedFile>,
        columns: &[usize],
        prune: Option<&Expr>,
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut source = ParquetSource::new(self.schema.clone())
            .with_table_parquet_options(state.table_options().parquet.clone());
        if let Some(predicate) = prune {
            let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
            source =
                source.with_predicate(state.create_physical_expr(predicate.clone(), &df_schema)?);
        }
        let config =
            FileScanConfigBuilder::new(ObjectStoreUrl::parse(STORE_URL)?, Arc::new(source))
                .with_file_group(FileGroup::new(files))
                .with_projection_indices(Some(columns.to_vec()))?
                .with_limit(limit)
                .build();
        Ok(DataSourceExec::from_data_source(config))
    }

    fn memory(&self, columns: &[usize], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let memory = MemorySourceConfig::try_new(
            std::slice::from_ref(&self.memory),
            self.schema.clone(),
            Some(columns.to_vec()),
        )?
        .with_limit(limit);
        Ok(DataSourceExec::from_data_source(memory))
    }

    fn union(
        &self,
        inputs: Vec<Arc<dyn ExecutionPlan>>,
        columns: &[usize],
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match inputs.len() {
            0 => Ok(Arc::new(EmptyExec::new(Arc::new(
                self.schema.project(columns)?,
            )))),
            1 => Ok(inputs.into_iter().next().expect("one input")),
            _ => UnionExec::try_new(inputs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn ts(v: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(v),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn bounds_come_from_comparisons_on_timestamp() {
        let filters = [
            col(TIMESTAMP)
                .gt_eq(ts(100))
                .and(col(TIMESTAMP).lt(ts(200))),
            col("service").eq(lit("a")),
        ];
        assert_eq!(timestamp_bounds(&filters), (Some(100), Some(200)));
        assert_eq!(
            timestamp_bounds(&[ts(50).lt_eq(col(TIMESTAMP))]),
            (Some(50), None)
        );
        assert_eq!(
            timestamp_bounds(&[col(TIMESTAMP).gt(ts(1)).or(col(TIMESTAMP).lt(ts(0)))]),
            (None, None)
        );
    }
}
