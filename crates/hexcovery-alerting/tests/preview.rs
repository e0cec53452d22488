//! The backtest preview on a real store and query engine: for rules whose value is a bare
//! count, sum, min or max, the fast path (one bucketed query over the range) answers exactly
//! what replaying the query once per tick answers — the same ticks, instances, values and
//! notifications — and queries whose windows do not combine from buckets (avg, HAVING,
//! LIMIT, …) are replayed per tick.

use chrono::{DateTime, TimeDelta, Utc};
use hexcovery_alerting::{EngineQueries, Method, PreviewRequest, RunQuery, preview, preview_with};
use hexcovery_monitor::alert::AlertRule;
use hexcovery_query::{QueryEngine, QueryLimits};
use hexcovery_store::{ExportRequest, Signal, StoreConfig, TelemetryStore};
use serde_json::{Value, json};
use uuid::Uuid;

/// An hour boundary some hours before now: the data's minute 0.
fn base() -> DateTime<Utc> {
    let hour = 3_600;
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now - now % hour - 3 * hour, 0).unwrap()
}

struct Log {
    at: DateTime<Utc>,
    service: Option<&'static str>,
    host: &'static str,
    severity: i64,
}

fn severity_text(n: i64) -> &'static str {
    match n {
        ..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        _ => "FATAL",
    }
}

/// Logs at irregular instants over the hour after [`base`], from three services (and some
/// with none), two hosts and four levels, with a burst of api errors in minutes 20–22 and a
/// quiet stretch (nothing at all) in minutes 40–47.
fn logs() -> Vec<Log> {
    let services = [Some("api"), Some("web"), Some("db"), None];
    let severities = [9, 13, 17, 21];
    let mut logs = Vec::new();
    for i in 0..400i64 {
        let second = (i * 7_919) % 3_600;
        if (40 * 60..48 * 60).contains(&second) {
            continue;
        }
        logs.push(Log {
            at: base() + TimeDelta::seconds(second) + TimeDelta::milliseconds(i % 1_000),
            service: services[(i % 4) as usize],
            host: if i % 3 == 0 { "h1" } else { "h2" },
            severity: severities[((i * 31) % 4) as usize],
        });
    }
    for i in 0..90 {
        logs.push(Log {
            at: base() + TimeDelta::minutes(20) + TimeDelta::seconds(i * 2),
            service: Some("api"),
            host: "h1",
            severity: 17 + i % 5,
        });
    }
    logs
}

async fn ingest(store: &TelemetryStore, org: Uuid, logs: &[Log]) {
    let resource_logs: Vec<Value> = logs
        .iter()
        .map(|log| {
            let mut attributes =
                vec![json!({"key": "host.name", "value": {"stringValue": log.host}})];
            if let Some(service) = log.service {
                attributes.push(json!({"key": "service.name", "value": {"stringValue": service}}));
            }
            json!({
                "resource": {"attributes": attributes},
                "scopeLogs": [{"logRecords": [{
                    "timeUnixNano": log.at.timestamp_nanos_opt().unwrap().to_string(),
                    "severityNumber": log.severity,
                    "severityText": severity_text(log.severity),
                    "body": {"stringValue": "something happened"},
                }]}],
            })
        })
        .collect();
    let body = json!({ "resourceLogs": resource_logs }).to_string();
    let request = ExportRequest::decode_json(Signal::Logs, body.as_bytes()).unwrap();
    let report = store.ingest(org, &request, None).await.unwrap();
    assert_eq!(report.accepted as usize, logs.len());
}

struct Setup {
    _dir: tempfile::TempDir,
    queries: EngineQueries,
    org: Uuid,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = TelemetryStore::open(StoreConfig::new(dir.path()))
        .await
        .unwrap();
    let org = Uuid::now_v7();
    ingest(&store, org, &logs()).await;
    // Half the rows in Parquet, half in memory: the fast path reads both.
    store.flush(true).await.unwrap();
    let later: Vec<Log> = logs()
        .into_iter()
        .filter(|l| l.at.timestamp() % 2 == 0)
        .map(|l| Log {
            at: l.at + TimeDelta::milliseconds(1),
            ..l
        })
        .collect();
    ingest(&store, org, &later).await;
    Setup {
        _dir: dir,
        queries: EngineQueries {
            engine: QueryEngine::new(QueryLimits::default()).unwrap(),
            store,
            priority: hexcovery_query::Priority::Background,
        },
        org,
    }
}

fn rule(extra: Value) -> AlertRule {
    let mut rule = json!({
        "window": "5m", "interval": "1m",
        "condition": {"op": ">", "threshold": 10},
        "labels": {"team": "payments"},
        "annotations": {"summary": "{{labels.service}}: {{value}} in {{window}}"},
    });
    for (k, v) in extra.as_object().unwrap() {
        rule[k] = v.clone();
    }
    serde_json::from_value(rule).unwrap()
}

async fn replay(setup: &Setup, query: &str, rule: &AlertRule, method: Option<Method>) -> Value {
    let request = PreviewRequest {
        org: setup.org,
        rule_id: None,
        rule_name: "backtest",
        query,
        rule,
        from: base() - TimeDelta::minutes(10),
        to: base() + TimeDelta::minutes(75),
        external_url: "https://hexcovery.example",
        silences: &[],
    };
    preview_with(&setup.queries as &dyn RunQuery, &request, method)
        .await
        .unwrap()
}

fn instances(answer: &Value) -> usize {
    answer["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["instances"].as_array().unwrap().len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucketed_fast_path_answers_exactly_what_replaying_each_tick_does() {
    let setup = setup().await;
    let cases: Vec<(&str, Value)> = vec![
        (
            "SELECT service, count(*) AS value FROM logs WHERE level = 'error' GROUP BY service",
            json!({}),
        ),
        // Without GROUP BY a window with no rows still counts 0 (and that holds `< 1`).
        (
            "SELECT count(*) AS value FROM logs",
            json!({"condition": {"op": "<", "threshold": 1}, "no_data": "no_data"}),
        ),
        // An interval the window is not a multiple of: buckets of gcd(2m, 3m) = 1m.
        (
            "SELECT service, host, count(severity_number) FROM logs GROUP BY service, host",
            json!({"window": "3m", "interval": "2m", "pending_for": "2m",
                   "condition": {"op": ">=", "threshold": 8, "warning": 4}}),
        ),
        // Buckets of gcd(90s, 60s) = 30s.
        (
            "SELECT service, sum(severity_number) AS value FROM logs GROUP BY service",
            json!({"window": "1m", "interval": "90s", "keep_firing_for": "3m",
                   "condition": {"op": ">", "threshold": 150, "recovery": 100}}),
        ),
        (
            "SELECT host, min(severity_number) AS value FROM logs WHERE service = 'api' GROUP BY host",
            json!({"condition": {"op": "<=", "threshold": 9}, "no_data": "firing"}),
        ),
        (
            "SELECT max(severity_number) AS value FROM logs WHERE service IS NULL",
            json!({"window": "10m", "condition": {"op": "==", "threshold": 13},
                   "no_data": "no_data"}),
        ),
        (
            "SELECT upper(service) AS svc, 'x' AS env, max(severity_number) FROM logs GROUP BY svc ORDER BY svc",
            json!({"condition": {"op": ">", "threshold": 20}}),
        ),
    ];
    for (query, extra) in cases {
        let rule = rule(extra);
        let fast = replay(&setup, query, &rule, None).await;
        let slow = replay(&setup, query, &rule, Some(Method::PerTick)).await;
        assert_eq!(fast["method"], "bucketed", "{query}");
        assert_eq!(slow["method"], "per_tick", "{query}");
        assert!(instances(&slow) > 0, "{query}: the replay sees data");
        assert!(
            !slow["notifications"].as_array().unwrap().is_empty(),
            "{query}: something notifies"
        );
        assert_eq!(fast["ticks"], slow["ticks"], "{query}");
        assert_eq!(fast["notifications"], slow["notifications"], "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_whose_windows_do_not_combine_from_buckets_replay_per_tick() {
    let setup = setup().await;
    let every_minute = rule(json!({}));
    for query in [
        "SELECT service, avg(severity_number) AS value FROM logs GROUP BY service",
        "SELECT service, count(*) AS value FROM logs GROUP BY service HAVING count(*) > 2",
        "SELECT service, count(*) AS value FROM logs GROUP BY service ORDER BY value DESC LIMIT 1",
        "SELECT service, count(*) * 2 AS value FROM logs GROUP BY service",
        "SELECT count_distinct(host) AS value FROM logs",
        "SELECT bucket(1m) AS t, count(*) AS value FROM logs GROUP BY t",
        "SELECT count(*) AS value FROM logs GROUP BY service",
    ] {
        let request = PreviewRequest {
            org: setup.org,
            rule_id: None,
            rule_name: "backtest",
            query,
            rule: &every_minute,
            from: base(),
            to: base() + TimeDelta::minutes(30),
            external_url: "https://hexcovery.example",
            silences: &[],
        };
        let answer = preview(&setup.queries, &request).await.unwrap();
        assert_eq!(answer["method"], "per_tick", "{query}");
        assert_eq!(answer["ticks"].as_array().unwrap().len(), 31, "{query}");
        // Asking for the fast path does not force it.
        let asked = preview_with(&setup.queries, &request, Some(Method::Bucketed))
            .await
            .unwrap();
        assert_eq!(asked["method"], "per_tick", "{query}");
    }
    // gcd(7 s, 10 s) = 1 s: buckets of a second, still identical.
    let odd = rule(json!({"window": "10s", "interval": "7s"}));
    let request = PreviewRequest {
        org: setup.org,
        rule_id: None,
        rule_name: "backtest",
        query: "SELECT count(*) AS value FROM logs",
        rule: &odd,
        from: base(),
        to: base() + TimeDelta::minutes(5),
        external_url: "https://hexcovery.example",
        silences: &[],
    };
    let fast = preview(&setup.queries, &request).await.unwrap();
    let slow = preview_with(&setup.queries, &request, Some(Method::PerTick))
        .await
        .unwrap();
    assert_eq!(fast["method"], "bucketed");
    assert_eq!(fast["ticks"], slow["ticks"]);
    assert_eq!(fast["notifications"], slow["notifications"]);
}
