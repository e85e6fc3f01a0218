//! `accredit-app`: the field app for quality monitors. Everything except the window lives in
//! plain Rust modules, tested without one:
//!
//! - [`store`]: the local SQLite store (documents, sync states, photos, outbox, cached data);
//! - [`workspace`]: the session and every operation the screens offer;
//! - [`sync_client`] and [`server_api`]: sync with the server, photos resumably;
//! - [`photo`]: the photo pipeline (upright, resized, no metadata, hashed);
//! - [`caseload`]: caseload data and its risk order;
//! - [`ui`]: the Dioxus screens, a thin layer over the workspace.

#![warn(missing_docs)]

pub mod caseload;
pub mod error;
pub mod photo;
pub mod platform;
pub mod server_api;
pub mod store;
pub mod sync_client;
pub mod sync_worker;
pub mod ui;
pub mod workspace;

pub use error::{AppError, AppResult};

/// Locks a mutex, carrying on after a panic in another holder. Nothing is left half-written by
/// such a panic: every store change is a committed transaction, and the status the sync worker
/// shares is replaced whole.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
pub use workspace::Workspace;
