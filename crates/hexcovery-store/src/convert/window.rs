//! The accepted time window of ingest: a record's time must lie within
//! `[now − retention_days, now + 1 h]`. Records outside it are taken out of the request
//! before conversion (so the write-ahead log holds only accepted records and replay rebuilds
//! exactly the acknowledged rows) and counted for the OTLP partial-success answer.

use crate::otlp::ExportRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;

const NANOS_PER_HOUR: i64 = 3_600 * 1_000_000_000;
const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;

/// `[start, end]` in Unix nanoseconds, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: i64,
    pub end: i64,
    pub retention_days: u32,
}

impl TimeWindow {
    /// The window at `now` for an org keeping `retention_days` days.
    pub fn at(now: i64, retention_days: u32) -> Self {
        Self {
            start: now.saturating_sub(i64::from(retention_days).saturating_mul(NANOS_PER_DAY)),
            end: now.saturating_add(NANOS_PER_HOUR),
            retention_days,
        }
    }

    /// Whether a record's protobuf time (`u64` nanoseconds) lies in the window.
    pub fn contains(&self, time: u64) -> bool {
        i64::try_from(time).is_ok_and(|t| self.start <= t && t <= self.end)
    }

    /// The reason given for `count` records outside the window.
    pub fn reason(&self, count: u64, noun: &str) -> String {
        let fmt = |t: i64| {
            chrono::DateTime::from_timestamp_nanos(t)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        format!(
            "{count} {noun} outside the accepted time range [{}, {}] (the org's {}-day retention up to 1 h ahead of now)",
            fmt(self.start),
            fmt(self.end),
            self.retention_days
        )
    }
}

/// A log record's time as conversion stores it: its time, else its observed time, else the
/// ingest time (always inside the window).
fn log_time(record: &opentelemetry_proto::tonic::logs::v1::LogRecord) -> Option<u64> {
    [record.time_unix_nano, record.observed_time_unix_nano]
        .into_iter()
        .find(|t| *t != 0)
}

/// Whether a record with stored time `time` (`None`: the ingest time) is kept. A span
/// without a start time is kept here so conversion rejects it with its own reason.
fn keep(window: &TimeWindow, time: Option<u64>) -> bool {
    time.is_none_or(|t| t == 0 || window.contains(t))
}

/// Counts the records of `request` outside `window` (one pass, nothing copied).
pub fn count_outside(request: &ExportRequest, window: &TimeWindow) -> u64 {
    let outside = |time: Option<u64>| u64::from(!keep(window, time));
    match request {
        ExportRequest::Logs(r) => r
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .flat_map(|sl| &sl.log_records)
            .map(|record| outside(log_time(record)))
            .sum(),
        ExportRequest::Traces(r) => r
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|span| outside(Some(span.start_time_unix_nano)))
            .sum(),
        ExportRequest::Metrics(r) => r
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter_map(|m| m.data.as_ref())
            .map(|data| {
                let times: Vec<u64> = match data {
                    Data::Gauge(g) => g.data_points.iter().map(|p| p.time_unix_nano).collect(),
                    Data::Sum(s) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
                    Data::Histogram(h) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
                    Data::ExponentialHistogram(h) => {
                        h.data_points.iter().map(|p| p.time_unix_nano).collect()
                    }
                    Data::Summary(s) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
                };
                times.into_iter().map(|t| outside(Some(t))).sum::<u64>()
            })
            .sum(),
    }
}

/// Removes the records of `request` outside `window`.
pub fn retain_inside(request: &mut ExportRequest, window: &TimeWindow) {
    let keep = |time: Option<u64>| keep(window, time);
    match request {
        ExportRequest::Logs(r) => {
            for sl in r.resource_logs.iter_mut().flat_map(|rl| &mut rl.scope_logs) {
                sl.log_records.retain(|record| keep(log_time(record)));
            }
        }
        ExportRequest::Traces(r) => {
            for ss in r
                .resource_spans
                .iter_mut()
                .flat_map(|rs| &mut rs.scope_spans)
            {
                ss.spans
                    .retain(|span| keep(Some(span.start_time_unix_nano)));
            }
        }
        ExportRequest::Metrics(r) => {
            let metrics = r
                .resource_metrics
                .iter_mut()
                .flat_map(|rm| &mut rm.scope_metrics)
                .flat_map(|sm| &mut sm.metrics);
            for data in metrics.filter_map(|m| m.data.as_mut()) {
                match data {
                    Data::Gauge(g) => g.data_points.retain(|p| keep(Some(p.time_unix_nano))),
                    Data::Sum(s) => s.data_points.retain(|p| keep(Some(p.time_unix_nano))),
                    Data::Histogram(h) => h.data_points.retain(|p| keep(Some(p.time_unix_nano))),
                    Data::ExponentialHistogram(h) => {
                        h.data_points.retain(|p| keep(Some(p.time_unix_nano)));
                    }
                    Data::Summary(s) => s.data_points.retain(|p| keep(Some(p.time_unix_nano))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, number_data_point,
    };

    const NOW: i64 = 1_800_000_000 * 1_000_000_000;
    const DAY: u64 = NANOS_PER_DAY as u64;
    const HOUR: u64 = NANOS_PER_HOUR as u64;

    fn logs(times: &[(u64, u64)]) -> ExportRequest {
        ExportRequest::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: times
                        .iter()
                        .map(|(time, observed)| LogRecord {
                            time_unix_nano: *time,
                            observed_time_unix_nano: *observed,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    #[test]
    fn the_window_spans_retention_back_and_one_hour_ahead() {
        let w = TimeWindow::at(NOW, 30);
        let now = NOW as u64;
        assert!(w.contains(now));
        assert!(w.contains(now - 30 * DAY), "the start is inclusive");
        assert!(!w.contains(now - 30 * DAY - 1));
        assert!(w.contains(now + HOUR), "the end is inclusive");
        assert!(!w.contains(now + HOUR + 1));
        assert!(!w.contains(u64::MAX), "past i64 is outside");
        let reason = w.reason(3, "log records");
        assert!(
            reason.starts_with("3 log records outside the accepted time range [2026-12-16T")
                && reason.contains("30-day retention"),
            "{reason}"
        );
    }

    #[test]
    fn records_outside_are_counted_and_removed_in_place() {
        let w = TimeWindow::at(NOW, 30);
        let now = NOW as u64;
        let mut request = logs(&[
            (now - 2 * 365 * DAY, 0), // two years old
            (now + 2 * DAY, 0),       // two days ahead
            (now - DAY, 0),
            (0, now - 40 * DAY), // no time: its observed time counts
            (0, 0),              // no times: the ingest time, always inside
        ]);
        assert_eq!(count_outside(&request, &w), 3);
        retain_inside(&mut request, &w);
        assert_eq!(count_outside(&request, &w), 0);
        let ExportRequest::Logs(r) = &request else {
            unreachable!()
        };
        let kept: Vec<u64> = r.resource_logs[0].scope_logs[0]
            .log_records
            .iter()
            .map(|l| l.time_unix_nano)
            .collect();
        assert_eq!(kept, [now - DAY, 0]);
    }

    #[test]
    fn metric_points_are_filtered_one_by_one() {
        let w = TimeWindow::at(NOW, 7);
        let point = |t: u64| NumberDataPoint {
            time_unix_nano: t,
            value: Some(number_data_point::Value::AsDouble(1.0)),
            ..Default::default()
        };
        let now = NOW as u64;
        let mut request = ExportRequest::Metrics(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "m".into(),
                        data: Some(Data::Gauge(Gauge {
                            data_points: vec![point(now), point(now - 8 * DAY), point(0)],
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        assert_eq!(count_outside(&request, &w), 1);
        retain_inside(&mut request, &w);
        let converted = request.convert(NOW).unwrap();
        assert_eq!((converted.accepted, converted.rejected), (2, 0));
    }
}
