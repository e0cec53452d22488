//! Saved queries over HTTP against the real server: create, read, list (newest first, `tag`,
//! `q`, cursor), replace and delete; the query checked against the org's catalog when saved
//! (broken ones refused with line and column); viewers read, editors write, API keys stay
//! out; another org's ids are not found.

mod common;

use common::*;
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<&str> {
    list["saved_queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn saved_queries_are_kept_listed_replaced_and_deleted() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let editor = api.add_user(&admin, "editor@acme.io", "editor").await;
    let viewer = api.add_user(&admin, "viewer@acme.io", "viewer").await;
    let cred = editor.jwt();

    let created = api
        .post(
            "/api/v1/saved-queries",
            &cred,
            json!({"name": "Errors by service", "description": "for the on-call",
                   "query": "SELECT service, count(*) FROM logs WHERE level = 'error' GROUP BY service LAST 24h",
                   "tags": ["errors", "oncall"]}),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["created_by"], "editor@acme.io");
    assert_eq!(created["tags"], json!(["errors", "oncall"]));
    assert_eq!(created["description"], "for the on-call");
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());
    for (name, tags) in [
        ("Slow checkouts", json!(["latency"])),
        ("errors in search", json!(["errors"])),
    ] {
        api.post(
            "/api/v1/saved-queries",
            &cred,
            json!({"name": name, "query": "SELECT count(*) FROM spans", "tags": tags}),
        )
        .await
        .expect(201);
    }
    let path = format!("/api/v1/saved-queries/{id}");
    assert_eq!(api.get(&path, &viewer.jwt()).await.expect(200), created);

    let list = |query: &'static str| {
        let api = api.clone();
        let cred = viewer.jwt();
        async move {
            api.get(&format!("/api/v1/saved-queries{query}"), &cred)
                .await
                .expect(200)
        }
    };
    assert_eq!(
        names(&list("").await),
        ["errors in search", "Slow checkouts", "Errors by service"]
    );
    assert_eq!(
        names(&list("?q=ERRORS").await),
        ["errors in search", "Errors by service"]
    );
    assert_eq!(
        names(&list("?tag=errors&tag=oncall").await),
        ["Errors by service"]
    );
    let first = list("?limit=2").await;
    assert_eq!(names(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = api
        .get(
            &format!("/api/v1/saved-queries?limit=2&before={cursor}"),
            &viewer.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(names(&second), ["Errors by service"]);
    assert_eq!(second["next_cursor"], Value::Null);
    for bad in ["?limit=0", "?before=nope", "?sort=name"] {
        api.get(&format!("/api/v1/saved-queries{bad}"), &viewer.jwt())
            .await
            .expect_error(400, "invalid_query");
    }

    // PUT replaces; a GET edited and sent back is accepted.
    let mut edited = created.clone();
    edited["query"] = json!("SELECT count(*) FROM logs WHERE level = 'error'");
    edited["tags"] = json!(["errors"]);
    let replaced = api
        .send("PUT", &path, &cred, Some(edited))
        .await
        .expect(200);
    assert_eq!(
        replaced["query"],
        "SELECT count(*) FROM logs WHERE level = 'error'"
    );
    assert_eq!(replaced["tags"], json!(["errors"]));
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert_eq!(replaced["created_by"], "editor@acme.io");
    let replaced = api
        .send(
            "PUT",
            &path,
            &admin.jwt(),
            Some(json!({"name": "Errors", "query": "SELECT count(*) FROM logs"})),
        )
        .await
        .expect(200);
    assert_eq!(
        (&replaced["description"], &replaced["tags"]),
        (&json!(""), &json!([]))
    );

    api.delete(&path, &cred).await.expect(204);
    api.get(&path, &cred).await.expect_error(404, "not_found");
    api.delete(&path, &cred)
        .await
        .expect_error(404, "not_found");
    api.send(
        "PUT",
        &path,
        &cred,
        Some(json!({"name": "x", "query": "SELECT count(*) FROM logs"})),
    )
    .await
    .expect_error(404, "not_found");
    api.get("/api/v1/saved-queries/not-an-id", &cred)
        .await
        .expect_error(400, "invalid_path");
}

#[tokio::test]
async fn broken_saved_queries_are_refused_with_where() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let save = |body: Value| {
        let api = api.clone();
        let cred = admin.jwt();
        async move { api.post("/api/v1/saved-queries", &cred, body).await }
    };
    let answer =
        save(json!({"name": "q", "query": "SELECT count(*)\nFROM logs WHERE level = = 'error'"}))
            .await;
    answer.expect_error(400, "oql_syntax");
    let error = &answer.body["error"];
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(2), Some(25))
    );
    assert_eq!(error["field"], "query");
    let answer = save(json!({"name": "q", "query": "SELECT levl FROM logs"})).await;
    answer.expect_error(400, "oql_unknown");
    assert_eq!(answer.body["error"]["hint"], "did you mean `level`?");
    // A saved query has nowhere to take parameter values from.
    save(json!({"name": "q", "query": "SELECT count(*) FROM logs WHERE service = $s"}))
        .await
        .expect_error(400, "oql_unknown");
    save(json!({"name": "", "query": "SELECT count(*) FROM logs"}))
        .await
        .expect_error(400, "invalid_field");
    save(json!({"name": "q", "query": "  "}))
        .await
        .expect_error(400, "invalid_field");
    save(json!({"name": "q", "query": "x".repeat(70_000)}))
        .await
        .expect_error(413, "query_too_long");
    save(json!({"name": "q", "query": "SELECT count(*) FROM logs", "tags": ["bad tag"]}))
        .await
        .expect_error(400, "invalid_field");
    save(json!({"name": "q", "query": "SELECT count(*) FROM logs", "folder": "x"}))
        .await
        .expect_error(400, "invalid_request");
    let list = api
        .get("/api/v1/saved-queries", &admin.jwt())
        .await
        .expect(200);
    assert_eq!(list["saved_queries"], json!([]));
}

#[tokio::test]
async fn viewers_read_editors_write_and_other_orgs_see_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let viewer = api.add_user(&admin, "viewer@acme.io", "viewer").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let other = api.signup("globex").await;
    let body = json!({"name": "mine", "query": "SELECT count(*) FROM logs"});
    let saved = api
        .post("/api/v1/saved-queries", &admin.jwt(), body.clone())
        .await
        .expect(201);
    let path = format!("/api/v1/saved-queries/{}", saved["id"].as_str().unwrap());

    api.get(&path, &viewer.jwt()).await.expect(200);
    api.post("/api/v1/saved-queries", &viewer.jwt(), body.clone())
        .await
        .expect_error(403, "insufficient_role");
    api.send("PUT", &path, &viewer.jwt(), Some(body.clone()))
        .await
        .expect_error(403, "insufficient_role");
    api.delete(&path, &viewer.jwt())
        .await
        .expect_error(403, "insufficient_role");
    let key = Cred::Key(key);
    api.get("/api/v1/saved-queries", &key)
        .await
        .expect_error(403, "user_session_required");
    api.post("/api/v1/saved-queries", &key, body.clone())
        .await
        .expect_error(403, "user_session_required");

    // Another org: not found exactly like a missing id, and nothing in its list.
    let missing = "/api/v1/saved-queries/0190f5e4-0000-7000-8000-00000000beef";
    let foreign = api.get(&path, &other.jwt()).await;
    foreign.expect_error(404, "not_found");
    assert_eq!(foreign.body, api.get(missing, &other.jwt()).await.body);
    api.send("PUT", &path, &other.jwt(), Some(body))
        .await
        .expect_error(404, "not_found");
    api.delete(&path, &other.jwt())
        .await
        .expect_error(404, "not_found");
    let theirs = api
        .get("/api/v1/saved-queries", &other.jwt())
        .await
        .expect(200);
    assert_eq!(theirs["saved_queries"], json!([]));
    assert_eq!(api.get(&path, &admin.jwt()).await.expect(200), saved);
}
