//! What every route shares: the database, the framework packs, the cached rule book and settings.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use accredit_shared::calendar::london_date;
use accredit_shared::{PackLibrary, RuleBook, RuleSet};
use chrono::{NaiveDate, Utc};

use crate::db::Db;
use crate::error::ServiceError;

/// Settings fixed at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the database and blobs live.
    pub data_dir: PathBuf,
    /// Largest photo or document blob accepted, in bytes.
    pub max_blob_bytes: usize,
    /// Largest sync request body accepted, in bytes.
    pub max_sync_bytes: usize,
    /// Days a provider has to comment on a shared visit (DOMAIN.md default: 14).
    pub factual_accuracy_days: i64,
    /// A fixed "today" for demonstrations and tests; `None` means the London date now.
    pub today: Option<NaiveDate>,
    /// Whether the portal's session cookie is marked Secure (the server is behind HTTPS).
    pub secure_cookies: bool,
    /// A portal session ends after this long unused (OWASP ASVS 3.3: minutes, not days).
    pub session_idle: Duration,
    /// A portal session ends this long after sign-in, however busy.
    pub session_lifetime: Duration,
    /// A device token (field app, API client) ends after this long unused: long enough for a
    /// monitor's weeks offline, since an expired token strands no data but needs a sign-in.
    pub device_idle: Duration,
    /// A device token ends this long after sign-in.
    pub device_lifetime: Duration,
    /// Bytes each uploader may hold in stored and partial uploads together.
    pub upload_quota_bytes: u64,
    /// A partial upload untouched this long is removed.
    pub partial_upload_max_age: Duration,
    /// The built web app (`scripts/build-web.sh`), served at `/app/`.
    pub web_app_dir: PathBuf,
    /// Where notices are sent (`smtp://host:port`, `smtps://…`, with credentials if needed);
    /// `None` keeps them queued, unsent, and the portal says so.
    pub smtp_url: Option<String>,
    /// The sender address of notices.
    pub mail_from: String,
    /// The wait before the first retry of a refused notice; it doubles with each retry.
    pub notice_retry_base: Duration,
    /// The portal's public address, for links in notices (`https://accredit.example.gov.uk`).
    pub public_url: String,
    /// The token `/metrics` requires; without one it answers only direct local requests.
    pub metrics_token: Option<crate::metrics::MetricsToken>,
    /// The council's name in published files (the Transparency Code list); `None` uses the
    /// name of the scheme in force.
    pub council_name: Option<String>,
}

impl Config {
    /// Defaults for a data directory.
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            data_dir,
            max_blob_bytes: 20 * 1024 * 1024,
            max_sync_bytes: 32 * 1024 * 1024,
            factual_accuracy_days: 14,
            today: None,
            secure_cookies: false,
            session_idle: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            device_idle: Duration::from_secs(30 * 24 * 3600),
            device_lifetime: Duration::from_secs(180 * 24 * 3600),
            upload_quota_bytes: 4 * 1024 * 1024 * 1024,
            smtp_url: None,
            mail_from: "Accredit <accredit@localhost>".to_owned(),
            notice_retry_base: Duration::from_secs(30),
            public_url: "http://127.0.0.1:8080".to_owned(),
            partial_upload_max_age: Duration::from_secs(7 * 24 * 3600),
            web_app_dir: PathBuf::from("target/web-app"),
            metrics_token: None,
            council_name: None,
        }
    }

    /// Where blobs are stored.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

/// Shared state behind an `Arc`.
pub struct Inner {
    /// The database.
    pub db: Db,
    /// Framework packs.
    pub packs: PackLibrary,
    /// Rule sets, rebuilt whenever one is added.
    pub rules: RwLock<Arc<RuleBook>>,
    /// Settings.
    pub config: Config,
    /// Limits how many sync requests run at once.
    pub sync_permits: tokio::sync::Semaphore,
    /// Documents kept in memory after a sync, so the next request need not reload them. An entry
    /// is used only if its heads still match the database's, so it can never be stale.
    pub doc_cache: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, automerge::AutoCommit>>,
    /// Recent failed sign-ins per account and per address.
    pub throttle: crate::service::sessions::Throttle,
    /// CSV imports running in the background, with their progress.
    pub imports: crate::service::imports::Jobs,
    /// Counters for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The records retention schedule: the versions stored in the database (the shipped file's,
    /// `assets/retention.toml` or `ACCREDIT_RETENTION_RULES`, added at start-up, and any a
    /// commissioner added), replaced only after the transaction that added one committed.
    pub retention: RwLock<Arc<accredit_shared::retention::RetentionRules>>,
}

/// Cheap to clone; every route gets one.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Runs blocking work (SQLite, Automerge, argon2) off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| ServiceError::internal(format!("worker: {e}")))?
    }

    /// Today in Europe/London (or the configured fixed day).
    pub fn today(&self) -> NaiveDate {
        self.config.today.unwrap_or_else(|| london_date(Utc::now()))
    }

    /// The current rule book.
    pub fn rules(&self) -> Arc<RuleBook> {
        match self.rules.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The records retention schedule now.
    pub fn retention(&self) -> Arc<accredit_shared::retention::RetentionRules> {
        match self.retention.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Installs a retention schedule read back after the transaction that added a version
    /// committed; versions are only added, so a schedule with fewer never replaces one with more.
    pub fn install_retention(&self, rules: accredit_shared::retention::RetentionRules) {
        let mut current = match self.retention.write() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        if rules.rules.len() >= current.rules.len() {
            *current = Arc::new(rules);
        }
    }

    /// Installs a rule book read from the database after the transaction that changed the rules
    /// committed. Rule sets are only ever added, so of two books installed out of order the one
    /// with more sets is the newer: an older one never replaces it.
    pub fn install_rules(&self, book: RuleBook) {
        let mut current = match self.rules.write() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        if book.sets().len() >= current.sets().len() {
            *current = Arc::new(book);
        }
    }
}

/// Every stored rule set, as a rule book.
pub fn load_rule_book(tx: &rusqlite::Connection) -> Result<RuleBook, ServiceError> {
    let mut stmt = tx.prepare("SELECT source FROM rule_sets ORDER BY effective_from")?;
    let sources: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let sets = sources
        .iter()
        .map(|s| RuleSet::from_toml(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServiceError::internal(format!("stored rule set: {e}")))?;
    RuleBook::new(sets).map_err(|e| ServiceError::internal(format!("stored rule sets: {e}")))
}

/// The current time as stored (RFC 3339, UTC).
pub fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
