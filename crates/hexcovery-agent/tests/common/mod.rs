//! Test harness: the real `hexcovery serve` binary (on loopback, with fixed ports once chosen
//! so a restarted server is found again) and the real `hexcovery-agent` binary, an org with
//! an API key, OQL queries, and waiting for conditions with deadlines.

#![allow(dead_code)] // each test binary uses a different part of the harness

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "correct horse battery staple";

/// The server binary: `HEXCOVERY_SERVER_BIN`, else beside the agent's in the same target
/// directory, built if missing (`cargo nextest run --workspace` builds it; `-p
/// hexcovery-agent` alone does not).
fn server_binary() -> PathBuf {
    // A server built elsewhere (another target directory) may be named.
    if let Some(path) = std::env::var_os("HEXCOVERY_SERVER_BIN") {
        return PathBuf::from(path);
    }
    static BUILT: Mutex<bool> = Mutex::new(false);
    let agent = PathBuf::from(env!("CARGO_BIN_EXE_hexcovery-agent"));
    let path = agent.with_file_name("hexcovery");
    let mut built = BUILT.lock().unwrap();
    if !*built && !path.exists() {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let status = Command::new(cargo)
            .args(["build", "-p", "hexcovery", "--bin", "hexcovery"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the hexcovery server failed");
    }
    *built = true;
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads a child's stderr into a shared log on a thread.
fn capture(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = Arc::new(Mutex::new(Vec::new()));
    let writer = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            writer.lock().unwrap().push(line);
        }
    });
    log
}

/// A running (or stopped) server with fixed addresses.
pub struct Server {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub api: String,
    pub grpc: String,
    otlp: String,
    log: Arc<Mutex<Vec<String>>>,
    _tmp: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tmp = tempfile::tempdir().unwrap();
        let mut server = Self {
            child: None,
            data_dir: tmp.path().to_path_buf(),
            api: format!("127.0.0.1:{}", free_port()),
            grpc: format!("127.0.0.1:{}", free_port()),
            otlp: format!("127.0.0.1:{}", free_port()),
            log: Arc::default(),
            _tmp: tmp,
        };
        server.up();
        server
    }

    /// Starts the process (again) on the same data directory and addresses.
    pub fn up(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut child = Command::new(server_binary())
                .arg("serve")
                .arg("--data-dir")
                .arg(&self.data_dir)
                .args(["--http-addr", &self.api, "--grpc-addr", &self.grpc])
                .args(["--otlp-http-addr", &self.otlp])
                .env("HEXCOVERY_LOG", "info")
                .env_remove("HEXCOVERY_SERVER_KEY")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the hexcovery binary starts");
            self.log = capture(&mut child);
            // Ready once the HTTP API answers; a port still held by the killed process
            // makes the start fail, and it is tried again.
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(&self.api).is_ok()
                    && std::net::TcpStream::connect(&self.grpc).is_ok()
                {
                    self.child = Some(child);
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "server did not start:\n{}",
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(
                Instant::now() < deadline,
                "server did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// A new org and an API key for it.
    pub async fn org(&self, slug: &str) -> Org {
        let http = reqwest::Client::new();
        let body: Value = http
            .post(format!("http://{}/api/v1/auth/signup", self.api))
            .json(
                &json!({"org_name": slug, "org_slug": slug, "email": format!("admin@{slug}.io"),
                "password": PASSWORD, "name": "Admin"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jwt = body["access_token"]
            .as_str()
            .expect("signed up")
            .to_string();
        let key: Value = http
            .post(format!("http://{}/api/v1/api-keys", self.api))
            .bearer_auth(&jwt)
            .json(&json!({"name": "agent"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Org {
            api: self.api.clone(),
            jwt,
            key: key["key"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Org {
    api: String,
    jwt: String,
    pub key: String,
}

impl Org {
    /// Runs an OQL query; `None` while the server cannot answer.
    pub async fn query(&self, oql: &str) -> Option<Value> {
        let response = reqwest::Client::new()
            .post(format!("http://{}/api/v1/dsl", self.api))
            .bearer_auth(&self.jwt)
            .json(&json!({ "query": oql }))
            .send()
            .await
            .ok()?;
        let status = response.status();
        let body: Value = response.json().await.ok()?;
        assert!(
            status.is_success() || status.is_server_error(),
            "{oql}: {body}"
        );
        status.is_success().then_some(body)
    }

    /// (records, distinct bodies) of `service`'s logs.
    pub async fn counts(&self, service: &str) -> Option<(u64, u64)> {
        let body = self
            .query(&format!(
                "SELECT count(*), count_distinct(body) FROM logs WHERE service = '{service}' LAST 1d"
            ))
            .await?;
        let row = &body["rows"][0];
        Some((row[0].as_u64().unwrap_or(0), row[1].as_u64().unwrap_or(0)))
    }

    /// Every body of `service` with how often it is stored (at most 10 000 distinct).
    pub async fn bodies(&self, service: &str) -> Vec<(String, u64)> {
        let body = self
            .query(&format!(
                "SELECT body, count(*) FROM logs WHERE service = '{service}' GROUP BY body LIMIT 10000 LAST 1d"
            ))
            .await
            .expect("the server answers");
        body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
            .collect()
    }

    /// Waits until `service` holds `expected` records (or the deadline), then asserts each
    /// of them is distinct: every line exactly once.
    pub async fn expect_exactly_once(&self, service: &str, expected: u64, within: Duration) {
        self.expect_counts(service, expected, expected, within)
            .await;
    }

    /// Waits until `service` holds `expected` records, then asserts the counts exactly.
    pub async fn expect_counts(
        &self,
        service: &str,
        expected: u64,
        distinct: u64,
        within: Duration,
    ) {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.counts(service).await;
            if last.is_some_and(|(n, _)| n >= expected) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // A little longer: a duplicate arriving late must be seen too.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let (n, got_distinct) = self.counts(service).await.or(last).unwrap_or((0, 0));
        assert_eq!(
            (n, got_distinct),
            (expected, distinct),
            "{service}: (records, distinct) stored vs lines written"
        );
    }
}

/// The agent process with its own queue directory and config file.
pub struct Agent {
    child: Option<Child>,
    pub dir: PathBuf,
    pub config: PathBuf,
    key: String,
    log: Arc<Mutex<Vec<String>>>,
    pub status: Option<String>,
    /// More environment for the process (`HEXCOVERY_AGENT_*` overrides).
    pub env: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
}

impl Agent {
    /// `logs` is TOML for the `[[logs]]` tables; `extra` more settings (sections included).
    pub fn config_text(server: &Server, queue_dir: &Path, logs: &str, extra: &str) -> String {
        format!(
            "[server]\nendpoint = \"{}\"\nbackoff_max = \"2s\"\n[host]\nname = \"test-host\"\n\
             [metrics]\ninterval = \"1s\"\n[queue]\ndir = \"{}\"\n{extra}\n{logs}\n",
            server.endpoint(),
            queue_dir.display()
        )
    }

    pub fn new(server: &Server, key: &str, logs: &str, extra: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("queue");
        let config = tmp.path().join("agent.toml");
        std::fs::write(&config, Self::config_text(server, &dir, logs, extra)).unwrap();
        Self {
            child: None,
            dir,
            config,
            key: key.to_string(),
            log: Arc::default(),
            status: None,
            env: Vec::new(),
            _tmp: tmp,
        }
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none());
        let mut child = Command::new(env!("CARGO_BIN_EXE_hexcovery-agent"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .args(["--status-addr", "127.0.0.1:0"])
            .env("HEXCOVERY_AGENT_API_KEY", &self.key)
            .env("HEXCOVERY_AGENT_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the agent starts");
        self.log = capture(&mut child);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        self.status = loop {
            if let Some(addr) = self
                .log()
                .split("status listening on http://")
                .nth(1)
                .map(|rest| rest.split_whitespace().next().unwrap().to_string())
            {
                break Some(addr);
            }
            assert!(
                Instant::now() < deadline,
                "agent did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM and wait; the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.child.take().unwrap().wait().unwrap()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The `--status-addr` JSON.
    pub fn status(&self) -> Value {
        let mut stream = std::net::TcpStream::connect(self.status.as_ref().unwrap()).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stream, &mut text).unwrap();
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl Agent {
    /// Waits until the agent has read every byte of its files (seen twice, 600 ms apart, so
    /// files created in between are found by a poll).
    pub async fn wait_caught_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let idle = |s: &Value| {
            s["unread_bytes"].as_u64() == Some(0)
                && s["deferred_files"].as_u64() == Some(0)
                && s["files_tailed"].as_u64() > Some(0)
        };
        loop {
            if idle(&self.status()) {
                tokio::time::sleep(Duration::from_millis(600)).await;
                if idle(&self.status()) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not catch up:\n{}",
                self.status()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Polls `condition` every 50 ms until it holds; panics with `what` at the deadline.
pub async fn wait_for(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Appends lines to a file.
pub fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    f.write_all(text.as_bytes()).unwrap();
}

/// Lines `tag 000000` … numbered from `from`.
pub fn numbered(tag: &str, from: usize, count: usize) -> Vec<String> {
    (from..from + count)
        .map(|i| format!("{tag} {i:06}"))
        .collect()
}

/// The logs group TOML for `glob` (absolute) and `service`, read from the beginning.
pub fn logs(glob: &str, service: &str) -> String {
    format!("[[logs]]\ninclude = [\"{glob}\"]\nstart_at = \"beginning\"\nservice = \"{service}\"\n")
}

/// Whether the server stores a repeated `x-hexcovery-batch-id` once (the server side of
/// issue #14). Two exports of one request under one batch id, then a count.
pub async fn server_dedups(server: &Server, org: &Org) -> bool {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    let string = |s: &str| {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(s.into())),
        })
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: string("dedup-probe"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: now,
                    body: string("probe"),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut client = LogsServiceClient::connect(server.endpoint()).await.unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    for _ in 0..2 {
        let mut r = tonic::Request::new(request.clone());
        r.metadata_mut()
            .insert("x-api-key", org.key.parse().unwrap());
        r.metadata_mut()
            .insert("x-hexcovery-batch-id", id.parse().unwrap());
        client.export(r).await.expect("the probe is stored");
    }
    let stored = org.counts("dedup-probe").await.map_or(0, |(n, _)| n);
    eprintln!("server deduplicates batch ids: {}", stored == 1);
    stored == 1
}

impl Org {
    /// Exactly once when the server deduplicates batch ids; without that (issue #14's server
    /// side not there yet) every line at least once, the duplicates reported.
    pub async fn expect_delivered(
        &self,
        dedup: bool,
        service: &str,
        expected: u64,
        within: Duration,
    ) {
        if dedup {
            return self.expect_exactly_once(service, expected, within).await;
        }
        let deadline = Instant::now() + within;
        loop {
            let (n, distinct) = self.counts(service).await.unwrap_or((0, 0));
            if distinct >= expected || Instant::now() > deadline {
                assert_eq!(
                    distinct, expected,
                    "{service}: distinct lines stored vs written"
                );
                eprintln!(
                    "{service}: every line stored; {} duplicates (the server does not deduplicate batch ids)",
                    n - distinct
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
