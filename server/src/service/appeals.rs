//! Appeals against published visits, minimal: a provider (for its own locations), a lead or a
//! commissioner lodges one with its grounds; a lead or commissioner upholds or dismisses it with a
//! reason, or the person who lodged it withdraws it. The tier in force stays during an appeal
//! (DOMAIN.md §6). Backdating a tier on an upheld appeal is not done here: the outcome is
//! recorded, and the retention job keeps everything an open appeal depends on.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::access;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::db::stored_id;
use crate::error::{ServiceError, ServiceResult};
use crate::service::records::{Refusal, refuse};
use crate::service::visits::{VisitStatus, require_visit};
use crate::state::now_text;

/// The longest grounds or reason accepted, in characters.
pub const MAX_TEXT: usize = 5000;

/// Where an appeal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealStatus {
    /// Lodged, not yet decided.
    Open,
    /// Decided for the appellant.
    Upheld,
    /// Decided against the appellant.
    Dismissed,
    /// Withdrawn by the appellant.
    Withdrawn,
}

impl AppealStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AppealStatus::Open => "open",
            AppealStatus::Upheld => "upheld",
            AppealStatus::Dismissed => "dismissed",
            AppealStatus::Withdrawn => "withdrawn",
        }
    }

    fn parse(text: &str) -> ServiceResult<AppealStatus> {
        Ok(match text {
            "open" => AppealStatus::Open,
            "upheld" => AppealStatus::Upheld,
            "dismissed" => AppealStatus::Dismissed,
            "withdrawn" => AppealStatus::Withdrawn,
            other => {
                return Err(ServiceError::internal(format!(
                    "stored appeal status {other:?}"
                )));
            }
        })
    }

    /// In words, for pages.
    pub fn label(self) -> &'static str {
        match self {
            AppealStatus::Open => "Open",
            AppealStatus::Upheld => "Upheld",
            AppealStatus::Dismissed => "Dismissed",
            AppealStatus::Withdrawn => "Withdrawn",
        }
    }
}

/// An appeal as the API and the portal show it.
#[derive(Clone, Debug, Serialize)]
pub struct AppealView {
    /// Its id.
    pub id: Uuid,
    /// The visit appealed against.
    pub visit_id: Uuid,
    /// The visit's location.
    pub location_id: Uuid,
    /// The location's name.
    pub location_name: String,
    /// Where it stands.
    pub status: AppealStatus,
    /// The grounds given.
    pub grounds: String,
    /// Who lodged it.
    pub lodged_by: Uuid,
    /// Their name.
    pub lodged_by_name: String,
    /// When (RFC 3339).
    pub lodged_at: String,
    /// Who decided or withdrew it.
    pub decided_by_name: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// The reason given with the decision.
    pub reason: Option<String>,
}

/// The outcome a lead or commissioner records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// For the appellant.
    Upheld,
    /// Against.
    Dismissed,
}

impl Outcome {
    /// Reads `upheld` or `dismissed`.
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "upheld" => Some(Outcome::Upheld),
            "dismissed" => Some(Outcome::Dismissed),
            _ => None,
        }
    }

    fn status(self) -> AppealStatus {
        match self {
            Outcome::Upheld => AppealStatus::Upheld,
            Outcome::Dismissed => AppealStatus::Dismissed,
        }
    }
}

fn check_text(field: &'static str, what: &str, text: &str, out: &mut Vec<Refusal>) {
    if text.trim().is_empty() {
        out.push(Refusal::new(field, format!("Enter the {what}")));
    } else if text.chars().count() > MAX_TEXT {
        out.push(Refusal::new(
            field,
            format!("The {what} must be {MAX_TEXT} characters or fewer"),
        ));
    }
}

/// The rules for a new appeal's fields (`grounds`).
pub fn check_lodge(grounds: &str) -> Vec<Refusal> {
    let mut out = Vec::new();
    check_text("grounds", "grounds for the appeal", grounds, &mut out);
    out
}

/// The rules for a decision's fields (`outcome`, `reason`).
pub fn check_decision(outcome: Option<Outcome>, reason: &str) -> Vec<Refusal> {
    let mut out = Vec::new();
    if outcome.is_none() {
        out.push(Refusal::new(
            "outcome",
            "Select whether the appeal is upheld or dismissed",
        ));
    }
    check_text("reason", "reason for the decision", reason, &mut out);
    out
}

const SELECT: &str =
    "SELECT a.id, a.visit_id, a.location_id, l.name, a.status, a.grounds, a.lodged_by,
        u.display_name, a.lodged_at, d.display_name, a.decided_at, a.reason
     FROM appeals a JOIN locations l ON l.id = a.location_id JOIN users u ON u.id = a.lodged_by
     LEFT JOIN users d ON d.id = a.decided_by";

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    r.try_into()
}

fn view_of(row: Row) -> ServiceResult<AppealView> {
    let (id, visit, location, name, status, grounds, by, by_name, at, dec_name, dec_at, reason) =
        row;
    Ok(AppealView {
        id: stored_id(&id)?,
        visit_id: stored_id(&visit)?,
        location_id: stored_id(&location)?,
        location_name: name,
        status: AppealStatus::parse(&status)?,
        grounds,
        lodged_by: stored_id(&by)?,
        lodged_by_name: by_name,
        lodged_at: at,
        decided_by_name: dec_name,
        decided_at: dec_at,
        reason,
    })
}

fn may_appeal(caller: &Caller) -> ServiceResult<()> {
    caller.require(&[Role::Provider, Role::Lead, Role::Commissioner])
}

/// One appeal the caller may see (its location's), or 404.
pub fn appeal(tx: &Connection, caller: &Caller, id: Uuid) -> ServiceResult<AppealView> {
    may_appeal(caller)?;
    let row = tx
        .query_row(
            &format!("{SELECT} WHERE a.id = ?1"),
            [id.to_string()],
            read_row,
        )
        .optional()?
        .ok_or_else(|| ServiceError::not_found("appeal"))?;
    let view = view_of(row)?;
    if access::may_see_location(tx, caller, view.location_id)? {
        Ok(view)
    } else {
        Err(ServiceError::not_found("appeal"))
    }
}

/// The appeals the caller may see, newest first; only one visit's if `visit` is given.
pub fn list(
    tx: &Connection,
    caller: &Caller,
    visit: Option<Uuid>,
) -> ServiceResult<Vec<AppealView>> {
    may_appeal(caller)?;
    let mut stmt = tx.prepare(&format!(
        "{SELECT} WHERE (?1 IS NULL OR a.visit_id = ?1) ORDER BY a.lodged_at DESC, a.id"
    ))?;
    let rows: Vec<Row> = stmt
        .query_map(params![visit.map(|v| v.to_string())], read_row)?
        .collect::<Result<_, _>>()?;
    let visible: std::collections::HashSet<Uuid> =
        access::visible_locations(tx, caller)?.into_iter().collect();
    let mut out = Vec::new();
    for row in rows {
        let view = view_of(row)?;
        if visible.contains(&view.location_id) {
            out.push(view);
        }
    }
    Ok(out)
}

/// Whether a visit has an open appeal (the retention job keeps such a visit whole).
pub fn open_on(tx: &Connection, visit: Uuid) -> ServiceResult<Option<Uuid>> {
    let id: Option<String> = tx
        .query_row(
            "SELECT id FROM appeals WHERE visit_id = ?1 AND status = 'open'",
            [visit.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    id.map(|i| stored_id(&i)).transpose()
}

fn audit_appeal(
    tx: &Connection,
    caller: &Caller,
    action: &str,
    a: &AppealView,
) -> ServiceResult<()> {
    // Ids only: the grounds and reasons are free text and may name people.
    audit::record(
        tx,
        Some(caller),
        Entry {
            action,
            subject_type: "appeal",
            subject_id: Some(a.id.to_string()),
            location_id: Some(a.location_id),
            details: json!({ "visit_id": a.visit_id }),
        },
    )
}

/// Lodges an appeal against a published visit the caller may see; one open appeal per visit.
pub fn lodge(
    tx: &Connection,
    caller: &Caller,
    visit: Uuid,
    grounds: &str,
) -> ServiceResult<AppealView> {
    may_appeal(caller)?;
    let v = require_visit(tx, caller, visit)?;
    if v.status != VisitStatus::Published {
        return Err(ServiceError::conflict(
            "only a published visit can be appealed",
        ));
    }
    refuse(check_lodge(grounds))?;
    if open_on(tx, visit)?.is_some() {
        return Err(ServiceError::conflict(
            "this visit already has an open appeal",
        ));
    }
    let id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO appeals (id, visit_id, location_id, lodged_by, lodged_at, grounds, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open')",
        params![
            id.to_string(),
            visit.to_string(),
            v.location_id.to_string(),
            caller.user_id.to_string(),
            now_text(),
            grounds.trim()
        ],
    )?;
    let view = appeal(tx, caller, id)?;
    audit_appeal(tx, caller, "appeal.lodged", &view)?;
    Ok(view)
}

fn require_open(a: &AppealView) -> ServiceResult<()> {
    if a.status == AppealStatus::Open {
        Ok(())
    } else {
        Err(ServiceError::conflict(format!(
            "this appeal is already {}",
            a.status.as_str()
        )))
    }
}

/// A lead or commissioner records the outcome of an open appeal, with a reason.
pub fn decide(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
    outcome: Option<Outcome>,
    reason: &str,
) -> ServiceResult<AppealView> {
    let a = appeal(tx, caller, id)?;
    caller.require(&[Role::Lead, Role::Commissioner])?;
    require_open(&a)?;
    refuse(check_decision(outcome, reason))?;
    let status = outcome
        .ok_or_else(|| ServiceError::invalid("Select whether the appeal is upheld or dismissed"))?
        .status();
    tx.execute(
        "UPDATE appeals SET status = ?2, decided_by = ?3, decided_at = ?4, reason = ?5 WHERE id = ?1 AND status = 'open'",
        params![
            id.to_string(),
            status.as_str(),
            caller.user_id.to_string(),
            now_text(),
            reason.trim()
        ],
    )?;
    let view = appeal(tx, caller, id)?;
    audit_appeal(tx, caller, &format!("appeal.{}", status.as_str()), &view)?;
    Ok(view)
}

/// The person who lodged an open appeal withdraws it.
pub fn withdraw(tx: &Connection, caller: &Caller, id: Uuid) -> ServiceResult<AppealView> {
    let a = appeal(tx, caller, id)?;
    if a.lodged_by != caller.user_id {
        return Err(ServiceError::forbidden(
            "only the person who lodged an appeal can withdraw it",
        ));
    }
    require_open(&a)?;
    tx.execute(
        "UPDATE appeals SET status = 'withdrawn', decided_by = ?2, decided_at = ?3 WHERE id = ?1 AND status = 'open'",
        params![id.to_string(), caller.user_id.to_string(), now_text()],
    )?;
    let view = appeal(tx, caller, id)?;
    audit_appeal(tx, caller, "appeal.withdrawn", &view)?;
    Ok(view)
}
