//! The field app's error type: every failure a monitor may be shown, in plain words.

use thiserror::Error;

/// What went wrong in the app's core (store, sync, photos).
#[derive(Debug, Error)]
pub enum AppError {
    /// The local database failed.
    #[error("the local store failed: {0}")]
    Store(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data could not be read back.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The visit document refused an edit or could not be read.
    #[error("{0}")]
    Visit(#[from] accredit_shared::visit::VisitDocError),
    /// Something the monitor typed or chose is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The server could not be reached.
    #[error("network: {0}")]
    Network(String),
    /// The server refused the credentials or the session.
    #[error("sign-in: {0}")]
    Auth(String),
    /// The server refused a request, with its reason.
    #[error("the server refused: {0}")]
    Refused(String),
    /// A photo could not be processed.
    #[error("photo: {0}")]
    Photo(String),
    /// Something needs a signed-in session and there is none.
    #[error("not signed in")]
    NotSignedIn,
    /// The run was stopped before it finished (the app is closing, or the monitor cancelled).
    #[error("stopped before it finished")]
    Cancelled,
    /// The account holds a one-time password: the monitor must choose their own to go on.
    #[error("you signed in with a one-time password: choose your own password to go on")]
    PasswordChangeRequired,
    /// Unknown item.
    #[error("{0} not found")]
    NotFound(String),
}

/// Results of the app's core.
pub type AppResult<T> = Result<T, AppError>;
