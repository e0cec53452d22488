//! The backtest: what a rule would have done over a past range — each tick's instances and
//! states and the notifications it would have sent — with no side effects (nothing stored,
//! nothing sent). Ticks lie on the same grid the evaluator uses (multiples of the interval).

use crate::rules::{QueryFailure, RunQuery};
use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt as _;
use hexcovery_monitor::alert::{self, AlertRule, Outcome, message};
use serde_json::{Value, json};
use uuid::Uuid;

/// Most ticks one preview replays.
pub const MAX_PREVIEW_TICKS: i64 = 1_440;
/// Queries of one preview in flight at once.
const PREVIEW_CONCURRENCY: usize = 2;

/// Why a preview has no answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreviewError {
    #[error("the range from {from} to {to} holds no tick of the rule's interval {interval}")]
    NoTicks {
        from: String,
        to: String,
        interval: String,
    },
    #[error(
        "the range holds {ticks} ticks of the rule's interval {interval}; a preview replays at most {MAX_PREVIEW_TICKS}: narrow the range"
    )]
    TooManyTicks { ticks: i64, interval: String },
}

/// The ticks of `interval` in `[from, to]`, oldest first.
pub fn ticks(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: TimeDelta,
) -> Result<Vec<DateTime<Utc>>, PreviewError> {
    let step = interval.num_milliseconds().max(1);
    let first = from.timestamp_millis().div_euclid(step) * step;
    let first = if first < from.timestamp_millis() {
        first + step
    } else {
        first
    };
    let last = to.timestamp_millis().div_euclid(step) * step;
    if last < first {
        return Err(PreviewError::NoTicks {
            from: from.to_rfc3339(),
            to: to.to_rfc3339(),
            interval: alert::AlertDuration(interval).to_string(),
        });
    }
    let count = (last - first) / step + 1;
    if count > MAX_PREVIEW_TICKS {
        return Err(PreviewError::TooManyTicks {
            ticks: count,
            interval: alert::AlertDuration(interval).to_string(),
        });
    }
    Ok((0..count)
        .filter_map(|i| DateTime::from_timestamp_millis(first + i * step))
        .collect())
}

/// What the preview is of.
pub struct PreviewRequest<'a> {
    pub org: Uuid,
    /// The rule's id when it exists (for links and event ids), else a stand-in.
    pub rule_id: Option<Uuid>,
    pub rule_name: &'a str,
    pub query: &'a str,
    pub rule: &'a AlertRule,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub external_url: &'a str,
    /// Silences as they would have applied.
    pub silences: &'a [alert::Silence],
}

/// Replays the rule over the range: `{"ticks":[{at, instances}], "notifications":[{at, type,
/// status, alerts}]}`, ticks oldest first.
pub async fn preview(
    queries: &dyn RunQuery,
    request: &PreviewRequest<'_>,
) -> Result<Value, PreviewError> {
    let ticks = ticks(request.from, request.to, request.rule.interval.delta())?;
    let window = request.rule.window.delta();
    let reducer = request.rule.condition.reducer;
    let outcomes: Vec<(DateTime<Utc>, Outcome)> = futures::stream::iter(ticks)
        .map(|at| async move {
            let result = queries
                .run(request.org, request.query, at - window, at)
                .await;
            let outcome = match result {
                Ok(result) => Outcome::from_result(
                    &result.column_refs(),
                    &result.rows,
                    result.bucket,
                    reducer,
                ),
                Err(QueryFailure { message, .. }) => Outcome::Failed(message),
            };
            (at, outcome)
        })
        .buffered(PREVIEW_CONCURRENCY)
        .collect()
        .await;
    let replay = alert::preview(request.rule, outcomes, request.silences);
    let rule_id = request.rule_id.unwrap_or(Uuid::nil()).to_string();
    let mut ticks = Vec::with_capacity(replay.len());
    let mut notifications = Vec::new();
    for tick in &replay {
        let instances: Vec<Value> = tick
            .instances
            .iter()
            .map(|i| {
                json!({
                    "fingerprint": i.fingerprint, "labels": i.labels,
                    "value": i.value, "state": i.state.as_str(),
                })
            })
            .collect();
        ticks.push(json!({ "at": tick.at, "instances": instances }));
        if let Some(notification) = &tick.notification {
            let event_id = alert::event_id(&rule_id, notification);
            let body = message::webhook_body(
                notification,
                &message::MessageContext {
                    rule_id: &rule_id,
                    rule_name: request.rule_name,
                    rule_query: request.query,
                    receiver: "preview",
                    external_url: request.external_url,
                    event_id: &event_id,
                },
            );
            notifications.push(json!({
                "at": tick.at,
                "type": notification.kind.as_str(),
                "status": notification.status.as_str(),
                "alerts": body["alerts"],
            }));
        }
    }
    Ok(json!({ "ticks": ticks, "notifications": notifications }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn ticks_lie_on_the_interval_grid_inside_the_range() {
        let minute = TimeDelta::minutes(1);
        assert_eq!(
            ticks(t(30), t(200), minute).unwrap(),
            vec![t(60), t(120), t(180)]
        );
        assert_eq!(ticks(t(60), t(60), minute).unwrap(), vec![t(60)]);
        assert!(matches!(
            ticks(t(61), t(119), minute),
            Err(PreviewError::NoTicks { .. })
        ));
        let error = ticks(t(0), t(86_400 * 2), minute).unwrap_err();
        assert_eq!(
            error,
            PreviewError::TooManyTicks {
                ticks: 2_881,
                interval: "1m".into()
            }
        );
        assert!(error.to_string().contains("at most 1440"));
    }
}
