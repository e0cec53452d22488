//! The agent's configuration: the TOML file of SPEC §9, `HEXCOVERY_AGENT_<SECTION>_<KEY>`
//! overrides for every scalar outside `[[logs]]`, and validation that names what is wrong
//! and where (file:line:column, or the variable).

use crate::queue::Fsync;
use globset::GlobMatcher;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Everything the agent runs with, resolved and checked.
#[derive(Clone, Debug)]
pub struct Config {
    pub server: Server,
    pub host: Host,
    pub metrics: Metrics,
    pub logs: Vec<LogGroup>,
    pub queue: Queue,
    pub tail: Tail,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub endpoint: String,
    /// Never printed: Debug is written by hand below.
    pub api_key: ApiKey,
    pub in_flight: usize,
    pub timeout: Duration,
    pub gzip: bool,
    /// The longest wait between retries (back-off starts at 1 s).
    pub backoff_max: Duration,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(pub String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Metrics {
    pub enabled: bool,
    pub interval: Duration,
    /// Also emit the OpenTelemetry semantic-convention names (`system.cpu.utilization`, …).
    pub semconv: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    Beginning,
    End,
}

#[derive(Clone, Debug)]
pub struct LogGroup {
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
    pub start_at: StartAt,
    pub service: String,
}

/// A glob: over the full path when it contains `/`, else over the file name.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub text: String,
    matcher: GlobMatcher,
    full_path: bool,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Self, String> {
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("{text:?} is not a valid glob: {}", e.kind()))?;
        Ok(Self {
            text: text.to_string(),
            matcher: glob.compile_matcher(),
            full_path: text.contains('/'),
        })
    }

    pub fn matches(&self, path: &Path) -> bool {
        if self.full_path {
            self.matcher.is_match(path)
        } else {
            path.file_name()
                .is_some_and(|name| self.matcher.is_match(Path::new(name)))
        }
    }

    /// The directory to walk for an include pattern: its leading components without glob
    /// characters, and how many more components it can match (`None`: any, for `**`).
    pub fn walk_root(&self) -> (PathBuf, Option<usize>) {
        let mut root = PathBuf::from("/");
        let parts: Vec<&str> = self.text.split('/').filter(|p| !p.is_empty()).collect();
        let mut rest = parts.len();
        for part in &parts {
            if part.contains(['*', '?', '[', '{']) {
                break;
            }
            root.push(part);
            rest -= 1;
        }
        let depth = if parts.iter().any(|p| p.contains("**")) {
            None
        } else {
            Some(rest)
        };
        (root, depth)
    }
}

#[derive(Clone, Debug)]
pub struct Queue {
    pub dir: PathBuf,
    pub max_size: u64,
    pub fsync: Fsync,
}

#[derive(Clone, Debug)]
pub struct Tail {
    /// How often files are checked (inotify only wakes a check early).
    pub poll_interval: Duration,
    /// A last line without its newline is sent after this long.
    pub flush_timeout: Duration,
    /// A file gone from the globs (renamed away, deleted) is read to its end for at least
    /// this long before it is closed.
    pub rotate_wait: Duration,
}

/// One problem in the configuration and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: String,
    pub message: String,
}

/// Every problem found, printed one per line.
#[derive(Debug)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", p.at, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

type RawSection = BTreeMap<String, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    server: Option<RawSection>,
    host: Option<RawSection>,
    metrics: Option<RawSection>,
    queue: Option<RawSection>,
    tail: Option<RawSection>,
    logs: Option<Vec<RawSection>>,
}

/// The scalar settings, with their kinds: the schema env overrides and unknown keys are
/// checked against.
const SCALARS: &[(&str, &[&str])] = &[
    (
        "server",
        &[
            "endpoint",
            "api_key_file",
            "in_flight",
            "timeout",
            "gzip",
            "backoff_max",
        ],
    ),
    ("host", &["name"]),
    ("metrics", &["enabled", "interval", "semconv"]),
    ("queue", &["dir", "max_size", "fsync"]),
    ("tail", &["poll_interval", "flush_timeout", "rotate_wait"]),
];

const LOG_KEYS: &[&str] = &["include", "exclude", "start_at", "service"];

/// Where a value came from, for messages.
struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn at(&self, span: std::ops::Range<usize>) -> String {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("{}:{line}:{column}", self.file)
    }
}

/// A value as text, with where it came from.
struct Value {
    text: String,
    at: String,
    is_string: bool,
}

fn value_text(v: &toml::Value) -> Option<(String, bool)> {
    match v {
        toml::Value::String(s) => Some((s.clone(), true)),
        toml::Value::Integer(i) => Some((i.to_string(), false)),
        toml::Value::Float(f) => Some((f.to_string(), false)),
        toml::Value::Boolean(b) => Some((b.to_string(), false)),
        _ => None,
    }
}

/// Loads and checks `path` with overrides from `env` (the process environment in `main`).
pub fn load(path: &Path, env: &BTreeMap<String, String>) -> Result<Config, Problems> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            at: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        }])
    })?;
    parse(&path.display().to_string(), &text, env)
}

pub fn parse(file: &str, text: &str, env: &BTreeMap<String, String>) -> Result<Config, Problems> {
    let src = Source { file, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or_else(|| file.to_string(), |s| src.at(s));
        Problems(vec![Problem {
            at,
            message: e.message().to_string(),
        }])
    })?;
    let mut problems = Vec::new();
    let sections: BTreeMap<&str, &RawSection> = [
        ("server", raw.server.as_ref()),
        ("host", raw.host.as_ref()),
        ("metrics", raw.metrics.as_ref()),
        ("queue", raw.queue.as_ref()),
        ("tail", raw.tail.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    // Unknown keys in the file.
    for (section, keys) in SCALARS {
        if let Some(raw) = sections.get(section) {
            for (key, value) in raw.iter() {
                if !keys.contains(&key.as_str()) {
                    problems.push(Problem {
                        at: src.at(value.span()),
                        message: format!(
                            "unknown setting [{section}] {key} (known: {})",
                            keys.join(", ")
                        ),
                    });
                }
            }
        }
    }
    // Unknown override variables.
    for name in env.keys() {
        let Some(rest) = name.strip_prefix("HEXCOVERY_AGENT_") else {
            continue;
        };
        if rest == "API_KEY" || rest == "LOG" {
            continue;
        }
        let known = SCALARS.iter().any(|(section, keys)| {
            keys.iter()
                .any(|key| rest == format!("{section}_{key}").to_ascii_uppercase())
        });
        if !known {
            problems.push(Problem {
                at: name.clone(),
                message: "not a setting of the agent (HEXCOVERY_AGENT_<SECTION>_<KEY>, e.g. HEXCOVERY_AGENT_METRICS_INTERVAL)".into(),
            });
        }
    }
    let get = |section: &str, key: &str| -> Option<Value> {
        let var = format!("HEXCOVERY_AGENT_{section}_{key}").to_ascii_uppercase();
        if let Some(text) = env.get(&var) {
            return Some(Value {
                text: text.clone(),
                at: var,
                is_string: true,
            });
        }
        let value = sections.get(section)?.get(key)?;
        let at = src.at(value.span());
        match value_text(value.get_ref()) {
            Some((text, is_string)) => Some(Value {
                text,
                at,
                is_string,
            }),
            None => Some(Value {
                text: String::new(),
                at,
                is_string: false,
            }),
        }
    };
    let mut setting = |section: &str,
                       key: &str,
                       what: &str,
                       parse: &dyn Fn(&Value) -> Result<(), String>|
     -> Option<Value> {
        let value = get(section, key)?;
        match parse(&value) {
            Ok(()) => Some(value),
            Err(message) => {
                problems.push(Problem {
                    at: value.at.clone(),
                    message: format!("[{section}] {key}: {message} ({what})"),
                });
                None
            }
        }
    };
    let string = |v: &Value| {
        if v.is_string && !v.text.trim().is_empty() {
            Ok(())
        } else {
            Err("expected a non-empty string".to_string())
        }
    };
    let duration = |v: &Value| parse_duration(&v.text).map(|_| ());
    let boolean = |v: &Value| parse_bool(&v.text).map(|_| ());
    let count = |v: &Value| match v.text.parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(()),
        _ => Err(format!("{:?} is not a whole number from 1 to 64", v.text)),
    };
    let fsync = |v: &Value| parse_fsync(&v.text).map(|_| ());

    let endpoint = setting(
        "server",
        "endpoint",
        "an OTLP/gRPC URL such as \"http://127.0.0.1:4317\"",
        &|v| {
            string(v)?;
            if v.text.starts_with("http://") {
                Ok(())
            } else if v.text.starts_with("https://") {
                Err(
                    "https endpoints are not supported yet (use http:// through a local TLS proxy)"
                        .into(),
                )
            } else {
                Err(format!("{:?} is not an http:// URL", v.text))
            }
        },
    )
    .map_or_else(|| "http://127.0.0.1:4317".to_string(), |v| v.text);
    let api_key_file = setting("server", "api_key_file", "a path", &string);
    let in_flight = setting("server", "in_flight", "batches sent at once", &count)
        .map_or(4, |v| v.text.parse().unwrap());
    let timeout = setting("server", "timeout", "a duration such as \"30s\"", &duration)
        .map_or(Duration::from_secs(30), |v| {
            parse_duration(&v.text).unwrap()
        });
    let backoff_max = setting(
        "server",
        "backoff_max",
        "a duration such as \"30s\"",
        &|v| {
            let d = parse_duration(&v.text)?;
            if d < Duration::from_secs(1) {
                return Err("must be at least 1s".into());
            }
            Ok(())
        },
    )
    .map_or(Duration::from_secs(30), |v| {
        parse_duration(&v.text).unwrap()
    });
    let gzip = setting("server", "gzip", "true or false", &boolean)
        .is_none_or(|v| parse_bool(&v.text).unwrap());
    let host_name = setting("host", "name", "a host name", &string)
        .map(|v| v.text)
        .unwrap_or_else(default_host_name);
    let metrics_enabled = setting("metrics", "enabled", "true or false", &boolean)
        .is_none_or(|v| parse_bool(&v.text).unwrap());
    let interval = setting("metrics", "interval", "a duration such as \"10s\"", &|v| {
        let d = parse_duration(&v.text)?;
        if d < Duration::from_millis(100) {
            return Err("must be at least 100ms".into());
        }
        Ok(())
    })
    .map_or(Duration::from_secs(10), |v| {
        parse_duration(&v.text).unwrap()
    });
    let semconv = setting("metrics", "semconv", "true or false", &boolean)
        .is_some_and(|v| parse_bool(&v.text).unwrap());
    let queue_dir = setting("queue", "dir", "a directory", &string).map_or_else(
        || PathBuf::from("/var/lib/hexcovery-agent"),
        |v| PathBuf::from(v.text),
    );
    let max_size = setting(
        "queue",
        "max_size",
        "a size such as \"1GiB\" or \"64MiB\"",
        &|v| {
            let n = parse_size(&v.text)?;
            if n < (1 << 20) {
                return Err("must be at least 1MiB".into());
            }
            Ok(())
        },
    )
    .map_or(1 << 30, |v| parse_size(&v.text).unwrap());
    let fsync_mode = setting(
        "queue",
        "fsync",
        "\"always\" or an interval such as \"200ms\"",
        &fsync,
    )
    .map_or(Fsync::Interval(Duration::from_millis(200)), |v| {
        parse_fsync(&v.text).unwrap()
    });
    let poll_interval = setting("tail", "poll_interval", "a duration", &duration)
        .map_or(Duration::from_millis(250), |v| {
            parse_duration(&v.text).unwrap()
        });
    let flush_timeout = setting("tail", "flush_timeout", "a duration", &duration)
        .map_or(Duration::from_secs(5), |v| parse_duration(&v.text).unwrap());
    let rotate_wait = setting("tail", "rotate_wait", "a duration", &duration)
        .map_or(Duration::from_secs(5), |v| parse_duration(&v.text).unwrap());

    // The API key: the variable, else the file; never the command line.
    let api_key = match env.get("HEXCOVERY_AGENT_API_KEY") {
        Some(key) if !key.trim().is_empty() => Some(key.trim().to_string()),
        _ => match &api_key_file {
            Some(v) => match std::fs::read_to_string(&v.text) {
                Ok(key) if !key.trim().is_empty() => Some(key.trim().to_string()),
                Ok(_) => {
                    problems.push(Problem {
                        at: v.at.clone(),
                        message: format!("[server] api_key_file: {} is empty", v.text),
                    });
                    None
                }
                Err(e) => {
                    problems.push(Problem {
                        at: v.at.clone(),
                        message: format!("[server] api_key_file: cannot read {}: {e}", v.text),
                    });
                    None
                }
            },
            None => {
                problems.push(Problem {
                    at: file.to_string(),
                    message: "no API key: set [server] api_key_file or HEXCOVERY_AGENT_API_KEY"
                        .into(),
                });
                None
            }
        },
    };

    let mut logs = Vec::new();
    for (index, raw) in raw.logs.iter().flatten().enumerate() {
        if let Some(group) = log_group(&src, index, raw, &mut problems) {
            logs.push(group);
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    Ok(Config {
        server: Server {
            endpoint,
            api_key: ApiKey(api_key.unwrap_or_default()),
            in_flight,
            timeout,
            gzip,
            backoff_max,
        },
        host: Host { name: host_name },
        metrics: Metrics {
            enabled: metrics_enabled,
            interval,
            semconv,
        },
        logs,
        queue: Queue {
            dir: queue_dir,
            max_size,
            fsync: fsync_mode,
        },
        tail: Tail {
            poll_interval,
            flush_timeout,
            rotate_wait,
        },
    })
}

fn log_group(
    src: &Source<'_>,
    index: usize,
    raw: &RawSection,
    problems: &mut Vec<Problem>,
) -> Option<LogGroup> {
    let name = format!("[[logs]] #{}", index + 1);
    let before = problems.len();
    for (key, value) in raw {
        if !LOG_KEYS.contains(&key.as_str()) {
            problems.push(Problem {
                at: src.at(value.span()),
                message: format!(
                    "{name}: unknown setting {key} (known: {})",
                    LOG_KEYS.join(", ")
                ),
            });
        }
    }
    let mut patterns = |key: &str, absolute: bool| -> Vec<Pattern> {
        let Some(value) = raw.get(key) else {
            return Vec::new();
        };
        let at = src.at(value.span());
        let Some(list) = value.get_ref().as_array() else {
            problems.push(Problem {
                at,
                message: format!(
                    "{name} {key}: expected a list of globs, e.g. [\"/var/log/app/*.log\"]"
                ),
            });
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in list {
            match item.as_str() {
                Some(text) if absolute && !text.starts_with('/') => problems.push(Problem {
                    at: at.clone(),
                    message: format!("{name} {key}: {text:?} must be an absolute path glob"),
                }),
                Some(text) => match Pattern::new(text) {
                    Ok(p) => out.push(p),
                    Err(e) => problems.push(Problem {
                        at: at.clone(),
                        message: format!("{name} {key}: {e}"),
                    }),
                },
                None => problems.push(Problem {
                    at: at.clone(),
                    message: format!("{name} {key}: every item must be a string"),
                }),
            }
        }
        out
    };
    let include = patterns("include", true);
    let exclude = patterns("exclude", false);
    if include.is_empty() && problems.len() == before {
        problems.push(Problem {
            at: src.file.to_string(),
            message: format!("{name}: include is missing or empty"),
        });
    }
    let text = |key: &str| -> Option<(String, String)> {
        let value = raw.get(key)?;
        Some((
            value.get_ref().as_str().unwrap_or("").to_string(),
            src.at(value.span()),
        ))
    };
    let start_at = match text("start_at") {
        None => StartAt::End,
        Some((s, _)) if s == "end" => StartAt::End,
        Some((s, _)) if s == "beginning" => StartAt::Beginning,
        Some((s, at)) => {
            problems.push(Problem {
                at,
                message: format!("{name} start_at: {s:?} is neither \"end\" nor \"beginning\""),
            });
            StartAt::End
        }
    };
    let service = match text("service") {
        None => "unknown_service".to_string(),
        Some((s, _)) if !s.trim().is_empty() => s,
        Some((_, at)) => {
            problems.push(Problem {
                at,
                message: format!("{name} service: expected a non-empty string"),
            });
            String::new()
        }
    };
    (problems.len() == before).then_some(LogGroup {
        include,
        exclude,
        start_at,
        service,
    })
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("{text:?} is not a duration such as \"10s\" or \"500ms\""))
}

pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{text:?} is neither true nor false")),
    }
}

fn parse_fsync(text: &str) -> Result<Fsync, String> {
    if text.trim() == "always" {
        return Ok(Fsync::Always);
    }
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err("an interval of 0 would never sync; use \"always\"".into());
    }
    Ok(Fsync::Interval(d))
}

/// `1GiB`, `512MiB`, `64KiB`, `10MB`, or a number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || format!("{text:?} is not a size such as \"1GiB\" or \"64MiB\"");
    let n: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(factor).ok_or_else(bad)
}

pub fn default_host_name() -> String {
    sysinfo::System::host_name().unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests;
