//! Spans → rows of the `spans` table.

use super::common::{CommonColumns, ResourceFacts, attributes_json, nanos, span_id, trace_id};
use super::{Converted, Rejections};
use crate::schema;
use arrow::array::{ArrayRef, Float64Builder, StringBuilder, TimestampNanosecondBuilder};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde_json::json;
use std::sync::Arc;

pub fn kind_name(kind: i32) -> &'static str {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Internal) => "internal",
        Ok(SpanKind::Server) => "server",
        Ok(SpanKind::Client) => "client",
        Ok(SpanKind::Producer) => "producer",
        Ok(SpanKind::Consumer) => "consumer",
        Ok(SpanKind::Unspecified) | Err(_) => "unspecified",
    }
}

pub fn status_name(code: i32) -> &'static str {
    match StatusCode::try_from(code) {
        Ok(StatusCode::Ok) => "ok",
        Ok(StatusCode::Error) => "error",
        Ok(StatusCode::Unset) | Err(_) => "unset",
    }
}

struct Valid {
    start: i64,
    end: i64,
    trace_id: String,
    span_id: String,
    parent: Option<String>,
}

fn validate(span: &Span) -> Result<Valid, String> {
    let start = nanos(span.start_time_unix_nano, "start_time_unix_nano")?;
    let end = nanos(span.end_time_unix_nano, "end_time_unix_nano")?;
    if start == 0 {
        return Err("start_time_unix_nano is required".into());
    }
    if end < start {
        return Err(format!(
            "end_time_unix_nano {end} is before start_time_unix_nano {start}"
        ));
    }
    Ok(Valid {
        start,
        end,
        trace_id: trace_id(&span.trace_id)?.ok_or("trace_id is required")?,
        span_id: span_id(&span.span_id)?.ok_or("span_id is required")?,
        parent: span_id(&span.parent_span_id)?,
    })
}

fn events_json(span: &Span) -> Option<String> {
    (!span.events.is_empty()).then(|| {
        serde_json::Value::Array(
            span.events
                .iter()
                .map(|e| json!({ "time_unix_nano": e.time_unix_nano, "name": e.name, "attributes": attributes_json(&e.attributes) }))
                .collect(),
        )
        .to_string()
    })
}

fn links_json(span: &Span) -> Option<String> {
    (!span.links.is_empty()).then(|| {
        serde_json::Value::Array(
            span.links
                .iter()
                .map(|l| json!({ "trace_id": hex::encode(&l.trace_id), "span_id": hex::encode(&l.span_id), "attributes": attributes_json(&l.attributes) }))
                .collect(),
        )
        .to_string()
    })
}

pub fn spans(
    request: &ExportTraceServiceRequest,
    _ingest_time: i64,
) -> Result<Converted, ArrowError> {
    let mut common = CommonColumns::new();
    let mut end = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut duration = Float64Builder::new();
    let [
        mut trace,
        mut span_col,
        mut parent,
        mut name,
        mut kind,
        mut status,
        mut message,
        mut state,
        mut events,
        mut links,
    ] = std::array::from_fn(|_| StringBuilder::new());
    let mut rejections = Rejections::default();
    let mut accepted = 0u64;
    for resource_spans in &request.resource_spans {
        let resource = ResourceFacts::new(resource_spans.resource.as_ref());
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans.scope.as_ref().map(|s| s.name.as_str());
            for span in &scope_spans.spans {
                let valid = match validate(span) {
                    Ok(v) => v,
                    Err(reason) => {
                        rejections.reject(|| reason);
                        continue;
                    }
                };
                common.append(valid.start, &resource, scope, &span.attributes);
                end.append_value(valid.end);
                duration.append_value((valid.end - valid.start) as f64 / 1e6);
                trace.append_value(&valid.trace_id);
                span_col.append_value(&valid.span_id);
                parent.append_option(valid.parent);
                name.append_value(&span.name);
                kind.append_value(kind_name(span.kind));
                let span_status = span.status.as_ref();
                status.append_value(status_name(span_status.map_or(0, |s| s.code)));
                message.append_option(
                    span_status
                        .map(|s| s.message.as_str())
                        .filter(|m| !m.is_empty()),
                );
                state.append_option(Some(span.trace_state.as_str()).filter(|s| !s.is_empty()));
                events.append_option(events_json(span));
                links.append_option(links_json(span));
                accepted += 1;
            }
        }
    }
    let batch = if accepted == 0 {
        None
    } else {
        let mut columns = common.finish_head();
        columns.extend::<[ArrayRef; 12]>([
            Arc::new(end.finish()),
            Arc::new(duration.finish()),
            Arc::new(trace.finish()),
            Arc::new(span_col.finish()),
            Arc::new(parent.finish()),
            Arc::new(name.finish()),
            Arc::new(kind.finish()),
            Arc::new(status.finish()),
            Arc::new(message.finish()),
            Arc::new(state.finish()),
            Arc::new(events.finish()),
            Arc::new(links.finish()),
        ]);
        columns.extend(common.finish_tail());
        Some(RecordBatch::try_new(schema::SPANS.clone(), columns)?)
    };
    Ok(rejections.finish(batch, accepted, "spans"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Float64Type;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status, span::Event};

    fn span(start: u64, end: u64) -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "GET /api".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            status: Some(Status {
                code: StatusCode::Error as i32,
                message: "boom".into(),
            }),
            events: vec![Event {
                name: "exception".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn spans_become_rows() {
        let out = spans(&request(vec![span(1_000_000_000, 1_250_000_000)]), 0).unwrap();
        let batch = out.batch.unwrap();
        assert_eq!(batch.schema(), *schema::SPANS);
        let col = |name: &str| batch.column_by_name(name).unwrap().clone();
        assert_eq!(
            col("duration_ms").as_primitive::<Float64Type>().value(0),
            250.0
        );
        assert_eq!(col("kind").as_string::<i32>().value(0), "server");
        assert_eq!(col("status").as_string::<i32>().value(0), "error");
        assert_eq!(col("status_message").as_string::<i32>().value(0), "boom");
        assert!(col("parent_span_id").is_null(0));
        assert!(
            col("events")
                .as_string::<i32>()
                .value(0)
                .contains("exception")
        );
    }

    #[test]
    fn malformed_spans_are_rejected() {
        let mut no_trace = span(1, 2);
        no_trace.trace_id.clear();
        let backwards = span(5, 4);
        let out = spans(&request(vec![no_trace, backwards, span(1, 2)]), 0).unwrap();
        assert_eq!((out.accepted, out.rejected), (1, 2));
        assert!(
            out.rejection
                .unwrap()
                .starts_with("2 spans rejected; first: trace_id is required")
        );
    }
}
