//! What a query read, from its executed physical plan: rows and bytes scanned, and how many
//! Parquet files were opened (the time-range pruning is visible here); and the step of its
//! `bucket()`, which the engine sets.

use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricValue;
use std::sync::Arc;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanStats {
    /// Rows read: from Parquet row groups that survived pruning, plus rows still in memory.
    pub rows_scanned: u64,
    /// Bytes read from Parquet files, plus the in-memory size of the columns read from rows
    /// not yet written.
    pub bytes_scanned: u64,
    pub elapsed_ms: u64,
    /// Parquet files opened; files outside the time range are never opened.
    pub files_scanned: u64,
    /// Files whose rows the answer took from the counts kept with them (a count or
    /// `DISTINCT` of `service`/`level`, …), and the rows those files hold. Those files are
    /// not in `files_scanned`, nor their rows in `rows_scanned` (which counts the groups
    /// read from the counts instead).
    pub files_counted: u64,
    pub rows_counted: u64,
    /// The step of the answer's `bucket()` column (`"5m"`), picked from the time range or
    /// as written; `null` without one.
    pub bucket: Option<String>,
    /// Paths counted in `files_scanned` (a file split over several partitions counts once).
    #[serde(skip)]
    paths: std::collections::BTreeSet<String>,
}

impl ScanStats {
    /// Sums the scans of an executed plan.
    pub fn of(plan: &Arc<dyn ExecutionPlan>) -> Self {
        let mut stats = Self::default();
        stats.add(plan.as_ref());
        stats
    }

    fn add(&mut self, plan: &dyn ExecutionPlan) {
        if let Some(exec) = plan.downcast_ref::<DataSourceExec>() {
            let source = exec.data_source();
            if let Some(files) = source.downcast_ref::<FileScanConfig>() {
                for file in files.file_groups.iter().flat_map(|g| g.iter()) {
                    self.paths.insert(file.object_meta.location.to_string());
                }
                self.files_scanned = self.paths.len() as u64;
                if let Some(metrics) = exec.metrics() {
                    self.rows_scanned += metrics.output_rows().unwrap_or(0) as u64;
                    if let Some(MetricValue::Count { count, .. }) =
                        metrics.sum_by_name("bytes_scanned")
                    {
                        self.bytes_scanned += count.value() as u64;
                    }
                }
            } else if let Some(memory) = source.downcast_ref::<MemorySourceConfig>() {
                for batch in memory.partitions().iter().flatten() {
                    self.rows_scanned += batch.num_rows() as u64;
                    let columns: Vec<usize> = memory
                        .projection()
                        .clone()
                        .unwrap_or_else(|| (0..batch.num_columns()).collect());
                    self.bytes_scanned += columns
                        .iter()
                        .map(|&i| batch.column(i).get_array_memory_size() as u64)
                        .sum::<u64>();
                }
            }
        }
        for child in plan.children() {
            self.add(child.as_ref());
        }
    }
}
