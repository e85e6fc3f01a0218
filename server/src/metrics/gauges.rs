//! Gauges read from the database at each scrape: a list of queries, one line each, so a new
//! gauge is a one-line change.

use chrono::Utc;
use rusqlite::Connection;

use crate::state::Config;

/// A number read from the database when `/metrics` is scraped.
pub struct Gauge {
    /// The metric's name, `accredit_…`, without a `_total` suffix (it is not a counter).
    pub name: &'static str,
    /// One sentence for `# HELP`.
    pub help: &'static str,
    /// A query returning one row with one number. It may use the named parameters listed at
    /// [`GAUGES`]. It must count, never name: no user ids, no location ids.
    pub sql: &'static str,
}

const fn gauge(name: &'static str, help: &'static str, sql: &'static str) -> Gauge {
    Gauge { name, help, sql }
}

/// Every gauge, one line each. To add one, add a line.
///
/// Queries may use these parameters, bound only when used: `:now` (the time as stored, RFC 3339
/// UTC), `:portal_used_after` and `:portal_born_after` (a portal session last used, or started,
/// before these has expired), `:device_used_after` and `:device_born_after` (the same for device
/// tokens). A gauge whose query fails (a table not there yet) is left out of the scrape and logged.
#[rustfmt::skip]
pub const GAUGES: &[Gauge] = &[
    gauge("accredit_documents", "Visit documents stored.", "SELECT count(*) FROM documents"),
    gauge("accredit_visits_awaiting_review", "Signed-off visits waiting for a lead to share them.", "SELECT count(*) FROM visits WHERE status = 'signed_off'"),
    gauge("accredit_visits_shared", "Visits shared with their provider and not yet published.", "SELECT count(*) FROM visits WHERE status = 'shared'"),
    gauge("accredit_revisions_pending", "Later revisions of signed visits waiting for a lead's decision.", "SELECT count(*) FROM visit_revisions WHERE state = 'pending'"),
    gauge("accredit_blobs", "Photos and files stored.", "SELECT count(*) FROM blobs"),
    gauge("accredit_blob_bytes", "Bytes of photos and files stored.", "SELECT coalesce(sum(size), 0) FROM blobs"),
    gauge("accredit_active_sessions", "Sessions (portal and devices) neither revoked, expired nor of a disabled user.", ACTIVE_SESSIONS),
    gauge("accredit_notices_pending", "Email notices waiting to be sent.", "SELECT count(*) FROM notices WHERE state = 'queued'"),
    gauge("accredit_notices_failed", "Email notices that failed after every retry.", "SELECT count(*) FROM notices WHERE state = 'failed'"),
    gauge("accredit_planned_visits_late", "Planned visits whose day has passed and that have not started.", "SELECT count(*) FROM planned_visits WHERE cancelled_at IS NULL AND visit_id IS NULL AND planned_on < substr(:now, 1, 10)"),
    gauge("accredit_imports_running", "CSV imports uploaded and not finished.", "SELECT count(*) FROM import_drafts WHERE finished_at IS NULL"),
    gauge("accredit_database_bytes", "Size of the database file, free pages included.", "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"),
];

/// Times are stored by `state::now_text` in one format, so they compare as text.
const ACTIVE_SESSIONS: &str = "SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id
    WHERE t.revoked_at IS NULL AND u.disabled = 0 AND CASE t.kind
        WHEN 'portal' THEN t.created_at > :portal_born_after AND coalesce(t.last_used_at, t.created_at) > :portal_used_after
        ELSE t.created_at > :device_born_after AND coalesce(t.last_used_at, t.created_at) > :device_used_after END";

/// Reads every gauge; one that fails is left out and logged, so the rest still reach the
/// monitoring.
pub fn read(tx: &Connection, config: &Config) -> Vec<(&'static Gauge, f64)> {
    let now = Utc::now();
    let before = |d: std::time::Duration| {
        let at = chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let params = [
        (":now", before(std::time::Duration::ZERO)),
        (":portal_used_after", before(config.session_idle)),
        (":portal_born_after", before(config.session_lifetime)),
        (":device_used_after", before(config.device_idle)),
        (":device_born_after", before(config.device_lifetime)),
    ];
    GAUGES
        .iter()
        .filter_map(|g| match value(tx, g, &params) {
            Ok(v) => Some((g, v)),
            Err(e) => {
                tracing::warn!(gauge = g.name, error = %e, "a metrics gauge could not be read");
                None
            }
        })
        .collect()
}

fn value(tx: &Connection, gauge: &Gauge, params: &[(&str, String)]) -> rusqlite::Result<f64> {
    let mut stmt = tx.prepare_cached(gauge.sql)?;
    for i in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(i).unwrap_or_default().to_owned();
        let (_, v) = params
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or(rusqlite::Error::InvalidParameterName(name))?;
        stmt.raw_bind_parameter(i, v)?;
    }
    let mut rows = stmt.raw_query();
    let row = rows.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    row.get::<_, f64>(0)
}
