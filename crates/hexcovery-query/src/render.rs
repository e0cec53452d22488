//! Arrow results → JSON rows: times as RFC 3339 UTC strings, maps as objects, lists as
//! arrays, non-finite floats as `null` (JSON has no NaN).

use chrono::{DateTime, SecondsFormat};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Value};

/// Every row of `batches`, in order.
pub fn rows(batches: &[RecordBatch]) -> anyhow::Result<Vec<Vec<Value>>> {
    let mut rows = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let columns: Vec<Vec<Value>> = batch
            .columns()
            .iter()
            .map(|c| values(c.as_ref()))
            .collect::<anyhow::Result<_>>()?;
        for row in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c[row].clone()).collect());
        }
    }
    Ok(rows)
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn time(nanos: i64) -> Value {
    DateTime::from_timestamp_nanos(nanos)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
        .into()
}

/// One JSON value per element of `array`.
fn values(array: &dyn Array) -> anyhow::Result<Vec<Value>> {
    macro_rules! primitive {
        ($t:ty, $f:expr) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.map_or(Value::Null, $f))
                .collect()
        };
    }
    let out: Vec<Value> = match array.data_type() {
        DataType::Null => vec![Value::Null; array.len()],
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|v| v.map_or(Value::Null, Value::Bool))
            .collect(),
        DataType::Int8 => primitive!(Int8Type, Value::from),
        DataType::Int16 => primitive!(Int16Type, Value::from),
        DataType::Int32 => primitive!(Int32Type, Value::from),
        DataType::Int64 => primitive!(Int64Type, Value::from),
        DataType::UInt8 => primitive!(UInt8Type, Value::from),
        DataType::UInt16 => primitive!(UInt16Type, Value::from),
        DataType::UInt32 => primitive!(UInt32Type, Value::from),
        DataType::UInt64 => primitive!(UInt64Type, Value::from),
        DataType::Float32 => primitive!(Float32Type, |v: f32| number(f64::from(v))),
        DataType::Float64 => primitive!(Float64Type, number),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => primitive!(TimestampNanosecondType, time),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive!(TimestampMicrosecondType, |v: i64| time(
                v.saturating_mul(1_000)
            ))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive!(TimestampMillisecondType, |v: i64| time(
                v.saturating_mul(1_000_000)
            ))
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            primitive!(TimestampSecondType, |v: i64| time(
                v.saturating_mul(1_000_000_000)
            ))
        }
        DataType::Utf8 => strings(array.as_string::<i32>().iter()),
        DataType::LargeUtf8 => strings(array.as_string::<i64>().iter()),
        DataType::Utf8View => strings(array.as_string_view().iter()),
        DataType::Map(..) => {
            let maps = array.as_map();
            let keys = values(maps.keys().as_ref())?;
            let items = values(maps.values().as_ref())?;
            let offsets = maps.value_offsets();
            (0..maps.len())
                .map(|i| {
                    if maps.is_null(i) {
                        return Value::Null;
                    }
                    let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                    let object: Map<String, Value> = (start..end)
                        .map(|j| {
                            let key = match &keys[j] {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (key, items[j].clone())
                        })
                        .collect();
                    Value::Object(object)
                })
                .collect()
        }
        DataType::List(_) => {
            let lists = array.as_list::<i32>();
            (0..lists.len())
                .map(|i| {
                    if lists.is_null(i) {
                        Ok(Value::Null)
                    } else {
                        values(lists.value(i).as_ref()).map(Value::Array)
                    }
                })
                .collect::<anyhow::Result<_>>()?
        }
        // Unsigned and signed integers mixed in arithmetic come back as decimals.
        DataType::Decimal128(_, scale) => {
            let divisor = 10f64.powi(i32::from(*scale));
            array
                .as_primitive::<datafusion::arrow::datatypes::Decimal128Type>()
                .iter()
                .map(|v| v.map_or(Value::Null, |v| number(v as f64 / divisor)))
                .collect()
        }
        DataType::Dictionary(_, value_type) => {
            let plain = datafusion::arrow::compute::cast(array, value_type)?;
            values(plain.as_ref())?
        }
        // Anything else (intervals, decimals, …) as the text Arrow displays.
        _ => {
            let formatter = ArrayFormatter::try_new(array, &FormatOptions::default())?;
            (0..array.len())
                .map(|i| {
                    if array.is_null(i) {
                        Value::Null
                    } else {
                        formatter.value(i).to_string().into()
                    }
                })
                .collect()
        }
    };
    Ok(out)
}

fn strings<'a>(iter: impl Iterator<Item = Option<&'a str>>) -> Vec<Value> {
    iter.map(|v| v.map_or(Value::Null, |s| Value::String(s.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        ArrayRef, Float64Array, MapBuilder, StringBuilder, TimestampNanosecondArray,
    };
    use std::sync::Arc;

    #[test]
    fn times_maps_and_non_finite_floats() {
        let mut maps = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        maps.keys().append_value("http.route");
        maps.values().append_value("/a");
        maps.append(true).unwrap();
        maps.append(true).unwrap();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(
                TimestampNanosecondArray::from(vec![1_795_348_800_000_000_000, 1_500])
                    .with_timezone("UTC"),
            ),
            Arc::new(maps.finish()),
            Arc::new(Float64Array::from(vec![Some(f64::NAN), None])),
        ];
        let batch = RecordBatch::try_from_iter(["t", "m", "f"].into_iter().zip(columns)).unwrap();
        assert_eq!(
            rows(&[batch]).unwrap(),
            vec![
                vec![
                    Value::from("2026-11-22T12:00:00Z"),
                    serde_json::json!({"http.route": "/a"}),
                    Value::Null
                ],
                vec![
                    Value::from("1970-01-01T00:00:00.000001500Z"),
                    serde_json::json!({}),
                    Value::Null
                ],
            ]
        );
    }
}
