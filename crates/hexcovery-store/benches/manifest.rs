//! Manifest commit benchmark: what one commit (a flush adding one file) costs when the table
//! already has N files, writing the whole manifest as the previous build did against the
//! delta log (`manifest_log`), on local disk with fsync, in the same run. Also the cost of
//! loading the manifest back.
//!
//! `cargo bench -p hexcovery-store --bench manifest` (env: BENCH_COMMITS, default 256).

use bytes::Bytes;
use hexcovery_store::manifest::{FileEntry, Manifest};
use hexcovery_store::manifest_log::{self, LogState};
use hexcovery_store::storage::Storage;
use std::time::{Duration, Instant};

fn entry(i: usize) -> FileEntry {
    FileEntry {
        path: format!(
            "org=0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/logs/dt=2026-11-{:02}/hour={:02}/0193a1b2-c3d4-7e5f-8a9b-{i:012}.parquet",
            1 + i / 24 % 30,
            i % 24
        ),
        partition: format!("dt=2026-11-{:02}/hour={:02}", 1 + i / 24 % 30, i % 24),
        min_ts: 1_764_547_200_000_000_000 + i as i64,
        max_ts: 1_764_547_200_000_000_000 + i as i64 + 3_600_000_000_000,
        rows: 100_000,
        bytes: 4 << 20,
        metric_names: vec![],
        promoted: Vec::new(),
        counts: None,
    }
}

fn manifest(files: usize) -> Manifest {
    Manifest {
        version: 1,
        watermark: 1,
        files: (0..files).map(entry).collect(),
    }
}

fn next(before: &Manifest, i: usize) -> Manifest {
    let mut next = before.clone();
    next.watermark += 1;
    next.files.push(entry(10_000_000 + i));
    next
}

struct Figures {
    mean: Duration,
    max: Duration,
}

fn figures(samples: &[Duration]) -> Figures {
    Figures {
        mean: samples.iter().sum::<Duration>() / samples.len() as u32,
        max: samples.iter().copied().max().unwrap_or_default(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let commits: usize = std::env::var("BENCH_COMMITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    println!("manifest commit cost, {commits} commits each adding one file, local disk with fsync");
    println!(
        "{:>8} {:>10} | {:>14} {:>12} | {:>14} {:>12} | {:>10} {:>10}",
        "files",
        "json KiB",
        "rewrite ms",
        "rewrite max",
        "delta log ms",
        "delta max",
        "load ms",
        "objects"
    );
    for files in [100, 1_000, 10_000, 50_000] {
        let dir = tempfile::tempdir()?;
        let storage = Storage::local(dir.path())?;
        let start = manifest(files);
        let json_kib = serde_json::to_vec(&start)?.len() / 1024;

        // The previous build: every commit writes the whole manifest.
        let mut before = start.clone();
        let mut rewrite = Vec::with_capacity(commits);
        for i in 0..commits {
            let t = Instant::now();
            let mut next = next(&before, i);
            next.version += 1;
            let whole = Bytes::from(serde_json::to_vec(&next)?);
            manifest_log::write_checkpoint(&storage, "rewrite", whole).await?;
            rewrite.push(t.elapsed());
            before = next;
        }

        // Now: a delta per commit, a checkpoint now and then.
        manifest_log::write_checkpoint(&storage, "log", Bytes::from(serde_json::to_vec(&start)?))
            .await?;
        let mut log = manifest_log::load(&storage, "log").await?.1;
        let mut before = start.clone();
        let mut delta = Vec::with_capacity(commits);
        for i in 0..commits {
            let t = Instant::now();
            let mut next = next(&before, i);
            manifest_log::commit(&storage, "log", &before, &mut next, &mut log).await?;
            delta.push(t.elapsed());
            before = next;
        }
        let t = Instant::now();
        let (loaded, state): (Manifest, LogState) = manifest_log::load(&storage, "log").await?;
        let load = t.elapsed();
        assert_eq!(loaded, before, "the log loads back to the last commit");
        let (r, d) = (figures(&rewrite), figures(&delta));
        println!(
            "{files:>8} {json_kib:>10} | {:>14} {:>12} | {:>14} {:>12} | {:>10} {:>10}",
            ms(r.mean),
            ms(r.max),
            ms(d.mean),
            ms(d.max),
            ms(load),
            state.deltas + 1
        );
    }
    Ok(())
}
