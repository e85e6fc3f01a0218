//! The market view at national scale (15,000 locations, 30,000 published visits, 400,000
//! placements, loaded by `support::national_db`): the background refresh of every location's
//! figures (time and peak memory), the refresh of one location after a change, and each market
//! page and API answer through the real server over HTTP (median of several requests). Prints
//! figures; `BENCHMARKS.md` records them.
//!
//! `cargo bench -p accredit-server --bench market`

mod support;

use support::measure::{caller, peak_mb, rss_mb};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use accredit_server::auth::Role;
use accredit_server::service::market::{self, HeatFilter};
use accredit_server::state::Config;
use accredit_server::{default_assets_dir, market_figures, open, seed};
use anyhow::{Context, anyhow};

/// A service call measured on its own.
type Measured<'a> = Box<dyn Fn() -> Result<(), accredit_server::error::ServiceError> + 'a>;

/// Requests per page; the median is reported.
const RUNS: usize = 7;

/// Resets the peak (`VmHWM`) to the current resident size, so the next peak is the next step's.
fn reset_peak() {
    // Linux ≥ 4.0; where it is refused the peak simply includes what came before.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One HTTP/1.1 request on a new connection; returns the status and the whole response.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let head = String::from_utf8_lossy(&out[..out.len().min(20)]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("no status in {head:?}"))?;
    Ok((status, out))
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::new(dir.path().join("data"));
    config.today = accredit_shared::calendar::parse_date("2026-12-03").ok();
    let s = open(config, &default_assets_dir())?;
    seed::seed(&s).map_err(|e| anyhow!("seeding: {e}"))?;
    let n = support::national_db::build(&s)?;
    println!(
        "national data set: {} locations, {} published visits, {} placements; generated in {:?}, loaded in {:?}",
        n.locations, n.visits, n.placements, n.generated_in, n.loaded_in
    );

    // Every location's figures, as the background task computes them on a new day.
    reset_peak();
    let before = rss_mb();
    let started = Instant::now();
    let refreshed = market_figures::refresh_all_marked(&s).map_err(|e| anyhow!("{e}"))?;
    let took = started.elapsed();
    println!(
        "refresh all: {refreshed} locations in {took:?} ({:.2} ms a location); resident {before:.0} MB before, peak {:.0} MB during",
        took.as_secs_f64() * 1000.0 / refreshed.max(1) as f64,
        peak_mb()
    );
    let rows: Vec<(String, i64)> =
        s.db.read(|tx| {
            let mut out = Vec::new();
            for t in [
                "market_locations",
                "market_tiers",
                "market_spend",
                "market_domains",
                "market_criteria",
            ] {
                let n: i64 =
                    tx.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?;
                out.push((t.to_owned(), n));
            }
            Ok(out)
        })
        .map_err(|e| anyhow!("{e}"))?;
    println!("stored rows: {rows:?}");

    // One location after a change: marked in the change's transaction, refreshed on the next tick.
    let one =
        s.db.read(accredit_server::tiers::all_locations)
            .map_err(|e| anyhow!("{e}"))?;
    let mut times = Vec::new();
    for id in one.iter().take(RUNS) {
        s.db.write(|tx| market_figures::mark_dirty(tx, &[*id]))
            .map_err(|e| anyhow!("{e}"))?;
        let started = Instant::now();
        let n = market_figures::refresh_batch(&s).map_err(|e| anyhow!("{e}"))?;
        times.push(started.elapsed());
        anyhow::ensure!(n == 1, "refreshed {n}");
    }
    let (m, lo, hi) = median(times);
    println!("refresh one location after a change: median {m:?} ({lo:?}–{hi:?})");

    // The service functions alone (the SQL aggregates), without HTTP or rendering.
    let commissioner = caller(&s, "commissioner", Role::Commissioner)?;
    let services: Vec<(&str, Measured)> = vec![
        (
            "service::market::overview",
            Box::new(|| market::overview(&s, &commissioner).map(|_| ())),
        ),
        (
            "service::market::spend",
            Box::new(|| market::spend(&s, &commissioner).map(|_| ())),
        ),
        (
            "service::market::quality (page 1)",
            Box::new(|| {
                market::quality(
                    &s,
                    &commissioner,
                    &HeatFilter {
                        page: 1,
                        ..HeatFilter::default()
                    },
                )
                .map(|_| ())
            }),
        ),
        (
            "service::market::quality (Gold, page 20)",
            Box::new(|| {
                market::quality(
                    &s,
                    &commissioner,
                    &HeatFilter {
                        tier: Some("Gold".into()),
                        page: 20,
                        ..HeatFilter::default()
                    },
                )
                .map(|_| ())
            }),
        ),
    ];
    for (what, f) in &services {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            f().map_err(|e| anyhow!("{what}: {e}"))?;
            times.push(started.elapsed());
        }
        let (m, lo, hi) = median(times);
        println!("{what:<52} median {m:?} ({lo:?}–{hi:?})");
    }

    // The pages and the API through the real server (its background task finds nothing to do:
    // every location is fresh for the day).
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    listener.set_nonblocking(true)?;
    let state = s.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("runtime")?;
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            accredit_server::serve(listener, state).await
        })
    });
    let (status, signed) = http(
        &addr,
        "POST",
        "/api/v1/session",
        "Content-Type: application/json\r\n",
        r#"{"username":"commissioner","password":"accredit-demo","device_name":"bench"}"#,
    )?;
    anyhow::ensure!(status == 201, "sign-in gave {status}");
    let text = String::from_utf8_lossy(&signed);
    let token = text
        .split("\"token\":\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .ok_or_else(|| anyhow!("no token"))?
        .to_owned();
    let cookie = format!("Cookie: accredit_session={token}\r\n");
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let targets: Vec<(&str, &str)> = vec![
        ("/market", cookie.as_str()),
        ("/market/spend", cookie.as_str()),
        ("/market/quality", cookie.as_str()),
        ("/market/quality?page=150", cookie.as_str()),
        ("/market/quality?tier=Gold&page=20", cookie.as_str()),
        ("/market/quality?q=Home%201234", cookie.as_str()),
        ("/api/v1/market", bearer.as_str()),
        ("/api/v1/market/spend", bearer.as_str()),
        ("/api/v1/market/quality", bearer.as_str()),
        (
            "/api/v1/market/locations?offset=0&limit=500",
            bearer.as_str(),
        ),
        (
            "/api/v1/market/locations?offset=14000&limit=1000",
            bearer.as_str(),
        ),
    ];
    println!(
        "{:<52} {:>10} {:>22} {:>10}",
        "request", "median", "range", "bytes"
    );
    for (path, auth) in targets {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let (status, body) = http(&addr, "GET", path, auth, "")?;
            times.push(started.elapsed());
            anyhow::ensure!(status == 200, "{path} gave {status}");
            bytes = body.len();
        }
        let (m, lo, hi) = median(times);
        println!(
            "{path:<52} {:>8.1}ms {:>9.1}–{:>6.1} ms {bytes:>10}",
            m.as_secs_f64() * 1000.0,
            lo.as_secs_f64() * 1000.0,
            hi.as_secs_f64() * 1000.0
        );
    }
    println!(
        "peak resident memory since the refresh began (the server included): {:.0} MB",
        peak_mb()
    );
    Ok(())
}
