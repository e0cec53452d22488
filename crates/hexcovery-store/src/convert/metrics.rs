//! Metric data points → rows of the `metrics` table: one row per data point of every kind
//! (gauge, sum, histogram, exponential histogram, summary).

use super::common::{CommonColumns, ResourceFacts, nanos};
use super::{Converted, Rejections};
use crate::schema;
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, ListBuilder, StringBuilder,
    TimestampNanosecondBuilder, UInt64Builder,
};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data, number_data_point};
use serde_json::json;
use std::sync::Arc;

fn temporality(value: i32) -> Option<&'static str> {
    match value {
        1 => Some("delta"),
        2 => Some("cumulative"),
        _ => None,
    }
}

fn buckets_json(buckets: Option<&Buckets>) -> serde_json::Value {
    buckets.map_or(
        serde_json::Value::Null,
        |b| json!({ "offset": b.offset, "bucket_counts": b.bucket_counts }),
    )
}

/// One data point, whatever its kind, in the table's terms.
#[derive(Default)]
struct Point<'a> {
    time: u64,
    start: u64,
    attributes: &'a [KeyValue],
    value: Option<f64>,
    count: Option<u64>,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    bucket_counts: Option<&'a [u64]>,
    explicit_bounds: Option<&'a [f64]>,
    data: Option<String>,
}

/// A metric's kind, temporality, monotonicity and its points.
type MetricPoints<'a> = (
    &'static str,
    Option<&'static str>,
    Option<bool>,
    Vec<Point<'a>>,
);

/// The metric's kind, temporality, monotonicity and its points.
fn points(metric: &Metric) -> Option<MetricPoints<'_>> {
    Some(match metric.data.as_ref()? {
        Data::Gauge(g) => ("gauge", None, None, g.data_points.iter().map(number_point).collect()),
        Data::Sum(s) => (
            "sum",
            temporality(s.aggregation_temporality),
            Some(s.is_monotonic),
            s.data_points.iter().map(number_point).collect(),
        ),
        Data::Histogram(h) => (
            "histogram",
            temporality(h.aggregation_temporality),
            None,
            h.data_points
                .iter()
                .map(|p| Point {
                    time: p.time_unix_nano,
                    start: p.start_time_unix_nano,
                    attributes: &p.attributes,
                    count: Some(p.count),
                    sum: p.sum,
                    min: p.min,
                    max: p.max,
                    bucket_counts: Some(&p.bucket_counts),
                    explicit_bounds: Some(&p.explicit_bounds),
                    ..Default::default()
                })
                .collect(),
        ),
        Data::ExponentialHistogram(h) => (
            "exponential_histogram",
            temporality(h.aggregation_temporality),
            None,
            h.data_points
                .iter()
                .map(|p| Point {
                    time: p.time_unix_nano,
                    start: p.start_time_unix_nano,
                    attributes: &p.attributes,
                    count: Some(p.count),
                    sum: p.sum,
                    min: p.min,
                    max: p.max,
                    data: Some(
                        json!({
                            "scale": p.scale,
                            "zero_count": p.zero_count,
                            "zero_threshold": p.zero_threshold,
                            "positive": buckets_json(p.positive.as_ref()),
                            "negative": buckets_json(p.negative.as_ref()),
                        })
                        .to_string(),
                    ),
                    ..Default::default()
                })
                .collect(),
        ),
        Data::Summary(s) => (
            "summary",
            None,
            None,
            s.data_points
                .iter()
                .map(|p| Point {
                    time: p.time_unix_nano,
                    start: p.start_time_unix_nano,
                    attributes: &p.attributes,
                    count: Some(p.count),
                    sum: Some(p.sum),
                    data: Some(
                        json!({ "quantiles": p.quantile_values.iter().map(|q| json!({ "quantile": q.quantile, "value": q.value })).collect::<Vec<_>>() })
                            .to_string(),
                    ),
                    ..Default::default()
                })
                .collect(),
        ),
    })
}

fn number_point(p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> Point<'_> {
    Point {
        time: p.time_unix_nano,
        start: p.start_time_unix_nano,
        attributes: &p.attributes,
        value: p.value.map(|v| match v {
            number_data_point::Value::AsDouble(d) => d,
            number_data_point::Value::AsInt(i) => i as f64,
        }),
        ..Default::default()
    }
}

pub fn metrics(
    request: &ExportMetricsServiceRequest,
    ingest_time: i64,
) -> Result<Converted, ArrowError> {
    let mut common = CommonColumns::new();
    let mut start = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let [
        mut name,
        mut kind,
        mut unit,
        mut description,
        mut temporality_col,
        mut data,
    ] = std::array::from_fn(|_| StringBuilder::new());
    let mut monotonic = BooleanBuilder::new();
    let [mut value, mut sum, mut min, mut max] = std::array::from_fn(|_| Float64Builder::new());
    let mut count = UInt64Builder::new();
    let mut bucket_counts = ListBuilder::new(UInt64Builder::new());
    let mut explicit_bounds = ListBuilder::new(Float64Builder::new());
    let mut rejections = Rejections::default();
    let mut accepted = 0u64;
    for resource_metrics in &request.resource_metrics {
        let resource = ResourceFacts::new(resource_metrics.resource.as_ref());
        for scope_metrics in &resource_metrics.scope_metrics {
            let scope = scope_metrics.scope.as_ref().map(|s| s.name.as_str());
            for metric in &scope_metrics.metrics {
                if metric.name.is_empty() {
                    rejections.reject(|| "a metric has no name".into());
                    continue;
                }
                let Some((kind_name, temporality_name, is_monotonic, points)) = points(metric)
                else {
                    rejections.reject(|| format!("metric {:?} has no data", metric.name));
                    continue;
                };
                let numeric = matches!(kind_name, "gauge" | "sum");
                for point in points {
                    if numeric && point.value.is_none() {
                        rejections.reject(|| {
                            format!("metric {:?}: a data point has no value", metric.name)
                        });
                        continue;
                    }
                    let times = nanos(point.time, "time_unix_nano")
                        .and_then(|t| Ok((t, nanos(point.start, "start_time_unix_nano")?)));
                    let (time, start_time) = match times {
                        Ok(v) => v,
                        Err(reason) => {
                            rejections.reject(|| format!("metric {:?}: {reason}", metric.name));
                            continue;
                        }
                    };
                    common.append(
                        if time == 0 { ingest_time } else { time },
                        &resource,
                        scope,
                        point.attributes,
                    );
                    start.append_option((start_time != 0).then_some(start_time));
                    name.append_value(&metric.name);
                    kind.append_value(kind_name);
                    unit.append_option(Some(metric.unit.as_str()).filter(|u| !u.is_empty()));
                    description
                        .append_option(Some(metric.description.as_str()).filter(|d| !d.is_empty()));
                    temporality_col.append_option(temporality_name);
                    monotonic.append_option(is_monotonic);
                    value.append_option(point.value);
                    count.append_option(point.count);
                    sum.append_option(point.sum);
                    min.append_option(point.min);
                    max.append_option(point.max);
                    match point.bucket_counts {
                        Some(b) => bucket_counts.append_value(b.iter().map(|c| Some(*c))),
                        None => bucket_counts.append_null(),
                    }
                    match point.explicit_bounds {
                        Some(b) => explicit_bounds.append_value(b.iter().map(|c| Some(*c))),
                        None => explicit_bounds.append_null(),
                    }
                    data.append_option(point.data);
                    accepted += 1;
                }
            }
        }
    }
    let batch = if accepted == 0 {
        None
    } else {
        let mut columns = common.finish_head();
        columns.extend::<[ArrayRef; 15]>([
            Arc::new(start.finish()),
            Arc::new(name.finish()),
            Arc::new(kind.finish()),
            Arc::new(unit.finish()),
            Arc::new(description.finish()),
            Arc::new(temporality_col.finish()),
            Arc::new(monotonic.finish()),
            Arc::new(value.finish()),
            Arc::new(count.finish()),
            Arc::new(sum.finish()),
            Arc::new(min.finish()),
            Arc::new(max.finish()),
            Arc::new(bucket_counts.finish()),
            Arc::new(explicit_bounds.finish()),
            Arc::new(data.finish()),
        ]);
        columns.extend(common.finish_tail());
        Some(RecordBatch::try_new(schema::METRICS.clone(), columns)?)
    };
    Ok(rejections.finish(batch, accepted, "data points"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, UInt64Type};
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Histogram, HistogramDataPoint, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
        Summary, SummaryDataPoint,
    };

    fn metric(name: &str, data: Data) -> Metric {
        Metric {
            name: name.into(),
            unit: "%".into(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn gauge_point(v: f64) -> NumberDataPoint {
        NumberDataPoint {
            time_unix_nano: 10,
            value: Some(number_data_point::Value::AsDouble(v)),
            ..Default::default()
        }
    }

    #[test]
    fn every_point_kind_becomes_a_row() {
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![
                        metric(
                            "host.cpu_usage_pct",
                            Data::Gauge(Gauge {
                                data_points: vec![gauge_point(12.5), gauge_point(13.0)],
                            }),
                        ),
                        metric(
                            "http.requests",
                            Data::Sum(Sum {
                                data_points: vec![NumberDataPoint {
                                    value: Some(number_data_point::Value::AsInt(7)),
                                    ..Default::default()
                                }],
                                aggregation_temporality: 2,
                                is_monotonic: true,
                            }),
                        ),
                        metric(
                            "http.duration",
                            Data::Histogram(Histogram {
                                data_points: vec![HistogramDataPoint {
                                    count: 3,
                                    sum: Some(6.0),
                                    bucket_counts: vec![1, 2],
                                    explicit_bounds: vec![1.0],
                                    ..Default::default()
                                }],
                                aggregation_temporality: 1,
                            }),
                        ),
                        metric(
                            "rpc.latency",
                            Data::Summary(Summary {
                                data_points: vec![SummaryDataPoint {
                                    count: 1,
                                    sum: 2.0,
                                    ..Default::default()
                                }],
                            }),
                        ),
                        Metric {
                            name: "empty".into(),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let out = metrics(&request, 99).unwrap();
        assert_eq!((out.accepted, out.rejected), (5, 1));
        let batch = out.batch.unwrap();
        assert_eq!(batch.schema(), *schema::METRICS);
        let col = |name: &str| batch.column_by_name(name).unwrap().clone();
        let kinds: Vec<_> = col("type")
            .as_string::<i32>()
            .iter()
            .map(|k| k.unwrap().to_string())
            .collect();
        assert_eq!(kinds, ["gauge", "gauge", "sum", "histogram", "summary"]);
        assert_eq!(col("value").as_primitive::<Float64Type>().value(0), 12.5);
        assert_eq!(col("value").as_primitive::<Float64Type>().value(2), 7.0);
        assert_eq!(col("temporality").as_string::<i32>().value(2), "cumulative");
        assert_eq!(col("count").as_primitive::<UInt64Type>().value(3), 3);
        assert_eq!(col("bucket_counts").as_list::<i32>().value(3).len(), 2);
        assert!(col("bucket_counts").is_null(0));
        assert!(
            col("data")
                .as_string::<i32>()
                .value(4)
                .contains("quantiles")
        );
    }
}
