//! Pieces every signal's conversion shares: attribute values as strings, resource facts,
//! ids, and the builder for the columns all tables have.

use crate::schema::map_entries_field;
use arrow::array::{
    ArrayRef, MapBuilder, MapFieldNames, StringBuilder, TimestampNanosecondBuilder,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::sync::Arc;

/// The `service.name` used when a resource has none (the OpenTelemetry convention).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// An attribute value as the string stored in the attribute maps: strings as they are,
/// numbers and booleans in their usual text form, bytes as lower-case hex (ids are the usual
/// bytes values), arrays and key-value lists as JSON.
pub fn value_to_string(value: &AnyValue) -> Option<String> {
    use any_value::Value;
    Some(match value.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        Value::BytesValue(b) => hex::encode(b),
        Value::ArrayValue(_) | Value::KvlistValue(_) => to_json(value).to_string(),
        Value::StringValueStrindex(i) => i.to_string(),
    })
}

/// An attribute value as JSON (for nested values, events and links).
pub fn to_json(value: &AnyValue) -> serde_json::Value {
    use any_value::Value;
    use serde_json::Value as J;
    match value.value.as_ref() {
        None => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Some(Value::BytesValue(b)) => J::String(hex::encode(b)),
        Some(Value::ArrayValue(a)) => J::Array(a.values.iter().map(to_json).collect()),
        Some(Value::KvlistValue(kv)) => attributes_json(&kv.values),
        Some(Value::StringValueStrindex(i)) => J::from(*i),
    }
}

pub fn attributes_json(attributes: &[KeyValue]) -> serde_json::Value {
    serde_json::Value::Object(
        attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    kv.value.as_ref().map_or(serde_json::Value::Null, to_json),
                )
            })
            .collect(),
    )
}

fn find_string(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(value_to_string)
        .filter(|s| !s.is_empty())
}

/// What every row of one resource shares.
pub struct ResourceFacts {
    pub service: String,
    pub host: Option<String>,
    pub attributes: Vec<(String, Option<String>)>,
}

impl ResourceFacts {
    pub fn new(resource: Option<&Resource>) -> Self {
        let attrs = resource
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        Self {
            service: find_string(attrs, "service.name")
                .unwrap_or_else(|| UNKNOWN_SERVICE.to_string()),
            host: find_string(attrs, "host.name"),
            attributes: string_pairs(attrs),
        }
    }
}

/// Attribute pairs with string values; a repeated key keeps its first value (OTLP forbids
/// repeats; a map with one value per key is what queries expect).
pub fn string_pairs(attributes: &[KeyValue]) -> Vec<(String, Option<String>)> {
    let mut pairs: Vec<(String, Option<String>)> = Vec::with_capacity(attributes.len());
    let mut seen = std::collections::HashSet::with_capacity(attributes.len());
    for kv in attributes {
        if !seen.insert(kv.key.as_str()) {
            continue;
        }
        pairs.push((kv.key.clone(), kv.value.as_ref().and_then(value_to_string)));
    }
    pairs
}

/// A trace id as 32 lower-case hex digits. Empty is "none"; any other length than 16 bytes,
/// or all zeros, is invalid.
pub fn trace_id(bytes: &[u8]) -> Result<Option<String>, String> {
    id(bytes, 16, "trace_id")
}

pub fn span_id(bytes: &[u8]) -> Result<Option<String>, String> {
    id(bytes, 8, "span_id")
}

fn id(bytes: &[u8], len: usize, name: &str) -> Result<Option<String>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.len() != len {
        return Err(format!("{name} must be {len} bytes, got {}", bytes.len()));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(format!("{name} must not be all zeros"));
    }
    Ok(Some(hex::encode(bytes)))
}

/// A protobuf u64 nanosecond time as the i64 Arrow stores; times past year 2262 are invalid.
pub fn nanos(value: u64, name: &str) -> Result<i64, String> {
    i64::try_from(value).map_err(|_| format!("{name} {value} is out of range"))
}

fn string_map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "keys".into(),
        value: "values".into(),
    };
    let entries = map_entries_field();
    let arrow::datatypes::DataType::Struct(fields) = entries.data_type() else {
        unreachable!("map entries are a struct")
    };
    MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new())
        .with_values_field(fields[1].clone())
}

fn append_map(
    builder: &mut MapBuilder<StringBuilder, StringBuilder>,
    pairs: &[(String, Option<String>)],
) {
    for (key, value) in pairs {
        builder.keys().append_value(key);
        builder.values().append_option(value.as_deref());
    }
    builder
        .append(true)
        .expect("keys and values are appended in pairs");
}

/// Appends one row's attributes straight from the protobuf values (no intermediate copies:
/// this runs for every record). A repeated key keeps its first value, as `string_pairs` does.
fn append_attributes(
    builder: &mut MapBuilder<StringBuilder, StringBuilder>,
    attributes: &[KeyValue],
) {
    // Sorted by key, so equal attribute sets are equal maps whatever order the sender used
    // (metric series are grouped by them); the sort is stable, so of a repeated key the first
    // value wins.
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut previous: Option<&str> = None;
    for kv in sorted {
        if previous == Some(kv.key.as_str()) {
            continue;
        }
        previous = Some(kv.key.as_str());
        builder.keys().append_value(&kv.key);
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => builder.values().append_value(s),
            None => builder.values().append_null(),
            Some(_) => builder
                .values()
                .append_option(kv.value.as_ref().and_then(value_to_string)),
        }
    }
    builder
        .append(true)
        .expect("keys and values are appended in pairs");
}

/// Builders of the columns every table has.
pub struct CommonColumns {
    timestamp: TimestampNanosecondBuilder,
    service: StringBuilder,
    host: StringBuilder,
    attributes: MapBuilder<StringBuilder, StringBuilder>,
    resource: MapBuilder<StringBuilder, StringBuilder>,
    scope_name: StringBuilder,
}

impl CommonColumns {
    pub fn new() -> Self {
        Self {
            timestamp: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            service: StringBuilder::new(),
            host: StringBuilder::new(),
            attributes: string_map_builder(),
            resource: string_map_builder(),
            scope_name: StringBuilder::new(),
        }
    }

    pub fn append(
        &mut self,
        timestamp: i64,
        resource: &ResourceFacts,
        scope_name: Option<&str>,
        attributes: &[KeyValue],
    ) {
        self.timestamp.append_value(timestamp);
        self.service.append_value(&resource.service);
        self.host.append_option(resource.host.as_deref());
        append_attributes(&mut self.attributes, attributes);
        append_map(&mut self.resource, &resource.attributes);
        self.scope_name
            .append_option(scope_name.filter(|s| !s.is_empty()));
    }

    /// `timestamp, service, host` — the columns that open every schema.
    pub fn finish_head(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.host.finish()),
        ]
    }

    /// `attributes, resource, scope_name` — the columns that close every schema.
    pub fn finish_tail(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.attributes.finish()),
            Arc::new(self.resource.finish()),
            Arc::new(self.scope_name.finish()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValueList;

    fn any(value: any_value::Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn values_render_as_strings() {
        use any_value::Value::*;
        assert_eq!(value_to_string(&any(StringValue("a".into()))).unwrap(), "a");
        assert_eq!(value_to_string(&any(IntValue(-5))).unwrap(), "-5");
        assert_eq!(value_to_string(&any(DoubleValue(1.5))).unwrap(), "1.5");
        assert_eq!(value_to_string(&any(BoolValue(true))).unwrap(), "true");
        assert_eq!(
            value_to_string(&any(BytesValue(vec![0xab, 0x01]))).unwrap(),
            "ab01"
        );
        let array = any(ArrayValue(
            opentelemetry_proto::tonic::common::v1::ArrayValue {
                values: vec![any(IntValue(1)), any(StringValue("x".into()))],
            },
        ));
        assert_eq!(value_to_string(&array).unwrap(), r#"[1,"x"]"#);
        let kv = any(KvlistValue(KeyValueList {
            values: vec![KeyValue {
                key: "k".into(),
                value: Some(any(BoolValue(false))),
                ..Default::default()
            }],
        }));
        assert_eq!(value_to_string(&kv).unwrap(), r#"{"k":false}"#);
        assert_eq!(value_to_string(&AnyValue { value: None }), None);
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(trace_id(&[]).unwrap(), None);
        assert_eq!(trace_id(&[1; 16]).unwrap().unwrap(), "01".repeat(16));
        assert!(trace_id(&[1; 4]).unwrap_err().contains("16 bytes, got 4"));
        assert!(span_id(&[0; 8]).unwrap_err().contains("all zeros"));
    }

    #[test]
    fn record_attributes_keep_the_first_of_repeated_keys() {
        use arrow::array::{Array, AsArray};
        let kv = |k: &str, v: any_value::Value| KeyValue {
            key: k.into(),
            value: Some(any(v)),
            ..Default::default()
        };
        let attributes = [
            kv("a", any_value::Value::StringValue("1".into())),
            kv("b", any_value::Value::IntValue(2)),
            kv("a", any_value::Value::StringValue("dup".into())),
            KeyValue {
                key: "c".into(),
                value: None,
                ..Default::default()
            },
        ];
        let mut columns = CommonColumns::new();
        columns.append(1, &ResourceFacts::new(None), None, &attributes);
        let tail = columns.finish_tail();
        let map = tail[0].as_map();
        let entries = map.value(0);
        let keys = entries.column(0).as_string::<i32>();
        let values = entries.column(1).as_string::<i32>();
        assert_eq!(
            (0..keys.len()).map(|i| keys.value(i)).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(
            (values.value(0), values.value(1), values.is_null(2)),
            ("1", "2", true)
        );
    }

    #[test]
    fn attribute_maps_are_sorted_and_keep_the_first_of_a_repeated_key() {
        use arrow::array::{Array, AsArray};
        let mut attributes: Vec<KeyValue> = (0..40)
            .map(|i| KeyValue {
                key: format!("k{i}"),
                value: Some(any(any_value::Value::IntValue(i))),
                ..Default::default()
            })
            .collect();
        attributes.push(KeyValue {
            key: "k3".into(),
            value: Some(any(any_value::Value::IntValue(99))),
            ..Default::default()
        });
        let mut columns = CommonColumns::new();
        columns.append(1, &ResourceFacts::new(None), None, &attributes);
        let tail = columns.finish_tail();
        let entries = tail[0].as_map().value(0);
        assert_eq!(entries.len(), 40);
        let keys: Vec<&str> = entries
            .column(0)
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        let k3 = keys.iter().position(|k| *k == "k3").unwrap();
        assert_eq!(entries.column(1).as_string::<i32>().value(k3), "3");
    }

    #[test]
    fn resources_lift_service_and_host() {
        let attr = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: Some(any(any_value::Value::StringValue(v.into()))),
            ..Default::default()
        };
        let resource = Resource {
            attributes: vec![
                attr("service.name", "api"),
                attr("host.name", "web-1"),
                attr("service.name", "dup"),
            ],
            ..Default::default()
        };
        let facts = ResourceFacts::new(Some(&resource));
        assert_eq!(
            (facts.service.as_str(), facts.host.as_deref()),
            ("api", Some("web-1"))
        );
        assert_eq!(
            facts.attributes.len(),
            2,
            "repeated keys keep the first value"
        );
        assert_eq!(ResourceFacts::new(None).service, UNKNOWN_SERVICE);
    }
}
