//! The audit log covers every security-relevant action of SPEC section 8 — logins and their
//! failures, sessions, passwords, invites, roles, users, keys, settings, teams, annotations,
//! heartbeats, notification channels, alert rules and silences — each with its actor (user, API key or anonymous),
//! target, outcome and client address; and only the org's admins read it.

mod common;

use common::*;
use serde_json::{Value, json};

/// The org's audit events, newest first.
async fn audit(api: &Api, admin: &Session) -> Vec<Value> {
    api.get("/api/v1/audit?limit=1000", &admin.jwt())
        .await
        .expect(200)["audit_events"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn every_security_action_is_audited_with_actor_target_outcome_and_address() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("audited").await;
    let admin_id = admin.user_id.as_str();

    // Sessions and passwords.
    api.login(&admin.email, "not the password!!")
        .await
        .expect_error(401, "invalid_credentials");
    let second = Session::from_tokens(&api.login(&admin.email, PASSWORD).await.expect(200));
    let sessions = api.get("/api/v1/sessions", &admin.jwt()).await.expect(200);
    let other_session = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] != true)
        .expect("the second login's session")["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.delete(&format!("/api/v1/sessions/{other_session}"), &admin.jwt())
        .await
        .expect(204);
    api.get("/api/v1/me", &second.jwt())
        .await
        .expect_error(401, "session_ended");
    let third = Session::from_tokens(&api.login(&admin.email, PASSWORD).await.expect(200));
    api.post("/api/v1/auth/logout", &third.jwt(), json!({}))
        .await
        .expect(204);
    api.post(
        "/api/v1/auth/password",
        &admin.jwt(),
        json!({ "current_password": PASSWORD, "new_password": "another long password" }),
    )
    .await
    .expect(200);

    // People: invites, roles, removal.
    let invite = api
        .post(
            "/api/v1/invites",
            &admin.jwt(),
            json!({ "email": "revoked@audited.io", "role": "viewer" }),
        )
        .await
        .expect(201);
    let invite_id = invite["id"].as_str().unwrap();
    api.delete(&format!("/api/v1/invites/{invite_id}"), &admin.jwt())
        .await
        .expect(204);
    let editor = api.add_user(&admin, "editor@audited.io", "editor").await;
    api.patch(
        &format!("/api/v1/users/{}", editor.user_id),
        &admin.jwt(),
        json!({ "role": "viewer" }),
    )
    .await
    .expect(200);
    api.delete(&format!("/api/v1/users/{}", editor.user_id), &admin.jwt())
        .await
        .expect(204);

    // Keys, settings, teams.
    let (key_id, key) = api.create_key(&admin, "ci").await;
    api.patch(
        "/api/v1/org",
        &admin.jwt(),
        json!({ "retention_days": 7, "error_rate_thresholds": { "warning": 1, "critical": 5 } }),
    )
    .await
    .expect(200);
    let team = api
        .post("/api/v1/teams", &admin.jwt(), json!({ "name": "sre" }))
        .await
        .expect(201);
    let team_id = team["id"].as_str().unwrap();
    api.patch(
        &format!("/api/v1/teams/{team_id}"),
        &admin.jwt(),
        json!({ "add_members": [admin_id] }),
    )
    .await
    .expect(200);
    api.delete(&format!("/api/v1/teams/{team_id}"), &admin.jwt())
        .await
        .expect(204);

    // Annotations (by an API key), heartbeats, channels.
    let key_cred = Cred::Key(key.clone());
    let annotation = api
        .post(
            "/api/v1/annotations",
            &key_cred,
            json!({ "name": "deploy", "title": "v1.2.3" }),
        )
        .await
        .expect(201);
    let annotation_id = annotation["id"].as_str().unwrap();
    api.send(
        "PUT",
        &format!("/api/v1/annotations/{annotation_id}"),
        &admin.jwt(),
        Some(json!({ "name": "deploy", "title": "v1.2.4" })),
    )
    .await
    .expect(200);
    api.delete(
        &format!("/api/v1/annotations/{annotation_id}"),
        &admin.jwt(),
    )
    .await
    .expect(204);
    api.post("/api/v1/heartbeat/nightly", &key_cred, json!({}))
        .await
        .expect(202);
    api.patch(
        "/api/v1/heartbeats/nightly",
        &admin.jwt(),
        json!({ "paused": true }),
    )
    .await
    .expect(200);
    api.delete("/api/v1/heartbeats/nightly", &admin.jwt())
        .await
        .expect(204);
    let channel = api
        .post(
            "/api/v1/notification-channels",
            &admin.jwt(),
            json!({ "name": "ops", "url": "https://hooks.audited.io/x" }),
        )
        .await
        .expect(201);
    let channel_id = channel["id"].as_str().unwrap();
    api.post(
        &format!("/api/v1/notification-channels/{channel_id}/test"),
        &admin.jwt(),
        json!({}),
    )
    .await
    .expect(202);
    let alert = api
        .post(
            "/api/v1/alerts",
            &admin.jwt(),
            json!({"name": "errors", "query": "SELECT service, count(*) AS value FROM logs GROUP BY service",
                "window": "5m", "interval": "1m", "condition": {"op": ">", "threshold": 1},
                "channels": [channel_id]}),
        )
        .await
        .expect(201);
    let alert_id = alert["id"].as_str().unwrap();
    let alert_path = format!("/api/v1/alerts/{alert_id}");
    api.patch(&alert_path, &admin.jwt(), json!({ "paused": true }))
        .await
        .expect(200);
    api.post(&format!("{alert_path}/test"), &admin.jwt(), json!({}))
        .await
        .expect(202);
    let silence_body = json!({
        "matchers": [{"label": "service", "op": "=", "value": "checkout"}],
        "rule_id": alert_id,
        "ends_at": (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339(),
    });
    let silence = api
        .post("/api/v1/silences", &admin.jwt(), silence_body.clone())
        .await
        .expect(201);
    let silence_path = format!("/api/v1/silences/{}", silence["id"].as_str().unwrap());
    api.send("PUT", &silence_path, &admin.jwt(), Some(silence_body))
        .await
        .expect(200);
    api.delete(&silence_path, &admin.jwt()).await.expect(204);
    api.delete(&alert_path, &admin.jwt()).await.expect(204);
    api.delete(
        &format!("/api/v1/notification-channels/{channel_id}"),
        &admin.jwt(),
    )
    .await
    .expect(204);
    api.delete(&format!("/api/v1/api-keys/{key_id}"), &admin.jwt())
        .await
        .expect(204);

    let events = audit(&api, &admin).await;
    let find = |action: &str, outcome: &str| -> Value {
        events
            .iter()
            .find(|e| e["action"] == action && e["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {outcome} {action} in the audit log"))
            .clone()
    };
    let by_admin = |action: &str, target_prefix: &str| {
        let event = find(action, "success");
        assert_eq!(event["actor"]["kind"], "user", "{event}");
        assert_eq!(event["actor"]["id"], admin_id, "{event}");
        assert!(
            event["target"]
                .as_str()
                .is_some_and(|t| t.starts_with(target_prefix)),
            "{action} targets {target_prefix}…: {event}"
        );
        assert_eq!(event["client_addr"], "127.0.0.1", "{event}");
    };
    for (action, target) in [
        ("auth.signup", "org:"),
        ("auth.login", &format!("user:{admin_id}")),
        ("session.revoke", &format!("session:{other_session}")),
        ("auth.logout", "session:"),
        ("auth.password.change", &format!("user:{admin_id}")),
        ("invite.create", "invite:"),
        ("invite.revoke", &format!("invite:{invite_id}")),
        ("user.role_change", &format!("user:{}", editor.user_id)),
        ("user.remove", &format!("user:{}", editor.user_id)),
        ("api_key.create", &format!("api_key:{key_id}")),
        ("api_key.revoke", &format!("api_key:{key_id}")),
        ("org.update", "org:"),
        ("team.create", &format!("team:{team_id}")),
        ("team.update", &format!("team:{team_id}")),
        ("team.delete", &format!("team:{team_id}")),
        ("annotation.update", &format!("annotation:{annotation_id}")),
        ("annotation.delete", &format!("annotation:{annotation_id}")),
        ("heartbeat.update", "heartbeat:"),
        ("heartbeat.delete", "heartbeat:"),
        (
            "notification_channel.create",
            &format!("notification_channel:{channel_id}"),
        ),
        (
            "notification_channel.delete",
            &format!("notification_channel:{channel_id}"),
        ),
        (
            "notification_channel.test",
            &format!("notification_channel:{channel_id}"),
        ),
        ("alert.create", "alert:"),
        ("alert.update", "alert:"),
        ("alert.test", "alert:"),
        ("alert.delete", "alert:"),
        ("silence.create", "silence:"),
        ("silence.update", "silence:"),
        ("silence.delete", "silence:"),
    ] {
        by_admin(action, target);
    }

    // The failed login: anonymous, named by the email tried, with the reason.
    let failed = find("auth.login", "failure");
    assert_eq!(failed["actor"]["kind"], "anonymous");
    assert_eq!(failed["actor"]["name"], admin.email.as_str());
    assert_eq!(failed["detail"]["reason"], "wrong_password");
    // The invite's acceptance is the new user's own act.
    let accepted = find("invite.accept", "success");
    assert_eq!(accepted["actor"]["id"], editor.user_id.as_str());
    // What an API key did is filed under the key.
    let created = find("annotation.create", "success");
    assert_eq!(created["actor"]["kind"], "api_key");
    assert_eq!(created["actor"]["id"], key_id.as_str());
    // Settings changes name the fields that changed, never their values' secrets.
    let settings = find("org.update", "success");
    let fields = settings["detail"].to_string();
    assert!(fields.contains("retention_days") && fields.contains("error_rate_thresholds"));
    // The role change says from what to what.
    let role = find("user.role_change", "success");
    assert_eq!(role["detail"]["from"], "editor", "{role}");
    assert_eq!(role["detail"]["to"], "viewer", "{role}");

    // Only admins read it.
    let viewer = api.add_user(&admin, "viewer@audited.io", "viewer").await;
    api.get("/api/v1/audit", &viewer.jwt())
        .await
        .expect_error(403, "insufficient_role");
    let (_, live_key) = api.create_key(&admin, "reader").await;
    let by_key = api.get("/api/v1/audit", &Cred::Key(live_key)).await;
    assert_eq!(
        by_key.status, 403,
        "API keys do not read the audit log: {by_key:?}"
    );
}

#[tokio::test]
async fn dashboard_and_saved_query_changes_are_audited() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("boards").await;
    let editor = api.add_user(&admin, "editor@boards.io", "editor").await;
    let cred = editor.jwt();
    let board = json!({"title": "Checkout", "panels": [{"id": "p1", "kind": "stat",
        "query": "SELECT count(*) FROM logs", "layout": {"x": 0, "y": 0, "w": 6, "h": 4}}]});
    let created = api
        .post("/api/v1/dashboards", &cred, board.clone())
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    let mut changed = board.clone();
    changed["title"] = json!("Checkout v2");
    changed["version"] = json!(1);
    api.send(
        "PUT",
        &format!("/api/v1/dashboards/{id}"),
        &cred,
        Some(changed),
    )
    .await
    .expect(200);
    api.post(
        &format!("/api/v1/dashboards/{id}/versions/1/restore"),
        &cred,
        json!({}),
    )
    .await
    .expect(200);
    let imported = api
        .post("/api/v1/dashboards/import", &cred, board)
        .await
        .expect(201);
    let imported_id = imported["id"].as_str().unwrap();
    api.delete(&format!("/api/v1/dashboards/{id}"), &cred)
        .await
        .expect(204);
    let saved = api
        .post(
            "/api/v1/saved-queries",
            &cred,
            json!({"name": "errors", "query": "SELECT count(*) FROM logs"}),
        )
        .await
        .expect(201);
    let saved_id = saved["id"].as_str().unwrap();
    let path = format!("/api/v1/saved-queries/{saved_id}");
    api.send(
        "PUT",
        &path,
        &cred,
        Some(json!({"name": "all errors", "query": "SELECT count(*) FROM logs"})),
    )
    .await
    .expect(200);
    api.delete(&path, &cred).await.expect(204);
    // Reading and running change nothing and are not audited.
    api.get(&format!("/api/v1/dashboards/{imported_id}"), &cred)
        .await
        .expect(200);

    let events = audit(&api, &admin).await;
    let find = |action: &str, target: &str| -> Value {
        events
            .iter()
            .find(|e| e["action"] == action && e["target"] == target)
            .unwrap_or_else(|| panic!("no {action} on {target} in the audit log: {events:?}"))
            .clone()
    };
    for (action, target, version) in [
        ("dashboard.create", format!("dashboard:{id}"), Some(1)),
        ("dashboard.update", format!("dashboard:{id}"), Some(2)),
        ("dashboard.restore", format!("dashboard:{id}"), Some(3)),
        (
            "dashboard.import",
            format!("dashboard:{imported_id}"),
            Some(1),
        ),
        ("dashboard.delete", format!("dashboard:{id}"), Some(3)),
        (
            "saved_query.create",
            format!("saved_query:{saved_id}"),
            None,
        ),
        (
            "saved_query.update",
            format!("saved_query:{saved_id}"),
            None,
        ),
        (
            "saved_query.delete",
            format!("saved_query:{saved_id}"),
            None,
        ),
    ] {
        let event = find(action, &target);
        assert_eq!(event["outcome"], "success", "{event}");
        assert_eq!(event["actor"]["kind"], "user", "{event}");
        assert_eq!(event["actor"]["id"], editor.user_id.as_str(), "{event}");
        assert_eq!(event["client_addr"], "127.0.0.1", "{event}");
        if let Some(version) = version {
            assert_eq!(event["detail"]["version"], version, "{event}");
        }
    }
    assert_eq!(
        find("dashboard.update", &format!("dashboard:{id}"))["detail"]["title"],
        "Checkout v2"
    );
    assert_eq!(
        find("dashboard.restore", &format!("dashboard:{id}"))["detail"]["restored_from"],
        1
    );
    assert_eq!(
        find("saved_query.update", &format!("saved_query:{saved_id}"))["detail"]["name"],
        "all errors"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["action"].as_str().unwrap().starts_with("dashboard."))
            .count(),
        5
    );
}
