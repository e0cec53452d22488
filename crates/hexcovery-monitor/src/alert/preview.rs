//! Previews and backtests: a rule replayed over past ticks from no instances (what it would
//! have done — nothing stored, nothing sent), and the fast path that gets every tick's
//! outcome from one bucketed query over the whole range instead of one query per tick.

use super::eval::{Outcome, evaluate};
use super::instance::{Instance, Transition};
use super::notify::Notification;
use super::rule::AlertRule;
use super::series::Series;
use super::silence::Silence;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// What one tick of a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewTick {
    pub at: DateTime<Utc>,
    pub instances: Vec<Instance>,
    pub transitions: Vec<Transition>,
    pub notification: Option<Notification>,
}

/// Replays `rule` over `ticks` (oldest first), starting from no instances.
pub fn preview(
    rule: &AlertRule,
    ticks: impl IntoIterator<Item = (DateTime<Utc>, Outcome)>,
    silences: &[Silence],
) -> Vec<PreviewTick> {
    let mut instances: Vec<Instance> = Vec::new();
    ticks
        .into_iter()
        .map(|(at, outcome)| {
            let evaluation = evaluate(rule, &instances, &outcome, at, silences);
            instances = evaluation.instances;
            PreviewTick {
                at,
                instances: instances.clone(),
                transitions: evaluation.transitions,
                notification: evaluation.notification,
            }
        })
        .collect()
}

/// The aggregate of the rule's value column, for combining buckets into a window.
/// (`avg`, percentiles and distinct counts do not combine this way: run them per tick.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// `count(…)`: a window's count is the sum of its buckets' counts.
    Count,
    Sum,
    Min,
    Max,
}

/// One series of a bucketed query over the whole range: each bucket's start and value.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSeries {
    pub labels: BTreeMap<String, String>,
    pub buckets: Vec<(DateTime<Utc>, f64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("the bucket ({bucket}s) must be positive and divide the window ({window}s)")]
    BucketNotDivisor { bucket: i64, window: i64 },
    #[error("the tick {0} does not fall on a bucket boundary")]
    TickNotAligned(DateTime<Utc>),
    #[error("the bucket starting {0} does not fall on a bucket boundary")]
    BucketNotAligned(DateTime<Utc>),
}

/// A bucket's start and value.
type Bucket = (DateTime<Utc>, f64);

fn aligned(t: DateTime<Utc>, bucket: TimeDelta) -> bool {
    let (Some(t), Some(b)) = (t.timestamp_nanos_opt(), bucket.num_nanoseconds()) else {
        return false;
    };
    b > 0 && t.rem_euclid(b) == 0
}

/// Each tick's outcome from per-bucket values: at tick `t` a series' value combines its
/// buckets starting in `[t − window, t)`, as the rule's query over that window would have
/// computed it; a series with no bucket there is absent (no row), as in the query. Buckets
/// are aligned to the Unix epoch (as `bucket()` is), so `bucket` must divide `window` and
/// every tick must fall on a bucket boundary — take `bucket` = the interval or a divisor.
pub fn window_outcomes(
    aggregate: Aggregate,
    series: &[BucketSeries],
    bucket: TimeDelta,
    window: TimeDelta,
    ticks: &[DateTime<Utc>],
) -> Result<Vec<(DateTime<Utc>, Outcome)>, WindowError> {
    let divides = bucket > TimeDelta::zero()
        && window
            .num_nanoseconds()
            .zip(bucket.num_nanoseconds())
            .is_some_and(|(w, b)| w % b == 0);
    if !divides {
        return Err(WindowError::BucketNotDivisor {
            bucket: bucket.num_seconds(),
            window: window.num_seconds(),
        });
    }
    if let Some(&t) = ticks.iter().find(|&&t| !aligned(t, bucket)) {
        return Err(WindowError::TickNotAligned(t));
    }
    let mut sorted: Vec<(&BTreeMap<String, String>, Vec<Bucket>)> = Vec::new();
    for s in series {
        if let Some(&(start, _)) = s.buckets.iter().find(|(start, _)| !aligned(*start, bucket)) {
            return Err(WindowError::BucketNotAligned(start));
        }
        let mut buckets: Vec<Bucket> = s
            .buckets
            .iter()
            .copied()
            .filter(|(_, v)| v.is_finite())
            .collect();
        buckets.sort_by_key(|(start, _)| *start);
        sorted.push((&s.labels, buckets));
    }
    Ok(ticks
        .iter()
        .map(|&tick| {
            let from = tick - window;
            let present = sorted
                .iter()
                .filter_map(|(labels, buckets)| {
                    let lo = buckets.partition_point(|(start, _)| *start < from);
                    let hi = buckets.partition_point(|(start, _)| *start < tick);
                    let values = buckets.get(lo..hi)?.iter().map(|(_, v)| *v);
                    let value = match aggregate {
                        Aggregate::Count | Aggregate::Sum => (lo < hi).then(|| values.sum::<f64>()),
                        Aggregate::Min => values.reduce(f64::min),
                        Aggregate::Max => values.reduce(f64::max),
                    }?;
                    Some(Series {
                        labels: (*labels).clone(),
                        value,
                    })
                })
                .collect();
            (tick, Outcome::Series(present))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{NotificationType, State};
    use serde_json::json;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_348_800 + minute * 60, 0).unwrap()
    }

    fn labels(service: &str) -> BTreeMap<String, String> {
        [("service".to_string(), service.to_string())].into()
    }

    fn rule() -> AlertRule {
        serde_json::from_value(json!({
            "window": "3m", "interval": "1m",
            "condition": {"op": ">", "threshold": 5}
        }))
        .unwrap()
    }

    #[test]
    fn preview_replays_from_nothing() {
        let s = |v: f64| Outcome::Series(vec![Series::new([("service", "a")], v)]);
        let ticks = [
            (t(0), s(1.0)),
            (t(1), s(9.0)),
            (t(2), s(9.0)),
            (t(3), s(1.0)),
        ];
        let replay = preview(&rule(), ticks, &[]);
        let states: Vec<State> = replay.iter().map(|p| p.instances[0].state).collect();
        assert_eq!(
            states,
            [State::Normal, State::Firing, State::Firing, State::Normal]
        );
        let kinds: Vec<Option<NotificationType>> = replay
            .iter()
            .map(|p| p.notification.as_ref().map(|n| n.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                None,
                Some(NotificationType::Firing),
                None,
                Some(NotificationType::Resolved)
            ]
        );
        assert_eq!(replay[1].transitions.len(), 1);
    }

    #[test]
    fn windows_combine_buckets() {
        let series = [
            BucketSeries {
                labels: labels("a"),
                buckets: vec![(t(0), 1.0), (t(1), 4.0), (t(2), 2.0), (t(5), 8.0)],
            },
            BucketSeries {
                labels: labels("b"),
                buckets: vec![(t(3), 3.0)],
            },
        ];
        let ticks = [t(1), t(3), t(4), t(6), t(9)];
        let value_of = |aggregate| -> Vec<Vec<(String, f64)>> {
            window_outcomes(
                aggregate,
                &series,
                TimeDelta::minutes(1),
                TimeDelta::minutes(3),
                &ticks,
            )
            .unwrap()
            .into_iter()
            .map(|(_, outcome)| match outcome {
                Outcome::Series(s) => s
                    .into_iter()
                    .map(|s| (s.labels["service"].clone(), s.value))
                    .collect(),
                Outcome::Failed(e) => panic!("{e}"),
            })
            .collect()
        };
        let a = |v| ("a".to_string(), v);
        let b = |v| ("b".to_string(), v);
        // Windows: [-2,1) [0,3) [1,4) [3,6) [6,9).
        assert_eq!(
            value_of(Aggregate::Count),
            [
                vec![a(1.0)],
                vec![a(7.0)],
                vec![a(6.0), b(3.0)],
                vec![a(8.0), b(3.0)],
                vec![]
            ]
        );
        assert_eq!(
            value_of(Aggregate::Min),
            [
                vec![a(1.0)],
                vec![a(1.0)],
                vec![a(2.0), b(3.0)],
                vec![a(8.0), b(3.0)],
                vec![]
            ]
        );
        assert_eq!(
            value_of(Aggregate::Max),
            [
                vec![a(1.0)],
                vec![a(4.0)],
                vec![a(4.0), b(3.0)],
                vec![a(8.0), b(3.0)],
                vec![]
            ]
        );
    }

    #[test]
    fn windows_need_alignment() {
        let series = [BucketSeries {
            labels: labels("a"),
            buckets: vec![(t(0) + TimeDelta::seconds(30), 1.0)],
        }];
        let minute = TimeDelta::minutes(1);
        assert_eq!(
            window_outcomes(
                Aggregate::Sum,
                &[],
                TimeDelta::seconds(70),
                TimeDelta::minutes(5),
                &[]
            ),
            Err(WindowError::BucketNotDivisor {
                bucket: 70,
                window: 300
            })
        );
        assert_eq!(
            window_outcomes(
                Aggregate::Sum,
                &[],
                minute,
                minute,
                &[t(1) + TimeDelta::seconds(1)]
            ),
            Err(WindowError::TickNotAligned(t(1) + TimeDelta::seconds(1)))
        );
        assert!(matches!(
            window_outcomes(Aggregate::Sum, &series, minute, minute, &[t(1)]),
            Err(WindowError::BucketNotAligned(_))
        ));
    }
}
