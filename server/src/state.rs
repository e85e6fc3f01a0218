//! What every route shares: the database, the framework packs, the cached rule book and settings.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use accredit_shared::calendar::london_date;
use accredit_shared::{PackLibrary, RuleBook, RuleSet};
use chrono::{NaiveDate, Utc};

use crate::db::Db;
use crate::error::ApiError;

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
        f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| ApiError::internal(format!("worker: {e}")))?
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

    /// Reloads the rule book from the database.
    pub fn reload_rules(&self, tx: &rusqlite::Connection) -> Result<(), ApiError> {
        let book = load_rule_book(tx)?;
        match self.rules.write() {
            Ok(mut r) => *r = Arc::new(book),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(book),
        }
        Ok(())
    }
}

/// Every stored rule set, as a rule book.
pub fn load_rule_book(tx: &rusqlite::Connection) -> Result<RuleBook, ApiError> {
    let mut stmt = tx.prepare("SELECT source FROM rule_sets ORDER BY effective_from")?;
    let sources: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let sets = sources
        .iter()
        .map(|s| RuleSet::from_toml(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(format!("stored rule set: {e}")))?;
    RuleBook::new(sets).map_err(|e| ApiError::internal(format!("stored rule sets: {e}")))
}

/// The current time as stored (RFC 3339, UTC).
pub fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
