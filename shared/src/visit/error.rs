//! What can go wrong with a visit document.

use automerge::AutomergeError;
use thiserror::Error;

/// An error reading or editing a visit document.
#[derive(Debug, Error)]
pub enum VisitDocError {
    /// Automerge refused the bytes or the operation.
    #[error("the visit document could not be read or changed: {0}")]
    Automerge(#[from] AutomergeError),
    /// A field is missing or has the wrong type.
    #[error("the visit document is malformed at {path}: {message}")]
    Malformed {
        /// Where, as a `/`-separated path from the root.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The criterion is not in the visit's framework pack.
    #[error("criterion {0:?} is not in this visit's framework pack")]
    UnknownCriterion(String),
    /// The pack given is not the visit's pack.
    #[error("framework pack {given} does not match the visit's pack {expected}")]
    WrongPack {
        /// The visit's pack id@version.
        expected: String,
        /// The pack given.
        given: String,
    },
    /// The visit has been signed off on this device.
    #[error("the visit has been signed off and is read-only")]
    SignedOff,
    /// Sign-off is blocked by conflicts.
    #[error("{0} conflicting value(s) must be resolved before sign-off")]
    UnresolvedConflicts(usize),
    /// No item with that id.
    #[error("this visit has no {what} with id {id}")]
    NotFound {
        /// Kind of item.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// There is no conflict at the path given.
    #[error("there is no conflict at {0}")]
    NoConflict(String),
    /// The draft cannot be moved to the pack version asked for.
    #[error(transparent)]
    Migration(#[from] crate::pack_migration::MigrationError),
    /// An input value is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn malformed(path: &[&str], message: impl Into<String>) -> VisitDocError {
    VisitDocError::Malformed {
        path: path.join("/"),
        message: message.into(),
    }
}
