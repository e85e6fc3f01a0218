//! Scheme rules: the rule sets in force and scheduled, and what-if: a draft rule set applied to
//! today's data, showing per tier and in total the change in weekly and annual premium cost and
//! which locations move, before anyone adopts it.

use accredit_shared::RuleSet;
use accredit_shared::labels::long_date;
use accredit_shared::ratio::percent_text;
use accredit_shared::rule_diff::diff;
use accredit_shared::rule_form::RuleForm;
use accredit_shared::whatif::WhatIf;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use chrono::NaiveDate;
use dioxus::prelude::*;
use rusqlite::Connection;
use serde::Deserialize;

use super::layout::{
    FieldError, Section, error_summary, field_error, form_key, money, page, tier_text, when,
};
use super::rules_form::urlencoding;
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageResult, capital, html};
use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::service::records;
use crate::service::rule_drafts::{self, RuleDraft};
use crate::state::AppState;

fn state_of(s: &RuleSet, in_force: Option<NaiveDate>, today: NaiveDate) -> &'static str {
    if Some(s.effective_from) == in_force {
        "In force"
    } else if s.effective_from > today {
        "Scheduled"
    } else {
        "Superseded"
    }
}

fn rule_sets_table(sets: &[RuleSet], today: NaiveDate) -> Element {
    let in_force = sets
        .iter()
        .filter(|s| s.effective_from <= today)
        .map(|s| s.effective_from)
        .max();
    let current = sets
        .iter()
        .find(|s| Some(s.effective_from) == in_force)
        .map(|s| s.version.clone())
        .unwrap_or_default();
    rsx! {
        table { class: "table", id: "rule-sets",
            caption { class: "visually-hidden", "Rule sets" }
            thead { tr {
                th { scope: "col", "Version" }
                th { scope: "col", "From" }
                th { scope: "col", "State" }
                th { scope: "col", "Tiers (overall / every domain / a week)" }
                th { scope: "col", "Actions" }
            } }
            tbody {
                for s in sets.iter().rev() {
                    tr { key: "{s.version}",
                        td { strong { "{s.version}" } br {} span { class: "hint", "{s.name}" } }
                        td { {long_date(s.effective_from)} }
                        td { {state_of(s, in_force, today)} }
                        td {
                            ul { class: "reasons",
                                for t in s.tiers.iter() {
                                    li { key: "{t.name}", {format!("{}: {} / {} / {}", t.name, percent_text(Some(t.min_overall_percent)), percent_text(Some(t.min_domain_percent)), money(t.weekly_premium_pence))} }
                                }
                            }
                        }
                        td {
                            ul { class: "reasons",
                                li { a { href: "/rules/sets/{urlencoding(&s.version)}", "View", span { class: "visually-hidden", " version {s.version}" } } }
                                li { a { href: "/rules/sets/{urlencoding(&s.version)}/toml", download: "rule-set-{file_safe(&s.version)}.toml", "Download TOML", span { class: "visually-hidden", " of version {s.version}" } } }
                                if s.version != current && !current.is_empty() {
                                    li { a { href: "/rules/compare?a={urlencoding(&current)}&b={urlencoding(&s.version)}", "Compare with {current}", span { class: "visually-hidden", " (version {s.version})" } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A version as part of a file name.
fn file_safe(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn drafts_table(viewer: &Viewer, drafts: &[RuleDraft], current: &str) -> Element {
    let commissioner = viewer.caller.role == Role::Commissioner;
    rsx! {
        h2 { id: "drafts-heading", "Drafts" }
        if drafts.is_empty() {
            p { id: "drafts", "No drafts saved." }
        } else {
            table { class: "table", id: "drafts",
                caption { class: "visually-hidden", "Draft rule sets" }
                thead { tr {
                    th { scope: "col", "Version" }
                    th { scope: "col", "Would start" }
                    th { scope: "col", "Last saved" }
                    th { scope: "col", "Actions" }
                } }
                tbody {
                    for d in drafts.iter() {
                        tr { key: "{d.id}",
                            td { a { href: "/rules/drafts/{d.id}", strong { "{d.version}" } } br {} span { class: "hint", "{d.name}" } }
                            td { {long_date(d.effective_from)} }
                            td { {format!("{} by {}", when(Some(&d.updated_at)), if d.updated_by.is_empty() { "—" } else { &d.updated_by })} }
                            td {
                                ul { class: "reasons",
                                    li { a { href: "/rules/drafts/{d.id}", "Open", span { class: "visually-hidden", " draft {d.version}" } } }
                                    if !current.is_empty() {
                                        li { a { href: "/rules/compare?a={urlencoding(current)}&b={d.id}", "Compare with {current}", span { class: "visually-hidden", " (draft {d.version})" } } }
                                    }
                                    if commissioner {
                                        li {
                                            form { method: "post", action: "/rules/drafts/{d.id}/delete",
                                                {form_key(viewer)}
                                                button { class: "link-button", r#type: "submit", "Delete", span { class: "visually-hidden", " draft {d.version}" } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The two rule sets to compare, as selects of every version and draft.
fn compare_chooser(sets: &[RuleSet], drafts: &[RuleDraft], a: &str, b: &str) -> Element {
    let options: Vec<(String, String)> = sets
        .iter()
        .rev()
        .map(|s| {
            (
                s.version.clone(),
                format!(
                    "Version {} (from {})",
                    s.version,
                    long_date(s.effective_from)
                ),
            )
        })
        .chain(drafts.iter().map(|d| {
            (
                d.id.to_string(),
                format!("Draft {} (saved {})", d.version, when(Some(&d.updated_at))),
            )
        }))
        .collect();
    rsx! {
        form { method: "get", action: "/rules/compare", class: "filters", id: "compare-form",
            for (id, label, chosen) in [("a", "First rule set", a), ("b", "Second rule set", b)] {
                div { key: "{id}", class: "form-group",
                    label { class: "label", r#for: "compare-{id}", "{label}" }
                    select { class: "select", id: "compare-{id}", name: "{id}",
                        for (v, l) in options.iter() {
                            option { key: "{v}", value: "{v}", selected: v == chosen, "{l}" }
                        }
                    }
                }
            }
            button { class: "button secondary", r#type: "submit", "Compare" }
        }
    }
}

/// The what-if result: cost by tier, totals and the locations that move.
pub(super) fn whatif_view(w: &WhatIf, draft: &RuleSet) -> Element {
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

/// The paste box's adopt panel: the button only when adopting would succeed, else why not.
fn adopt_form(viewer: &Viewer, draft: &RuleSet, text: &str, refusals: &[String]) -> Element {
    rsx! {
        div { class: "panel", id: "adopt",
            h3 { "Adopt this rule set" }
            if refusals.is_empty() {
                form { method: "post", action: "/rules",
                    {form_key(viewer)}
                    input { r#type: "hidden", name: "draft", value: "{text}" }
                    p { {format!("Version {} will apply to every location from {}. Payments before then keep the rules in force now.", draft.version, long_date(draft.effective_from))} }
                    button { class: "button", r#type: "submit", "Adopt from {long_date(draft.effective_from)}" }
                }
            } else {
                p { "It cannot be adopted yet:" }
                ul { class: "list", id: "adopt-reasons",
                    for r in refusals.iter() { li { key: "{r}", "{r}" } }
                }
            }
        }
    }
}

/// What the rules page shows besides the rule sets themselves.
#[derive(Default)]
struct Extras<'a> {
    drafts: &'a [RuleDraft],
    notice: Option<String>,
    result: Option<(&'a WhatIf, &'a RuleSet, Vec<String>)>,
}

fn render(
    viewer: &Viewer,
    sets: &[RuleSet],
    today: NaiveDate,
    draft_text: &str,
    errors: &[FieldError],
    extras: Extras<'_>,
) -> String {
    let commissioner = viewer.caller.role == Role::Commissioner;
    let current = s_in_force(sets, today);
    let latest_other = sets
        .iter()
        .rev()
        .map(|s| s.version.clone())
        .chain(extras.drafts.iter().map(|d| d.id.to_string()))
        .find(|v| *v != current)
        .unwrap_or_default();
    let body = rsx! {
        {error_summary(errors)}
        if let Some(n) = &extras.notice {
            div { class: "notification", role: "status", id: "notification", p { "{n}" } }
        }
        h1 { "Scheme rules" }
        p { "Rules are data with start dates. A new rule set never changes the past: payments already made used the rules then in force." }
        {rule_sets_table(sets, today)}
        p {
            a { class: "button", href: "/rules/new", id: "new-rule-set", role: "button", "Draft a new rule set from the one in force" }
        }
        {drafts_table(viewer, extras.drafts, &current)}
        h2 { "Compare two rule sets" }
        {compare_chooser(sets, extras.drafts, &current, &latest_other)}
        h2 { "For experts: paste TOML" }
        p { "Paste a draft rule set (TOML, as in the scheme files, money in pence) to see what it would cost today, before anyone adopts it. The form above does the same in pounds and per cent." }
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
        if let Some((w, d, refusals)) = &extras.result {
            {whatif_view(w, d)}
            if commissioner { {adopt_form(viewer, d, draft_text, refusals)} }
        }
        if !commissioner { p { class: "hint", "Only commissioners save drafts and add rule sets." } }
    };
    let title = if errors.is_empty() {
        "Scheme rules"
    } else {
        "Error: Scheme rules"
    };
    page(title, Some(viewer), Section::Rules, body)
}

/// The version in force today, or empty.
fn s_in_force(sets: &[RuleSet], today: NaiveDate) -> String {
    sets.iter()
        .rfind(|s| s.effective_from <= today)
        .map(|s| s.version.clone())
        .unwrap_or_default()
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

/// A notification after a redirect.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
    version: String,
}

/// The rules page: rule sets, drafts, comparing, and the paste box holding the latest rule set.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    require(&viewer.caller)?;
    let v = viewer.clone();
    let notice = match q.done.as_str() {
        "adopted" => Some(format!(
            "Rule set {} adopted. It applies from its start date.",
            q.version
        )),
        "deleted" => Some("Draft deleted.".to_owned()),
        _ => None,
    };
    let text = state
        .blocking(move |s| {
            let drafts = rule_drafts::list_drafts(s, &v.caller)?;
            s.db.read(|tx| {
                let book = s.rules();
                let extras = Extras {
                    drafts: &drafts,
                    notice,
                    result: None,
                };
                Ok(render(
                    &v,
                    book.sets(),
                    s.today(),
                    &sources(tx)?,
                    &[],
                    extras,
                ))
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

/// Applies the pasted draft to today's data.
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
            let drafts = rule_drafts::list_drafts(s, &v.caller)?;
            let book = s.rules();
            let today = s.today();
            let draft = if f.draft.trim().is_empty() {
                Err("Enter a draft rule set".to_owned())
            } else {
                RuleSet::from_toml(&f.draft).map_err(|e| format!("The draft cannot be read: {e}"))
            };
            let draft = match draft {
                Ok(d) => d,
                Err(msg) => {
                    let extras = Extras {
                        drafts: &drafts,
                        ..Extras::default()
                    };
                    return Ok((
                        StatusCode::BAD_REQUEST,
                        render(
                            &v,
                            book.sets(),
                            today,
                            &f.draft,
                            &[FieldError::new("draft", msg)],
                            extras,
                        ),
                    ));
                }
            };
            let w = records::what_if(s, &v.caller, &draft)?;
            let refusals: Vec<String> = records::adoption_refusals(s, &draft)
                .into_iter()
                .map(|r| capital(&r.message))
                .collect();
            let extras = Extras {
                drafts: &drafts,
                notice: None,
                result: Some((&w, &draft, refusals)),
            };
            Ok::<_, ServiceError>((
                StatusCode::OK,
                render(&v, book.sets(), today, &f.draft, &[], extras),
            ))
        })
        .await?;
    Ok(html(status, text))
}

/// Adopts a pasted draft as a scheduled rule set (commissioners), then shows the rules page.
pub async fn adopt(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<DraftForm>,
) -> PageResult {
    require(&viewer.caller)?;
    check_key(&viewer, &f.form_key)?;
    let v = viewer.clone();
    let outcome = state
        .blocking(move |s| {
            let outcome = records::add_rule_set(s, &v.caller, &f.draft);
            let drafts = rule_drafts::list_drafts(s, &v.caller)?;
            let book = s.rules();
            let today = s.today();
            let extras = Extras {
                drafts: &drafts,
                ..Extras::default()
            };
            match outcome {
                Ok(a) => Ok(Err(format!(
                    "/rules?done=adopted&version={}",
                    urlencoding(&a.version)
                ))),
                Err(e) if e.is_refusal() || matches!(e, ServiceError::Forbidden(_)) => Ok(Ok((
                    StatusCode::BAD_REQUEST,
                    render(
                        &v,
                        book.sets(),
                        today,
                        &f.draft,
                        &[FieldError::new("draft", capital(&e.message()))],
                        extras,
                    ),
                ))),
                Err(e) => Err(e),
            }
        })
        .await?;
    match outcome {
        Ok((status, text)) => Ok(html(status, text)),
        Err(to) => Ok(see_other(&to)),
    }
}

/// One rule set, every setting in words, with its TOML to download.
pub async fn view(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(version): Path<String>,
) -> PageResult {
    require(&viewer.caller)?;
    let v = viewer.clone();
    let text = state
        .blocking(move |s| {
            let set = records::rule_set(s, &version)?;
            let today = s.today();
            let book = s.rules();
            let in_force = book.in_force(today).map(|r| r.effective_from);
            let state_text = state_of(&set, in_force, today);
            let form = RuleForm::from_rule_set(&set);
            let sections = form.sections();
            let body = rsx! {
                p { a { href: "/rules", "Back to scheme rules" } }
                h1 { {format!("Rule set {}", set.version)} }
                p { class: "lede", {format!("{}. {state_text} from {}.", set.name, long_date(set.effective_from))} }
                ul { class: "inline-links",
                    li { a { href: "/rules/sets/{urlencoding(&set.version)}/toml", id: "download-toml", download: "rule-set-{file_safe(&set.version)}.toml", "Download TOML" } }
                    li { a { href: "/rules/new?from={urlencoding(&set.version)}", "Draft a new rule set from this one" } }
                }
                for sec in sections.iter() {
                    div { key: "{sec.id}",
                        h2 { "{sec.title}" }
                        dl { class: "summary-list", id: "settings-{sec.id}",
                            for f in sec.all_fields() {
                                div { key: "{f.id}",
                                    dt { {f.words()} }
                                    dd { {match f.kind { accredit_shared::rule_form::FieldKind::Date => long_date(set.effective_from), _ => f.show(form.get(&f.id)) }} }
                                }
                            }
                        }
                    }
                }
            };
            Ok::<_, ServiceError>(page(&format!("Rule set {}", set.version), Some(&v), Section::Rules, body))
        })
        .await?;
    Ok(html(StatusCode::OK, text))
}

/// A rule set's TOML, to download: the stored and exported format.
pub async fn download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(version): Path<String>,
) -> PageResult {
    require(&viewer.caller)?;
    let set = state
        .blocking(move |s| records::rule_set(s, &version))
        .await?;
    let mut r = set.to_toml().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/toml; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(d) = HeaderValue::from_str(&format!(
        "attachment; filename=\"rule-set-{}.toml\"",
        file_safe(&set.version)
    )) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    Ok(r)
}

/// Which two rule sets to compare: versions or draft ids.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CompareQuery {
    a: String,
    b: String,
}

/// Two rule sets side by side: every setting that differs.
pub async fn compare_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<CompareQuery>,
) -> PageResult {
    require(&viewer.caller)?;
    let v = viewer.clone();
    let text = state
        .blocking(move |s| {
            let drafts = rule_drafts::list_drafts(s, &v.caller)?;
            let book = s.rules();
            let today = s.today();
            let current = s_in_force(book.sets(), today);
            let a_ref = if q.a.trim().is_empty() { current.clone() } else { q.a.trim().to_owned() };
            let b_ref = if q.b.trim().is_empty() { current.clone() } else { q.b.trim().to_owned() };
            let (la, a) = rule_drafts::by_reference(s, &v.caller, &a_ref)?;
            let (lb, b) = rule_drafts::by_reference(s, &v.caller, &b_ref)?;
            let differences = diff(&a, &b);
            let body = rsx! {
                p { a { href: "/rules", "Back to scheme rules" } }
                h1 { "Compare rule sets" }
                {compare_chooser(book.sets(), &drafts, &a_ref, &b_ref)}
                h2 { id: "compare-heading", {format!("{la} and {lb}")} }
                if differences.is_empty() {
                    p { id: "differences", "These rule sets have the same settings." }
                } else {
                    p { {format!("{} settings differ.", differences.len())} }
                    table { class: "table", id: "differences",
                        caption { class: "visually-hidden", {format!("Settings that differ between {la} and {lb}")} }
                        thead { tr {
                            th { scope: "col", "Setting" }
                            th { scope: "col", "{la}" }
                            th { scope: "col", "{lb}" }
                        } }
                        tbody {
                            for d in differences.iter() {
                                tr { key: "{d.path}",
                                    th { scope: "row", "{d.label}", br {} span { class: "hint", "{d.section}" } }
                                    td { "{d.a}" }
                                    td { "{d.b}" }
                                }
                            }
                        }
                    }
                }
            };
            Ok::<_, ServiceError>(page("Compare rule sets", Some(&v), Section::Rules, body))
        })
        .await?;
    Ok(html(StatusCode::OK, text))
}
