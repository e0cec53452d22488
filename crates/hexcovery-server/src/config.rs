//! Server configuration, as the command line and `HEXCOVERY_*` environment give it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Whether anyone may create a new org by signing up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupMode {
    Open,
    /// Only the very first org of an installation may sign up (bootstrap); after that new
    /// people join existing orgs by invitation.
    Disabled,
}

impl FromStr for SignupMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(SignupMode::Open),
            "disabled" => Ok(SignupMode::Disabled),
            other => Err(format!(
                "unknown signup mode {other:?}: use open or disabled"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the metastore, the server key and (later) telemetry live.
    pub data_dir: PathBuf,
    /// API and dashboard.
    pub http_addr: SocketAddr,
    /// OTLP/gRPC ingest.
    pub grpc_addr: SocketAddr,
    /// OTLP/HTTP ingest.
    pub otlp_http_addr: SocketAddr,
    /// The URL people reach the server at; links in emails use it, and refresh-token cookies
    /// are marked `Secure` when it is https.
    pub public_url: String,
    pub signup: SignupMode,
    /// How long an invite link stays valid.
    pub invite_ttl_hours: u32,
    /// Invites an org may create in 24 hours: each may send an email from the operator's
    /// mail server, so an org (signup is open) cannot turn it into a spam relay.
    pub max_invites_per_day: u32,
    /// Signups one client address may make before the signup throttle blocks it (0: no
    /// limit); see `throttle::signup_policy`.
    pub max_signups_per_address: u32,
    /// Largest OTLP request accepted, uncompressed (gRPC message or HTTP body).
    pub max_request_bytes: usize,
    /// Telemetry held in memory before ingest sheds load (503 / Unavailable).
    pub max_buffer_bytes: usize,
    /// Memory OTLP requests in flight may hold at once, server-wide (bodies as received,
    /// inflated, and an estimate of their decoded form); beyond it, 503 / Unavailable.
    pub max_inflight_bytes: usize,
    /// Buffered telemetry is written to Parquet at least this often.
    pub flush_interval: std::time::Duration,
    /// An org with everything flushed and untouched this long closes its files.
    pub idle_org_unload_after: std::time::Duration,
    /// Orgs kept loaded at most; past it the least recently used are unloaded.
    pub max_loaded_orgs: usize,
    /// The server key as 64 hex characters. When absent, the key is read from (or created
    /// at) `<data_dir>/server.key`. Every node of a cluster must share one key.
    pub server_key: Option<String>,
    /// OQL: per-query time and memory limits, result cap, concurrency.
    pub query_limits: crate::query::QueryLimits,
    /// The mail server invite emails go through; without one they stay in the org's outbox.
    pub smtp: Option<SmtpConfig>,
    /// Tests only: read "now" for heartbeats and mail retries from this file (see
    /// `clock::Clock::File`).
    pub test_clock_file: Option<PathBuf>,
}

/// Where and as whom to send mail.
#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtp://host[:port]` (plain, port 25), `smtp://host[:port]?tls=required` (STARTTLS,
    /// port 587) or `smtps://host[:port]` (TLS, port 465), with optional `user:password@`.
    pub url: String,
    /// The `From` mailbox, `Name <address>` or a bare address.
    pub from: String,
}

/// The URL carries the mail server's password: debug output shows neither.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &"<redacted>")
            .field("from", &self.from)
            .finish()
    }
}

impl ServerConfig {
    /// The embedded defaults, with a data directory.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            http_addr: ([0, 0, 0, 0], 8080).into(),
            grpc_addr: ([0, 0, 0, 0], 4317).into(),
            otlp_http_addr: ([0, 0, 0, 0], 4318).into(),
            public_url: "http://localhost:8080".into(),
            signup: SignupMode::Open,
            invite_ttl_hours: 72,
            max_invites_per_day: 100,
            max_signups_per_address: 20,
            max_request_bytes: 16 << 20,
            max_buffer_bytes: 1 << 30,
            max_inflight_bytes: 256 << 20,
            flush_interval: std::time::Duration::from_secs(10),
            idle_org_unload_after: std::time::Duration::from_secs(60),
            max_loaded_orgs: 256,
            server_key: None,
            query_limits: crate::query::QueryLimits::default(),
            smtp: None,
            test_clock_file: None,
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
