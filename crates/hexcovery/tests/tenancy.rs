//! Tenant isolation over HTTP: with two orgs, every by-id route answers org A exactly as it
//! answers for an id that does not exist when given one of org B's ids, and B's object is
//! unchanged afterwards.

mod common;

use common::*;
use hexcovery_server::route_policies;
use serde_json::{Value, json};
use std::collections::HashMap;

const MISSING_ID: &str = "0190f5e4-0000-7000-8000-00000000beef";

#[tokio::test]
async fn another_orgs_ids_answer_404_on_every_by_id_route() {
    let server = TestServer::start();
    let api = server.api();
    let admin_a = api.signup("org-a").await;
    let admin_b = api.signup("org-b").await;

    // Org B owns one of everything that has an id.
    let viewer_b = api.add_user(&admin_b, "viewer@org-b.io", "viewer").await;
    let (key_b, key_b_secret) = api.create_key(&admin_b, "b-agent").await;
    let invite_b = api
        .post(
            "/api/v1/invites",
            &admin_b.jwt(),
            json!({ "email": "pending@org-b.io", "role": "viewer" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sessions_b = api
        .get("/api/v1/sessions", &viewer_b.jwt())
        .await
        .expect(200);
    let session_b = sessions_b["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let annotation_b = api
        .post(
            "/api/v1/annotations",
            &Cred::Key(key_b_secret.clone()),
            json!({ "name": "deploy/b", "title": "b's deploy" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let b_key = Cred::Key(key_b_secret.clone());
    api.post("/api/v1/heartbeat/b-backup", &b_key, json!({}))
        .await
        .expect(202);

    let channel_b = api
        .post(
            "/api/v1/notification-channels",
            &admin_b.jwt(),
            json!({ "name": "b-ops", "url": "https://hooks.org-b.io/x" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let team_b = api
        .post("/api/v1/teams", &admin_b.jwt(), json!({ "name": "b-team" }))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let alert_b = api
        .post("/api/v1/alerts", &admin_b.jwt(), alert_rule_body())
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let silence_b = api
        .post("/api/v1/silences", &admin_b.jwt(), silence_body())
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let ids: HashMap<&str, &str> = HashMap::from([
        ("/api/v1/alerts/{id}", alert_b.as_str()),
        ("/api/v1/alerts/{id}/instances", alert_b.as_str()),
        ("/api/v1/alerts/{id}/history", alert_b.as_str()),
        ("/api/v1/alerts/{id}/test", alert_b.as_str()),
        ("/api/v1/silences/{id}", silence_b.as_str()),
        ("/api/v1/teams/{id}", team_b.as_str()),
        ("/api/v1/heartbeats/{name}", "b-backup"),
        ("/api/v1/notification-channels/{id}", channel_b.as_str()),
        (
            "/api/v1/notification-channels/{id}/deliveries",
            channel_b.as_str(),
        ),
        (
            "/api/v1/notification-channels/{id}/test",
            channel_b.as_str(),
        ),
        ("/api/v1/annotations/{id}", annotation_b.as_str()),
        ("/api/v1/users/{id}", viewer_b.user_id.as_str()),
        ("/api/v1/api-keys/{id}", key_b.as_str()),
        ("/api/v1/invites/{id}", invite_b.as_str()),
        ("/api/v1/sessions/{id}", session_b.as_str()),
    ]);

    let mut checked = 0;
    // Pings name a monitor of the caller's own org: org A pinging "b-backup" is A's own
    // monitor of that name (checked below), not a way into B's.
    for (method, path, _) in route_policies().into_iter().filter(|(_, p, _)| {
        // Dashboards and saved queries have a walk of their own, below; the web dashboard's
        // catch-all (`/{*path}`) holds no org's objects.
        p.starts_with("/api/")
            && p.contains('{')
            && !p.starts_with("/api/v1/heartbeat/")
            && !dashboard_path(p)
    }) {
        let b_id = ids.get(path).unwrap_or_else(|| {
            panic!("add {path} to this test: which of org B's objects does it take?")
        });
        // A body valid for the route, so only the id can make the answer a 404.
        let body = matches!(method.as_str(), "PATCH" | "PUT" | "POST").then(|| {
            if path.starts_with("/api/v1/annotations") {
                json!({ "name": "deploy/a", "title": "taken over" })
            } else if path.starts_with("/api/v1/heartbeats") {
                json!({ "paused": true })
            } else if path.starts_with("/api/v1/teams") {
                json!({ "name": "taken over" })
            } else if path.starts_with("/api/v1/alerts") && method == "PUT" {
                alert_rule_body()
            } else if path.starts_with("/api/v1/alerts") {
                json!({ "paused": true })
            } else if path.starts_with("/api/v1/silences") {
                silence_body()
            } else {
                json!({ "role": "admin" })
            }
        });
        let foreign = api
            .send(
                method.as_str(),
                &path.replace("{id}", b_id).replace("{name}", b_id),
                &admin_a.jwt(),
                body.clone(),
            )
            .await;
        let missing = api
            .send(
                method.as_str(),
                &path
                    .replace("{id}", MISSING_ID)
                    .replace("{name}", MISSING_ID),
                &admin_a.jwt(),
                body,
            )
            .await;
        assert_eq!(
            foreign.status.as_u16(),
            404,
            "{method} {path} with org B's id: {}",
            foreign.body
        );
        assert_eq!(
            foreign.body, missing.body,
            "{method} {path}: org B's id must look exactly like a missing one"
        );
        checked += 1;
    }
    // Every by-id route of the table was tried, and every path of `ids` has such a route.
    let by_id_routes = route_policies()
        .into_iter()
        .filter(|(_, p, _)| {
            p.starts_with("/api/")
                && p.contains('{')
                && !p.starts_with("/api/v1/heartbeat/")
                && !dashboard_path(p)
        })
        .count();
    assert_eq!(checked, by_id_routes);
    assert!(checked > ids.len(), "several methods share a path");
    let teams_b = api.get("/api/v1/teams", &admin_b.jwt()).await.expect(200);
    assert_eq!(teams_b["teams"][0]["name"], "b-team");
    let channels = api
        .get("/api/v1/notification-channels", &admin_b.jwt())
        .await
        .expect(200);
    assert_eq!(
        channels["notification_channels"][0]["id"],
        channel_b.as_str()
    );
    // Org A's ping to the same name makes A's own monitor; B's keeps its one ping.
    let (_, key_a_secret) = api.create_key(&admin_a, "a-agent").await;
    api.post(
        "/api/v1/heartbeat/b-backup/fail",
        &Cred::Key(key_a_secret),
        json!({}),
    )
    .await
    .expect(202);
    let b_monitor = api
        .get("/api/v1/heartbeats/b-backup", &admin_b.jwt())
        .await
        .expect(200);
    assert_eq!(
        (b_monitor["state"].as_str(), b_monitor["paused"].as_bool()),
        (Some("up"), Some(false))
    );
    assert_eq!(b_monitor["pings"].as_array().unwrap().len(), 1);
    let annotation = api
        .get(
            &format!("/api/v1/annotations/{annotation_b}"),
            &admin_b.jwt(),
        )
        .await
        .expect(200);
    assert_eq!(annotation["title"], "b's deploy");

    // Org B's objects are untouched.
    let still =
        |v: &Value, key: &str, id: &str| v[key].as_array().unwrap().iter().any(|x| x["id"] == id);
    let users = api.get("/api/v1/users", &admin_b.jwt()).await.expect(200);
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == viewer_b.user_id.as_str() && u["role"] == "viewer")
    );
    assert!(still(
        &api.get("/api/v1/api-keys", &admin_b.jwt())
            .await
            .expect(200),
        "api_keys",
        &key_b
    ));
    let invites = api.get("/api/v1/invites", &admin_b.jwt()).await.expect(200);
    assert!(
        invites["invites"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == invite_b.as_str() && i["status"] == "pending")
    );
    api.get("/api/v1/me", &viewer_b.jwt()).await.expect(200);
    // B's key still authenticates (it reaches the guard and is refused for being a key, 403,
    // not for being unknown, 401).
    api.get("/api/v1/me", &Cred::Key(key_b_secret))
        .await
        .expect_error(403, "user_session_required");
}

#[tokio::test]
async fn listings_show_only_the_callers_org() {
    let server = TestServer::start();
    let api = server.api();
    let admin_a = api.signup("list-a").await;
    let admin_b = api.signup("list-b").await;
    api.create_key(&admin_b, "b-key").await;
    api.post(
        "/api/v1/invites",
        &admin_b.jwt(),
        json!({ "email": "x@list-b.io", "role": "editor" }),
    )
    .await
    .expect(201);

    let me = api.get("/api/v1/me", &admin_a.jwt()).await.expect(200);
    assert_eq!(me["org"]["slug"], "list-a");
    assert_eq!(
        api.get("/api/v1/org", &admin_a.jwt()).await.expect(200)["slug"],
        "list-a"
    );
    let users = api.get("/api/v1/users", &admin_a.jwt()).await.expect(200);
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
    assert!(
        api.get("/api/v1/api-keys", &admin_a.jwt())
            .await
            .expect(200)["api_keys"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        api.get("/api/v1/invites", &admin_a.jwt()).await.expect(200)["invites"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        api.get("/api/v1/outbox", &admin_a.jwt()).await.expect(200)["messages"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let audit = api.get("/api/v1/audit", &admin_a.jwt()).await.expect(200);
    assert!(
        audit["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e.to_string().contains("list-b"))
    );
}

fn alert_rule_body() -> serde_json::Value {
    json!({
        "name": "errors",
        "query": "SELECT service, count(*) AS value FROM logs GROUP BY service",
        "window": "5m", "interval": "1m",
        "condition": {"op": ">", "threshold": 1},
    })
}

fn silence_body() -> serde_json::Value {
    json!({
        "matchers": [{"label": "service", "op": "=", "value": "checkout"}],
        "ends_at": (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339(),
    })
}

/// Paths [`another_orgs_dashboards_and_saved_queries_answer_404`] walks.
fn dashboard_path(path: &str) -> bool {
    path.starts_with("/api/v1/dashboards/") || path.starts_with("/api/v1/saved-queries/")
}

#[tokio::test]
async fn another_orgs_dashboards_and_saved_queries_answer_404() {
    let server = TestServer::start();
    let api = server.api();
    let admin_a = api.signup("dash-a").await;
    let admin_b = api.signup("dash-b").await;
    let dashboard = json!({
        "title": "b's board",
        "variables": [{"name": "env", "kind": "custom", "options": ["prod"], "default": "prod"}],
        "panels": [{"id": "p1", "kind": "stat", "query": "SELECT count(*) FROM logs",
                    "layout": {"x": 0, "y": 0, "w": 6, "h": 4}}]
    });
    let dashboard_b = api
        .post("/api/v1/dashboards", &admin_b.jwt(), dashboard.clone())
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let saved = json!({"name": "b's query", "query": "SELECT count(*) FROM logs"});
    let saved_b = api
        .post("/api/v1/saved-queries", &admin_b.jwt(), saved.clone())
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut checked = 0;
    for (method, path, _) in route_policies()
        .into_iter()
        .filter(|(_, p, _)| p.contains('{') && dashboard_path(p))
    {
        let b_id = if path.starts_with("/api/v1/saved-queries/") {
            &saved_b
        } else {
            &dashboard_b
        };
        // A body valid for the route, so only the id can make the answer a 404.
        let body = match (method.as_str(), path) {
            ("PUT", p) if p.starts_with("/api/v1/saved-queries/") => Some(saved.clone()),
            ("PUT", _) => {
                let mut body = dashboard.clone();
                body["version"] = json!(1);
                Some(body)
            }
            ("POST", _) => Some(json!({})),
            _ => None,
        };
        let concrete = |id: &str| {
            path.replace("{id}", id)
                .replace("{n}", "1")
                .replace("{panel_id}", "p1")
                .replace("{name}", "env")
        };
        let foreign = api
            .send(
                method.as_str(),
                &concrete(b_id),
                &admin_a.jwt(),
                body.clone(),
            )
            .await;
        let missing = api
            .send(
                method.as_str(),
                &concrete(MISSING_ID),
                &admin_a.jwt(),
                body.clone(),
            )
            .await;
        assert_eq!(
            foreign.status.as_u16(),
            404,
            "{method} {path} with org B's id: {}",
            foreign.body
        );
        assert_eq!(
            foreign.body, missing.body,
            "{method} {path}: org B's id must look exactly like a missing one"
        );
        // The same request on B's own object works: the id, not the request, made the 404.
        if method != "DELETE" {
            let own = api
                .send(method.as_str(), &concrete(b_id), &admin_b.jwt(), body)
                .await;
            assert!(
                own.status.is_success(),
                "{method} {path} for org B: {}",
                own.body
            );
        }
        checked += 1;
    }
    assert_eq!(
        checked, 13,
        "GET, PUT, DELETE saved queries and dashboards; a dashboard's export, versions, version, restore, panel run, variable options and annotations"
    );
    // B's objects are B's alone: its own PUT and restore made versions 2 and 3.
    let board = api
        .get(&format!("/api/v1/dashboards/{dashboard_b}"), &admin_b.jwt())
        .await
        .expect(200);
    assert_eq!(
        (board["title"].as_str(), board["version"].as_u64()),
        (Some("b's board"), Some(3))
    );
    let saved = api
        .get(&format!("/api/v1/saved-queries/{saved_b}"), &admin_b.jwt())
        .await
        .expect(200);
    assert_eq!(saved["name"], "b's query");
    let a_lists = api
        .get("/api/v1/dashboards", &admin_a.jwt())
        .await
        .expect(200);
    assert_eq!(a_lists["dashboards"], json!([]));
    let a_lists = api
        .get("/api/v1/saved-queries", &admin_a.jwt())
        .await
        .expect(200);
    assert_eq!(a_lists["saved_queries"], json!([]));
}
