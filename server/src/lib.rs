//! `accredit-server`: the shared backend. axum on embedded SQLite: sync of visit documents,
//! photo blobs, accounts and roles, the visit lifecycle, tiers, payments and the audit log.

pub mod access;
pub mod api;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod blobs;
pub mod bundle;
pub mod csv;
pub mod db;
pub mod docstore;
pub mod download;
pub mod error;
pub mod http;
pub mod import;
pub mod logging;
pub mod mail;
pub mod market_figures;
pub mod metrics;
pub mod observe;
pub mod passwords;
pub mod portal;
pub mod router;
pub mod seed;
pub mod service;
pub mod state;
pub mod sync_server;
pub mod tiers;
pub mod users;
pub mod web_app;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use accredit_shared::{FrameworkPack, PackLibrary, RuleSet};
use anyhow::Context;
use rusqlite::params;

use state::{AppState, Config, Inner};

/// Where the shipped assets are: `ACCREDIT_ASSETS`, or the workspace's `assets/`.
pub fn default_assets_dir() -> PathBuf {
    std::env::var_os("ACCREDIT_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"))
}

fn toml_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every framework pack in `assets/frameworks`.
pub fn load_packs(assets: &Path) -> anyhow::Result<PackLibrary> {
    let mut packs = PackLibrary::new();
    for path in toml_files(&assets.join("frameworks"))? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let pack = FrameworkPack::from_toml(&text)
            .with_context(|| format!("loading {}", path.display()))?;
        packs
            .insert(pack)
            .with_context(|| format!("adding {}", path.display()))?;
    }
    Ok(packs)
}

/// Opens the data directory (creating and migrating the database), seeds the shipped rule sets
/// into an empty database, and returns the state every route shares.
pub fn open(config: Config, assets: &Path) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    std::fs::create_dir_all(config.blob_dir())?;
    let db = db::Db::open(&config.data_dir.join("accredit.sqlite3"))?;
    let packs = load_packs(assets)?;
    let shipped_retention = service::retention::load_rules(assets)?;
    let retention = db
        .write(|tx| service::retention::seed_rules(tx, &shipped_retention))
        .map_err(|e| anyhow::anyhow!("loading the retention schedule: {e}"))?;
    let book = db
        .write(|tx| {
            let count: i64 = tx.query_row("SELECT count(*) FROM rule_sets", [], |r| r.get(0))?;
            if count == 0 {
                for path in toml_files(&assets.join("schemes")).map_err(|e| error::ServiceError::internal(format!("{e:#}")))? {
                    let text = std::fs::read_to_string(&path)?;
                    let set = RuleSet::from_toml(&text).map_err(|e| error::ServiceError::internal(format!("{}: {e}", path.display())))?;
                    tx.execute(
                        "INSERT INTO rule_sets (version, effective_from, source, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![set.version, set.effective_from.to_string(), text, state::now_text()],
                    )?;
                }
            }
            state::load_rule_book(tx)
        })
        .map_err(|e| anyhow::anyhow!("loading rule sets: {e}"))?;
    Ok(AppState(Arc::new(Inner {
        db,
        packs,
        rules: RwLock::new(Arc::new(book)),
        config,
        doc_cache: Default::default(),
        throttle: Default::default(),
        imports: Default::default(),
        metrics: Default::default(),
        retention: RwLock::new(Arc::new(retention)),
        sync_permits: tokio::sync::Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get() * 2)
                .unwrap_or(4),
        ),
    })))
}

/// Serves the API on `listener` until ctrl-c or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    mail::start(&state)?;
    let sweeper = tokio::spawn(sweep_partial_uploads(state.clone()));
    let market = tokio::spawn(market_figures::run(
        state.clone(),
        std::time::Duration::from_secs(1),
    ));
    let retention = tokio::spawn(service::retention::nightly(state.clone()));
    let app = router::router(state);
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP");
    sweeper.abort();
    market.abort();
    retention.abort();
    served
}

/// Removes partial uploads nobody has touched for the configured age: at start, then hourly.
async fn sweep_partial_uploads(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        let result = state
            .blocking(|s| blobs::sweep_partials(s).map_err(error::ServiceError::from))
            .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed abandoned partial uploads"),
            Err(e) => tracing::error!(error = %e, "sweeping partial uploads failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
