//! API keys and the two credential slots: create (shown once), list, revoke (refused on the
//! very next request), and the slot rules of SPEC §2.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn api_keys_are_shown_once_listed_without_secrets_and_revoked_at_once() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("keys").await;

    let created = api
        .post(
            "/api/v1/api-keys",
            &admin.jwt(),
            json!({ "name": "ci-deploy" }),
        )
        .await
        .expect(201);
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("hxk_") && key.len() == 42, "{key}");
    assert_eq!(created["prefix"], &key[..12]);
    assert_eq!(created["name"], "ci-deploy");
    assert_eq!(created["created_by"]["name"], "admin@keys.io");

    // The key authenticates: a key on a user-only route is refused as a key (403), not as an
    // unknown credential (401).
    api.get("/api/v1/me", &Cred::Key(key.clone()))
        .await
        .expect_error(403, "user_session_required");

    let listed = api.get("/api/v1/api-keys", &admin.jwt()).await.expect(200);
    let text = listed.to_string();
    assert!(!text.contains(&key), "listing must not contain the key");
    assert!(!text.contains(&key[12..]), "nor any of its secret part");
    let entry = &listed["api_keys"][0];
    for field in [
        "id",
        "name",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
    ] {
        assert!(entry.get(field).is_some(), "listing lacks {field}: {entry}");
    }
    assert!(
        entry["last_used_at"].is_string(),
        "use was recorded: {entry}"
    );
    assert!(entry.get("key").is_none() && entry.get("key_digest").is_none());

    api.delete(&format!("/api/v1/api-keys/{id}"), &admin.jwt())
        .await
        .expect(204);
    api.get("/api/v1/me", &Cred::Key(key.clone()))
        .await
        .expect_error(401, "invalid_api_key");
    api.delete(&format!("/api/v1/api-keys/{id}"), &admin.jwt())
        .await
        .expect_error(404, "not_found");
    assert!(
        api.get("/api/v1/api-keys", &admin.jwt()).await.expect(200)["api_keys"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let audit = api.get("/api/v1/audit", &admin.jwt()).await.expect(200);
    let actions: Vec<_> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        actions.contains(&"api_key.create".to_string())
            && actions.contains(&"api_key.revoke".to_string()),
        "{actions:?}"
    );
    assert!(
        !audit.to_string().contains(&key),
        "the audit log never holds the key"
    );

    // Names are validated.
    api.post("/api/v1/api-keys", &admin.jwt(), json!({ "name": "" }))
        .await
        .expect_error(400, "invalid_field");
    api.post(
        "/api/v1/api-keys",
        &admin.jwt(),
        json!({ "name": "x".repeat(101) }),
    )
    .await
    .expect_error(400, "invalid_field");
    api.get("/api/v1/api-keys?limit=0", &admin.jwt())
        .await
        .expect_error(400, "invalid_query");
}

#[tokio::test]
async fn the_two_slots_never_overlap() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("slots").await;
    let (_, key) = api.create_key(&admin, "agent").await;

    let key_as_bearer = api.get("/api/v1/me", &Cred::Jwt(key.clone())).await;
    key_as_bearer.expect_error(401, "api_key_in_bearer_slot");
    assert!(
        key_as_bearer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-API-Key")
    );

    api.get("/api/v1/me", &Cred::Key(admin.access_token.clone()))
        .await
        .expect_error(401, "jwt_in_api_key_slot");

    let both = Cred::Headers(vec![
        ("X-API-Key", key.clone()),
        ("Authorization", format!("Bearer {}", admin.access_token)),
    ]);
    api.get("/api/v1/me", &both)
        .await
        .expect_error(400, "conflicting_credentials");

    // Malformed keys say why; a well-formed unknown key is simply invalid.
    let mut typo = key.clone();
    typo.replace_range(8..9, if &key[8..9] == "a" { "b" } else { "a" });
    let answer = api.get("/api/v1/me", &Cred::Key(typo)).await;
    answer.expect_error(401, "invalid_api_key");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("checksum")
    );
    api.get("/api/v1/me", &Cred::Key("hxk_nope".into()))
        .await
        .expect_error(401, "invalid_api_key");
    api.get(
        "/api/v1/me",
        &Cred::Headers(vec![("Authorization", "Basic dXNlcjpwYXNz".into())]),
    )
    .await
    .expect_error(401, "unsupported_auth_scheme");
    // The JWT in the right slot still works.
    api.get("/api/v1/me", &admin.jwt()).await.expect(200);
}
