//! A commissioner's records for a location: CQC ratings (from their publication date), and
//! safeguarding and contract gates, opened and closed. Each change re-determines the tier, and
//! the location's page then says how the tier changed.

use std::collections::{BTreeMap, HashMap};

use accredit_shared::determination::QualificationEffect;
use accredit_shared::labels::long_date;
use accredit_shared::records::{
    CqcRatingValue, Gate, GateKind, GateOutcome, KeyQuestion, Qualification, QualificationKind,
};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use dioxus::prelude::*;
use rusqlite::Connection;
use uuid::Uuid;

use super::layout::{FieldError, Section, error_summary, field_error, form_key, page, tier_text};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::service::records::{self, Refusal};
use crate::state::AppState;
use crate::tiers;
use accredit_shared::api::{CloseGateRequest, CqcRequest, GateRequest, QualificationRequest};

const RATINGS: [CqcRatingValue; 4] = [
    CqcRatingValue::Outstanding,
    CqcRatingValue::Good,
    CqcRatingValue::RequiresImprovement,
    CqcRatingValue::Inadequate,
];
const QUESTIONS: [KeyQuestion; 5] = [
    KeyQuestion::Safe,
    KeyQuestion::Effective,
    KeyQuestion::Caring,
    KeyQuestion::Responsive,
    KeyQuestion::WellLed,
];
const QUALIFICATIONS: [QualificationKind; 5] = [
    QualificationKind::IipStandard,
    QualificationKind::IipSilver,
    QualificationKind::IipGold,
    QualificationKind::IipPlatinum,
    QualificationKind::Iso9001,
];
const GATES: [GateKind; 4] = [
    GateKind::S42Enquiry,
    GateKind::LargeScaleEnquiry,
    GateKind::PlacementEmbargo,
    GateKind::ContractDefault,
];

pub(crate) fn key_of<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) fn from_key<T: serde::de::DeserializeOwned>(k: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(k.to_owned())).ok()
}

/// Reads a GOV.UK date input (`{id}-day`, `{id}-month`, `{id}-year`).
pub fn read_date(
    f: &HashMap<String, String>,
    id: &str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let part = |p: &str| {
        f.get(&format!("{id}-{p}"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (d, m, y) = (part("day"), part("month"), part("year"));
    if d.is_empty() && m.is_empty() && y.is_empty() {
        errors.push(FieldError::new(
            &format!("{id}-day"),
            format!("Enter {what}"),
        ));
        return None;
    }
    let missing: Vec<&str> = [("day", &d), ("month", &m), ("year", &y)]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        let first = missing[0];
        errors.push(FieldError::new(
            &format!("{id}-{first}"),
            format!("{} must include a {}", capital(what), missing.join(" and ")),
        ));
        return None;
    }
    let parsed = (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>());
    match parsed {
        (Ok(d), Ok(m), Ok(y)) if (1900..=2200).contains(&y) => {
            match NaiveDate::from_ymd_opt(y, m, d) {
                Some(date) => Some(date),
                None => {
                    errors.push(FieldError::new(
                        &format!("{id}-day"),
                        format!("{} must be a real date", capital(what)),
                    ));
                    None
                }
            }
        }
        _ => {
            errors.push(FieldError::new(
                &format!("{id}-day"),
                format!("{} must be a real date", capital(what)),
            ));
            None
        }
    }
}

/// A GOV.UK date input: a fieldset with day, month and year.
pub fn date_input(
    id: &str,
    legend: &str,
    hint: &str,
    f: &HashMap<String, String>,
    errors: &[FieldError],
) -> Element {
    let has_error = errors
        .iter()
        .any(|e| e.field.starts_with(&format!("{id}-")));
    let val = |p: &str| f.get(&format!("{id}-{p}")).cloned().unwrap_or_default();
    let error_field = errors
        .iter()
        .find(|e| e.field.starts_with(&format!("{id}-")))
        .map(|e| e.field.clone());
    rsx! {
        div { class: if has_error { "form-group form-group-error" } else { "form-group" },
            fieldset { class: "fieldset", role: "group", aria_describedby: "{id}-hint",
                legend { class: "legend", "{legend}" }
                div { class: "hint", id: "{id}-hint", "{hint}" }
                if let Some(field) = error_field { {field_error(errors, &field)} }
                div { class: "date-input",
                    for (part, label, width) in [("day", "Day", "w2"), ("month", "Month", "w2"), ("year", "Year", "w4")] {
                        div { key: "{part}", class: "date-item",
                            label { class: "label", r#for: "{id}-{part}", "{label}" }
                            input { class: "input {width}", id: "{id}-{part}", name: "{id}-{part}", r#type: "text", inputmode: "numeric", value: val(part) }
                        }
                    }
                }
            }
        }
    }
}

struct Records {
    name: String,
    tier: Option<String>,
    ratings: Vec<accredit_shared::records::CqcRating>,
    gates: Vec<Gate>,
    provider: String,
    provider_locations: Vec<(Uuid, String)>,
    qualifications: Vec<(Qualification, Option<QualificationEffect>)>,
}

fn load(s: &AppState, tx: &Connection, caller: &Caller, id: Uuid) -> Result<Records, ServiceError> {
    caller.require(&[Role::Commissioner])?;
    let records = tiers::records(tx, id)?.ok_or_else(|| ServiceError::not_found("location"))?;
    let det = tiers::determine(s, tx, id, s.today())?;
    let mut ratings = records.cqc_ratings.clone();
    ratings.sort_by_key(|r| std::cmp::Reverse(r.published_on));
    let mut gates = records.gates.clone();
    gates.sort_by_key(|g| std::cmp::Reverse(g.opened_on));
    let effects = det
        .as_ref()
        .map(|d| d.qualifications.clone())
        .unwrap_or_default();
    let qualifications = records
        .qualifications
        .iter()
        .map(|q| {
            (
                q.clone(),
                effects.iter().find(|e| e.qualification_id == q.id).cloned(),
            )
        })
        .collect();
    let mut provider_locations = Vec::new();
    for l in tiers::provider_locations(tx, records.location.provider_id)? {
        if let Some((loc, _)) = tiers::location(tx, l)? {
            provider_locations.push((l, loc.name));
        }
    }
    provider_locations.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(Records {
        name: records.location.name.clone(),
        tier: det.and_then(|d| d.tier.map(|t| t.name)),
        provider: crate::service::locations::provider_names(tx)?
            .remove(&records.location.provider_id)
            .ok_or_else(|| ServiceError::internal("a location's provider is missing"))?,
        provider_locations,
        qualifications,
        ratings,
        gates,
    })
}

fn render(
    viewer: &Viewer,
    id: Uuid,
    r: &Records,
    f: &HashMap<String, String>,
    errors: &[FieldError],
) -> String {
    let sel = |name: &str| f.get(name).cloned().unwrap_or_default();
    let body = rsx! {
        {error_summary(errors)}
        span { class: "caption", "{r.name}" }
        h1 { "Records" }
        p { {format!("Tier today: {}. Every change below re-determines the tier; the location's page then shows the change.", tier_text(r.tier.as_deref()))} }
        p { a { href: "/locations/{id}", "Back to {r.name}" } }
        h2 { "CQC ratings" }
        if r.ratings.is_empty() { p { "None recorded." } } else {
            table { class: "table", id: "cqc-ratings",
                caption { class: "visually-hidden", "CQC ratings" }
                thead { tr { th { scope: "col", "Published" } th { scope: "col", "Inspected" } th { scope: "col", "Overall" } th { scope: "col", "Key questions" } } }
                tbody {
                    for c in r.ratings.iter() {
                        tr { key: "{c.id}",
                            td { {long_date(c.published_on)} }
                            td { {long_date(c.inspected_on)} }
                            td { {c.overall.label()} }
                            td { {c.key_questions.iter().map(|(k, v)| format!("{} {}", k.label(), v.label().to_lowercase())).collect::<Vec<_>>().join(", ")} }
                        }
                    }
                }
            }
        }
        form { method: "post", action: "/locations/{id}/cqc-ratings", novalidate: true, class: "panel",
            h3 { "Record a CQC rating" }
            {form_key(viewer)}
            {date_input("inspected", "Date of the inspection", "For example, 27 3 2026", f, errors)}
            {date_input("published", "Date CQC published the rating", "The rating counts from this date.", f, errors)}
            div { class: if errors.iter().any(|e| e.field == "overall") { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "overall", "Overall rating" }
                {field_error(errors, "overall")}
                select { class: "select", id: "overall", name: "overall",
                    option { value: "", "Choose a rating" }
                    for v in RATINGS { option { key: "{key_of(v)}", value: key_of(v), selected: sel("overall") == key_of(v), {v.label()} } }
                }
            }
            for q in QUESTIONS {
                div { key: "{key_of(q)}", class: "form-group",
                    label { class: "label", r#for: "kq-{key_of(q)}", {format!("{} (optional)", q.label())} }
                    select { class: "select", id: "kq-{key_of(q)}", name: "kq-{key_of(q)}",
                        option { value: "", "Not rated" }
                        for v in RATINGS { option { key: "{key_of(v)}", value: key_of(v), selected: sel(&format!("kq-{}", key_of(q))) == key_of(v), {v.label()} } }
                    }
                }
            }
            button { class: "button", r#type: "submit", "Record rating" }
        }
        h2 { "Certificates of {r.provider}" }
        if r.qualifications.is_empty() { p { "None recorded." } } else {
            table { class: "table", id: "qualifications",
                caption { class: "visually-hidden", "Certificates" }
                thead { tr { th { scope: "col", "Certificate" } th { scope: "col", "Valid" } th { scope: "col", "Verified" } th { scope: "col", {format!("Counts at {}", r.name)} } } }
                tbody {
                    for (q, e) in r.qualifications.iter() {
                        tr { key: "{q.id}",
                            td { strong { {q.kind.label()} } br {} span { class: "hint", "{q.certificate_ref}" } }
                            td { {format!("{} to {}", long_date(q.issued_on), long_date(q.expires_on))} }
                            td { {match (&q.verified_on, &q.verified_by) { (Some(d), Some(b)) => format!("{} by {b}", long_date(*d)), (Some(d), None) => long_date(*d), _ => "Not verified".to_owned() }} }
                            td { {e.as_ref().map(|e| if e.valid { format!("Yes: {}", e.reason) } else { format!("No: {}", e.reason) }).unwrap_or_else(|| "No: its scope does not cover this location".into())} }
                        }
                    }
                }
            }
        }
        form { method: "post", action: "/locations/{id}/qualifications", novalidate: true, class: "panel",
            h3 { "Record a certificate" }
            {form_key(viewer)}
            div { class: if errors.iter().any(|e| e.field == "q-kind") { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "q-kind", "Qualification" }
                {field_error(errors, "q-kind")}
                select { class: "select", id: "q-kind", name: "q-kind",
                    option { value: "", "Choose a qualification" }
                    for k in QUALIFICATIONS { option { key: "{key_of(k)}", value: key_of(k), selected: sel("q-kind") == key_of(k), {k.label()} } }
                }
            }
            div { class: if errors.iter().any(|e| e.field == "q-ref") { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "q-ref", "Certificate reference" }
                {field_error(errors, "q-ref")}
                input { class: "input", id: "q-ref", name: "q-ref", r#type: "text", value: sel("q-ref") }
            }
            {date_input("q-issued", "Date issued", "For example, 1 3 2026", f, errors)}
            {date_input("q-expires", "Expiry date", "For example, 28 2 2029", f, errors)}
            {date_input("q-surveillance", "Last surveillance audit or review (optional)", "ISO 9001 needs one within 15 months to count.", f, errors)}
            {date_input("q-verified", "Date the council verified it (optional)", "Unverified certificates do not count.", f, errors)}
            div { class: "form-group",
                label { class: "label", r#for: "q-verified-by", "Verified by (optional)" }
                input { class: "input", id: "q-verified-by", name: "q-verified-by", r#type: "text", value: sel("q-verified-by") }
            }
            fieldset { class: "fieldset form-group", id: "covers",
                legend { class: "legend", "Locations its scope covers" }
                {field_error(errors, "covers")}
                for (lid, lname) in r.provider_locations.iter() {
                    div { key: "{lid}", class: "checkbox",
                        input { r#type: "checkbox", id: "covers-{lid}", name: "covers", value: "{lid}", checked: f.get("covers").is_none() || f.get(&format!("covers-{lid}")).is_some() }
                        label { r#for: "covers-{lid}", "{lname}" }
                    }
                }
            }
            button { class: "button", r#type: "submit", "Record certificate" }
        }
        h2 { "Safeguarding and contract gates" }
        if r.gates.is_empty() { p { "None recorded." } }
        for g in r.gates.iter() {
            div { key: "{g.id}", class: "gate",
                p {
                    strong { {g.kind.label()} }
                    {format!(": opened {}", long_date(g.opened_on))}
                    {g.closed_on.map(|d| format!(", closed {}", long_date(d))).unwrap_or_else(|| ", open".into())}
                }
                if g.closed_on.is_none() {
                    form { method: "post", action: "/gates/{g.id}/close", novalidate: true, class: "panel",
                        {form_key(viewer)}
                        input { r#type: "hidden", name: "location", value: "{id}" }
                        {date_input(&format!("closed-{}", g.id), "Date it closed", "For example, 27 3 2026", f, errors)}
                        div { class: "form-group",
                            label { class: "label", r#for: "outcome-{g.id}", "Outcome" }
                            select { class: "select", id: "outcome-{g.id}", name: "outcome",
                                option { value: "closed", "Closed (no finding)" }
                                option { value: "not_substantiated", "Not substantiated" }
                                option { value: "substantiated", "Substantiated" }
                            }
                        }
                        button { class: "button secondary", r#type: "submit", "Close this gate" }
                    }
                }
            }
        }
        form { method: "post", action: "/locations/{id}/gates", novalidate: true, class: "panel",
            h3 { "Open a gate" }
            {form_key(viewer)}
            div { class: if errors.iter().any(|e| e.field == "kind") { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "kind", "Kind" }
                {field_error(errors, "kind")}
                select { class: "select", id: "kind", name: "kind",
                    option { value: "", "Choose a kind" }
                    for k in GATES { option { key: "{key_of(k)}", value: key_of(k), selected: sel("kind") == key_of(k), {k.label()} } }
                }
            }
            {date_input("opened", "Date it opened", "For example, 27 3 2026", f, errors)}
            button { class: "button", r#type: "submit", "Open gate" }
        }
    };
    let title = if errors.is_empty() {
        format!("Records: {}", r.name)
    } else {
        format!("Error: Records: {}", r.name)
    };
    page(&title, Some(viewer), Section::Locations, body)
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let v = viewer.clone();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let text = state
        .blocking(move |s| {
            s.db.read(|tx| Ok(render(&v, id, &load(s, tx, &v.caller, id)?, &f, &errors)))
        })
        .await?;
    Ok(html(status, text))
}

/// The records page.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    show(&state, &viewer, id, HashMap::new(), Vec::new()).await
}

/// Runs a change (a service call with its own transaction) and sends the browser to the
/// location's page, which reads how the tier moved from the stored determinations. A change
/// the rules refuse shows the form again with the reason at `field`.
async fn change_then_show(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    done: &str,
    form: (HashMap<String, String>, &str),
    change: impl FnOnce(&AppState, &Caller) -> Result<(), ServiceError> + Send + 'static,
) -> PageResult {
    let caller = viewer.caller.clone();
    let result = state.blocking(move |s| change(s, &caller)).await;
    match result {
        Ok(()) => Ok(see_other(&format!("/locations/{id}?done={done}"))),
        Err(e) if matches!(e, ServiceError::Invalid(_) | ServiceError::Conflict(_)) => {
            let (f, field) = form;
            let errors = vec![FieldError::new(field, capital(&e.message()))];
            show(state, viewer, id, f, errors).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// The service's refusals, each at the form field that holds the request field.
fn at_fields(refusals: Vec<Refusal>, fields: &[(&str, &str)], errors: &mut Vec<FieldError>) {
    for r in refusals {
        let field = fields
            .iter()
            .find(|(request, _)| *request == r.field)
            .map_or(r.field, |(_, form)| *form);
        errors.push(FieldError::new(field, capital(&r.message)));
    }
}

/// Records a CQC rating.
pub async fn add_cqc(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    check_key(&viewer, f.get("form_key").map_or("", String::as_str))?;
    let mut errors = Vec::new();
    let inspected = read_date(&f, "inspected", "the date of the inspection", &mut errors);
    let published = read_date(
        &f,
        "published",
        "the date CQC published the rating",
        &mut errors,
    );
    let overall: Option<CqcRatingValue> = f.get("overall").and_then(|v| from_key(v));
    if overall.is_none() {
        errors.push(FieldError::new("overall", "Choose the overall rating"));
    }
    let (Some(inspected_on), Some(published_on), Some(overall), true) =
        (inspected, published, overall, errors.is_empty())
    else {
        return show(&state, &viewer, id, f, errors).await;
    };
    let key_questions: BTreeMap<KeyQuestion, CqcRatingValue> = QUESTIONS
        .iter()
        .filter_map(|q| {
            f.get(&format!("kq-{}", key_of(*q)))
                .and_then(|v| from_key(v))
                .map(|v| (*q, v))
        })
        .collect();
    let req = CqcRequest {
        inspected_on,
        published_on,
        overall,
        key_questions,
    };
    // The service's own rules, so the portal and the API refuse the same ratings.
    at_fields(
        records::check_cqc(&req, state.today()),
        &[("published_on", "published-day")],
        &mut errors,
    );
    if !errors.is_empty() {
        return show(&state, &viewer, id, f, errors).await;
    }
    change_then_show(
        &state,
        &viewer,
        id,
        "cqc",
        (f, "published-day"),
        move |s, c| records::record_cqc(s, c, id, req).map(|_| ()),
    )
    .await
}

/// Opens a gate.
pub async fn open_gate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    check_key(&viewer, f.get("form_key").map_or("", String::as_str))?;
    let mut errors = Vec::new();
    let kind: Option<GateKind> = f.get("kind").and_then(|v| from_key(v));
    if kind.is_none() {
        errors.push(FieldError::new("kind", "Choose the kind of gate"));
    }
    let opened = read_date(&f, "opened", "the date it opened", &mut errors);
    let (Some(kind), Some(opened_on), true) = (kind, opened, errors.is_empty()) else {
        return show(&state, &viewer, id, f, errors).await;
    };
    let req = GateRequest { kind, opened_on };
    change_then_show(&state, &viewer, id, "gate", (f, "kind"), move |s, c| {
        records::record_gate_open(s, c, id, req).map(|_| ())
    })
    .await
}

/// Closes a gate.
pub async fn close_gate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(gate): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let gate = path_id(&gate, "gate")?;
    check_key(&viewer, f.get("form_key").map_or("", String::as_str))?;
    let id = path_id(f.get("location").map_or("", String::as_str), "location")?;
    let mut errors = Vec::new();
    let closed = read_date(
        &f,
        &format!("closed-{gate}"),
        "the date it closed",
        &mut errors,
    );
    let outcome: Option<GateOutcome> = f.get("outcome").and_then(|v| from_key(v));
    let Some(closed_on) = closed else {
        return show(&state, &viewer, id, f, errors).await;
    };
    let req = CloseGateRequest { closed_on, outcome };
    let field = format!("closed-{gate}-day");
    change_then_show(
        &state,
        &viewer,
        id,
        "gate-closed",
        (f, &field),
        move |s, c| {
            // A gate is closed only from its own location's page.
            if records::gate_location(s, gate)? != Some(id) {
                return Err(ServiceError::not_found("gate"));
            }
            records::record_gate_close(s, c, gate, req).map(|_| ())
        },
    )
    .await
}

/// Records a certificate of the location's provider.
pub async fn add_qualification(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    let mut f: HashMap<String, String> = HashMap::new();
    let mut covers = Vec::new();
    for (k, v) in pairs {
        if k == "covers" {
            if let Ok(l) = Uuid::parse_str(&v) {
                covers.push(l);
                f.insert(format!("covers-{l}"), v.clone());
            }
            f.insert("covers".into(), String::new());
        } else {
            f.insert(k, v);
        }
    }
    // An unticked box sends nothing: remember that the form was sent, so none show as ticked.
    f.entry("covers".into()).or_default();
    check_key(&viewer, f.get("form_key").map_or("", String::as_str))?;
    let mut errors = Vec::new();
    let kind: Option<QualificationKind> = f.get("q-kind").and_then(|v| from_key(v));
    if kind.is_none() {
        errors.push(FieldError::new("q-kind", "Choose the qualification"));
    }
    let reference = f
        .get("q-ref")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let issued = read_date(&f, "q-issued", "the date it was issued", &mut errors);
    let expires = read_date(&f, "q-expires", "the expiry date", &mut errors);
    let surveillance = read_optional_date(
        &f,
        "q-surveillance",
        "the date of the last surveillance audit",
        &mut errors,
    );
    let verified = read_optional_date(&f, "q-verified", "the date it was verified", &mut errors);
    let verified_by = f
        .get("q-verified-by")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let provider = state
        .blocking(move |s| s.db.read(|tx| tiers::location(tx, id)))
        .await?
        .ok_or_else(|| ServiceError::not_found("location"))?
        .0
        .provider_id;
    // Until the dates are read, the service's rules are checked with stand-ins that pass them.
    let (issued_on, expires_on) = match (issued, expires) {
        (Some(i), Some(e)) => (i, e),
        _ => (state.today(), state.today()),
    };
    let req = QualificationRequest {
        provider_id: provider,
        kind: kind.unwrap_or(QualificationKind::Iso9001),
        certificate_ref: reference,
        issued_on,
        expires_on,
        last_surveillance_on: surveillance,
        verified_on: verified,
        verified_by,
        covered_locations: covers,
    };
    at_fields(
        records::check_qualification(&req),
        &[
            ("certificate_ref", "q-ref"),
            ("expires_on", "q-expires-day"),
            ("covered_locations", "covers"),
            ("verified_by", "q-verified-by"),
        ],
        &mut errors,
    );
    if kind.is_none() || issued.is_none() || expires.is_none() || !errors.is_empty() {
        return show(&state, &viewer, id, f, errors).await;
    }
    change_then_show(
        &state,
        &viewer,
        id,
        "qualification",
        (f, "q-ref"),
        move |s, c| records::record_qualification(s, c, req).map(|_| ()),
    )
    .await
}

/// Reads an optional GOV.UK date input: nothing typed is `None`, part of a date is an error.
pub(crate) fn read_optional_date(
    f: &HashMap<String, String>,
    id: &str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let blank = ["day", "month", "year"].iter().all(|p| {
        f.get(&format!("{id}-{p}"))
            .is_none_or(|v| v.trim().is_empty())
    });
    if blank {
        None
    } else {
        read_date(f, id, what, errors)
    }
}
