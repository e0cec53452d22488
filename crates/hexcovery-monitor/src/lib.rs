//! Monitoring as pure functions of time. Heartbeats: a monitor's schedule (`every <duration>`
//! or a 5-field cron expression read in an IANA time zone) and the heartbeat state machine —
//! what state a monitor is in at any instant, since when, and when it next changes.
//! Alerting ([`alert`]): rule types and validation, series from query results, the
//! alert-instance state machine, silences, notifications and the webhook, Slack and email
//! messages they become. No I/O and no clock: callers pass `now`, so restarts, retries and
//! tests compute exactly the same states.

pub mod alert;
mod schedule;
mod state;

pub use schedule::{Schedule, ScheduleError, parse_duration};
pub use state::{Evaluation, Facts, MonitorState, Rules, evaluate, timeline};
