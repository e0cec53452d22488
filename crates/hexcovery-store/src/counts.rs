//! Row counts per group of a few low-cardinality columns, kept for each Parquet file in its
//! manifest entry (logs: `service`, `level`; spans: `service`, `kind`, `status`). A query
//! that only counts or deduplicates those columns over whole files reads these counts
//! instead of the files' rows (see `OrgTable::split_counted` and the query engine's
//! `counted` rewrite). They are written with the file, by the same encode that writes its
//! rows, so flush, compaction and retention keep them exact with no bookkeeping of their
//! own; a file without them (written before they existed, or with too many groups) is read
//! row by row as before.

use crate::Signal;
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringViewArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Groups a file may count at most; a file with more keeps no counts (the manifest stays
/// small whatever a service names its levels).
pub const MAX_GROUPS: usize = 512;

/// The name of the row-count column of a counts batch.
pub const ROWS: &str = "__rows";

/// The columns whose groups a signal's files count; none for metrics.
pub fn counted_columns(signal: Signal) -> &'static [&'static str] {
    match signal {
        Signal::Logs => &["service", "level"],
        Signal::Spans => &["service", "kind", "status"],
        Signal::Metrics => &[],
    }
}

/// One group's values (one per counted column) and its rows.
type Group<'a> = (Vec<Option<&'a str>>, u64);

/// One file's rows per distinct combination of its counted columns.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupCounts {
    /// The counted columns, in the order of each group's keys.
    pub columns: Vec<String>,
    /// Per column, its distinct values in the file (`None`: null).
    pub values: Vec<Vec<Option<String>>>,
    /// Per group, one index into each column's `values`, flattened (groups × columns).
    pub keys: Vec<u32>,
    /// Per group, its rows.
    pub rows: Vec<u64>,
}

impl GroupCounts {
    /// The counts of `batch`'s rows by `columns` (string columns of the batch); `None` when
    /// there are no columns to count, one is missing or not a string, or the rows have more
    /// than [`MAX_GROUPS`] groups.
    pub fn of(batch: &RecordBatch, columns: &[&str]) -> Option<Self> {
        if columns.is_empty() {
            return None;
        }
        let arrays = columns
            .iter()
            .map(|c| {
                let array = batch.column_by_name(c)?;
                (array.data_type() == &DataType::Utf8).then(|| array.as_string::<i32>())
            })
            .collect::<Option<Vec<_>>>()?;
        let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); columns.len()];
        let mut index: Vec<HashMap<Option<&str>, u32>> = vec![HashMap::new(); columns.len()];
        let mut groups: HashMap<Vec<u32>, u64> = HashMap::new();
        let mut key = vec![0u32; columns.len()];
        for row in 0..batch.num_rows() {
            for (c, array) in arrays.iter().enumerate() {
                let value = array.is_valid(row).then(|| array.value(row));
                let next = values[c].len() as u32;
                key[c] = *index[c].entry(value).or_insert_with(|| {
                    values[c].push(value.map(str::to_string));
                    next
                });
            }
            if let Some(n) = groups.get_mut(&key) {
                *n += 1;
            } else {
                if groups.len() == MAX_GROUPS {
                    return None;
                }
                groups.insert(key.clone(), 1);
            }
        }
        // Sorted, so the same rows always give the same manifest entry.
        let groups: BTreeMap<Vec<u32>, u64> = groups.into_iter().collect();
        let (keys, rows) = groups.into_iter().fold(
            (Vec::new(), Vec::new()),
            |(mut keys, mut rows), (key, n)| {
                keys.extend(key);
                rows.push(n);
                (keys, rows)
            },
        );
        Some(Self {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            values,
            keys,
            rows,
        })
    }

    /// The groups: each one's values (one per column) and rows. `None` if the entry is not
    /// well formed (a manifest written by hand or damaged), so the file is read instead.
    fn groups(&self) -> Option<Vec<Group<'_>>> {
        let width = self.columns.len();
        if width == 0 || self.values.len() != width || self.keys.len() != self.rows.len() * width {
            return None;
        }
        self.keys
            .chunks(width)
            .zip(&self.rows)
            .map(|(key, &n)| {
                let values = key
                    .iter()
                    .zip(&self.values)
                    .map(|(&i, values)| values.get(i as usize).map(Option::as_deref))
                    .collect::<Option<Vec<_>>>()?;
                Some((values, n))
            })
            .collect()
    }
}

/// The rows of several files' counts summed per group, as one batch: the counted columns
/// (`Utf8View`, as queries read strings, and nullable as the table declares them) and
/// [`ROWS`]. `None` if a file's counts are not of `columns` or not well formed.
pub fn counts_batch<'a>(
    table: &Schema,
    columns: &[&str],
    files: impl IntoIterator<Item = &'a GroupCounts>,
) -> Option<RecordBatch> {
    let mut sums: BTreeMap<Vec<Option<&str>>, u64> = BTreeMap::new();
    for counts in files {
        if counts
            .columns
            .iter()
            .map(String::as_str)
            .ne(columns.iter().copied())
        {
            return None;
        }
        for (values, n) in counts.groups()? {
            *sums.entry(values).or_default() += n;
        }
    }
    let mut fields: Vec<Field> = Vec::with_capacity(columns.len() + 1);
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len() + 1);
    for (c, name) in columns.iter().enumerate() {
        let nullable = table.field_with_name(name).ok()?.is_nullable();
        let array: StringViewArray = sums.keys().map(|values| values[c]).collect();
        if !nullable && array.null_count() > 0 {
            return None;
        }
        fields.push(Field::new(*name, DataType::Utf8View, nullable));
        arrays.push(Arc::new(array));
    }
    fields.push(Field::new(ROWS, DataType::Int64, false));
    let rows: Int64Array = sums
        .values()
        .map(|&n| i64::try_from(n).ok())
        .collect::<Option<Vec<i64>>>()?
        .into();
    arrays.push(Arc::new(rows));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, arrays).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    fn batch(service: Vec<&str>, level: Vec<Option<&str>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("service", DataType::Utf8, false),
            Field::new("level", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(service)),
                Arc::new(StringArray::from(level)),
            ],
        )
        .unwrap()
    }

    fn table() -> Schema {
        Schema::new(vec![
            Field::new("service", DataType::Utf8, false),
            Field::new("level", DataType::Utf8, true),
        ])
    }

    #[test]
    fn counts_every_group_including_nulls_and_sums_over_files() {
        let a = batch(
            vec!["api", "api", "web", "api"],
            vec![Some("info"), None, Some("info"), Some("info")],
        );
        let b = batch(vec!["web"], vec![Some("info")]);
        let columns = ["service", "level"];
        let (a, b) = (
            GroupCounts::of(&a, &columns).unwrap(),
            GroupCounts::of(&b, &columns).unwrap(),
        );
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<GroupCounts>(&json).unwrap(), a);
        let sums = counts_batch(&table(), &columns, [&a, &b]).unwrap();
        let services = sums.column(0).as_string_view();
        let levels = sums.column(1).as_string_view();
        let rows = sums.column(2).as_primitive::<arrow::datatypes::Int64Type>();
        let got: Vec<(&str, Option<&str>, i64)> = (0..sums.num_rows())
            .map(|i| {
                (
                    services.value(i),
                    levels.is_valid(i).then(|| levels.value(i)),
                    rows.value(i),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("api", None, 1),
                ("api", Some("info"), 2),
                ("web", Some("info"), 2)
            ]
        );
    }

    #[test]
    fn too_many_groups_or_no_columns_keep_no_counts() {
        let services: Vec<String> = (0..=MAX_GROUPS).map(|i| format!("s{i}")).collect();
        let many = batch(
            services.iter().map(String::as_str).collect(),
            vec![None; MAX_GROUPS + 1],
        );
        assert_eq!(GroupCounts::of(&many, &["service", "level"]), None);
        let fits = many.slice(0, MAX_GROUPS);
        assert_eq!(
            GroupCounts::of(&fits, &["service"]).unwrap().rows.len(),
            MAX_GROUPS
        );
        assert_eq!(GroupCounts::of(&fits, &[]), None);
        assert_eq!(GroupCounts::of(&fits, &["missing"]), None);
    }

    #[test]
    fn counts_of_other_columns_or_damaged_entries_are_not_used() {
        let one = batch(vec!["api"], vec![Some("info")]);
        let by_service = GroupCounts::of(&one, &["service"]).unwrap();
        assert!(counts_batch(&table(), &["service", "level"], [&by_service]).is_none());
        let mut damaged = GroupCounts::of(&one, &["service", "level"]).unwrap();
        damaged.keys[0] = 7;
        assert!(counts_batch(&table(), &["service", "level"], [&damaged]).is_none());
        damaged.keys.pop();
        assert!(counts_batch(&table(), &["service", "level"], [&damaged]).is_none());
    }
}
