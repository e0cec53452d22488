//! Dashboards (SPEC §8): `GET, POST /api/v1/dashboards`, `GET, PUT, DELETE
//! /api/v1/dashboards/{id}`, versions and restore, export and import, panel runs, variable
//! options and the annotations a dashboard draws. Viewers read and run, editors write; every
//! change is audited. A save names the version it edits (`If-Match` or `"version"`), and the
//! metastore's compare-and-set makes a stale save a 412. Queries are checked when saved;
//! panel queries hold no time range and may use only declared `$variables`, which runs bind
//! as OQL parameters — never spliced into the text.

use crate::auth::{Caller, Principal, SignedInUser};
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::extract::{ApiJson, ApiPath, ClientAddr, parse_json};
use crate::query::{Answer, CheckRequest, ParamValue, QueryError, QueryRequest, parse_bound};
use crate::routes::next_cursor;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hexcovery_meta::validate::{free_text, name as name_rule, tags as tags_rule};
use hexcovery_meta::{
    Annotation, AnnotationFilter, Dashboard, DashboardCaps, DashboardDoc, NewAuditEvent, Page,
    Panel, SearchFilter, TimeBound, TimeRange, Variable, VariableKind, VersionedWrite,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Most dashboards one org may have.
pub const MAX_DASHBOARDS_PER_ORG: u32 = 1_000;
/// Versions kept per dashboard; saving one more deletes the oldest.
pub const VERSIONS_KEPT: u32 = 100;
const CAPS: DashboardCaps = DashboardCaps {
    per_org: MAX_DASHBOARDS_PER_ORG,
    versions_kept: VERSIONS_KEPT,
};
/// Longest title (dashboard or panel), in characters.
const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4 * 1024;
const MAX_PANELS: usize = 100;
const MAX_VARIABLES: usize = 50;
/// Largest `options` object of one panel, serialised, in bytes.
const MAX_OPTIONS_BYTES: usize = 64 * 1024;
/// The grid's width in columns.
const GRID_COLUMNS: u32 = 24;
/// Tallest panel, and the lowest row a panel may start on, in grid rows.
const MAX_PANEL_HEIGHT: u32 = 100;
const MAX_PANEL_Y: u32 = 10_000;
/// Longest panel id and variable name, in characters.
const MAX_ID_CHARS: usize = 64;
/// Most values of a custom variable, of a multi default, or of a run's list value; also
/// the most options a query variable offers.
const MAX_VARIABLE_VALUES: usize = 1_000;
/// Longest single variable value, in characters.
const MAX_VALUE_CHARS: usize = 1_000;
/// Most annotation name globs.
const MAX_ANNOTATION_NAMES: usize = 20;
/// Refresh interval bounds, in seconds.
const MIN_REFRESH_SECS: u64 = 5;
const MAX_REFRESH_SECS: u64 = 86_400;
/// Most annotations (and alert transitions) one dashboard annotation request answers.
const MAX_ANNOTATIONS: usize = 1_000;
/// Annotations looked at per annotation request before giving up on more glob matches.
const MAX_ANNOTATIONS_SCANNED: usize = 20_000;

/// Members the API answers but a client does not set; a GET edited and PUT back carries
/// them, so `PUT` accepts and ignores them (`id` must be the dashboard's own).
const READ_ONLY: &[&str] = &["created_by", "updated_by", "created_at", "updated_at"];

// --- queries: the engine's check and run, as dashboards and saved queries use them ---

/// What a stored query may hold besides a plain query.
pub struct QueryRules<'a> {
    /// Whether the text may carry its own time range (saved queries, variable queries) or
    /// not (panel queries: the dashboard's time applies).
    pub allow_time_range: bool,
    /// The `$names` the query may use (bound only when it runs).
    pub declared: &'a [&'a str],
}

/// Checks `text` against the org's catalog: parsed, resolved, and held to `rules`.
pub async fn check_query(
    state: &AppState,
    org: Uuid,
    text: &str,
    rules: QueryRules<'_>,
) -> Result<(), QueryError> {
    let mut request = CheckRequest::new(text).with_declared(rules.declared.iter().copied());
    if !rules.allow_time_range {
        request = request.without_time_range();
    }
    state
        .queries
        .check(&state.telemetry, org, &request)
        .await
        .map(|_| ())
}

/// The `$name` parameters `text` uses (none if it does not parse: the run will say why).
fn referenced_params(text: &str) -> BTreeSet<String> {
    hexcovery_oql::parse(text)
        .map(|statement| hexcovery_oql::params::parameters(&statement))
        .unwrap_or_default()
}

/// Runs `text` over `range` (unless the text has its own) with `params` bound.
async fn run_query(
    state: &AppState,
    org: Uuid,
    text: &str,
    range: (DateTime<Utc>, DateTime<Utc>),
    params: BTreeMap<String, ParamValue>,
    allow_time_range: bool,
) -> Result<Answer, QueryError> {
    let mut request = QueryRequest::new(text)
        .with_range(range.0, range.1)
        .with_params(params);
    if !allow_time_range {
        request = request.without_time_range();
    }
    state
        .queries
        .run(&state.telemetry, org, &request, Utc::now())
        .await
}

/// A time bound at `now`: `now`, `now-6h`, RFC 3339, epoch milliseconds.
pub fn bound_at(field: &str, bound: &TimeBound, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
    let value = match bound {
        TimeBound::EpochMs(ms) => Value::from(*ms),
        TimeBound::Text(text) => Value::from(text.as_str()),
    };
    parse_bound(field, &value, now).map_err(|e| bad_field(field, e.message))
}

/// A range's two bounds at `now`; `from` must be before `to`.
fn range_at(
    field: &str,
    from: &TimeBound,
    to: &TimeBound,
    now: DateTime<Utc>,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let start = bound_at(&format!("{field}.from"), from, now)?;
    let end = bound_at(&format!("{field}.to"), to, now)?;
    if start >= end {
        return Err(bad_field(
            &format!("{field}.to"),
            format!(
                "must be after {field}.from ({}), got {}",
                start.to_rfc3339(),
                end.to_rfc3339()
            ),
        ));
    }
    Ok((start, end))
}

// --- small shared pieces ---

/// 400 `invalid_field` for a field given by its path, e.g. `panels[2].layout.w`.
pub fn bad_field(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_field", format!("{field}: {message}")).with("field", field)
}

/// An OQL error in a stored query, naming where in the document it is.
pub fn query_error(field: &str, error: QueryError) -> ApiError {
    let mut api = ApiError::from(error);
    if api.class == ErrorClass::InvalidInput {
        api.message = format!("{field}: {}", api.message);
        api = api.with("field", field);
    }
    api
}

/// `?tag=&tag=&q=&limit=&before=` for saved-query and dashboard listings.
pub fn search_params(query: Option<&str>, what: &str) -> ApiResult<(SearchFilter, Page)> {
    let mut filter = SearchFilter::default();
    let mut page = Page {
        limit: 100,
        before: None,
    };
    let bad = |field: &'static str, message: String| {
        ApiError::bad_request("invalid_query", format!("{field}: {message}")).with("field", field)
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "tag" => filter.tags.push(value.into_owned()),
            "q" => {
                if value.chars().count() > 200 {
                    return Err(bad("q", "must be at most 200 characters long".into()));
                }
                filter.q = (!value.trim().is_empty()).then(|| value.trim().to_string());
            }
            "limit" => {
                page.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "limit",
                            format!("must be between 1 and 1000, got {value:?}"),
                        )
                    })?;
            }
            "before" => {
                page.before = Some(Uuid::parse_str(&value).map_err(|_| {
                    bad(
                        "before",
                        format!("must be the id of a {what} (the next_cursor), got {value:?}"),
                    )
                })?);
            }
            other => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("unknown parameter {other:?}; use tag, q, limit, before"),
                ));
            }
        }
    }
    Ok((filter, page))
}

/// A JSON body that may also be empty (runs with nothing to override).
fn optional_body<T: serde::de::DeserializeOwned + Default>(bytes: &Bytes) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(bytes)
    }
}

fn etag(version: u32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a number is a header value")
}

/// A dashboard answer with its `ETag`.
fn with_etag(status: StatusCode, dashboard: &Dashboard) -> Response {
    let mut response = (status, Json(dashboard)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(dashboard.version));
    if status == StatusCode::CREATED {
        let location = format!("/api/v1/dashboards/{}", dashboard.id);
        response.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&location).expect("an id is a header value"),
        );
    }
    response
}

/// The version an `If-Match` header names: `"3"` (or a bare `3`).
fn if_match(headers: &HeaderMap) -> ApiResult<Option<u32>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(
            "invalid_if_match",
            "If-Match must name the one version you edited, as its ETag: \"3\"",
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    inner
        .parse::<u32>()
        .ok()
        .filter(|v| *v >= 1)
        .map(Some)
        .ok_or_else(bad)
}

fn version_conflict(expected: u32, current: u32) -> ApiError {
    ApiError::new(
        ErrorClass::PreconditionFailed,
        "version_conflict",
        format!(
            "the dashboard was saved as version {current} since the version {expected} you edited; \
             reload it, apply your change again and save with version {current}"
        ),
    )
    .with("current_version", current)
}

async fn audit(
    state: &AppState,
    principal: &Principal,
    action: &'static str,
    dashboard: &Dashboard,
    client: Option<String>,
    extra: Option<Value>,
) {
    let mut detail = json!({ "title": dashboard.doc.title, "version": dashboard.version });
    if let (Some(Value::Object(extra)), Value::Object(d)) = (extra, &mut detail) {
        d.extend(extra);
    }
    state
        .audit(
            NewAuditEvent::success(principal.org_id(), principal.actor(), action)
                .target(format!("dashboard:{}", dashboard.id))
                .client(client)
                .detail(detail),
        )
        .await;
}

// --- the document: shape, rules, and query checks ---

/// Reads a document from JSON, naming the member that is wrong.
fn doc_from_value(value: Value, hint: &'static str) -> ApiResult<DashboardDoc> {
    serde_path_to_error::deserialize::<_, DashboardDoc>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // A missing member is named like a wrong one.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
            .map(|name| match path.as_str() {
                "." => name.to_string(),
                parent => format!("{parent}.{name}"),
            });
        let api = if let Some(field) = missing {
            ApiError::bad_request("invalid_request", format!("{field}: {message}"))
                .with("field", field)
        } else if path == "." {
            ApiError::bad_request("invalid_request", message)
        } else {
            ApiError::bad_request("invalid_request", format!("{path}: {inner}")).with("field", path)
        };
        api.with("hint", hint)
    })
}

const DOC_HINT: &str = "a dashboard is {title, description, tags, time, refresh, variables, \
                        annotations, panels}: what GET /api/v1/dashboards/{id}/export answers";

/// An identifier: a letter or `_`, then letters, digits and `_` (variable names).
fn identifier(field: &str, value: &str) -> ApiResult<()> {
    let ok = value.chars().count() <= MAX_ID_CHARS
        && value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(bad_field(
            field,
            format!(
                "must be 1 to {MAX_ID_CHARS} characters: a letter or _ then letters, digits or _ \
                 (it is used as $name in queries), got {value:?}"
            ),
        ))
    }
}

/// A panel id: letters, digits, `_` and `-`, starting with a letter or digit.
fn panel_id(field: &str, value: &str) -> ApiResult<()> {
    let len = value.chars().count();
    let ok = (1..=MAX_ID_CHARS).contains(&len)
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(bad_field(
            field,
            format!(
                "must be 1 to {MAX_ID_CHARS} characters of letters, digits, _ and -, starting \
                 with a letter or digit, got {value:?}"
            ),
        ))
    }
}

/// A panel title: at most 200 characters, no control characters; may be empty.
fn panel_title(field: &str, value: &str) -> ApiResult<String> {
    let value = value.trim();
    if value.chars().count() > MAX_TITLE_CHARS {
        return Err(bad_field(
            field,
            format!("must be at most {MAX_TITLE_CHARS} characters long"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(bad_field(field, "must not contain control characters"));
    }
    Ok(value.to_string())
}

/// A query's text: not empty, not longer than `/dsl` accepts.
fn query_text(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(bad_field(field, "must not be empty"));
    }
    if value.len() > crate::routes::dsl::MAX_QUERY_BYTES {
        return Err(ApiError::new(
            ErrorClass::TooLarge,
            "query_too_long",
            format!(
                "{field}: the query is {} bytes; the most accepted is {}",
                value.len(),
                crate::routes::dsl::MAX_QUERY_BYTES
            ),
        )
        .with("field", field));
    }
    Ok(())
}

/// `null` or `<n>(s|m|h|d)` between 5 s and 1 d.
fn refresh_secs(value: &str) -> Option<u64> {
    let unit = value.chars().last()?;
    let n: u64 = value[..value.len() - unit.len_utf8()].parse().ok()?;
    let secs = n.checked_mul(match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    })?;
    (MIN_REFRESH_SECS..=MAX_REFRESH_SECS)
        .contains(&secs)
        .then_some(secs)
}

/// A variable value: a string, number or boolean.
fn scalar(field: &str, value: &Value) -> ApiResult<()> {
    match value {
        Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => Err(bad_field(
            field,
            format!("must be at most {MAX_VALUE_CHARS} characters long"),
        )),
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
        other => Err(bad_field(
            field,
            format!("must be a string, a number or a boolean, got {other}"),
        )),
    }
}

/// A variable's `options`, `default` or run value list: at most 1 000 scalars.
fn scalars(field: &str, values: &[Value]) -> ApiResult<()> {
    if values.len() > MAX_VARIABLE_VALUES {
        return Err(bad_field(
            field,
            format!("at most {MAX_VARIABLE_VALUES} values, got {}", values.len()),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        scalar(&format!("{field}[{i}]"), v)?;
    }
    Ok(())
}

/// A name glob for annotations: letters, digits, `. _ - / :` and `*`.
fn name_glob(field: &str, value: &str) -> ApiResult<()> {
    let len = value.chars().count();
    if !(1..=128).contains(&len)
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:*".contains(c))
    {
        return Err(bad_field(
            field,
            format!(
                "must be 1 to 128 characters of letters, digits, . _ - / : and * (any run of \
                 characters), got {value:?}"
            ),
        ));
    }
    Ok(())
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Applies every rule that needs no query engine; returns the document normalised
/// (trimmed titles, deduplicated tags).
fn validate_doc(mut doc: DashboardDoc, now: DateTime<Utc>) -> ApiResult<DashboardDoc> {
    doc.title = name_rule("title", &doc.title, MAX_TITLE_CHARS)?;
    doc.description =
        free_text("description", &doc.description, MAX_DESCRIPTION_BYTES)?.unwrap_or_default();
    doc.tags = tags_rule("tags", &doc.tags)?;
    range_at("time", &doc.time.from, &doc.time.to, now)?;
    if let Some(refresh) = &doc.refresh
        && refresh_secs(refresh).is_none()
    {
        return Err(bad_field(
            "refresh",
            format!(
                "must be null (no refresh) or <n>s, <n>m, <n>h or <n>d between 5s and 1d, e.g. \
                 \"1m\", got {refresh:?}"
            ),
        ));
    }

    if doc.variables.len() > MAX_VARIABLES {
        return Err(bad_field(
            "variables",
            format!(
                "at most {MAX_VARIABLES} variables, got {}",
                doc.variables.len()
            ),
        ));
    }
    let mut names = BTreeSet::new();
    for (i, variable) in doc.variables.iter().enumerate() {
        let at = format!("variables[{i}]");
        identifier(&format!("{at}.name"), &variable.name)?;
        if !names.insert(variable.name.as_str()) {
            return Err(bad_field(
                &format!("{at}.name"),
                format!("another variable is already named {:?}", variable.name),
            ));
        }
        validate_variable(&at, variable)?;
    }

    doc.annotations.tags = tags_rule("annotations.tags", &doc.annotations.tags)?;
    if doc.annotations.names.len() > MAX_ANNOTATION_NAMES {
        return Err(bad_field(
            "annotations.names",
            format!("at most {MAX_ANNOTATION_NAMES} names"),
        ));
    }
    for (i, glob) in doc.annotations.names.iter().enumerate() {
        name_glob(&format!("annotations.names[{i}]"), glob)?;
    }

    if doc.panels.len() > MAX_PANELS {
        return Err(bad_field(
            "panels",
            format!("at most {MAX_PANELS} panels, got {}", doc.panels.len()),
        ));
    }
    let mut ids = BTreeSet::new();
    for (i, panel) in doc.panels.iter_mut().enumerate() {
        let at = format!("panels[{i}]");
        panel_id(&format!("{at}.id"), &panel.id)?;
        if !ids.insert(panel.id.clone()) {
            return Err(bad_field(
                &format!("{at}.id"),
                format!("another panel already has the id {:?}", panel.id),
            ));
        }
        panel.title = panel_title(&format!("{at}.title"), &panel.title)?;
        query_text(&format!("{at}.query"), &panel.query)?;
        let l = panel.layout;
        if !(1..=GRID_COLUMNS).contains(&l.w) || l.x + l.w > GRID_COLUMNS {
            return Err(bad_field(
                &format!("{at}.layout"),
                format!(
                    "the grid has {GRID_COLUMNS} columns: w must be 1 to {GRID_COLUMNS} and \
                     x + w at most {GRID_COLUMNS}, got x {} and w {}",
                    l.x, l.w
                ),
            ));
        }
        if !(1..=MAX_PANEL_HEIGHT).contains(&l.h) || l.y > MAX_PANEL_Y {
            return Err(bad_field(
                &format!("{at}.layout"),
                format!(
                    "h must be 1 to {MAX_PANEL_HEIGHT} rows and y at most {MAX_PANEL_Y}, got y {} \
                     and h {}",
                    l.y, l.h
                ),
            ));
        }
        let size = serde_json::to_vec(&panel.options).map_or(0, |b| b.len());
        if size > MAX_OPTIONS_BYTES {
            return Err(ApiError::new(
                ErrorClass::TooLarge,
                "options_too_large",
                format!(
                    "{at}.options: {size} bytes of JSON; the most a panel's options may take is \
                     {MAX_OPTIONS_BYTES}"
                ),
            )
            .with("field", format!("{at}.options")));
        }
        if let Some(time) = &panel.time {
            range_at(&format!("{at}.time"), &time.from, &time.to, now)?;
        }
    }
    Ok(doc)
}

fn validate_variable(at: &str, variable: &Variable) -> ApiResult<()> {
    match variable.kind {
        VariableKind::Query => {
            let Some(query) = &variable.query else {
                return Err(bad_field(
                    &format!("{at}.query"),
                    "a query variable needs a query; its options are the distinct values of \
                     the first column",
                ));
            };
            query_text(&format!("{at}.query"), query)?;
            if variable.options.is_some() {
                return Err(bad_field(
                    &format!("{at}.options"),
                    "a query variable's options come from its query; use kind custom to list \
                     them",
                ));
            }
        }
        VariableKind::Custom => {
            let Some(options) = &variable.options else {
                return Err(bad_field(
                    &format!("{at}.options"),
                    "a custom variable needs a list of options",
                ));
            };
            scalars(&format!("{at}.options"), options)?;
            if variable.query.is_some() {
                return Err(bad_field(
                    &format!("{at}.query"),
                    "only query variables have a query",
                ));
            }
        }
        VariableKind::Text => {
            if variable.query.is_some() || variable.options.is_some() {
                return Err(bad_field(
                    at,
                    "a text variable has neither query nor options",
                ));
            }
            if variable.multi {
                return Err(bad_field(
                    &format!("{at}.multi"),
                    "a text variable holds one value",
                ));
            }
        }
    }
    let field = format!("{at}.default");
    match &variable.default {
        Value::Null => {}
        Value::Array(values) if variable.multi => {
            scalars(&field, values)?;
            if let Some(options) = &variable.options
                && let Some(v) = values.iter().find(|v| !options.contains(v))
            {
                return Err(bad_field(&field, format!("{v} is not one of the options")));
            }
        }
        Value::Array(_) => {
            return Err(bad_field(
                &field,
                "only a multi variable's default may be a list",
            ));
        }
        value => {
            scalar(&field, value)?;
            if let Some(options) = &variable.options
                && !options.contains(value)
            {
                return Err(bad_field(
                    &field,
                    format!("{value} is not one of the options"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks every query of the document against the org's catalog: variable queries may use
/// the variables declared before them and their own time range; panel queries may use every
/// variable and no time range.
async fn check_queries(state: &AppState, org: Uuid, doc: &DashboardDoc) -> ApiResult<()> {
    let names: Vec<&str> = doc.variables.iter().map(|v| v.name.as_str()).collect();
    for (i, variable) in doc.variables.iter().enumerate() {
        if let Some(query) = &variable.query {
            let rules = QueryRules {
                allow_time_range: true,
                declared: &names[..i],
            };
            check_query(state, org, query, rules)
                .await
                .map_err(|e| query_error(&format!("variables[{i}].query"), e))?;
        }
    }
    for (i, panel) in doc.panels.iter().enumerate() {
        let rules = QueryRules {
            allow_time_range: false,
            declared: &names,
        };
        check_query(state, org, &panel.query, rules)
            .await
            .map_err(|e| query_error(&format!("panels[{i}].query"), e).with("panel", &*panel.id))?;
    }
    Ok(())
}

/// A document as the API received it, made valid or refused.
async fn accept_doc(state: &AppState, org: Uuid, doc: DashboardDoc) -> ApiResult<DashboardDoc> {
    let doc = validate_doc(doc, Utc::now())?;
    check_queries(state, org, &doc).await?;
    Ok(doc)
}

// --- handlers ---

pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let (filter, page) = search_params(query.as_deref(), "dashboard")?;
    let dashboards = state
        .meta
        .list_dashboards(principal.org_id(), &filter, page)
        .await?;
    let next = next_cursor(page, dashboards.len(), dashboards.last().map(|d| d.id));
    Ok(Json(
        json!({ "dashboards": dashboards, "next_cursor": next }),
    ))
}

async fn create_from(
    state: &AppState,
    user: &SignedInUser,
    client: Option<String>,
    body: Value,
    action: &'static str,
) -> ApiResult<Response> {
    let doc = doc_from_value(body, DOC_HINT)?;
    let org = user.0.user.org_id;
    let doc = accept_doc(state, org, doc).await?;
    let dashboard = state
        .meta
        .create_dashboard(org, doc, &user.0.user.email, CAPS)
        .await?;
    let principal = Principal::User(user.0.clone());
    audit(state, &principal, action, &dashboard, client, None).await;
    Ok(with_etag(StatusCode::CREATED, &dashboard))
}

pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: SignedInUser,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    create_from(&state, &user, client, body, "dashboard.create").await
}

/// `POST /api/v1/dashboards/import`: what export answered, as a new dashboard.
pub async fn import(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: SignedInUser,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    if let Value::Object(members) = &body
        && let Some(member) = ["id", "version"]
            .iter()
            .chain(READ_ONLY)
            .find(|m| members.contains_key(**m))
    {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!(
                "{member}: unknown field `{member}`: import takes what GET \
                 /api/v1/dashboards/{{id}}/export answers, without id, version, authors or times"
            ),
        )
        .with("field", *member));
    }
    create_from(&state, &user, client, body, "dashboard.import").await
}

pub async fn show(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let dashboard = state.meta.get_dashboard(principal.org_id(), id).await?;
    Ok(with_etag(StatusCode::OK, &dashboard))
}

/// `PUT` replaces the document. The version edited comes from `If-Match: "<n>"` or the
/// body's `"version"` (both: they must agree; neither: 428).
pub async fn replace(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: SignedInUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let org = user.0.user.org_id;
    // An unknown id is a 404 before anything about the request.
    state.meta.get_dashboard(org, id).await?;
    let Value::Object(mut body) = body else {
        return Err(ApiError::bad_request(
            "invalid_request",
            "the body must be a dashboard: a JSON object",
        ));
    };
    let header_version = if_match(&headers)?;
    let body_version = match body.remove("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .filter(|v| *v >= 1)
                .ok_or_else(|| {
                    bad_field(
                        "version",
                        format!("must be the version you edited (1 or more), got {v}"),
                    )
                })?,
        ),
    };
    if let Some(given) = body.remove("id")
        && given != json!(id)
    {
        return Err(bad_field(
            "id",
            "must be this dashboard's id, or left out; to copy a dashboard, import its export",
        ));
    }
    for member in READ_ONLY {
        body.remove(*member);
    }
    let expected = match (header_version, body_version) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::bad_request(
                "version_mismatch",
                format!("If-Match names version {h} but the body's \"version\" is {b}; send one"),
            ));
        }
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => {
            return Err(ApiError::new(
                ErrorClass::PreconditionRequired,
                "version_required",
                "name the version you edited: an If-Match: \"<version>\" header (the ETag of \
                 the GET) or \"version\" in the body",
            ));
        }
    };
    let doc = doc_from_value(Value::Object(body), DOC_HINT)?;
    let doc = accept_doc(&state, org, doc).await?;
    match state
        .meta
        .update_dashboard(org, id, expected, doc, &user.0.user.email, CAPS)
        .await?
    {
        VersionedWrite::Written(dashboard) => {
            let principal = Principal::User(user.0.clone());
            audit(
                &state,
                &principal,
                "dashboard.update",
                &dashboard,
                client,
                None,
            )
            .await;
            Ok(with_etag(StatusCode::OK, &dashboard))
        }
        VersionedWrite::Stale { current } => Err(version_conflict(expected, current)),
    }
}

pub async fn remove(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let dashboard = state.meta.delete_dashboard(principal.org_id(), id).await?;
    audit(
        &state,
        &principal,
        "dashboard.delete",
        &dashboard,
        client,
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The document without id, version, authors and times: what import takes back.
pub async fn export(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DashboardDoc>> {
    Ok(Json(
        state.meta.get_dashboard(principal.org_id(), id).await?.doc,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionParams {
    limit: Option<u32>,
    /// Cursor: the last version number of the previous page.
    before: Option<u32>,
}

pub async fn versions(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
    crate::extract::ApiQuery(params): crate::extract::ApiQuery<VersionParams>,
) -> ApiResult<Json<Value>> {
    let limit = match params.limit {
        None => VERSIONS_KEPT,
        Some(n) if (1..=VERSIONS_KEPT).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {VERSIONS_KEPT}, got {n}"),
            )
            .with("field", "limit"));
        }
    };
    let versions = state
        .meta
        .list_dashboard_versions(principal.org_id(), id, limit, params.before)
        .await?;
    let next = (versions.len() == limit as usize)
        .then(|| versions.last().map(|v| v.version))
        .flatten();
    Ok(Json(json!({ "versions": versions, "next_cursor": next })))
}

pub async fn version(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath((id, n)): ApiPath<(Uuid, u32)>,
) -> ApiResult<Json<hexcovery_meta::DashboardVersion>> {
    Ok(Json(
        state
            .meta
            .get_dashboard_version(principal.org_id(), id, n)
            .await?,
    ))
}

/// A new version with version `n`'s content; `If-Match` is optional here (when given, a
/// stale one is a 412).
pub async fn restore(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: SignedInUser,
    ApiPath((id, n)): ApiPath<(Uuid, u32)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let org = user.0.user.org_id;
    let expected = if_match(&headers)?;
    match state
        .meta
        .restore_dashboard_version(org, id, n, expected, &user.0.user.email, CAPS)
        .await?
    {
        VersionedWrite::Written(dashboard) => {
            let principal = Principal::User(user.0.clone());
            let extra = json!({ "restored_from": n });
            audit(
                &state,
                &principal,
                "dashboard.restore",
                &dashboard,
                client,
                Some(extra),
            )
            .await;
            Ok(with_etag(StatusCode::OK, &dashboard))
        }
        VersionedWrite::Stale { current } => {
            Err(version_conflict(expected.unwrap_or(current), current))
        }
    }
}

// --- runs: panels and variable options ---

/// What a run may override: the time range and variable values.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    #[serde(default)]
    from: Option<TimeBound>,
    #[serde(default)]
    to: Option<TimeBound>,
    /// Values by variable name: a scalar, or a list for a multi variable.
    #[serde(default)]
    variables: BTreeMap<String, Value>,
}

/// The range a run covers: each bound from the body, else `own` (a panel's time), else the
/// dashboard's.
fn run_range(
    body: &RunBody,
    own: Option<&TimeRange>,
    dashboard: &TimeRange,
    now: DateTime<Utc>,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let base = own.unwrap_or(dashboard);
    let from = body.from.as_ref().unwrap_or(&base.from);
    let to = body.to.as_ref().unwrap_or(&base.to);
    let start = bound_at("from", from, now)?;
    let end = bound_at("to", to, now)?;
    if start >= end {
        return Err(bad_field(
            "to",
            format!(
                "the run's range ends ({}) before it starts ({})",
                end.to_rfc3339(),
                start.to_rfc3339()
            ),
        ));
    }
    Ok((start, end))
}

/// A run's values for the variables a query uses (and those their own option queries need),
/// as OQL parameters.
struct Binder<'a> {
    state: &'a AppState,
    org: Uuid,
    doc: &'a DashboardDoc,
    range: (DateTime<Utc>, DateTime<Utc>),
    given: &'a BTreeMap<String, Value>,
    bound: BTreeMap<String, Value>,
}

impl<'a> Binder<'a> {
    fn new(
        state: &'a AppState,
        org: Uuid,
        doc: &'a DashboardDoc,
        range: (DateTime<Utc>, DateTime<Utc>),
        body: &'a RunBody,
    ) -> ApiResult<Self> {
        for (name, value) in &body.variables {
            let Some(variable) = doc.variables.iter().find(|v| &v.name == name) else {
                let declared: Vec<&str> = doc.variables.iter().map(|v| v.name.as_str()).collect();
                return Err(ApiError::bad_request(
                    "unknown_variable",
                    format!(
                        "variables.{name}: the dashboard has no variable {name:?}; it has: {}",
                        if declared.is_empty() {
                            "none".into()
                        } else {
                            declared.join(", ")
                        }
                    ),
                )
                .with("field", format!("variables.{name}")));
            };
            let field = format!("variables.{name}");
            match value {
                Value::Array(values) if variable.multi => scalars(&field, values)?,
                Value::Array(_) => {
                    return Err(bad_field(
                        &field,
                        format!("{name} takes one value (it is not multi), got a list"),
                    ));
                }
                other => scalar(&field, other)?,
            }
        }
        Ok(Self {
            state,
            org,
            doc,
            range,
            given: &body.variables,
            bound: BTreeMap::new(),
        })
    }

    /// The parameters `text` needs.
    async fn params_for(&mut self, text: &str) -> ApiResult<BTreeMap<String, ParamValue>> {
        let mut params = BTreeMap::new();
        for name in referenced_params(text) {
            let value = Box::pin(self.value(&name)).await?;
            let param = ParamValue::from_json(&value)
                .map_err(|message| bad_field(&format!("variables.{name}"), message))?;
            params.insert(name, param);
        }
        Ok(params)
    }

    /// A variable's value: the run's, else its default, else (like a dashboard opened
    /// fresh) its first option, or every option for a multi variable.
    async fn value(&mut self, name: &str) -> ApiResult<Value> {
        if let Some(v) = self.bound.get(name) {
            return Ok(v.clone());
        }
        let Some(variable) = self.doc.variables.iter().find(|v| v.name == name) else {
            // The check refuses undeclared names when saving; a stored one means a bug.
            return Err(ApiError::internal(anyhow::anyhow!(
                "stored query uses undeclared variable {name}"
            )));
        };
        let value = match self.given.get(name) {
            Some(Value::Array(values)) => Value::Array(values.clone()),
            Some(v) if variable.multi => Value::Array(vec![v.clone()]),
            Some(v) => v.clone(),
            None => match &variable.default {
                Value::Null => self.fallback(variable).await?,
                Value::Array(values) => Value::Array(values.clone()),
                v if variable.multi => Value::Array(vec![v.clone()]),
                v => v.clone(),
            },
        };
        self.bound.insert(name.to_string(), value.clone());
        Ok(value)
    }

    async fn fallback(&mut self, variable: &Variable) -> ApiResult<Value> {
        let options = match variable.kind {
            VariableKind::Text => return Ok(Value::String(String::new())),
            VariableKind::Custom => variable.options.clone().unwrap_or_default(),
            VariableKind::Query => self.options(variable).await?.0,
        };
        if variable.multi {
            return Ok(Value::Array(options));
        }
        options.into_iter().next().ok_or_else(|| {
            ApiError::bad_request(
                "variable_unset",
                format!(
                    "variables.{0}: the run gives no value for ${0}, it has no default and its \
                     query offers no options; send \"variables\": {{\"{0}\": ...}}",
                    variable.name
                ),
            )
            .with("field", format!("variables.{}", variable.name))
        })
    }

    /// A query variable's options: the distinct values of its query's first column.
    async fn options(&mut self, variable: &Variable) -> ApiResult<(Vec<Value>, bool)> {
        let Some(query) = variable.query.as_deref() else {
            return Ok((variable.options.clone().unwrap_or_default(), false));
        };
        let field = format!("variables.{}.query", variable.name);
        let params = self.params_for(query).await?;
        let answer = run_query(self.state, self.org, query, self.range, params, true)
            .await
            .map_err(|e| query_error(&field, e))?;
        let mut seen = BTreeSet::new();
        let mut options = Vec::new();
        let mut truncated = answer.truncated;
        for row in answer.rows {
            let Some(value) = row.into_iter().next() else {
                continue;
            };
            if value.is_null() || !seen.insert(value.to_string()) {
                continue;
            }
            if options.len() == MAX_VARIABLE_VALUES {
                truncated = true;
                break;
            }
            options.push(value);
        }
        Ok((options, truncated))
    }
}

/// `POST /api/v1/dashboards/{id}/panels/{panel_id}/query` `{from?, to?, variables?}`: the
/// panel's query over the run's range (body, else the panel's `time`, else the
/// dashboard's), with the variables bound as parameters; answers the OQL result.
pub async fn run_panel(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath((id, panel)): ApiPath<(Uuid, String)>,
    body: Bytes,
) -> ApiResult<Json<Answer>> {
    let body: RunBody = optional_body(&body)?;
    let org = principal.org_id();
    let dashboard = state.meta.get_dashboard(org, id).await?;
    let panel: &Panel = dashboard
        .doc
        .panels
        .iter()
        .find(|p| p.id == panel)
        .ok_or_else(|| ApiError::not_found("panel"))?;
    let range = run_range(&body, panel.time.as_ref(), &dashboard.doc.time, Utc::now())?;
    let mut binder = Binder::new(&state, org, &dashboard.doc, range, &body)?;
    let params = binder.params_for(&panel.query).await?;
    let answer = run_query(&state, org, &panel.query, range, params, false)
        .await
        .map_err(|e| query_error(&format!("panel {:?}", panel.id), e))?;
    Ok(Json(answer))
}

/// `POST /api/v1/dashboards/{id}/variables/{name}/options` `{from?, to?, variables?}`: the
/// values a variable's picker offers (a query variable's query run over the range, with the
/// variables before it bound).
pub async fn variable_options(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath((id, name)): ApiPath<(Uuid, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body: RunBody = optional_body(&body)?;
    let org = principal.org_id();
    let dashboard = state.meta.get_dashboard(org, id).await?;
    let variable = dashboard
        .doc
        .variables
        .iter()
        .find(|v| v.name == name)
        .ok_or_else(|| ApiError::not_found("variable"))?;
    let range = run_range(&body, None, &dashboard.doc.time, Utc::now())?;
    let mut binder = Binder::new(&state, org, &dashboard.doc, range, &body)?;
    let (options, truncated) = match variable.kind {
        VariableKind::Text => (Vec::new(), false),
        _ => binder.options(variable).await?,
    };
    Ok(Json(json!({ "options": options, "truncated": truncated })))
}

// --- annotations ---

/// `GET /api/v1/dashboards/{id}/annotations?from=&to=`: the org's annotations matching the
/// dashboard's filter in the range (default: the dashboard's time), and its alert
/// transitions when the filter asks for them.
pub async fn annotations(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<Uuid>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let org = principal.org_id();
    let dashboard = state.meta.get_dashboard(org, id).await?;
    let mut from = None;
    let mut to = None;
    for (key, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        let bound = match value.parse::<i64>() {
            Ok(ms) => TimeBound::EpochMs(ms),
            Err(_) => TimeBound::Text(value.into_owned()),
        };
        match key.as_ref() {
            "from" => from = Some(bound),
            "to" => to = Some(bound),
            other => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("unknown parameter {other:?}; use from, to"),
                ));
            }
        }
    }
    let body = RunBody {
        from,
        to,
        variables: BTreeMap::new(),
    };
    let (start, end) = run_range(&body, None, &dashboard.doc.time, Utc::now())
        .map_err(|e| e.with("hint", "from and to are query parameters here"))?;
    let wanted = &dashboard.doc.annotations;
    let mut filter = AnnotationFilter {
        from: Some(start),
        to: Some(end),
        name: None,
        tags: wanted.tags.clone(),
    };
    // One name without `*` is a plain filter the metastore applies itself.
    if let [only] = wanted.names.as_slice()
        && !only.contains('*')
    {
        filter.name = Some(only.clone());
    }
    let mut found: Vec<Annotation> = Vec::new();
    let mut page = Page {
        limit: 500,
        before: None,
    };
    let mut scanned = 0;
    let mut truncated = false;
    loop {
        let batch = state.meta.list_annotations(org, &filter, page).await?;
        scanned += batch.len();
        let full = batch.len() == page.limit as usize;
        page.before = batch.last().map(|a| a.id);
        found.extend(batch.into_iter().filter(|a| {
            wanted.names.is_empty() || wanted.names.iter().any(|g| glob_matches(g, &a.name))
        }));
        if found.len() >= MAX_ANNOTATIONS {
            truncated = found.len() > MAX_ANNOTATIONS || full;
            found.truncate(MAX_ANNOTATIONS);
            break;
        }
        if !full {
            break;
        }
        if scanned >= MAX_ANNOTATIONS_SCANNED {
            truncated = true;
            break;
        }
    }
    let mut alert_transitions = if wanted.alerts {
        state
            .meta
            .list_alert_transitions(org, None, start, end, MAX_ANNOTATIONS as u32 + 1)
            .await?
    } else {
        Vec::new()
    };
    if alert_transitions.len() > MAX_ANNOTATIONS {
        alert_transitions.truncate(MAX_ANNOTATIONS);
        truncated = true;
    }
    Ok(Json(json!({
        "annotations": found,
        "alert_transitions": alert_transitions,
        "truncated": truncated,
        "from": start,
        "to": end,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob_matches("deploy/*", "deploy/api"));
        assert!(glob_matches("deploy/*", "deploy/"));
        assert!(glob_matches("*", "anything/at:all"));
        assert!(glob_matches("*/api", "deploy/api"));
        assert!(glob_matches("d*y/*i", "deploy/api"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(!glob_matches("deploy/*", "incident"));
        assert!(!glob_matches("*/web", "deploy/api"));
    }

    #[test]
    fn params_are_the_ones_the_query_uses() {
        let text = "SELECT count(*) FROM logs WHERE service IN ($service) AND body = '$not' \
                    AND level = $level -- $comment";
        let names: Vec<String> = referenced_params(text).into_iter().collect();
        assert_eq!(names, ["level", "service"]);
        assert!(referenced_params("SELECT broken FROM").is_empty());
    }

    #[test]
    fn refresh_is_between_five_seconds_and_a_day() {
        assert_eq!(refresh_secs("5s"), Some(5));
        assert_eq!(refresh_secs("1m"), Some(60));
        assert_eq!(refresh_secs("1d"), Some(86_400));
        for bad in ["4s", "2d", "1w", "m", "", "10", "-5s", "1.5m"] {
            assert_eq!(refresh_secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn if_match_names_one_version() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers).unwrap(), None);
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"3\""));
        assert_eq!(if_match(&headers).unwrap(), Some(3));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("7"));
        assert_eq!(if_match(&headers).unwrap(), Some(7));
        for bad in ["*", "W/\"3\"", "\"0\"", "\"1\", \"2\"", "abc"] {
            headers.insert(header::IF_MATCH, HeaderValue::from_static(bad));
            assert_eq!(
                if_match(&headers).unwrap_err().code,
                "invalid_if_match",
                "{bad}"
            );
        }
    }

    fn doc(value: Value) -> ApiResult<DashboardDoc> {
        validate_doc(doc_from_value(value, DOC_HINT)?, Utc::now())
    }

    fn panel(id: &str, x: u32, w: u32) -> Value {
        json!({"id": id, "kind": "stat", "query": "SELECT count(*) FROM logs",
               "layout": {"x": x, "y": 0, "w": w, "h": 4}})
    }

    #[test]
    fn documents_get_defaults_and_keep_what_they_say() {
        let d = doc(json!({"title": "  Checkout  ", "panels": [panel("a", 0, 24)]})).unwrap();
        assert_eq!(d.title, "Checkout");
        assert_eq!(d.time, TimeRange::default());
        assert_eq!(d.refresh, None);
        assert!(d.annotations.alerts && d.annotations.names.is_empty());
        assert!(d.panels[0].show_annotations && d.panels[0].time.is_none());
        assert_eq!(
            serde_json::to_value(&d).unwrap()["panels"][0]["options"],
            json!({})
        );
    }

    #[test]
    fn document_rules_name_the_field() {
        let field = |value: Value| -> String {
            let e = doc(value).unwrap_err();
            e.extra
                .get("field")
                .and_then(Value::as_str)
                .unwrap_or(&e.message)
                .to_string()
        };
        let p = |panels: Vec<Value>| json!({"title": "t", "panels": panels});
        assert_eq!(field(p(vec![panel("a", 20, 5)])), "panels[0].layout");
        assert_eq!(field(p(vec![panel("a", 0, 0)])), "panels[0].layout");
        assert_eq!(
            field(p(vec![panel("a", 0, 12), panel("a", 12, 12)])),
            "panels[1].id"
        );
        assert_eq!(field(p(vec![panel("no spaces", 0, 12)])), "panels[0].id");
        assert_eq!(field(json!({"title": ""})), "title");
        assert_eq!(field(json!({"title": "t", "refresh": "1s"})), "refresh");
        assert_eq!(
            field(json!({"title": "t", "time": {"from": "now", "to": "now-6h"}})),
            "time.to"
        );
        assert_eq!(
            field(json!({"title": "t", "time": {"from": "yesterday", "to": "now"}})),
            "time.from"
        );
        assert_eq!(field(json!({"title": "t", "colour": "red"})), "colour");
        let v = |variables: Value| json!({"title": "t", "variables": variables});
        assert_eq!(
            field(v(json!([{"name": "1x", "kind": "text"}]))),
            "variables[0].name"
        );
        assert_eq!(
            field(v(
                json!([{"name": "a", "kind": "text"}, {"name": "a", "kind": "text"}])
            )),
            "variables[1].name"
        );
        assert_eq!(
            field(v(json!([{"name": "a", "kind": "query"}]))),
            "variables[0].query"
        );
        assert_eq!(
            field(v(
                json!([{"name": "a", "kind": "custom", "options": ["x"], "default": "y"}])
            )),
            "variables[0].default"
        );
        assert_eq!(
            field(v(
                json!([{"name": "a", "kind": "custom", "options": ["x"], "default": ["x"]}])
            )),
            "variables[0].default"
        );
        let mut big = panel("a", 0, 1);
        big["options"] = json!({"blob": "x".repeat(MAX_OPTIONS_BYTES)});
        assert_eq!(doc(p(vec![big])).unwrap_err().code, "options_too_large");
    }

    #[test]
    fn unknown_members_are_refused_by_name() {
        let e = doc(json!({"title": "t", "panels": [{"id": "a", "kind": "stat",
            "query": "q", "layout": {"x": 0, "y": 0, "w": 1, "h": 1}, "colour": 1}]}))
        .unwrap_err();
        assert!(
            e.message.contains("unknown field `colour`"),
            "{}",
            e.message
        );
        assert_eq!(e.extra["field"], "panels[0].colour");
    }
}
