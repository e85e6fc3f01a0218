//! Evidence bundles: one location's whole history (or every location's) in one file that can be
//! checked on its own, years later (`accredit-server export-bundle`, `verify-bundle` and `import-bundle`).
//!
//! A bundle is a zstd-compressed tar archive, laid out like a backup (see [`crate::backup`]) but
//! holding evidence rather than a database: `manifest.json` first (see [`Manifest`]), then for
//! each location `locations/<id>/records.json` (the records the engine reads, and placements),
//! `determinations.json` (every stored determination with its explanation) and `audit.json`
//! (the location's audit entries); for each visit `visits/<id>/document.automerge` (the whole
//! Automerge history) and `revisions.json` (each signed revision: its heads and stored record) and `visit.json` (its
//! lifecycle);
//! the framework packs at `packs/<id>/<version>.toml`; every rule set in `rule_sets.json`; and
//! every blob the visits use at `blobs/ab/abcd…`. The manifest lists every item with its size
//! and BLAKE3 hash.

mod export;
mod import;
mod verify;

use std::path::Path;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use export::{Exported, Scope, export};
pub use import::{Imported, import};
pub use verify::{Verified, verify};

/// What the manifest's `format` says: this is an Accredit evidence bundle.
pub const FORMAT: &str = "accredit-bundle";
/// The layout this build writes and reads.
pub const VERSION: u32 = 1;
/// The manifest's name in the archive.
const MANIFEST: &str = "manifest.json";
/// The rule sets' name in the archive.
const RULE_SETS: &str = "rule_sets.json";

/// What `verify-bundle` means by recomputing a determination, written into every manifest so a
/// reader years later knows what was checked.
pub const RECOMPUTED: &str = "Each stored determination is recomputed with the shared engine from the location's records as exported (the engine reads only the records effective on the determination's day), the bundle's rule sets and the bundle's framework packs, and compared whole (tier, weekly amount, status and explanation) with the stored one. A record changed after a determination was stored, with effect on or before its day (a rating imported late, a gate lifted), makes the recomputation differ; verify-bundle reports each such difference.";

/// The archive's table of contents, its first entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The layout, [`VERSION`].
    pub version: u32,
    /// When the bundle was written (RFC 3339, UTC).
    pub created_at: String,
    /// What verification's recomputation means ([`RECOMPUTED`] when written).
    pub recomputed: String,
    /// The locations it holds.
    pub locations: Vec<LocationEntry>,
    /// The visits it holds.
    pub visits: Vec<Uuid>,
    /// Every other item in the archive, with its hash.
    pub items: Vec<Item>,
}

/// A location in a bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LocationEntry {
    /// Its id.
    pub id: Uuid,
    /// Its CQC location id.
    pub cqc_location_id: String,
    /// Its name.
    pub name: String,
}

/// One file in a bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Item {
    /// Its name in the archive.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// BLAKE3, hex.
    pub blake3: String,
}

/// A location's records, as `locations/<id>/records.json` holds them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Records {
    /// What the engine reads.
    pub records: accredit_shared::records::LocationRecords,
    /// Who is placed there (payment lines are built from these).
    pub placements: Vec<accredit_shared::records::Placement>,
    /// The provider's name.
    pub provider_name: String,
    /// The location's address.
    pub address: String,
}

/// A visit's own row, as `visits/<id>/visit.json` holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VisitRow {
    /// Who created the document.
    pub created_by: String,
    /// Its lifecycle, once signed off: status, current revision, shared on, window closes on,
    /// provider confirmed at, published on.
    pub lifecycle: Option<Lifecycle>,
}

/// A signed-off visit's lifecycle row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Lifecycle {
    /// signed_off, shared or published.
    pub status: String,
    /// The revision in force.
    pub current_revision: u32,
    /// When it was shared with the provider.
    pub shared_on: Option<String>,
    /// When the provider's window closes.
    pub window_closes_on: Option<String>,
    /// When the provider confirmed.
    pub provider_confirmed_at: Option<String>,
    /// When it was published.
    pub published_on: Option<String>,
}

/// A stored determination, as `locations/<id>/determinations.json` holds them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredDetermination {
    /// Its order among all stored determinations.
    pub seq: i64,
    /// The day it is for.
    pub day: String,
    /// What caused it.
    pub trigger: String,
    /// The tier's name, if any.
    pub tier: Option<String>,
    /// The weekly premium, pence.
    pub weekly_pence: i64,
    /// The premium's status.
    pub status: String,
    /// The whole determination.
    pub explanation: accredit_shared::Determination,
    /// When it was computed (RFC 3339, UTC).
    pub computed_at: String,
}

/// A signed revision of a visit, as `visits/<id>/revisions.json` holds them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Revision {
    /// Its number.
    pub revision: u32,
    /// The heads it was signed at, hex.
    pub heads: Vec<String>,
    /// The record stored for it.
    pub record: serde_json::Value,
    /// Who signed it.
    pub signed_by: String,
    /// When.
    pub signed_at: String,
    /// accepted, pending or rejected.
    pub state: String,
    /// When it was published, if it was.
    pub published_on: Option<String>,
}

/// A rule set, as `rule_sets.json` holds them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredRuleSet {
    /// Its version.
    pub version: String,
    /// The day it takes effect.
    pub effective_from: String,
    /// Its TOML source.
    pub source: String,
}

/// Why a bundle could not be written or read at all. (A bundle that reads but fails its checks
/// is not an error: [`verify`] reports each problem.)
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Reading or writing a file failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// The system's reason.
        error: std::io::Error,
    },
    /// SQLite refused or failed.
    #[error("{what}: {error}")]
    Database {
        /// What was being done.
        what: String,
        /// SQLite's reason.
        error: rusqlite::Error,
    },
    /// The data directory cannot be exported: no database, a blob missing or damaged.
    #[error("{0}")]
    Data(String),
    /// The bundle is not an Accredit bundle, or too damaged to read on.
    #[error("the bundle is damaged or not an Accredit bundle: {0}")]
    Damaged(String),
    /// The request cannot be carried out as asked (an unknown location).
    #[error("{0}")]
    Refused(String),
}

impl From<crate::backup::BackupError> for BundleError {
    /// The archive writer is the backup's: its errors mean the same here.
    fn from(e: crate::backup::BackupError) -> BundleError {
        use crate::backup::BackupError as B;
        match e {
            B::Io { what, error } => BundleError::Io { what, error },
            B::Database { what, error } => BundleError::Database { what, error },
            B::Data(m) => BundleError::Data(m),
            B::Damaged(m) => BundleError::Damaged(m),
            B::Refused(m) => BundleError::Refused(m),
        }
    }
}

/// Attaches what was being done to an I/O error.
fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BundleError {
    let what = what.into();
    move |error| BundleError::Io { what, error }
}

/// Attaches what was being done to an SQLite error.
fn sql(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BundleError {
    let what = what.into();
    move |error| BundleError::Database { what, error }
}

/// A service-layer failure while reading the data directory.
fn service(what: &str) -> impl FnOnce(crate::error::ServiceError) -> BundleError + '_ {
    move |e| BundleError::Data(format!("{what}: {e}"))
}

/// A location's record file in the archive.
fn records_name(location: Uuid) -> String {
    format!("locations/{location}/records.json")
}

/// A location's determinations in the archive.
fn determinations_name(location: Uuid) -> String {
    format!("locations/{location}/determinations.json")
}

/// A location's audit entries in the archive.
fn audit_name(location: Uuid) -> String {
    format!("locations/{location}/audit.json")
}

/// A visit's Automerge document in the archive.
fn document_name(visit: Uuid) -> String {
    format!("visits/{visit}/document.automerge")
}

/// A visit's own row in the archive.
fn visit_name(visit: Uuid) -> String {
    format!("visits/{visit}/visit.json")
}

/// A visit's signed revisions in the archive.
fn revisions_name(visit: Uuid) -> String {
    format!("visits/{visit}/revisions.json")
}

/// The directory a file at `to` is written in (the current one for a bare file name).
fn parent_dir(to: &Path) -> std::path::PathBuf {
    match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}
