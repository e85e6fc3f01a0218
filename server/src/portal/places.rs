//! Locations and placements, for commissioners: add a location, edit its details, record a
//! change of ownership (a new location, DOMAIN.md §8), and a location's placements: add one,
//! end it, record a hospital stay and the return, record a death. Residents are pseudonymous
//! references, never names. Every change is one service call, and the tier is re-determined.

use std::collections::HashMap;

use accredit_shared::Pence;
use accredit_shared::labels::long_date;
use accredit_shared::records::{FundingType, HospitalStay, Placement, ServiceType};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use dioxus::prelude::*;
use uuid::Uuid;

use super::fields::{select, text_input, value};
use super::layout::{FieldError, Section, error_summary, error_titled_page, form_key, money, page};
use super::people::Done;
use super::records::{date_input, from_key, key_of, read_date, read_optional_date};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::places::{self, LocationInput, OwnershipChange};
use crate::service::records::{self, Refusal};
use crate::state::AppState;

const SERVICES: [ServiceType; 3] = [
    ServiceType::Residential,
    ServiceType::Nursing,
    ServiceType::HomeCare,
];
const FUNDING: [FundingType; 5] = [
    FundingType::CouncilPermanent,
    FundingType::CouncilShortTerm,
    FundingType::JointFunded,
    FundingType::NhsContinuingHealthcare,
    FundingType::SelfFunded,
];

fn services() -> Vec<(String, String)> {
    SERVICES
        .iter()
        .map(|s| (key_of(*s), s.label().to_owned()))
        .collect()
}

fn at_fields(refusals: Vec<Refusal>, map: &[(&str, &str)]) -> Vec<FieldError> {
    refusals
        .into_iter()
        .map(|r| {
            let field = map
                .iter()
                .find(|(k, _)| *k == r.field)
                .map_or(r.field, |(_, f)| *f);
            FieldError::new(field, capital(&r.message))
        })
        .collect()
}

const LOCATION_FIELDS: [(&str, &str); 3] = [
    ("registered_from", "registered_from-day"),
    ("registered_to", "registered_to-day"),
    ("new_provider", "new_provider"),
];

fn location_input(f: &HashMap<String, String>, errors: &mut Vec<FieldError>) -> LocationInput {
    let from = read_date(
        f,
        "registered_from",
        "the date its registration started",
        errors,
    );
    let to = read_optional_date(
        f,
        "registered_to",
        "the date its registration ended",
        errors,
    );
    LocationInput {
        provider_id: Uuid::parse_str(value(f, "provider_id").trim()).ok(),
        new_provider: value(f, "new_provider"),
        cqc_location_id: value(f, "cqc_location_id"),
        name: value(f, "name"),
        address: value(f, "address"),
        service_type: from_key(&value(f, "service_type")),
        registered_from: from,
        registered_to: to,
    }
}

/// Keeps only the first message per field (a date may be refused twice over).
fn dedup(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut seen = Vec::new();
    errors.retain(|e| {
        let fresh = !seen.contains(&e.field);
        seen.push(e.field.clone());
        fresh
    });
    errors
}

async fn location_form(
    state: &AppState,
    viewer: &Viewer,
    edit: Option<Uuid>,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let providers = state
        .blocking(move |s| crate::service::people::providers(s, &caller))
        .await?;
    let provider_options: Vec<(String, String)> = providers
        .iter()
        .map(|(id, n)| (id.to_string(), n.clone()))
        .collect();
    let (title, action, button) = match edit {
        None => (
            "Add a location".to_owned(),
            "/locations".to_owned(),
            "Add location",
        ),
        Some(id) => (
            format!("Details of {}", value(&f, "original_name")),
            format!("/locations/{id}/edit"),
            "Save changes",
        ),
    };
    let body = rsx! {
        div { class: "narrow",
            {error_summary(&errors)}
            h1 { "{title}" }
            form { method: "post", action: "{action}", novalidate: true,
                {form_key(viewer)}
                input { r#type: "hidden", name: "original_name", value: value(&f, "original_name") }
                if edit.is_none() {
                    {text_input("cqc_location_id", "CQC location ID", "As on the CQC register, for example 1-101641431. It cannot change: a new owner gets a new one.", &f, &errors, "text", "off")}
                    {select("provider_id", "Provider", "Choose a provider", &provider_options, &f, &errors)}
                    {text_input("new_provider", "Or a new provider's name", "Only if the provider is not in the list above.", &f, &errors, "text", "organization")}
                }
                {text_input("name", "Name of the location", "", &f, &errors, "text", "off")}
                {text_input("address", "Address", "Street, town and postcode", &f, &errors, "text", "street-address")}
                {select("service_type", "Kind of service", "Choose the kind of service", &services(), &f, &errors)}
                {date_input("registered_from", "Date its registration started", "For example, 1 6 2014", &f, &errors)}
                {date_input("registered_to", "Date its registration ended (if it has)", "Leave blank while it is registered.", &f, &errors)}
                button { class: "button", r#type: "submit", "{button}" }
                a { class: "link-cancel", href: match edit { Some(id) => format!("/locations/{id}"), None => "/locations".to_owned() }, "Cancel" }
            }
            if let Some(id) = edit {
                h2 { "Change of ownership" }
                p { "When another provider takes over, CQC registers the location afresh under a new ID. Accredit records that as a new location, so each owner keeps its own history and tier." }
                p { a { href: "/locations/{id}/change-of-ownership", id: "ownership-link", "Record a change of ownership" } }
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
            Section::Locations,
            body,
        ),
    ))
}

/// The form to add a location.
pub async fn new_form(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    location_form(&state, &viewer, None, HashMap::new(), Vec::new()).await
}

/// Adds a location.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    check_key(&viewer, &value(&f, "form_key"))?;
    viewer.caller.require(&[Role::Commissioner])?;
    let mut errors = Vec::new();
    let input = location_input(&f, &mut errors);
    errors.extend(at_fields(
        places::check_location(&input, true),
        &LOCATION_FIELDS,
    ));
    let errors = dedup(errors);
    if !errors.is_empty() {
        return location_form(&state, &viewer, None, f, errors).await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| places::add_location(s, &caller, &input))
        .await
    {
        Ok(id) => Ok(see_other(&format!("/locations/{id}?done=location"))),
        Err(e) if e.is_refusal() => {
            let field = if matches!(e, ServiceError::Conflict(_)) {
                "cqc_location_id"
            } else {
                "provider_id"
            };
            location_form(
                &state,
                &viewer,
                None,
                f,
                vec![FieldError::new(field, capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

fn date_fields(f: &mut HashMap<String, String>, id: &str, d: Option<NaiveDate>) {
    if let Some(d) = d {
        use chrono::Datelike;
        f.insert(format!("{id}-day"), d.day().to_string());
        f.insert(format!("{id}-month"), d.month().to_string());
        f.insert(format!("{id}-year"), d.year().to_string());
    }
}

/// The form to edit a location.
pub async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    let id = path_id(&id, "location")?;
    let (loc, address) = state
        .blocking(move |s| s.db.read(|tx| crate::tiers::location(tx, id)))
        .await?
        .ok_or_else(|| ServiceError::not_found("location"))?;
    let mut f = HashMap::from([
        ("name".to_owned(), loc.name.clone()),
        ("original_name".to_owned(), loc.name.clone()),
        ("address".to_owned(), address),
        ("service_type".to_owned(), key_of(loc.service_type)),
    ]);
    date_fields(&mut f, "registered_from", Some(loc.registered_from));
    date_fields(&mut f, "registered_to", loc.registered_to);
    location_form(&state, &viewer, Some(id), f, Vec::new()).await
}

/// Saves a location's details.
pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let mut errors = Vec::new();
    let input = location_input(&f, &mut errors);
    errors.extend(at_fields(
        places::check_location(&input, false),
        &LOCATION_FIELDS,
    ));
    let errors = dedup(errors);
    if !errors.is_empty() {
        return location_form(&state, &viewer, Some(id), f, errors).await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| places::edit_location(s, &caller, id, &input))
        .await
    {
        Ok(()) => Ok(see_other(&format!("/locations/{id}?done=location-saved"))),
        Err(e) if e.is_refusal() => {
            location_form(
                &state,
                &viewer,
                Some(id),
                f,
                vec![FieldError::new("name", capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn ownership_form(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (providers, loc, running) = state
        .blocking(move |s| {
            let providers = crate::service::people::providers(s, &caller)?;
            let loc =
                s.db.read(|tx| crate::tiers::location(tx, id))?
                    .ok_or_else(|| ServiceError::not_found("location"))?
                    .0;
            let today = s.today();
            let running = places::placements(s, &caller, id)?
                .iter()
                .filter(|p| p.start <= today && p.last_day().is_none_or(|l| l >= today))
                .count();
            Ok((providers, loc, running))
        })
        .await?;
    let options: Vec<(String, String)> = providers
        .iter()
        .filter(|(p, _)| *p != loc.provider_id)
        .map(|(p, n)| (p.to_string(), n.clone()))
        .collect();
    let moving = f.contains_key("move_placements") || f.is_empty();
    let body = rsx! {
        div { class: "narrow",
            {error_summary(&errors)}
            span { class: "caption", "{loc.name} · {loc.cqc_location_id}" }
            h1 { "Record a change of ownership" }
            p { "The location's registration ends the day before the change. A new location starts under the new provider and CQC location ID, with no tier until its first visit is published. Its monitors carry over." }
            form { method: "post", action: "/locations/{id}/change-of-ownership", novalidate: true,
                {form_key(viewer)}
                {select("provider_id", "New provider", "Choose a provider", &options, &f, &errors)}
                {text_input("new_provider", "Or a new provider's name", "Only if the provider is not in the list above.", &f, &errors, "text", "organization")}
                {text_input("cqc_location_id", "New CQC location ID", "As on the CQC register, for example 1-101641431.", &f, &errors, "text", "off")}
                {date_input("from", "First day under the new owner", "For example, 1 4 2027", &f, &errors)}
                div { class: "form-group",
                    div { class: "checkbox",
                        input { r#type: "checkbox", id: "move_placements", name: "move_placements", value: "yes", checked: moving }
                        label { r#for: "move_placements", {format!("Move the placements running then ({running} today) to the new location")} }
                    }
                }
                button { class: "button warning", r#type: "submit", "Record change of ownership" }
                a { class: "link-cancel", href: "/locations/{id}/edit", "Cancel" }
            }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = if errors.is_empty() {
        "Change of ownership"
    } else {
        "Error: Change of ownership"
    };
    Ok(html(
        status,
        page(title, Some(viewer), Section::Locations, body),
    ))
}

/// The form to record a change of ownership.
pub async fn ownership_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    let id = path_id(&id, "location")?;
    ownership_form(&state, &viewer, id, HashMap::new(), Vec::new()).await
}

/// Records a change of ownership and goes to the new location.
pub async fn change_ownership(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let mut errors = Vec::new();
    let from = read_date(&f, "from", "the first day under the new owner", &mut errors);
    let change = OwnershipChange {
        provider_id: Uuid::parse_str(value(&f, "provider_id").trim()).ok(),
        new_provider: value(&f, "new_provider"),
        cqc_location_id: value(&f, "cqc_location_id"),
        from,
        move_placements: f.contains_key("move_placements"),
    };
    if let Some(why) = places::cqc_id_refusal(&change.cqc_location_id) {
        errors.push(FieldError::new("cqc_location_id", capital(why)));
    }
    if change.provider_id.is_none() && change.new_provider.trim().is_empty() {
        errors.push(FieldError::new(
            "provider_id",
            "Choose the new provider, or type the name of a new one",
        ));
    }
    let mut f = f;
    f.entry("move_placements_sent".into()).or_default();
    if !errors.is_empty() {
        return ownership_form(&state, &viewer, id, f, errors).await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| places::change_ownership(s, &caller, id, &change))
        .await
    {
        Ok(done) => Ok(see_other(&format!(
            "/locations/{}?done=ownership-{}",
            done.new_location, done.placements_moved
        ))),
        Err(e) if e.is_refusal() => {
            let field = if matches!(e, ServiceError::Conflict(_)) {
                "cqc_location_id"
            } else {
                "from-day"
            };
            ownership_form(
                &state,
                &viewer,
                id,
                f,
                vec![FieldError::new(field, capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

fn stays_text(p: &Placement) -> String {
    if p.hospital_stays.is_empty() {
        return "—".to_owned();
    }
    p.hospital_stays
        .iter()
        .map(|h| match h.to {
            Some(t) => format!("{} to {}", long_date(h.from), long_date(t)),
            None => format!("since {}", long_date(h.from)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn placement_state(p: &Placement, today: NaiveDate) -> String {
    if let Some(d) = p.died_on {
        return format!("Died {}", long_date(d));
    }
    if let Some(e) = p.end {
        if e < today {
            return format!("Ended {}", long_date(e));
        }
        return format!("Ends {}", long_date(e));
    }
    if p.start > today {
        return format!("Starts {}", long_date(p.start));
    }
    if p.hospital_stays
        .iter()
        .any(|h| h.from <= today && h.to.is_none_or(|t| t >= today))
    {
        return "In hospital".to_owned();
    }
    "Running".to_owned()
}

async fn placements_page(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
    done: &str,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (name, list, today) = state
        .blocking(move |s| {
            let list = places::placements(s, &caller, id)?;
            let name =
                s.db.read(|tx| crate::tiers::location(tx, id))?
                    .ok_or_else(|| ServiceError::not_found("location"))?
                    .0
                    .name;
            Ok((name, list, s.today()))
        })
        .await?;
    let funding: Vec<(String, String)> = FUNDING
        .iter()
        .map(|k| (key_of(*k), k.label().to_owned()))
        .collect();
    let running = list
        .iter()
        .filter(|p| p.start <= today && p.last_day().is_none_or(|l| l >= today))
        .count();
    let commissioner = viewer.caller.role == Role::Commissioner;
    let notice = match done {
        "added" => Some("Placement added. The location's premium now counts it."),
        "changed" => Some("Placement updated."),
        _ => None,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = rsx! {
        {error_summary(&errors)}
        if let Some(n) = notice {
            div { class: "notification success", role: "status", id: "notification", p { "{n}" } }
        }
        span { class: "caption", "{name}" }
        h1 { "Placements" }
        p { {format!("{running} running today, {} in all. Residents are shown by their council reference only.", list.len())} }
        if list.is_empty() { p { "No placements recorded." } } else {
            table { class: "table", id: "placements",
                caption { class: "visually-hidden", "Placements" }
                thead { tr {
                    th { scope: "col", "Resident reference" }
                    th { scope: "col", "Funding" }
                    th { scope: "col", "Started" }
                    th { scope: "col", "Now" }
                    th { scope: "col", class: "numeric", "Weekly fee" }
                    th { scope: "col", "Hospital stays" }
                } }
                tbody {
                    for p in list.iter() {
                        tr { key: "{p.id}",
                            td { if commissioner { a { href: "/placements/{p.id}", "{p.resident_ref}" } } else { "{p.resident_ref}" } }
                            td { {p.funding.label()} }
                            td { {long_date(p.start)} }
                            td { {placement_state(p, today)} }
                            td { class: "numeric", {money(p.base_weekly_rate_pence)} }
                            td { {stays_text(p)} }
                        }
                    }
                }
            }
        }
        if commissioner {
            form { method: "post", action: "/locations/{id}/placements", novalidate: true, class: "panel",
                h2 { "Add a placement" }
                {form_key(viewer)}
                {text_input("resident_ref", "Resident reference", "The council's reference for the resident (for example their case number), never their name.", &f, &errors, "text", "off")}
                {select("funding", "Funding", "Choose how it is funded", &funding, &f, &errors)}
                {date_input("start", "Start date", "For example, 1 12 2026", &f, &errors)}
                {text_input("weekly_fee", "Weekly fee, in pounds", "The base weekly fee the council pays, for example 850.00", &f, &errors, "text", "off")}
                button { class: "button", r#type: "submit", "Add placement" }
            }
        }
        p { a { href: "/locations/{id}", "Back to {name}" } }
    };
    let title = if errors.is_empty() {
        format!("Placements: {name}")
    } else {
        format!("Error: Placements: {name}")
    };
    Ok(html(
        status,
        page(&title, Some(viewer), Section::Locations, body),
    ))
}

/// A location's placements.
pub async fn placements(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    placements_page(&state, &viewer, id, HashMap::new(), Vec::new(), &q.done).await
}

const PLACEMENT_FIELDS: [(&str, &str); 4] = [
    ("resident_ref", "resident_ref"),
    ("end", "end-day"),
    ("died_on", "died-day"),
    ("base_weekly_rate_pence", "weekly_fee"),
];

/// Adds a placement.
pub async fn add_placement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    viewer.caller.require(&[Role::Commissioner])?;
    let mut errors = Vec::new();
    let funding: Option<FundingType> = from_key(&value(&f, "funding"));
    if funding.is_none() {
        errors.push(FieldError::new(
            "funding",
            "Choose how the placement is funded",
        ));
    }
    let start = read_date(&f, "start", "the start date", &mut errors);
    let fee = match Pence::parse_pounds(&value(&f, "weekly_fee")) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(FieldError::new("weekly_fee", capital(&e.to_string())));
            None
        }
    };
    let p = Placement {
        id: Uuid::new_v4(),
        location_id: id,
        resident_ref: value(&f, "resident_ref").trim().to_owned(),
        funding: funding.unwrap_or(FundingType::CouncilPermanent),
        start: start.unwrap_or_else(|| state.today()),
        end: None,
        died_on: None,
        base_weekly_rate_pence: fee.map_or(0, |p| p.0),
        hospital_stays: Vec::new(),
    };
    errors.extend(at_fields(records::check_placement(&p), &PLACEMENT_FIELDS));
    let errors = dedup(errors);
    if !errors.is_empty() {
        return placements_page(&state, &viewer, id, f, errors, "").await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| records::record_placement(s, &caller, p))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/locations/{id}/placements?done=added"))),
        Err(e) if e.is_refusal() => {
            placements_page(
                &state,
                &viewer,
                id,
                f,
                vec![FieldError::new("resident_ref", capital(&e.message()))],
                "",
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn placement_page(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (p, name, today) = state
        .blocking(move |s| {
            let p = places::placement(s, &caller, id)?;
            let name =
                s.db.read(|tx| crate::tiers::location(tx, p.location_id))?
                    .map(|(l, _)| l.name)
                    .unwrap_or_default();
            Ok((p, name, s.today()))
        })
        .await?;
    let open_stay = p.hospital_stays.iter().find(|h| h.to.is_none()).cloned();
    let ended = p.last_day().is_some();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = rsx! {
        {error_summary(&errors)}
        span { class: "caption", "{name}" }
        h1 { "Placement {p.resident_ref}" }
        dl { class: "summary-list",
            div { dt { "Funding" } dd { {p.funding.label()} } }
            div { dt { "Started" } dd { {long_date(p.start)} } }
            div { dt { "Now" } dd { id: "placement-state", {placement_state(&p, today)} } }
            div { dt { "Weekly fee" } dd { {money(p.base_weekly_rate_pence)} } }
            div { dt { "Hospital stays" } dd { {stays_text(&p)} } }
        }
        if let Some(stay) = &open_stay {
            form { method: "post", action: "/placements/{p.id}/return", novalidate: true, class: "panel",
                h2 { "Record the return from hospital" }
                p { {format!("In hospital since {}.", long_date(stay.from))} }
                {form_key(viewer)}
                {date_input("returned", "Last day in hospital", "For example, 14 12 2026", &f, &errors)}
                button { class: "button", r#type: "submit", "Record return" }
            }
        } else if !ended {
            form { method: "post", action: "/placements/{p.id}/hospital", novalidate: true, class: "panel",
                h2 { "Record a hospital stay" }
                p { "The scheme pays a premium for a limited number of days in hospital; the payments apply that rule." }
                {form_key(viewer)}
                {date_input("admitted", "First day in hospital", "For example, 3 12 2026", &f, &errors)}
                {date_input("returned", "Last day in hospital (if back)", "Leave blank while the resident is still in hospital.", &f, &errors)}
                button { class: "button", r#type: "submit", "Record hospital stay" }
            }
        }
        if !ended {
            form { method: "post", action: "/placements/{p.id}/end", novalidate: true, class: "panel",
                h2 { "End the placement" }
                {form_key(viewer)}
                {date_input("end", "Last day of the placement", "It is paid up to and including this day.", &f, &errors)}
                button { class: "button secondary", r#type: "submit", "End placement" }
            }
            form { method: "post", action: "/placements/{p.id}/death", novalidate: true, class: "panel",
                h2 { "Record a death" }
                p { "Nothing is paid after the date of death." }
                {form_key(viewer)}
                {date_input("died", "Date of death", "For example, 9 12 2026", &f, &errors)}
                button { class: "button secondary", r#type: "submit", "Record death" }
            }
        }
        p { a { href: "/locations/{p.location_id}/placements", "Back to the placements at {name}" } }
    };
    let title = if errors.is_empty() {
        "Placement".to_owned()
    } else {
        "Error: Placement".to_owned()
    };
    Ok(html(
        status,
        page(&title, Some(viewer), Section::Locations, body),
    ))
}

/// One placement, with what can happen to it next.
pub async fn placement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "placement")?;
    placement_page(&state, &viewer, id, HashMap::new(), Vec::new()).await
}

/// Changes a placement: ends it, records a stay or a return, or a death.
pub async fn change_placement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, what)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "placement")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let caller = viewer.caller.clone();
    let mut p = state
        .blocking(move |s| places::placement(s, &caller, id))
        .await?;
    let mut errors = Vec::new();
    match what.as_str() {
        "end" => p.end = read_date(&f, "end", "the last day of the placement", &mut errors),
        "death" => p.died_on = read_date(&f, "died", "the date of death", &mut errors),
        "hospital" => {
            let from = read_date(&f, "admitted", "the first day in hospital", &mut errors);
            let to = read_optional_date(&f, "returned", "the last day in hospital", &mut errors);
            if let Some(from) = from {
                p.hospital_stays.push(HospitalStay { from, to });
            }
        }
        "return" => {
            let to = read_date(&f, "returned", "the last day in hospital", &mut errors);
            match p.hospital_stays.iter_mut().find(|h| h.to.is_none()) {
                Some(stay) => stay.to = to,
                None => return Err(PageError(ServiceError::not_found("hospital stay"))),
            }
        }
        _ => return Err(PageError(ServiceError::not_found("page"))),
    }
    let field = match what.as_str() {
        "end" => "end-day",
        "death" => "died-day",
        "hospital" => "admitted-day",
        _ => "returned-day",
    };
    if errors.is_empty() {
        errors = at_fields(records::check_placement(&p), &PLACEMENT_FIELDS)
            .into_iter()
            .map(|e| FieldError::new(field, e.message))
            .collect();
    }
    if !errors.is_empty() {
        return placement_page(&state, &viewer, id, f, dedup(errors)).await;
    }
    let location = p.location_id;
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| records::record_placement(s, &caller, p))
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/locations/{location}/placements?done=changed"
        ))),
        Err(e) if e.is_refusal() => {
            placement_page(
                &state,
                &viewer,
                id,
                f,
                vec![FieldError::new(field, capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}
