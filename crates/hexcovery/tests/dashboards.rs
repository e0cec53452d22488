//! Dashboards over HTTP against the real server: the SPEC §8 document created, read, listed
//! and replaced with `If-Match` or a body version (stale saves are 412), versions listed,
//! read and restored, export → import round trips, broken panel queries refused with their
//! position, panels run over the dashboard's time with variables bound as parameters (exact
//! counts over telemetry sent through OTLP), variable options, the annotations a dashboard
//! draws, and who may do what.

mod common;

use common::*;
use serde_json::{Value, json};

fn nanos_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes))
        .timestamp_nanos_opt()
        .unwrap()
        .to_string()
}

/// Log records of one service: (minutes ago, severity text, body).
async fn send_logs(server: &TestServer, key: &str, service: &str, records: &[(i64, &str, &str)]) {
    let records: Vec<Value> = records
        .iter()
        .map(|(ago, severity, body)| {
            json!({"timeUnixNano": nanos_ago(*ago), "severityText": severity,
                "body": {"stringValue": body}})
        })
        .collect();
    let body = json!({"resourceLogs": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}},
            {"key": "host.name", "value": {"stringValue": "web-1"}},
        ]},
        "scopeLogs": [{"logRecords": records}]}]});
    let response = reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// `PUT` with an optional `If-Match`.
async fn put(
    api: &Api,
    path: &str,
    session: &Session,
    if_match: Option<&str>,
    body: Value,
) -> Answer {
    let mut request = api
        .http
        .put(format!("{}{path}", api.base))
        .bearer_auth(&session.access_token)
        .json(&body);
    if let Some(version) = if_match {
        request = request.header("If-Match", version);
    }
    api.finish(request).await
}

/// SPEC §8's example dashboard.
fn checkout() -> Value {
    json!({
        "title": "Checkout", "description": "", "tags": ["payments"],
        "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
        "variables": [
            {"name": "service", "kind": "query", "query": "SELECT DISTINCT service FROM spans",
             "multi": true, "default": null},
            {"name": "env", "kind": "custom", "options": ["prod", "staging"], "multi": false,
             "default": "prod"}
        ],
        "annotations": {"names": ["deploy/*"], "tags": [], "alerts": true},
        "panels": [{"id": "errors", "title": "Errors", "kind": "timeseries",
            "query": "SELECT bucket() AS t, service, count(*) FROM logs WHERE level = 'error' AND service IN ($service) GROUP BY t, service",
            "layout": {"x": 0, "y": 0, "w": 12, "h": 8},
            "options": {"unit": "short", "thresholds": [{"value": 50, "color": "red"}]},
            "time": null, "show_annotations": true}]
    })
}

fn etag(answer: &Answer) -> &str {
    answer
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The members of a dashboard that are its document (what export answers).
fn document(dashboard: &Value) -> Value {
    let mut doc = dashboard.clone();
    for member in [
        "id",
        "version",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
    ] {
        doc.as_object_mut().unwrap().remove(member);
    }
    doc
}

#[tokio::test]
async fn dashboards_are_saved_by_version_and_keep_every_version() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let editor = api.add_user(&admin, "editor@acme.io", "editor").await;

    let created = api
        .post("/api/v1/dashboards", &editor.jwt(), checkout())
        .await;
    assert_eq!(etag(&created), "\"1\"");
    let location = created
        .headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let dashboard = created.expect(201);
    let id = dashboard["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/dashboards/{id}");
    assert_eq!(location.as_deref(), Some(path.as_str()));
    assert_eq!(dashboard["version"], 1);
    assert_eq!(dashboard["created_by"], "editor@acme.io");
    assert_eq!(dashboard["updated_by"], "editor@acme.io");
    // Exactly what was sent, plus id, version, authors and times.
    assert_eq!(document(&dashboard), checkout());
    let shown = api.get(&path, &admin.jwt()).await;
    assert_eq!(etag(&shown), "\"1\"");
    assert_eq!(shown.expect(200), dashboard);

    // If-Match names the version edited...
    let mut v2 = checkout();
    v2["title"] = json!("Checkout v2");
    let saved = put(&api, &path, &editor, Some("\"1\""), v2.clone()).await;
    assert_eq!(etag(&saved), "\"2\"");
    let saved = saved.expect(200);
    assert_eq!(
        (saved["version"].as_u64(), saved["title"].as_str()),
        (Some(2), Some("Checkout v2"))
    );
    // ...or the body does; a GET edited and sent back is accepted as it is.
    let mut edited = saved.clone();
    edited["panels"][0]["layout"]["w"] = json!(24);
    let saved = put(&api, &path, &admin, None, edited).await.expect(200);
    assert_eq!(saved["version"], 3);
    assert_eq!(saved["updated_by"], admin.email.as_str());
    assert_eq!(saved["created_by"], "editor@acme.io");
    assert_eq!(saved["panels"][0]["layout"]["w"], 24);

    // A save of a version that is no longer current is refused and changes nothing.
    let stale = put(&api, &path, &editor, Some("\"1\""), checkout()).await;
    stale.expect_error(412, "version_conflict");
    assert_eq!(stale.body["error"]["current_version"], 3);
    let mut stale_body = checkout();
    stale_body["version"] = json!(2);
    put(&api, &path, &editor, None, stale_body.clone())
        .await
        .expect_error(412, "version_conflict");
    put(&api, &path, &editor, None, checkout())
        .await
        .expect_error(428, "version_required");
    put(&api, &path, &editor, Some("\"3\""), stale_body)
        .await
        .expect_error(400, "version_mismatch");
    put(&api, &path, &editor, Some("*"), checkout())
        .await
        .expect_error(400, "invalid_if_match");
    let mut other_id = saved.clone();
    other_id["id"] = json!("0190f5e4-0000-7000-8000-000000000000");
    put(&api, &path, &editor, None, other_id)
        .await
        .expect_error(400, "invalid_field");
    assert_eq!(api.get(&path, &admin.jwt()).await.expect(200), saved);

    // Every save kept a version; restoring one is a new version with its content.
    let versions = api
        .get(&format!("{path}/versions"), &editor.jwt())
        .await
        .expect(200);
    let numbers: Vec<u64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert_eq!(versions["versions"][2]["created_by"], "editor@acme.io");
    assert_eq!(versions["versions"][0]["created_by"], admin.email.as_str());
    let page = api
        .get(&format!("{path}/versions?limit=2"), &editor.jwt())
        .await
        .expect(200);
    assert_eq!(page["next_cursor"], 2);
    let rest = api
        .get(&format!("{path}/versions?limit=2&before=2"), &editor.jwt())
        .await
        .expect(200);
    assert_eq!(rest["versions"][0]["version"], 1);
    let v1 = api
        .get(&format!("{path}/versions/1"), &editor.jwt())
        .await
        .expect(200);
    assert_eq!(v1["document"], checkout());
    assert_eq!(v1["version"], 1);
    api.get(&format!("{path}/versions/9"), &editor.jwt())
        .await
        .expect_error(404, "not_found");
    let restored = api
        .post(
            &format!("{path}/versions/2/restore"),
            &editor.jwt(),
            json!({}),
        )
        .await;
    assert_eq!(etag(&restored), "\"4\"");
    let restored = restored.expect(200);
    assert_eq!(restored["version"], 4);
    assert_eq!(document(&restored), v2);
    let latest = api
        .get(&format!("{path}/versions?limit=1"), &editor.jwt())
        .await
        .expect(200);
    assert_eq!(latest["versions"][0]["restored_from"], 2);
    // A restore may name the version it replaces; a stale one is refused.
    let stale = api
        .http
        .post(format!("{}{path}/versions/1/restore", api.base))
        .bearer_auth(&editor.access_token)
        .header("If-Match", "\"3\"");
    api.finish(stale)
        .await
        .expect_error(412, "version_conflict");

    // Export drops what identifies this copy; import makes a new, equal dashboard.
    let exported = api
        .get(&format!("{path}/export"), &admin.jwt())
        .await
        .expect(200);
    assert_eq!(exported, v2);
    let imported = api
        .post("/api/v1/dashboards/import", &editor.jwt(), exported.clone())
        .await
        .expect(201);
    assert_ne!(imported["id"], id.as_str());
    assert_eq!(imported["version"], 1);
    let again = api
        .get(
            &format!(
                "/api/v1/dashboards/{}/export",
                imported["id"].as_str().unwrap()
            ),
            &admin.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(again, exported);
    // Import takes the export shape only.
    let refused = api
        .post("/api/v1/dashboards/import", &editor.jwt(), restored.clone())
        .await;
    refused.expect_error(400, "invalid_request");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `id`"),
        "{}",
        refused.body
    );
    let mut extra = exported.clone();
    extra["panels"][0]["colour"] = json!("red");
    let refused = api
        .post("/api/v1/dashboards/import", &editor.jwt(), extra)
        .await;
    refused.expect_error(400, "invalid_request");
    assert_eq!(refused.body["error"]["field"], "panels[0].colour");

    // Lists: newest first, without panels; tag, q, limit and cursor.
    let mut third = checkout();
    third["title"] = json!("Search latency");
    third["tags"] = json!(["search"]);
    api.post("/api/v1/dashboards", &editor.jwt(), third)
        .await
        .expect(201);
    let titles = |list: &Value| -> Vec<String> {
        list["dashboards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["title"].as_str().unwrap().to_string())
            .collect()
    };
    let list = api
        .get("/api/v1/dashboards", &editor.jwt())
        .await
        .expect(200);
    assert_eq!(
        titles(&list),
        ["Search latency", "Checkout v2", "Checkout v2"]
    );
    assert!(list["dashboards"][0].get("panels").is_none());
    assert_eq!(list["dashboards"][2]["version"], 4);
    let tagged = api
        .get("/api/v1/dashboards?tag=payments", &editor.jwt())
        .await
        .expect(200);
    assert_eq!(titles(&tagged).len(), 2);
    let q = api
        .get("/api/v1/dashboards?q=LATENCY", &editor.jwt())
        .await
        .expect(200);
    assert_eq!(titles(&q), ["Search latency"]);
    let first = api
        .get("/api/v1/dashboards?limit=2", &editor.jwt())
        .await
        .expect(200);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = api
        .get(
            &format!("/api/v1/dashboards?limit=2&before={cursor}"),
            &editor.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(second["dashboards"][0]["id"], id.as_str());
    assert_eq!(second["next_cursor"], Value::Null);
    api.get("/api/v1/dashboards?sort=title", &editor.jwt())
        .await
        .expect_error(400, "invalid_query");

    // Delete takes the versions along.
    api.delete(&path, &editor.jwt()).await.expect(204);
    api.get(&path, &editor.jwt())
        .await
        .expect_error(404, "not_found");
    api.get(&format!("{path}/versions/1"), &editor.jwt())
        .await
        .expect_error(404, "not_found");
    api.delete(&path, &editor.jwt())
        .await
        .expect_error(404, "not_found");
    api.get("/api/v1/dashboards/not-an-id", &editor.jwt())
        .await
        .expect_error(400, "invalid_path");
}

#[tokio::test]
async fn broken_documents_and_queries_are_refused_with_where() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let create = |body: Value| {
        let api = api.clone();
        let cred = admin.jwt();
        async move { api.post("/api/v1/dashboards", &cred, body).await }
    };
    let with_panel_query = |query: &str| {
        let mut body = checkout();
        body["panels"][0]["query"] = json!(query);
        body
    };

    // A syntax error: where it is, in which panel.
    let answer = create(with_panel_query(
        "SELECT count(*)\nFROM logs WHERE level = = 'error'",
    ))
    .await;
    answer.expect_error(400, "oql_syntax");
    let error = &answer.body["error"];
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(2), Some(25))
    );
    assert_eq!(error["field"], "panels[0].query");
    assert_eq!(error["panel"], "errors");
    // A time range: the dashboard's applies.
    let answer = create(with_panel_query(
        "SELECT count(*) FROM logs WHERE level = 'error' LAST 1h",
    ))
    .await;
    answer.expect_error(400, "oql_time_range_not_allowed");
    assert_eq!(answer.body["error"]["line"], 1);
    assert_eq!(answer.body["error"]["column"], 49);
    // A variable that is not declared.
    let answer = create(with_panel_query(
        "SELECT count(*) FROM logs WHERE service = $region",
    ))
    .await;
    answer.expect_error(400, "oql_unknown");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("region"),
        "{}",
        answer.body
    );
    assert_eq!(answer.body["error"]["column"], 43);
    // Unknown names say which exist.
    let answer = create(with_panel_query("SELECT count(*) FROM logz")).await;
    answer.expect_error(400, "oql_unknown");
    assert_eq!(answer.body["error"]["hint"], "did you mean `logs`?");
    // A variable's query is checked too, and may use only the variables before it.
    let mut body = checkout();
    body["variables"][0]["query"] =
        json!("SELECT DISTINCT service FROM spans WHERE service = $env");
    let answer = create(body).await;
    answer.expect_error(400, "oql_unknown");
    assert_eq!(answer.body["error"]["field"], "variables[0].query");

    // Document rules name the field.
    let cases: Vec<(Value, &str)> = vec![
        (json!({"panels": []}), "title"),
        (json!({"title": ""}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (json!({"title": "t", "refresh": "1s"}), "refresh"),
        (
            json!({"title": "t", "time": {"from": "now-1h", "to": "now-2h"}}),
            "time.to",
        ),
        (
            json!({"title": "t", "time": {"from": "last week", "to": "now"}}),
            "time.from",
        ),
        (
            json!({"title": "t", "variables": [{"name": "my-var", "kind": "text"}]}),
            "variables[0].name",
        ),
        (
            json!({"title": "t", "annotations": {"names": ["deploy/?"]}}),
            "annotations.names[0]",
        ),
    ];
    for (body, field) in cases {
        let answer = create(body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        let got = answer.body["error"]["field"].as_str().unwrap_or("");
        assert!(
            got == field || got.starts_with(field),
            "{body}: {}",
            answer.body
        );
    }
    let mut layout = checkout();
    layout["panels"][0]["layout"] = json!({"x": 20, "y": 0, "w": 8, "h": 4});
    let answer = create(layout).await;
    answer.expect_error(400, "invalid_field");
    assert_eq!(answer.body["error"]["field"], "panels[0].layout");
    let mut twice = checkout();
    let panel = twice["panels"][0].clone();
    twice["panels"].as_array_mut().unwrap().push(panel.clone());
    let answer = create(twice).await;
    answer.expect_error(400, "invalid_field");
    assert_eq!(answer.body["error"]["field"], "panels[1].id");
    let mut kind = checkout();
    kind["panels"][0]["kind"] = json!("pie");
    create(kind).await.expect_error(400, "invalid_request");
    let mut many = checkout();
    let panels: Vec<Value> = (0..101)
        .map(|i| {
            let mut p = panel.clone();
            p["id"] = json!(format!("p{i}"));
            p
        })
        .collect();
    many["panels"] = json!(panels);
    let answer = create(many).await;
    answer.expect_error(400, "invalid_field");
    assert_eq!(answer.body["error"]["field"], "panels");

    // Nothing was created.
    let list = api
        .get("/api/v1/dashboards", &admin.jwt())
        .await
        .expect(200);
    assert_eq!(list["dashboards"], json!([]));
}

#[tokio::test]
async fn panels_run_over_the_dashboards_time_with_variables_bound() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let viewer = api.add_user(&admin, "viewer@acme.io", "viewer").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    send_logs(
        &server,
        &key,
        "api",
        &[
            (1, "ERROR", "a"),
            (2, "ERROR", "b"),
            (3, "INFO", "c"),
            (30, "ERROR", "old"),
        ],
    )
    .await;
    send_logs(&server, &key, "web", &[(1, "ERROR", "d"), (2, "INFO", "e")]).await;
    send_logs(
        &server,
        &key,
        "worker",
        &[(4, "ERROR", "f"), (500, "ERROR", "too old")],
    )
    .await;

    let body = json!({
        "title": "Errors",
        "variables": [
            {"name": "service", "kind": "query", "query": "SELECT DISTINCT service FROM logs",
             "multi": true},
            {"name": "level", "kind": "custom", "options": ["error", "info"], "default": "error"},
            {"name": "needle", "kind": "text"}
        ],
        "panels": [
            {"id": "count", "kind": "stat",
             "query": "SELECT count(*) FROM logs WHERE service IN ($service) AND level = $level",
             "layout": {"x": 0, "y": 0, "w": 6, "h": 4}},
            {"id": "recent", "kind": "stat", "time": {"from": "now-10m", "to": "now"},
             "query": "SELECT count(*) FROM logs WHERE level = $level",
             "layout": {"x": 6, "y": 0, "w": 6, "h": 4}},
            {"id": "series", "kind": "timeseries",
             "query": "SELECT bucket() AS t, count(*) FROM logs GROUP BY t ORDER BY t",
             "layout": {"x": 12, "y": 0, "w": 12, "h": 8}},
            {"id": "search", "kind": "table",
             "query": "SELECT count(*) FROM logs WHERE contains(body, $needle)",
             "layout": {"x": 0, "y": 8, "w": 24, "h": 8}}
        ]
    });
    let dashboard = api
        .post("/api/v1/dashboards", &admin.jwt(), body)
        .await
        .expect(201);
    let id = dashboard["id"].as_str().unwrap();
    let run = |panel: &str, body: Value| {
        let api = api.clone();
        let cred = viewer.jwt();
        let path = format!("/api/v1/dashboards/{id}/panels/{panel}/query");
        async move { api.post(&path, &cred, body).await }
    };
    let count = |answer: Answer| answer.expect(200)["rows"][0][0].clone();

    // Values from the run, as parameters.
    assert_eq!(
        count(
            run(
                "count",
                json!({"variables": {"service": ["api"], "level": "error"}})
            )
            .await
        ),
        3
    );
    assert_eq!(
        count(
            run(
                "count",
                json!({"variables": {"service": ["api", "web"], "level": "info"}})
            )
            .await
        ),
        2
    );
    // One value for a multi variable is a list of one.
    assert_eq!(
        count(run("count", json!({"variables": {"service": "web"}})).await),
        1
    );
    // Defaults: `level` is error; `service` has none, so every option (as a dashboard opened
    // fresh selects them all), over the dashboard's default six hours.
    assert_eq!(count(run("count", json!({})).await), 5);
    // An empty body is a run with defaults.
    let empty = api
        .http
        .post(format!(
            "{}/api/v1/dashboards/{id}/panels/count/query",
            api.base
        ))
        .bearer_auth(&viewer.access_token);
    assert_eq!(count(api.finish(empty).await), 5);
    // The body's range wins over the panel's and the dashboard's.
    assert_eq!(count(run("count", json!({"from": "now-10m"})).await), 4);
    assert_eq!(
        count(run("count", json!({"from": "now-12h", "to": "now"})).await),
        6
    );
    // The panel's own time wins over the dashboard's.
    assert_eq!(count(run("recent", json!({})).await), 4);
    assert_eq!(count(run("recent", json!({"from": "now-1h"})).await), 5);
    // Text: the value as typed, never spliced into the query.
    assert_eq!(
        count(run("search", json!({"variables": {"needle": "o"}})).await),
        1
    );
    assert_eq!(
        count(
            run(
                "search",
                json!({"from": "now-12h", "variables": {"needle": "o"}})
            )
            .await
        ),
        2
    );
    assert_eq!(
        count(run("search", json!({"variables": {"needle": "') OR true --"}})).await),
        0
    );
    // Time series pick their bucket from the range.
    let series = run("series", json!({"from": "now-1h"})).await.expect(200);
    assert_eq!(series["stats"]["bucket"], "15s");
    let total: u64 = series["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_u64().unwrap())
        .sum();
    assert_eq!(total, 7);

    // Variable options: the distinct values of the query's first column.
    let options = api
        .post(
            &format!("/api/v1/dashboards/{id}/variables/service/options"),
            &viewer.jwt(),
            json!({}),
        )
        .await
        .expect(200);
    let mut values: Vec<&str> = options["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, ["api", "web", "worker"]);
    let custom = api
        .post(
            &format!("/api/v1/dashboards/{id}/variables/level/options"),
            &viewer.jwt(),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(custom["options"], json!(["error", "info"]));

    // Wrong runs say what is wrong.
    run("count", json!({"variables": {"region": "eu"}}))
        .await
        .expect_error(400, "unknown_variable");
    run("count", json!({"variables": {"level": ["error"]}}))
        .await
        .expect_error(400, "invalid_field");
    run("count", json!({"variables": {"level": {"x": 1}}}))
        .await
        .expect_error(400, "invalid_field");
    run("count", json!({"from": "yesterday"}))
        .await
        .expect_error(400, "invalid_field");
    run("count", json!({"from": "now", "to": "now-1h"}))
        .await
        .expect_error(400, "invalid_field");
    run("count", json!({"limit": 5}))
        .await
        .expect_error(400, "invalid_request");
    run("nope", json!({})).await.expect_error(404, "not_found");
    api.post(
        &format!("/api/v1/dashboards/{id}/variables/nope/options"),
        &viewer.jwt(),
        json!({}),
    )
    .await
    .expect_error(404, "not_found");
    // Runs are for people; API keys use /dsl.
    api.post(
        &format!("/api/v1/dashboards/{id}/panels/count/query"),
        &Cred::Key(key),
        json!({}),
    )
    .await
    .expect_error(403, "user_session_required");
}

#[tokio::test]
async fn a_dashboard_draws_the_annotations_its_filter_matches() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "ci").await;
    let other = api.signup("globex").await;
    let (_, other_key) = api.create_key(&other, "ci").await;
    let now = chrono::Utc::now();
    let ago = |minutes: i64| (now - chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    for (cred, name, tags, minutes) in [
        (&key, "deploy/api", vec!["prod"], 10),
        (&key, "deploy/web", vec!["staging"], 20),
        (&key, "incident", vec!["prod"], 30),
        (&key, "deploy/api", vec!["prod"], 600),
        (&other_key, "deploy/api", vec!["prod"], 5),
    ] {
        api.post(
            "/api/v1/annotations",
            &Cred::Key(cred.clone()),
            json!({"name": name, "title": format!("{name} {minutes}"), "tags": tags, "time": ago(minutes)}),
        )
        .await
        .expect(201);
    }
    let create = |annotations: Value| {
        let api = api.clone();
        let cred = admin.jwt();
        async move {
            let body = json!({"title": "t", "annotations": annotations});
            api.post("/api/v1/dashboards", &cred, body)
                .await
                .expect(201)["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let drawn = |id: String, query: &'static str| {
        let api = api.clone();
        let cred = admin.jwt();
        async move {
            let answer = api
                .get(
                    &format!("/api/v1/dashboards/{id}/annotations{query}"),
                    &cred,
                )
                .await
                .expect(200);
            assert_eq!(answer["alert_transitions"], json!([]), "{answer}");
            answer["annotations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["title"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let deploys = create(json!({"names": ["deploy/*"]})).await;
    assert_eq!(
        drawn(deploys.clone(), "").await,
        ["deploy/api 10", "deploy/web 20"]
    );
    assert_eq!(
        drawn(deploys.clone(), "?from=now-12h").await,
        ["deploy/api 10", "deploy/web 20", "deploy/api 600"]
    );
    assert_eq!(
        drawn(deploys.clone(), "?from=now-15m&to=now").await,
        ["deploy/api 10"]
    );
    let prod = create(json!({"names": [], "tags": ["prod"]})).await;
    assert_eq!(drawn(prod, "").await, ["deploy/api 10", "incident 30"]);
    let exact = create(json!({"names": ["incident", "deploy/w*"]})).await;
    assert_eq!(drawn(exact, "").await, ["deploy/web 20", "incident 30"]);
    let all = create(json!({})).await;
    assert_eq!(drawn(all.clone(), "").await.len(), 3);
    api.get(
        &format!("/api/v1/dashboards/{all}/annotations?from=soon"),
        &admin.jwt(),
    )
    .await
    .expect_error(400, "invalid_field");
    api.get(
        &format!("/api/v1/dashboards/{all}/annotations?name=x"),
        &admin.jwt(),
    )
    .await
    .expect_error(400, "invalid_query");
}

#[tokio::test]
async fn viewers_read_and_run_editors_write_keys_stay_out() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let viewer = api.add_user(&admin, "viewer@acme.io", "viewer").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let dashboard = api
        .post("/api/v1/dashboards", &admin.jwt(), checkout())
        .await
        .expect(201);
    let path = format!("/api/v1/dashboards/{}", dashboard["id"].as_str().unwrap());

    for read in [
        path.clone(),
        format!("{path}/export"),
        format!("{path}/versions"),
        format!("{path}/versions/1"),
        format!("{path}/annotations"),
        "/api/v1/dashboards".to_string(),
    ] {
        api.get(&read, &viewer.jwt()).await.expect(200);
        api.get(&read, &Cred::Key(key.clone()))
            .await
            .expect_error(403, "user_session_required");
    }
    api.post(
        &format!("{path}/panels/errors/query"),
        &viewer.jwt(),
        json!({}),
    )
    .await
    .expect(200);
    api.post("/api/v1/dashboards", &viewer.jwt(), checkout())
        .await
        .expect_error(403, "insufficient_role");
    api.post("/api/v1/dashboards/import", &viewer.jwt(), checkout())
        .await
        .expect_error(403, "insufficient_role");
    put(&api, &path, &viewer, Some("\"1\""), checkout())
        .await
        .expect_error(403, "insufficient_role");
    api.post(
        &format!("{path}/versions/1/restore"),
        &viewer.jwt(),
        json!({}),
    )
    .await
    .expect_error(403, "insufficient_role");
    api.delete(&path, &viewer.jwt())
        .await
        .expect_error(403, "insufficient_role");
    api.post("/api/v1/dashboards", &Cred::Key(key), checkout())
        .await
        .expect_error(403, "user_session_required");
    assert_eq!(api.get(&path, &admin.jwt()).await.expect(200)["version"], 1);
}
