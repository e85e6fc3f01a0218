//! The audit log, searchable by location, person and dates (GOV.UK date inputs). Each entry is
//! shown in plain words with what changed: the values recorded, and for a change that moved tiers
//! each location's tier and premium before and after. It holds ids and actions, never notes.

use std::collections::HashMap;

use accredit_shared::labels::long_date;
use accredit_shared::records::{CqcRating, Gate, GateOutcome, Qualification};
use axum::extract::{Query, State};
use chrono::NaiveDate;
use dioxus::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::PageResult;
use super::layout::{FieldError, Section, error_summary, form_response, money, tier_text, when};
use super::records::{date_input, read_optional_date};
use super::session::Viewer;
use crate::audit::AuditQuery;
use crate::auth::Role;
use crate::service::audit_log::{self, AuditEntry, Standing, TierStep};
use crate::state::AppState;
use crate::tiers;

/// What an action code means, in words. A code with no words here is shown as it is, so a new
/// one is never hidden; a test checks every code the server writes has words.
fn action_words(action: &str) -> Option<&'static str> {
    Some(match action {
        "session.created" => "Signed in",
        "session.refused" => "Sign-in refused",
        "device.revoked" => "Signed out a device",
        "payments.issued" => "Issued a month's payment schedule",
        "location.created" => "Added a location",
        "location.updated" => "Changed a location's details",
        "location.ownership_ended" => "Change of ownership: registration ended",
        "location.ownership_started" => "Change of ownership: location under its new owner",
        "placement.recorded" => "Recorded a placement",
        "cqc_rating.recorded" => "Recorded a CQC rating",
        "gate.opened" => "Opened a safeguarding or contract gate",
        "gate.closed" => "Closed a safeguarding or contract gate",
        "qualification.recorded" => "Recorded a certificate",
        "rule_set.added" => "Adopted a rule set",
        "contract.added" => "Added a contract",
        "contract.updated" => "Changed a contract",
        "rule_set_draft.saved" => "Saved a draft rule set",
        "rule_set_draft.deleted" => "Deleted a draft rule set",
        "visit.signed_off" => "Signed off a visit",
        "visit.revision_received" => "Later edits to a signed-off visit arrived",
        "visit.revision_accepted" => "Accepted later edits to a visit",
        "visit.revision_rejected" => "Rejected later edits to a visit",
        "visit.shared" => "Shared a report with the provider",
        "visit.commented" => "Commented on a report",
        "visit.factual_accuracy_confirmed" => "Confirmed no further comments on a report",
        "visit.published" => "Published a report",
        "action.responded" => "Responded to an action in a report",
        "visit.planned" => "Planned a visit",
        "visit.reassigned" => "Changed a planned visit",
        "visit.plan_cancelled" => "Cancelled a planned visit",
        "visit.started_from_plan" => "Started a planned visit",
        "caseload.added" => "Added a location to a monitor's caseload",
        "caseload.removed" => "Removed a location from a monitor's caseload",
        "user.created" => "Added an account",
        "user.updated" => "Changed an account",
        "user.disabled" => "Disabled an account",
        "user.enabled" => "Enabled an account",
        "user.password_reset" => "Reset a password",
        "user.password_changed" => "Changed their password",
        "user.signed_out_everywhere" => "Signed an account out everywhere",
        "import" => "Imported a CSV file",
        "appeal.lodged" => "Lodged an appeal against a visit",
        "appeal.upheld" => "Upheld an appeal",
        "appeal.dismissed" => "Dismissed an appeal",
        "appeal.withdrawn" => "Withdrew an appeal",
        "retention.removed" => "Removed records under the retention schedule",
        "retention_rule.added" => "Added a version of the retention schedule",
        _ => return None,
    })
}

fn role_words(role: &str) -> &str {
    match role {
        "monitor" => "quality monitor",
        "lead" => "lead officer",
        "provider" => "provider",
        "commissioner" => "commissioner",
        other => other,
    }
}

/// A stored `YYYY-MM-DD` as people write it; anything else as it is.
fn day_text(v: &Value) -> Option<String> {
    let t = v.as_str()?;
    Some(
        t.parse::<NaiveDate>()
            .map_or_else(|_| t.to_owned(), long_date),
    )
}

/// How many sessions a change ended, as a sentence part.
fn sessions_ended(d: &Value) -> Option<String> {
    d["sessions_ended"].as_u64().map(|n| {
        format!(
            "{} ended",
            accredit_shared::labels::count(n as usize, "session", "sessions")
        )
    })
}

fn standing_words(s: &Standing) -> String {
    format!(
        "{} ({} a week per placement)",
        tier_text(s.tier.as_deref()),
        money(s.weekly_pence)
    )
}

/// One location's tier before and after, in words.
fn step_words(step: &TierStep) -> String {
    let after = &step.after;
    let mut out = match &step.before {
        None => format!("Tier set: {}", standing_words(after)),
        Some(b) if b.tier == after.tier && b.weekly_pence == after.weekly_pence => {
            format!("Tier stays {}", standing_words(after))
        }
        Some(b) if b.tier == after.tier => format!(
            "Tier stays {}; premium {} → {} a week per placement",
            tier_text(after.tier.as_deref()),
            money(b.weekly_pence),
            money(after.weekly_pence)
        ),
        Some(b) => format!("Tier {} → {}", standing_words(b), standing_words(after)),
    };
    if let (Some(b), Some(a)) = (step.before.as_ref().and_then(|b| b.status), after.status)
        && b != a
    {
        out.push_str(&format!(
            "; premium status {} → {}",
            b.label().to_lowercase(),
            a.label().to_lowercase()
        ));
    }
    out
}

/// The tiers a change re-determined: one location in full (named unless the entry's location
/// column already says which); several as those that moved, and how many did not.
fn tier_words(steps: &[TierStep], name_one: bool) -> Vec<String> {
    match steps {
        [] => Vec::new(),
        [one] if name_one => vec![format!("{}: {}", one.location, step_words(one))],
        [one] => vec![step_words(one)],
        many => {
            let moved: Vec<&TierStep> = many
                .iter()
                .filter(|s| s.before.as_ref() != Some(&s.after))
                .collect();
            let mut out: Vec<String> = moved
                .iter()
                .map(|s| format!("{}: {}", s.location, step_words(s)))
                .collect();
            let same = many.len() - moved.len();
            if moved.is_empty() {
                out.push(format!(
                    "No tier or premium changed at the {} re-determined",
                    accredit_shared::labels::count(same, "location", "locations")
                ));
            } else if same > 0 {
                out.push(format!(
                    "{} re-determined with no change",
                    accredit_shared::labels::count(same, "other location", "other locations")
                ));
            }
            out
        }
    }
}

/// What changed, from the entry's details, the record it names and the determinations it caused.
fn details(e: &AuditEntry, names: &HashMap<String, String>) -> Vec<String> {
    let d = &e.row.details;
    let name = |v: &Value| v.as_str().and_then(|id| names.get(id).cloned());
    let subject = e
        .row
        .subject_id
        .as_ref()
        .and_then(|id| names.get(id).cloned());
    let people = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().filter_map(name).collect::<Vec<_>>().join(", "))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "nobody".to_owned())
    };
    let mut out: Vec<String> = Vec::new();
    match e.row.action.as_str() {
        "session.created" | "session.refused" => {
            out.push(
                match d["via"].as_str() {
                    Some("portal") => "In the web portal",
                    Some("device") => "On a device (the field app or the API)",
                    _ => "",
                }
                .to_owned(),
            );
            if let Some(r) = d["reason"].as_str() {
                out.push(match r {
                    "unknown_user" => "No account has that username".to_owned(),
                    "disabled" => "The account is disabled".to_owned(),
                    "wrong_password" => "Wrong password".to_owned(),
                    other => other.replace('_', " "),
                });
            }
            if let Some(s) = &subject {
                out.push(format!("Account: {s}"));
            }
        }
        "retention.removed" => {
            if let Some(v) = d["rule_version"].as_str() {
                out.push(format!("Retention rule {v}"));
            }
            match e.row.subject_type.as_str() {
                "visit" => out.push("A visit's record".to_owned()),
                "determinations" => {
                    if let Some(n) = d["count"].as_u64() {
                        out.push(accredit_shared::labels::count(
                            n as usize,
                            "stored determination",
                            "stored determinations",
                        ));
                    }
                }
                "payment_run" => {
                    if let Some(p) = &e.row.subject_id {
                        out.push(format!("Payment run {p}"));
                    }
                }
                _ => {}
            }
        }
        "device.revoked" => {
            if let Some(n) = name(&d["user"]) {
                out.push(format!("Account: {n}"));
            }
        }
        "payments.issued" => {
            if let Some(p) = &e.row.subject_id
                && let Ok(r) = accredit_shared::calendar::parse_month(p)
            {
                out.push(format!("For {}", r.from.format("%B %Y")));
            }
            if let (Some(lines), Some(total)) = (d["lines"].as_u64(), d["total_pence"].as_i64()) {
                out.push(format!(
                    "{}, {} in all",
                    accredit_shared::labels::count(lines as usize, "line", "lines"),
                    money(total)
                ));
            }
            if let (Some(n), Some(released)) = (
                d["contract_periods"].as_u64().filter(|n| *n > 0),
                d["released_pence"].as_i64(),
            ) {
                out.push(format!(
                    "{}, {} released",
                    accredit_shared::labels::count(
                        n as usize,
                        "contract period",
                        "contract periods"
                    ),
                    money(released)
                ));
            }
        }
        "location.created" => {
            if let Some(p) = name(&d["provider"]) {
                out.push(format!("Provider: {p}"));
            }
        }
        "location.updated" => {
            if let Some(fields) = d["changed"].as_array() {
                let words: Vec<&str> = fields
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|f| match f {
                        "service_type" => "type of service",
                        "registration" => "registration dates",
                        other => other,
                    })
                    .collect();
                out.push(format!("Changed: {}", words.join(", ")));
            }
        }
        "location.ownership_ended" | "location.ownership_started" => {
            if let Some(from) = day_text(&d["from"]) {
                out.push(format!("From {from}"));
            }
            if let Some(n) = name(&d["previous_location"]) {
                out.push(format!("Before: {n}"));
            }
            if let Some(n) = name(&d["new_location"]) {
                out.push(format!("After: {n}"));
            }
            if let Some(n) = d["placements_moved"].as_u64() {
                out.push(format!(
                    "{} moved",
                    accredit_shared::labels::count(n as usize, "placement", "placements")
                ));
            }
        }
        "cqc_rating.recorded" => {
            if let Some(r) = e
                .record
                .clone()
                .and_then(|v| serde_json::from_value::<CqcRating>(v).ok())
            {
                out.push(format!(
                    "Overall: {}; inspected {}, published {}",
                    r.overall.label(),
                    long_date(r.inspected_on),
                    long_date(r.published_on)
                ));
            }
        }
        "gate.opened" | "gate.closed" => {
            if let Some(g) = e
                .record
                .clone()
                .and_then(|v| serde_json::from_value::<Gate>(v).ok())
            {
                if e.row.action == "gate.opened" {
                    out.push(format!(
                        "{}, opened {}",
                        g.kind.label(),
                        long_date(g.opened_on)
                    ));
                } else {
                    out.push(format!(
                        "{}, closed {}{}",
                        g.kind.label(),
                        g.closed_on.map(long_date).unwrap_or_default(),
                        match g.outcome {
                            Some(GateOutcome::Substantiated) => ": substantiated",
                            Some(GateOutcome::NotSubstantiated) => ": not substantiated",
                            Some(GateOutcome::Closed) | None => "",
                        }
                    ));
                }
            }
        }
        "qualification.recorded" => {
            if let Some(q) = e
                .record
                .clone()
                .and_then(|v| serde_json::from_value::<Qualification>(v).ok())
            {
                out.push(format!(
                    "{}, expires {}{}",
                    q.kind.label(),
                    long_date(q.expires_on),
                    if q.verified_on.is_some() {
                        ", verified"
                    } else {
                        ", not verified"
                    }
                ));
            }
        }
        "contract.added" | "contract.updated" => {
            let reference = d["reference"]
                .as_str()
                .or_else(|| d["after"]["reference"].as_str());
            if let Some(r) = reference {
                out.push(format!("Contract {r}"));
            }
            if let (Some(was), Some(now)) = (
                d["before"]["value_per_period"].as_i64(),
                d["after"]["value_per_period"].as_i64(),
            ) && was != now
            {
                out.push(format!(
                    "Value a period: {} before, {} now",
                    money(was),
                    money(now)
                ));
            }
        }
        "rule_set.added" => {
            if let Some(v) = &e.row.subject_id {
                out.push(format!("Version {v}"));
            }
            if let Some(from) = day_text(&d["effective_from"]) {
                out.push(format!("In force from {from}"));
            }
        }
        "rule_set_draft.saved" | "rule_set_draft.deleted" => {
            if let Some(v) = d["version"].as_str() {
                out.push(format!("Version {v}"));
            }
            if let Some(from) = day_text(&d["effective_from"]) {
                out.push(format!("Would start {from}"));
            }
        }
        "visit.signed_off"
        | "visit.revision_received"
        | "visit.revision_accepted"
        | "visit.revision_rejected"
        | "visit.published" => {
            if let Some(r) = d["revision"].as_u64() {
                out.push(format!("Revision {r}"));
            }
        }
        "visit.shared" => {
            if let Some(until) = day_text(&d["window_closes_on"]) {
                out.push(format!("Comments open until {until}"));
            }
        }
        "visit.commented" => out.push(
            if d["criterion"].is_string() {
                "On one criterion"
            } else {
                "On the report as a whole"
            }
            .to_owned(),
        ),
        "action.responded" => {
            if let Some(n) = d["files"].as_u64().filter(|n| *n > 0) {
                out.push(format!(
                    "With {}",
                    accredit_shared::labels::count(n as usize, "file", "files")
                ));
            }
        }
        "visit.planned" => {
            if let Some(t) = d["visit_type"].as_str() {
                out.push(format!("{} visit", super::capital(&t.replace('_', " "))));
            }
            if let Some(on) = day_text(&d["planned_on"]) {
                out.push(format!("On {on}"));
            }
            out.push(format!("Monitors: {}", people(&d["monitors"])));
        }
        "visit.reassigned" => {
            if let Some(on) = day_text(&d["planned_on"]) {
                out.push(format!("On {on}"));
            }
            out.push(format!(
                "Monitors: {} → {}",
                people(&d["monitors_before"]),
                people(&d["monitors_after"])
            ));
        }
        "caseload.added" | "caseload.removed" => {
            if let Some(s) = &subject {
                out.push(format!("Monitor: {s}"));
            }
        }
        "user.created" => {
            if let Some(s) = &subject {
                out.push(format!("Account: {s}"));
            }
            if let Some(r) = d["role"].as_str() {
                out.push(format!("Role: {}", role_words(r)));
            }
        }
        "user.updated" => {
            if let Some(s) = &subject {
                out.push(format!("Account: {s}"));
            }
            if let Some(fields) = d["changed"].as_array() {
                let words: Vec<&str> = fields.iter().filter_map(Value::as_str).collect();
                out.push(format!("Changed: {}", words.join(", ")));
            }
            if let (Some(b), Some(a)) = (d["role_before"].as_str(), d["role_after"].as_str())
                && a != b
            {
                out.push(format!("Role: {} → {}", role_words(b), role_words(a)));
            }
            if let Some(n) = d["caseload_removed"].as_u64().filter(|n| *n > 0) {
                out.push(format!(
                    "{} taken off their caseload",
                    accredit_shared::labels::count(n as usize, "location", "locations")
                ));
            }
        }
        "user.disabled"
        | "user.enabled"
        | "user.password_reset"
        | "user.password_changed"
        | "user.signed_out_everywhere" => {
            if let Some(s) = &subject {
                out.push(format!("Account: {s}"));
            }
            out.extend(sessions_ended(d));
        }
        "import" => {
            if let Some(k) = d["kind"].as_str() {
                out.push(format!("Of {}", k.replace('_', " ")));
            }
            if let Some(n) = d["rows"].as_u64() {
                out.push(format!(
                    "{} written",
                    accredit_shared::labels::count(n as usize, "row", "rows")
                ));
            }
            if let Some(n) = d["locations"].as_u64() {
                out.push(format!(
                    "{} re-determined",
                    accredit_shared::labels::count(n as usize, "location", "locations")
                ));
            }
        }
        _ => {}
    }
    out.retain(|s| !s.is_empty());
    out.extend(tier_words(&e.tiers, e.row.location_id.is_none()));
    out
}

/// The audit page. Its filters arrive as a GET query, so a search can be bookmarked.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<HashMap<String, String>>,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner, Role::Lead])?;
    let mut errors = Vec::new();
    let from = read_optional_date(&f, "from", "the first day", &mut errors);
    let to = read_optional_date(&f, "to", "the last day", &mut errors);
    if let (Some(a), Some(b)) = (from, to)
        && b < a
    {
        errors.push(FieldError::new(
            "to-day",
            "The last day must be the same as or after the first day",
        ));
    }
    let chosen = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (location_text, user_text) = (chosen("location"), chosen("user"));
    let location = id_filter(
        &location_text,
        "location",
        "Choose a location from the list",
        &mut errors,
    );
    let user = id_filter(
        &user_text,
        "user",
        "Choose a person from the list",
        &mut errors,
    );
    let q = AuditQuery {
        location,
        user,
        from,
        to,
        limit: Some(500),
    };
    let search = errors.is_empty();
    let caller = viewer.caller.clone();
    let (view, locations, users) = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let view = if search {
                    Some(audit_log::read(tx, &caller, &q)?)
                } else {
                    None
                };
                let mut locations = Vec::new();
                for id in tiers::all_locations(tx)? {
                    if let Some((l, _)) = tiers::location(tx, id)? {
                        locations.push((id.to_string(), l.name));
                    }
                }
                locations.sort_by(|a, b| a.1.cmp(&b.1));
                let mut stmt =
                    tx.prepare("SELECT id, display_name FROM users ORDER BY display_name")?;
                let users = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((view, locations, users))
            })
        })
        .await?;
    let rows: Vec<(&AuditEntry, Vec<String>)> = view
        .as_ref()
        .map(|v| {
            v.entries
                .iter()
                .map(|e| (e, details(e, &v.names)))
                .collect()
        })
        .unwrap_or_default();
    let body = rsx! {
        {error_summary(&errors)}
        h1 { "Audit log" }
        p { "Every change, newest first (at most 500 entries: narrow the search to see older ones). The log cannot be edited or deleted." }
        form { class: "filters audit-filters", method: "get", action: "/audit", role: "search", aria_label: "Search the audit log", novalidate: true,
            div { class: "form-group",
                label { class: "label", r#for: "location", "Location" }
                select { class: "select", id: "location", name: "location",
                    option { value: "", "All locations" }
                    for (id, n) in locations.iter() { option { key: "{id}", value: "{id}", selected: location_text == *id, "{n}" } }
                }
            }
            div { class: "form-group",
                label { class: "label", r#for: "user", "Person" }
                select { class: "select", id: "user", name: "user",
                    option { value: "", "Everyone" }
                    for (id, n) in users.iter() { option { key: "{id}", value: "{id}", selected: user_text == *id, "{n}" } }
                }
            }
            {date_input("from", "From (optional)", "The first day to show, for example 2 11 2026", &f, &errors)}
            {date_input("to", "To (optional)", "The last day to show, for example 30 11 2026", &f, &errors)}
            button { class: "button secondary", r#type: "submit", "Search" }
        }
        if view.is_some() {
            if rows.is_empty() { p { id: "no-entries", "No entries match." } }
            table { class: "table", id: "audit",
                caption { class: "visually-hidden", "Audit entries" }
                thead { tr {
                    th { scope: "col", "When" }
                    th { scope: "col", "Who" }
                    th { scope: "col", "What" }
                    th { scope: "col", "Location" }
                } }
                tbody {
                    for (e, more) in rows.iter() {
                        tr { key: "{e.row.seq}",
                            td { {when(Some(&e.row.at))} }
                            td { {e.row.user_name.clone().unwrap_or_else(|| "System".into())} }
                            td {
                                match action_words(&e.row.action) {
                                    Some(w) => rsx! { span { class: "action-words", "{w}" } },
                                    None => rsx! { code { "{e.row.action}" } },
                                }
                                if !more.is_empty() {
                                    ul { class: "reasons",
                                        for (i, m) in more.iter().enumerate() { li { key: "{i}", "{m}" } }
                                    }
                                }
                            }
                            td { {e.location.clone().unwrap_or_default()} }
                        }
                    }
                }
            }
        }
    };
    Ok(form_response(
        "Audit log",
        &errors,
        &viewer,
        Section::Audit,
        body,
    ))
}

/// An optional id filter: blank is none; anything else must be an id, or the form says so.
fn id_filter(text: &str, field: &str, message: &str, errors: &mut Vec<FieldError>) -> Option<Uuid> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match Uuid::parse_str(text) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `action: "…"` the server's source writes, and the codes it chooses between in
    /// expressions (which the scan cannot see), must have words.
    #[test]
    fn every_action_code_in_the_server_has_words() {
        fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    scan(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    for part in text.split("action: \"").skip(1) {
                        // Form actions (`action: "/audit"`) are addresses, not codes.
                        if let Some(code) = part.split('"').next().filter(|c| {
                            !c.is_empty()
                                && c.chars()
                                    .all(|ch| ch.is_ascii_lowercase() || "._".contains(ch))
                        }) {
                            found.push(code.to_owned());
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        scan(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.len() > 20,
            "the scan found the audit calls: {found:?}"
        );
        found.extend(
            [
                "user.disabled",
                "user.enabled",
                "caseload.removed",
                "location.ownership_ended",
                "location.ownership_started",
                "visit.shared",
                "visit.commented",
                "visit.factual_accuracy_confirmed",
                "visit.published",
                "visit.revision_accepted",
                "visit.revision_rejected",
                "action.responded",
                "appeal.lodged",
                "appeal.upheld",
                "appeal.dismissed",
                "appeal.withdrawn",
            ]
            .map(str::to_owned),
        );
        let missing: Vec<&String> = found.iter().filter(|c| action_words(c).is_none()).collect();
        assert!(missing.is_empty(), "no words for {missing:?}");
    }

    #[test]
    fn a_tier_change_reads_with_both_tiers_and_premiums() {
        let standing = |tier: &str, pence| Standing {
            tier: Some(tier.to_owned()),
            weekly_pence: pence,
            status: Some(accredit_shared::determination::PremiumStatus::Payable),
        };
        let step = TierStep {
            location: "Seaview House".into(),
            before: Some(standing("Gold", 3000)),
            after: standing("Silver", 2500),
        };
        assert_eq!(
            tier_words(std::slice::from_ref(&step), false),
            ["Tier Gold (£30.00 a week per placement) → Silver (£25.00 a week per placement)"]
        );
        let same = TierStep {
            location: "Promenade Court".into(),
            before: Some(standing("Bronze", 1500)),
            after: standing("Bronze", 1500),
        };
        assert_eq!(
            tier_words(&[same.clone(), same.clone()], true),
            ["No tier or premium changed at the 2 locations re-determined"]
        );
        let dearer = TierStep {
            after: standing("Bronze", 2000),
            ..same.clone()
        };
        assert_eq!(
            step_words(&dearer),
            "Tier stays Bronze; premium £15.00 → £20.00 a week per placement"
        );
        assert_eq!(
            tier_words(&[step, same], true),
            [
                "Seaview House: Tier Gold (£30.00 a week per placement) → Silver (£25.00 a week per placement)",
                "1 other location re-determined with no change"
            ]
        );
    }
}
