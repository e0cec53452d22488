//! The backtest: what a rule would have done over a past range — each tick's instances and
//! states and the notifications it would have sent — with no side effects (nothing stored,
//! nothing sent). Ticks lie on the same grid the evaluator uses (multiples of the interval).
//!
//! Each tick's outcome comes one of two ways, and the answer is the same either way (its
//! `method` says which was used):
//! - `bucketed` — when the rule's value is a bare count, sum (of integers), min or max whose
//!   windows combine from smaller buckets (`hexcovery_oql::rebucket::bucketable`: no HAVING,
//!   LIMIT, DISTINCT or `bucket()`; the other columns plain labels), ONE query over
//!   `[first tick − window, last tick)` with a time-bucket key of gcd(interval, window), its
//!   per-bucket values combined into each tick's window (`alert::window_outcomes`);
//! - `per_tick` — otherwise, or when that query fails, is cut at its row limit, or would
//!   need more than [`MAX_PREVIEW_BUCKETS`] buckets: the rule's query once per tick over
//!   `[t − window, t)`, as the evaluator runs it, [`PREVIEW_CONCURRENCY`] at a time.

use crate::rules::{QueryFailure, RunQuery, capped};
use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt as _;
use hexcovery_monitor::alert::{self, AlertRule, BucketSeries, Outcome, message};
use serde_json::{Value, json};
use uuid::Uuid;

/// Most ticks one preview replays.
pub const MAX_PREVIEW_TICKS: i64 = 1_440;
/// Queries of one per-tick preview in flight at once.
pub const PREVIEW_CONCURRENCY: usize = 2;
/// Most buckets the bucketed query may cut the preview's range into (1 440 ticks of 11 s
/// with a 10 s window — buckets of 1 s — are 15 839; of 61 s with 60 s, 87 839: per tick).
pub const MAX_PREVIEW_BUCKETS: i64 = 50_000;
/// Most rows the bucketed query may answer (buckets × series); past it, per tick.
pub const MAX_BUCKETED_ROWS: usize = 200_000;

/// How a preview got its ticks' outcomes (the answer's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One bucketed query over the whole range.
    Bucketed,
    /// The rule's query once per tick.
    PerTick,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Bucketed => "bucketed",
            Method::PerTick => "per_tick",
        }
    }
}

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

/// Replays the rule over the range: `{"method", "ticks":[{at, instances}],
/// "notifications":[{at, type, status, alerts}]}`, ticks oldest first; `method` is
/// `"bucketed"` or `"per_tick"` (see the module docs) — the rest of the answer is the same
/// either way.
pub async fn preview(
    queries: &dyn RunQuery,
    request: &PreviewRequest<'_>,
) -> Result<Value, PreviewError> {
    preview_with(queries, request, None).await
}

/// [`preview`] by the given method, or (`None`) the fastest that applies. Asked for
/// [`Method::Bucketed`] where it does not apply, it runs per tick (the answer says so).
pub async fn preview_with(
    queries: &dyn RunQuery,
    request: &PreviewRequest<'_>,
    method: Option<Method>,
) -> Result<Value, PreviewError> {
    let ticks = ticks(request.from, request.to, request.rule.interval.delta())?;
    let bucketed = match method {
        Some(Method::PerTick) => None,
        _ => bucketed_outcomes(queries, request, &ticks).await,
    };
    let (method, outcomes) = match bucketed {
        Some(outcomes) => (Method::Bucketed, outcomes),
        None => (
            Method::PerTick,
            per_tick_outcomes(queries, request, ticks).await,
        ),
    };
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
    Ok(json!({ "method": method.as_str(), "ticks": ticks, "notifications": notifications }))
}

/// Each tick's outcome from the rule's query run over `[t − window, t)`, as the evaluator runs
/// it (and caps it), a few at a time.
async fn per_tick_outcomes(
    queries: &dyn RunQuery,
    request: &PreviewRequest<'_>,
    ticks: Vec<DateTime<Utc>>,
) -> Vec<(DateTime<Utc>, Outcome)> {
    let window = request.rule.window.delta();
    let reducer = request.rule.condition.reducer;
    futures::stream::iter(ticks)
        .map(|at| async move {
            let result = queries
                .run(request.org, request.query, at - window, at)
                .await;
            let outcome = match result {
                Ok(result) => capped(Outcome::from_result(
                    &result.column_refs(),
                    &result.rows,
                    result.bucket,
                    reducer,
                )),
                Err(QueryFailure { message, .. }) => Outcome::Failed(message),
            };
            (at, outcome)
        })
        .buffered(PREVIEW_CONCURRENCY)
        .collect()
        .await
}

/// The bucket the fast path cuts the range into: gcd(interval, window), which divides both,
/// so every tick and window start falls on a bucket boundary (`bucket()` is aligned to the
/// epoch, as ticks are). `None` when it is not a whole, positive number of seconds.
pub fn preview_bucket(interval: TimeDelta, window: TimeDelta) -> Option<TimeDelta> {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let (interval, window) = (interval.num_milliseconds(), window.num_milliseconds());
    if interval <= 0 || window <= 0 {
        return None;
    }
    let bucket = gcd(interval, window);
    (bucket % 1_000 == 0).then(|| TimeDelta::milliseconds(bucket))
}

/// Every tick's outcome from one bucketed query over the range, when the rule's query allows
/// it and the answer is complete; `None`: run it per tick. The outcomes are those per-tick
/// queries would give: a window's series and values from its buckets, series absent from it
/// absent, a count without GROUP BY 0 over no rows.
async fn bucketed_outcomes(
    queries: &dyn RunQuery,
    request: &PreviewRequest<'_>,
    ticks: &[DateTime<Utc>],
) -> Option<Vec<(DateTime<Utc>, Outcome)>> {
    let window = request.rule.window.delta();
    let bucket = preview_bucket(request.rule.interval.delta(), window)?;
    let (first, last) = (*ticks.first()?, *ticks.last()?);
    let (from, to) = (first - window, last);
    if (to - from).num_milliseconds() / bucket.num_milliseconds() > MAX_PREVIEW_BUCKETS {
        return None;
    }
    let answer = queries
        .run_bucketed(
            request.org,
            request.query,
            from,
            to,
            bucket,
            MAX_BUCKETED_ROWS,
        )
        .await
        .ok()??;
    if answer.truncated {
        return None;
    }
    let result = &answer.result;
    let mut series =
        alert::bucket_series_from_result(&result.column_refs(), &result.rows, result.bucket?)
            .ok()?;
    if series.len() > answer.window_row_limit {
        return None;
    }
    if answer.aggregate == alert::Aggregate::Count && !answer.grouped {
        // Without GROUP BY a window answers one row even over no rows: a count of 0. Its
        // labels (literals, if any) are on every row; with no rows they are unknown unless
        // there are none.
        if series.is_empty() {
            if result.columns.len() > 2 {
                return None;
            }
            series.push(BucketSeries {
                labels: Default::default(),
                buckets: Vec::new(),
            });
        }
        let [only] = series.as_mut_slice() else {
            return None;
        };
        only.buckets
            .extend(ticks.iter().map(|&t| (t - window, 0.0)));
    }
    let outcomes = alert::window_outcomes(answer.aggregate, &series, bucket, window, ticks).ok()?;
    Some(
        outcomes
            .into_iter()
            .map(|(at, outcome)| (at, capped(outcome)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn the_bucket_divides_interval_and_window_in_whole_seconds() {
        let s = TimeDelta::seconds;
        let table = [
            (s(60), s(300), Some(s(60))),
            (s(300), s(60), Some(s(60))),
            (s(60), s(90), Some(s(30))),
            (s(7), s(10), Some(s(1))),
            (s(3_600), s(86_400), Some(s(3_600))),
            (TimeDelta::milliseconds(1_500), s(3), None),
            (s(0), s(60), None),
        ];
        for (interval, window, bucket) in table {
            assert_eq!(
                preview_bucket(interval, window),
                bucket,
                "{interval} {window}"
            );
        }
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
