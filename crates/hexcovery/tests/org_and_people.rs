//! The org and its people: org settings, roles taking effect at once, the last-admin rule,
//! removal, and the invite lifecycle.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn admins_change_the_org_and_bad_changes_change_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    api.signup("taken").await;
    let viewer = api.add_user(&admin, "v@acme.io", "viewer").await;

    let org = api
        .patch(
            "/api/v1/org",
            &admin.jwt(),
            json!({ "name": "Acme Inc", "slug": "acme-inc" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            org["name"].as_str(),
            org["slug"].as_str(),
            org["email"].as_str()
        ),
        (Some("Acme Inc"), Some("acme-inc"), Some("admin@acme.io"))
    );

    api.patch("/api/v1/org", &viewer.jwt(), json!({ "name": "Hijack" }))
        .await
        .expect_error(403, "insufficient_role");
    let bad = api
        .patch(
            "/api/v1/org",
            &admin.jwt(),
            json!({ "name": "Ok", "slug": "Bad Slug" }),
        )
        .await;
    bad.expect_error(400, "invalid_field");
    assert_eq!(bad.body["error"]["field"], "slug");
    api.patch("/api/v1/org", &admin.jwt(), json!({ "slug": "taken" }))
        .await
        .expect_error(409, "slug_taken");
    api.patch(
        "/api/v1/org",
        &admin.jwt(),
        json!({ "email": "not-an-email" }),
    )
    .await
    .expect_error(400, "invalid_field");
    api.patch("/api/v1/org", &admin.jwt(), json!({}))
        .await
        .expect_error(400, "empty_update");
    api.patch("/api/v1/org", &admin.jwt(), json!({ "plan": "free" }))
        .await
        .expect_error(400, "invalid_request");

    let now = api.get("/api/v1/org", &viewer.jwt()).await.expect(200);
    assert_eq!(
        (now["name"].as_str(), now["slug"].as_str()),
        (Some("Acme Inc"), Some("acme-inc")),
        "failed changes left no trace"
    );

    let audit = api.get("/api/v1/audit", &admin.jwt()).await.expect(200);
    let updates: Vec<_> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "org.update")
        .collect();
    assert_eq!(updates.len(), 2, "one success, one conflict failure");
    assert_eq!(updates[1]["outcome"], "success");
    assert_eq!(updates[1]["detail"]["fields"], json!(["name", "slug"]));
    assert_eq!(updates[0]["outcome"], "failure");
    assert_eq!(updates[1]["client_addr"], "127.0.0.1");
}

#[tokio::test]
async fn role_changes_and_removal_act_on_the_next_request() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("roles").await;
    let member = api.add_user(&admin, "member@roles.io", "viewer").await;

    let users = api.get("/api/v1/users", &member.jwt()).await.expect(200);
    assert_eq!(
        users["users"].as_array().unwrap().len(),
        2,
        "members see who is in their org"
    );
    api.get("/api/v1/api-keys", &member.jwt())
        .await
        .expect_error(403, "insufficient_role");

    // Promote: the member's existing access token carries the new role at once.
    let path = format!("/api/v1/users/{}", member.user_id);
    api.patch(&path, &admin.jwt(), json!({ "role": "admin" }))
        .await
        .expect(200);
    api.get("/api/v1/api-keys", &member.jwt()).await.expect(200);
    assert_eq!(
        api.get("/api/v1/me", &member.jwt()).await.expect(200)["user"]["role"],
        "admin"
    );
    api.patch(&path, &admin.jwt(), json!({ "role": "viewer" }))
        .await
        .expect(200);
    api.get("/api/v1/api-keys", &member.jwt())
        .await
        .expect_error(403, "insufficient_role");
    api.patch(&path, &admin.jwt(), json!({ "role": "owner" }))
        .await
        .expect_error(400, "invalid_request");

    // The last admin can neither step down nor be removed.
    let own = format!("/api/v1/users/{}", admin.user_id);
    api.patch(&own, &admin.jwt(), json!({ "role": "editor" }))
        .await
        .expect_error(409, "last_admin");
    api.delete(&own, &admin.jwt())
        .await
        .expect_error(409, "last_admin");

    // Removal ends the user's sessions immediately.
    api.delete(&path, &admin.jwt()).await.expect(204);
    api.get("/api/v1/me", &member.jwt())
        .await
        .expect_error(401, "session_ended");
    api.post(
        "/api/v1/auth/refresh",
        &Cred::None,
        json!({ "refresh_token": member.refresh_token }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    api.login("member@roles.io", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    api.delete("/api/v1/users/not-a-uuid", &admin.jwt())
        .await
        .expect_error(400, "invalid_path");

    let audit = api.get("/api/v1/audit", &admin.jwt()).await.expect(200);
    let actions: Vec<_> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"user.role_change") && actions.contains(&"user.remove"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn invites_are_single_use_revocable_and_land_in_the_outbox() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("invites").await;
    let other = api.signup("elsewhere").await;

    let invite = api
        .post(
            "/api/v1/invites",
            &admin.jwt(),
            json!({ "email": "New@Invites.io", "role": "editor" }),
        )
        .await
        .expect(201);
    assert_eq!(
        (
            invite["email"].as_str(),
            invite["role"].as_str(),
            invite["status"].as_str()
        ),
        (Some("new@invites.io"), Some("editor"), Some("pending"))
    );
    let url = invite["invite_url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("http://localhost:8080/invite?token=hxi_"),
        "{url}"
    );
    let token = url.split("token=").nth(1).unwrap().to_string();

    // No mail server: the link is in the log and in the org's outbox.
    assert!(server.log_contains(&url).await, "the invite link is logged");
    let outbox = api.get("/api/v1/outbox", &admin.jwt()).await.expect(200);
    assert_eq!(outbox["messages"][0]["recipient"], "new@invites.io");
    assert_eq!(outbox["messages"][0]["status"], "not_sent");
    assert_eq!(invite["email_message"]["status"], "not_sent");
    assert_eq!(invite["email_message"]["id"], outbox["messages"][0]["id"]);
    assert!(
        outbox["messages"][0]["body"]
            .as_str()
            .unwrap()
            .contains(&url)
    );
    assert!(
        api.get("/api/v1/outbox", &other.jwt()).await.expect(200)["messages"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    api.post(
        "/api/v1/invites",
        &admin.jwt(),
        json!({ "email": "new@invites.io", "role": "viewer" }),
    )
    .await
    .expect_error(409, "already_invited");
    api.post(
        "/api/v1/invites",
        &admin.jwt(),
        json!({ "email": other.email, "role": "viewer" }),
    )
    .await
    .expect_error(409, "email_taken");
    api.post(
        "/api/v1/invites",
        &admin.jwt(),
        json!({ "email": "x@invites.io", "role": "root" }),
    )
    .await
    .expect_error(400, "invalid_request");

    // Weak password: refused, and the invite is still usable.
    api.post(
        "/api/v1/invites/accept",
        &Cred::None,
        json!({ "token": token, "name": "New", "password": "short" }),
    )
    .await
    .expect_error(400, "weak_password");
    let joined = api
        .post(
            "/api/v1/invites/accept",
            &Cred::None,
            json!({ "token": token, "name": "New", "password": PASSWORD }),
        )
        .await
        .expect(201);
    assert_eq!(
        (
            joined["user"]["role"].as_str(),
            joined["org"]["slug"].as_str()
        ),
        (Some("editor"), Some("invites"))
    );
    let reuse = api
        .post(
            "/api/v1/invites/accept",
            &Cred::None,
            json!({ "token": token, "name": "Again", "password": PASSWORD }),
        )
        .await;
    reuse.expect_error(404, "not_found");
    assert!(
        reuse.body["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // Revoked invites stop working.
    let revoked = api
        .post(
            "/api/v1/invites",
            &admin.jwt(),
            json!({ "email": "gone@invites.io", "role": "viewer" }),
        )
        .await
        .expect(201);
    let revoked_token = revoked["invite_url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    api.delete(
        &format!("/api/v1/invites/{}", revoked["id"].as_str().unwrap()),
        &admin.jwt(),
    )
    .await
    .expect(204);
    api.post(
        "/api/v1/invites/accept",
        &Cred::None,
        json!({ "token": revoked_token, "name": "Gone", "password": PASSWORD }),
    )
    .await
    .expect_error(404, "not_found");

    let statuses: Vec<_> = api.get("/api/v1/invites", &admin.jwt()).await.expect(200)["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["revoked", "accepted"]);

    // Pages of the invite list chain through next_cursor.
    let first = api
        .get("/api/v1/invites?limit=1", &admin.jwt())
        .await
        .expect(200);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a full page has a cursor")
        .to_string();
    let rest = api
        .get(
            &format!("/api/v1/invites?limit=1&before={cursor}"),
            &admin.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(rest["invites"][0]["status"], "accepted");
    let last = api
        .get(
            &format!("/api/v1/invites?limit=5&before={cursor}"),
            &admin.jwt(),
        )
        .await
        .expect(200);
    assert!(last["next_cursor"].is_null(), "a short page is the last");
}

/// Expiry itself is checked in the metastore suite with a controlled clock; here, that the
/// server gives invites the configured lifetime.
#[tokio::test]
async fn nobody_grants_a_role_above_their_own() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("ladder").await;
    let editor = api.add_user(&admin, "editor@ladder.io", "editor").await;
    let viewer = api.add_user(&admin, "viewer@ladder.io", "viewer").await;

    // Only admins invite, so no invite carries a role above its inviter's.
    for (who, role) in [(&editor, "admin"), (&editor, "editor"), (&viewer, "viewer")] {
        api.post(
            "/api/v1/invites",
            &who.jwt(),
            json!({ "email": format!("{role}-new@ladder.io"), "role": role }),
        )
        .await
        .expect_error(403, "insufficient_role");
    }
    // Nor does anyone below admin promote themselves or anyone else.
    for who in [&editor, &viewer] {
        for target in [&editor, &viewer] {
            api.patch(
                &format!("/api/v1/users/{}", target.user_id),
                &who.jwt(),
                json!({ "role": "admin" }),
            )
            .await
            .expect_error(403, "insufficient_role");
        }
    }
    let users = api.get("/api/v1/users", &admin.jwt()).await.expect(200);
    let admins = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "admin")
        .count();
    assert_eq!(admins, 1, "nothing changed");
    let invites = api.get("/api/v1/invites", &admin.jwt()).await.expect(200);
    let statuses: Vec<&str> = invites["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "accepted"], "no invite was created");
}

#[tokio::test]
async fn an_org_sends_a_bounded_number_of_invites_a_day() {
    let server = TestServer::start_with(&["--max-invites-per-day", "2"]);
    let api = server.api();
    let admin = api.signup("busy").await;
    let other = api.signup("quiet").await;
    for i in 0..2 {
        api.post(
            "/api/v1/invites",
            &admin.jwt(),
            json!({ "email": format!("p{i}@busy.io"), "role": "viewer" }),
        )
        .await
        .expect(201);
    }
    let refused = api
        .post(
            "/api/v1/invites",
            &admin.jwt(),
            json!({ "email": "p2@busy.io", "role": "viewer" }),
        )
        .await;
    refused.expect_error(429, "too_many_invites");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-invites-per-day")
    );
    let invites = api.get("/api/v1/invites", &admin.jwt()).await.expect(200);
    assert_eq!(
        invites["invites"].as_array().unwrap().len(),
        2,
        "nothing created"
    );
    // The budget is per org.
    api.post(
        "/api/v1/invites",
        &other.jwt(),
        json!({ "email": "p@quiet.io", "role": "viewer" }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn invite_lifetime_is_configurable() {
    let server = TestServer::start_with(&["--invite-ttl-hours", "1"]);
    let api = server.api();
    let admin = api.signup("ttl").await;
    let invite = api
        .post(
            "/api/v1/invites",
            &admin.jwt(),
            json!({ "email": "a@ttl.io", "role": "viewer" }),
        )
        .await
        .expect(201);
    let created =
        chrono::DateTime::parse_from_rfc3339(invite["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(invite["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_minutes(), 60);
}

#[tokio::test]
async fn the_audit_log_filters_by_action_actor_and_time() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("audited").await;
    api.create_key(&admin, "ci").await;
    api.login("admin@audited.io", PASSWORD).await.expect(200);
    let actions = |body: &serde_json::Value| -> Vec<String> {
        body["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    };
    let keys = api
        .get("/api/v1/audit?action=api_key.*", &admin.jwt())
        .await
        .expect(200);
    assert_eq!(actions(&keys), ["api_key.create"]);
    let logins = api
        .get(
            "/api/v1/audit?action=auth.login&actor=admin@audited.io",
            &admin.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(actions(&logins), ["auth.login"]);
    let future = api
        .get("/api/v1/audit?from=2999-01-01T00:00:00Z", &admin.jwt())
        .await
        .expect(200);
    assert!(actions(&future).is_empty());
    let until_now = api
        .get(
            &format!(
                "/api/v1/audit?to={}",
                chrono::Utc::now().timestamp_millis() + 60_000
            ),
            &admin.jwt(),
        )
        .await
        .expect(200);
    assert!(actions(&until_now).len() >= 3);
    api.get("/api/v1/audit?from=yesterday", &admin.jwt())
        .await
        .expect_error(400, "invalid_query");
    api.get("/api/v1/audit?who=me", &admin.jwt())
        .await
        .expect_error(400, "invalid_query");
}

#[tokio::test]
async fn org_settings_thresholds_and_an_ai_provider_whose_key_never_returns() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("settings").await;
    let org = api.get("/api/v1/org", &admin.jwt()).await.expect(200);
    assert_eq!(
        org["error_rate_thresholds"],
        json!({"warning": 1.0, "critical": 5.0})
    );
    assert_eq!(org["ai_provider"], serde_json::Value::Null);

    let key = "sk-test-0123456789abcdef";
    let set = api
        .patch(
            "/api/v1/org",
            &admin.jwt(),
            json!({"error_rate_thresholds": {"warning": 2, "critical": 10},
                   "ai_provider": {"provider": "openai", "model": "gpt-5", "api_key": key}}),
        )
        .await
        .expect(200);
    assert_eq!(
        set["error_rate_thresholds"],
        json!({"warning": 2.0, "critical": 10.0})
    );
    assert_eq!(
        set["ai_provider"],
        json!({"provider": "openai", "model": "gpt-5", "base_url": null, "api_key": "set"})
    );
    assert!(!set.to_string().contains(key));
    assert!(!server.log().contains(key), "the key is never logged");
    // Changing the model keeps the key; null removes the provider.
    let model = api
        .patch(
            "/api/v1/org",
            &admin.jwt(),
            json!({"ai_provider": {"provider": "ollama", "model": "llama4", "base_url": "http://ollama:11434"}}),
        )
        .await
        .expect(200);
    assert_eq!(model["ai_provider"]["api_key"], "set");
    let removed = api
        .patch("/api/v1/org", &admin.jwt(), json!({"ai_provider": null}))
        .await
        .expect(200);
    assert_eq!(removed["ai_provider"], serde_json::Value::Null);

    for (body, field) in [
        (
            json!({"error_rate_thresholds": {"warning": 5, "critical": 1}}),
            "error_rate_thresholds",
        ),
        (
            json!({"error_rate_thresholds": {"warning": 0, "critical": 1}}),
            "error_rate_thresholds",
        ),
        (
            json!({"error_rate_thresholds": {"warning": 1, "critical": 101}}),
            "error_rate_thresholds",
        ),
        (
            json!({"ai_provider": {"provider": "Open AI", "model": "x"}}),
            "ai_provider.provider",
        ),
        (
            json!({"ai_provider": {"provider": "openai", "model": " "}}),
            "ai_provider.model",
        ),
        (
            json!({"ai_provider": {"provider": "openai", "model": "x", "base_url": "file:///etc"}}),
            "ai_provider.base_url",
        ),
    ] {
        let answer = api.patch("/api/v1/org", &admin.jwt(), body.clone()).await;
        answer.expect_error(400, "invalid_field");
        assert_eq!(answer.body["error"]["field"], field, "{body}");
    }
    let unchanged = api.get("/api/v1/org", &admin.jwt()).await.expect(200);
    assert_eq!(
        unchanged["error_rate_thresholds"],
        json!({"warning": 2.0, "critical": 10.0})
    );
    let viewer = api.add_user(&admin, "vi@settings.io", "viewer").await;
    api.patch("/api/v1/org", &viewer.jwt(), json!({"ai_provider": null}))
        .await
        .expect_error(403, "insufficient_role");
}

#[tokio::test]
async fn teams_group_the_orgs_own_users() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("teamed").await;
    let editor = api.add_user(&admin, "ed@teamed.io", "editor").await;
    let viewer = api.add_user(&admin, "vi@teamed.io", "viewer").await;
    let outsider = api.signup("elsewhere").await;

    let team = api
        .post("/api/v1/teams", &admin.jwt(), json!({"name": "SRE"}))
        .await
        .expect(201);
    let path = format!("/api/v1/teams/{}", team["id"].as_str().unwrap());
    api.post("/api/v1/teams", &admin.jwt(), json!({"name": "SRE"}))
        .await
        .expect_error(409, "team_name_taken");
    api.post("/api/v1/teams", &editor.jwt(), json!({"name": "Devs"}))
        .await
        .expect_error(403, "insufficient_role");

    let changed = api
        .patch(
            &path,
            &admin.jwt(),
            json!({"name": "Platform", "add_members": [editor.user_id, viewer.user_id]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "Platform");
    let emails: Vec<&str> = changed["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ed@teamed.io", "vi@teamed.io"]);
    // Another org's user is no member candidate; nothing changes.
    api.patch(
        &path,
        &admin.jwt(),
        json!({"add_members": [outsider.user_id], "name": "Other"}),
    )
    .await
    .expect_error(400, "invalid_field");
    let removed = api
        .patch(
            &path,
            &admin.jwt(),
            json!({"remove_members": [viewer.user_id]}),
        )
        .await
        .expect(200);
    assert_eq!(removed["members"].as_array().unwrap().len(), 1);
    assert_eq!(removed["name"], "Platform");
    // Everyone in the org sees teams; removing a user removes them from their teams.
    api.delete(&format!("/api/v1/users/{}", editor.user_id), &admin.jwt())
        .await
        .expect(204);
    let teams = api.get("/api/v1/teams", &viewer.jwt()).await.expect(200);
    assert_eq!(teams["teams"][0]["members"], json!([]));
    let theirs = api.get("/api/v1/teams", &outsider.jwt()).await.expect(200);
    assert_eq!(theirs["teams"], json!([]), "another org sees none of them");
    api.delete(&path, &admin.jwt()).await.expect(204);
    api.delete(&path, &admin.jwt())
        .await
        .expect_error(404, "not_found");
}
