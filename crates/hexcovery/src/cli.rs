//! The command line: `hexcovery serve` and its flags, each also an `HEXCOVERY_*` variable,
//! and `hexcovery repair`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use hexcovery_server::{ServerConfig, SignupMode};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hexcovery",
    version,
    about = "Multi-tenant observability: metrics, logs and traces over OTLP, queried with OQL"
)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, env = "HEXCOVERY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API, dashboard and OTLP ingest).
    Serve(Box<ServeArgs>),
    /// Inspect a stopped server's data directory: damaged write-ahead-log segments,
    /// quarantined copies, unreadable manifests. Exits 1 when something is damaged.
    Repair(RepairArgs),
}

#[derive(Args)]
struct RepairArgs {
    /// The data directory of a server that is not running.
    #[arg(long, env = "HEXCOVERY_DATA_DIR", default_value = "./hexcovery-data")]
    data_dir: PathBuf,
    /// Recover damaged segments now: copy each aside (`.corrupt-<time>`) and keep its
    /// intact records, as the server would at start. Manifests are only reported.
    #[arg(long)]
    quarantine: bool,
}

#[derive(Args)]
struct ServeArgs {
    /// Directory for the metadata store, the server key and telemetry.
    #[arg(long, env = "HEXCOVERY_DATA_DIR", default_value = "./hexcovery-data")]
    data_dir: PathBuf,
    /// Address of the HTTP API and dashboard (port 0 picks a free port).
    #[arg(long, env = "HEXCOVERY_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: SocketAddr,
    /// Address of OTLP/gRPC ingest.
    #[arg(long, env = "HEXCOVERY_GRPC_ADDR", default_value = "0.0.0.0:4317")]
    grpc_addr: SocketAddr,
    /// Address of OTLP/HTTP ingest.
    #[arg(long, env = "HEXCOVERY_OTLP_HTTP_ADDR", default_value = "0.0.0.0:4318")]
    otlp_http_addr: SocketAddr,
    /// The URL users reach this server at (used in links; https marks cookies Secure).
    #[arg(
        long,
        env = "HEXCOVERY_PUBLIC_URL",
        default_value = "http://localhost:8080"
    )]
    public_url: String,
    /// Whether anyone may sign up a new organization (`disabled` still lets the first one).
    #[arg(long, env = "HEXCOVERY_SIGNUP", default_value = "open", value_parser = ["open", "disabled"])]
    signup: String,
    /// How long invite links stay valid, in hours.
    #[arg(long, env = "HEXCOVERY_INVITE_TTL_HOURS", default_value_t = 72, value_parser = clap::value_parser!(u32).range(1..=8760))]
    invite_ttl_hours: u32,
    /// Invites an org may create in 24 hours (each can send an email from this server).
    #[arg(long, env = "HEXCOVERY_MAX_INVITES_PER_DAY", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_invites_per_day: u32,
    /// Signups one client address may make before it is blocked (1 minute, doubling to an
    /// hour); forgotten after an hour without one. 0 turns the limit off.
    #[arg(long, env = "HEXCOVERY_MAX_SIGNUPS_PER_ADDRESS", default_value_t = 20)]
    max_signups_per_address: u32,
    /// Largest OTLP request accepted, in MiB, uncompressed.
    #[arg(long, env = "HEXCOVERY_MAX_REQUEST_MB", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_request_mb: u32,
    /// Telemetry buffered in memory before ingest answers "retry later", in MiB.
    #[arg(long, env = "HEXCOVERY_MAX_BUFFER_MB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65536))]
    max_buffer_mb: u32,
    /// Memory OTLP requests in flight may hold at once, in MiB (bodies, inflated, decoded);
    /// more are answered "retry later" (503 / Unavailable with Retry-After).
    #[arg(long, env = "HEXCOVERY_MAX_INFLIGHT_MB", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536))]
    max_inflight_mb: u32,
    /// Buffered telemetry is written to Parquet at least this often, in seconds.
    #[arg(long, env = "HEXCOVERY_FLUSH_INTERVAL_SECS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=3600))]
    flush_interval_secs: u32,
    /// Seconds an org with everything flushed and no ingest or query keeps its files open.
    #[arg(long, env = "HEXCOVERY_IDLE_ORG_UNLOAD_SECS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    idle_org_unload_secs: u32,
    /// Orgs kept loaded (open log files, buffers) at most; past it the least recently used
    /// are flushed and unloaded. Keep it well under the process's open-file limit.
    #[arg(long, env = "HEXCOVERY_MAX_LOADED_ORGS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_loaded_orgs: u32,
    /// The server key (64 hex characters). Default: `<data-dir>/server.key`, created on first
    /// start. A cluster's nodes must all use the same key.
    #[arg(long, env = "HEXCOVERY_SERVER_KEY", hide_env_values = true)]
    server_key: Option<String>,
    /// OQL: a query's time limit, in seconds.
    #[arg(long, env = "HEXCOVERY_QUERY_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    query_timeout_secs: u32,
    /// OQL: the memory a query's aggregations and sorts may hold, in MiB.
    #[arg(long, env = "HEXCOVERY_QUERY_MEMORY_MB", default_value_t = 512, value_parser = clap::value_parser!(u32).range(16..=65536))]
    query_memory_mb: u32,
    /// OQL: rows a query returns at most; longer answers are cut and say `truncated`.
    #[arg(long, env = "HEXCOVERY_QUERY_MAX_ROWS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    query_max_rows: u32,
    /// OQL: queries that execute at once; more wait for a slot within their time limit.
    #[arg(long, env = "HEXCOVERY_QUERY_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    query_concurrency: u32,
    /// Mail server for invite emails: smtp://host:25, smtp://user:password@host:587?tls=required
    /// (STARTTLS) or smtps://user:password@host:465. Without it, invite links are logged and
    /// kept in the org's outbox.
    #[arg(
        long,
        env = "HEXCOVERY_SMTP_URL",
        hide_env_values = true,
        requires = "smtp_from"
    )]
    smtp_url: Option<String>,
    /// The sender of invite emails, e.g. "Hexcovery <hexcovery@example.com>".
    #[arg(long, env = "HEXCOVERY_SMTP_FROM", requires = "smtp_url")]
    smtp_from: Option<String>,
    /// Tests only: read the current time for heartbeats from this file (RFC 3339).
    #[arg(long, env = "HEXCOVERY_TEST_CLOCK_FILE", hide = true)]
    test_clock_file: Option<std::path::PathBuf>,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Repair(args) => crate::repair::run(&args.data_dir, args.quarantine),
            Command::Serve(args) => {
                let args = *args;
                let config = ServerConfig {
                    data_dir: args.data_dir,
                    http_addr: args.http_addr,
                    grpc_addr: args.grpc_addr,
                    otlp_http_addr: args.otlp_http_addr,
                    public_url: args.public_url.trim_end_matches('/').to_string(),
                    signup: args
                        .signup
                        .parse::<SignupMode>()
                        .map_err(anyhow::Error::msg)?,
                    invite_ttl_hours: args.invite_ttl_hours,
                    max_invites_per_day: args.max_invites_per_day,
                    max_signups_per_address: args.max_signups_per_address,
                    max_request_bytes: (args.max_request_mb as usize) << 20,
                    max_buffer_bytes: (args.max_buffer_mb as usize) << 20,
                    max_inflight_bytes: (args.max_inflight_mb as usize) << 20,
                    flush_interval: std::time::Duration::from_secs(u64::from(
                        args.flush_interval_secs,
                    )),
                    idle_org_unload_after: std::time::Duration::from_secs(u64::from(
                        args.idle_org_unload_secs,
                    )),
                    max_loaded_orgs: args.max_loaded_orgs as usize,
                    server_key: args.server_key,
                    query_limits: hexcovery_server::query::QueryLimits {
                        timeout: std::time::Duration::from_secs(u64::from(args.query_timeout_secs)),
                        memory_bytes: (args.query_memory_mb as usize) << 20,
                        max_rows: args.query_max_rows as usize,
                        concurrency: args.query_concurrency as usize,
                    },
                    smtp: args
                        .smtp_url
                        .zip(args.smtp_from)
                        .map(|(url, from)| hexcovery_server::SmtpConfig { url, from }),
                    test_clock_file: args.test_clock_file,
                };
                hexcovery_server::serve(config, shutdown_signal()).await
            }
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}

/// Logs go to stderr; `HEXCOVERY_LOG` (or `RUST_LOG`) filters them, `info` by default.
pub fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HEXCOVERY_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
