//! The command line (`run`, `check-config`) and the running agent: queue, producer thread,
//! sender, status page, inotify wake-ups, SIGHUP reload and SIGTERM/SIGINT shutdown.

use crate::config::{self, Config};
use crate::producer::{Control, Producer};
use crate::queue::{self, Queue};
use crate::send::{self, Client};
use crate::status::{self, Health};
use clap::{Parser, Subcommand};
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "hexcovery-agent",
    version,
    about = "Ships host metrics and log files to a Hexcovery server over OTLP/gRPC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Serve the agent's health as JSON on this address (e.g. 127.0.0.1:9477).
        #[arg(long)]
        status_addr: Option<String>,
    },
    /// Check a configuration file (and the HEXCOVERY_AGENT_* overrides): exit 0, or 2 with
    /// what is wrong and where.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
}

fn environment() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("HEXCOVERY_AGENT_"))
        .collect()
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEXCOVERY_AGENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::CheckConfig { config } => match config::load(&config, &environment()) {
            Ok(c) => {
                println!(
                    "{}: OK (server {}, {} log group(s), metrics every {:?}, queue {} up to {} bytes)",
                    config.display(),
                    c.server.endpoint,
                    c.logs.len(),
                    c.metrics.interval,
                    c.queue.dir.display(),
                    c.queue.max_size
                );
                ExitCode::SUCCESS
            }
            Err(problems) => {
                eprintln!("{problems}");
                ExitCode::from(2)
            }
        },
        Command::Run {
            config,
            status_addr,
        } => {
            let loaded = match config::load(&config, &environment()) {
                Ok(c) => c,
                Err(problems) => {
                    eprintln!("{problems}");
                    return ExitCode::from(2);
                }
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run(config, loaded, status_addr)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "the agent stopped");
                    eprintln!("hexcovery-agent: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Directories worth an inotify watch: each include pattern's fixed root (its parent when
/// the pattern names one file).
fn watch_dirs(config: &Config) -> Vec<(PathBuf, RecursiveMode)> {
    let mut dirs = Vec::new();
    for group in &config.logs {
        for pattern in &group.include {
            let (root, depth) = pattern.walk_root();
            let (dir, mode) = match depth {
                Some(0) => (
                    root.parent().map_or(root.clone(), Path::to_path_buf),
                    RecursiveMode::NonRecursive,
                ),
                Some(1) => (root, RecursiveMode::NonRecursive),
                _ => (root, RecursiveMode::Recursive),
            };
            if !dirs.iter().any(|(d, _)| *d == dir) {
                dirs.push((dir, mode));
            }
        }
    }
    dirs
}

fn watcher(config: &Config, wake: mpsc::Sender<Control>) -> Option<notify::RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = wake.send(Control::Wake);
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "inotify unavailable: polling only"))
    .ok()?;
    for (dir, mode) in watch_dirs(config) {
        if let Err(e) = watcher.watch(&dir, mode) {
            tracing::debug!(dir = %dir.display(), error = %e, "not watching (polling covers it)");
        }
    }
    Some(watcher)
}

async fn run(path: PathBuf, config: Config, status_addr: Option<String>) -> anyhow::Result<()> {
    use anyhow::Context;
    let (queue, recovered) = Queue::open(queue::Options {
        dir: config.queue.dir.clone(),
        max_size: config.queue.max_size,
        fsync: config.queue.fsync,
    })
    .with_context(|| format!("opening the queue in {}", config.queue.dir.display()))?;
    tracing::info!(
        dir = %config.queue.dir.display(),
        pending = recovered.pending,
        torn_bytes = recovered.torn_bytes,
        files = recovered.positions.as_ref().map_or(0, Vec::len),
        "queue opened"
    );
    let health = Arc::new(Health::new(queue.clone()));
    let stop_syncer = Arc::new(AtomicBool::new(false));
    queue.spawn_syncer(stop_syncer.clone());

    let (clients_tx, clients_rx) =
        tokio::sync::watch::channel(Client::new(&config.server).context("the [server] settings")?);
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(send::run(
        queue.clone(),
        clients_rx,
        health.clone(),
        shutdown_rx,
    ));

    let (control_tx, control_rx) = mpsc::channel();
    let producer = Producer::new(
        queue.clone(),
        config.clone(),
        recovered.positions,
        health.clone(),
    );
    let producer = std::thread::Builder::new()
        .name("producer".into())
        .spawn(move || producer.run(control_rx))
        .context("starting the producer thread")?;
    let mut _watcher = watcher(&config, control_tx.clone());

    if let Some(addr) = status_addr {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("binding --status-addr {addr}"))?;
        tracing::info!("status listening on http://{}", listener.local_addr()?);
        tokio::spawn(status::serve(listener, health.clone()));
    }
    {
        let health = health.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            every.tick().await;
            loop {
                every.tick().await;
                health.log();
            }
        });
    }
    tracing::info!(endpoint = %config.server.endpoint, groups = config.logs.len(), "agent started");

    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut running = config;
    loop {
        tokio::select! {
            _ = hup.recv() => match config::load(&path, &environment()) {
                Ok(new) => {
                    if new.queue.dir != running.queue.dir || new.queue.max_size != running.queue.max_size || new.queue.fsync != running.queue.fsync {
                        tracing::warn!("[queue] changes take effect at the next start");
                    }
                    match Client::new(&new.server) {
                        Ok(client) => { let _ = clients_tx.send(client); }
                        Err(e) => tracing::error!(error = %e, "the new [server] settings do not work; keeping the old ones"),
                    }
                    _watcher = watcher(&new, control_tx.clone());
                    let _ = control_tx.send(Control::Reload(Box::new(new.clone())));
                    running = new;
                    tracing::info!(config = %path.display(), "config reloaded");
                }
                Err(problems) => tracing::error!(config = %path.display(), problems = %problems, "the config has errors; keeping the running one"),
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("stopping");
    let _ = control_tx.send(Control::Stop);
    let _ = tokio::task::spawn_blocking(move || producer.join()).await;
    let _ = shutdown_tx.send(true);
    let _ = sender.await;
    stop_syncer.store(true, std::sync::atomic::Ordering::Relaxed);
    let queue2 = queue.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        queue2.sync()?;
        queue2.write_acked()
    })
    .await??;
    tracing::info!("stopped");
    Ok(())
}
