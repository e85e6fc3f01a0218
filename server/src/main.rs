//! `accredit-server`: serve the API, run a demo with seeded data, or administer a data directory.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use accredit_server::auth::Role;
use accredit_server::import::Kind;
use accredit_server::metrics::MetricsArgs;
use accredit_server::state::Config;
use accredit_server::{
    backup, bundle, default_assets_dir, logging, open, seed, serve, tiers, users,
};
use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "accredit-server",
    version,
    about = "The Accredit backend: sync, accounts, tiers and payments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API from a data directory.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Data directory (database and photo blobs).
        #[arg(long, default_value = "accredit-data")]
        data: PathBuf,
        /// Assets directory (framework packs, scheme rules); default: ACCREDIT_ASSETS or ./assets.
        #[arg(long)]
        assets: Option<PathBuf>,
        /// Treat this day as today (YYYY-MM-DD), for rehearsals and tests.
        #[arg(long, value_parser = strict_date)]
        today: Option<NaiveDate>,
        /// Mark the portal's session cookie Secure: set this when the server is reached over
        /// HTTPS (behind a TLS proxy), so browsers never send the cookie over plain HTTP.
        #[arg(long, env = "ACCREDIT_SECURE_COOKIES")]
        secure_cookies: bool,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        mail: Mail,
        #[command(flatten)]
        metrics: MetricsArgs,
        #[command(flatten)]
        council: Council,
    },
    /// Serve with a fresh data directory seeded with demo data, and print the logins.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Data directory to create (must not exist yet); default: a new temporary directory.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Assets directory.
        #[arg(long)]
        assets: Option<PathBuf>,
        /// Treat this day as today (YYYY-MM-DD).
        #[arg(long, value_parser = strict_date)]
        today: Option<NaiveDate>,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        mail: Mail,
        #[command(flatten)]
        metrics: MetricsArgs,
        #[command(flatten)]
        council: Council,
    },
    /// Add a user. The password is read from ACCREDIT_PASSWORD or, failing that, standard input.
    AddUser {
        /// Data directory.
        #[arg(long, default_value = "accredit-data")]
        data: PathBuf,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Name shown to others.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// For provider users: the provider's name (created if new).
        #[arg(long)]
        provider: Option<String>,
        /// For monitors: CQC location ids for their caseload, comma-separated.
        #[arg(long, value_delimiter = ',')]
        caseload: Vec<String>,
    },
    /// Import a CSV file of locations, placements or CQC ratings (all rows or none).
    Import {
        /// Data directory.
        #[arg(long, default_value = "accredit-data")]
        data: PathBuf,
        /// What the file holds.
        #[arg(value_enum)]
        kind: KindArg,
        /// The CSV file.
        file: PathBuf,
    },
    /// Back up a data directory into one file, while the server runs (README: Backups).
    Backup {
        /// Data directory.
        #[arg(long, default_value = "accredit-data")]
        data: PathBuf,
        /// The backup file to write (replaced only once the new one is complete).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into an empty or new data directory (the server must not be using it).
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Data directory to restore into: empty or not yet existing.
        #[arg(long)]
        data: PathBuf,
    },
    /// Export locations' whole history as one verifiable evidence bundle (README: Evidence
    /// bundles).
    ExportBundle {
        /// Data directory.
        #[arg(long, default_value = "accredit-data")]
        data: PathBuf,
        /// Assets directory (framework packs); default: ACCREDIT_ASSETS or ./assets.
        #[arg(long)]
        assets: Option<PathBuf>,
        /// The location's id or CQC location id, or `all`.
        #[arg(long)]
        location: String,
        /// The bundle file to write (replaced only once the new one is complete).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import an evidence bundle that verifies into a data directory (the server must not be
    /// using it); all of it or nothing.
    ImportBundle {
        /// Data directory (created if new).
        #[arg(long, default_value = "accredit-data")]
        data: PathBuf,
        /// Assets directory (framework packs, scheme rules); default: ACCREDIT_ASSETS or ./assets.
        #[arg(long)]
        assets: Option<PathBuf>,
        /// The bundle file.
        file: PathBuf,
    },
    /// Apply the records retention schedule now (the server also runs it nightly): remove every
    /// visit whose retention has expired and that nothing still depends on (README: Records
    /// retention).
    Retention {
        /// Data directory.
        #[arg(long, default_value = "accredit-data")]
        data: PathBuf,
        /// Assets directory (framework packs, retention.toml); default: ACCREDIT_ASSETS or ./assets.
        #[arg(long)]
        assets: Option<PathBuf>,
        /// List what would be removed and what is kept, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Treat this day as today (YYYY-MM-DD), for rehearsals.
        #[arg(long, value_parser = strict_date)]
        today: Option<NaiveDate>,
    },
    /// Check an evidence bundle: every hash, every signed visit revision, every determination.
    VerifyBundle {
        /// The bundle file.
        file: PathBuf,
    },
}

/// Session lifetimes and upload limits (OWASP ASVS V3; defaults in `Config::new`).
#[derive(clap::Args)]
struct Limits {
    /// Minutes a portal session may sit unused before it ends.
    #[arg(long, env = "ACCREDIT_SESSION_IDLE_MINUTES", default_value_t = 30)]
    session_idle_minutes: u64,
    /// Hours a portal session lasts at most, however busy.
    #[arg(long, env = "ACCREDIT_SESSION_HOURS", default_value_t = 12)]
    session_hours: u64,
    /// Days a device's token (the field app) may sit unused before the device must sign in again.
    #[arg(long, env = "ACCREDIT_DEVICE_IDLE_DAYS", default_value_t = 30)]
    device_idle_days: u64,
    /// Days a device's token lasts at most.
    #[arg(long, env = "ACCREDIT_DEVICE_DAYS", default_value_t = 180)]
    device_days: u64,
    /// Megabytes each account may hold in uploaded photos and files, partial uploads included.
    #[arg(long, env = "ACCREDIT_UPLOAD_QUOTA_MB", default_value_t = 4096)]
    upload_quota_mb: u64,
    /// The built field web app (scripts/build-web.sh writes it), served at /app/.
    #[arg(long, env = "ACCREDIT_WEB_APP", default_value = "target/web-app")]
    web_app: PathBuf,
}

/// Who publishes: the council's name in published files.
#[derive(clap::Args)]
struct Council {
    /// The council's name, as the Transparency Code list writes it ("Name of Body");
    /// default: the name of the scheme in force.
    #[arg(long, env = "ACCREDIT_COUNCIL_NAME")]
    council_name: Option<String>,
}

/// Email notices (NOTICES in README.md).
#[derive(clap::Args)]
struct Mail {
    /// The SMTP server for notices: smtp://host:port (STARTTLS when offered),
    /// smtps://host:465, or with ?tls=required; credentials as smtp://user:password@host.
    /// Without it, notices wait in the outbox and the portal says email is not set up.
    #[arg(long, env = "ACCREDIT_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of notices, e.g. "Accredit <accredit@council.gov.uk>".
    #[arg(
        long,
        env = "ACCREDIT_MAIL_FROM",
        default_value = "Accredit <accredit@localhost>"
    )]
    mail_from: String,
    /// The portal's public address, for links in notices (default: this server's address).
    #[arg(long, env = "ACCREDIT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds before the first retry of a notice the mail server refused (doubling after).
    #[arg(long, env = "ACCREDIT_NOTICE_RETRY_SECONDS", default_value_t = 30)]
    notice_retry_seconds: u64,
}

impl Mail {
    fn apply(self, c: &mut Config, addr: SocketAddr) {
        c.smtp_url = self.smtp_url;
        c.mail_from = self.mail_from;
        c.public_url = self.public_url.unwrap_or_else(|| format!("http://{addr}"));
        c.notice_retry_base = std::time::Duration::from_secs(self.notice_retry_seconds.max(1));
    }
}

impl Limits {
    fn apply(&self, c: &mut Config) {
        let minutes = |m: u64| std::time::Duration::from_secs(m * 60);
        c.session_idle = minutes(self.session_idle_minutes);
        c.session_lifetime = minutes(self.session_hours * 60);
        c.device_idle = minutes(self.device_idle_days * 24 * 60);
        c.device_lifetime = minutes(self.device_days * 24 * 60);
        c.upload_quota_bytes = self.upload_quota_mb * 1024 * 1024;
        c.web_app_dir = self.web_app.clone();
    }
}

/// Reads a date as everything else does: exactly YYYY-MM-DD.
fn strict_date(text: &str) -> Result<NaiveDate, String> {
    accredit_shared::calendar::parse_date(text).map_err(|e| e.to_string())
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Monitor,
    Lead,
    Provider,
    Commissioner,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Locations,
    Placements,
    CqcRatings,
    Contracts,
}

fn config(data: PathBuf, today: Option<NaiveDate>) -> Config {
    let mut c = Config::new(data);
    c.today = today;
    c
}

/// Binds the address first, so a port chosen by the system (`:0`) is known to links in notices.
async fn bind(addr: SocketAddr) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

async fn listen_and_serve(
    (listener, bound): (tokio::net::TcpListener, SocketAddr),
    state: accredit_server::state::AppState,
) -> anyhow::Result<()> {
    println!(
        "Accredit server listening on http://{bound}  (portal: http://{bound}/, public register: http://{bound}/register, API: http://{bound}/api/v1)"
    );
    let web_app = &state.config.web_app_dir;
    if web_app.join("index.html").exists() {
        println!("Field web app: http://{bound}/app/");
    } else {
        println!(
            "Field web app: not built in {} (run scripts/build-web.sh, or pass --web-app)",
            web_app.display()
        );
    }
    serve(listener, state).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init()?;
    match cli.command {
        Command::Serve {
            addr,
            data,
            assets,
            today,
            secure_cookies,
            limits,
            mail,
            metrics,
            council,
        } => {
            let assets = assets.unwrap_or_else(default_assets_dir);
            let mut config = config(data.clone(), today);
            config.secure_cookies = secure_cookies;
            config.council_name = council.council_name;
            limits.apply(&mut config);
            let bound = bind(addr).await?;
            mail.apply(&mut config, bound.1);
            metrics.apply(&mut config);
            let state =
                open(config, &assets).with_context(|| format!("opening {}", data.display()))?;
            listen_and_serve(bound, state).await
        }
        Command::Demo {
            addr,
            data,
            assets,
            today,
            limits,
            mail,
            metrics,
            council,
        } => {
            let assets = assets.unwrap_or_else(default_assets_dir);
            let data = match data {
                Some(d) => {
                    if d.exists() {
                        bail!(
                            "{} already exists; demo data goes into a new directory",
                            d.display()
                        );
                    }
                    d
                }
                None => std::env::temp_dir().join(format!("accredit-demo-{}", Uuid::new_v4())),
            };
            let mut config = config(data.clone(), today);
            config.council_name = council.council_name;
            limits.apply(&mut config);
            let bound = bind(addr).await?;
            mail.apply(&mut config, bound.1);
            metrics.apply(&mut config);
            let state = open(config, &assets)?;
            let logins = tokio::task::spawn_blocking({
                let state = state.clone();
                move || seed::seed(&state)
            })
            .await?
            .map_err(|e| anyhow::anyhow!("seeding demo data: {e}"))?;
            println!("Accredit demo: data in {}", data.display());
            println!("Demo logins (password for all: {}):", seed::DEMO_PASSWORD);
            for l in &logins {
                println!("  {:<13} {}", l.username, l.description);
            }
            listen_and_serve(bound, state).await
        }
        Command::AddUser {
            data,
            username,
            name,
            role,
            provider,
            caseload,
        } => {
            let password = match std::env::var("ACCREDIT_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut p = String::new();
                    std::io::stdin()
                        .read_to_string(&mut p)
                        .context("reading the password from standard input")?;
                    p.trim_end_matches(['\n', '\r']).to_owned()
                }
            };
            let role = match role {
                RoleArg::Monitor => Role::Monitor,
                RoleArg::Lead => Role::Lead,
                RoleArg::Provider => Role::Provider,
                RoleArg::Commissioner => Role::Commissioner,
            };
            let state = open(config(data, None), &default_assets_dir())?;
            let id = state
                .db
                .write(|tx| {
                    let provider_id = provider
                        .as_deref()
                        .map(|p| users::provider_by_name(tx, p))
                        .transpose()?;
                    let id = users::add_user(tx, &username, &name, role, provider_id, &password)?;
                    for cqc in &caseload {
                        let loc = users::location_by_cqc(tx, cqc)?;
                        users::assign(tx, id, loc)?;
                    }
                    Ok(id)
                })
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!("added user {username} ({id})");
            Ok(())
        }
        Command::Import { data, kind, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let kind = match kind {
                KindArg::Locations => Kind::Locations,
                KindArg::Placements => Kind::Placements,
                KindArg::CqcRatings => Kind::CqcRatings,
                KindArg::Contracts => Kind::Contracts,
            };
            let state = open(config(data, None), &default_assets_dir())?;
            let (count, affected) = state
                .db
                .write(|tx| {
                    let (count, affected) =
                        accredit_server::import::import(tx, kind, &text, state.today())?;
                    accredit_server::audit::record(
                        tx,
                        None,
                        accredit_server::audit::Entry {
                            action: "import",
                            subject_type: "csv",
                            subject_id: file.file_name().map(|f| f.to_string_lossy().into_owned()),
                            location_id: None,
                            details: serde_json::json!({ "rows": count }),
                        },
                    )?;
                    tiers::redetermine(&state, &state.rules(), tx, &affected, "import")?;
                    Ok((count, affected))
                })
                .map_err(|e| anyhow::anyhow!("{} (nothing was imported)", e.message()))?;
            println!(
                "imported {count} row(s); {} location(s) re-determined",
                affected.len()
            );
            Ok(())
        }
        Command::Backup { data, to } => {
            let taken = backup::take(&data, &to).with_context(|| {
                format!(
                    "backing up {} failed; nothing was written to {}",
                    data.display(),
                    to.display()
                )
            })?;
            let m = &taken.manifest;
            println!(
                "backed up {} to {} ({} bytes): database of {} bytes, {} blob(s) of {} bytes",
                data.display(),
                taken.path.display(),
                taken.bytes,
                m.database.size,
                m.blobs.len(),
                m.blobs.iter().map(|b| b.size).sum::<u64>()
            );
            Ok(())
        }
        Command::Restore { from, data } => {
            let restored = backup::restore(&from, &data).with_context(|| {
                format!(
                    "restoring {} failed; {} was left as it was",
                    from.display(),
                    data.display()
                )
            })?;
            let m = &restored.manifest;
            println!(
                "restored the backup of {} into {}: database checked, {} blob(s) checked",
                m.created_at,
                data.display(),
                m.blobs.len()
            );
            Ok(())
        }
        Command::ExportBundle {
            data,
            assets,
            location,
            out,
        } => {
            let assets = assets.unwrap_or_else(default_assets_dir);
            let scope = bundle::Scope::parse(&location);
            let done = bundle::export(&data, &assets, &scope, &out).with_context(|| {
                format!(
                    "exporting from {} failed; nothing was written to {}",
                    data.display(),
                    out.display()
                )
            })?;
            let m = &done.manifest;
            println!(
                "exported {} location(s), {} visit(s), {} item(s) to {} ({} bytes)",
                m.locations.len(),
                m.visits.len(),
                m.items.len(),
                done.path.display(),
                done.bytes
            );
            Ok(())
        }
        Command::ImportBundle { data, assets, file } => {
            let assets = assets.unwrap_or_else(default_assets_dir);
            let state = open(config(data.clone(), None), &assets)
                .with_context(|| format!("opening {}", data.display()))?;
            let done = bundle::import(&state, &file)
                .with_context(|| format!("importing {} failed", file.display()))?;
            println!(
                "imported {} location(s) and {} visit(s) from {} into {}",
                done.manifest.locations.len(),
                done.manifest.visits.len(),
                file.display(),
                data.display()
            );
            Ok(())
        }
        Command::Retention {
            data,
            assets,
            dry_run,
            today,
        } => {
            let assets = assets.unwrap_or_else(default_assets_dir);
            let state = open(config(data.clone(), today), &assets)
                .with_context(|| format!("opening {}", data.display()))?;
            let report =
                accredit_server::service::retention::run(&state, state.today(), dry_run)
                    .map_err(|e| anyhow::anyhow!("records retention failed: {}", e.message()))?;
            let before = &report.before;
            match &before.rule {
                Some(rule) => println!(
                    "retention rule {} (from {}) on {}",
                    rule.version, rule.effective_from, before.today
                ),
                None => println!("no retention rule is in force on {}", before.today),
            }
            for item in &before.kept {
                println!(
                    "kept {} at {} (expired {}): {}",
                    item.visit_id,
                    item.location_name,
                    item.expires_on,
                    item.kept_because.as_deref().unwrap_or_default()
                );
            }
            if dry_run {
                for item in &before.due {
                    println!(
                        "would remove {} at {} (expired {})",
                        item.visit_id, item.location_name, item.expires_on
                    );
                }
                println!(
                    "dry run: {} visit(s) due for removal, {} kept, {} stored determination(s) and {} payment run(s) due; nothing was changed",
                    before.due.len(),
                    before.kept.len(),
                    before.determinations_due,
                    before.payment_runs_due.len()
                );
            } else {
                for r in &report.removed {
                    println!("removed {} ({} blob(s))", r.visit_id, r.blobs_removed.len());
                }
                println!(
                    "{} visit(s) removed, {} kept; {} stored determination(s) and {} payment run(s) removed",
                    report.removed.len(),
                    before.kept.len(),
                    report.determinations_removed,
                    report.payment_runs_removed
                );
            }
            Ok(())
        }
        Command::VerifyBundle { file } => {
            let v = bundle::verify(&file)
                .with_context(|| format!("verifying {} failed", file.display()))?;
            for p in &v.problems {
                println!("{p}");
            }
            println!(
                "{}: {} item(s) hashed, {} visit revision(s) re-read at their signed heads, {} determination(s) recomputed",
                file.display(),
                v.items_checked,
                v.revisions_checked,
                v.determinations_checked
            );
            if v.problems.is_empty() {
                println!("the bundle holds up");
                Ok(())
            } else {
                bail!(
                    "{} problem(s) found in {}",
                    v.problems.len(),
                    file.display()
                )
            }
        }
    }
}
