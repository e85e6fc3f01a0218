//! Visit planning: leads and commissioners plan visits (location, kind, day, monitors),
//! reassign and cancel them, and see what is due and not yet planned, riskiest first, from the
//! scheme's rules (`accredit_shared::planning`). A monitor's planned visits reach their tablet
//! with the caseload; a visit started from a plan carries the plan's id in its document, and
//! the server links them when the document first arrives, so the plan shows planned, started,
//! signed off and published.

use std::collections::{BTreeSet, HashMap};

use accredit_shared::Engine;
use accredit_shared::api::{DueVisitRow, PlanStatus, PlannedVisit};
use accredit_shared::planning::due_visits;
use accredit_shared::records::VisitType;
use accredit_shared::warning::early_warning;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use uuid::Uuid;

use crate::access;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::db::{stored_date, stored_id};
use crate::error::{ServiceError, ServiceResult};
use crate::service::records::{Refusal, refuse};
use crate::state::{AppState, now_text};
use crate::tiers;

/// The most monitors on one planned visit.
pub const MAX_MONITORS: usize = 4;

fn type_text(t: VisitType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse_type(s: &str) -> ServiceResult<VisitType> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| ServiceError::internal("a stored visit type does not read"))
}

/// What a lead types for a planned visit.
#[derive(Clone, Debug)]
pub struct PlanInput {
    /// Where.
    pub location_id: Uuid,
    /// Kind of visit.
    pub visit_type: Option<VisitType>,
    /// The day.
    pub planned_on: Option<NaiveDate>,
    /// Who goes.
    pub monitors: Vec<Uuid>,
    /// Why, in words, when planned from the due list.
    pub reason: String,
}

/// The rules for a plan's fields, each refusal naming its field (`visit_type`, `planned_on`,
/// `monitors`, `reason`), as of `today`.
pub fn check_plan(p: &PlanInput, today: NaiveDate) -> Vec<Refusal> {
    let mut out = Vec::new();
    if p.visit_type.is_none() {
        out.push(Refusal::new("visit_type", "choose the kind of visit"));
    }
    match p.planned_on {
        None => out.push(Refusal::new("planned_on", "enter the day of the visit")),
        Some(d) if d < today => out.push(Refusal::new(
            "planned_on",
            "the day of the visit must be today or later",
        )),
        Some(d) if d > accredit_shared::calendar::add_months(today, 24) => out.push(Refusal::new(
            "planned_on",
            "plan visits at most two years ahead",
        )),
        _ => {}
    }
    let distinct: BTreeSet<_> = p.monitors.iter().collect();
    if distinct.is_empty() {
        out.push(Refusal::new("monitors", "choose at least one monitor"));
    } else if distinct.len() > MAX_MONITORS {
        out.push(Refusal::new(
            "monitors",
            format!("choose at most {MAX_MONITORS} monitors"),
        ));
    }
    if p.reason.chars().count() > 300 {
        out.push(Refusal::new(
            "reason",
            "the reason must be 300 characters or fewer",
        ));
    }
    out
}

/// Checks the monitors are enabled monitors, and puts the location on the caseload of any who
/// do not cover it yet (their tablet needs the location to start the visit).
fn staff(
    tx: &Connection,
    caller: &Caller,
    location: Uuid,
    monitors: &BTreeSet<Uuid>,
) -> ServiceResult<()> {
    for m in monitors {
        let ok = tx
            .query_row(
                "SELECT 1 FROM users WHERE id = ?1 AND role = 'monitor' AND disabled = 0",
                [m.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !ok {
            return Err(ServiceError::invalid("choose monitors from the list"));
        }
        if tx.execute(
            "INSERT OR IGNORE INTO caseload (monitor_id, location_id) VALUES (?1, ?2)",
            params![m.to_string(), location.to_string()],
        )? == 1
        {
            audit::record(
                tx,
                Some(caller),
                Entry {
                    action: "caseload.added",
                    subject_type: "user",
                    subject_id: Some(m.to_string()),
                    location_id: Some(location),
                    details: json!({ "for": "planned visit" }),
                },
            )?;
        }
    }
    Ok(())
}

fn set_monitors(tx: &Connection, plan: Uuid, monitors: &BTreeSet<Uuid>) -> ServiceResult<()> {
    tx.execute(
        "DELETE FROM plan_monitors WHERE plan_id = ?1",
        [plan.to_string()],
    )?;
    for m in monitors {
        tx.execute(
            "INSERT INTO plan_monitors (plan_id, monitor_id) VALUES (?1, ?2)",
            params![plan.to_string(), m.to_string()],
        )?;
    }
    Ok(())
}

/// Plans a visit; returns its id.
pub fn plan_visit(s: &AppState, caller: &Caller, p: &PlanInput) -> ServiceResult<Uuid> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    refuse(check_plan(p, s.today()))?;
    let (Some(visit_type), Some(planned_on)) = (p.visit_type, p.planned_on) else {
        return Err(ServiceError::invalid(
            "choose the kind of visit and its day",
        ));
    };
    let monitors: BTreeSet<Uuid> = p.monitors.iter().copied().collect();
    let id = Uuid::new_v4();
    s.db.write(|tx| {
        let (loc, _) = tiers::location(tx, p.location_id)?
            .ok_or_else(|| ServiceError::not_found("location"))?;
        if loc.registered_to.is_some_and(|t| t < planned_on) {
            return Err(ServiceError::invalid(
                "the location's registration has ended by then: plan the visit at the location that replaced it",
            ));
        }
        staff(tx, caller, p.location_id, &monitors)?;
        tx.execute(
            "INSERT INTO planned_visits (id, location_id, visit_type, planned_on, reason, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id.to_string(),
                p.location_id.to_string(),
                type_text(visit_type),
                planned_on.to_string(),
                p.reason.trim(),
                caller.user_id.to_string(),
                now_text()
            ],
        )?;
        set_monitors(tx, id, &monitors)?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "visit.planned",
                subject_type: "planned_visit",
                subject_id: Some(id.to_string()),
                location_id: Some(p.location_id),
                details: json!({
                    "visit_type": type_text(visit_type),
                    "planned_on": planned_on.to_string(),
                    "monitors": monitors.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                }),
            },
        )?;
        crate::service::notices::visit_planned(s, tx, id, &monitors, false)?;
        Ok(id)
    })
}

fn active_plan_location(tx: &Connection, id: Uuid) -> ServiceResult<Uuid> {
    let row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT location_id, cancelled_at FROM planned_visits WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Err(ServiceError::not_found("planned visit")),
        Some((_, Some(_))) => Err(ServiceError::conflict("this planned visit was cancelled")),
        Some((loc, None)) => stored_id(&loc),
    }
}

/// Moves a planned visit to another day or other monitors. A visit already started keeps its
/// link; only its plan changes.
pub fn reassign(
    s: &AppState,
    caller: &Caller,
    id: Uuid,
    planned_on: Option<NaiveDate>,
    monitors: &[Uuid],
) -> ServiceResult<()> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    let input = PlanInput {
        location_id: Uuid::nil(),
        visit_type: Some(VisitType::Annual),
        planned_on,
        monitors: monitors.to_vec(),
        reason: String::new(),
    };
    refuse(check_plan(&input, s.today()))?;
    let Some(planned_on) = planned_on else {
        return Err(ServiceError::invalid("enter the day of the visit"));
    };
    let wanted: BTreeSet<Uuid> = monitors.iter().copied().collect();
    s.db.write(|tx| {
        let location = active_plan_location(tx, id)?;
        let before: BTreeSet<Uuid> = crate::db::query_ids(
            tx,
            "SELECT monitor_id FROM plan_monitors WHERE plan_id = ?1",
            [id.to_string()],
        )?
        .into_iter()
        .collect();
        staff(tx, caller, location, &wanted)?;
        tx.execute(
            "UPDATE planned_visits SET planned_on = ?2 WHERE id = ?1",
            params![id.to_string(), planned_on.to_string()],
        )?;
        set_monitors(tx, id, &wanted)?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "visit.reassigned",
                subject_type: "planned_visit",
                subject_id: Some(id.to_string()),
                location_id: Some(location),
                details: json!({
                    "planned_on": planned_on.to_string(),
                    "monitors_before": before.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                    "monitors_after": wanted.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                }),
            },
        )?;
        crate::service::notices::visit_planned(s, tx, id, &wanted, true)?;
        Ok(())
    })
}

/// Cancels a planned visit, with a reason. A visit started from it stays as it is.
pub fn cancel(s: &AppState, caller: &Caller, id: Uuid, reason: &str) -> ServiceResult<()> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(ServiceError::invalid(
            "say why the visit is cancelled, in up to 300 characters",
        ));
    }
    s.db.write(|tx| {
        let location = active_plan_location(tx, id)?;
        tx.execute(
            "UPDATE planned_visits SET cancelled_at = ?2, cancelled_by = ?3, cancel_reason = ?4 WHERE id = ?1",
            params![id.to_string(), now_text(), caller.user_id.to_string(), reason],
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "visit.plan_cancelled",
                subject_type: "planned_visit",
                subject_id: Some(id.to_string()),
                location_id: Some(location),
                details: json!({}),
            },
        )
    })
}

/// Which plans to list.
#[derive(Clone, Debug, Default)]
pub struct PlanFilter {
    /// Only this monitor's.
    pub monitor: Option<Uuid>,
    /// Planned on or after.
    pub from: Option<NaiveDate>,
    /// Planned on or before.
    pub to: Option<NaiveDate>,
    /// Only this location's.
    pub location: Option<Uuid>,
    /// Cancelled and published ones too.
    pub all: bool,
}

fn plans_in(tx: &Connection, filter: &PlanFilter) -> ServiceResult<Vec<PlannedVisit>> {
    let mut stmt = tx.prepare_cached(
        "SELECT p.id, p.location_id, l.name, p.visit_type, p.planned_on, p.visit_id, p.reason, p.cancelled_at,
                v.status, (SELECT 1 FROM documents d WHERE d.id = p.visit_id)
         FROM planned_visits p JOIN locations l ON l.id = p.location_id
         LEFT JOIN visits v ON v.id = p.visit_id
         WHERE (?1 IS NULL OR p.planned_on >= ?1) AND (?2 IS NULL OR p.planned_on <= ?2)
           AND (?3 IS NULL OR p.location_id = ?3)
           AND (?4 IS NULL OR EXISTS (SELECT 1 FROM plan_monitors m WHERE m.plan_id = p.id AND m.monitor_id = ?4))
         ORDER BY p.planned_on, l.name",
    )?;
    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = stmt
        .query_map(
            params![
                filter.from.map(|d| d.to_string()),
                filter.to.map(|d| d.to_string()),
                filter.location.map(|l| l.to_string()),
                filter.monitor.map(|m| m.to_string())
            ],
            |r| r.try_into(),
        )?
        .collect::<Result<_, _>>()?;
    let mut names = tx.prepare_cached(
        "SELECT u.id, u.display_name FROM plan_monitors m JOIN users u ON u.id = m.monitor_id WHERE m.plan_id = ?1 ORDER BY u.display_name",
    )?;
    let mut out = Vec::new();
    for (id, loc, name, kind, day, visit, reason, cancelled, vstatus, doc) in rows {
        let status = match (cancelled, vstatus.as_deref(), doc) {
            (Some(_), _, _) => PlanStatus::Cancelled,
            (None, Some("published"), _) => PlanStatus::Published,
            (None, Some(_), _) => PlanStatus::SignedOff,
            (None, None, Some(_)) => PlanStatus::Started,
            (None, None, None) => PlanStatus::Planned,
        };
        if !filter.all && matches!(status, PlanStatus::Cancelled | PlanStatus::Published) {
            continue;
        }
        let monitors = names
            .query_map([&id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(m, n)| Ok((stored_id(&m)?, n)))
            .collect::<ServiceResult<Vec<_>>>()?;
        out.push(PlannedVisit {
            id: stored_id(&id)?,
            location_id: stored_id(&loc)?,
            location_name: name,
            visit_type: parse_type(&kind)?,
            planned_on: stored_date(&day)?,
            monitors,
            status,
            visit_id: visit.as_deref().map(stored_id).transpose()?,
            reason,
        });
    }
    Ok(out)
}

/// Planned visits by day: leads and commissioners see all; a monitor only their own.
pub fn plans(
    s: &AppState,
    caller: &Caller,
    filter: &PlanFilter,
) -> ServiceResult<Vec<PlannedVisit>> {
    let mut filter = filter.clone();
    match caller.role {
        Role::Lead | Role::Commissioner => {}
        Role::Monitor => filter.monitor = Some(caller.user_id),
        Role::Provider => return Err(ServiceError::forbidden("a provider may not do this")),
    }
    s.db.read(|tx| plans_in(tx, &filter))
}

/// One planned visit (leads and commissioners, or a monitor on it).
pub fn plan(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<PlannedVisit> {
    let found = s.db.read(|tx| {
        let loc: Option<String> = tx
            .query_row(
                "SELECT location_id FROM planned_visits WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(loc) = loc else { return Ok(None) };
        let filter = PlanFilter {
            location: Some(stored_id(&loc)?),
            all: true,
            ..PlanFilter::default()
        };
        Ok(plans_in(tx, &filter)?.into_iter().find(|p| p.id == id))
    })?;
    let p = found.ok_or_else(|| ServiceError::not_found("planned visit"))?;
    let mine = p.monitors.iter().any(|(m, _)| *m == caller.user_id);
    if caller.sees_all() || (caller.role == Role::Monitor && mine) {
        Ok(p)
    } else {
        Err(ServiceError::not_found("planned visit"))
    }
}

/// Active plans per location for the caller's caseload list: a monitor's own, all for leads.
pub fn active_by_location(
    s: &AppState,
    caller: &Caller,
) -> ServiceResult<HashMap<Uuid, Vec<PlannedVisit>>> {
    if caller.role == Role::Provider {
        return Ok(HashMap::new());
    }
    let mut by: HashMap<Uuid, Vec<PlannedVisit>> = HashMap::new();
    for p in plans(s, caller, &PlanFilter::default())? {
        by.entry(p.location_id).or_default().push(p);
    }
    Ok(by)
}

/// What is due and not yet planned, riskiest first (red, amber, green; then the earliest due;
/// then by name). A location with a plan not yet published counts as planned.
pub fn due_list(s: &AppState, caller: &Caller) -> ServiceResult<Vec<DueVisitRow>> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    let day = s.today();
    let book = s.rules();
    let engine = Engine::new(&s.packs, &book);
    s.db.read(|tx| {
        let planned: BTreeSet<Uuid> = plans_in(tx, &PlanFilter::default())?
            .into_iter()
            .map(|p| p.location_id)
            .collect();
        let mut covering: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT c.location_id, u.id, u.display_name FROM caseload c JOIN users u ON u.id = c.monitor_id
                 WHERE u.disabled = 0 ORDER BY u.display_name",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
            for r in rows {
                let (l, u, n) = r?;
                covering.entry(stored_id(&l)?).or_default().push((stored_id(&u)?, n));
            }
        }
        let mut out = Vec::new();
        for id in access::visible_locations(tx, caller)? {
            if planned.contains(&id) {
                continue;
            }
            let Some(records) = tiers::records(tx, id)? else { continue };
            let due = due_visits(&engine, &records, day);
            if due.is_empty() {
                continue;
            }
            let warning = early_warning(&engine, &records, day);
            for d in due {
                out.push(DueVisitRow {
                    location_name: records.location.name.clone(),
                    reason_text: d.reason.text(),
                    traffic_light: warning.light,
                    traffic_light_reasons: warning.reasons.clone(),
                    monitors: covering.get(&id).cloned().unwrap_or_default(),
                    due: d,
                });
            }
        }
        out.sort_by(|a, b| {
            (a.traffic_light, a.due.due_on, &a.location_name, a.due.location_id)
                .cmp(&(b.traffic_light, b.due.due_on, &b.location_name, b.due.location_id))
        });
        Ok(out)
    })
}

/// Links a visit document to the plan it was started from, when the document first reaches
/// the server (in the sync's transaction). A plan that is unknown, cancelled, already linked,
/// or at another location is not linked, and the visit is kept all the same: work is never
/// refused for a plan's sake.
pub fn link_visit(tx: &Connection, plan: Uuid, visit: Uuid, location: Uuid) -> ServiceResult<bool> {
    let n = tx.execute(
        "UPDATE planned_visits SET visit_id = ?2
         WHERE id = ?1 AND location_id = ?3 AND visit_id IS NULL AND cancelled_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM planned_visits WHERE visit_id = ?2)",
        params![plan.to_string(), visit.to_string(), location.to_string()],
    )?;
    if n == 1 {
        audit::record(
            tx,
            None,
            Entry {
                action: "visit.started_from_plan",
                subject_type: "planned_visit",
                subject_id: Some(plan.to_string()),
                location_id: Some(location),
                details: json!({ "visit": visit.to_string() }),
            },
        )?;
    }
    Ok(n == 1)
}
