//! `accredit-server`. The HTTP backend arrives with the backend issue; today `demo` runs the shared
//! rules engine over the shipped framework pack and scheme with a small set of demo locations and
//! prints each location's tier, its explanation and this month's payment schedule.

mod demo;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") | None => {
            let assets = demo::assets_dir();
            let report = demo::run(&assets)
                .with_context(|| format!("running the demo from {}", assets.display()))?;
            print!("{report}");
            Ok(())
        }
        Some("--help" | "-h" | "help") => {
            println!(
                "usage: accredit-server demo\n\n  demo   evaluate the demo locations with the shipped rules and print tiers and payments"
            );
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`; try `accredit-server --help`"),
    }
}
