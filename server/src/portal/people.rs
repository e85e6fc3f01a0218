//! People, for commissioners: the list of accounts, adding one (with a one-time password shown
//! once), editing, resetting a password, disabling, every signed-in device with "sign out"
//! and "sign out everywhere", and a monitor's caseload. Each action is one service call in
//! `service::people`, the same the rules are enforced by whoever calls.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use dioxus::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::fields::{select, text_input, value};
use super::layout::{FieldError, Section, error_summary, form_key, page, when};
use super::session::{Viewer, see_other, url_encode};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::people::{self, Person, PersonInput};
use crate::service::records::Refusal;
use crate::state::AppState;

/// How a role reads on the page.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Monitor => "Quality monitor",
        Role::Lead => "Lead officer",
        Role::Provider => "Provider",
        Role::Commissioner => "Commissioner",
    }
}

const ROLES: [Role; 4] = [
    Role::Monitor,
    Role::Lead,
    Role::Commissioner,
    Role::Provider,
];

/// The `done` query a page is sent back with after an action, to say what happened.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Done {
    /// What was just done.
    pub done: String,
}

fn status_text(p: &Person) -> &'static str {
    if p.disabled {
        "Disabled"
    } else if p.must_change_password {
        "Waiting for first sign-in"
    } else {
        "Active"
    }
}

/// The list of people.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let everyone = state.blocking(move |s| people::people(s, &caller)).await?;
    let notice = match q.done.as_str() {
        "disabled" => Some("The account was disabled and all its sessions ended."),
        _ => None,
    };
    let body = rsx! {
        if let Some(n) = notice {
            div { class: "notification success", role: "status", p { "{n}" } }
        }
        h1 { "People" }
        p { "Everyone who signs in to Accredit: monitors, lead officers, commissioners and provider staff. Accounts are disabled, never deleted, so the audit log can always say who did what." }
        a { class: "button", href: "/people/new", id: "add-person", "Add a person" }
        a { class: "button secondary", href: "/notices", id: "notices-link", "Email notices" }
        table { class: "table", id: "people",
            caption { class: "visually-hidden", "People" }
            thead { tr {
                th { scope: "col", "Name" }
                th { scope: "col", "Role" }
                th { scope: "col", "Status" }
                th { scope: "col", "Last signed in" }
            } }
            tbody {
                for p in everyone.iter() {
                    tr { key: "{p.id}",
                        td { a { href: "/people/{p.id}", "{p.display_name}" } br {} span { class: "hint", "{p.username}" } }
                        td {
                            {role_label(p.role)}
                            if let Some((_, name)) = &p.provider { br {} span { class: "hint", "{name}" } }
                            if p.role == Role::Monitor { br {} span { class: "hint", {accredit_shared::labels::count(p.caseload, "location", "locations")} } }
                        }
                        td { {status_text(p)} }
                        td { {when(p.last_seen.as_deref())} }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page("People", Some(&viewer), Section::People, body),
    ))
}

fn role_options() -> Vec<(String, String)> {
    ROLES
        .iter()
        .map(|r| (r.as_str().to_owned(), role_label(*r).to_owned()))
        .collect()
}

fn provider_options(providers: &[(Uuid, String)]) -> Vec<(String, String)> {
    providers
        .iter()
        .map(|(id, name)| (id.to_string(), name.clone()))
        .collect()
}

/// The fields of the person form, as the service's refusals name them.
const FIELDS: [(&str, &str); 5] = [
    ("username", "username"),
    ("display_name", "display_name"),
    ("role", "role"),
    ("provider_id", "provider_id"),
    ("email", "email"),
];

fn at_fields(refusals: Vec<Refusal>) -> Vec<FieldError> {
    refusals
        .into_iter()
        .map(|r| {
            let field = FIELDS
                .iter()
                .find(|(k, _)| *k == r.field)
                .map_or(r.field, |(_, f)| *f);
            FieldError::new(field, capital(&r.message))
        })
        .collect()
}

fn person_fields(
    adding: bool,
    providers: &[(Uuid, String)],
    f: &HashMap<String, String>,
    errors: &[FieldError],
) -> Element {
    rsx! {
        if adding {
            {text_input("username", "Username", "What they type to sign in: letters, digits, full stops, hyphens or @. It cannot be changed later.", f, errors, "text", "off")}
        }
        {text_input("display_name", "Full name", "As colleagues and providers will see it.", f, errors, "text", "off")}
        {text_input("email", "Email address", "Notices are sent here.", f, errors, "email", "off")}
        {select("role", "Role", "Choose a role", &role_options(), f, errors)}
        {select("provider_id", "Provider (provider staff only)", "No provider", &provider_options(providers), f, errors)}
    }
}

fn input_of(f: &HashMap<String, String>) -> PersonInput {
    PersonInput {
        username: value(f, "username"),
        display_name: value(f, "display_name"),
        role: Role::parse(value(f, "role").as_str()),
        provider_id: Uuid::parse_str(value(f, "provider_id").trim()).ok(),
        email: value(f, "email"),
    }
}

fn form_errors(f: &HashMap<String, String>, input: &PersonInput, adding: bool) -> Vec<FieldError> {
    let mut errors = at_fields(people::check_person(input, adding));
    if !value(f, "provider_id").trim().is_empty() && input.provider_id.is_none() {
        errors.push(FieldError::new(
            "provider_id",
            "Choose a provider from the list",
        ));
    }
    errors
}

async fn new_page(
    state: &AppState,
    viewer: &Viewer,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let providers = state
        .blocking(move |s| people::providers(s, &caller))
        .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = rsx! {
        div { class: "narrow",
            {error_summary(&errors)}
            h1 { "Add a person" }
            p { "They get a one-time password, shown once on the next page, which they must replace with their own when they first sign in." }
            form { method: "post", action: "/people", novalidate: true,
                {form_key(viewer)}
                {person_fields(true, &providers, &f, &errors)}
                button { class: "button", r#type: "submit", "Add person" }
                a { class: "link-cancel", href: "/people", "Cancel" }
            }
        }
    };
    let title = if errors.is_empty() {
        "Add a person"
    } else {
        "Error: Add a person"
    };
    Ok(html(
        status,
        page(title, Some(viewer), Section::People, body),
    ))
}

/// The form to add a person.
pub async fn new_form(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    new_page(&state, &viewer, HashMap::new(), Vec::new()).await
}

/// A one-time password, shown once, with what to do with it.
fn one_time_page(viewer: &Viewer, id: Uuid, name: &str, password: &str, heading: &str) -> String {
    let body = rsx! {
        div { class: "narrow",
            div { class: "notification success", role: "status", id: "notification",
                p { "{heading}" }
            }
            h1 { "One-time password for {name}" }
            p { class: "lede", id: "one-time-password", code { "{password}" } }
            p { "Give it to {name} in person or by phone, never by email. It is shown only now: if it is lost, reset the password again." }
            p { "When they sign in with it, they must choose their own password of at least 12 characters before they can do anything else." }
            p { a { href: "/people/{id}", "Go to {name}'s page" } }
            p { a { href: "/people", "Back to people" } }
        }
    };
    page("One-time password", Some(viewer), Section::People, body)
}

/// Adds a person.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    check_key(&viewer, &value(&f, "form_key"))?;
    viewer.caller.require(&[Role::Commissioner])?;
    let input = input_of(&f);
    let errors = form_errors(&f, &input, true);
    if !errors.is_empty() {
        return new_page(&state, &viewer, f, errors).await;
    }
    let caller = viewer.caller.clone();
    let i = input.clone();
    match state
        .blocking(move |s| people::add_person(s, &caller, &i))
        .await
    {
        Ok((id, password)) => Ok(html(
            StatusCode::OK,
            one_time_page(
                &viewer,
                id,
                input.display_name.trim(),
                &password,
                "Account added",
            ),
        )),
        Err(e) if e.is_refusal() => {
            let field = if matches!(e, ServiceError::Conflict(_)) {
                "username"
            } else {
                "provider_id"
            };
            new_page(
                &state,
                &viewer,
                f,
                vec![FieldError::new(field, capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn person_page(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    form: Option<HashMap<String, String>>,
    errors: Vec<FieldError>,
    done: &str,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (p, devices, providers) = state
        .blocking(move |s| {
            Ok((
                people::person(s, &caller, id)?,
                people::devices(s, &caller, id)?,
                people::providers(s, &caller)?,
            ))
        })
        .await?;
    let f = form.unwrap_or_else(|| {
        HashMap::from([
            ("display_name".to_owned(), p.display_name.clone()),
            ("email".to_owned(), p.email.clone().unwrap_or_default()),
            ("role".to_owned(), p.role.as_str().to_owned()),
            (
                "provider_id".to_owned(),
                p.provider
                    .as_ref()
                    .map(|(id, _)| id.to_string())
                    .unwrap_or_default(),
            ),
        ])
    });
    let notice = match done {
        "saved" => Some("Changes saved.".to_owned()),
        "unchanged" => Some("Nothing was changed.".to_owned()),
        "enabled" => {
            Some("The account was enabled. They can sign in with their password.".to_owned())
        }
        "signed-out" => Some("That device was signed out.".to_owned()),
        d if d.starts_with("everywhere-") => Some(format!(
            "Signed out everywhere: {} ended.",
            accredit_shared::labels::count(
                d.trim_start_matches("everywhere-").parse().unwrap_or(0),
                "session",
                "sessions"
            )
        )),
        d if d.starts_with("caseload-") => Some(format!(
            "Saved. They are no longer a monitor, so {} came off their caseload.",
            accredit_shared::labels::count(
                d.trim_start_matches("caseload-").parse().unwrap_or(0),
                "location",
                "locations"
            )
        )),
        _ => None,
    };
    let active: Vec<_> = devices.iter().filter(|d| d.revoked_at.is_none()).collect();
    let ended: Vec<_> = devices
        .iter()
        .filter(|d| d.revoked_at.is_some())
        .take(10)
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = rsx! {
        {error_summary(&errors)}
        if let Some(n) = &notice {
            div { class: "notification success", role: "status", id: "notification", p { "{n}" } }
        }
        span { class: "caption", {role_label(p.role)} }
        h1 { "{p.display_name}" }
        dl { class: "summary-list", id: "person",
            div { dt { "Username" } dd { "{p.username}" } }
            div { dt { "Status" } dd { id: "person-status", {status_text(&p)} } }
            div { dt { "Added" } dd { {when(Some(&p.created_at))} } }
            div { dt { "Last signed in" } dd { {when(p.last_seen.as_deref())} } }
            if p.role == Role::Monitor {
                div { dt { "Caseload" } dd {
                    {accredit_shared::labels::count(p.caseload, "location", "locations")}
                    " · "
                    a { href: "/people/{p.id}/caseload", id: "caseload-link", "Change caseload" }
                } }
            }
        }
        h2 { "Details" }
        form { method: "post", action: "/people/{p.id}", novalidate: true, class: "panel",
            {form_key(viewer)}
            {person_fields(false, &providers, &f, &errors)}
            button { class: "button", r#type: "submit", "Save changes" }
        }
        h2 { "Signed-in devices" }
        if active.is_empty() { p { "None: they are signed in nowhere." } } else {
            table { class: "table", id: "devices",
                caption { class: "visually-hidden", "Signed-in devices" }
                thead { tr { th { scope: "col", "Device" } th { scope: "col", "Signed in" } th { scope: "col", "Last used" } th { scope: "col", span { class: "visually-hidden", "Action" } } } }
                tbody {
                    for d in active.iter() {
                        tr { key: "{d.id}",
                            td { "{d.name}" br {} span { class: "hint", if d.browser { "Portal in a browser" } else { "Field app" } } }
                            td { {when(Some(&d.signed_in_at))} }
                            td { {when(d.last_seen.as_deref())} }
                            td {
                                form { method: "post", action: "/people/{p.id}/devices/{d.id}/sign-out",
                                    {form_key(viewer)}
                                    button { class: "button secondary", r#type: "submit", "Sign out", span { class: "visually-hidden", " {d.name}" } }
                                }
                            }
                        }
                    }
                }
            }
            form { method: "post", action: "/people/{p.id}/sign-out-everywhere",
                {form_key(viewer)}
                button { class: "button warning", r#type: "submit", id: "sign-out-everywhere", "Sign out everywhere" }
            }
        }
        if !ended.is_empty() {
            details {
                summary { "Recently signed-out devices" }
                ul { class: "list",
                    for d in ended.iter() {
                        li { key: "{d.id}", "{d.name}: signed out {when(d.revoked_at.as_deref())}" }
                    }
                }
            }
        }
        h2 { "Password and access" }
        if p.disabled {
            p { "This account is disabled: it cannot sign in." }
            form { method: "post", action: "/people/{p.id}/enable",
                {form_key(viewer)}
                button { class: "button", r#type: "submit", id: "enable", "Enable account" }
            }
        } else {
            p { a { href: "/people/{p.id}/reset-password", id: "reset-password", "Reset password" } " (gives a new one-time password and signs them out everywhere)" }
            if p.id != viewer.caller.user_id {
                p { a { href: "/people/{p.id}/disable", id: "disable", "Disable account" } " (they are signed out at once and cannot sign in)" }
            }
        }
        p { a { href: "/people", "Back to people" } }
    };
    let title = if errors.is_empty() {
        p.display_name.clone()
    } else {
        format!("Error: {}", p.display_name)
    };
    Ok(html(
        status,
        page(&title, Some(viewer), Section::People, body),
    ))
}

/// A person's page.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    person_page(&state, &viewer, id, None, Vec::new(), &q.done).await
}

/// Saves a person's details.
pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let input = input_of(&f);
    let errors = form_errors(&f, &input, false);
    if !errors.is_empty() {
        return person_page(&state, &viewer, id, Some(f), errors, "").await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| people::edit_person(s, &caller, id, &input))
        .await
    {
        Ok(e) if e.caseload_removed > 0 => Ok(see_other(&format!(
            "/people/{id}?done=caseload-{}",
            e.caseload_removed
        ))),
        Ok(e) if e.fields.is_empty() => Ok(see_other(&format!("/people/{id}?done=unchanged"))),
        Ok(_) => Ok(see_other(&format!("/people/{id}?done=saved"))),
        Err(e) if e.is_refusal() => {
            let errors = vec![FieldError::new("role", capital(&e.message()))];
            person_page(&state, &viewer, id, Some(f), errors, "").await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// The question before a consequential action: what it does, a button, and a way back.
fn confirm_page(
    viewer: &Viewer,
    p: &Person,
    action: &str,
    title: &str,
    text: &str,
    button: &str,
) -> String {
    let body = rsx! {
        div { class: "narrow",
            span { class: "caption", "{p.display_name}" }
            h1 { "{title}" }
            p { "{text}" }
            form { method: "post", action: "/people/{p.id}/{action}",
                {form_key(viewer)}
                button { class: "button warning", r#type: "submit", id: "confirm", "{button}" }
                a { class: "link-cancel", href: "/people/{p.id}", "Cancel" }
            }
        }
    };
    page(title, Some(viewer), Section::People, body)
}

/// Asks before a consequential action on a person's account (`action` is the path's last part).
async fn question(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    action: &str,
    title: fn(&str) -> String,
    text: &str,
    button: &str,
) -> PageResult {
    let id = path_id(id, "person")?;
    let caller = viewer.caller.clone();
    let p = state
        .blocking(move |s| people::person(s, &caller, id))
        .await?;
    Ok(html(
        StatusCode::OK,
        confirm_page(viewer, &p, action, &title(&p.display_name), text, button),
    ))
}

/// Asks before resetting a password.
pub async fn reset_question(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    question(
        &state,
        &viewer,
        &id,
        "reset-password",
        |name| format!("Reset {name}'s password?"),
        "Their password stops working now and every device they are signed in on is signed out. You will see a one-time password to give them.",
        "Reset password",
    )
    .await
}

/// Resets a password and shows the one-time password once.
pub async fn reset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    let (p, password) = state
        .blocking(move |s| {
            let password = people::reset_password(s, &caller, id)?;
            Ok((people::person(s, &caller, id)?, password))
        })
        .await?;
    Ok(html(
        StatusCode::OK,
        one_time_page(&viewer, id, &p.display_name, &password, "Password reset"),
    ))
}

/// Asks before disabling an account.
pub async fn disable_question(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    question(
        &state,
        &viewer,
        &id,
        "disable",
        |name| format!("Disable {name}'s account?"),
        "They are signed out everywhere at once, on tablets too, and cannot sign in until the account is enabled again. Nothing they recorded is removed. A tablet with visits not yet synced keeps them, and they sync once the account is enabled.",
        "Disable account",
    )
    .await
}

/// Disables an account.
pub async fn disable(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| people::set_disabled(s, &caller, id, true))
        .await?;
    Ok(see_other("/people?done=disabled"))
}

/// Enables an account again.
pub async fn enable(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| people::set_disabled(s, &caller, id, false))
        .await?;
    Ok(see_other(&format!("/people/{id}?done=enabled")))
}

/// Signs one of a person's devices out.
pub async fn sign_out_device(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, device)): Path<(String, String)>,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    let device = path_id(&device, "device")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| people::revoke_device(s, &caller, id, device))
        .await?;
    Ok(see_other(&format!("/people/{id}?done=signed-out")))
}

/// Signs a person out everywhere.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    let own = id == caller.user_id;
    let n = state
        .blocking(move |s| people::sign_out_everywhere(s, &caller, id))
        .await?;
    if own {
        return Ok(see_other("/sign-in"));
    }
    Ok(see_other(&format!("/people/{id}?done=everywhere-{n}")))
}

/// The caseload page's query: a search for locations to add.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CaseloadQuery {
    q: String,
    done: String,
}

/// A monitor's caseload: the locations they cover (untick to remove), and a search to add more.
pub async fn caseload(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<CaseloadQuery>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    let caller = viewer.caller.clone();
    let search = q.q.trim().chars().take(100).collect::<String>();
    let needle = search.clone();
    let (p, on, found) = state
        .blocking(move |s| {
            let p = people::person(s, &caller, id)?;
            let on = people::caseload(s, &caller, id)?;
            let found = people::find_locations(s, &caller, &needle, 50)?;
            Ok((p, on, found))
        })
        .await?;
    let on_ids: Vec<Uuid> = on.iter().map(|l| l.id).collect();
    let offered: Vec<_> = found.iter().filter(|l| !on_ids.contains(&l.id)).collect();
    let notice = q.done.split_once('-').and_then(|(a, r)| {
        Some(format!(
            "Caseload saved: {} added, {} removed.",
            a.parse::<usize>().ok()?,
            r.parse::<usize>().ok()?
        ))
    });
    let body = rsx! {
        if let Some(n) = &notice {
            div { class: "notification success", role: "status", id: "notification", p { "{n}" } }
        }
        span { class: "caption", "{p.display_name}" }
        h1 { "Caseload" }
        p { "The locations this monitor visits. Their tablet gets the change at its next sync; visits already on it stay until synced." }
        form { method: "post", action: "/people/{p.id}/caseload", novalidate: true,
            {form_key(&viewer)}
            fieldset { class: "fieldset form-group",
                legend { class: "legend", {format!("On the caseload ({})", on.len())} }
                if on.is_empty() { p { "No locations yet: search below to add some." } }
                for l in on.iter() {
                    div { key: "{l.id}", class: "checkbox",
                        input { r#type: "checkbox", id: "keep-{l.id}", name: "keep", value: "{l.id}", checked: true }
                        input { r#type: "hidden", name: "had", value: "{l.id}" }
                        label { r#for: "keep-{l.id}", "{l.name}", span { class: "hint", " · {l.cqc_location_id}" } }
                    }
                }
            }
            if !offered.is_empty() {
                fieldset { class: "fieldset form-group", id: "offered",
                    legend { class: "legend", "Add from your search" }
                    for l in offered.iter() {
                        div { key: "{l.id}", class: "checkbox",
                            input { r#type: "checkbox", id: "add-{l.id}", name: "add", value: "{l.id}" }
                            label { r#for: "add-{l.id}", "{l.name}", span { class: "hint", " · {l.cqc_location_id} · {l.address}" } }
                        }
                    }
                }
            }
            button { class: "button", r#type: "submit", id: "save-caseload", "Save caseload" }
        }
        form { method: "get", action: "/people/{p.id}/caseload", class: "filters", role: "search",
            div { class: "form-group",
                label { class: "label", r#for: "q", "Find locations to add" }
                div { class: "hint", id: "q-hint", "Name, CQC location ID or part of the address" }
                input { class: "input", id: "q", name: "q", r#type: "search", value: "{search}", aria_describedby: "q-hint" }
            }
            button { class: "button secondary", r#type: "submit", "Search" }
        }
        if !search.is_empty() && offered.is_empty() {
            p { id: "no-results", {format!("No other locations match “{search}”.")} }
        }
        p { a { href: "/people/{p.id}", "Back to {p.display_name}" } }
    };
    Ok(html(
        StatusCode::OK,
        page("Caseload", Some(&viewer), Section::People, body),
    ))
}

fn ids(pairs: &[(String, String)], name: &str) -> Result<Vec<Uuid>, PageError> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| path_id(v, "location"))
        .collect()
}

/// Saves a caseload: unticked locations come off, ticked search results go on.
pub async fn save_caseload(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = path_id(&id, "person")?;
    let key = pairs
        .iter()
        .find(|(k, _)| k == "form_key")
        .map_or("", |(_, v)| v.as_str());
    check_key(&viewer, key)?;
    let keep = ids(&pairs, "keep")?;
    let had = ids(&pairs, "had")?;
    let add = ids(&pairs, "add")?;
    let remove: Vec<Uuid> = had.into_iter().filter(|l| !keep.contains(l)).collect();
    let caller = viewer.caller.clone();
    let (added, removed) = state
        .blocking(move |s| people::change_caseload(s, &caller, id, &add, &remove))
        .await?;
    Ok(see_other(&format!(
        "/people/{id}/caseload?done={added}-{removed}"
    )))
}

/// Which monitors cover a location, as checkboxes.
pub async fn location_monitors(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    let caller = viewer.caller.clone();
    let (name, monitors) = state
        .blocking(move |s| {
            let monitors = people::monitors_for(s, &caller, id)?;
            let name =
                s.db.read(|tx| crate::tiers::location(tx, id))?
                    .map(|(l, _)| l.name)
                    .ok_or_else(|| ServiceError::not_found("location"))?;
            Ok((name, monitors))
        })
        .await?;
    let body = rsx! {
        if q.done == "saved" {
            div { class: "notification success", role: "status", id: "notification", p { "Monitors saved." } }
        }
        span { class: "caption", "{name}" }
        h1 { "Monitors for this location" }
        form { method: "post", action: "/locations/{id}/monitors", novalidate: true,
            {form_key(&viewer)}
            fieldset { class: "fieldset form-group",
                legend { class: "legend", "Who visits {name}" }
                div { class: "hint", "Select all that apply." }
                if monitors.is_empty() { p { "There are no monitors yet. " a { href: "/people/new", "Add a person" } } }
                for (m, mname, on) in monitors.iter() {
                    div { key: "{m}", class: "checkbox",
                        input { r#type: "checkbox", id: "monitor-{m}", name: "monitor", value: "{m}", checked: *on }
                        label { r#for: "monitor-{m}", "{mname}" }
                    }
                }
            }
            button { class: "button", r#type: "submit", id: "save-monitors", "Save" }
        }
        p { a { href: "/locations/{id}", "Back to {name}" } }
    };
    Ok(html(
        StatusCode::OK,
        page("Monitors", Some(&viewer), Section::Locations, body),
    ))
}

/// Saves which monitors cover a location.
pub async fn save_location_monitors(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = path_id(&id, "location")?;
    let key = pairs
        .iter()
        .find(|(k, _)| k == "form_key")
        .map_or("", |(_, v)| v.as_str());
    check_key(&viewer, key)?;
    let monitors: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "monitor")
        .map(|(_, v)| path_id(v, "person"))
        .collect::<Result<_, _>>()?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| people::set_location_monitors(s, &caller, id, &monitors))
        .await?;
    Ok(see_other(&format!(
        "/locations/{}/monitors?done=saved",
        url_encode(&id.to_string())
    )))
}
