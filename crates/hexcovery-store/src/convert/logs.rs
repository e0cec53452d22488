//! Log records → rows of the `logs` table.

use super::common::{CommonColumns, ResourceFacts, nanos, span_id, trace_id, value_to_string};
use super::{Converted, Rejections};
use crate::schema;
use arrow::array::{
    ArrayRef, Int32Builder, StringBuilder, TimestampNanosecondBuilder, UInt32Builder,
};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::sync::Arc;

/// The lower-case level of a log record: from the severity number's range (OTLP data model),
/// or, when the number is unset, from common severity texts. `None` when neither says.
pub fn level(severity_number: i32, severity_text: &str) -> Option<&'static str> {
    match severity_number {
        1..=4 => Some("trace"),
        5..=8 => Some("debug"),
        9..=12 => Some("info"),
        13..=16 => Some("warn"),
        17..=20 => Some("error"),
        21..=24 => Some("fatal"),
        _ => match severity_text.trim().to_ascii_lowercase().as_str() {
            "trace" | "finest" | "finer" => Some("trace"),
            "debug" | "fine" | "config" => Some("debug"),
            "info" | "information" | "informational" | "notice" => Some("info"),
            "warn" | "warning" => Some("warn"),
            "error" | "err" | "severe" => Some("error"),
            "fatal" | "critical" | "crit" | "alert" | "emergency" | "emerg" | "panic" => {
                Some("fatal")
            }
            _ => None,
        },
    }
}

struct LogColumns {
    common: CommonColumns,
    observed: TimestampNanosecondBuilder,
    level: StringBuilder,
    severity_number: Int32Builder,
    severity_text: StringBuilder,
    body: StringBuilder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    flags: UInt32Builder,
    event_name: StringBuilder,
}

/// Checks a record and works out its times and ids, or says why it is invalid.
fn validate(
    record: &LogRecord,
    ingest_time: i64,
) -> Result<(i64, i64, Option<String>, Option<String>), String> {
    let observed = match nanos(record.observed_time_unix_nano, "observed_time_unix_nano")? {
        0 => ingest_time,
        t => t,
    };
    let time = match nanos(record.time_unix_nano, "time_unix_nano")? {
        0 => observed,
        t => t,
    };
    Ok((
        time,
        observed,
        trace_id(&record.trace_id)?,
        span_id(&record.span_id)?,
    ))
}

pub fn logs(request: &ExportLogsServiceRequest, ingest_time: i64) -> Result<Converted, ArrowError> {
    let mut c = LogColumns {
        common: CommonColumns::new(),
        observed: TimestampNanosecondBuilder::new().with_timezone("UTC"),
        level: StringBuilder::new(),
        severity_number: Int32Builder::new(),
        severity_text: StringBuilder::new(),
        body: StringBuilder::new(),
        trace_id: StringBuilder::new(),
        span_id: StringBuilder::new(),
        flags: UInt32Builder::new(),
        event_name: StringBuilder::new(),
    };
    let mut rejections = Rejections::default();
    let mut accepted = 0u64;
    for resource_logs in &request.resource_logs {
        let resource = ResourceFacts::new(resource_logs.resource.as_ref());
        for scope_logs in &resource_logs.scope_logs {
            let scope = scope_logs.scope.as_ref().map(|s| s.name.as_str());
            for record in &scope_logs.log_records {
                let (time, observed, trace, span) = match validate(record, ingest_time) {
                    Ok(v) => v,
                    Err(reason) => {
                        rejections.reject(|| reason);
                        continue;
                    }
                };
                c.common.append(time, &resource, scope, &record.attributes);
                c.observed.append_value(observed);
                c.level
                    .append_option(level(record.severity_number, &record.severity_text));
                c.severity_number.append_value(record.severity_number);
                c.severity_text
                    .append_option(Some(record.severity_text.as_str()).filter(|s| !s.is_empty()));
                c.body
                    .append_option(record.body.as_ref().and_then(value_to_string));
                c.trace_id.append_option(trace);
                c.span_id.append_option(span);
                c.flags.append_value(record.flags);
                c.event_name
                    .append_option(Some(record.event_name.as_str()).filter(|s| !s.is_empty()));
                accepted += 1;
            }
        }
    }
    let batch = if accepted == 0 {
        None
    } else {
        let mut columns = c.common.finish_head();
        columns.extend::<[ArrayRef; 9]>([
            Arc::new(c.observed.finish()),
            Arc::new(c.level.finish()),
            Arc::new(c.severity_number.finish()),
            Arc::new(c.severity_text.finish()),
            Arc::new(c.body.finish()),
            Arc::new(c.trace_id.finish()),
            Arc::new(c.span_id.finish()),
            Arc::new(c.flags.finish()),
            Arc::new(c.event_name.finish()),
        ]);
        columns.extend(c.common.finish_tail());
        Some(RecordBatch::try_new(schema::LOGS.clone(), columns)?)
    };
    Ok(rejections.finish(batch, accepted, "log records"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::common::UNKNOWN_SERVICE;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::TimestampNanosecondType;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn request(records: Vec<LogRecord>, resource: Option<Resource>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource,
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn levels_follow_the_data_model() {
        assert_eq!(level(9, ""), Some("info"));
        assert_eq!(level(17, "whatever"), Some("error"));
        assert_eq!(level(24, ""), Some("fatal"));
        assert_eq!(level(0, "WARNING"), Some("warn"));
        assert_eq!(level(0, "critical"), Some("fatal"));
        assert_eq!(level(0, ""), None);
    }

    #[test]
    fn records_become_rows_with_lifted_columns() {
        let record = LogRecord {
            time_unix_nano: 1_700_000_000_000_000_000,
            severity_number: 17,
            body: Some(AnyValue {
                value: Some(Value::StringValue("boom".into())),
            }),
            attributes: vec![kv("http.route", "/api")],
            trace_id: vec![7; 16],
            span_id: vec![8; 8],
            ..Default::default()
        };
        let resource = Resource {
            attributes: vec![kv("service.name", "api"), kv("host.name", "web-1")],
            ..Default::default()
        };
        let out = logs(
            &request(vec![record, LogRecord::default()], Some(resource)),
            42,
        )
        .unwrap();
        assert_eq!((out.accepted, out.rejected), (2, 0));
        let batch = out.batch.unwrap();
        assert_eq!(batch.schema(), *schema::LOGS);
        let col = |name: &str| batch.column_by_name(name).unwrap().clone();
        assert_eq!(col("service").as_string::<i32>().value(0), "api");
        assert_eq!(col("host").as_string::<i32>().value(0), "web-1");
        assert_eq!(col("level").as_string::<i32>().value(0), "error");
        assert!(col("level").is_null(1));
        assert_eq!(col("body").as_string::<i32>().value(0), "boom");
        assert_eq!(col("trace_id").as_string::<i32>().value(0), "07".repeat(16));
        // A record without times takes the ingest time.
        assert_eq!(
            col("timestamp")
                .as_primitive::<TimestampNanosecondType>()
                .value(1),
            42
        );
        assert_eq!(col("attributes").as_map().value(0).len(), 1);
    }

    #[test]
    fn invalid_records_are_rejected_and_counted() {
        let bad = LogRecord {
            trace_id: vec![1, 2, 3],
            ..Default::default()
        };
        let out = logs(&request(vec![bad, LogRecord::default()], None), 1).unwrap();
        assert_eq!((out.accepted, out.rejected), (1, 1));
        assert!(out.rejection.unwrap().contains("trace_id must be 16 bytes"));
        let batch = out.batch.unwrap();
        assert_eq!(
            batch
                .column_by_name("service")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            UNKNOWN_SERVICE
        );
        let none = logs(&request(vec![], None), 1).unwrap();
        assert!(none.batch.is_none());
    }
}
