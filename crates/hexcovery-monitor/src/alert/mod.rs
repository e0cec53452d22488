//! Alerting as pure functions: rules and their validation, series from a query result, the
//! alert-instance state machine, silences, notifications, the messages channels send, and
//! replays for previews. No I/O and no clock: callers pass the evaluation time, so a retried
//! evaluation computes exactly the same instances, transitions and event ids.

mod eval;
mod fingerprint;
mod instance;
pub mod message;
mod notify;
mod preview;
mod rule;
mod series;
mod silence;
mod template;
mod validate;

pub use eval::{Evaluation, Health, Outcome, evaluate};
pub use fingerprint::{fingerprint, fingerprint_of};
pub use instance::{Instance, InstanceKind, Notified, State, Transition};
pub use notify::{Alert, AlertStatus, Notification, NotificationType, ZERO_TIME, event_id};
pub use preview::{Aggregate, BucketSeries, PreviewTick, WindowError, preview, window_outcomes};
pub use rule::{
    AlertDuration, AlertRule, Condition, ErrorPolicy, NoDataPolicy, Op, Reducer, Severity,
};
pub use series::{Series, SeriesError, bucket_series_from_result, reduce, series_from_result};
pub use silence::{MatchOp, Matcher, Silence};
pub use template::{
    TemplateContext, format_value, render as render_template, validate as validate_template,
};
pub use validate::{FieldError, validate_rule};
