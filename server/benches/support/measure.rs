//! What every server benchmark measures with: a demo user as a caller, and this process's memory.

use accredit_server::auth::{Caller, Role};
use accredit_server::state::AppState;
use accredit_server::users;
use anyhow::anyhow;
use uuid::Uuid;

/// A demo user, as the services see a signed-in caller.
pub fn caller(s: &AppState, username: &str, role: Role) -> anyhow::Result<Caller> {
    let id =
        s.db.read(|tx| users::user_id(tx, username))
            .map_err(|e| anyhow!("{e}"))?;
    Ok(Caller {
        user_id: id,
        name: username.to_owned(),
        role,
        provider_id: None,
        device_id: Uuid::new_v4(),
        password_change_due: false,
    })
}

/// A memory figure of this process from `/proc/self/status`, in MB (Linux; 0 elsewhere).
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Peak resident memory of this process so far (or since the peak was last reset), in MB.
pub fn peak_mb() -> f64 {
    status_mb("VmHWM:")
}

/// Resident memory now, in MB.
pub fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}
