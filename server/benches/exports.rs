//! The BI exports at national scale, in process on a real database file: the national data set
//! of the `national` benchmark (15,000 locations, 30,000 published visits, 400,000 placements)
//! loaded into a fresh server database, then each export written as CSV and as JSON. Prints
//! time, size and peak memory; `BENCHMARKS.md` records them.
//!
//! `cargo bench -p accredit-server --bench exports`

mod support;

use support::measure::{caller, peak_mb};

use std::io::Write;
use std::time::Instant;

use accredit_server::auth::Role;
use accredit_server::open;
use accredit_server::service::exports::{self, Export, Format, Range};
use accredit_server::service::transparency;
use accredit_server::state::{AppState, Config};
use accredit_server::{default_assets_dir, seed};
use anyhow::anyhow;

/// Counts the bytes an export writes, keeping none of them: the figure is the export's own cost,
/// not that of holding the file.
#[derive(Default)]
struct Bytes(u64);

impl Write for Bytes {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0 += data.len() as u64;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The day the benchmark treats as today.
const TODAY: &str = "2026-12-03";

/// Set in the child processes: the data directory of the loaded database.
const DATA: &str = "ACCREDIT_EXPORTS_BENCH_DATA";

fn state_at(data: std::path::PathBuf) -> anyhow::Result<AppState> {
    let mut config = Config::new(data);
    config.today = accredit_shared::calendar::parse_date(TODAY).ok();
    open(config, &default_assets_dir())
}

fn range(label: &str) -> anyhow::Result<Range> {
    let day = |d: &str| accredit_shared::calendar::parse_date(d).ok();
    match label {
        "all" => Ok(Range::default()),
        "2026" => Range::new(day("2026-01-01"), day("2026-12-31")).map_err(|e| anyhow!("{e}")),
        other => Err(anyhow!("no range {other}")),
    }
}

/// One measurement in a process of its own, so its peak memory is its own: one export file,
/// the exports page's counts, or the Transparency Code list.
fn measure(data: std::path::PathBuf, what: &[String]) -> anyhow::Result<()> {
    let s = state_at(data)?;
    let commissioner = caller(&s, "commissioner", Role::Commissioner)?;
    let opened = peak_mb();
    match what {
        [kind, label] if kind == "page" => {
            let range = range(label)?;
            let started = Instant::now();
            let totals =
                s.db.read(|tx| exports::totals(&s, tx, &commissioner, range))
                    .map_err(|e| anyhow!("{e}"))?;
            println!(
                "exports page, {label:<4} (every export counted): {:>9.2?}; {}; peak memory {:.0} MB (server opened: {opened:.0} MB)",
                started.elapsed(),
                totals
                    .iter()
                    .map(|(e, t)| format!("{} {}", e.name(), t.rows))
                    .collect::<Vec<_>>()
                    .join(", "),
                peak_mb()
            );
        }
        [kind, period] if kind == "transparency" => {
            let started = Instant::now();
            let v =
                s.db.read(|tx| transparency::view(&s, tx, &commissioner, period))
                    .map_err(|e| anyhow!("{e}"))?;
            let csv = transparency::to_csv(&v);
            println!(
                "transparency list {period} (the month's schedule, 400,000 placements, then per provider): {:>9.2?}; {} providers over £500 ({} not), total £{}, {} bytes of CSV; peak memory {:.0} MB (server opened: {opened:.0} MB)",
                started.elapsed(),
                v.rows.len(),
                v.under_threshold,
                accredit_shared::money::Pence(v.total_pence).to_pounds_string(),
                csv.len(),
                peak_mb()
            );
        }
        [name, format, label] => {
            let export = Export::parse(name).map_err(|e| anyhow!("{e}"))?;
            let format = Format::parse(Some(format)).map_err(|e| anyhow!("{e}"))?;
            let range = range(label)?;
            let started = Instant::now();
            let mut out = Bytes::default();
            let rows =
                s.db.read(|tx| {
                    exports::write_file(&s, tx, &commissioner, export, range, format, &mut out)
                })
                .map_err(|e| anyhow!("{e}"))?;
            let took = started.elapsed();
            println!(
                "export {:<14} {:<4} {label:<4}: {rows:>9} rows, {:>7.1} MB in {:>9.2?} ({:>5.1} MB/s); peak memory {:.0} MB (server opened: {opened:.0} MB)",
                export.name(),
                format.extension(),
                mb(out.0),
                took,
                mb(out.0) / took.as_secs_f64().max(1e-9),
                peak_mb()
            );
        }
        other => return Err(anyhow!("nothing to measure in {other:?}")),
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Some(data) = std::env::var_os(DATA) {
        return measure(data.into(), &args);
    }
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let s = state_at(data.clone())?;
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
    drop(s);
    let me = std::env::current_exe()?;
    let run = |what: &[&str]| -> anyhow::Result<()> {
        let status = std::process::Command::new(&me)
            .env(DATA, &data)
            .args(what)
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(anyhow!("measuring {what:?}: {status}"))
        }
    };
    for label in ["all", "2026"] {
        for export in Export::ALL {
            for format in ["csv", "json"] {
                run(&[export.name(), format, label])?;
            }
        }
    }
    run(&["page", "all"])?;
    let period = n.month_from.format("%Y-%m").to_string();
    run(&["transparency", &period])?;
    Ok(())
}
