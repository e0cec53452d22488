//! Cron-job monitoring as pure functions of time: a monitor's schedule (`every <duration>` or
//! a 5-field cron expression read in an IANA time zone) and the heartbeat state machine —
//! what state a monitor is in at any instant, since when, and when it next changes. No I/O
//! and no clock: callers pass `now`, so restarts and tests compute exactly the same states.

mod schedule;
mod state;

pub use schedule::{Schedule, ScheduleError, parse_duration};
pub use state::{Evaluation, Facts, MonitorState, Rules, evaluate, timeline};
