//! The server as a process: embedded defaults, health probes, restart keeps state, SIGTERM
//! shuts down cleanly, signup modes, request validation, and secrets kept out of the log.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn probes_answer_and_the_data_dir_is_initialised() {
    let server = TestServer::start();
    let api = server.api();
    assert_eq!(
        api.get("/healthz", &Cred::None).await.expect(200)["status"],
        "ok"
    );
    assert_eq!(
        api.get("/readyz", &Cred::None).await.expect(200)["status"],
        "ready"
    );
    assert!(server.data_dir.join("meta.db").exists());
    let key = std::fs::read_to_string(server.data_dir.join("server.key")).unwrap();
    assert_eq!(key.len(), 64);
}

#[tokio::test]
async fn restart_keeps_users_keys_and_sessions_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    let admin = api.signup("durable").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    let (_, revoked_key) = api.create_key(&admin, "old").await;
    let listed = api.get("/api/v1/api-keys", &admin.jwt()).await.expect(200);
    let old_id = listed["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "old")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.delete(&format!("/api/v1/api-keys/{old_id}"), &admin.jwt())
        .await
        .expect(204);

    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM exits with success, got {status:?}"
    );
    assert!(server.log().contains("shutdown signal received"));
    assert!(server.log().contains("HTTP API stopped"));
    drop(server);

    let server = TestServer::start_in(dir.path(), &[]);
    let api = server.api();
    // Same server key: the access token from before the restart is still good.
    api.get("/api/v1/me", &admin.jwt()).await.expect(200);
    Session::from_tokens(&api.login("admin@durable.io", PASSWORD).await.expect(200));
    api.get("/api/v1/me", &Cred::Key(key))
        .await
        .expect_error(403, "user_session_required");
    api.get("/api/v1/me", &Cred::Key(revoked_key))
        .await
        .expect_error(401, "invalid_api_key");
    api.post(
        "/api/v1/auth/refresh",
        &Cred::None,
        json!({ "refresh_token": admin.refresh_token }),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn disabled_signup_admits_only_the_first_org() {
    let server = TestServer::start_with(&["--signup", "disabled"]);
    let api = server.api();
    api.signup("first").await;
    api.post(
        "/api/v1/auth/signup",
        &Cred::None,
        json!({ "org_name": "Second", "org_slug": "second", "email": "a@second.io", "password": PASSWORD, "name": "A" }),
    )
    .await
    .expect_error(403, "signup_disabled");
}

#[tokio::test]
async fn bad_signups_answer_clearly_and_write_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let valid = json!({ "org_name": "Acme", "org_slug": "acme", "email": "a@acme.io", "password": PASSWORD, "name": "Ann" });
    let with = |key: &str, value: serde_json::Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("org_slug", json!("Acme!")),
            400,
            "invalid_field",
            Some("org_slug"),
        ),
        (
            with("org_slug", json!("ab")),
            400,
            "invalid_field",
            Some("org_slug"),
        ),
        (
            with("email", json!("nope")),
            400,
            "invalid_field",
            Some("email"),
        ),
        (
            with("password", json!("elevenchars")),
            400,
            "weak_password",
            Some("password"),
        ),
        (
            with("name", json!("x".repeat(101))),
            400,
            "invalid_field",
            Some("name"),
        ),
        (
            with("org_name", json!("")),
            400,
            "invalid_field",
            Some("org_name"),
        ),
        (
            with("org_slug", json!(42)),
            400,
            "invalid_request",
            Some("org_slug"),
        ),
        (json!({ "org_name": "Acme" }), 400, "invalid_request", None),
    ];
    for (body, status, code, field) in cases {
        let answer = api
            .post("/api/v1/auth/signup", &Cred::None, body.clone())
            .await;
        answer.expect_error(status, code);
        if let Some(field) = field {
            assert_eq!(answer.body["error"]["field"], field, "{body}");
        }
    }
    let raw = |body: &'static str, content_type: &'static str| {
        api.http
            .post(server.url("/api/v1/auth/signup"))
            .header("Content-Type", content_type)
            .body(body)
    };
    let syntax = api.finish(raw("{\"org_name\": ", "application/json")).await;
    syntax.expect_error(400, "invalid_json");
    assert!(
        syntax.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1")
    );
    api.finish(raw("", "application/json"))
        .await
        .expect_error(400, "invalid_json");
    let huge = "x".repeat((1 << 20) + 1);
    api.finish(api.http.post(server.url("/api/v1/auth/signup")).body(huge))
        .await
        .expect_error(413, "body_too_large");

    // Nothing above created anything: the slug and email are still free, and JSON sent the
    // way `curl -d` sends it (form Content-Type) is accepted.
    let body = serde_json::to_string(&valid).unwrap();
    let created = api
        .finish(
            api.http
                .post(server.url("/api/v1/auth/signup"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
        .expect(201);
    assert_eq!(created["org"]["slug"], "acme");

    // Duplicates conflict, and a duplicate email does not leave a half-made org behind.
    api.post(
        "/api/v1/auth/signup",
        &Cred::None,
        with("email", json!("b@acme.io")),
    )
    .await
    .expect_error(409, "slug_taken");
    api.post(
        "/api/v1/auth/signup",
        &Cred::None,
        with("org_slug", json!("acme-two")),
    )
    .await
    .expect_error(409, "email_taken");
    api.post(
        "/api/v1/auth/signup",
        &Cred::None,
        with("email", json!("c@acme.io"))
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("org_slug".into(), json!("acme-two"));
                serde_json::Value::Object(o)
            })
            .unwrap(),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn secrets_never_reach_the_log() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("quiet").await;
    let (_, key) = api.create_key(&admin, "agent").await;
    api.get("/api/v1/me", &Cred::Key(key.clone())).await;
    api.login("admin@quiet.io", "a wrong password").await;
    let refreshed = api
        .post(
            "/api/v1/auth/refresh",
            &Cred::None,
            json!({ "refresh_token": admin.refresh_token }),
        )
        .await
        .expect(200);
    let log = server.log();
    for secret in [
        key.as_str(),
        PASSWORD,
        "a wrong password",
        admin.refresh_token.as_str(),
        admin.access_token.as_str(),
        refreshed["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    let server_key = std::fs::read_to_string(server.data_dir.join("server.key")).unwrap();
    assert!(!log.contains(&server_key));
}
