//! A rule's query result → its series: one value per label set. The value is the column
//! named `value`, else the last numeric column; the labels are the other columns except a
//! `bucket()` column; the rows of one label set across buckets are folded by the reducer in
//! bucket order. A result bucketed over a long range (the preview's fast path) gives
//! per-bucket series labelled and valued the same way.

use super::preview::BucketSeries;
use super::rule::Reducer;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// One series of a result: its labels (the query's; the evaluator adds the rule's) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Series {
    pub fn new<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>, value: f64) -> Self {
        Series {
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }
}

/// A result no series can come from; the evaluator reports it as the rule's `last_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error(
        "the result has no numeric column to alert on (columns: {0}); select a number, e.g. count(*) AS value"
    )]
    NoNumericColumn(String),
    #[error(
        "the column `{name}` is {ty}, but the value an alert compares must be a number (integer or float)"
    )]
    ValueNotNumeric { name: String, ty: String },
    /// A bucketed result whose bucket column holds something that is not an RFC 3339 time.
    #[error("the bucket column holds {0}, which is not a time")]
    BucketNotTime(String),
}

fn is_numeric(ty: &str) -> bool {
    matches!(ty, "integer" | "float")
}

/// Which column holds the value: the one named `value` (any case), else the last numeric
/// one. The bucket column is never the value.
fn value_column(columns: &[(&str, &str)], bucket: Option<usize>) -> Result<usize, SeriesError> {
    let candidates = || {
        columns
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != bucket)
    };
    let named = candidates()
        .find(|(_, (name, _))| *name == "value")
        .or_else(|| candidates().find(|(_, (name, _))| name.eq_ignore_ascii_case("value")));
    if let Some((i, (name, ty))) = named {
        // A NULL literal's column has type `null`: its rows are skipped, not refused.
        if is_numeric(ty) || *ty == "null" {
            return Ok(i);
        }
        return Err(SeriesError::ValueNotNumeric {
            name: (*name).to_string(),
            ty: with_article(ty),
        });
    }
    candidates()
        .filter(|(_, (_, ty))| is_numeric(ty))
        .map(|(i, _)| i)
        .next_back()
        .ok_or_else(|| {
            let listed: Vec<String> = columns
                .iter()
                .map(|(name, ty)| format!("{name} ({ty})"))
                .collect();
            SeriesError::NoNumericColumn(if listed.is_empty() {
                "none".into()
            } else {
                listed.join(", ")
            })
        })
}

fn with_article(ty: &str) -> String {
    let article = if ty.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {ty}")
}

/// A cell as a number: JSON numbers, and strings that read as finite numbers (decimals some
/// engines render as text). Null, NaN and anything else are no value.
fn number(cell: &Value) -> Option<f64> {
    let v = match cell {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    v.is_finite().then_some(v)
}

/// A cell as a label value; `None` (the label is left out) for null.
fn label_value(cell: &Value) -> Option<String> {
    match cell {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A row's bucket time (if it has a readable one) and value.
type Point = (Option<DateTime<Utc>>, f64);

/// The labels of a row: every column but the value and the bucket, stringified (null cells
/// left out).
fn row_labels(
    columns: &[(&str, &str)],
    row: &[Value],
    value_at: usize,
    bucket: Option<usize>,
) -> BTreeMap<String, String> {
    let null = Value::Null;
    columns
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != value_at && Some(*i) != bucket)
        .filter_map(|(i, (name, _))| {
            let cell = row.get(i).unwrap_or(&null);
            Some(((*name).to_string(), label_value(cell)?))
        })
        .collect()
}

fn bucket_time(cell: &Value) -> Option<DateTime<Utc>> {
    match cell {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
}

/// Folds `values` (in bucket order) with `reducer`; `None` for no values.
pub fn reduce(reducer: Reducer, values: &[f64]) -> Option<f64> {
    let (first, last) = (values.first()?, values.last()?);
    Some(match reducer {
        Reducer::Last => *last,
        Reducer::Min => values.iter().copied().fold(*first, f64::min),
        Reducer::Max => values.iter().copied().fold(*first, f64::max),
        Reducer::Sum => values.iter().sum(),
        Reducer::Avg => values.iter().sum::<f64>() / values.len() as f64,
    })
}

/// The series of a result. `columns` are (name, type) as the query engine names them
/// (`integer`, `float`, `string`, `timestamp`, …); `rows` hold its JSON cells; `bucket` is the
/// index of the `bucket()` column, if any. Rows without a value (null or not a number) are
/// skipped; a label set none of whose rows has a value is not a series. Without a bucket
/// column, rows that share a label set are folded in row order.
pub fn series_from_result(
    columns: &[(&str, &str)],
    rows: &[Vec<Value>],
    bucket: Option<usize>,
    reducer: Reducer,
) -> Result<Vec<Series>, SeriesError> {
    let bucket = bucket.filter(|&b| b < columns.len());
    let value_at = value_column(columns, bucket)?;
    let mut groups: BTreeMap<BTreeMap<String, String>, Vec<Point>> = BTreeMap::new();
    let null = Value::Null;
    for row in rows {
        let cell = |i: usize| row.get(i).unwrap_or(&null);
        let Some(value) = number(cell(value_at)) else {
            continue;
        };
        let labels = row_labels(columns, row, value_at, bucket);
        let time = bucket.and_then(|b| bucket_time(cell(b)));
        groups.entry(labels).or_default().push((time, value));
    }
    Ok(groups
        .into_iter()
        .filter_map(|(labels, mut points)| {
            // Stable: rows of one bucket (or without a readable one) keep their order.
            points.sort_by_key(|(time, _)| *time);
            let values: Vec<f64> = points.into_iter().map(|(_, v)| v).collect();
            Some(Series {
                labels,
                value: reduce(reducer, &values)?,
            })
        })
        .collect())
}

/// The per-bucket series of a result bucketed over a long range (the preview's fast path:
/// the rule's query with a time-bucket key at column `bucket`), labelled, valued and skipped
/// exactly as [`series_from_result`] does for one window's result, so combining a window's
/// buckets ([`window_outcomes`](super::window_outcomes)) gives the series that window's own
/// result would. Unlike there, a label set none of whose rows has a value is kept, with no
/// buckets (absent from every window, as it would be), so the caller can count every label
/// set the result holds. Ordered by labels; a label set's buckets in row order.
pub fn bucket_series_from_result(
    columns: &[(&str, &str)],
    rows: &[Vec<Value>],
    bucket: usize,
) -> Result<Vec<BucketSeries>, SeriesError> {
    let value_at = value_column(columns, Some(bucket))?;
    let mut groups: BTreeMap<BTreeMap<String, String>, Vec<_>> = BTreeMap::new();
    let null = Value::Null;
    for row in rows {
        let labels = row_labels(columns, row, value_at, Some(bucket));
        let buckets = groups.entry(labels).or_default();
        let Some(value) = number(row.get(value_at).unwrap_or(&null)) else {
            continue;
        };
        let cell = row.get(bucket).unwrap_or(&null);
        let start =
            bucket_time(cell).ok_or_else(|| SeriesError::BucketNotTime(cell.to_string()))?;
        buckets.push((start, value));
    }
    Ok(groups
        .into_iter()
        .map(|(labels, buckets)| BucketSeries { labels, buckets })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(v: Value) -> Vec<Vec<Value>> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn value_column_choice() {
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Option<usize>,
            Result<usize, &'a str>,
        );
        let table: [Case; 8] = [
            (
                &[
                    ("service", "string"),
                    ("value", "integer"),
                    ("p99", "float"),
                ],
                None,
                Ok(1),
            ),
            (
                &[
                    ("service", "string"),
                    ("count(*)", "integer"),
                    ("avg(x)", "float"),
                ],
                None,
                Ok(2),
            ),
            (&[("Value", "float"), ("n", "integer")], None, Ok(0)),
            (&[("value", "null"), ("n", "integer")], None, Ok(0)),
            (
                &[("t", "timestamp"), ("service", "string")],
                Some(0),
                Err("no numeric column"),
            ),
            (&[], None, Err("columns: none")),
            (
                &[("value", "string"), ("n", "integer")],
                None,
                Err("is a string"),
            ),
            (&[("n", "integer"), ("value", "integer")], Some(1), Ok(0)),
        ];
        for (columns, bucket, expected) in table {
            match (value_column(columns, bucket), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{columns:?}"),
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e}"),
                (got, want) => panic!("{columns:?}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn labels_are_the_other_columns_stringified() {
        let columns = [
            ("service", "string"),
            ("code", "integer"),
            ("ok", "boolean"),
            ("attrs", "map"),
            ("value", "float"),
        ];
        let series = series_from_result(
            &columns,
            &rows(json!([
                ["checkout", 500, false, {"a": "b"}, 61.5],
                [null, 200, true, null, 3],
                ["skipped", 1, true, null, null],
                ["short row"]
            ])),
            None,
            Reducer::Last,
        )
        .unwrap();
        assert_eq!(
            series,
            // Ordered by labels; the null service is left out.
            [
                Series::new(
                    [
                        ("attrs", "{\"a\":\"b\"}"),
                        ("code", "500"),
                        ("ok", "false"),
                        ("service", "checkout")
                    ],
                    61.5
                ),
                Series::new([("code", "200"), ("ok", "true")], 3.0),
            ]
        );
    }

    #[test]
    fn buckets_fold_by_reducer_in_bucket_order() {
        let columns = [
            ("t", "timestamp"),
            ("service", "string"),
            ("value", "integer"),
        ];
        // Out of order on purpose: the reducer sees 10:00, 10:01, 10:02.
        let result = rows(json!([
            ["2026-11-22T10:02:00Z", "a", 7],
            ["2026-11-22T10:00:00Z", "a", 1],
            ["2026-11-22T10:01:00Z", "a", 4],
            ["2026-11-22T10:00:00Z", "b", 2],
            ["2026-11-22T10:01:00Z", "b", null]
        ]));
        let table = [
            (Reducer::Last, 7.0, 2.0),
            (Reducer::Min, 1.0, 2.0),
            (Reducer::Max, 7.0, 2.0),
            (Reducer::Sum, 12.0, 2.0),
            (Reducer::Avg, 4.0, 2.0),
        ];
        for (reducer, a, b) in table {
            let series = series_from_result(&columns, &result, Some(0), reducer).unwrap();
            assert_eq!(
                series,
                [
                    Series::new([("service", "a")], a),
                    Series::new([("service", "b")], b)
                ],
                "{reducer:?}"
            );
        }
        // Without a bucket column the time is just a label.
        let unbucketed = series_from_result(&columns, &result, None, Reducer::Last).unwrap();
        assert_eq!(unbucketed.len(), 4);
    }

    #[test]
    fn bucketed_results_label_and_value_rows_as_one_window_would() {
        let columns = [
            ("bucket", "timestamp"),
            ("service", "string"),
            ("code", "integer"),
            ("value", "integer"),
        ];
        let result = rows(json!([
            ["2026-11-22T10:01:00Z", "a", 500, 4],
            ["2026-11-22T10:00:00Z", "a", 500, 1],
            ["2026-11-22T10:00:00Z", null, 200, 2],
            ["2026-11-22T10:02:00Z", "b", 500, null]
        ]));
        let at = |m: u32| {
            DateTime::parse_from_rfc3339(&format!("2026-11-22T10:0{m}:00Z"))
                .unwrap()
                .with_timezone(&Utc)
        };
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let series = bucket_series_from_result(&columns, &result, 0).unwrap();
        assert_eq!(
            series,
            [
                BucketSeries {
                    labels: labels(&[("code", "200")]),
                    buckets: vec![(at(0), 2.0)]
                },
                BucketSeries {
                    labels: labels(&[("code", "500"), ("service", "a")]),
                    buckets: vec![(at(1), 4.0), (at(0), 1.0)]
                },
                // Kept, without buckets: no row of it has a value.
                BucketSeries {
                    labels: labels(&[("code", "500"), ("service", "b")]),
                    buckets: vec![]
                },
            ]
        );
        // The labels are those a window's own result gives (bucket column dropped).
        let window = rows(json!([["a", 500, 5], [null, 200, 2]]));
        let from_window = series_from_result(&columns[1..], &window, None, Reducer::Last).unwrap();
        let label_sets: Vec<_> = from_window.iter().map(|s| s.labels.clone()).collect();
        assert_eq!(
            label_sets,
            [series[0].labels.clone(), series[1].labels.clone()]
        );
        // The same value-column rules; a bucket that is not a time is refused.
        assert!(matches!(
            bucket_series_from_result(&[("bucket", "timestamp"), ("s", "string")], &[], 0),
            Err(SeriesError::NoNumericColumn(_))
        ));
        assert_eq!(
            bucket_series_from_result(&columns, &rows(json!([[7, "a", 1, 1]])), 0),
            Err(SeriesError::BucketNotTime("7".into()))
        );
    }

    #[test]
    fn no_rows_and_no_values_are_no_series() {
        let columns = [("service", "string"), ("value", "float")];
        assert_eq!(
            series_from_result(&columns, &[], None, Reducer::Last),
            Ok(vec![])
        );
        let nulls = rows(json!([["a", null], ["b", "NaN"], ["c", "12.5"]]));
        assert_eq!(
            series_from_result(&columns, &nulls, None, Reducer::Last).unwrap(),
            [Series::new([("service", "c")], 12.5)]
        );
        assert_eq!(reduce(Reducer::Avg, &[]), None);
    }
}
