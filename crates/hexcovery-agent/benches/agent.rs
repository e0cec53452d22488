//! The agent's figures for the README: lines per second tailed and shipped per core (the
//! real agent binary against an in-process OTLP/gRPC receiver that counts records), the
//! agent's CPU and RSS at 1 000 lines/s, and the queue's fsync cost per record.
//!
//! `cargo bench -p hexcovery-agent --bench agent` (builds the agent in release first:
//! `cargo build --release -p hexcovery-agent`).

use hexcovery_agent::queue::record::Kind;
use hexcovery_agent::queue::{Fsync, Options, Queue};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Receiver {
    records: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let n: usize = request
            .get_ref()
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum();
        self.records.fetch_add(n as u64, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        _: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// (user + system CPU seconds, RSS bytes) of a process.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / ticks;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024;
    (cpu, rss)
}

fn agent_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let release = target.join("release/hexcovery-agent");
    if release.exists() {
        release
    } else {
        target.join("debug/hexcovery-agent")
    }
}

fn start_agent(dir: &Path, endpoint: &str) -> std::process::Child {
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nendpoint = \"{endpoint}\"\n[metrics]\ninterval = \"10s\"\n[queue]\ndir = \"{}\"\n\
             [[logs]]\ninclude = [\"{}/*.log\"]\nstart_at = \"beginning\"\nservice = \"bench\"\n",
            dir.join("queue").display(),
            dir.display()
        ),
    )
    .unwrap();
    std::process::Command::new(agent_binary())
        .args(["run", "--config"])
        .arg(&config)
        .env("HEXCOVERY_AGENT_API_KEY", "hxk_bench")
        .env("HEXCOVERY_AGENT_LOG", "warn")
        .spawn()
        .expect("the agent binary (cargo build --release -p hexcovery-agent)")
}

fn line(i: u64) -> String {
    format!(
        "2026-12-02T05:00:00.000Z INFO request {i:09} handled path=/api/v1/items status=200 took=12ms\n"
    )
}

async fn wait_records(records: &AtomicU64, n: u64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while records.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::main]
async fn main() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let service = receiver.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(
                LogsServiceServer::new(service.clone())
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            )
            .add_service(
                MetricsServiceServer::new(service)
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            )
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    println!("agent: {}", agent_binary().display());

    // 1. Throughput: 500 000 lines already in a file, read from the beginning.
    let dir = tempfile::tempdir().unwrap();
    let total = 500_000u64;
    {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(dir.path().join("big.log")).unwrap());
        for i in 0..total {
            f.write_all(line(i).as_bytes()).unwrap();
        }
    }
    let mut agent = start_agent(dir.path(), &endpoint);
    let start = Instant::now();
    let (cpu0, _) = usage(agent.id());
    assert!(wait_records(&receiver.records, total, Duration::from_secs(600)).await);
    let wall = start.elapsed().as_secs_f64();
    let (cpu1, rss) = usage(agent.id());
    let cpu = cpu1 - cpu0;
    println!(
        "throughput: {total} lines in {wall:.2} s wall = {:.0} lines/s; agent CPU {cpu:.2} s = {:.0} lines per CPU-second; RSS {:.1} MiB",
        total as f64 / wall,
        total as f64 / cpu,
        rss as f64 / (1 << 20) as f64
    );
    let _ = agent.kill();
    let _ = agent.wait();

    // 2. Steady 1 000 lines/s for 20 s: the agent's CPU share and RSS.
    let dir = tempfile::tempdir().unwrap();
    let base = receiver.records.load(Ordering::Relaxed);
    let mut agent = start_agent(dir.path(), &endpoint);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("app.log"))
        .unwrap();
    let (cpu0, _) = usage(agent.id());
    let start = Instant::now();
    let mut n = 0u64;
    let seconds = 20;
    let mut peak = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        let mut chunk = String::new();
        for _ in 0..10 {
            chunk.push_str(&line(n));
            n += 1;
        }
        file.write_all(chunk.as_bytes()).unwrap();
        peak = peak.max(usage(agent.id()).1);
        let next = Duration::from_millis(10 * n / 10);
        tokio::time::sleep(next.saturating_sub(start.elapsed())).await;
    }
    assert!(wait_records(&receiver.records, base + n, Duration::from_secs(30)).await);
    let (cpu1, rss) = usage(agent.id());
    let wall = start.elapsed().as_secs_f64();
    println!(
        "1000 lines/s: {n} lines over {wall:.1} s; agent CPU {:.2} % of one core; RSS {:.1} MiB (peak {:.1} MiB)",
        (cpu1 - cpu0) * 100.0 / wall,
        rss as f64 / (1 << 20) as f64,
        peak as f64 / (1 << 20) as f64
    );
    let _ = agent.kill();
    let _ = agent.wait();

    // 3. The queue's fsync cost: appending 16 KiB records, fsync on every record vs the
    // interval syncer.
    for (name, fsync) in [
        ("always", Fsync::Always),
        ("200ms", Fsync::Interval(Duration::from_millis(200))),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (queue, _) = Queue::open(Options {
            dir: dir.path().to_path_buf(),
            max_size: 1 << 30,
            fsync,
        })
        .unwrap();
        let records = 500;
        let start = Instant::now();
        for _ in 0..records {
            queue
                .append(Kind::Logs, vec![7u8; 16 << 10], Vec::new())
                .unwrap();
        }
        queue.sync().unwrap();
        let per = start.elapsed() / records;
        println!(
            "queue fsync={name}: {per:?} per 16 KiB record ({} records/s)",
            (1.0 / per.as_secs_f64()) as u64
        );
    }
}
