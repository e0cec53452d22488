//! The query substrate: a DataFusion table over one org's rows of one signal — the Parquet
//! files its manifest lists (pruned by time range before any file is opened, then by row-group
//! statistics) unioned with the rows still in memory. Built from a snapshot, so a query sees
//! each row exactly once even while flushes and compactions commit.

use crate::Signal;
use crate::counts;
use crate::manifest::FileEntry;
use crate::promote;
use crate::schema::TIMESTAMP;
use crate::table::Snapshot;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Column, DFSchema, Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::logical_expr::{ExprSchemable, cast, lit};
use datafusion::physical_expr::projection::ProjectionExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExecBuilder;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::union::UnionExec;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The URL the telemetry object store is registered under in query sessions.
pub const STORE_URL: &str = "hexcovery://telemetry/";

#[derive(Debug)]
pub struct OrgTable {
    /// The table's own columns, then one per promoted map value any file holds
    /// (`attributes['http.route']`, see `promote`), with strings as `Utf8View` (see
    /// [`read_type`]).
    schema: SchemaRef,
    /// The table's own columns as files and memory store them (strings as `Utf8`).
    stored: SchemaRef,
    /// How many of `schema`'s columns are the table's own (the rest are promoted values).
    own_columns: usize,
    files: Vec<FileEntry>,
    memory: Vec<RecordBatch>,
    /// The columns whose groups the files count (`counts::counted_columns`).
    counted: &'static [&'static str],
}

/// A table split for a query that only counts rows by the counted columns (see
/// [`OrgTable::split_counted`]).
#[derive(Debug)]
pub struct Counted {
    /// The files the counts could not answer for, and the rows in memory.
    pub rest: OrgTable,
    /// Rows per group of the counted files (`counts::counts_batch`).
    pub counts: RecordBatch,
    /// Files and rows the counts stand for.
    pub files: usize,
    pub rows: u64,
}

impl OrgTable {
    pub fn new(signal: Signal, snapshot: Snapshot) -> Self {
        let schema = crate::schema::for_signal(signal);
        // Newest files first: a scan reads them in this order, so `ORDER BY timestamp DESC
        // LIMIT n` (the logs page's first query) fills its top n from the newest rows, and
        // the filter that the top n sets then prunes older files by their statistics. In
        // manifest order, it depended on which flush wrote what (291 to 1 548 ms at 10 M).
        let mut files = snapshot.manifest.files.clone();
        files.sort_by(|a, b| b.max_ts.cmp(&a.max_ts).then_with(|| a.path.cmp(&b.path)));
        let promoted: BTreeSet<&str> = files
            .iter()
            .flat_map(|f| f.promoted.iter().map(String::as_str))
            .collect();
        let own_columns = schema.fields().len();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .chain(promoted.into_iter().map(promote::field))
            .map(|f| {
                let read = read_type(f.data_type());
                f.with_data_type(read)
            })
            .collect();
        Self {
            schema: Arc::new(Schema::new(fields)),
            stored: schema,
            own_columns,
            files,
            memory: snapshot.memory,
            counted: counts::counted_columns(signal),
        }
    }

    /// The columns whose groups the table's files count.
    pub fn counted_columns(&self) -> &'static [&'static str] {
        self.counted
    }

    /// Splits the table for a query over `[from, to)` that only counts rows per group of
    /// the counted columns: the files wholly inside the range that keep counts become one
    /// batch of counts; the other files and the rows in memory stay a table to scan.
    /// `None` when no file can be answered from its counts.
    pub fn split_counted(&self, from: Option<i64>, to: Option<i64>) -> Option<Counted> {
        let inside =
            |f: &FileEntry| from.is_none_or(|x| f.min_ts >= x) && to.is_none_or(|t| f.max_ts < t);
        let (counted, rest): (Vec<&FileEntry>, Vec<&FileEntry>) = self
            .files
            .iter()
            .partition(|f| f.counts.is_some() && inside(f));
        if counted.is_empty() {
            return None;
        }
        let counts = counts::counts_batch(
            &self.stored,
            self.counted,
            counted.iter().filter_map(|f| f.counts.as_ref()),
        )?;
        Some(Counted {
            rest: OrgTable {
                schema: self.schema.clone(),
                stored: self.stored.clone(),
                own_columns: self.own_columns,
                files: rest.into_iter().cloned().collect(),
                memory: self.memory.clone(),
                counted: self.counted,
            },
            counts,
            files: counted.len(),
            rows: counted.iter().map(|f| f.rows).sum(),
        })
    }

    /// How many files a scan over `[from, to)` opens (pruning is observable in tests).
    pub fn files_for(&self, from: Option<i64>, to: Option<i64>) -> usize {
        self.files.iter().filter(|f| f.overlaps(from, to)).count()
    }

    /// The promoted map values some file holds, as column names.
    pub fn promoted_columns(&self) -> impl Iterator<Item = &str> {
        self.schema.fields()[self.own_columns..]
            .iter()
            .map(|f| f.name().as_str())
    }
}

/// The type a stored column is read as. Strings are read as `Utf8View`: a dictionary-encoded
/// Parquet page then decodes to views of its dictionary (short values inline) instead of a
/// copy of every row's bytes, and DataFusion groups, sorts and compares views without
/// touching the bytes of short values — `GROUP BY level` over a day reads no string bytes.
fn read_type(stored: &DataType) -> DataType {
    match stored {
        DataType::Utf8 => DataType::Utf8View,
        other => other.clone(),
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

/// Whether `expr` is a bound on `timestamp` that [`timestamp_bounds`] understands.
pub fn is_time_bound(expr: &Expr) -> bool {
    time_bound(expr).is_some()
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
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        // Files are read in groups of the same layout: which of the promoted columns this
        // query touches they hold. Only those matter; with none touched, all files are one
        // group and read as before promotion.
        let touched = self.touched_promoted(&wanted);
        let inside =
            |min: i64, max: i64| from.is_none_or(|f| min >= f) && to.is_none_or(|t| max < t);
        let mut groups: BTreeMap<Vec<&str>, (Vec<PartitionedFile>, Vec<PartitionedFile>)> =
            BTreeMap::new();
        for file in self.files.iter().filter(|f| f.overlaps(from, to)) {
            let layout: Vec<&str> = file
                .promoted
                .iter()
                .map(String::as_str)
                .filter(|c| touched.contains(c))
                .collect();
            let (whole, straddling) = groups.entry(layout).or_default();
            let part = PartitionedFile::new(file.path.clone(), file.bytes);
            if time_filter.is_none() || inside(file.min_ts, file.max_ts) {
                whole.push(part);
            } else {
                straddling.push(part);
            }
        }
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let timestamp = self.schema.index_of(TIMESTAMP)?;
        let mut with_time = wanted.clone();
        if !with_time.contains(&timestamp) {
            with_time.push(timestamp);
        }
        // Rows from files wholly inside the range need no time check; the rest (files that
        // straddle a bound, and the rows in memory) read `timestamp` too, keep the rows in
        // range, then drop it again.
        let mut checked = Vec::new();
        for (layout, (whole, straddling)) in groups {
            if !whole.is_empty() {
                let source = Source::Files(whole, &layout);
                inputs.push(self.source(state, source, &wanted, filters, limit, false)?);
            }
            if !straddling.is_empty() {
                let source = Source::Files(straddling, &layout);
                checked.push(self.source(state, source, &with_time, filters, None, true)?);
            }
        }
        if !self.memory.is_empty() {
            if time_filter.is_some() {
                checked.push(self.source(
                    state,
                    Source::Memory,
                    &with_time,
                    filters,
                    None,
                    true,
                )?);
            } else {
                inputs.push(self.source(state, Source::Memory, &wanted, filters, limit, false)?);
            }
        }
        if let Some(time_filter) = time_filter {
            let scanned_schema = DFSchema::try_from(self.schema.project(&with_time)?)?;
            let predicate = state.create_physical_expr(time_filter, &scanned_schema)?;
            for input in checked {
                let filter = FilterExecBuilder::new(predicate.clone(), input)
                    .apply_projection(Some((0..wanted.len()).collect()))?
                    .build()?;
                inputs.push(Arc::new(filter));
            }
        }
        self.union(inputs, &wanted)
    }
}

/// Where a part of a scan reads its rows.
enum Source<'a> {
    /// Parquet files that all hold the promoted columns `layout` (of those the query touches).
    Files(Vec<PartitionedFile>, &'a [&'a str]),
    /// The rows not yet flushed: the table's own columns only.
    Memory,
}

impl OrgTable {
    /// The promoted columns a scan of `wanted` may read: the wanted ones, and every promoted
    /// column of a map wanted whole (to merge back into it).
    fn touched_promoted(&self, wanted: &[usize]) -> BTreeSet<&str> {
        let wanted_maps: Vec<&str> = wanted
            .iter()
            .filter(|&&i| i < self.own_columns)
            .map(|&i| self.schema.field(i).name().as_str())
            .filter(|name| promote::MAPS.contains(name))
            .collect();
        self.promoted_columns()
            .enumerate()
            .filter(|(i, name)| {
                wanted.contains(&(self.own_columns + i))
                    || promote::parse_column_name(name)
                        .is_some_and(|(m, _)| wanted_maps.contains(&m))
            })
            .map(|(_, name)| name)
            .collect()
    }

    /// A plan reading the table columns `columns` (indices into `self.schema`) from `source`,
    /// in that order; `bounds_checked` when a filter above checks the time range (so the
    /// time bounds may prune row groups). A promoted column the source lacks is taken out of its map; a map is
    /// merged back together with the source's promoted columns of it.
    fn source(
        &self,
        state: &dyn Session,
        source: Source<'_>,
        columns: &[usize],
        filters: &[Expr],
        limit: Option<usize>,
        bounds_checked: bool,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let layout: &[&str] = match &source {
            Source::Files(_, layout) => layout,
            Source::Memory => &[],
        };
        // What each output column is made of, over the columns read.
        let mut read: Vec<usize> = Vec::new();
        let mut read_index = |i: usize| match read.iter().position(|&r| r == i) {
            Some(at) => at,
            None => {
                read.push(i);
                read.len() - 1
            }
        };
        let mut outputs: Vec<(String, Expr)> = Vec::with_capacity(columns.len());
        let mut rewritten = false;
        for &i in columns {
            let name = self.schema.field(i).name().clone();
            let at =
                |index: usize| Expr::Column(Column::from_name(self.schema.field(index).name()));
            let expr = if i >= self.own_columns && !layout.contains(&name.as_str()) {
                let (map, key) =
                    promote::parse_column_name(&name).expect("promoted columns are named so");
                let map = self.schema.index_of(map)?;
                read_index(map);
                rewritten = true;
                get_field(at(map), key)
            } else if promote::MAPS.contains(&name.as_str())
                && layout
                    .iter()
                    .any(|c| promote::parse_column_name(c).is_some_and(|(m, _)| m == name))
            {
                read_index(i);
                let mut args = vec![at(i)];
                for column in layout
                    .iter()
                    .filter(|c| promote::parse_column_name(c).is_some_and(|(m, _)| m == name))
                {
                    let (_, key) = promote::parse_column_name(column).expect("checked");
                    read_index(self.schema.index_of(column)?);
                    args.push(lit(key));
                    args.push(at(self.schema.index_of(column)?));
                }
                rewritten = true;
                promote::MergePromoted::udf().call(args)
            } else {
                read_index(i);
                at(i)
            };
            outputs.push((name, expr));
        }
        // Memory holds strings as stored: cast them to the type the table reads them as.
        let read_schema = match source {
            Source::Files(..) => DFSchema::try_from(self.schema.project(&read)?)?,
            Source::Memory => DFSchema::try_from(self.stored.project(&read)?)?,
        };
        for ((_, expr), &i) in outputs.iter_mut().zip(columns) {
            let wanted = self.schema.field(i).data_type();
            if &expr.get_type(&read_schema)? != wanted {
                *expr = cast(expr.clone(), wanted.clone());
                rewritten = true;
            }
        }
        let scan = match source {
            Source::Files(files, layout) => {
                // Prune with the filters this layout can answer from statistics: a promoted
                // column a file lacks reads as all-null, which would wrongly prune it.
                let usable = filters.iter().filter(|f| {
                    f.column_refs().iter().all(|c| {
                        self.schema
                            .index_of(&c.name)
                            .is_ok_and(|i| i < self.own_columns)
                            || layout.contains(&c.name.as_str())
                    })
                });
                // In files wholly inside the time range the time bounds would only cost work.
                let prune = conjunction(
                    usable
                        .filter(|f| bounds_checked || time_bound(f).is_none())
                        .cloned(),
                );
                self.parquet(state, files, &read, prune.as_ref(), limit)?
            }
            Source::Memory => self.memory(&read, limit)?,
        };
        if !rewritten && read == columns {
            return Ok(scan);
        }
        let exprs = outputs
            .into_iter()
            .map(|(name, expr)| {
                Ok(ProjectionExpr {
                    expr: state.create_physical_expr(expr, &read_schema)?,
                    alias: name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, scan)?))
    }

    /// A scan of `files` reading the columns `columns` (table indices).
    fn parquet(
        &self,
        state: &dyn Session,
        files: Vec<PartitionedFile>,
        columns: &[usize],
        prune: Option<&Expr>,
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let url = ObjectStoreUrl::parse(STORE_URL)?;
        // Footers and page indexes come from the session's metadata cache: files never
        // change once written, and parsing dozens of footers per query would cost more than
        // the rows.
        let reader = CachedParquetFileReaderFactory::new(
            state.runtime_env().object_store(&url)?,
            state.runtime_env().cache_manager.get_file_metadata_cache(),
        );
        let mut source = ParquetSource::new(self.schema.clone())
            .with_table_parquet_options(state.table_options().parquet.clone())
            .with_parquet_file_reader_factory(Arc::new(reader));
        if let Some(predicate) = prune {
            let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
            source =
                source.with_predicate(state.create_physical_expr(predicate.clone(), &df_schema)?);
        }
        let config = FileScanConfigBuilder::new(url, Arc::new(source))
            .with_file_group(FileGroup::new(files))
            .with_projection_indices(Some(columns.to_vec()))?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }

    /// The rows in memory, reading the table columns `columns` (all of them the table's own)
    /// as stored.
    fn memory(&self, columns: &[usize], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let memory = MemorySourceConfig::try_new(
            std::slice::from_ref(&self.memory),
            self.stored.clone(),
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
