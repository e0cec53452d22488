//! Calibration of [`super::DECODED_PER_BYTE`]: decodes representative OTLP requests under a
//! counting global allocator (per thread, so tests running beside it do not count) and
//! prints the peak heap a decode takes per byte of its wire form, and what the decoded
//! request keeps, for protobuf and OTLP/JSON; fails if a representative shape's protobuf (or any shape's JSON)
//! decode exceeds the factor. Run with
//! `cargo nextest run -p hexcovery-server calibration --no-capture` to see the table.

use super::{DECODED_PER_BYTE, DECODED_PER_JSON_BYTE};
use hexcovery_store::{ExportRequest, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting this thread's live and peak heap bytes.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to `System` unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        q
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Peak heap bytes `f` allocated beyond what was live before it, and what its result keeps.
fn measure<T>(f: impl FnOnce() -> T) -> (usize, usize, T) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get) - base;
    let kept = LIVE.with(Cell::get) - base;
    (peak.max(0) as usize, kept.max(0) as usize, out)
}

fn text(n: usize, seed: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-_/.";
    (0..n)
        .map(|i| alphabet[(i * 7 + seed * 13) % alphabet.len()] as char)
        .collect()
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// A resource as an SDK sends it: service, host, k8s and SDK attributes.
fn resource() -> Option<Resource> {
    let names = [
        "service.name",
        "service.version",
        "host.name",
        "k8s.pod.name",
        "k8s.namespace.name",
        "telemetry.sdk.language",
    ];
    Some(Resource {
        attributes: names
            .iter()
            .enumerate()
            .map(|(i, k)| kv(k, Value::StringValue(text(14, i))))
            .collect(),
        ..Default::default()
    })
}

const T0: u64 = 1_700_000_000_000_000_000;

/// `n` log records with `body` bytes of body and `attrs` attributes (short strings and ints).
fn logs(n: usize, body: usize, attrs: usize) -> ExportRequest {
    let records = (0..n)
        .map(|i| LogRecord {
            time_unix_nano: T0 + i as u64,
            observed_time_unix_nano: T0 + i as u64,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(text(body, i))),
            }),
            attributes: (0..attrs)
                .map(|a| {
                    let key = format!("attr.key_{a}");
                    if a % 3 == 2 {
                        kv(&key, Value::IntValue((i * a) as i64))
                    } else {
                        kv(&key, Value::StringValue(text(12, i + a)))
                    }
                })
                .collect(),
            trace_id: vec![7; 16],
            span_id: vec![3; 8],
            ..Default::default()
        })
        .collect();
    ExportRequest::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// `n` server spans with ten attributes and one event each.
fn spans(n: usize) -> ExportRequest {
    let spans = (0..n)
        .map(|i| Span {
            trace_id: vec![(i % 251) as u8; 16],
            span_id: vec![(i % 241) as u8; 8],
            parent_span_id: vec![1; 8],
            name: format!("GET /api/v1/items/{{id}} {}", i % 10),
            kind: 2,
            start_time_unix_nano: T0 + i as u64,
            end_time_unix_nano: T0 + i as u64 + 1_000_000,
            attributes: (0..10)
                .map(|a| {
                    kv(
                        &format!("http.attr_{a}"),
                        Value::StringValue(text(16, i + a)),
                    )
                })
                .collect(),
            events: vec![Event {
                time_unix_nano: T0 + i as u64 + 10,
                name: "exception".into(),
                attributes: vec![kv("exception.message", Value::StringValue(text(40, i)))],
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportRequest::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn number_points(n: usize) -> Vec<NumberDataPoint> {
    (0..n)
        .map(|i| NumberDataPoint {
            time_unix_nano: T0 + i as u64,
            start_time_unix_nano: T0,
            attributes: vec![
                kv("cpu", Value::StringValue(format!("cpu{}", i % 16))),
                kv("state", Value::StringValue("user".into())),
                kv("core", Value::IntValue((i % 16) as i64)),
            ],
            value: Some(number_data_point::Value::AsDouble(i as f64 * 0.5)),
            ..Default::default()
        })
        .collect()
}

/// `metrics` gauges and sums of `points` data points each, three attributes per point.
fn number_metrics(metrics: usize, points: usize) -> ExportRequest {
    let metrics = (0..metrics)
        .map(|m| Metric {
            name: format!("system.metric_{m}"),
            unit: "1".into(),
            data: Some(if m % 2 == 0 {
                Data::Gauge(Gauge {
                    data_points: number_points(points),
                })
            } else {
                Data::Sum(Sum {
                    data_points: number_points(points),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                })
            }),
            ..Default::default()
        })
        .collect();
    metrics_request(metrics)
}

/// `metrics` histograms of `points` data points with twelve buckets each.
fn histograms(metrics: usize, points: usize) -> ExportRequest {
    let metrics = (0..metrics)
        .map(|m| Metric {
            name: format!("http.server.duration_{m}"),
            unit: "ms".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: (0..points)
                    .map(|i| HistogramDataPoint {
                        time_unix_nano: T0 + i as u64,
                        start_time_unix_nano: T0,
                        attributes: vec![kv("http.route", Value::StringValue(text(20, i)))],
                        count: 100,
                        sum: Some(1234.5),
                        bucket_counts: vec![10; 12],
                        explicit_bounds: (0..11).map(|b| b as f64 * 10.0).collect(),
                        min: Some(0.5),
                        max: Some(99.0),
                        ..Default::default()
                    })
                    .collect(),
                aggregation_temporality: 2,
            })),
            ..Default::default()
        })
        .collect();
    metrics_request(metrics)
}

fn metrics_request(metrics: Vec<Metric>) -> ExportRequest {
    ExportRequest::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn json(request: &ExportRequest) -> Vec<u8> {
    match request {
        ExportRequest::Logs(r) => serde_json::to_vec(r),
        ExportRequest::Traces(r) => serde_json::to_vec(r),
        ExportRequest::Metrics(r) => serde_json::to_vec(r),
    }
    .unwrap()
}

/// One shape: (name, request, whether the factor must cover it).
fn shapes() -> Vec<(&'static str, ExportRequest, bool)> {
    vec![
        ("logs, 40 B bodies, 12 attributes", logs(2000, 40, 12), true),
        ("logs, 4 KiB bodies, 2 attributes", logs(200, 4096, 2), true),
        ("logs, 200 B bodies, 4 attributes", logs(2000, 200, 4), true),
        ("spans, 10 attributes, 1 event", spans(1000), true),
        (
            "metrics, gauges/sums, 3 attributes",
            number_metrics(20, 250),
            true,
        ),
        ("metrics, histograms, 12 buckets", histograms(10, 200), true),
        // Not representative: empty bodies and one-letter int attributes, the most structs
        // per wire byte an encoder can send. Printed, not held to the factor.
        (
            "worst case: empty logs, 30 int attrs",
            logs(500, 0, 30),
            false,
        ),
    ]
}

#[test]
fn decoded_requests_stay_within_the_charged_factor() {
    let mut over = Vec::new();
    eprintln!(
        "{:<40} {:>9} {:>10} {:>10} {:>9} {:>10} {:>10}",
        "shape", "pb bytes", "pb peak/B", "pb kept/B", "json B", "json pk/B", "json kp/B"
    );
    for (name, request, representative) in shapes() {
        let signal: Signal = request.signal();
        let wire = request.encode_protobuf();
        let (peak, kept, decoded) = measure(|| ExportRequest::decode_protobuf(signal, &wire));
        assert_eq!(decoded.unwrap(), request, "{name}: protobuf round trip");
        let (pb_peak, pb_kept) = (
            peak as f64 / wire.len() as f64,
            kept as f64 / wire.len() as f64,
        );
        let body = json(&request);
        let (peak, kept, decoded) = measure(|| ExportRequest::decode_json(signal, &body));
        decoded.unwrap_or_else(|e| panic!("{name}: JSON decode: {e}"));
        let (js_peak, js_kept) = (
            peak as f64 / body.len() as f64,
            kept as f64 / body.len() as f64,
        );
        eprintln!(
            "{name:<40} {:>9} {pb_peak:>10.2} {pb_kept:>10.2} {:>9} {js_peak:>10.2} {js_kept:>10.2}",
            wire.len(),
            body.len()
        );
        if representative && pb_peak > DECODED_PER_BYTE as f64 {
            over.push(format!("{name}: protobuf {pb_peak:.2}"));
        }
        if js_peak > DECODED_PER_JSON_BYTE as f64 {
            over.push(format!("{name}: OTLP/JSON {js_peak:.2}"));
        }
    }
    assert!(
        over.is_empty(),
        "decoded requests take more than {DECODED_PER_BYTE}× (protobuf) or {DECODED_PER_JSON_BYTE}× (JSON) their bytes: {over:?}"
    );
}
