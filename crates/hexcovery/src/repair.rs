//! `hexcovery repair`: prints what `hexcovery_store::repair` finds in a stopped server's
//! data directory and, with `--quarantine`, applies the log recovery now.

use hexcovery_store::{repair, wal};
use std::path::Path;

pub fn run(data_dir: &Path, quarantine: bool) -> anyhow::Result<()> {
    if !data_dir.exists() {
        anyhow::bail!(
            "{} does not exist: pass the server's --data-dir",
            data_dir.display()
        );
    }
    if quarantine {
        for (org, recovery) in repair::quarantine(data_dir)? {
            for q in &recovery.quarantined {
                let lost = wal::describe(&q.lost);
                println!(
                    "recovered {org} {}: kept {} records, lost bytes {}; copy at {}",
                    q.segment.display(),
                    q.records,
                    lost,
                    q.copy.display()
                );
            }
            if recovery.torn_tail_bytes > 0 {
                println!(
                    "cut a torn tail of {} bytes from {org}'s newest segment (never acknowledged)",
                    recovery.torn_tail_bytes
                );
            }
        }
    }
    let report = repair::inspect(data_dir)?;
    println!(
        "read {} log segments and {} manifests in {}",
        report.segments_read,
        report.manifests_read,
        data_dir.display()
    );
    for (org, health) in &report.damaged_segments {
        let corrupt = wal::describe(&health.corrupt);
        if !corrupt.is_empty() {
            println!(
                "DAMAGED {org} {}: {} intact records, damage at {} — replay keeps the intact records and a copy (or run with --quarantine)",
                health.segment.display(),
                health.records,
                corrupt
            );
        }
        if let Some(tail) = &health.tail {
            let what = if health.newest && corrupt.is_empty() {
                "torn tail (a write cut short; cut at start)"
            } else {
                "damage up to the end"
            };
            println!(
                "DAMAGED {org} {}: {what} at {}..{} ({})",
                health.segment.display(),
                tail.start,
                tail.end,
                tail.problem
            );
        }
    }
    for problem in &report.manifest_problems {
        println!("MANIFEST {}: {}", problem.path.display(), problem.problem);
    }
    for copy in &report.quarantined_copies {
        println!(
            "quarantined copy kept: {} (delete it once you no longer need it)",
            copy.display()
        );
    }
    if report.is_clean() {
        println!("no damage found");
        Ok(())
    } else {
        // Damage is an answer, not an error: report it through the exit status like fsck.
        std::process::exit(1)
    }
}
