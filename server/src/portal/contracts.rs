//! Contracts (withhold and release): the list, one contract with each period's outcome and its
//! explanation, and the form commissioners add and edit them with (money in pounds, the share
//! in per cent, dates as day, month and year). Providers see their own contracts; leads see
//! all. Every rule is `service::contracts::check`, as for the API and the importer.

use std::collections::HashMap;

use accredit_shared::Pence;
use accredit_shared::labels::long_date;
use accredit_shared::ratio::Ratio;
use accredit_shared::withhold::{Contract, ContractPeriodLine, PERIOD_MONTHS};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate};
use dioxus::prelude::*;
use uuid::Uuid;

use super::fields::{select, text_input, value};
use super::layout::{FieldError, Section, error_summary, error_titled_page, form_key, money, page};
use super::people::Done;
use super::records::{date_input, read_date};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::contracts::{self, ContractSummary, ContractView};
use crate::state::AppState;

/// A share as people read it: `5%`, `2.5%`.
pub fn percent(r: Ratio) -> String {
    let t = r.to_decimal_string(3);
    format!("{}%", t.trim_end_matches('0').trim_end_matches('.'))
}

fn every(months: u32) -> String {
    match months {
        1 => "Monthly".into(),
        3 => "Quarterly".into(),
        6 => "Every 6 months".into(),
        12 => "Yearly".into(),
        n => format!("Every {n} months"),
    }
}

fn covers(s: &ContractSummary) -> String {
    s.location_name
        .clone()
        .unwrap_or_else(|| "Every location of the provider".into())
}

fn share(c: &Contract) -> String {
    c.withhold_percent
        .map_or_else(|| "The scheme's share".into(), percent)
}

fn list_page(viewer: &Viewer, rows: &[ContractSummary], done: &str) -> String {
    let commissioner = viewer.caller.role == Role::Commissioner;
    let body = rsx! {
        if done == "added" {
            div { class: "notification success", role: "status", id: "notification", p { "The contract has been added." } }
        }
        h1 { "Contracts" }
        p { "In withhold and release, a share of each contract period's value is at risk. It is released by the compliance score the scheme names, and held back by a gate. Each period is settled in the month it ends, on the payments page." }
        if commissioner {
            p { class: "actions",
                a { class: "button", href: "/contracts/new", id: "add-contract", "Add a contract" }
                " "
                a { class: "button secondary", href: "/imports", "Import contracts from a CSV file" }
            }
        }
        if rows.is_empty() {
            p { id: "no-contracts", "There are no contracts yet." }
        } else {
            table { class: "table", id: "contracts",
                caption { class: "visually-hidden", "Contracts" }
                thead { tr {
                    th { scope: "col", "Reference" }
                    th { scope: "col", "Provider" }
                    th { scope: "col", "Covers" }
                    th { scope: "col", "Runs" }
                    th { scope: "col", class: "numeric", "Value a period" }
                    th { scope: "col", "Share at risk" }
                } }
                tbody {
                    for s in rows.iter() {
                        tr { key: "{s.contract.id}",
                            td { a { href: "/contracts/{s.contract.id}", "{s.contract.reference}" } }
                            td { "{s.provider_name}" }
                            td { {covers(s)} }
                            td { {format!("{} to {}, {}", long_date(s.contract.starts_on), long_date(s.contract.ends_on), every(s.contract.period_months).to_lowercase())} }
                            td { class: "numeric", {money(s.contract.value_per_period.0)} }
                            td { {share(&s.contract)} }
                        }
                    }
                }
            }
        }
    };
    page("Contracts", Some(viewer), Section::Contracts, body)
}

/// The list of contracts.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(d): Query<Done>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let rows = state
        .blocking(move |s| s.db.read(|tx| contracts::list(tx, &caller)))
        .await?;
    Ok(html(StatusCode::OK, list_page(&viewer, &rows, &d.done)))
}

/// The figures of one contract period, shared by the contract page and the payments page so
/// both say the same; [`outcome_reason`] gives the words beneath them.
pub fn outcome_cells(l: &ContractPeriodLine) -> Element {
    rsx! {
        td { class: "numeric", {money(l.at_risk.0)} }
        td { class: "numeric", {money(l.released.0)} }
        td { class: "numeric", {money(l.on_hold.0)} }
        td { class: "numeric", {money(l.withheld.0)} }
        td { strong { {l.status.label()} } }
    }
}

/// The header of [`outcome_cells`].
pub fn outcome_headers() -> Element {
    rsx! {
        th { scope: "col", class: "numeric", "At risk" }
        th { scope: "col", class: "numeric", "Released" }
        th { scope: "col", class: "numeric", "On hold" }
        th { scope: "col", class: "numeric", "Withheld" }
        th { scope: "col", "Outcome" }
    }
}

/// Why a contract period came out as it did: a row across the whole table under its figures,
/// so the explanation reads as a sentence, not a narrow column.
pub fn outcome_reason(l: &ContractPeriodLine, columns: usize) -> Element {
    rsx! {
        tr { class: "explanation",
            td { colspan: "{columns}", span { class: "visually-hidden", "Why: " } "{l.reason}" }
        }
    }
}

fn show_page(viewer: &Viewer, v: &ContractView, done: &str) -> String {
    let c = &v.summary.contract;
    let commissioner = viewer.caller.role == Role::Commissioner;
    let body = rsx! {
        if done == "saved" {
            div { class: "notification success", role: "status", id: "notification", p { "The contract has been saved." } }
        }
        if done == "added" {
            div { class: "notification success", role: "status", id: "notification", p { "The contract has been added." } }
        }
        span { class: "caption", "Contract" }
        h1 { "{c.reference}" }
        dl { class: "summary-list", id: "contract-summary",
            div { dt { "Provider" } dd { "{v.summary.provider_name}" } }
            div { dt { "Covers" } dd { {covers(&v.summary)} } }
            div { dt { "Runs" } dd { {format!("{} to {}", long_date(c.starts_on), long_date(c.ends_on))} } }
            div { dt { "Periods" } dd { {format!("{}, {} in all", every(c.period_months), v.periods.len())} } }
            div { dt { "Value a period" } dd { {money(c.value_per_period.0)} } }
            div { dt { "Share at risk" } dd { {share(c)} } }
        }
        if commissioner {
            p { a { class: "button secondary", href: "/contracts/{c.id}/edit", id: "edit-contract", "Change the contract" } }
        }
        table { class: "table", id: "contract-periods",
            caption { "Periods" }
            thead { tr {
                th { scope: "col", "Period" }
                {outcome_headers()}
            } }
            tbody {
                for p in v.periods.iter() {
                    tr { key: "{p.period.from}", class: if p.line.is_some() { "with-explanation" } else { "" },
                        th { scope: "row", {format!("{} to {}", long_date(p.period.from), long_date(p.period.to))} }
                        if let Some(l) = &p.line {
                            {outcome_cells(l)}
                        } else {
                            td { colspan: "5", class: "hint", "Not ended yet: settled on the payments page for the month it ends." }
                        }
                    }
                    if let Some(l) = &p.line {
                        {outcome_reason(l, 6)}
                    }
                }
            }
        }
        p { class: "hint", "Each amount is rounded once to the penny: at risk is the value times the share; released (or on hold) is the value times the share times the band's release; withheld is what is left." }
    };
    page(&c.reference, Some(viewer), Section::Contracts, body)
}

/// One contract.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(d): Query<Done>,
) -> PageResult {
    let id = path_id(&id, "contract")?;
    let caller = viewer.caller.clone();
    let v = state
        .blocking(move |s| s.db.read(|tx| contracts::show(s, tx, &caller, id)))
        .await?;
    Ok(html(StatusCode::OK, show_page(&viewer, &v, &d.done)))
}

/// Form fields and where their service refusals are shown.
const FIELD_AT: [(&str, &str); 4] = [
    ("starts_on", "starts_on-day"),
    ("ends_on", "ends_on-day"),
    ("location_id", "cqc_location_id"),
    ("", "reference"),
];

async fn form_page(
    state: &AppState,
    viewer: &Viewer,
    edit: Option<Uuid>,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (providers, default_share) = state
        .blocking(move |s| {
            let p = crate::service::people::providers(s, &caller)?;
            let share = s
                .rules()
                .in_force(s.today())
                .map(|r| r.withhold_release.withhold_percent);
            Ok((p, share))
        })
        .await?;
    let provider_options: Vec<(String, String)> = providers
        .iter()
        .map(|(id, n)| (id.to_string(), n.clone()))
        .collect();
    let period_options: Vec<(String, String)> = PERIOD_MONTHS
        .iter()
        .map(|m| (m.to_string(), every(*m)))
        .collect();
    let (title, action, button) = match edit {
        None => (
            "Add a contract".to_owned(),
            "/contracts".to_owned(),
            "Add contract",
        ),
        Some(id) => (
            format!("Change contract {}", value(&f, "original_reference")),
            format!("/contracts/{id}/edit"),
            "Save changes",
        ),
    };
    let share_hint = match default_share {
        Some(r) => format!(
            "Leave blank for the scheme's {}. Up to three decimals, like 2.5.",
            percent(r)
        ),
        None => "Up to three decimals, like 2.5.".to_owned(),
    };
    let body = rsx! {
        div { class: "narrow",
            {error_summary(&errors)}
            h1 { "{title}" }
            form { method: "post", action: "{action}", novalidate: true,
                {form_key(viewer)}
                input { r#type: "hidden", name: "original_reference", value: value(&f, "original_reference") }
                {text_input("reference", "Contract reference", "The council's reference, as on the contract.", &f, &errors, "text", "off")}
                {select("provider_id", "Provider", "Choose a provider", &provider_options, &f, &errors)}
                {text_input("cqc_location_id", "CQC location ID of the location contracted (optional)", "Leave blank for a contract covering every location of the provider: the lowest of their scores then decides.", &f, &errors, "text", "off")}
                {date_input("starts_on", "Start date", "The first day of the first period, for example 1 4 2026", &f, &errors)}
                {select("period_months", "Length of each period", "Choose how long each period is", &period_options, &f, &errors)}
                {date_input("ends_on", "End date", "The last day of the last period, for example 31 3 2027", &f, &errors)}
                {text_input("value_per_period", "Contract value for each period, in pounds", "The council's social-care part only, for example 12,345.67", &f, &errors, "text", "off")}
                {text_input("withhold_percent", "Share at risk, in per cent (optional)", &share_hint, &f, &errors, "text", "off")}
                button { class: "button", r#type: "submit", id: "save-contract", "{button}" }
                a { class: "link-cancel", href: match edit { Some(id) => format!("/contracts/{id}"), None => "/contracts".to_owned() }, "Cancel" }
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
        error_titled_page(
            &title,
            !errors.is_empty(),
            Some(viewer),
            Section::Contracts,
            body,
        ),
    ))
}

/// Reads the form into a contract; what cannot be read is an error at its field, and the rest
/// is checked by the service's rules.
fn read_form(
    tx: &rusqlite::Connection,
    id: Uuid,
    f: &HashMap<String, String>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Contract>, ServiceError> {
    let starts_on = read_date(f, "starts_on", "the start date", errors);
    let ends_on = read_date(f, "ends_on", "the end date", errors);
    let provider_id = Uuid::parse_str(value(f, "provider_id").trim()).ok();
    if provider_id.is_none() {
        errors.push(FieldError::new("provider_id", "Choose the provider"));
    }
    let period_months = value(f, "period_months")
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|m| PERIOD_MONTHS.contains(m));
    if period_months.is_none() {
        errors.push(FieldError::new(
            "period_months",
            "Choose how long each period is",
        ));
    }
    let value_per_period = match Pence::parse_pounds(&value(f, "value_per_period")) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(FieldError::new("value_per_period", capital(&e.to_string())));
            None
        }
    };
    let share = value(f, "withhold_percent");
    let withhold_percent = if share.trim().is_empty() {
        Some(None)
    } else {
        match Ratio::parse_percent(&share) {
            Ok(r) => Some(Some(r)),
            Err(e) => {
                errors.push(FieldError::new("withhold_percent", capital(&e.to_string())));
                None
            }
        }
    };
    let cqc = value(f, "cqc_location_id");
    let location_id = if cqc.trim().is_empty() {
        Some(None)
    } else {
        match crate::users::location_by_cqc(tx, cqc.trim()) {
            Ok(l) => Some(Some(l)),
            Err(ServiceError::Invalid(_)) => {
                errors.push(FieldError::new(
                    "cqc_location_id",
                    "No location has this CQC location ID",
                ));
                None
            }
            Err(e) => return Err(e),
        }
    };
    let (
        Some(starts_on),
        Some(ends_on),
        Some(provider_id),
        Some(period_months),
        Some(value_per_period),
        Some(withhold_percent),
        Some(location_id),
    ) = (
        starts_on,
        ends_on,
        provider_id,
        period_months,
        value_per_period,
        withhold_percent,
        location_id,
    )
    else {
        return Ok(None);
    };
    let c = Contract {
        id,
        reference: value(f, "reference").trim().to_owned(),
        provider_id,
        location_id,
        starts_on,
        ends_on,
        period_months,
        value_per_period,
        withhold_percent,
    };
    for r in contracts::check(tx, &c)? {
        let field = FIELD_AT
            .iter()
            .find(|(k, _)| *k == r.field)
            .map_or(r.field, |(_, v)| *v);
        if !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(field, capital(&r.message)));
        }
    }
    Ok(errors.is_empty().then_some(c))
}

/// The form to add a contract.
pub async fn new_form(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    form_page(&state, &viewer, None, HashMap::new(), Vec::new()).await
}

fn date_fields(f: &mut HashMap<String, String>, id: &str, d: NaiveDate) {
    f.insert(format!("{id}-day"), d.day().to_string());
    f.insert(format!("{id}-month"), d.month().to_string());
    f.insert(format!("{id}-year"), d.year().to_string());
}

/// The form to change a contract, filled with its terms.
pub async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    let id = path_id(&id, "contract")?;
    let caller = viewer.caller.clone();
    let v = state
        .blocking(move |s| s.db.read(|tx| contracts::show(s, tx, &caller, id)))
        .await?;
    let c = &v.summary.contract;
    let cqc = match c.location_id {
        Some(l) => {
            let found = state
                .blocking(move |s| s.db.read(|tx| crate::tiers::location(tx, l)))
                .await?;
            found.map(|(l, _)| l.cqc_location_id).unwrap_or_default()
        }
        None => String::new(),
    };
    let mut f = HashMap::from([
        ("reference".to_owned(), c.reference.clone()),
        ("original_reference".to_owned(), c.reference.clone()),
        ("provider_id".to_owned(), c.provider_id.to_string()),
        ("cqc_location_id".to_owned(), cqc),
        ("period_months".to_owned(), c.period_months.to_string()),
        (
            "value_per_period".to_owned(),
            c.value_per_period.to_pounds_string(),
        ),
        (
            "withhold_percent".to_owned(),
            c.withhold_percent
                .map(|r| percent(r).trim_end_matches('%').to_owned())
                .unwrap_or_default(),
        ),
    ]);
    date_fields(&mut f, "starts_on", c.starts_on);
    date_fields(&mut f, "ends_on", c.ends_on);
    form_page(&state, &viewer, Some(id), f, Vec::new()).await
}

async fn save(
    state: &AppState,
    viewer: &Viewer,
    edit: Option<Uuid>,
    f: HashMap<String, String>,
) -> PageResult {
    check_key(viewer, &value(&f, "form_key"))?;
    viewer.caller.require(&[Role::Commissioner])?;
    let id = edit.unwrap_or_else(Uuid::new_v4);
    let form = f.clone();
    let (read, errors) = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let mut errors = Vec::new();
                let c = read_form(tx, id, &form, &mut errors)?;
                Ok((c, errors))
            })
        })
        .await?;
    let Some(c) = read else {
        return form_page(state, viewer, edit, f, errors).await;
    };
    let caller = viewer.caller.clone();
    let outcome = state
        .blocking(move |s| match edit {
            None => contracts::add(s, &caller, c),
            Some(_) => contracts::edit(s, &caller, c),
        })
        .await;
    match outcome {
        Ok(v) => Ok(see_other(&format!(
            "/contracts/{}?done={}",
            v.summary.contract.id,
            if edit.is_some() { "saved" } else { "added" }
        ))),
        // Another commissioner may have taken the reference meanwhile.
        Err(e) if e.is_refusal() => {
            form_page(
                state,
                viewer,
                edit,
                f,
                vec![FieldError::new("reference", capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Adds a contract.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    save(&state, &viewer, None, f).await
}

/// Saves a changed contract.
pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "contract")?;
    save(&state, &viewer, Some(id), f).await
}
