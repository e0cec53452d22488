//! Password hashing under attack, against the real server: a flood of wrong-password logins
//! from many addresses in three networks is held to the bounded hashing pool (the overflow of
//! each network's lane answered 503 `busy` with Retry-After) while another org's OTLP ingest
//! is served and a valid login from another network waits about one hash per flooding lane; an invite accept with a wrong token costs no hash; signups are throttled per client
//! address; and an unknown email or a taken one answers no faster than a known one.

mod common;

use common::*;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// An API client whose connections come from `addr` (any 127.x.y.z is this machine).
fn api_from(server: &TestServer, addr: Ipv4Addr) -> Api {
    Api {
        base: server.api().base,
        http: reqwest::Client::builder()
            .local_address(IpAddr::V4(addr))
            .build()
            .unwrap(),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn timed(answer: impl std::future::Future<Output = Answer>) -> (Duration, Answer) {
    let started = Instant::now();
    let answer = answer.await;
    (started.elapsed(), answer)
}

async fn send_one_log(server: &TestServer, http: &reqwest::Client, key: &str) -> Duration {
    let nanos = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap()
        .to_string();
    let body = json!({"resourceLogs": [{"resource": otlp::resource("steady", "web-1"),
        "scopeLogs": [{"logRecords": [{"timeUnixNano": nanos, "body": {"stringValue": "tick"}}]}]}]});
    let started = Instant::now();
    let response = http
        .post(format!("{}/v1/logs", server.otlp_http))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_leaves_ingest_and_a_valid_login_served() {
    let server = Arc::new(TestServer::start());
    let api = server.api();
    let steady = api.signup("steady").await;
    let (_, key) = api.create_key(&steady, "ingest").await;
    let http = reqwest::Client::new();
    let mut alone = Vec::new();
    for _ in 0..10 {
        alone.push(send_one_log(&server, &http, &key).await);
    }
    // What one valid login (one hash) takes on this machine with nothing else hashing.
    let mut logins_alone = Vec::new();
    for _ in 0..3 {
        let (took, answer) = timed(api.login(&steady.email, PASSWORD)).await;
        answer.expect(200);
        logins_alone.push(took);
    }
    let login_alone = median(logins_alone);

    // Three flooding networks (127.0.1-3.0/24, three lanes of the hashing queue), each from
    // more addresses than its lane may queue (one slot per two cores, four waiting per slot
    // per lane), so every lane overflows; each address tries emails that have no account.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slots = (cores / 2).max(1);
    let lanes = 3u8;
    let per_lane = (slots * 8).min(250);
    let attackers = lanes as usize * per_lane;
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, busy) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let busy_lanes: Arc<Vec<AtomicUsize>> =
        Arc::new((0..lanes).map(|_| AtomicUsize::new(0)).collect());
    let flood: Vec<_> = (0..attackers)
        .map(|i| {
            let lane = (i / per_lane) as u8;
            let host = (i % per_lane) as u8 + 1;
            let attacker = api_from(&server, Ipv4Addr::new(127, 0, lane + 1, host));
            let (stop, answered, busy, busy_lanes) = (
                stop.clone(),
                answered.clone(),
                busy.clone(),
                busy_lanes.clone(),
            );
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let answer = attacker
                        .login(&format!("nobody-{i}-{n}@flood.io"), "wrong password!!")
                        .await;
                    match (answer.status.as_u16(), answer.code()) {
                        (401, "invalid_credentials") => {}
                        // This address used its free failures: it is done.
                        (429, "too_many_attempts") => break,
                        (503, "busy") => {
                            assert_eq!(answer.headers["retry-after"], "1");
                            busy.fetch_add(1, Ordering::Relaxed);
                            busy_lanes[lane as usize].fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("unexpected answer to the flood: {other:?}"),
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // The flood is on once every flooding lane has been turned away.
    tokio::time::timeout(Duration::from_secs(60), async {
        while busy_lanes.iter().any(|b| b.load(Ordering::Relaxed) == 0) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the flood overflows each lane of the hashing queue");

    // A valid login from another network is queued in its own lane and served after about
    // one hash per flooding lane (and the one running): at once, never `busy`.
    let busy_before = busy.load(Ordering::Relaxed);
    let mut valid_logins = Vec::new();
    for _ in 0..3 {
        let (took, answer) = timed(api.login(&steady.email, PASSWORD)).await;
        answer.expect(200);
        valid_logins.push(took);
    }
    let flood_went_on = busy.load(Ordering::Relaxed) > busy_before;
    let mut during = Vec::new();
    for _ in 0..10 {
        during.push(send_one_log(&server, &http, &key).await);
    }
    stop.store(true, Ordering::Relaxed);
    for attacker in flood {
        attacker.await.unwrap();
    }
    let worst_login = *valid_logins.iter().max().unwrap();
    eprintln!(
        "ingest alone: median {:?}, max {:?}; under a flood of {attackers} from {lanes} networks (answered {}, busy {}): median {:?}, max {:?}; valid login alone {login_alone:?}, during the flood {valid_logins:?}",
        median(alone.clone()),
        alone.iter().max().unwrap(),
        answered.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        median(during.clone()),
        during.iter().max().unwrap(),
    );
    assert!(
        flood_went_on,
        "the flood was still being turned away while the valid logins ran"
    );
    assert!(
        *during.iter().max().unwrap() < Duration::from_secs(2),
        "ingest stays served: {during:?}"
    );
    // Its own hash, the one running when it arrived and one per flooding lane ahead of it:
    // five hashes, doubled for a loaded machine, plus scheduling slack.
    let bound = login_alone * (u32::from(lanes) + 2) * 2 + Duration::from_millis(300);
    assert!(
        worst_login < bound,
        "a valid login waits about one hash per flooding lane: {valid_logins:?}, bound {bound:?} (one hash alone {login_alone:?})"
    );
}

#[tokio::test]
async fn an_invite_accept_with_a_wrong_token_costs_no_hash() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    // A real invite exists, so the lookup is not of an empty table.
    api.post(
        "/api/v1/invites",
        &admin.jwt(),
        json!({ "email": "new@acme.io", "role": "viewer" }),
    )
    .await
    .expect(201);
    let mut accepts = Vec::new();
    let mut logins = Vec::new();
    for i in 0..7 {
        let bad =
            json!({ "token": format!("hxi_not-a-token-{i}"), "name": "X", "password": PASSWORD });
        let (took, answer) = timed(api.post("/api/v1/invites/accept", &Cred::None, bad)).await;
        answer.expect_error(404, "not_found");
        accepts.push(took);
        // The same work with a hash: a login of an email without an account.
        let (took, answer) = timed(api.login(&format!("nobody{i}@acme.io"), PASSWORD)).await;
        answer.expect_error(401, "invalid_credentials");
        logins.push(took);
    }
    let (accept, login) = (median(accepts), median(logins));
    eprintln!("wrong-token accept: median {accept:?}; login (one hash): median {login:?}");
    assert!(
        accept * 3 < login,
        "a wrong token answers before any hash: {accept:?} vs {login:?}"
    );
}

#[tokio::test]
async fn signups_are_throttled_per_client_address() {
    let server = TestServer::start_with(&["--max-signups-per-address", "3"]);
    let api = server.api();
    for slug in ["one", "two", "three"] {
        api.signup(slug).await;
    }
    let signup = |slug: &str| json!({ "org_name": "Org", "org_slug": slug, "email": format!("admin@{slug}.io"), "password": PASSWORD, "name": "Admin" });
    let refused = api
        .post("/api/v1/auth/signup", &Cred::None, signup("four"))
        .await;
    refused.expect_error(429, "too_many_signups");
    assert_eq!(refused.headers["retry-after"], "60");
    api.post("/api/v1/auth/signup", &Cred::None, signup("five"))
        .await
        .expect_error(429, "too_many_signups");
    // Nothing was created for the refused ones; another address still signs up.
    api.login("admin@four.io", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    let other = api_from(&server, Ipv4Addr::new(127, 0, 2, 1));
    other
        .post("/api/v1/auth/signup", &Cred::None, signup("four"))
        .await
        .expect(201);
}

#[tokio::test]
async fn unknown_and_taken_emails_answer_no_faster() {
    let server = TestServer::start();
    let api = server.api();
    let admin = api.signup("acme").await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let (took, answer) = timed(api.login(&admin.email, "wrong password!!")).await;
        answer.expect_error(401, "invalid_credentials");
        known.push(took);
        let (took, answer) =
            timed(api.login(&format!("nobody{i}@acme.io"), "wrong password!!")).await;
        answer.expect_error(401, "invalid_credentials");
        unknown.push(took);
    }
    let (known, unknown) = (median(known), median(unknown));
    eprintln!("wrong password: median {known:?}; unknown email: median {unknown:?}");
    assert!(
        unknown * 2 > known,
        "an unknown email costs a hash too: {unknown:?} vs {known:?}"
    );

    // Inviting an email that has an account answers email_taken, as late as an invite.
    let jwt = admin.jwt();
    let invite = |email: &str| {
        api.post(
            "/api/v1/invites",
            &jwt,
            json!({ "email": email, "role": "viewer" }),
        )
    };
    let (taken, answer) = timed(invite(&admin.email)).await;
    answer.expect_error(409, "email_taken");
    let (invited, answer) = timed(invite("new@acme.io")).await;
    answer.expect(201);
    eprintln!("email_taken: {taken:?}; invited: {invited:?}");
    assert!(taken >= Duration::from_millis(150), "{taken:?}");
    assert!(invited >= Duration::from_millis(150), "{invited:?}");
}
