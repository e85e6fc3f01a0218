//! Where the server's log goes and in what shape: `tracing` events on standard error (standard
//! output is kept for what the commands print for people, such as the demo's logins), as plain
//! text or, with `ACCREDIT_LOG_FORMAT=json`, one JSON object a line for a log collector. The level
//! comes from `ACCREDIT_LOG` (`info` by default; any `tracing` filter, e.g. `warn` or
//! `info,accredit_server=debug`).

use tracing_subscriber::EnvFilter;

/// The variable holding the log filter.
pub const LEVEL_VAR: &str = "ACCREDIT_LOG";
/// The variable choosing the format: `text` (the default) or `json`.
pub const FORMAT_VAR: &str = "ACCREDIT_LOG_FORMAT";

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogSetupError {
    /// `ACCREDIT_LOG` does not parse as a filter.
    #[error("{LEVEL_VAR}={value:?} is not a log filter (try info, warn or debug): {reason}")]
    Filter {
        /// What was set.
        value: String,
        /// What the parser said.
        reason: String,
    },
    /// `ACCREDIT_LOG_FORMAT` is neither `text` nor `json`.
    #[error("{FORMAT_VAR}={0:?} is not a log format: use text or json")]
    Format(String),
    /// A variable is not valid Unicode.
    #[error("{0} is not valid Unicode")]
    NotUnicode(&'static str),
    /// A global subscriber was installed already.
    #[error("the log was already set up: {0}")]
    Installed(String),
}

/// A variable's value; unset or empty is `None`.
fn var(name: &'static str) -> Result<Option<String>, LogSetupError> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(LogSetupError::NotUnicode(name)),
    }
}

/// Installs the process's log from the environment. Call once, first thing.
pub fn init() -> Result<(), LogSetupError> {
    let filter = match var(LEVEL_VAR)? {
        None => EnvFilter::new("info"),
        Some(value) => EnvFilter::try_new(&value).map_err(|e| LogSetupError::Filter {
            reason: e.to_string(),
            value,
        })?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let installed = match var(FORMAT_VAR)?.as_deref() {
        None | Some("text") => builder.try_init(),
        // Flat objects (the event's fields beside `timestamp` and `level`) and the request's
        // span, whose method and route tie a handler's event to its request.
        Some("json") => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        Some(other) => return Err(LogSetupError::Format(other.to_owned())),
    };
    installed.map_err(|e| LogSetupError::Installed(e.to_string()))
}
