//! Promoted attribute columns: in each logs or spans Parquet file, the `attributes` and
//! `resource` keys that enough of its rows carry are stored as string columns of their own,
//! named `attributes['http.route']`, and taken out of the map. A query for one such value then
//! reads one small dictionary-encoded column instead of decoding every row's whole map.
//!
//! The split is lossless: maps are sorted by key with each key once (see
//! `convert::common`), so [`demote`] merges the columns back into exactly the map that was
//! split. A value that is null stays in the map (a null column cell means "no value here").

use crate::schema::{map_entries_field, map_type};
use arrow::array::{
    Array, ArrayRef, AsArray, MapArray, MapBuilder, MapFieldNames, StringArray, StringBuilder,
    new_null_array,
};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use datafusion::common::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use std::collections::HashMap;
use std::sync::Arc;

/// The map columns whose keys may be promoted.
pub const MAPS: [&str; 2] = ["attributes", "resource"];

/// A key is promoted in a file when at least this share of its rows hold a value for it.
pub const MIN_SHARE: f64 = 0.1;

/// At most this many keys of one map are promoted per file (the most frequent first), so a
/// sender with thousands of distinct keys makes no file with thousands of columns.
pub const MAX_KEYS_PER_MAP: usize = 32;

/// The column name of `map[key]` when promoted. The planner looks for the same name
/// (`hexcovery_oql::plan::map_value_column`), and a test holds the two to agreement.
pub fn column_name(map: &str, key: &str) -> String {
    format!("{map}['{key}']")
}

/// `(map, key)` of a promoted column's name; `None` for any other column.
pub fn parse_column_name(name: &str) -> Option<(&str, &str)> {
    MAPS.iter().find_map(|map| {
        let key = name
            .strip_prefix(map)?
            .strip_prefix("['")?
            .strip_suffix("']")?;
        Some((*map, key))
    })
}

/// The field a promoted column has, in files and in the table schema.
pub fn field(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// The keys of `map` worth promoting in these rows: held (with a value) by at least
/// [`MIN_SHARE`] of them, the most frequent [`MAX_KEYS_PER_MAP`], in key order.
fn keys_to_promote(map: &MapArray) -> Vec<String> {
    let rows = map.len();
    if rows == 0 {
        return Vec::new();
    }
    let keys = map.keys().as_string::<i32>();
    let values = map.values().as_string::<i32>();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for i in 0..keys.len() {
        if values.is_valid(i) {
            *counts.entry(keys.value(i)).or_default() += 1;
        }
    }
    let needed = ((rows as f64) * MIN_SHARE).ceil() as usize;
    let mut chosen: Vec<(&str, usize)> = counts.into_iter().filter(|(_, n)| *n >= needed).collect();
    chosen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    chosen.truncate(MAX_KEYS_PER_MAP);
    let mut keys: Vec<String> = chosen.into_iter().map(|(k, _)| k.to_owned()).collect();
    keys.sort();
    keys
}

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "keys".into(),
        value: "values".into(),
    };
    let DataType::Struct(fields) = map_entries_field().data_type().clone() else {
        unreachable!("map entries are a struct")
    };
    MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new())
        .with_values_field(fields[1].clone())
}

/// `map` without the (non-null) values of `keys`, and one column per key holding them.
fn split(map: &MapArray, keys: &[String]) -> Result<(MapArray, Vec<ArrayRef>), ArrowError> {
    let entry_keys = map.keys().as_string::<i32>();
    let entry_values = map.values().as_string::<i32>();
    let offsets = map.value_offsets();
    let mut rest = map_builder();
    let mut columns: Vec<StringBuilder> = keys.iter().map(|_| StringBuilder::new()).collect();
    let index: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut found: Vec<Option<usize>> = vec![None; keys.len()];
    for row in 0..map.len() {
        found.iter_mut().for_each(|f| *f = None);
        for e in offsets[row] as usize..offsets[row + 1] as usize {
            let key = entry_keys.value(e);
            match index.get(key) {
                Some(&k) if entry_values.is_valid(e) && found[k].is_none() => found[k] = Some(e),
                _ => {
                    rest.keys().append_value(key);
                    rest.values()
                        .append_option(entry_values.is_valid(e).then(|| entry_values.value(e)));
                }
            }
        }
        rest.append(map.is_valid(row))?;
        for (k, column) in columns.iter_mut().enumerate() {
            column.append_option(found[k].map(|e| entry_values.value(e)));
        }
    }
    let columns = columns
        .into_iter()
        .map(|mut c| Arc::new(c.finish()) as ArrayRef)
        .collect();
    Ok((rest.finish(), columns))
}

/// `map` with `columns` (`(key, values)`, keys sorted) merged back in: each row's entries stay
/// sorted by key, so a map [`split`] apart comes back exactly as it was.
pub fn merge(map: &MapArray, columns: &[(&str, &StringArray)]) -> Result<MapArray, ArrowError> {
    let entry_keys = map.keys().as_string::<i32>();
    let entry_values = map.values().as_string::<i32>();
    let offsets = map.value_offsets();
    let mut out = map_builder();
    for row in 0..map.len() {
        let mut promoted = columns
            .iter()
            .filter(|(_, values)| values.is_valid(row))
            .map(|(key, values)| (*key, values.value(row)))
            .peekable();
        for e in offsets[row] as usize..offsets[row + 1] as usize {
            let key = entry_keys.value(e);
            while let Some((k, v)) = promoted.next_if(|(k, _)| *k < key) {
                out.keys().append_value(k);
                out.values().append_value(v);
            }
            out.keys().append_value(key);
            out.values()
                .append_option(entry_values.is_valid(e).then(|| entry_values.value(e)));
        }
        for (k, v) in promoted {
            out.keys().append_value(k);
            out.values().append_value(v);
        }
        out.append(map.is_valid(row))?;
    }
    Ok(out.finish())
}

/// `batch` (rows of the table schema) as a file stores them: the frequent keys of each map
/// moved into columns appended after the table's own. Returns the promoted column names.
pub fn promote(batch: &RecordBatch) -> Result<(RecordBatch, Vec<String>), ArrowError> {
    let schema = batch.schema();
    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let mut names = Vec::new();
    for map_name in MAPS {
        let Ok(index) = schema.index_of(map_name) else {
            continue;
        };
        let map = columns[index].as_map();
        let keys = keys_to_promote(map);
        if keys.is_empty() {
            continue;
        }
        let (rest, promoted) = split(map, &keys)?;
        columns[index] = Arc::new(rest);
        for (key, column) in keys.iter().zip(promoted) {
            let name = column_name(map_name, key);
            fields.push(Arc::new(field(&name)));
            columns.push(column);
            names.push(name);
        }
    }
    if names.is_empty() {
        return Ok((batch.clone(), names));
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    Ok((RecordBatch::try_new(schema, columns)?, names))
}

/// Rows read from a file, back in the table schema `table`: promoted columns merged into
/// their maps. Columns of `table` the file lacks are an error (files are written whole).
pub fn demote(batch: &RecordBatch, table: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let promoted: Vec<(&str, &str, usize)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| parse_column_name(f.name()).map(|(m, k)| (m, k, i)))
        .collect();
    let columns = table
        .fields()
        .iter()
        .map(|field| {
            let column = batch.column_by_name(field.name()).ok_or_else(|| {
                ArrowError::SchemaError(format!("the file has no column `{}`", field.name()))
            })?;
            if !matches!(field.data_type(), DataType::Map(..)) {
                return Ok(column.clone());
            }
            let mut parts: Vec<(&str, &StringArray)> = promoted
                .iter()
                .filter(|(m, _, _)| *m == field.name())
                .map(|(_, k, i)| (*k, batch.column(*i).as_string::<i32>()))
                .collect();
            if parts.is_empty() {
                return Ok(column.clone());
            }
            parts.sort_by(|a, b| a.0.cmp(b.0));
            Ok(Arc::new(merge(column.as_map(), &parts)?) as ArrayRef)
        })
        .collect::<Result<Vec<_>, ArrowError>>()?;
    RecordBatch::try_new(table.clone(), columns)
}

/// `merge_promoted(map, 'k1', column1, 'k2', column2, …)`: the scan's expression form of
/// [`merge`], rebuilding whole maps from a file's promoted columns (keys in sorted order).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MergePromoted {
    signature: Signature,
}

impl MergePromoted {
    pub fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for MergePromoted {
    fn name(&self) -> &str {
        "merge_promoted"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(map_type())
    }

    fn return_field_from_args(
        &self,
        args: ReturnFieldArgs,
    ) -> datafusion::common::Result<FieldRef> {
        let nullable = args.arg_fields.first().is_none_or(|f| f.is_nullable());
        Ok(Arc::new(Field::new(self.name(), map_type(), nullable)))
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (map, rest) = arrays
            .split_first()
            .ok_or_else(|| DataFusionError::Internal("merge_promoted needs a map".into()))?;
        let mut pairs = Vec::with_capacity(rest.len() / 2);
        for pair in rest.chunks(2) {
            let [key, values] = pair else {
                return Err(DataFusionError::Internal(
                    "merge_promoted takes (key, values) pairs".into(),
                ));
            };
            // Scans read promoted columns as views; maps hold plain strings.
            let key = arrow::compute::cast(key, &DataType::Utf8)?;
            if key.is_empty() || key.is_null(0) {
                return Ok(ColumnarValue::Array(new_null_array(&map_type(), rows)));
            }
            pairs.push((key, arrow::compute::cast(values, &DataType::Utf8)?));
        }
        let parts: Vec<(&str, &StringArray)> = pairs
            .iter()
            .map(|(key, values)| (key.as_string::<i32>().value(0), values.as_string::<i32>()))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(merge(map.as_map(), &parts)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(rows: &[&[(&str, Option<&str>)]]) -> MapArray {
        let mut b = map_builder();
        for row in rows {
            for (k, v) in *row {
                b.keys().append_value(k);
                b.values().append_option(*v);
            }
            b.append(true).unwrap();
        }
        b.finish()
    }

    fn batch(map: MapArray) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "attributes",
            map_type(),
            false,
        )]));
        RecordBatch::try_new(schema, vec![Arc::new(map)]).unwrap()
    }

    #[test]
    fn names_round_trip_and_other_columns_are_not_promoted() {
        let name = column_name("attributes", "http.route");
        assert_eq!(name, "attributes['http.route']");
        assert_eq!(parse_column_name(&name), Some(("attributes", "http.route")));
        assert_eq!(
            parse_column_name("resource['a']['b']"),
            Some(("resource", "a']['b"))
        );
        assert_eq!(parse_column_name("service"), None);
        assert_eq!(parse_column_name("attributes"), None);
    }

    #[test]
    fn frequent_keys_move_out_and_merge_back_exactly() {
        let rows: Vec<Vec<(&str, Option<&str>)>> = (0..40)
            .map(|i| {
                let mut row = vec![("a", Some("x")), ("m", None)];
                if i % 3 == 0 {
                    row.push(("r", Some("rare-ish")));
                }
                if i == 7 {
                    row.push(("z", Some("only once")));
                }
                row.push(("zz", if i % 2 == 0 { Some("even") } else { None }));
                row
            })
            .collect();
        let refs: Vec<&[(&str, Option<&str>)]> = rows.iter().map(Vec::as_slice).collect();
        let original = batch(maps(&refs));
        let (stored, names) = promote(&original).unwrap();
        // `m` never has a value, `z` is in one row of 40 (under 10 %): both stay in the map.
        assert_eq!(
            names,
            ["attributes['a']", "attributes['r']", "attributes['zz']"]
        );
        let zz = stored
            .column_by_name("attributes['zz']")
            .unwrap()
            .as_string::<i32>();
        assert_eq!((zz.value(0), zz.is_null(1)), ("even", true));
        let rest = stored.column(0).as_map();
        let row = rest.value(1);
        let first: Vec<&str> = row.column(0).as_string::<i32>().iter().flatten().collect();
        // row 1: `m` (null value) and `zz` (null value) stay; `a` moved out
        assert_eq!(first, ["m", "zz"]);
        let back = demote(&stored, &original.schema()).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn a_batch_without_frequent_keys_is_stored_as_is() {
        let empty: &[(&str, Option<&str>)] = &[];
        let original = batch(maps(&[empty, empty, &[("k", Some("v"))]][..1]));
        let (stored, names) = promote(&original).unwrap();
        assert!(names.is_empty());
        assert_eq!(stored, original);
        assert_eq!(demote(&stored, &original.schema()).unwrap(), original);
    }
}
