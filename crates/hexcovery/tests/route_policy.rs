//! Walks every route of the policy table — the table the router is built from — with no
//! credential, an API key, and a JWT of each role, and checks each answer against the
//! route's declared Access rule. The dashboard's public rows (`/` and its catch-all) must
//! answer the page to everyone; the API's namespace stays JSON.

mod common;

use common::*;
use hexcovery_auth::Role;
use hexcovery_server::policy::DASHBOARD_PATHS;
use hexcovery_server::{Access, route_policies};
use serde_json::json;

/// Whether `cred` may pass the guard of a route with `access`; `None` cred is "no credential".
fn allowed(access: Access, cred: Option<Role>, is_key: bool) -> bool {
    match access {
        Access::Public => true,
        Access::KeyOnly => is_key,
        Access::KeyOrUser(min) => is_key || cred.is_some_and(|r| r >= min),
        Access::User(min) => !is_key && cred.is_some_and(|r| r >= min),
    }
}

#[tokio::test]
async fn every_route_answers_each_credential_as_its_policy_says() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("policy").await;
    let editor = api.add_user(&admin, "editor@policy.io", "editor").await;
    let viewer = api.add_user(&admin, "viewer@policy.io", "viewer").await;
    let (_, key) = api.create_key(&admin, "policy-walker").await;

    let creds: Vec<(&str, Cred, Option<Role>, bool)> = vec![
        ("no credential", Cred::None, None, false),
        ("API key", Cred::Key(key), None, true),
        ("viewer JWT", viewer.jwt(), Some(Role::Viewer), false),
        ("editor JWT", editor.jwt(), Some(Role::Editor), false),
        ("admin JWT", admin.jwt(), Some(Role::Admin), false),
    ];

    let mut routes = route_policies();
    assert!(routes.len() >= 20, "the table lists the API");
    // Logging out ends the session whose token the walk uses: do it last.
    routes.sort_by_key(|(_, path, _)| path.ends_with("/logout"));
    assert!(
        routes
            .iter()
            .any(|(m, p, a)| m == "GET" && *p == DASHBOARD_PATHS && *a == Access::Public),
        "the dashboard's catch-all is in the table"
    );
    let mut checked = 0;
    let mut pages = 0;
    for (method, path, access) in routes {
        let concrete = path
            .replace("{id}", "0190f5e4-0000-7000-8000-000000000000")
            .replace(DASHBOARD_PATHS, "/settings/keys");
        let is_page = !path.starts_with("/api/") && !matches!(path, "/healthz" | "/readyz");
        let body = matches!(method.as_str(), "POST" | "PATCH" | "PUT").then(|| json!({}));
        for (label, cred, role, is_key) in &creds {
            let answer = api
                .send(method.as_str(), &concrete, cred, body.clone())
                .await;
            let status = answer.status.as_u16();
            let context = format!("{method} {path} with {label}: {} {}", status, answer.body);
            assert_ne!(
                answer.code(),
                "no_such_route",
                "route in the table is not mounted: {context}"
            );
            assert_ne!(status, 405, "{context}");
            if allowed(access, *role, *is_key) {
                assert!(
                    status != 401 && status != 403,
                    "should pass the guard: {context}"
                );
                if is_page {
                    assert_eq!(access, Access::Public, "{context}");
                    assert_eq!(status, 200, "{context}");
                    let content_type = answer.headers["content-type"].to_str().unwrap();
                    assert!(content_type.starts_with("text/html"), "{context}");
                    assert!(answer.headers.contains_key("content-security-policy"));
                    pages += 1;
                }
            } else if matches!(cred, Cred::None) {
                assert_eq!(status, 401, "{context}");
            } else {
                assert_eq!(status, 403, "{context}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 100);
    assert_eq!(
        pages,
        2 * creds.len(),
        "`/` and the catch-all, each credential"
    );
}

#[tokio::test]
async fn paths_outside_the_table_do_not_exist() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("nowhere").await;
    for path in [
        "/api/v1/nope",
        "/api/v1/org/secret",
        "/api",
        "/api/",
        "/api/v2/logs",
        "/api/v1/api-keys/x/y",
    ] {
        api.get(path, &admin.jwt())
            .await
            .expect_error(404, "no_such_route");
        // Not a dashboard page (whose catch-all takes only GET) either, whatever the method.
        for method in ["POST", "PUT", "DELETE"] {
            api.send(method, path, &admin.jwt(), Some(json!({})))
                .await
                .expect_error(404, "no_such_route");
        }
    }
    api.send("PUT", "/api/v1/org", &admin.jwt(), Some(json!({})))
        .await
        .expect_error(405, "method_not_allowed");
}
