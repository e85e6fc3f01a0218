//! "Records due for removal" for commissioners: what the retention schedule removes at its next
//! run, what comes due within 90 days, what has expired but is kept and why, what was removed,
//! and the schedule's versions. One call to `service::retention::view`, as the API's twin.

use std::collections::HashMap;

use accredit_shared::calendar::add_days;
use accredit_shared::labels::long_date;
use accredit_shared::retention::{RetentionRule, RetentionRules};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use dioxus::prelude::*;

use super::fields::value;
use super::layout::{FieldError, Section, error_summary, field_error, form_key, page};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::retention::{self, Basis, Item, LOOK_AHEAD_DAYS};
use crate::state::AppState;

fn basis_text(i: &Item) -> String {
    match i.basis {
        Basis::Published => format!("Published {}", long_date(i.counted_from)),
        Basis::LastChanged => format!(
            "Never published; last changed {}",
            long_date(i.counted_from)
        ),
    }
}

fn items(list: &[Item], id: &str, caption: &str, why: bool) -> Element {
    rsx! {
        table { class: "table", id: "{id}",
            caption { class: "visually-hidden", "{caption}" }
            thead { tr {
                th { scope: "col", "Visit" }
                th { scope: "col", "Location" }
                th { scope: "col", "Counted from" }
                th { scope: "col", "Expires" }
                if why { th { scope: "col", "Kept because" } }
            } }
            tbody {
                for i in list.iter() {
                    tr { key: "{i.visit_id}",
                        td { a { href: "/visits/{i.visit_id}", {format!("Visit {}", &i.visit_id.to_string()[..8])} } }
                        td { "{i.location_name}" }
                        td { {basis_text(i)} }
                        td { {long_date(i.expires_on)} }
                        if why { td { {super::capital(i.kept_because.as_deref().unwrap_or_default())} } }
                    }
                }
            }
        }
    }
}

fn rule_rows(r: &RetentionRule) -> Element {
    rsx! {
        div { dt { "Published visits" } dd { {format!("{} after the latest publication: the document with its history, notes, evidence and photos, comments, action responses and closed appeals", r.visit_records.describe())} } }
        div { dt { "Visits never published" } dd { {format!("{} after the last change", r.unpublished_visits.describe())} } }
        div { dt { "Determinations" } dd { {r.determinations.describe()} } }
        div { dt { "Payment runs" } dd { {r.payment_runs.describe()} } }
    }
}

/// The page.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    show(&state, &viewer, &q.done, HashMap::new(), Vec::new()).await
}

/// What was just done, for the confirmation banner.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

/// Adds a version of the schedule.
pub async fn add_rule(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    if viewer.caller.role != Role::Commissioner {
        return Err(PageError(ServiceError::not_found("page")));
    }
    check_key(&viewer, &value(&f, "form_key"))?;
    let text = value(&f, "toml");
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| retention::add_rule(s, &caller, &text))
        .await
    {
        Ok(_) => Ok(see_other("/retention?done=added")),
        Err(e) if e.is_refusal() => {
            let errors = vec![FieldError::new("toml", capital(&e.message()))];
            show(&state, &viewer, "", f, errors).await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    done: &str,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    if viewer.caller.role != Role::Commissioner {
        return Err(PageError(ServiceError::not_found("page")));
    }
    let caller = viewer.caller.clone();
    let v = state.blocking(move |s| retention::view(s, &caller)).await?;
    let example = match &v.rule {
        Some(r) => RetentionRules::version_toml(&RetentionRule {
            version: format!("{}-new", r.version),
            effective_from: add_days(v.today, 1),
            ..r.clone()
        }),
        None => String::new(),
    };
    let typed = if f.contains_key("toml") {
        value(&f, "toml")
    } else {
        example
    };
    let toml_error = errors.iter().any(|e| e.field == "toml");
    let body = rsx! {
        {error_summary(&errors)}
        if done == "added" {
            div { class: "notification success", role: "status", id: "notification", p { "The new version of the schedule has been added." } }
        }
        h1 { "Records due for removal" }
        p { {format!("As of {}. The server removes what is due every night; nothing an open appeal or a payment period not yet issued depends on is removed. A removed visit leaves a note naming the rule and the day, and the scores its tier decisions rest on.", long_date(v.today))} }
        h2 { id: "due-title", "Due for removal now" }
        if v.due.is_empty() { p { id: "no-due", "Nothing is due for removal." } } else { {items(&v.due, "due", "Due for removal now", false)} }
        h2 { id: "upcoming-title", {format!("Due within the next {LOOK_AHEAD_DAYS} days")} }
        if v.upcoming.is_empty() { p { id: "no-upcoming", "Nothing comes due in the next 90 days." } } else { {items(&v.upcoming, "upcoming", "Due within the next 90 days", false)} }
        h2 { id: "kept-title", "Expired but kept" }
        if v.kept.is_empty() { p { id: "no-kept", "Nothing expired is being kept." } } else { {items(&v.kept, "kept", "Expired but kept", true)} }
        if !v.unissued_periods.is_empty() {
            p { class: "hint", {format!("Payment periods not yet issued: {}.", v.unissued_periods.join(", "))} }
        }
        h2 { id: "decisions-title", "Determinations and payment runs" }
        p { id: "decisions-due",
            {match v.determinations_due { 0 => "No stored determination is past its retention.".to_owned(), 1 => "1 stored determination is past its retention and goes at the next run.".to_owned(), n => format!("{n} stored determinations are past their retention and go at the next run.") }}
            " "
            {if v.payment_runs_due.is_empty() { "No issued payment run is past its retention.".to_owned() } else { format!("Issued payment runs past their retention: {}.", v.payment_runs_due.join(", ")) }}
            " Each location's latest determination and the latest payment run are always kept."
        }
        h2 { id: "removed-title", "Removed" }
        if v.removed.is_empty() { p { id: "no-removed", "Nothing has been removed yet." } } else {
            table { class: "table", id: "removed",
                caption { class: "visually-hidden", "Removed" }
                thead { tr { th { scope: "col", "Visit" } th { scope: "col", "Location" } th { scope: "col", "Published" } th { scope: "col", "Removed" } th { scope: "col", "Rule" } } }
                tbody {
                    for r in v.removed.iter() {
                        tr { key: "{r.visit_id}",
                            td { {format!("Visit {}", &r.visit_id.to_string()[..8])} }
                            td { "{r.location_name}" }
                            td { {r.published_on.clone().unwrap_or_else(|| "Never".to_owned())} }
                            td { "{r.removed_on}" }
                            td { "{r.rule_version}" }
                        }
                    }
                }
            }
        }
        h2 { id: "rules-title", "Rules in force" }
        if let Some(rule) = &v.rule {
            p { {format!("Version {}, in force since {}.", rule.version, long_date(rule.effective_from))} }
            dl { class: "summary-list", id: "rule", {rule_rows(rule)} }
        } else {
            p { id: "no-rule", "No version of the schedule is in force yet, so nothing is removed." }
        }
        if v.rules.len() > 1 {
            h3 { "Every version" }
            ul { id: "versions",
                for r in v.rules.iter() {
                    li { key: "{r.version}", {format!("{} from {}", r.version, long_date(r.effective_from))} }
                }
            }
        }
        form { method: "post", action: "/retention/rules", novalidate: true, class: "panel",
            h2 { id: "add-title", "Add a version" }
            {form_key(viewer)}
            div { class: if toml_error { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "toml", "The new version, in TOML" }
                div { class: "hint", id: "toml-hint", "One [[rules]] table: a version name not used before, the day it takes effect (after today, written 2027-04-01), and each period in years, months and days. Determinations must be kept at least as long as visits, and payment runs at least as long as determinations." }
                {field_error(&errors, "toml")}
                textarea { class: "textarea", id: "toml", name: "toml", rows: "9", spellcheck: "false",
                    aria_describedby: if toml_error { "toml-hint toml-error" } else { "toml-hint" },
                    "{typed}"
                }
            }
            button { class: "button", r#type: "submit", id: "add-version", "Add version" }
        }
        p { a { href: "/appeals", "Appeals" } " · " a { href: "/audit", "Audit log" } }
    };
    let (status, title) = if errors.is_empty() {
        (StatusCode::OK, "Records due for removal")
    } else {
        (StatusCode::BAD_REQUEST, "Error: Records due for removal")
    };
    Ok(html(
        status,
        page(title, Some(viewer), Section::Retention, body),
    ))
}
