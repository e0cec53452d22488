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
use datafusion::common::{DFSchema, Result, ScalarValue, project_schema};
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

/// Bounds `[from, to)` on `timestamp` implied by conjunctive filters; unknown shapes are
/// ignored (they only make the bounds looser).
pub fn timestamp_bounds(filters: &[Expr]) -> (Option<i64>, Option<i64>) {
    let (mut from, mut to): (Option<i64>, Option<i64>) = (None, None);
    for filter in filters {
        for expr in split_conjunction(filter) {
            let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
                continue;
            };
            let (op, value) = match (left.as_ref(), right.as_ref()) {
                (
                    Expr::Column(c),
                    Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _),
                ) if c.name == TIMESTAMP => (*op, *v),
                (
                    Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _),
                    Expr::Column(c),
                ) if c.name == TIMESTAMP => match op.swap() {
                    Some(op) => (op, *v),
                    None => continue,
                },
                _ => continue,
            };
            let (lower, upper) = match op {
                Operator::GtEq => (Some(value), None),
                Operator::Gt => (value.checked_add(1), None),
                Operator::Lt => (None, Some(value)),
                Operator::LtEq => (None, value.checked_add(1)),
                Operator::Eq => (Some(value), value.checked_add(1)),
                _ => (None, None),
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
        // Filters prune files and row groups; DataFusion still applies them to every row.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (from, to) = timestamp_bounds(filters);
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let files: Vec<PartitionedFile> = self
            .files
            .iter()
            .filter(|f| f.overlaps(from, to))
            .map(|f| PartitionedFile::new(f.path.clone(), f.bytes))
            .collect();
        if !files.is_empty() {
            let mut source = ParquetSource::new(self.schema.clone())
                .with_table_parquet_options(state.table_options().parquet.clone());
            if let Some(predicate) = conjunction(filters.iter().cloned()) {
                let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
                source = source.with_predicate(state.create_physical_expr(predicate, &df_schema)?);
            }
            let config =
                FileScanConfigBuilder::new(ObjectStoreUrl::parse(STORE_URL)?, Arc::new(source))
                    .with_file_group(FileGroup::new(files))
                    .with_projection_indices(projection.cloned())?
                    .with_limit(limit)
                    .build();
            inputs.push(DataSourceExec::from_data_source(config));
        }
        if !self.memory.is_empty() {
            let memory = MemorySourceConfig::try_new(
                std::slice::from_ref(&self.memory),
                self.schema.clone(),
                projection.cloned(),
            )?
            .with_limit(limit);
            inputs.push(DataSourceExec::from_data_source(memory));
        }
        match inputs.len() {
            0 => Ok(Arc::new(EmptyExec::new(project_schema(
                &self.schema,
                projection,
            )?))),
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
