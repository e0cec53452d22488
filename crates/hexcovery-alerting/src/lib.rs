//! Alert evaluation: claims due rules in the metastore, runs their queries on the query
//! engine's background slots, applies `hexcovery_monitor::alert`'s state machine and writes
//! each tick's instances, transitions and notifications in one metastore transaction; and the
//! backtest preview, which does the same over a past range and writes nothing.

mod engine;
mod evaluator;
mod messages;
mod preview;
mod rules;

pub use engine::EngineQueries;
pub use evaluator::{Evaluator, EvaluatorConfig, PassSummary, latest_tick, with_alertname};
pub use messages::{channel_test_messages, test_messages};
pub use preview::{
    MAX_BUCKETED_ROWS, MAX_PREVIEW_BUCKETS, MAX_PREVIEW_TICKS, Method, PREVIEW_CONCURRENCY,
    PreviewError, PreviewRequest, preview, preview_bucket, preview_with, ticks,
};
pub use rules::{
    BucketedResult, MAX_INSTANCES_PER_RULE, QueryFailure, QueryResult, RunQuery, capped, silence_of,
};
