//! OQL over HTTP against the real server: telemetry for two orgs sent through OTLP, then exact
//! answers (the product examples verbatim), per-org isolation, errors with positions, the
//! result cap, the memory limit, and time-range pruning of Parquet files.

mod common;

use common::*;
use serde_json::{Value, json};

fn nanos_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes))
        .timestamp_nanos_opt()
        .unwrap()
        .to_string()
}

fn resource(service: &str, host: &str) -> Value {
    json!({"attributes": [
        {"key": "service.name", "value": {"stringValue": service}},
        {"key": "host.name", "value": {"stringValue": host}},
    ]})
}

/// A gauge's data points: (minutes ago, value).
fn gauge(name: &str, points: &[(i64, f64)]) -> Value {
    let points: Vec<Value> = points
        .iter()
        .map(|(ago, v)| json!({"timeUnixNano": nanos_ago(*ago), "asDouble": v}))
        .collect();
    json!({"name": name, "gauge": {"dataPoints": points}})
}

/// Log records: (minutes ago, severity text, body).
fn log_records(records: &[(i64, &str, &str)]) -> Vec<Value> {
    records
        .iter()
        .map(|(ago, severity, body)| {
            json!({"timeUnixNano": nanos_ago(*ago), "severityText": severity,
                "body": {"stringValue": body}})
        })
        .collect()
}

async fn export(server: &TestServer, key: &str, path: &str, body: Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.otlp_http))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn send_logs(server: &TestServer, key: &str, service: &str, records: &[(i64, &str, &str)]) {
    let body = json!({"resourceLogs": [{"resource": resource(service, "web-1"),
        "scopeLogs": [{"logRecords": log_records(records)}]}]});
    export(server, key, "/v1/logs", body).await;
}

async fn dsl(api: &Api, cred: &Cred, query: &str) -> Answer {
    api.post("/api/v1/dsl", cred, json!({ "query": query }))
        .await
}

/// The rows of a successful answer.
async fn rows(api: &Api, cred: &Cred, query: &str) -> Value {
    dsl(api, cred, query).await.expect(200)["rows"].clone()
}

#[tokio::test]
async fn product_examples_answer_exactly_for_each_org_alone() {
    let server = TestServer::start();
    let api = server.api();
    let acme = api.signup("acme").await;
    let (_, acme_key) = api.create_key(&acme, "agent").await;
    let globex = api.signup("globex").await;
    let (_, globex_key) = api.create_key(&globex, "agent").await;

    let acme_metrics = json!({"resourceMetrics": [
        {"resource": resource("agent", "web-1"), "scopeMetrics": [{"metrics": [
            gauge("host.cpu_usage_pct", &[(1, 10.0), (2, 20.0), (90, 99.0)]),
            gauge("host.mem_used_pct", &[(1, 50.0)]),
        ]}]},
        {"resource": resource("agent", "web-2"), "scopeMetrics": [{"metrics": [
            gauge("host.cpu_usage_pct", &[(1, 30.0)]),
        ]}]},
    ]});
    export(&server, &acme_key, "/v1/metrics", acme_metrics).await;
    let globex_metrics = json!({"resourceMetrics": [
        {"resource": resource("agent", "db-1"), "scopeMetrics": [{"metrics": [
            gauge("host.cpu_usage_pct", &[(1, 90.0)]),
            gauge("secret.revenue", &[(1, 1e9)]),
        ]}]},
    ]});
    export(&server, &globex_key, "/v1/metrics", globex_metrics).await;
    send_logs(
        &server,
        &acme_key,
        "api",
        &[
            (1, "ERROR", "db timeout"),
            (2, "ERROR", "bad gateway"),
            (3, "INFO", "ok"),
            (4, "ERROR", "crash"),
            (120, "ERROR", "two hours ago"),
        ],
    )
    .await;
    send_logs(&server, &globex_key, "billing", &[(1, "ERROR", "x"); 7]).await;

    let acme_cred = Cred::Key(acme_key.clone());
    let answer = dsl(
        &api,
        &acme_cred,
        "SELECT avg(cpu_usage_pct) FROM host LAST 1h",
    )
    .await
    .expect(200);
    assert_eq!(
        answer["columns"],
        json!([{"name": "avg(cpu_usage_pct)", "type": "float"}])
    );
    assert_eq!(answer["rows"], json!([[20.0]]));
    assert_eq!(answer["truncated"], false);
    assert!(
        answer["stats"]["rows_scanned"].as_u64().unwrap() >= 5,
        "{answer}"
    );
    assert!(
        answer["stats"]["bytes_scanned"].as_u64().unwrap() > 0,
        "{answer}"
    );
    assert!(answer["stats"]["elapsed_ms"].is_u64(), "{answer}");
    let answer = dsl(
        &api,
        &acme_cred,
        "SELECT count(*) FROM logs WHERE level = 'error' LAST 1h",
    )
    .await
    .expect(200);
    assert_eq!(
        answer["columns"],
        json!([{"name": "count(*)", "type": "integer"}])
    );
    assert_eq!(answer["rows"], json!([[3]]));

    // The other org, signed in as a person, sees only its own rows.
    let globex_cred = globex.jwt();
    assert_eq!(
        rows(
            &api,
            &globex_cred,
            "SELECT avg(cpu_usage_pct) FROM host LAST 1h"
        )
        .await,
        json!([[90.0]])
    );
    assert_eq!(
        rows(
            &api,
            &globex_cred,
            "SELECT count(*) FROM logs WHERE level = 'error' LAST 1h"
        )
        .await,
        json!([[7]])
    );
    assert_eq!(
        rows(
            &api,
            &acme_cred,
            "SELECT service, count(*) FROM logs GROUP BY service LAST 7d"
        )
        .await,
        json!([["api", 5]])
    );
    assert_eq!(
        rows(&api, &acme_cred, "SELECT host, avg(cpu_usage_pct) AS cpu FROM host GROUP BY host ORDER BY cpu DESC LAST 1h").await,
        json!([["web-2", 30.0], ["web-1", 15.0]])
    );
    assert_eq!(
        rows(
            &api,
            &acme_cred,
            "SELECT count(*) FROM metrics WHERE name LIKE 'secret.%' LAST 1h"
        )
        .await,
        json!([[0]])
    );

    // Another org's metric namespace does not exist for this one.
    let tables = rows(&api, &acme_cred, "SHOW TABLES").await;
    assert_eq!(
        tables,
        json!([
            ["logs", "logs"],
            ["spans", "spans"],
            ["metrics", "metrics"],
            ["host", "metric namespace"]
        ])
    );
    let missing = dsl(&api, &acme_cred, "SELECT revenue FROM secret").await;
    missing.expect_error(400, "oql_unknown");
    assert_eq!(
        (
            missing.body["error"]["line"].as_u64(),
            missing.body["error"]["column"].as_u64()
        ),
        (Some(1), Some(21))
    );
    let described = rows(&api, &globex_cred, "DESCRIBE secret").await;
    assert!(
        described
            .as_array()
            .unwrap()
            .contains(&json!(["revenue", "float", "secret.revenue"])),
        "{described}"
    );
}

#[tokio::test]
async fn bad_queries_say_what_and_where_and_change_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let cred = admin.jwt();

    let answer = dsl(
        &api,
        &cred,
        "SELECT count(*)\nFROM logs WHERE level = = 'error'",
    )
    .await;
    answer.expect_error(400, "oql_syntax");
    assert_eq!(answer.body["error"]["line"], 2);
    assert_eq!(answer.body["error"]["column"], 25);

    let answer = dsl(&api, &cred, "SELECT levl FROM logs").await;
    answer.expect_error(400, "oql_unknown");
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("level") && message.contains("body"),
        "{message}"
    );
    assert_eq!(answer.body["error"]["hint"], "did you mean `level`?");

    let answer = dsl(&api, &cred, "SELECT count(*) FROM logs WHERE body > 3").await;
    answer.expect_error(400, "oql_type");
    assert_eq!(answer.body["error"]["column"], 33);

    for statement in [
        "DELETE FROM logs",
        "DROP TABLE logs",
        "SELECT * FROM logs; DROP TABLE logs",
        "INSERT INTO logs VALUES (1)",
        "",
    ] {
        dsl(&api, &cred, statement)
            .await
            .expect_error(400, "oql_syntax");
    }
    dsl(&api, &cred, "SELECT count(*) FROM '/etc/passwd'")
        .await
        .expect_error(400, "oql_syntax");
    api.post("/api/v1/dsl", &cred, json!({ "sql": "SELECT 1" }))
        .await
        .expect_error(400, "invalid_request");
    dsl(&api, &cred, &"x".repeat(70_000))
        .await
        .expect_error(413, "query_too_long");
    // Still serving.
    assert_eq!(
        rows(&api, &cred, "SELECT count(*) FROM logs").await,
        json!([[0]])
    );
}

#[tokio::test]
async fn answers_are_capped_and_say_so() {
    let server = TestServer::start_with(&["--query-max-rows", "5"]);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "ci").await;
    let records: Vec<(i64, &str, &str)> = (0..12).map(|i| (i, "INFO", "line")).collect();
    send_logs(&server, &key, "api", &records).await;
    let cred = Cred::Key(key);

    let answer = dsl(
        &api,
        &cred,
        "SELECT timestamp, body FROM logs ORDER BY timestamp DESC",
    )
    .await
    .expect(200);
    assert_eq!(answer["rows"].as_array().unwrap().len(), 5);
    assert_eq!(answer["truncated"], true);
    assert_eq!(
        answer["columns"],
        json!([{"name": "timestamp", "type": "timestamp"}, {"name": "body", "type": "string"}])
    );
    let newest = answer["rows"][0][0].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(newest).is_ok(),
        "{newest}"
    );

    let answer = dsl(&api, &cred, "SELECT body FROM logs LIMIT 3")
        .await
        .expect(200);
    assert_eq!(answer["rows"].as_array().unwrap().len(), 3);
    assert_eq!(answer["truncated"], false);
    let answer = dsl(&api, &cred, "SELECT count(*) FROM logs")
        .await
        .expect(200);
    assert_eq!(
        (answer["rows"].clone(), answer["truncated"].clone()),
        (json!([[12]]), json!(false))
    );
}

#[tokio::test]
async fn a_query_over_its_memory_limit_says_so() {
    let server = TestServer::start_with(&["--query-memory-mb", "16"]);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "ci").await;
    // 3 000 distinct 10 KB bodies: grouping by body needs ~30 MB.
    for batch in 0..3 {
        let bodies: Vec<String> = (0..1000)
            .map(|i| format!("{batch}-{i}-{}", "x".repeat(10_000)))
            .collect();
        let records: Vec<(i64, &str, &str)> =
            bodies.iter().map(|b| (1, "INFO", b.as_str())).collect();
        send_logs(&server, &key, "api", &records).await;
    }
    let cred = Cred::Key(key);
    let answer = dsl(&api, &cred, "SELECT body, count(*) FROM logs GROUP BY body").await;
    answer.expect_error(422, "query_memory_limit");
    assert_eq!(answer.body["error"]["limit_bytes"], 16 << 20);
    // A query that fits still runs.
    assert_eq!(
        rows(&api, &cred, "SELECT count(*) FROM logs").await,
        json!([[3000]])
    );
}

#[tokio::test]
async fn a_query_over_the_last_hour_opens_only_that_hours_files() {
    let server = TestServer::start_with(&["--flush-interval-secs", "1"]);
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "ci").await;
    let mut records = vec![(180, "INFO", "three hours ago"); 10];
    records.extend([(5, "INFO", "just now"); 4]);
    send_logs(&server, &key, "api", &records).await;
    let cred = Cred::Key(key);

    // Wait until the flush has written both hours to Parquet. (`count(body)` reads rows;
    // `count(*)` of whole files is answered from their counts, below.)
    let wide = "SELECT count(body) FROM logs LAST 4h";
    let flushed = async {
        loop {
            let answer = dsl(&api, &cred, wide).await.expect(200);
            if answer["stats"]["files_scanned"] == 2 {
                return answer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), flushed)
        .await
        .expect("the flush writes both hours within 30 s");
    assert_eq!(answer["rows"], json!([[14]]));
    assert_eq!(answer["stats"]["rows_scanned"], 14);

    let answer = dsl(&api, &cred, "SELECT count(body) FROM logs LAST 1h")
        .await
        .expect(200);
    assert_eq!(answer["rows"], json!([[4]]));
    assert_eq!(answer["stats"]["files_scanned"], 1, "{answer}");
    assert_eq!(answer["stats"]["rows_scanned"], 4, "{answer}");

    // A count of whole files reads the counts kept with them, not their rows.
    let answer = dsl(
        &api,
        &cred,
        "SELECT level, count(*) FROM logs GROUP BY level LAST 1h",
    )
    .await
    .expect(200);
    assert_eq!(answer["rows"], json!([["info", 4]]));
    assert_eq!(answer["stats"]["files_scanned"], 0, "{answer}");
    assert_eq!(answer["stats"]["rows_scanned"], 1, "one group: {answer}");
    assert_eq!(answer["stats"]["files_counted"], 1, "{answer}");
    assert_eq!(answer["stats"]["rows_counted"], 4, "{answer}");
}

/// The step `bucket()` picks over a range of `secs` seconds, by SPEC §5's rule: the smallest
/// of these giving at most 300 buckets.
fn auto_bucket(secs: u64) -> &'static str {
    const STEPS: [(u64, &str); 15] = [
        (1, "1s"),
        (5, "5s"),
        (10, "10s"),
        (15, "15s"),
        (30, "30s"),
        (60, "1m"),
        (300, "5m"),
        (600, "10m"),
        (900, "15m"),
        (1_800, "30m"),
        (3_600, "1h"),
        (10_800, "3h"),
        (21_600, "6h"),
        (43_200, "12h"),
        (86_400, "1d"),
    ];
    STEPS
        .iter()
        .find(|(step, _)| secs.div_ceil(*step) <= 300)
        .map_or("1d", |(_, name)| name)
}

#[tokio::test]
async fn request_ranges_parameters_distinct_star_and_automatic_buckets() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    send_logs(
        &server,
        &key,
        "api",
        &[
            (1, "ERROR", "db timeout"),
            (2, "ERROR", "bad gateway"),
            (3, "INFO", "ok"),
            (90, "ERROR", "ninety minutes ago"),
            (300, "ERROR", "five hours ago"),
        ],
    )
    .await;
    send_logs(&server, &key, "web", &[(1, "ERROR", "x"), (2, "WARN", "y")]).await;
    let cred = Cred::Key(key);
    let post = |body: Value| {
        let (api, cred) = (&api, &cred);
        async move { api.post("/api/v1/dsl", cred, body).await }
    };
    let count = "SELECT count(*) FROM logs";

    // The range comes with the request when the text has none: relative, RFC 3339 or epoch ms.
    assert_eq!(rows(&api, &cred, count).await, json!([[5]]));
    let six_hours = post(json!({"query": count, "from": "now-6h", "to": "now"}))
        .await
        .expect(200);
    assert_eq!(six_hours["rows"], json!([[7]]));
    assert_eq!(six_hours["stats"]["bucket"], Value::Null);
    assert_eq!(
        post(json!({"query": count, "from": "now-2h"}))
            .await
            .expect(200)["rows"],
        json!([[6]])
    );
    let now = chrono::Utc::now();
    let from = (now - chrono::TimeDelta::hours(6)).timestamp_millis();
    let to = (now + chrono::TimeDelta::minutes(1)).timestamp_millis();
    assert_eq!(
        post(json!({"query": count, "from": from, "to": to.to_string()}))
            .await
            .expect(200)["rows"],
        json!([[7]])
    );
    assert_eq!(
        post(json!({"query": count, "from": (now - chrono::TimeDelta::minutes(100)).to_rfc3339()}))
            .await
            .expect(200)["rows"],
        json!([[6]])
    );
    // A range written in the query wins.
    assert_eq!(
        post(json!({"query": "SELECT count(*) FROM logs LAST 2h", "from": "now-6h", "to": "now"}))
            .await
            .expect(200)["rows"],
        json!([[6]])
    );

    // Parameters are bound as values: a list for IN, unused ones ignored.
    let by_service = "SELECT service, count(*) AS n FROM logs \
                      WHERE service IN ($services) AND level = $level GROUP BY service ORDER BY service";
    let answer = post(json!({"query": by_service, "from": "now-6h", "params": {
        "services": ["api", "web", "nope"], "level": "error", "unused": 1}}))
    .await
    .expect(200);
    assert_eq!(answer["rows"], json!([["api", 4], ["web", 1]]));
    // A string that would be SQL if spliced is just a value: nothing matches, nothing changes.
    for hostile in ["'; DROP TABLE logs; --", "api' OR '1'='1", "x\") OR 1=1 --"] {
        let answer = post(
            json!({"query": "SELECT count(*) FROM logs WHERE service = $s OR body = $s",
            "from": "now-6h", "params": {"s": hostile}}),
        )
        .await
        .expect(200);
        assert_eq!(answer["rows"], json!([[0]]), "{hostile}");
    }
    assert_eq!(
        post(json!({"query": count, "from": "now-6h"}))
            .await
            .expect(200)["rows"],
        json!([[7]])
    );
    // An unbound parameter is oql_unknown at its position.
    let answer = post(
        json!({"query": "SELECT count(*) FROM logs\nWHERE service = $service",
        "params": {"servce": "api"}}),
    )
    .await;
    answer.expect_error(400, "oql_unknown");
    assert_eq!(
        (
            &answer.body["error"]["line"],
            &answer.body["error"]["column"]
        ),
        (&json!(2), &json!(17))
    );
    assert_eq!(answer.body["error"]["hint"], "did you mean `$servce`?");
    // A list where one value belongs.
    let answer = post(
        json!({"query": "SELECT count(*) FROM logs WHERE service = $s",
        "params": {"s": ["a", "b"]}}),
    )
    .await;
    answer.expect_error(400, "oql_type");
    assert_eq!(answer.body["error"]["column"], 43);
    // Bad bounds and parameters name their field.
    for (body, field) in [
        (json!({"query": count, "from": "yesterday"}), "from"),
        (json!({"query": count, "to": "now-"}), "to"),
        (
            json!({"query": count, "from": "now", "to": "now-1h"}),
            "from",
        ),
        (
            json!({"query": count, "params": {"x": {"nested": 1}}}),
            "params.x",
        ),
    ] {
        let answer = post(body.clone()).await;
        answer.expect_error(400, "invalid_field");
        assert_eq!(answer.body["error"]["field"], field, "{body}");
    }

    // bucket() picks its step from the range, and the answer says which.
    let series = "SELECT bucket() AS t, count(*) FROM logs GROUP BY t ORDER BY t";
    for (from, secs) in [
        ("now-6h", 6 * 3_600),
        ("now-1h", 3_600),
        ("now-7d", 7 * 86_400),
    ] {
        let answer = post(json!({"query": series, "from": from, "to": "now"}))
            .await
            .expect(200);
        assert_eq!(answer["stats"]["bucket"], auto_bucket(secs), "{from}");
    }
    assert_eq!(auto_bucket(6 * 3_600), "5m");
    let answer = post(json!({"query": series, "from": "now-6h", "to": "now"}))
        .await
        .expect(200);
    let mut total = 0;
    for row in answer["rows"].as_array().unwrap() {
        let t = chrono::DateTime::parse_from_rfc3339(row[0].as_str().unwrap()).unwrap();
        assert_eq!(t.timestamp() % 300, 0, "{row}");
        total += row[1].as_u64().unwrap();
    }
    assert_eq!(total, 7);
    // Without a range: the last hour's step; written steps are reported too.
    let answer = dsl(&api, &cred, series).await.expect(200);
    assert_eq!(answer["stats"]["bucket"], auto_bucket(3_600));
    let answer = dsl(
        &api,
        &cred,
        "SELECT bucket(10m), count(*) FROM logs GROUP BY 1",
    )
    .await
    .expect(200);
    assert_eq!(answer["stats"]["bucket"], "10m");

    // DISTINCT and *.
    assert_eq!(
        post(
            json!({"query": "SELECT DISTINCT service FROM logs ORDER BY service", "from": "now-6h"})
        )
        .await
        .expect(200)["rows"],
        json!([["api"], ["web"]])
    );
    let described: Vec<Value> = rows(&api, &cred, "DESCRIBE logs")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].clone())
        .collect();
    let answer = dsl(&api, &cred, "SELECT * FROM logs WHERE body = 'ok'")
        .await
        .expect(200);
    let names: Vec<Value> = answer["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, described);
    assert_eq!(answer["rows"].as_array().unwrap().len(), 1);
    dsl(&api, &cred, "SELECT * FROM logs GROUP BY service")
        .await
        .expect_error(400, "oql_type");
}
