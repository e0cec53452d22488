//! Two-factor authentication over HTTP, with the server's clock read from a file so codes are
//! computed for exact instants: setup, enable, login with and without the code, one use per
//! code, ±1 step of skew, recovery codes, regeneration, disable, and the refusals.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use hexcovery_auth::totp::TotpKey;
use serde_json::json;

struct Clock {
    path: std::path::PathBuf,
    now: std::cell::Cell<DateTime<Utc>>,
}

impl Clock {
    fn set(&self, at: DateTime<Utc>) {
        self.now.set(at);
        std::fs::write(&self.path, at.to_rfc3339()).unwrap();
    }

    fn advance(&self, secs: i64) {
        self.set(self.now.get() + TimeDelta::seconds(secs));
    }

    fn secs(&self) -> u64 {
        self.now.get().timestamp() as u64
    }
}

async fn login(api: &Api, email: &str, code: Option<&str>) -> Answer {
    let mut body = json!({ "email": email, "password": PASSWORD });
    if let Some(code) = code {
        body["totp_code"] = json!(code);
    }
    api.post("/api/v1/auth/login", &Cred::None, body).await
}

#[tokio::test]
async fn two_factor_login_from_setup_to_disable() {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock {
        path: data.path().join("now"),
        now: std::cell::Cell::new(
            DateTime::parse_from_rfc3339("2026-11-22T10:00:10Z")
                .unwrap()
                .with_timezone(&Utc),
        ),
    };
    clock.set(clock.now.get());
    let server = TestServer::start_in(
        data.path(),
        &["--test-clock-file", clock.path.to_str().unwrap()],
    );
    let api = server.api();
    let admin = api.signup("acme").await;
    let email = "admin@acme.io";

    // Setup: a secret and its URI, not active yet.
    let setup = api
        .post("/api/v1/auth/totp/setup", &admin.jwt(), json!({}))
        .await
        .expect(200);
    let secret = setup["secret"].as_str().unwrap();
    assert!(
        setup["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Hexcovery:admin%40acme.io?secret=")
    );
    let key = TotpKey::from_base32(secret, email).unwrap();
    login(&api, email, None).await.expect(200);
    let me = api.get("/api/v1/me", &admin.jwt()).await.expect(200);
    assert_eq!(
        me["totp_enabled"], false,
        "a setup alone does not turn 2FA on"
    );

    // Enable needs the password (a stolen session cannot turn 2FA on) and a right code.
    let code_now = key.code_at(clock.secs());
    api.post(
        "/api/v1/auth/totp/enable",
        &admin.jwt(),
        json!({"code": code_now}),
    )
    .await
    .expect_error(400, "invalid_request");
    let wrong = api
        .post(
            "/api/v1/auth/totp/enable",
            &admin.jwt(),
            json!({"code": code_now, "password": "not the password at all"}),
        )
        .await;
    wrong.expect_error(403, "wrong_password");
    assert_eq!(wrong.body["error"]["field"], "password");
    let me = api.get("/api/v1/me", &admin.jwt()).await.expect(200);
    assert_eq!(
        me["totp_enabled"], false,
        "a wrong password turns nothing on"
    );
    api.post(
        "/api/v1/auth/totp/enable",
        &admin.jwt(),
        json!({"code": "000000", "password": PASSWORD}),
    )
    .await
    .expect_error(400, "invalid_totp_code");
    let enabled = api
        .post(
            "/api/v1/auth/totp/enable",
            &admin.jwt(),
            json!({"code": code_now, "password": PASSWORD}),
        )
        .await
        .expect(200);
    let recovery: Vec<String> = enabled["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    api.post("/api/v1/auth/totp/setup", &admin.jwt(), json!({}))
        .await
        .expect_error(409, "totp_already_enabled");
    let me = api.get("/api/v1/me", &admin.jwt()).await.expect(200);
    assert_eq!(me["totp_enabled"], true);

    // Login now needs the code; the code that enabled 2FA is spent already.
    login(&api, email, None)
        .await
        .expect_error(401, "totp_required");
    login(&api, email, Some(&key.code_at(clock.secs())))
        .await
        .expect_error(401, "invalid_totp_code");
    clock.advance(30);
    let code = key.code_at(clock.secs());
    login(&api, email, Some(&code)).await.expect(200);
    login(&api, email, Some(&code))
        .await
        .expect_error(401, "invalid_totp_code");

    // ±1 step of clock skew: the next step's code is accepted; two steps off is not.
    clock.advance(60);
    login(&api, email, Some(&key.code_at(clock.secs() - 60)))
        .await
        .expect_error(401, "invalid_totp_code");
    login(&api, email, Some(&key.code_at(clock.secs() + 30)))
        .await
        .expect(200);
    // An earlier step than one already accepted is refused too.
    login(&api, email, Some(&key.code_at(clock.secs())))
        .await
        .expect_error(401, "invalid_totp_code");

    // A recovery code works once (case and dash do not matter).
    let spoken = recovery[0].to_uppercase().replace('-', "");
    login(&api, email, Some(&spoken)).await.expect(200);
    login(&api, email, Some(&recovery[0]))
        .await
        .expect_error(401, "invalid_totp_code");

    // Regenerating needs a code and makes the old codes useless (the step accepted last was
    // one ahead of the clock, so the next fresh code is two steps on).
    clock.advance(60);
    let fresh = api
        .post(
            "/api/v1/auth/totp/recovery-codes",
            &admin.jwt(),
            json!({"code": key.code_at(clock.secs())}),
        )
        .await
        .expect(200);
    assert_eq!(fresh["recovery_codes"].as_array().unwrap().len(), 10);
    login(&api, email, Some(&recovery[1]))
        .await
        .expect_error(401, "invalid_totp_code");
    let new_code = fresh["recovery_codes"][0].as_str().unwrap();

    // Disable: password and a code (a recovery code will do).
    api.post(
        "/api/v1/auth/totp/disable",
        &admin.jwt(),
        json!({"password": "wrong password!!", "code": new_code}),
    )
    .await
    .expect_error(403, "wrong_password");
    api.post(
        "/api/v1/auth/totp/disable",
        &admin.jwt(),
        json!({"password": PASSWORD, "code": "123456"}),
    )
    .await
    .expect_error(403, "invalid_totp_code");
    api.post(
        "/api/v1/auth/totp/disable",
        &admin.jwt(),
        json!({"password": PASSWORD, "code": new_code}),
    )
    .await
    .expect(204);
    login(&api, email, None).await.expect(200);
    let me = api.get("/api/v1/me", &admin.jwt()).await.expect(200);
    assert_eq!(me["totp_enabled"], false);

    // Every step is in the audit log.
    let audit = api
        .get("/api/v1/audit?limit=100", &admin.jwt())
        .await
        .expect(200);
    let actions: Vec<(&str, &str, &str)> = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("auth.totp"))
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["detail"]["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("auth.totp.disable", "success", ""),
            ("auth.totp.disable", "failure", "wrong_totp_code"),
            ("auth.totp.disable", "failure", "wrong_password"),
            ("auth.totp.recovery_codes", "success", ""),
            ("auth.totp.enable", "success", ""),
            ("auth.totp.enable", "failure", "wrong_password"),
            ("auth.totp.setup", "success", ""),
        ]
    );
    let failures = audit["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"]["reason"] == "wrong_totp_code")
        .count();
    assert!(failures >= 4, "failed second factors are audited");
}

#[tokio::test]
async fn enabling_needs_a_setup_first() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    api.post(
        "/api/v1/auth/totp/enable",
        &admin.jwt(),
        json!({"code": "123456", "password": PASSWORD}),
    )
    .await
    .expect_error(409, "totp_not_set_up");
    api.post(
        "/api/v1/auth/totp/disable",
        &admin.jwt(),
        json!({"password": PASSWORD, "code": "123456"}),
    )
    .await
    .expect_error(409, "totp_not_enabled");
    api.post(
        "/api/v1/auth/totp/recovery-codes",
        &admin.jwt(),
        json!({"code": "123456"}),
    )
    .await
    .expect_error(409, "totp_not_enabled");
}
