//! Scheme rules: the rule sets in force and scheduled, and what-if: a draft rule set applied to
//! today's data, showing per tier and in total the change in weekly and annual premium cost and
//! which locations move, before anyone adopts it.

use accredit_shared::labels::long_date;
use accredit_shared::ratio::percent_text;
use accredit_shared::whatif::{WhatIf, compare};
use accredit_shared::{Engine, RuleBook, RuleSet};
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use dioxus::prelude::*;
use rusqlite::Connection;
use serde::Deserialize;

use super::layout::{
    FieldError, Section, error_summary, field_error, form_key, money, page, tier_text,
};
use super::session::Viewer;
use super::sign_in::check_key;
use super::{PageResult, capital, html};
use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::service::records;
use crate::state::AppState;
use crate::tiers;

fn rule_sets_table(sets: &[RuleSet], today: NaiveDate) -> Element {
    let in_force = sets
        .iter()
        .filter(|s| s.effective_from <= today)
        .map(|s| s.effective_from)
        .max();
    rsx! {
        table { class: "table", id: "rule-sets",
            caption { class: "visually-hidden", "Rule sets" }
            thead { tr {
                th { scope: "col", "Version" }
                th { scope: "col", "From" }
                th { scope: "col", "State" }
                th { scope: "col", "Tiers (overall / every domain / a week)" }
            } }
            tbody {
                for s in sets.iter().rev() {
                    tr { key: "{s.version}",
                        td { strong { "{s.version}" } br {} span { class: "hint", "{s.name}" } }
                        td { {long_date(s.effective_from)} }
                        td { {if Some(s.effective_from) == in_force { "In force" } else if s.effective_from > today { "Scheduled" } else { "Superseded" }} }
                        td {
                            ul { class: "reasons",
                                for t in s.tiers.iter() {
                                    li { key: "{t.name}", {format!("{}: {} / {} / {}", t.name, percent_text(Some(t.min_overall_percent)), percent_text(Some(t.min_domain_percent)), money(t.weekly_premium_pence))} }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn whatif_view(w: &WhatIf, draft: &RuleSet) -> Element {
    let movers: Vec<_> = w
        .locations
        .iter()
        .filter(|l| l.moves() || l.weekly_before != l.weekly_after)
        .collect();
    let diff = |a: i64, b: i64| {
        let d = b - a;
        if d == 0 {
            "no change".to_owned()
        } else if d > 0 {
            format!("+{}", money(d))
        } else {
            money(d)
        }
    };
    rsx! {
        h2 { id: "what-if-result", {format!("If {} applied on {}", draft.version, long_date(w.on))} }
        table { class: "table", id: "what-if-totals",
            caption { "Premium cost by tier (eligible placements today)" }
            thead { tr {
                th { scope: "col", "Tier" }
                th { scope: "col", class: "numeric", "Locations now" }
                th { scope: "col", class: "numeric", "Locations under draft" }
                th { scope: "col", class: "numeric", "A week now" }
                th { scope: "col", class: "numeric", "A week under draft" }
                th { scope: "col", class: "numeric", "Change a week" }
            } }
            tbody {
                for (name, t) in w.tiers.iter() {
                    tr { key: "{name}",
                        th { scope: "row", "{name}" }
                        td { class: "numeric", "{t.locations_before}" }
                        td { class: "numeric", "{t.locations_after}" }
                        td { class: "numeric", {money(t.weekly_before)} }
                        td { class: "numeric", {money(t.weekly_after)} }
                        td { class: "numeric", {diff(t.weekly_before, t.weekly_after)} }
                    }
                }
                tr { class: "total", id: "what-if-weekly",
                    th { scope: "row", "Total a week" }
                    td {} td {}
                    td { class: "numeric", {money(w.weekly_before)} }
                    td { class: "numeric", {money(w.weekly_after)} }
                    td { class: "numeric", {diff(w.weekly_before, w.weekly_after)} }
                }
                tr { class: "total", id: "what-if-annual",
                    th { scope: "row", "Total a year" }
                    td {} td {}
                    td { class: "numeric", {money(w.annual_before())} }
                    td { class: "numeric", {money(w.annual_after())} }
                    td { class: "numeric", {diff(w.annual_before(), w.annual_after())} }
                }
            }
        }
        h3 { "Locations that change" }
        if movers.is_empty() {
            p { id: "what-if-movers", "No location changes tier or premium." }
        } else {
            table { class: "table", id: "what-if-movers",
                caption { class: "visually-hidden", "Locations that change" }
                thead { tr {
                    th { scope: "col", "Location" }
                    th { scope: "col", "Tier now" }
                    th { scope: "col", "Under draft" }
                    th { scope: "col", class: "numeric", "Placements" }
                    th { scope: "col", class: "numeric", "Change a week" }
                } }
                tbody {
                    for l in movers.iter() {
                        tr { key: "{l.location_id}",
                            td { a { href: "/locations/{l.location_id}", "{l.name}" } }
                            td { {tier_text(l.tier_before.as_deref())} }
                            td { {tier_text(l.tier_after.as_deref())} }
                            td { class: "numeric", "{l.placements}" }
                            td { class: "numeric", {diff(l.cost_before(), l.cost_after())} }
                        }
                    }
                }
            }
        }
        p { "Nothing has changed: a draft is adopted only by adding it as a new rule set with a future start date." }
    }
}

/// The form that adopts the draft as a scheduled rule set.
fn adopt_form(viewer: &Viewer, draft: &RuleSet, text: &str) -> Element {
    rsx! {
        form { method: "post", action: "/rules", class: "panel", id: "adopt",
            h3 { "Adopt this rule set" }
            {form_key(viewer)}
            input { r#type: "hidden", name: "draft", value: "{text}" }
            p { {format!("Version {} would take effect from {} (its effective_from), for every location. Rules never apply to the past.", draft.version, long_date(draft.effective_from))} }
            button { class: "button", r#type: "submit", "Adopt from {long_date(draft.effective_from)}" }
        }
    }
}

fn render(
    viewer: &Viewer,
    sets: &[RuleSet],
    today: NaiveDate,
    draft_text: &str,
    errors: &[FieldError],
    result: Option<(&WhatIf, &RuleSet)>,
) -> String {
    let commissioner = viewer.caller.role == Role::Commissioner;
    let body = rsx! {
        {error_summary(errors)}
        h1 { "Scheme rules" }
        p { "Rules are data with start dates. A new rule set never changes the past: payments already made used the rules then in force." }
        {rule_sets_table(sets, today)}
        h2 { "What if?" }
        p { "Paste a draft rule set (TOML, as in the scheme files) to see what it would cost today, before anyone adopts it." }
        form { method: "post", action: "/rules/what-if", novalidate: true,
            {form_key(viewer)}
            div { class: if errors.is_empty() { "form-group" } else { "form-group form-group-error" },
                label { class: "label", r#for: "draft", "Draft rule set" }
                div { class: "hint", id: "draft-hint", "Start from the rule set in force and change the tiers, premiums or limiters." }
                {field_error(errors, "draft")}
                textarea { class: "textarea code", id: "draft", name: "draft", rows: "16", aria_describedby: "draft-hint", spellcheck: "false", "{draft_text}" }
            }
            button { class: "button", r#type: "submit", id: "run-what-if", "Show the effect" }
        }
        if let Some((w, d)) = result {
            {whatif_view(w, d)}
            if commissioner { {adopt_form(viewer, d, draft_text)} }
        }
        if !commissioner { p { class: "hint", "Only commissioners add rule sets." } }
    };
    let title = if errors.is_empty() {
        "Scheme rules"
    } else {
        "Error: Scheme rules"
    };
    page(title, Some(viewer), Section::Rules, body)
}

fn sources(tx: &Connection) -> Result<String, ServiceError> {
    Ok(tx.query_row(
        "SELECT source FROM rule_sets ORDER BY effective_from DESC LIMIT 1",
        [],
        |r| r.get(0),
    )?)
}

fn require(caller: &Caller) -> Result<(), ServiceError> {
    caller.require(&[Role::Commissioner, Role::Lead])
}

/// The rules page, the draft box holding the latest rule set to start from.
pub async fn page_handler(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    require(&viewer.caller)?;
    let v = viewer.clone();
    let text = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let book = s.rules();
                Ok(render(&v, book.sets(), s.today(), &sources(tx)?, &[], None))
            })
        })
        .await?;
    Ok(html(StatusCode::OK, text))
}

/// The what-if form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DraftForm {
    form_key: String,
    draft: String,
}

/// Applies the draft to today's data.
pub async fn what_if(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<DraftForm>,
) -> PageResult {
    require(&viewer.caller)?;
    check_key(&viewer, &f.form_key)?;
    let v = viewer.clone();
    let (status, text) = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let book = s.rules();
                let today = s.today();
                let draft = if f.draft.trim().is_empty() {
                    Err("Enter a draft rule set".to_owned())
                } else {
                    RuleSet::from_toml(&f.draft)
                        .map_err(|e| format!("The draft cannot be read: {e}"))
                };
                let draft = match draft {
                    Ok(d) => d,
                    Err(msg) => {
                        return Ok((
                            StatusCode::BAD_REQUEST,
                            render(
                                &v,
                                book.sets(),
                                today,
                                &f.draft,
                                &[FieldError::new("draft", msg)],
                                None,
                            ),
                        ));
                    }
                };
                // The draft as if it had always been in force, so history-dependent rules
                // (lapses, lookbacks) read it too.
                let mut always = draft.clone();
                always.effective_from = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(today);
                let draft_book = RuleBook::new(vec![always])
                    .map_err(|e| ServiceError::internal(e.to_string()))?;
                let current = Engine::new(&s.packs, &book);
                let drafted = Engine::new(&s.packs, &draft_book);
                let mut records = Vec::new();
                let mut placements = Vec::new();
                for id in tiers::all_locations(tx)? {
                    if let Some(r) = tiers::records(tx, id)? {
                        records.push(r);
                    }
                    placements.extend(tiers::placements(tx, id)?);
                }
                let w = compare(&current, &drafted, &draft, &records, &placements, today);
                Ok((
                    StatusCode::OK,
                    render(&v, book.sets(), today, &f.draft, &[], Some((&w, &draft))),
                ))
            })
        })
        .await?;
    Ok(html(status, text))
}

/// Adopts a draft as a scheduled rule set (commissioners), then shows the rules page.
pub async fn adopt(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<DraftForm>,
) -> PageResult {
    require(&viewer.caller)?;
    check_key(&viewer, &f.form_key)?;
    let v = viewer.clone();
    let (status, text) = state
        .blocking(move |s| {
            let outcome = records::add_rule_set(s, &v.caller, &f.draft);
            s.db.read(|tx| {
                let book = s.rules();
                let today = s.today();
                Ok(match outcome {
                    Ok(_) => (
                        StatusCode::OK,
                        render(&v, book.sets(), today, &sources(tx)?, &[], None),
                    ),
                    Err(e) if e.is_refusal() || matches!(e, ServiceError::Forbidden(_)) => (
                        StatusCode::BAD_REQUEST,
                        render(
                            &v,
                            book.sets(),
                            today,
                            &f.draft,
                            &[FieldError::new("draft", capital(&e.message()))],
                            None,
                        ),
                    ),
                    Err(e) => return Err(e),
                })
            })
        })
        .await?;
    Ok(html(status, text))
}
