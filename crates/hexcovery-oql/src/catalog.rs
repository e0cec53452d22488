//! What the resolver checks names against: the tables of the caller's org and their columns.
//! The server builds it from the org's telemetry (metric namespaces come from the metric
//! names the org has sent); nothing here can name another org.

/// The value types OQL reasons about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Timestamp,
    String,
    Integer,
    Float,
    Boolean,
    /// A string-to-string map (`attributes`, `resource`), read with `col['key']`.
    Map,
    /// A list (histogram buckets); selectable, not comparable.
    List,
    /// A NULL literal: fits anywhere.
    Null,
    /// A duration literal (only as the argument of `bucket`).
    Duration,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Timestamp => "timestamp",
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Float => "float",
            ValueType::Boolean => "boolean",
            ValueType::Map => "map",
            ValueType::List => "list",
            ValueType::Null => "null",
            ValueType::Duration => "duration",
        }
    }

    /// The type's name with "a"/"an", for messages.
    pub fn with_article(self) -> String {
        let name = self.name();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ValueType::Integer | ValueType::Float | ValueType::Null
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ValueType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableKind {
    Logs,
    Spans,
    Metrics,
    /// Metrics named `<namespace>.<rest>`, one column per metric (`rest` with dots as `_`).
    MetricNamespace {
        namespace: String,
        /// The column each of the namespace's metrics appears as.
        metrics: Vec<MetricColumn>,
    },
}

/// A metric as a column of its namespace's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricColumn {
    pub column: String,
    pub metric: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: String,
    pub kind: TableKind,
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The caller's org's tables.
pub trait Catalog {
    fn tables(&self) -> Vec<TableDef>;
}

/// A fixed list of tables is a catalog (tests, tools).
impl Catalog for Vec<TableDef> {
    fn tables(&self) -> Vec<TableDef> {
        self.clone()
    }
}

/// Up to three names from `candidates` close to `name` (edit distance), best first.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let other = c.to_lowercase();
            // A prefix (`duration` for `duration_ms`) is as good as one typo.
            let prefix = other.starts_with(&lower) || lower.starts_with(&other);
            (
                if prefix {
                    1
                } else {
                    edit_distance(&lower, &other)
                },
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names() {
        assert_eq!(did_you_mean("lgos", ["logs", "spans", "metrics"]), ["logs"]);
        assert_eq!(
            did_you_mean("duration", ["duration_ms", "name"]),
            ["duration_ms"]
        );
        assert_eq!(
            did_you_mean("servce", ["service", "severity_text"]),
            ["service"]
        );
        assert!(did_you_mean("zzz", ["logs"]).is_empty());
    }
}
