//! The domain error of every service: what went wrong, in words for people. It knows nothing of
//! HTTP; `http::status_of` maps it to a status once, at the edge, for the API and the portal alike.

use thiserror::Error;

/// Why a service refused or failed a request.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The request cannot be understood (malformed syntax, a missing field).
    #[error("{0}")]
    BadRequest(String),
    /// Nobody is signed in, or the credentials are not right.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing, or not one the caller may know about.
    #[error("no such {0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The request or upload is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// Well-formed but not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Too many failed attempts: try again after the given number of seconds.
    #[error("{message}")]
    TooManyAttempts {
        /// What to do.
        message: String,
        /// Seconds until another attempt is considered.
        retry_after_secs: u64,
    },
    /// Signed in with a one-time password that must be replaced before anything else.
    #[error("choose your own password first: the one you were given works only once")]
    PasswordChangeRequired,
    /// Our fault. The detail was logged (without personal data) and is never shown.
    #[error("the server could not complete the request")]
    Internal,
}

impl ServiceError {
    /// The request cannot be understood.
    pub fn bad_request(message: impl Into<String>) -> ServiceError {
        ServiceError::BadRequest(message.into())
    }
    /// No valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> ServiceError {
        ServiceError::Unauthorized(message.into())
    }
    /// The caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> ServiceError {
        ServiceError::Forbidden(message.into())
    }
    /// No such `what`, or not one the caller may know about.
    pub fn not_found(what: &str) -> ServiceError {
        ServiceError::NotFound(what.to_owned())
    }
    /// The request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> ServiceError {
        ServiceError::Conflict(message.into())
    }
    /// The body or upload is too large.
    pub fn too_large(message: impl Into<String>) -> ServiceError {
        ServiceError::TooLarge(message.into())
    }
    /// Well-formed but not acceptable.
    pub fn invalid(message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(message.into())
    }
    /// Our fault: the detail is logged, never sent.
    pub fn internal(detail: impl std::fmt::Display) -> ServiceError {
        tracing::error!(detail = %detail, "internal error");
        ServiceError::Internal
    }

    /// A stable machine-readable code, e.g. `forbidden`.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::BadRequest(_) => "bad_request",
            ServiceError::Unauthorized(_) => "unauthorized",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::TooLarge(_) => "too_large",
            ServiceError::Invalid(_) => "invalid",
            ServiceError::TooManyAttempts { .. } => "too_many_attempts",
            ServiceError::PasswordChangeRequired => "password_change_required",
            ServiceError::Internal => "internal",
        }
    }

    /// The sentence for people.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// Whether the input was refused (as opposed to access refused or a failure): the form
    /// should be shown again with the message at its field.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ServiceError::BadRequest(_) | ServiceError::Invalid(_) | ServiceError::Conflict(_)
        )
    }
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> ServiceError {
        ServiceError::internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for ServiceError {
    fn from(e: serde_json::Error) -> ServiceError {
        ServiceError::internal(format!("json: {e}"))
    }
}

impl From<std::io::Error> for ServiceError {
    fn from(e: std::io::Error) -> ServiceError {
        ServiceError::internal(format!("io: {e}"))
    }
}

/// The result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;
