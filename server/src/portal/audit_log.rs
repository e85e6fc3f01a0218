//! The audit log, searchable by location, user and date. It holds ids and actions, never notes.

use accredit_shared::labels::long_date;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use dioxus::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{FieldError, Section, error_summary, field_error, page};
use super::session::Viewer;
use super::{PageResult, html};
use crate::audit::{self, AuditQuery};
use crate::auth::Role;
use crate::state::AppState;
use crate::tiers;

/// Filters, as typed.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditForm {
    location: String,
    user: String,
    from: String,
    to: String,
}

fn date(text: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "Enter a real date as year-month-day, for example 2026-11-02",
            ));
            None
        }
    }
}

/// The audit page.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<AuditForm>,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner, Role::Lead])?;
    let mut errors = Vec::new();
    let from = date(&f.from, "from", &mut errors);
    let to = date(&f.to, "to", &mut errors);
    let location = id_filter(
        &f.location,
        "location",
        "Choose a location from the list",
        &mut errors,
    );
    let user = id_filter(
        &f.user,
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
    let (rows, locations, users) = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let rows = if search {
                    audit::search(tx, &q)?
                } else {
                    Vec::new()
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
                Ok((rows, locations, users))
            })
        })
        .await?;
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| {
                locations
                    .iter()
                    .find(|(l, _)| l == i)
                    .map(|(_, n)| n.clone())
            })
            .unwrap_or_default()
    };
    let body = rsx! {
        {error_summary(&errors)}
        h1 { "Audit log" }
        p { "Every change, newest first. The log cannot be edited or deleted." }
        form { class: "filters", method: "get", action: "/audit", role: "search", aria_label: "Search the audit log",
            div { class: "form-group",
                label { class: "label", r#for: "location", "Location" }
                select { class: "select", id: "location", name: "location",
                    option { value: "", "All locations" }
                    for (id, n) in locations.iter() { option { key: "{id}", value: "{id}", selected: f.location == *id, "{n}" } }
                }
            }
            div { class: "form-group",
                label { class: "label", r#for: "user", "Person" }
                select { class: "select", id: "user", name: "user",
                    option { value: "", "Everyone" }
                    for (id, n) in users.iter() { option { key: "{id}", value: "{id}", selected: f.user == *id, "{n}" } }
                }
            }
            div { class: if errors.iter().any(|e| e.field == "from") { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "from", "From (year-month-day)" }
                {field_error(&errors, "from")}
                input { class: "input", id: "from", name: "from", r#type: "text", value: "{f.from}" }
            }
            div { class: if errors.iter().any(|e| e.field == "to") { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "to", "To (year-month-day)" }
                {field_error(&errors, "to")}
                input { class: "input", id: "to", name: "to", r#type: "text", value: "{f.to}" }
            }
            button { class: "button secondary", r#type: "submit", "Search" }
        }
        table { class: "table", id: "audit",
            caption { class: "visually-hidden", "Audit entries" }
            thead { tr {
                th { scope: "col", "When" }
                th { scope: "col", "Who" }
                th { scope: "col", "What" }
                th { scope: "col", "Location" }
            } }
            tbody {
                for r in rows.iter() {
                    tr { key: "{r.seq}",
                        td { {r.at.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).map(long_date).unwrap_or_default()} " " {r.at.get(11..16).unwrap_or_default().to_owned()} }
                        td { {r.user_name.clone().unwrap_or_else(|| "System".into())} }
                        td { code { "{r.action}" } }
                        td { {name_of(&r.location_id)} }
                    }
                }
            }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(
        status,
        page("Audit log", Some(&viewer), Section::Audit, body),
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
