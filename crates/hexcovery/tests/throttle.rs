//! Login throttling over HTTP, with the server's clock read from a file: an account and a
//! client address each get some free failures, then 429 with Retry-After; the block passes
//! with time, and a success clears the account.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use serde_json::json;

async fn login(api: &Api, email: &str, password: &str) -> Answer {
    api.post(
        "/api/v1/auth/login",
        &Cred::None,
        json!({ "email": email, "password": password }),
    )
    .await
}

#[tokio::test]
async fn failures_earn_short_blocks_per_account_and_per_address() {
    let data = tempfile::tempdir().unwrap();
    let clock_file = data.path().join("now");
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .into();
    let set = |secs: i64| {
        std::fs::write(&clock_file, (t0 + TimeDelta::seconds(secs)).to_rfc3339()).unwrap()
    };
    set(0);
    let server = TestServer::start_in(
        data.path(),
        &["--test-clock-file", clock_file.to_str().unwrap()],
    );
    let api = server.api();
    api.signup("acme").await;
    let email = "admin@acme.io";

    // Five free failures; the sixth earns a 30 s block, during which even the right
    // password is refused without being checked.
    for _ in 0..6 {
        login(&api, email, "wrong password!!")
            .await
            .expect_error(401, "invalid_credentials");
    }
    let blocked = login(&api, email, PASSWORD).await;
    blocked.expect_error(429, "too_many_attempts");
    assert_eq!(blocked.headers["retry-after"], "30");
    set(20);
    let later = login(&api, email, PASSWORD).await;
    later.expect_error(429, "too_many_attempts");
    assert_eq!(later.headers["retry-after"], "10");
    // After the block, the right password works and clears the account's failures.
    set(31);
    login(&api, email, PASSWORD).await.expect(200);
    for _ in 0..5 {
        login(&api, email, "wrong password!!")
            .await
            .expect_error(401, "invalid_credentials");
    }
    login(&api, email, PASSWORD).await.expect(200);

    // One address trying many accounts: 20 free failures (the 11 above are forgotten after
    // half an hour of quiet), then blocked for every account.
    let quiet = 31 + 31 * 60;
    set(quiet);
    for i in 0..21 {
        login(&api, &format!("nobody{i}@acme.io"), "whatever password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    let blocked = login(&api, email, PASSWORD).await;
    blocked.expect_error(429, "too_many_attempts");
    assert_eq!(blocked.headers["retry-after"], "60");
    set(quiet + 61);
    login(&api, email, PASSWORD).await.expect(200);
}

#[tokio::test]
async fn a_stolen_session_cannot_guess_the_password_without_limit() {
    let data = tempfile::tempdir().unwrap();
    let clock_file = data.path().join("now");
    std::fs::write(&clock_file, "2026-11-22T10:00:00Z").unwrap();
    let server = TestServer::start_in(
        data.path(),
        &["--test-clock-file", clock_file.to_str().unwrap()],
    );
    let api = server.api();
    let admin = api.signup("acme").await;
    let guess =
        json!({ "current_password": "guess guess guess", "new_password": "a whole new password" });

    // Re-authentication failures earn blocks as failed logins do.
    for _ in 0..6 {
        api.post("/api/v1/auth/password", &admin.jwt(), guess.clone())
            .await
            .expect_error(403, "wrong_password");
    }
    let blocked = api
        .post(
            "/api/v1/auth/password",
            &admin.jwt(),
            json!({ "current_password": PASSWORD, "new_password": "a whole new password" }),
        )
        .await;
    blocked.expect_error(429, "too_many_attempts");
    assert_eq!(blocked.headers["retry-after"], "30");
    // The block is the user's re-authentication only: logging in is a separate budget, so
    // strangers failing logins on purpose cannot stop the owner changing a password either.
    login(&api, &admin.email, PASSWORD).await.expect(200);

    // Each failure is audited under the action it tried; the one that blocked says so.
    let audit = api
        .get("/api/v1/audit?action=auth.password.change", &admin.jwt())
        .await
        .expect(200);
    let events = audit["audit_events"].as_array().unwrap();
    assert_eq!(events.len(), 6, "six failures, no success: {audit}");
    assert!(events.iter().all(|e| e["outcome"] == "failure"
        && e["detail"]["reason"] == "wrong_password"
        && e["actor"]["id"] == admin.user_id.as_str()));
    assert_eq!(events[0]["detail"]["account_blocked_secs"], 30);
    assert!(events[1]["detail"]["account_blocked_secs"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_get_no_more_tries_than_sequential_ones() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let email = admin.email.clone();
    // Twenty wrong passwords at once: each is counted before it is checked, so only the six
    // that fit the budget (five free, the sixth starts the block) are ever checked.
    let guesses = (0..20).map(|_| {
        let (api, email) = (api.clone(), email.clone());
        tokio::spawn(async move { login(&api, &email, "wrong password!!").await.status })
    });
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap().as_u16() {
            401 => checked += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        checked, 6,
        "five free failures and the one that starts the block"
    );
    login(&api, &email, PASSWORD)
        .await
        .expect_error(429, "too_many_attempts");
}
