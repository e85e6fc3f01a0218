//! The audit log as people read it: each entry with the names of the people and places it
//! concerns, the record it was about, and, for a change that re-determined tiers, each location's
//! tier and premium before and after. The log itself holds only ids and codes; the tiers come
//! from the stored determinations, which say what caused them and when.

use std::collections::HashMap;

use accredit_shared::determination::PremiumStatus;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::audit::{self, AuditQuery, AuditRow};
use crate::auth::{Caller, Role};
use crate::error::ServiceError;

/// A location's tier and premium at one determination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The tier (`None`: no tier).
    pub tier: Option<String>,
    /// Weekly premium per placement, in pence.
    pub weekly_pence: i64,
    /// Where the premium stood (`None` if the stored status does not read).
    pub status: Option<PremiumStatus>,
}

/// One location's determination caused by an entry, and the one before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierStep {
    /// The location's name.
    pub location: String,
    /// Before the change (`None`: its first determination).
    pub before: Option<Standing>,
    /// After it.
    pub after: Standing,
}

/// An audit entry with what a reader needs to put it in words.
#[derive(Debug)]
pub struct AuditEntry {
    /// The entry as stored.
    pub row: AuditRow,
    /// The location's name, if the entry concerns one.
    pub location: Option<String>,
    /// The record the entry is about (a CQC rating, gate or certificate), as stored now.
    pub record: Option<Value>,
    /// Tiers the change re-determined, one per location.
    pub tiers: Vec<TierStep>,
}

/// The log, newest first, and every person's, location's and provider's name by id (for ids in
/// details).
#[derive(Debug)]
pub struct AuditView {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Names of people, locations and providers by id.
    pub names: HashMap<String, String>,
}

/// Where the determinations of a change were stored, next to its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// Just after the entry, in the same transaction (every change but the portal's import).
    After,
    /// Before it: the portal's import re-determines, for up to minutes, then writes its entry.
    Before,
}

/// The trigger a determination caused by `row` was stored with, and on which side of the entry.
fn trigger_of(row: &AuditRow) -> Option<(&'static str, Side)> {
    Some(match row.action.as_str() {
        "cqc_rating.recorded" => ("cqc_rating.recorded", Side::After),
        "gate.opened" => ("gate.opened", Side::After),
        "gate.closed" => ("gate.closed", Side::After),
        "qualification.recorded" => ("qualification.recorded", Side::After),
        "placement.recorded" => ("placement.recorded", Side::After),
        "rule_set.added" => ("rule_set.added", Side::After),
        "location.created" => ("location.created", Side::After),
        "location.updated" => ("location.updated", Side::After),
        "location.ownership_ended" | "location.ownership_started" => {
            ("location.ownership_changed", Side::After)
        }
        "visit.published" => ("visit published", Side::After),
        // The portal's import names the kind of file; the command line's writes its entry first.
        "import" if row.details["kind"].is_string() => ("import", Side::Before),
        "import" => ("import", Side::After),
        _ => return None,
    })
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// When the determinations of a change can have been stored: within seconds after its entry (one
/// transaction), or for the portal's import within ten minutes before it, and after `previous`
/// (the entry of the import before, whose determinations can share its millisecond).
fn window(at: &str, side: Side, previous: Option<&str>) -> Option<(String, String)> {
    let t: DateTime<Utc> = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
    Some(match side {
        Side::After => (instant(t), instant(t + Duration::seconds(5))),
        Side::Before => {
            let earliest = t - Duration::minutes(10);
            let after_previous = previous
                .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
                .map(|p| p.with_timezone(&Utc) + Duration::milliseconds(1));
            let from = after_previous.map_or(earliest, |p| p.max(earliest));
            (instant(from), instant(t))
        }
    })
}

fn standing(tier: Option<String>, weekly_pence: i64, status: String) -> Standing {
    Standing {
        tier,
        weekly_pence,
        status: serde_json::from_value(Value::String(status)).ok(),
    }
}

/// The determinations `row` caused, per location, each with the one before it.
fn tier_steps(
    tx: &Connection,
    row: &AuditRow,
    names: &HashMap<String, String>,
) -> Result<Vec<TierStep>, ServiceError> {
    let Some((trigger, side)) = trigger_of(row) else {
        return Ok(Vec::new());
    };
    let previous: Option<String> = if side == Side::Before {
        tx.prepare_cached("SELECT MAX(at) FROM audit_log WHERE action = ?1 AND seq < ?2")?
            .query_row(params![row.action, row.seq], |r| r.get(0))?
    } else {
        None
    };
    let Some((from, to)) = window(&row.at, side, previous.as_deref()) else {
        return Ok(Vec::new());
    };
    // The determination of this change, per location: the first after the entry, or for an
    // import the last in its window.
    let mut stmt = tx.prepare_cached(
        "SELECT location_id, seq, tier, weekly_pence, status FROM determinations
         WHERE trigger = ?1 AND computed_at >= ?2 AND computed_at <= ?3 AND (?4 IS NULL OR location_id = ?4)
         ORDER BY seq",
    )?;
    let found = stmt
        .query_map(params![trigger, from, to, row.location_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut nearest: Vec<(String, i64, Standing)> = Vec::new();
    for (location, seq, tier, weekly, status) in found {
        let s = standing(tier, weekly, status);
        match nearest.iter_mut().find(|(l, _, _)| *l == location) {
            Some(slot) if side == Side::Before => *slot = (location, seq, s),
            Some(_) => {}
            None => nearest.push((location, seq, s)),
        }
    }
    let mut before_stmt = tx.prepare_cached(
        "SELECT tier, weekly_pence, status FROM determinations WHERE location_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
    )?;
    let mut out = Vec::new();
    for (location, seq, after) in nearest {
        let before = before_stmt
            .query_row(params![location, seq], |r| {
                Ok(standing(r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        out.push(TierStep {
            location: names.get(&location).cloned().unwrap_or(location),
            before,
            after,
        });
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

/// The stored record an entry is about, for the kinds whose values the log shows.
fn record_of(tx: &Connection, row: &AuditRow) -> Result<Option<Value>, ServiceError> {
    let table = match row.action.as_str() {
        "cqc_rating.recorded" => "cqc_ratings",
        "gate.opened" | "gate.closed" => "gates",
        "qualification.recorded" => "qualifications",
        _ => return Ok(None),
    };
    let Some(id) = &row.subject_id else {
        return Ok(None);
    };
    let data: Option<String> = tx
        .query_row(
            &format!("SELECT data FROM {table} WHERE id = ?1"),
            [id],
            |r| r.get(0),
        )
        .optional()?;
    // A record that does not read is shown as missing rather than failing the whole log.
    Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
}

/// Names of every person, location and provider, by id.
fn names(tx: &Connection) -> Result<HashMap<String, String>, ServiceError> {
    let mut out = HashMap::new();
    for sql in [
        "SELECT id, display_name FROM users",
        "SELECT id, name FROM locations",
        "SELECT id, name FROM providers",
    ] {
        let mut stmt = tx.prepare(sql)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        out.extend(rows);
    }
    Ok(out)
}

/// The log for leads and commissioners, newest first, with what each entry changed.
pub fn read(tx: &Connection, caller: &Caller, q: &AuditQuery) -> Result<AuditView, ServiceError> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    let names = names(tx)?;
    let mut entries = Vec::new();
    for row in audit::search(tx, q)? {
        let location = row.location_id.as_ref().and_then(|l| names.get(l).cloned());
        entries.push(AuditEntry {
            location,
            record: record_of(tx, &row)?,
            tiers: tier_steps(tx, &row, &names)?,
            row,
        });
    }
    Ok(AuditView { entries, names })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_after_the_entry_or_before_an_import() {
        let at = "2026-11-02T10:00:00.000Z";
        assert_eq!(
            window(at, Side::After, None),
            Some((at.to_owned(), "2026-11-02T10:00:05.000Z".to_owned()))
        );
        assert_eq!(
            window(at, Side::Before, None),
            Some(("2026-11-02T09:50:00.000Z".to_owned(), at.to_owned()))
        );
        // An import a minute before bounds the window; one an hour before does not.
        assert_eq!(
            window(at, Side::Before, Some("2026-11-02T09:59:00.000Z")),
            Some(("2026-11-02T09:59:00.001Z".to_owned(), at.to_owned()))
        );
        assert_eq!(
            window(at, Side::Before, Some("2026-11-02T09:00:00.000Z")),
            Some(("2026-11-02T09:50:00.000Z".to_owned(), at.to_owned()))
        );
        assert_eq!(window("yesterday", Side::After, None), None);
    }

    #[test]
    fn every_change_that_re_determines_names_its_trigger() {
        let row = |action: &str, details: Value| AuditRow {
            seq: 1,
            at: "2026-11-02T10:00:00.000Z".into(),
            user_id: None,
            user_name: None,
            action: action.into(),
            subject_type: String::new(),
            subject_id: None,
            location_id: None,
            details,
        };
        for action in [
            "cqc_rating.recorded",
            "gate.opened",
            "gate.closed",
            "qualification.recorded",
            "placement.recorded",
            "rule_set.added",
            "location.created",
            "location.updated",
            "location.ownership_ended",
            "location.ownership_started",
            "visit.published",
        ] {
            assert_eq!(
                trigger_of(&row(action, Value::Null)).map(|t| t.1),
                Some(Side::After),
                "{action}"
            );
        }
        let portal = row("import", serde_json::json!({ "kind": "placements" }));
        assert_eq!(trigger_of(&portal), Some(("import", Side::Before)));
        let command_line = row("import", serde_json::json!({ "rows": 3 }));
        assert_eq!(trigger_of(&command_line), Some(("import", Side::After)));
        assert_eq!(trigger_of(&row("visit.commented", Value::Null)), None);
    }
}
