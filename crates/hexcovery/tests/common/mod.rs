//! Test harness: runs the real `hexcovery serve` binary on loopback port 0 with a temporary
//! data directory and talks to it over HTTP as a client would.

#![allow(dead_code, unused_imports)] // each test binary uses a different part of the harness

pub mod clock;
pub mod otlp;
pub mod raw_grpc;
pub mod receiver;
pub mod smtp;

pub use clock::Clock;
pub use receiver::Receiver;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PASSWORD: &str = "correct horse battery staple";

/// A running server process.
pub struct TestServer {
    child: Child,
    pub base: String,
    /// OTLP/gRPC endpoint, `http://127.0.0.1:PORT`.
    pub grpc: String,
    /// OTLP/HTTP base URL.
    pub otlp_http: String,
    pub data_dir: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A fresh server with its own empty data directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra_args: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(tmp.path(), extra_args);
        server._tmp = Some(tmp);
        server
    }

    /// A server on an existing data directory (to test restarts).
    pub fn start_in(data_dir: &Path, extra_args: &[&str]) -> Self {
        // Test HTTP clients speak TLS through ring (reqwest is built without a provider).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hexcovery"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "--http-addr",
                "127.0.0.1:0",
                "--grpc-addr",
                "127.0.0.1:0",
                "--otlp-http-addr",
                "127.0.0.1:0",
            ])
            .args(extra_args)
            .env("HEXCOVERY_LOG", "info")
            .env_remove("HEXCOVERY_SERVER_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the hexcovery binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel::<(usize, String)>();
        let log_writer = log.clone();
        const MARKERS: [&str; 3] = [
            "HTTP API listening on http://",
            "OTLP/gRPC listening on ",
            "OTLP/HTTP listening on http://",
        ];
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                for (index, marker) in MARKERS.iter().enumerate() {
                    if let Some(rest) = line.split(marker).nth(1) {
                        let addr: String = rest
                            .chars()
                            .take_while(|c| !c.is_whitespace() && *c != '"')
                            .collect();
                        let _ = addr_tx.send((index, addr));
                    }
                }
                log_writer.lock().unwrap().push(line);
            }
        });
        let mut addrs: [Option<String>; 3] = [None, None, None];
        while addrs.iter().any(Option::is_none) {
            match addr_rx.recv_timeout(Duration::from_secs(60)) {
                Ok((index, addr)) => addrs[index] = Some(addr),
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "server did not report its addresses; log:\n{}",
                        log.lock().unwrap().join("\n")
                    );
                }
            }
        }
        let [api, grpc, otlp] = addrs.map(Option::unwrap);
        Self {
            child,
            base: format!("http://{api}"),
            grpc: format!("http://{grpc}"),
            otlp_http: format!("http://{otlp}"),
            data_dir: data_dir.to_path_buf(),
            log,
            _tmp: None,
        }
    }

    /// Kills the process without warning (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's process id (tests read its `/proc` entries).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits (up to 10 s) until the server's log holds `needle`: log lines are read from the
    /// process on another thread, so a line may arrive just after the answer that caused it.
    pub async fn log_contains(&self, needle: &str) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "sending SIGTERM failed");
        self.child.wait().expect("server exits")
    }

    pub fn api(&self) -> Api {
        Api {
            base: self.base.clone(),
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A credential as a client would send it.
#[derive(Clone, Debug)]
pub enum Cred {
    None,
    Jwt(String),
    Key(String),
    /// Raw header pairs, for slot-mixing tests.
    Headers(Vec<(&'static str, String)>),
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `error.code` of an error answer ("" if none).
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {}",
            self.body
        );
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error without message: {}",
            self.body
        );
    }
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn send(&self, method: &str, path: &str, cred: &Cred, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        request = match cred {
            Cred::None => request,
            Cred::Jwt(token) => request.bearer_auth(token),
            Cred::Key(key) => request.header("X-API-Key", key),
            Cred::Headers(pairs) => pairs.iter().fold(request, |r, (k, v)| r.header(*k, v)),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.finish(request).await
    }

    pub async fn finish(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, cred: &Cred) -> Answer {
        self.send("GET", path, cred, None).await
    }

    pub async fn post(&self, path: &str, cred: &Cred, body: Value) -> Answer {
        self.send("POST", path, cred, Some(body)).await
    }

    pub async fn patch(&self, path: &str, cred: &Cred, body: Value) -> Answer {
        self.send("PATCH", path, cred, Some(body)).await
    }

    pub async fn delete(&self, path: &str, cred: &Cred) -> Answer {
        self.send("DELETE", path, cred, None).await
    }

    /// Signs up a new org `slug` with admin `admin@<slug>.io`.
    /// Signs up an org. Retries while the server answers 503 `busy` (password hashing at
    /// capacity, as when tests sign up many orgs at once from one address), as a client
    /// should; any other answer than 201 fails.
    pub async fn signup(&self, slug: &str) -> Session {
        for _ in 0..200 {
            let answer = self
                .post(
                    "/api/v1/auth/signup",
                    &Cred::None,
                    json!({ "org_name": format!("Org {slug}"), "org_slug": slug, "email": format!("admin@{slug}.io"), "password": PASSWORD, "name": "Admin" }),
                )
                .await;
            if answer.status == StatusCode::SERVICE_UNAVAILABLE && answer.code() == "busy" {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            return Session::from_tokens(&answer.expect(201));
        }
        panic!("signup of {slug} stayed busy for 10 s");
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post(
            "/api/v1/auth/login",
            &Cred::None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Invites `email` with `role` into the admin's org and accepts the invite.
    pub async fn add_user(&self, admin: &Session, email: &str, role: &str) -> Session {
        let invite = self
            .post(
                "/api/v1/invites",
                &admin.jwt(),
                json!({ "email": email, "role": role }),
            )
            .await
            .expect(201);
        let url = invite["invite_url"].as_str().unwrap();
        let token = url.split("token=").nth(1).unwrap();
        let body = self
            .post(
                "/api/v1/invites/accept",
                &Cred::None,
                json!({ "token": token, "name": role, "password": PASSWORD }),
            )
            .await
            .expect(201);
        Session::from_tokens(&body)
    }

    /// Creates an API key in the admin's org; returns (id, key).
    pub async fn create_key(&self, admin: &Session, name: &str) -> (String, String) {
        let body = self
            .post("/api/v1/api-keys", &admin.jwt(), json!({ "name": name }))
            .await
            .expect(201);
        (
            body["id"].as_str().unwrap().to_string(),
            body["key"].as_str().unwrap().to_string(),
        )
    }

    /// Waits until the channel's newest delivery has `attempts` recorded attempts.
    ///
    /// A receiver sees a request before the server records how it went, and the server
    /// schedules the retry from its clock at that moment; a test that moves the clock
    /// first would push the retry past the instant it moves to.
    pub async fn attempts_recorded(&self, cred: &Cred, channel_id: &str, attempts: u64) {
        let path = format!("/api/v1/notification-channels/{channel_id}/deliveries");
        let wait = async {
            loop {
                let d = self.get(&path, cred).await.expect(200);
                if d["deliveries"][0]["attempts"].as_u64() >= Some(attempts) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("{attempts} attempts recorded on channel {channel_id}"));
    }
}

/// What a signup, login, refresh or invite acceptance answers.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: String,
    pub org_id: String,
    pub email: String,
}

impl Session {
    pub fn from_tokens(body: &Value) -> Self {
        assert_eq!(body["token_type"], "Bearer", "{body}");
        assert_eq!(body["expires_in"], 900, "{body}");
        Self {
            access_token: body["access_token"].as_str().unwrap().to_string(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_string(),
            user_id: body["user"]["id"].as_str().unwrap().to_string(),
            org_id: body["org"]["id"].as_str().unwrap().to_string(),
            email: body["user"]["email"].as_str().unwrap().to_string(),
        }
    }

    pub fn jwt(&self) -> Cred {
        Cred::Jwt(self.access_token.clone())
    }
}
