//! Invite emails over SMTP against the real server and a small SMTP server in the test: the
//! message arrives with the working link and the server's credentials (and the outbox then
//! keeps it without the token), a refused recipient
//! fails without retries, a mail server that is down gets the message once it is back (even
//! across a crash of ours) unless its invite was revoked meanwhile, and a bad mail
//! configuration stops the server at start.

mod common;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use common::smtp::*;
use common::*;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;

const FROM: &str = "Hexcovery <hexcovery@example.test>";

/// Invites `email` as an editor; the answer.
async fn invite(api: &Api, admin: &Session, email: &str) -> Value {
    api.post(
        "/api/v1/invites",
        &admin.jwt(),
        json!({ "email": email, "role": "editor" }),
    )
    .await
    .expect(201)
}

/// Waits until the outbox message `id` satisfies `done`; returns it.
async fn outbox_message(
    api: &Api,
    admin: &Session,
    id: &Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let wait = async {
        loop {
            let outbox = api.get("/api/v1/outbox", &admin.jwt()).await.expect(200);
            let message = outbox["messages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| &m["id"] == id)
                .expect("the message is in the outbox")
                .clone();
            if done(&message) {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the outbox message reaches the expected state")
}

#[tokio::test]
async fn invite_email_arrives_through_the_mail_server_with_a_working_link() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut inbox = fake_smtp(listener, Recipients::Accept);
    let smtp_url = format!("smtp://mailer:s3cret-pass@127.0.0.1:{port}");
    let server = TestServer::start_with(&["--smtp-url", &smtp_url, "--smtp-from", FROM]);
    let api = server.api();
    let admin = api.signup("mailed").await;

    let answer = invite(&api, &admin, "new.person@mailed.io").await;
    assert_eq!(answer["email_message"]["status"], "pending");
    let url = answer["invite_url"].as_str().unwrap();

    let mail = next_mail(&mut inbox).await;
    assert_eq!(
        mail.auth.as_deref(),
        Some("AG1haWxlcgBzM2NyZXQtcGFzcw=="),
        "AUTH PLAIN with the user and password of --smtp-url"
    );
    assert_eq!(mail.mail_from, "<hexcovery@example.test>");
    assert_eq!(mail.rcpt_to, ["<new.person@mailed.io>"]);
    assert_eq!(mail.header("From"), FROM);
    assert_eq!(mail.header("To"), "new.person@mailed.io");
    assert!(mail.header("Subject").contains("Org mailed"));
    assert_eq!(
        mail.header("Message-ID"),
        format!(
            "<{}@hexcovery>",
            answer["email_message"]["id"].as_str().unwrap()
        )
    );
    assert!(mail.body().contains(url), "{}", mail.body());

    let sent = outbox_message(&api, &admin, &answer["email_message"]["id"], |m| {
        m["status"] == "sent"
    })
    .await;
    assert_eq!(sent["attempts"], 1);
    assert!(sent["sent_at"].is_string());

    // Once sent, the outbox keeps the message but not the token: the recipient has it.
    let token = url.split("token=").nth(1).unwrap();
    let kept = outbox_message(&api, &admin, &answer["email_message"]["id"], |m| {
        !m["body"].as_str().unwrap().contains("hxi_")
    })
    .await;
    let body = kept["body"].as_str().unwrap();
    assert!(!body.contains(token), "{body}");
    assert!(
        body.contains("/invite?token=[removed once sent]") && body.contains("Accept the invite"),
        "{body}"
    );
    assert_eq!(kept["status"], "sent");

    // The link in the email works, once.
    let accept = json!({ "token": token, "name": "New Person", "password": PASSWORD });
    let joined = api
        .post("/api/v1/invites/accept", &Cred::None, accept.clone())
        .await
        .expect(201);
    assert_eq!(joined["user"]["role"], "editor");
    api.post("/api/v1/invites/accept", &Cred::None, accept)
        .await
        .expect_error(404, "not_found");

    // With a mail server the link is not written to the log, nor the mail password ever.
    let log = server.log();
    assert!(!log.contains(token), "the invite token is not logged");
    assert!(
        !log.contains("s3cret-pass"),
        "the SMTP password is not logged"
    );
    assert!(
        log.contains("127.0.0.1:"),
        "the mail server is named in the log"
    );
}

#[tokio::test]
async fn a_refused_recipient_fails_at_once_and_stays_readable_in_the_outbox() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _inbox = fake_smtp(listener, Recipients::Refuse);
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let server = TestServer::start_with(&["--smtp-url", &smtp_url, "--smtp-from", FROM]);
    let api = server.api();
    let admin = api.signup("refused").await;

    let answer = invite(&api, &admin, "nobody@refused.io").await;
    let failed = outbox_message(&api, &admin, &answer["email_message"]["id"], |m| {
        // Past its attempt: not waiting, and not in the middle of being sent.
        m["status"] != "pending" && m["status"] != "sending"
    })
    .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["attempts"], 1, "a permanent refusal is not retried");
    assert_eq!(
        failed["last_error"], "the mail server refused the message (550)",
        "the code, not the server's own words (they describe the operator's setup)"
    );
    assert!(failed["body"].as_str().unwrap().contains("token=hxi_"));
}

/// The server's clock for mail retries, in a file (`--test-clock-file`).
struct Clock {
    path: PathBuf,
    start: DateTime<Utc>,
}

impl Clock {
    fn new(dir: &Path) -> Self {
        let clock = Clock {
            path: dir.join("now"),
            start: Utc::now().trunc_subsecs(0),
        };
        clock.set_seconds(0);
        clock
    }

    fn set_seconds(&self, seconds: i64) {
        let at = self.start + TimeDelta::seconds(seconds);
        std::fs::write(&self.path, at.to_rfc3339()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_waits_for_a_server_that_is_down_even_across_a_crash() {
    // A port with nobody listening: the mail server is down.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let data = tempfile::tempdir().unwrap();
    let clock = Clock::new(data.path());
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let args = [
        "--smtp-url",
        &smtp_url,
        "--smtp-from",
        FROM,
        "--test-clock-file",
        clock.path.to_str().unwrap(),
    ];
    let mut server = TestServer::start_in(data.path(), &args);
    let api = server.api();
    let admin = api.signup("patient").await;
    // The first invite is revoked while its email waits: the email must never go out.
    let revoked = invite(&api, &admin, "gone@patient.io").await;
    let answer = invite(&api, &admin, "later@patient.io").await;
    let id = answer["email_message"]["id"].clone();

    // Its first attempt has ended (the claim counts it before the send finishes).
    let waiting = outbox_message(&api, &admin, &id, |m| {
        m["attempts"] == 1 && m["status"] != "sending"
    })
    .await;
    let revoked_id = revoked["id"].as_str().unwrap();
    api.delete(&format!("/api/v1/invites/{revoked_id}"), &admin.jwt())
        .await
        .expect(204);
    let cancelled = outbox_message(&api, &admin, &revoked["email_message"]["id"], |_| true).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["invite_id"], revoked_id);
    assert_eq!(waiting["status"], "pending", "{waiting}");
    assert!(waiting["last_error"].is_string());
    let next = DateTime::parse_from_rfc3339(waiting["next_attempt_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        (next.with_timezone(&Utc) - clock.start).num_seconds(),
        10,
        "the first retry waits ten seconds"
    );

    // We crash while the message waits; the mail server comes back; we restart.
    server.kill();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("the mail server's port is free again");
    let mut inbox = fake_smtp(listener, Recipients::Accept);
    let server = TestServer::start_in(data.path(), &args);
    let api = server.api();
    let admin = Session::from_tokens(&api.login(&admin.email, PASSWORD).await.expect(200));
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), inbox.recv())
            .await
            .is_err(),
        "nothing is sent before the retry is due"
    );
    clock.set_seconds(11);
    // The revoked invite's email was due first (same retry time, older id): had it not been
    // cancelled, it would be the first to arrive.
    let mail = next_mail(&mut inbox).await;
    assert_eq!(mail.rcpt_to, ["<later@patient.io>"]);
    let sent = outbox_message(&api, &admin, &id, |m| m["status"] == "sent").await;
    assert_eq!(sent["attempts"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_goes_silent_does_not_hold_up_a_stop() {
    // Accepts connections and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let mut server = TestServer::start_with(&["--smtp-url", &smtp_url, "--smtp-from", FROM]);
    let api = server.api();
    let admin = api.signup("silent").await;
    let answer = invite(&api, &admin, "waiting@silent.io").await;
    let sending = outbox_message(&api, &admin, &answer["email_message"]["id"], |m| {
        m["status"] == "sending"
    })
    .await;
    assert_eq!(sending["attempts"], 1, "the attempt is claimed: {sending}");
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(
        status.success(),
        "the stop is not held by the silent server"
    );
}

#[test]
fn a_bad_mail_configuration_stops_the_server_at_start() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hexcovery"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data.path())
            .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
            .args(["--otlp-http-addr", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("the binary runs");
        assert!(!output.status.success(), "{args:?} must not start");
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    let stderr = run(&[
        "--smtp-url",
        "http://mail.example.test",
        "--smtp-from",
        FROM,
    ]);
    assert!(
        stderr.contains("--smtp-url must look like smtp://"),
        "{stderr}"
    );
    let stderr = run(&[
        "--smtp-url",
        "smtp://mail.example.test",
        "--smtp-from",
        "nobody",
    ]);
    assert!(stderr.contains("--smtp-from"), "{stderr}");
    let stderr = run(&[
        "--smtp-url",
        "smtp://user:pass@mail.example.test:587",
        "--smtp-from",
        FROM,
    ]);
    assert!(stderr.contains("does not require TLS"), "{stderr}");
    assert!(!stderr.contains("pass@"), "the URL is not echoed: {stderr}");
    let stderr = run(&["--smtp-url", "smtp://mail.example.test"]);
    assert!(
        stderr.contains("--smtp-from"),
        "clap names the missing flag: {stderr}"
    );
}
