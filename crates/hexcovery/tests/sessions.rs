//! Signup, login, refresh rotation with reuse detection, logout, and the session list, over
//! HTTP against the real server.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn signup_then_login_gives_fifteen_minute_tokens() {
    let server = TestServer::start();
    let api = server.api();
    let answer = api
        .post(
            "/api/v1/auth/signup",
            &Cred::None,
            json!({ "org_name": "Acme", "org_slug": "acme", "email": "Ann@Acme.io", "password": PASSWORD, "name": "Ann" }),
        )
        .await;
    let cookie = answer.headers["set-cookie"].to_str().unwrap().to_string();
    let body = answer.expect(201);
    assert_eq!(
        body["user"]["email"], "ann@acme.io",
        "emails are stored lower-case"
    );
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["org"]["slug"], "acme");
    assert!(body["user"].get("password_hash").is_none());
    assert!(
        cookie.starts_with("hexcovery_refresh=hxr_")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );

    let login = api.login("ann@acme.io", PASSWORD).await.expect(200);
    let session = Session::from_tokens(&login);
    let me = api.get("/api/v1/me", &session.jwt()).await.expect(200);
    assert_eq!(
        (me["user"]["email"].as_str(), me["org"]["slug"].as_str()),
        (Some("ann@acme.io"), Some("acme"))
    );

    api.login("ann@acme.io", "wrong password!!")
        .await
        .expect_error(401, "invalid_credentials");
    let unknown = api.login("nobody@acme.io", PASSWORD).await;
    unknown.expect_error(401, "invalid_credentials");
    assert_eq!(
        unknown.body,
        api.login("ann@acme.io", "wrong password!!").await.body,
        "no account oracle"
    );
    api.get("/api/v1/me", &Cred::None)
        .await
        .expect_error(401, "missing_credentials");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let server = TestServer::start();
    let api = server.api();
    let first = api.signup("rotate").await;

    let second = api
        .post(
            "/api/v1/auth/refresh",
            &Cred::None,
            json!({ "refresh_token": first.refresh_token }),
        )
        .await
        .expect(200);
    let second = Session::from_tokens(&second);
    assert_ne!(second.refresh_token, first.refresh_token);
    api.get("/api/v1/me", &second.jwt()).await.expect(200);

    // The refresh cookie works too, and rotates as well.
    let by_cookie = api
        .finish(api.http.post(server.url("/api/v1/auth/refresh")).header(
            "Cookie",
            format!("theme=dark; hexcovery_refresh={}", second.refresh_token),
        ))
        .await;
    assert!(
        by_cookie.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("hexcovery_refresh=hxr_")
    );
    let third = Session::from_tokens(&by_cookie.expect(200));

    // Presenting an already-used token: the whole session is revoked.
    api.post(
        "/api/v1/auth/refresh",
        &Cred::None,
        json!({ "refresh_token": first.refresh_token }),
    )
    .await
    .expect_error(401, "refresh_token_reused");
    api.post(
        "/api/v1/auth/refresh",
        &Cred::None,
        json!({ "refresh_token": third.refresh_token }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    api.get("/api/v1/me", &third.jwt())
        .await
        .expect_error(401, "session_ended");

    let audit = api.login("admin@rotate.io", PASSWORD).await.expect(200);
    let events = api
        .get("/api/v1/audit", &Session::from_tokens(&audit).jwt())
        .await
        .expect(200);
    assert!(
        events["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "auth.refresh_token_reuse" && e["outcome"] == "failure")
    );

    api.post(
        "/api/v1/auth/refresh",
        &Cred::None,
        json!({ "refresh_token": "hxr_made_up" }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    api.finish(api.http.post(server.url("/api/v1/auth/refresh")))
        .await
        .expect_error(401, "missing_refresh_token");
    api.post("/api/v1/auth/refresh", &Cred::None, json!({ "token": "x" }))
        .await
        .expect_error(400, "invalid_request");
}

#[tokio::test]
async fn logout_and_session_revocation_act_on_the_next_request() {
    let server = TestServer::start();
    let api = server.api();
    let laptop = api.signup("logout").await;
    let phone = Session::from_tokens(&api.login("admin@logout.io", PASSWORD).await.expect(200));

    let listed = api.get("/api/v1/sessions", &laptop.jwt()).await.expect(200);
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Sign the phone out from the laptop.
    api.delete(&format!("/api/v1/sessions/{phone_id}"), &laptop.jwt())
        .await
        .expect(204);
    api.get("/api/v1/me", &phone.jwt())
        .await
        .expect_error(401, "session_ended");
    api.post(
        "/api/v1/auth/refresh",
        &Cred::None,
        json!({ "refresh_token": phone.refresh_token }),
    )
    .await
    .expect_error(401, "invalid_refresh_token");
    api.delete(&format!("/api/v1/sessions/{phone_id}"), &laptop.jwt())
        .await
        .expect_error(404, "not_found");

    let logout = api
        .send("POST", "/api/v1/auth/logout", &laptop.jwt(), None)
        .await;
    assert!(
        logout.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(logout.status.as_u16(), 204);
    api.get("/api/v1/me", &laptop.jwt())
        .await
        .expect_error(401, "session_ended");
}

#[tokio::test]
async fn malformed_and_foreign_tokens_are_refused() {
    let server = TestServer::start();
    let api = server.api();
    let session = api.signup("tokens").await;
    let mut tampered = session.access_token.clone();
    tampered.pop();
    tampered.push(if session.access_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    api.get("/api/v1/me", &Cred::Jwt(tampered))
        .await
        .expect_error(401, "invalid_token");
    api.get("/api/v1/me", &Cred::Jwt("not-a-jwt".into()))
        .await
        .expect_error(401, "invalid_token");
    // A token signed by another installation (another server key).
    let other = TestServer::start();
    let foreign = other.api().signup("tokens").await;
    api.get("/api/v1/me", &foreign.jwt())
        .await
        .expect_error(401, "invalid_token");
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let server = TestServer::start();
    let api = server.api();
    let here = api.signup("pwchange").await;
    let elsewhere =
        Session::from_tokens(&api.login("admin@pwchange.io", PASSWORD).await.expect(200));
    let new_password = "a much longer new passphrase";

    // Re-authentication first; the new password must meet the policy.
    api.post(
        "/api/v1/auth/password",
        &here.jwt(),
        serde_json::json!({"current_password": "not the password", "new_password": new_password}),
    )
    .await
    .expect_error(403, "wrong_password");
    api.post(
        "/api/v1/auth/password",
        &here.jwt(),
        serde_json::json!({"current_password": PASSWORD, "new_password": "short"}),
    )
    .await
    .expect_error(400, "weak_password");
    api.get("/api/v1/me", &elsewhere.jwt()).await.expect(200);

    let changed = api
        .post(
            "/api/v1/auth/password",
            &here.jwt(),
            serde_json::json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await
        .expect(200);
    assert_eq!(changed["sessions_revoked"], 1);
    // This session goes on; the other one ends on its next request.
    api.get("/api/v1/me", &here.jwt()).await.expect(200);
    api.get("/api/v1/me", &elsewhere.jwt())
        .await
        .expect_error(401, "session_ended");
    api.login("admin@pwchange.io", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    api.login("admin@pwchange.io", new_password)
        .await
        .expect(200);
}

/// Only a refused refresh cookie clears the cookie. A token posted in the body (any page
/// can post one) or no token at all leaves the browser's cookie alone, so a stranger's
/// form cannot sign anyone out; the cookie then still refreshes.
#[tokio::test]
async fn a_refused_body_token_does_not_clear_the_refresh_cookie() {
    let server = TestServer::start();
    let api = server.api();
    let session = api.signup("kept").await;
    for body in [json!({ "refresh_token": "hxr_forged" }), json!({})] {
        let refused = api.post("/api/v1/auth/refresh", &Cred::None, body).await;
        // 401 for a forged token, 400 for a body without one.
        assert!(
            matches!(refused.status.as_u16(), 400 | 401),
            "{}",
            refused.status
        );
        assert!(
            refused.headers.get("set-cookie").is_none(),
            "{:?}",
            refused.headers
        );
    }
    let bare = api
        .finish(api.http.post(server.url("/api/v1/auth/refresh")))
        .await;
    bare.expect_error(401, "missing_refresh_token");
    assert!(bare.headers.get("set-cookie").is_none());
    // A refused cookie is cleared...
    let stale = api
        .finish(
            api.http
                .post(server.url("/api/v1/auth/refresh"))
                .header("Cookie", "hexcovery_refresh=hxr_stale"),
        )
        .await;
    stale.expect_error(401, "invalid_refresh_token");
    assert!(
        stale.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // ...and the real one still works.
    api.finish(api.http.post(server.url("/api/v1/auth/refresh")).header(
        "Cookie",
        format!("hexcovery_refresh={}", session.refresh_token),
    ))
    .await
    .expect(200);
}
