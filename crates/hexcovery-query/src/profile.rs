//! Where a query's time goes: the wall-clock time of each stage (parse and resolve, logical
//! plan, session, physical plan, execution, rendering) and, at `trace` level, the executed
//! plan with every operator's metrics. Logged under the target `hexcovery_query::profile`
//! at `debug`, so `RUST_LOG=hexcovery_query::profile=debug` shows it for every query.

use datafusion::physical_plan::{ExecutionPlan, display::DisplayableExecutionPlan};
use std::time::Instant;

pub struct Profile {
    enabled: bool,
    last: Instant,
    stages: Vec<(&'static str, f64)>,
}

impl Profile {
    pub fn start() -> Self {
        Self {
            enabled: tracing::enabled!(target: "hexcovery_query::profile", tracing::Level::DEBUG),
            last: Instant::now(),
            stages: Vec::new(),
        }
    }

    /// Ends the stage called `name` now.
    pub fn mark(&mut self, name: &'static str) {
        if self.enabled {
            let now = Instant::now();
            self.stages
                .push((name, now.duration_since(self.last).as_secs_f64() * 1e3));
            self.last = now;
        }
    }

    pub fn finish(self, text: &str, physical: &std::sync::Arc<dyn ExecutionPlan>) {
        if !self.enabled {
            return;
        }
        let stages = self
            .stages
            .iter()
            .map(|(name, ms)| format!("{name} {ms:.2} ms"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::debug!(target: "hexcovery_query::profile", query = text, %stages, "query profile");
        if tracing::enabled!(target: "hexcovery_query::profile", tracing::Level::TRACE) {
            let plan = DisplayableExecutionPlan::with_metrics(physical.as_ref()).indent(true);
            tracing::trace!(target: "hexcovery_query::profile", query = text, "executed plan:\n{plan}");
        }
    }
}
