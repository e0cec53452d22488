//! Annotations over HTTP against the real server: the seed's curl example verbatim (a JSON
//! body sent as a form), filters and paging, PUT/DELETE, who may write, validation, audit, and
//! another org's ids answering 404.

mod common;

use common::*;
use serde_json::{Value, json};

/// What `curl -s -X POST … -H "X-API-Key: $KEY" -d '{…}'` sends: the JSON as a form body.
async fn post_like_curl(api: &Api, key: &str, body: &str) -> Answer {
    let request = api
        .http
        .post(format!("{}/api/v1/annotations", api.base))
        .header("X-API-Key", key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    api.finish(request).await
}

fn titles(body: &Value) -> Vec<&str> {
    body["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn ci_posts_a_deploy_with_curl_and_people_manage_it() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "github-actions").await;

    let before = chrono::Utc::now();
    let created = post_like_curl(
        &api,
        &key,
        r#"{"name":"deploy/myapp","title":"v2.3.1 to production"}"#,
    )
    .await
    .expect(201);
    assert_eq!(created["name"], "deploy/myapp");
    assert_eq!(created["title"], "v2.3.1 to production");
    assert_eq!(created["tags"], json!([]));
    assert_eq!(created["text"], Value::Null);
    assert_eq!(created["time_end"], Value::Null);
    assert_eq!(created["created_by"]["kind"], "api_key");
    assert_eq!(created["created_by"]["name"], "github-actions");
    let time = chrono::DateTime::parse_from_rfc3339(created["time"].as_str().unwrap()).unwrap();
    assert!(
        time >= before - chrono::TimeDelta::seconds(1),
        "time defaults to now"
    );
    let id = created["id"].as_str().unwrap().to_string();

    // A region with tags and epoch-millisecond times, by a signed-in editor.
    let editor = api.add_user(&admin, "ed@acme.io", "editor").await;
    let region = api
        .post(
            "/api/v1/annotations",
            &editor.jwt(),
            json!({"name": "incident/db", "title": "DB failover", "text": "primary lost",
                   "tags": ["sev1", "db"], "time": 1_795_000_000_000i64, "time_end": "2026-11-18T12:00:00Z"}),
        )
        .await
        .expect(201);
    assert_eq!(region["time"], "2026-11-18T11:06:40Z");
    assert_eq!(region["created_by"]["name"], "ed@acme.io");

    // A viewer reads; filters by name, tag and time.
    let viewer = api.add_user(&admin, "vi@acme.io", "viewer").await;
    let all = api
        .get("/api/v1/annotations", &viewer.jwt())
        .await
        .expect(200);
    assert_eq!(titles(&all), ["v2.3.1 to production", "DB failover"]);
    let by_tag = api
        .get("/api/v1/annotations?tag=sev1&tag=db", &viewer.jwt())
        .await
        .expect(200);
    assert_eq!(titles(&by_tag), ["DB failover"]);
    let by_name = api
        .get(
            "/api/v1/annotations?name=deploy/myapp",
            &Cred::Key(key.clone()),
        )
        .await
        .expect(200);
    assert_eq!(titles(&by_name), ["v2.3.1 to production"]);
    let window = api
        .get(
            "/api/v1/annotations?from=2026-11-18T11:30:00Z&to=1795003000000",
            &viewer.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(titles(&window), ["DB failover"]);
    let page = api
        .get("/api/v1/annotations?limit=1", &viewer.jwt())
        .await
        .expect(200);
    assert_eq!(titles(&page), ["v2.3.1 to production"]);
    let next = page["next_cursor"].as_str().unwrap();
    let rest = api
        .get(
            &format!("/api/v1/annotations?limit=1&before={next}"),
            &viewer.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(titles(&rest), ["DB failover"]);

    // Viewers cannot write.
    api.post(
        "/api/v1/annotations",
        &viewer.jwt(),
        json!({"name": "x", "title": "y"}),
    )
    .await
    .expect_error(403, "insufficient_role");

    // PUT replaces (keeping the time when none is given), DELETE removes.
    let path = format!("/api/v1/annotations/{id}");
    let replaced = api
        .send("PUT", &path, &Cred::Key(key.clone()), Some(json!({"name": "deploy/myapp", "title": "v2.3.1 rolled back", "tags": ["rollback"]})))
        .await
        .expect(200);
    assert_eq!(replaced["title"], "v2.3.1 rolled back");
    assert_eq!(replaced["time"], created["time"]);
    assert_eq!(api.get(&path, &viewer.jwt()).await.expect(200), replaced);
    api.delete(&path, &editor.jwt()).await.expect(204);
    api.get(&path, &viewer.jwt())
        .await
        .expect_error(404, "not_found");

    // Every change is in the audit log.
    let audit = api.get("/api/v1/audit", &admin.jwt()).await.expect(200);
    let actions: Vec<&str> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("annotation."))
        .collect();
    assert_eq!(
        actions,
        [
            "annotation.delete",
            "annotation.update",
            "annotation.create",
            "annotation.create"
        ]
    );
}

#[tokio::test]
async fn bad_annotations_are_refused_and_change_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let (_, key) = api.create_key(&admin, "ci").await;
    let cred = Cred::Key(key.clone());
    let cases = [
        (json!({"name": "deploy/app", "title": "  "}), "title"),
        (json!({"name": "", "title": "t"}), "name"),
        (json!({"name": "has space", "title": "t"}), "name"),
        (
            json!({"name": "a", "title": "t", "time": "yesterday"}),
            "time",
        ),
        (
            json!({"name": "a", "title": "t", "time": "2026-11-22T10:00:00Z", "time_end": "2026-11-22T09:00:00Z"}),
            "time_end",
        ),
        (
            json!({"name": "a", "title": "t", "text": "x".repeat(10 * 1024 + 1)}),
            "text",
        ),
        (
            json!({"name": "a", "title": "t", "tags": ["no spaces please"]}),
            "tags",
        ),
    ];
    for (body, field) in cases {
        let answer = api.post("/api/v1/annotations", &cred, body.clone()).await;
        answer.expect_error(400, "invalid_field");
        assert_eq!(answer.body["error"]["field"], field, "{body}");
    }
    post_like_curl(&api, &key, "name=deploy&title=form")
        .await
        .expect_error(400, "invalid_json");
    api.post(
        "/api/v1/annotations",
        &cred,
        json!({"name": "a", "title": "t", "colour": "red"}),
    )
    .await
    .expect_error(400, "invalid_request");
    api.get("/api/v1/annotations?limit=0", &cred)
        .await
        .expect_error(400, "invalid_query");
    api.get(
        "/api/v1/annotations?from=2026-11-22T10:00:00Z&to=2026-11-22T09:00:00Z",
        &cred,
    )
    .await
    .expect_error(400, "invalid_query");
    api.get(
        "/api/v1/annotations?before=0190f5e4-0000-7000-8000-00000000beef",
        &cred,
    )
    .await
    .expect_error(400, "invalid_query");
    api.get("/api/v1/annotations?from=soon", &cred)
        .await
        .expect_error(400, "invalid_query");
    let list = api.get("/api/v1/annotations", &cred).await.expect(200);
    assert_eq!(list["annotations"], json!([]));
}

#[tokio::test]
async fn another_orgs_annotations_are_not_found() {
    let server = TestServer::start();
    let api = server.api();
    let acme = api.signup("acme").await;
    let globex = api.signup("globex").await;
    let (_, globex_key) = api.create_key(&globex, "ci").await;
    let created = api
        .post(
            "/api/v1/annotations",
            &acme.jwt(),
            json!({"name": "deploy/a", "title": "secret"}),
        )
        .await
        .expect(201);
    let path = format!("/api/v1/annotations/{}", created["id"].as_str().unwrap());
    for cred in [globex.jwt(), Cred::Key(globex_key)] {
        api.get(&path, &cred).await.expect_error(404, "not_found");
        api.send(
            "PUT",
            &path,
            &cred,
            Some(json!({"name": "x", "title": "mine"})),
        )
        .await
        .expect_error(404, "not_found");
        api.delete(&path, &cred)
            .await
            .expect_error(404, "not_found");
        let list = api.get("/api/v1/annotations", &cred).await.expect(200);
        assert_eq!(list["annotations"], json!([]));
    }
    let still = api.get(&path, &acme.jwt()).await.expect(200);
    assert_eq!(still["title"], "secret");
}
