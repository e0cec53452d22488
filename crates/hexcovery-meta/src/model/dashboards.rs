//! Saved queries and dashboards as the metastore keeps them: records, the dashboard document
//! (what a version holds and what export answers), and the inputs that create or change them.
//! The document is stored whole, as JSON; the server validates it (and checks its queries)
//! before the metastore sees it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// An OQL query kept under a name (SPEC §8).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SavedQuery {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub query: String,
    pub tags: Vec<String>,
    /// The email of the user who created it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A saved query's writable fields (create, and replace with `PUT`), already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedQueryFields {
    pub name: String,
    pub description: String,
    pub query: String,
    pub tags: Vec<String>,
}

/// Which saved queries (or dashboards) to list: those carrying every one of `tags` whose
/// name (title) contains `q`, compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    pub tags: Vec<String>,
    pub q: Option<String>,
}

/// A time bound as dashboards write it: `now`, `now-6h`, RFC 3339 text, or epoch
/// milliseconds. Kept as written, so relative bounds stay relative.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum TimeBound {
    EpochMs(i64),
    Text(String),
}

/// A time range of two bounds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    pub from: TimeBound,
    pub to: TimeBound,
}

impl Default for TimeRange {
    /// The last six hours.
    fn default() -> Self {
        Self {
            from: TimeBound::Text("now-6h".into()),
            to: TimeBound::Text("now".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VariableKind {
    /// Options are the distinct values of the first column of `query`.
    Query,
    /// Options are listed in `options`.
    Custom,
    /// A free text box.
    Text,
}

/// A dashboard variable: bound as the OQL parameter `$name` in panel queries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    pub kind: VariableKind,
    /// `query` variables only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `custom` variables only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Value>>,
    /// Whether several values may be chosen (bound as a list, for `IN ($name)`).
    #[serde(default)]
    pub multi: bool,
    /// The value used when a run names none: a scalar, a list for `multi`, or null.
    #[serde(default)]
    pub default: Value,
}

/// Which annotations and alert transitions a dashboard's time-series panels draw.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnnotationQuery {
    /// Annotation names, `*` matching any run of characters; empty: every name.
    #[serde(default)]
    pub names: Vec<String>,
    /// Tags an annotation must all carry; empty: no condition.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether the org's alert transitions are drawn too.
    #[serde(default = "yes")]
    pub alerts: bool,
}

fn yes() -> bool {
    true
}

impl Default for AnnotationQuery {
    fn default() -> Self {
        Self {
            names: Vec::new(),
            tags: Vec::new(),
            alerts: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    Timeseries,
    Bar,
    Table,
    Stat,
}

/// Where a panel sits on the 24-column grid.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Unique in its dashboard; names the panel in run URLs.
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub kind: PanelKind,
    /// OQL without a time range: the dashboard's (or the panel's own `time`) applies.
    pub query: String,
    pub layout: Layout,
    /// Display settings the server does not interpret (units, thresholds, colours).
    #[serde(default)]
    pub options: Map<String, Value>,
    /// The panel's own time range, instead of the dashboard's.
    #[serde(default)]
    pub time: Option<TimeRange>,
    #[serde(default = "yes")]
    pub show_annotations: bool,
}

/// Everything a dashboard version holds: what export answers and import takes back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DashboardDoc {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub time: TimeRange,
    /// How often the page reloads its panels (`"1m"`), or null for never.
    #[serde(default)]
    pub refresh: Option<String>,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub annotations: AnnotationQuery,
    #[serde(default)]
    pub panels: Vec<Panel>,
}

/// A dashboard: its current version's document and its history's bookkeeping.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Dashboard {
    pub id: Uuid,
    #[serde(flatten)]
    pub doc: DashboardDoc,
    /// The current version; the first is 1.
    pub version: u32,
    /// The email of the user who created it.
    pub created_by: String,
    /// The email of the user who saved the current version.
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A dashboard as listings show it: no panels or variables.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DashboardSummary {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub version: u32,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One saved version of a dashboard, without its document (version listings).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DashboardVersionInfo {
    pub version: u32,
    /// The email of the user who saved it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The version whose content a restore copied into this one.
    pub restored_from: Option<u32>,
}

/// One saved version of a dashboard with its document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DashboardVersion {
    pub dashboard_id: Uuid,
    #[serde(flatten)]
    pub info: DashboardVersionInfo,
    pub document: DashboardDoc,
}

/// Caps the metastore enforces inside the write that could break them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardCaps {
    /// Saved queries (or dashboards) an org may have.
    pub per_org: u32,
    /// Versions kept per dashboard; older ones are deleted as new ones are saved.
    pub versions_kept: u32,
}

/// The result of a write that names the version it edits.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionedWrite<T> {
    Written(T),
    /// Someone saved another version first: the edit was made on a stale copy.
    Stale {
        current: u32,
    },
}
