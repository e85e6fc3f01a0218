//! The BI exports at national scale, in process on a real database file: the national data set
//! of the `national` benchmark (15,000 locations, 30,000 published visits, 400,000 placements)
//! loaded into a fresh server database, then each export written as CSV and as JSON. Prints
//! time, size and peak memory; `BENCHMARKS.md` records them.
//!
//! `cargo bench -p accredit-server --bench exports`

mod support;

use accredit_server::open;
use accredit_server::state::Config;
use accredit_server::{default_assets_dir, seed};
use anyhow::anyhow;

/// Peak resident memory of this process so far, in MB (Linux).
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::new(dir.path().join("data"));
    config.today = accredit_shared::calendar::parse_date("2026-12-03").ok();
    let s = open(config, &default_assets_dir())?;
    seed::seed(&s).map_err(|e| anyhow!("seeding: {e}"))?;
    let n = support::national_db::build(&s)?;
    println!(
        "national data set: {} providers, {} locations, {} published visits ({} answers, {} actions), {} placements, {} stored determinations; generated in {:?}, loaded in {:?}; peak memory {:.0} MB",
        n.providers,
        n.locations,
        n.visits,
        n.answers,
        n.actions,
        n.placements,
        n.determinations,
        n.generated_in,
        n.loaded_in,
        peak_mb()
    );
    Ok(())
}
