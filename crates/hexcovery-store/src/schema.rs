//! Arrow schemas of the three telemetry tables. Every table has `timestamp` (UTC, ns),
//! `service` (`service.name`), `host` (`host.name`), `attributes` and `resource` (string
//! maps of the record's and the resource's attributes) and `scope_name`.

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, LazyLock};

/// Name of the time column every table is partitioned and pruned by.
pub const TIMESTAMP: &str = "timestamp";

pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The entries field of a `Map<Utf8, Utf8>` column, as arrow's `MapBuilder` names it.
pub fn map_entries_field() -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Utf8, true),
        ])),
        false,
    ))
}

pub fn map_type() -> DataType {
    DataType::Map(map_entries_field(), false)
}

fn common_head() -> Vec<Field> {
    vec![
        Field::new(TIMESTAMP, timestamp_type(), false),
        Field::new("service", DataType::Utf8, false),
        Field::new("host", DataType::Utf8, true),
    ]
}

fn common_tail() -> Vec<Field> {
    vec![
        Field::new("attributes", map_type(), false),
        Field::new("resource", map_type(), false),
        Field::new("scope_name", DataType::Utf8, true),
    ]
}

fn schema(middle: Vec<Field>) -> SchemaRef {
    let mut fields = common_head();
    fields.extend(middle);
    fields.extend(common_tail());
    Arc::new(Schema::new(fields))
}

pub static LOGS: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema(vec![
        Field::new("observed_timestamp", timestamp_type(), true),
        Field::new("level", DataType::Utf8, true),
        Field::new("severity_number", DataType::Int32, false),
        Field::new("severity_text", DataType::Utf8, true),
        Field::new("body", DataType::Utf8, true),
        Field::new("trace_id", DataType::Utf8, true),
        Field::new("span_id", DataType::Utf8, true),
        Field::new("flags", DataType::UInt32, false),
        Field::new("event_name", DataType::Utf8, true),
    ])
});

pub static SPANS: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema(vec![
        Field::new("end_timestamp", timestamp_type(), false),
        Field::new("duration_ms", DataType::Float64, false),
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("span_id", DataType::Utf8, false),
        Field::new("parent_span_id", DataType::Utf8, true),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("status_message", DataType::Utf8, true),
        Field::new("trace_state", DataType::Utf8, true),
        Field::new("events", DataType::Utf8, true),
        Field::new("links", DataType::Utf8, true),
    ])
});

pub static METRICS: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema(vec![
        Field::new("start_timestamp", timestamp_type(), true),
        Field::new("name", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("unit", DataType::Utf8, true),
        Field::new("description", DataType::Utf8, true),
        Field::new("temporality", DataType::Utf8, true),
        Field::new("is_monotonic", DataType::Boolean, true),
        Field::new("value", DataType::Float64, true),
        Field::new("count", DataType::UInt64, true),
        Field::new("sum", DataType::Float64, true),
        Field::new("min", DataType::Float64, true),
        Field::new("max", DataType::Float64, true),
        Field::new(
            "bucket_counts",
            DataType::List(Arc::new(Field::new("item", DataType::UInt64, true))),
            true,
        ),
        Field::new(
            "explicit_bounds",
            DataType::List(Arc::new(Field::new("item", DataType::Float64, true))),
            true,
        ),
        // Exponential-histogram buckets and summary quantiles, as JSON: kept, not yet typed.
        Field::new("data", DataType::Utf8, true),
    ])
});

pub fn for_signal(signal: crate::Signal) -> SchemaRef {
    match signal {
        crate::Signal::Logs => LOGS.clone(),
        crate::Signal::Spans => SPANS.clone(),
        crate::Signal::Metrics => METRICS.clone(),
    }
}
