//! The rule-set form: a new rule set drafted from one in the book (or a saved draft), with money
//! in pounds, thresholds in per cent and the start date as day, month and year. From it a
//! commissioner runs the what-if, saves the draft and adopts it from a future date; leads may
//! edit it and run the what-if. Rows (tiers, CQC limiters, release bands) are added and removed
//! with buttons that post the form, so the page works without JavaScript.
//!
//! Every field is read by `accredit_shared::rule_form` and checked by the rule set's own
//! validation; "Adopt" is offered only when `records::adoption_refusals` finds nothing, the same
//! check `records::add_rule_set` makes.

use std::collections::HashMap;

use accredit_shared::RuleSet;
use accredit_shared::labels::long_date;
use accredit_shared::rule_form::{FieldKind, FieldSpec, FormSection, RuleForm};
use accredit_shared::whatif::WhatIf;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use dioxus::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{FieldError, Section, error_summary, error_titled_page, field_error, form_key};
use super::records::date_input;
use super::rules::whatif_view;
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::{records, rule_drafts};
use crate::state::AppState;

/// Whether the form's rule set could be adopted now, and if not, why.
enum Adoption {
    /// The form has problems to fix first.
    Unreadable,
    /// It reads, but adopting it would fail for these reasons.
    Refused(Vec<String>),
    /// Adopting it would succeed: version and first day.
    Ready(String, NaiveDate),
}

/// Everything the form page shows.
struct FormPage<'a> {
    viewer: &'a Viewer,
    form: &'a RuleForm,
    draft: Option<Uuid>,
    origin: String,
    errors: Vec<FieldError>,
    result: Option<(WhatIf, RuleSet)>,
    adoption: Adoption,
    notice: Option<&'static str>,
}

fn described_by(spec: &FieldSpec, errors: &[FieldError]) -> Option<String> {
    let mut ids = Vec::new();
    if !spec.hint.is_empty() {
        ids.push(format!("{}-hint", spec.id));
    }
    if errors.iter().any(|e| e.field == spec.id) {
        ids.push(format!("{}-error", spec.id));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

fn group_class(errors: &[FieldError], id: &str) -> &'static str {
    if errors.iter().any(|e| e.field == id) {
        "form-group form-group-error"
    } else {
        "form-group"
    }
}

/// One field, drawn as its kind needs.
fn field_view(spec: &FieldSpec, form: &RuleForm, errors: &[FieldError]) -> Element {
    let id = spec.id.as_str();
    let value = form.get(id).to_owned();
    let described = described_by(spec, errors);
    let hint = spec.hint.as_str();
    match &spec.kind {
        FieldKind::Date => {
            let parts: HashMap<String, String> = ["day", "month", "year"]
                .iter()
                .map(|p| {
                    let k = format!("{id}-{p}");
                    let v = form.get(&k).to_owned();
                    (k, v)
                })
                .collect();
            date_input(id, &spec.label, hint, &parts, errors)
        }
        FieldKind::Choice(options) => rsx! {
            div { class: group_class(errors, id),
                label { class: "label", r#for: "{id}", "{spec.label}" }
                if !hint.is_empty() { div { class: "hint", id: "{id}-hint", "{hint}" } }
                {field_error(errors, id)}
                select { class: "select", id: "{id}", name: "{id}", aria_describedby: described,
                    if value.trim().is_empty() { option { value: "", "Choose" } }
                    for (v, l) in options.iter() {
                        option { key: "{v}", value: "{v}", selected: v.eq_ignore_ascii_case(value.trim()), "{l}" }
                    }
                }
            }
        },
        FieldKind::Flags(options) => {
            let chosen: Vec<&str> = value.split(',').map(str::trim).collect();
            rsx! {
                div { class: group_class(errors, id),
                    fieldset { class: "fieldset", aria_describedby: described,
                        legend { class: "legend", "{spec.label}" }
                        if !hint.is_empty() { div { class: "hint", id: "{id}-hint", "{hint}" } }
                        {field_error(errors, id)}
                        for (i, (v, l)) in options.iter().enumerate() {
                            div { key: "{v}", class: "checkbox",
                                input { r#type: "checkbox", id: if i == 0 { id.to_owned() } else { format!("{id}-{v}") }, name: "{id}", value: "{v}", checked: chosen.contains(&v.as_str()) }
                                label { r#for: if i == 0 { id.to_owned() } else { format!("{id}-{v}") }, "{l}" }
                            }
                        }
                    }
                }
            }
        }
        kind => {
            let (width, mode) = match kind {
                FieldKind::Text => ("input", "text"),
                FieldKind::Whole | FieldKind::OptionalWhole => ("input w4", "numeric"),
                _ => ("input w10", "decimal"),
            };
            rsx! {
                div { class: group_class(errors, id),
                    label { class: "label", r#for: "{id}", "{spec.label}" }
                    if !hint.is_empty() { div { class: "hint", id: "{id}-hint", "{hint}" } }
                    {field_error(errors, id)}
                    input { class: "{width}", id: "{id}", name: "{id}", r#type: "text", inputmode: "{mode}", spellcheck: "false", autocomplete: "off", value: "{value}", aria_describedby: described }
                }
            }
        }
    }
}

fn section_view(section: &FormSection, form: &RuleForm, errors: &[FieldError]) -> Element {
    rsx! {
        h2 { id: "{section.id}", tabindex: "-1", "{section.title}" }
        if !section.intro.is_empty() { p { class: "hint", "{section.intro}" } }
        {field_error(errors, section.id)}
        for f in section.fields.iter() {
            div { key: "{f.id}", {field_view(f, form, errors)} }
        }
        if let Some(g) = &section.group {
            if g.id != section.id {
                h3 { id: "{g.id}", tabindex: "-1", {capital(&format!("{}s", g.noun))} }
                {field_error(errors, g.id)}
            }
            for (i, row) in g.rows.iter().enumerate() {
                fieldset { key: "{g.id}-{i}", class: "fieldset rule-row",
                    legend { class: "legend", {row.first().and_then(|f| f.row.clone()).unwrap_or_default()} }
                    div { class: "row-fields",
                        for f in row.iter() {
                            div { key: "{f.id}", {field_view(f, form, errors)} }
                        }
                    }
                    button { class: "button secondary", r#type: "submit", name: "action", value: "remove-{g.id}-{i}", id: "remove-{g.id}-{i}",
                        {format!("Remove {} {}", g.noun, i + 1)}
                    }
                }
            }
            if g.rows.is_empty() { p { {format!("No {}s.", g.noun)} } }
            button { class: "button secondary", r#type: "submit", name: "action", value: "add-{g.id}", id: "add-{g.id}",
                {format!("Add a {}", g.noun)}
            }
        }
    }
}

fn adopt_panel(p: &FormPage<'_>) -> Element {
    let commissioner = p.viewer.caller.role == Role::Commissioner;
    rsx! {
        div { class: "panel", id: "adopt",
            h2 { "Adopt this rule set" }
            match &p.adoption {
                Adoption::Unreadable => rsx! { p { "Fix the problems listed at the top of the page first." } },
                Adoption::Refused(reasons) => rsx! {
                    p { "It cannot be adopted yet:" }
                    ul { class: "list", id: "adopt-reasons",
                        for r in reasons.iter() { li { key: "{r}", "{r}" } }
                    }
                },
                Adoption::Ready(version, from) => rsx! {
                    if commissioner {
                        p { {format!("Version {version} will apply to every location from {}. Payments before then keep the rules in force now.", long_date(*from))} }
                        button { class: "button", r#type: "submit", name: "action", value: "adopt", id: "adopt-button",
                            {format!("Adopt from {}", long_date(*from))}
                        }
                    } else {
                        p { {format!("Version {version} could be adopted from {}. Only commissioners adopt rule sets.", long_date(*from))} }
                    }
                },
            }
        }
    }
}

fn render(p: &FormPage<'_>) -> String {
    let commissioner = p.viewer.caller.role == Role::Commissioner;
    let sections = p.form.sections();
    let title = match p.draft {
        Some(_) => format!("Draft rule set {}", p.form.get("version")),
        None => "Draft a new rule set".to_owned(),
    };
    let body = rsx! {
        {error_summary(&p.errors)}
        if let Some(n) = p.notice {
            div { class: "notification", role: "status", id: "notification", p { "{n}" } }
        }
        p { a { href: "/rules", "Back to scheme rules" } }
        h1 { "{title}" }
        p { class: "lede", "{p.origin}" }
        p { "Amounts are in pounds a week; thresholds are percentages with up to three decimals. Nothing changes until the rule set is adopted, and then only from its start date." }
        form { method: "post", action: "/rules/form", novalidate: true, id: "rule-form",
            {form_key(p.viewer)}
            // Pressing Enter in a field shows the effect rather than pressing the first
            // "Remove" button on the page.
            button { r#type: "submit", name: "action", value: "what-if", hidden: true, tabindex: "-1", "Show the effect" }
            if let Some(id) = p.draft { input { r#type: "hidden", name: "draft_id", value: "{id}" } }
            for s in sections.iter() {
                div { key: "{s.id}", {section_view(s, p.form, &p.errors)} }
            }
            h2 { "Check and save" }
            div {
                button { class: "button", r#type: "submit", name: "action", value: "what-if", id: "run-what-if", "Show the effect" }
                if commissioner {
                    button { class: "button secondary", r#type: "submit", name: "action", value: "save", id: "save-draft", "Save draft" }
                }
            }
            if let Some((w, d)) = &p.result { {whatif_view(w, d)} }
            {adopt_panel(p)}
        }
    };
    error_titled_page(
        &title,
        !p.errors.is_empty(),
        Some(p.viewer),
        Section::Rules,
        body,
    )
}

fn adoption(s: &AppState, form: &RuleForm) -> Adoption {
    match form.to_rule_set() {
        Err(_) => Adoption::Unreadable,
        Ok(rs) => {
            let refusals = records::adoption_refusals(s, &rs);
            if refusals.is_empty() {
                Adoption::Ready(rs.version, rs.effective_from)
            } else {
                Adoption::Refused(refusals.into_iter().map(|r| capital(&r.message)).collect())
            }
        }
    }
}

fn may_view(viewer: &Viewer) -> Result<(), ServiceError> {
    viewer.caller.require(&[Role::Commissioner, Role::Lead])
}

/// Which rule set a new draft starts from.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FromQuery {
    from: String,
}

/// A new draft, from the rule set in force (or `?from=VERSION`).
pub async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<FromQuery>,
) -> PageResult {
    may_view(&viewer)?;
    let v = viewer.clone();
    let text = state
        .blocking(move |s| {
            let today = s.today();
            let book = s.rules();
            let base = if q.from.trim().is_empty() {
                book.in_force(today)
                    .or_else(|| book.sets().first())
                    .cloned()
                    .ok_or_else(|| ServiceError::not_found("rule set"))?
            } else {
                records::rule_set(s, q.from.trim())?
            };
            let form = RuleForm::from_rule_set(&base);
            let page = FormPage {
                viewer: &v,
                form: &form,
                draft: None,
                origin: format!(
                    "Starting from version {} ({} from {}). Change what you need, give it a new version and a start date after today.",
                    base.version,
                    if book.in_force(today).is_some_and(|r| r.version == base.version) { "in force" } else { "in the rule book" },
                    long_date(base.effective_from)
                ),
                errors: Vec::new(),
                result: None,
                adoption: adoption(s, &form),
                notice: None,
            };
            Ok::<_, ServiceError>(render(&page))
        })
        .await?;
    Ok(html(StatusCode::OK, text))
}

/// A notification after a redirect.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

/// A saved draft, in the form.
pub async fn open_draft(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let id = path_id(&id, "draft")?;
    may_view(&viewer)?;
    let v = viewer.clone();
    let text = state
        .blocking(move |s| {
            let d = rule_drafts::get_draft(s, &v.caller, id)?;
            let form = RuleForm::from_rule_set(&d.rule_set);
            let page = FormPage {
                viewer: &v,
                form: &form,
                draft: Some(id),
                origin: format!(
                    "A draft, last saved by {} on {}.",
                    if d.updated_by.is_empty() {
                        "someone"
                    } else {
                        &d.updated_by
                    },
                    super::layout::when(Some(&d.updated_at))
                ),
                errors: Vec::new(),
                result: None,
                adoption: adoption(s, &form),
                notice: (q.done == "saved").then_some("Draft saved."),
            };
            Ok::<_, ServiceError>(render(&page))
        })
        .await?;
    Ok(html(StatusCode::OK, text))
}

/// Every button of the form: what-if, save, adopt, and adding or removing a row.
pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    may_view(&viewer)?;
    let mut key = String::new();
    let mut action = String::new();
    let mut draft_id = String::new();
    let fields = pairs.into_iter().filter(|(k, v)| match k.as_str() {
        "form_key" => {
            key = v.clone();
            false
        }
        "action" => {
            action = v.clone();
            false
        }
        "draft_id" => {
            draft_id = v.clone();
            false
        }
        _ => true,
    });
    let mut form = RuleForm::from_pairs(fields.collect::<Vec<_>>());
    check_key(&viewer, &key)?;
    let draft = if draft_id.is_empty() {
        None
    } else {
        Some(path_id(&draft_id, "draft")?)
    };
    let commissioner = viewer.caller.role == Role::Commissioner;
    if matches!(action.as_str(), "save" | "adopt") && !commissioner {
        return Err(PageError(ServiceError::forbidden(
            "only commissioners save and adopt rule sets",
        )));
    }
    // Row buttons change the form and show it again; nothing is checked yet.
    let row_change = if let Some(group) = action.strip_prefix("add-") {
        form.add_row(group);
        true
    } else if let Some(rest) = action.strip_prefix("remove-") {
        if let Some((group, i)) = rest.rsplit_once('-')
            && let Ok(i) = i.parse::<usize>()
        {
            form.remove_row(group, i);
        }
        true
    } else {
        false
    };
    let origin = match draft {
        Some(_) => "A saved draft. Save it again to keep your changes.".to_owned(),
        None => "A new draft, not saved yet.".to_owned(),
    };
    let v = viewer.clone();
    let outcome = state
        .blocking(move |s| {
            let mut errors = Vec::new();
            let mut result = None;
            let mut status = StatusCode::OK;
            if !row_change {
                match form.to_rule_set() {
                    Err(problems) => {
                        status = StatusCode::BAD_REQUEST;
                        errors = problems
                            .into_iter()
                            .map(|p| FieldError::new(&p.field, p.message))
                            .collect();
                    }
                    Ok(rs) => match action.as_str() {
                        "save" => {
                            let id = rule_drafts::save_draft(s, &v.caller, draft, &rs.to_toml())?;
                            return Ok(Err(format!("/rules/drafts/{id}?done=saved")));
                        }
                        "adopt" => {
                            let refusals = records::adoption_refusals(s, &rs);
                            if refusals.is_empty() {
                                let adopted = records::add_rule_set(s, &v.caller, &rs.to_toml())?;
                                if let Some(id) = draft {
                                    rule_drafts::delete_draft(s, &v.caller, id)?;
                                }
                                return Ok(Err(format!(
                                    "/rules?done=adopted&version={}",
                                    urlencoding(&adopted.version)
                                )));
                            }
                            status = StatusCode::BAD_REQUEST;
                            errors = refusals
                                .into_iter()
                                .map(|r| {
                                    let field = if r.field == "effective_from" {
                                        "effective_from-day"
                                    } else {
                                        r.field
                                    };
                                    FieldError::new(field, capital(&r.message))
                                })
                                .collect();
                        }
                        _ => {
                            let w = records::what_if(s, &v.caller, &rs)?;
                            result = Some((w, rs));
                        }
                    },
                }
            }
            let page = FormPage {
                viewer: &v,
                form: &form,
                draft,
                origin,
                adoption: adoption(s, &form),
                errors,
                result,
                notice: None,
            };
            Ok::<_, ServiceError>(Ok((status, render(&page))))
        })
        .await?;
    match outcome {
        Ok((status, text)) => Ok(html(status, text)),
        Err(to) => Ok(see_other(&to)),
    }
}

/// A version for a query string: the characters a version may hold pass, others are escaped.
pub(super) fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The delete button's form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    form_key: String,
}

/// Deletes a draft (commissioners).
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    check_key(&viewer, &f.form_key)?;
    let id = path_id(&id, "draft")?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| rule_drafts::delete_draft(s, &caller, id))
        .await?;
    Ok(see_other("/rules?done=deleted"))
}
