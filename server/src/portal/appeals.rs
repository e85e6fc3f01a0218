//! Appeals in the portal: the list, a visit's appeals with the form to lodge one (linked from the
//! report of a published visit), and an appeal's page with the decision form (leads and
//! commissioners) and the withdraw button (the person who lodged it). Every action is one call
//! to `service::appeals`.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use dioxus::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::fields::value;
use super::layout::{
    FieldError, Section, error_summary, field_error, form_key, form_response, page, when,
};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::appeals::{self, AppealStatus, AppealView, Outcome};
use crate::service::records::Refusal;
use crate::state::AppState;

fn status_tag(s: AppealStatus) -> Element {
    let class = match s {
        AppealStatus::Open => "tag amber",
        AppealStatus::Upheld => "tag green",
        AppealStatus::Dismissed | AppealStatus::Withdrawn => "tag",
    };
    rsx! { strong { class: "{class}", {s.label()} } }
}

fn errors_of(refusals: Vec<Refusal>) -> Vec<FieldError> {
    refusals
        .into_iter()
        .map(|r| FieldError::new(r.field, capital(&r.message)))
        .collect()
}

fn table(list: &[AppealView], id: &str) -> Element {
    rsx! {
        table { class: "table", id: "{id}",
            caption { class: "visually-hidden", "Appeals" }
            thead { tr { th { scope: "col", "Lodged" } th { scope: "col", "Location" } th { scope: "col", "Lodged by" } th { scope: "col", "Status" } } }
            tbody {
                for a in list.iter() {
                    tr { key: "{a.id}",
                        td { a { href: "/appeals/{a.id}", {when(Some(&a.lodged_at))} } }
                        td { "{a.location_name}" }
                        td { "{a.lodged_by_name}" }
                        td { {status_tag(a.status)} }
                    }
                }
            }
        }
    }
}

fn no_monitors(viewer: &Viewer) -> Result<(), PageError> {
    if viewer.caller.role == Role::Monitor {
        Err(PageError(ServiceError::not_found("page")))
    } else {
        Ok(())
    }
}

/// Every appeal the viewer may see.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    no_monitors(&viewer)?;
    let caller = viewer.caller.clone();
    let list = state
        .blocking(move |s| s.db.read(|tx| appeals::list(tx, &caller, None)))
        .await?;
    let body = rsx! {
        h1 { "Appeals" }
        p { "Appeals against published visits. The tier in force stays while an appeal is open. To lodge one, open the visit's report and choose “Appeals”." }
        if list.is_empty() { p { id: "no-appeals", "No appeals have been lodged." } } else { {table(&list, "appeals")} }
    };
    Ok(html(
        StatusCode::OK,
        page("Appeals", Some(&viewer), Section::Appeals, body),
    ))
}

async fn visit_page(
    state: &AppState,
    viewer: &Viewer,
    visit: Uuid,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    no_monitors(viewer)?;
    let caller = viewer.caller.clone();
    let (v, list) = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let v = crate::service::visits::require_visit(tx, &caller, visit)?;
                Ok((v, appeals::list(tx, &caller, Some(visit))?))
            })
        })
        .await?;
    let published = v.status == crate::service::visits::VisitStatus::Published;
    let open = list.iter().any(|a| a.status == AppealStatus::Open);
    let grounds_error = errors.iter().any(|e| e.field == "grounds");
    let body = rsx! {
        {error_summary(&errors)}
        h1 { "Appeals against this visit" }
        if list.is_empty() { p { id: "no-appeals", "No appeals against this visit." } } else { {table(&list, "appeals")} }
        if !published {
            p { class: "inset", "Only a published visit can be appealed." }
        } else if open {
            p { class: "inset", id: "open-appeal", "This visit has an open appeal. Another can be lodged once it is decided or withdrawn." }
        } else {
            form { method: "post", action: "/visits/{visit}/appeals", novalidate: true, class: "panel",
                h2 { "Lodge an appeal" }
                {form_key(viewer)}
                p { "The tier in force stays while the appeal is open. A lead officer or commissioner decides it and gives their reason." }
                div { class: if grounds_error { "form-group form-group-error" } else { "form-group" },
                    label { class: "label", r#for: "grounds", "Grounds for the appeal" }
                    div { class: "hint", id: "grounds-hint", "What you think is wrong in the report and why. Do not include residents' names." }
                    {field_error(&errors, "grounds")}
                    textarea { class: "textarea", id: "grounds", name: "grounds", rows: "6",
                        aria_describedby: if grounds_error { "grounds-hint grounds-error" } else { "grounds-hint" },
                        {value(&f, "grounds")}
                    }
                }
                button { class: "button", r#type: "submit", id: "lodge", "Lodge appeal" }
            }
        }
        p { a { href: "/visits/{visit}", "Back to the report" } " · " a { href: "/appeals", "All appeals" } }
    };
    Ok(form_response(
        "Appeals against this visit",
        &errors,
        viewer,
        Section::Appeals,
        body,
    ))
}

/// A visit's appeals and the form to lodge one.
pub async fn for_visit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    visit_page(&state, &viewer, id, HashMap::new(), Vec::new()).await
}

/// Lodges an appeal.
pub async fn lodge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let visit = path_id(&id, "visit")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let grounds = value(&f, "grounds");
    let errors = errors_of(appeals::check_lodge(&grounds));
    if !errors.is_empty() {
        return visit_page(&state, &viewer, visit, f, errors).await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| {
            s.db.write(|tx| appeals::lodge(tx, &caller, visit, &grounds))
        })
        .await
    {
        Ok(a) => Ok(see_other(&format!("/appeals/{}?done=lodged", a.id))),
        Err(e) if e.is_refusal() => {
            let errors = vec![FieldError::new("grounds", capital(&e.message()))];
            visit_page(&state, &viewer, visit, f, errors).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// What was just done, for the confirmation banner.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

async fn appeal_page(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    done: &str,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    no_monitors(viewer)?;
    let caller = viewer.caller.clone();
    let a = state
        .blocking(move |s| s.db.read(|tx| appeals::appeal(tx, &caller, id)))
        .await?;
    let open = a.status == AppealStatus::Open;
    let decides = viewer.caller.sees_all() && open;
    let withdraws = a.lodged_by == viewer.caller.user_id && open;
    let notice = match done {
        "lodged" => Some("Your appeal has been lodged."),
        "decided" => Some("The decision has been recorded."),
        "withdrawn" => Some("The appeal has been withdrawn."),
        _ => None,
    };
    let chosen = value(&f, "outcome");
    let outcome_error = errors.iter().any(|e| e.field == "outcome");
    let reason_error = errors.iter().any(|e| e.field == "reason");
    let body = rsx! {
        {error_summary(&errors)}
        if let Some(n) = notice {
            div { class: "notification success", role: "status", id: "notification", p { "{n}" } }
        }
        span { class: "caption", "{a.location_name}" }
        h1 { "Appeal" }
        dl { class: "summary-list", id: "appeal",
            div { dt { "Visit" } dd { a { href: "/visits/{a.visit_id}", "The visit's report" } } }
            div { dt { "Status" } dd { id: "appeal-status", {status_tag(a.status)} } }
            div { dt { "Lodged" } dd { {format!("{} by {}", when(Some(&a.lodged_at)), a.lodged_by_name)} } }
            div { dt { "Grounds" } dd { class: "notes", "{a.grounds}" } }
            if let Some(at) = &a.decided_at {
                div { dt { if a.status == AppealStatus::Withdrawn { "Withdrawn" } else { "Decided" } }
                    dd { {format!("{} by {}", when(Some(at)), a.decided_by_name.clone().unwrap_or_default())} } }
            }
            if let Some(r) = &a.reason { div { dt { "Reason" } dd { class: "notes", "{r}" } } }
        }
        if decides {
            form { method: "post", action: "/appeals/{a.id}/decision", novalidate: true, class: "panel",
                h2 { "Decide the appeal" }
                {form_key(viewer)}
                p { "Backdating the tier after an upheld appeal is not done here yet: record the outcome, then change the records it rests on." }
                div { class: if outcome_error { "form-group form-group-error" } else { "form-group" },
                    fieldset { class: "fieldset", id: "outcome",
                        legend { class: "legend", "Outcome" }
                        {field_error(&errors, "outcome")}
                        div { class: "radio",
                            input { r#type: "radio", id: "outcome-upheld", name: "outcome", value: "upheld", checked: chosen == "upheld" }
                            label { r#for: "outcome-upheld", "Upheld" }
                        }
                        div { class: "radio",
                            input { r#type: "radio", id: "outcome-dismissed", name: "outcome", value: "dismissed", checked: chosen == "dismissed" }
                            label { r#for: "outcome-dismissed", "Dismissed" }
                        }
                    }
                }
                div { class: if reason_error { "form-group form-group-error" } else { "form-group" },
                    label { class: "label", r#for: "reason", "Reason for the decision" }
                    div { class: "hint", id: "reason-hint", "The appellant sees this." }
                    {field_error(&errors, "reason")}
                    textarea { class: "textarea", id: "reason", name: "reason", rows: "5",
                        aria_describedby: if reason_error { "reason-hint reason-error" } else { "reason-hint" },
                        {value(&f, "reason")}
                    }
                }
                button { class: "button", r#type: "submit", id: "decide", "Record decision" }
            }
        }
        if withdraws {
            form { method: "post", action: "/appeals/{a.id}/withdraw", class: "panel",
                {form_key(viewer)}
                button { class: "button secondary", r#type: "submit", id: "withdraw", "Withdraw appeal" }
            }
        }
        p { a { href: "/visits/{a.visit_id}/appeals", "Appeals against this visit" } " · " a { href: "/appeals", "All appeals" } }
    };
    Ok(form_response(
        "Appeal",
        &errors,
        viewer,
        Section::Appeals,
        body,
    ))
}

/// An appeal.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let id = path_id(&id, "appeal")?;
    appeal_page(&state, &viewer, id, &q.done, HashMap::new(), Vec::new()).await
}

/// Records a decision.
pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "appeal")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let outcome = Outcome::parse(&value(&f, "outcome"));
    let reason = value(&f, "reason");
    let errors = errors_of(appeals::check_decision(outcome, &reason));
    if !errors.is_empty() {
        return appeal_page(&state, &viewer, id, "", f, errors).await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| {
            s.db.write(|tx| appeals::decide(tx, &caller, id, outcome, &reason))
        })
        .await
    {
        Ok(_) => Ok(see_other(&format!("/appeals/{id}?done=decided"))),
        Err(e) if e.is_refusal() => {
            let errors = vec![FieldError::new("reason", capital(&e.message()))];
            appeal_page(&state, &viewer, id, "", f, errors).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Withdraws an appeal.
pub async fn withdraw(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "appeal")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| s.db.write(|tx| appeals::withdraw(tx, &caller, id)))
        .await?;
    Ok(see_other(&format!("/appeals/{id}?done=withdrawn")))
}
