//! Email notices: commissioners see every notice's state (queued, sent, failed and why,
//! skipped) and can send a failed one again; everyone chooses which notices they receive on
//! their account page.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use dioxus::prelude::*;
use serde::Deserialize;

use super::layout::{Section, form_key, page, when};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::service::notices::{self, Kind};
use crate::state::AppState;

/// The notices page's filter.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NoticeQuery {
    state: String,
    done: String,
}

fn state_text(s: &str) -> &'static str {
    match s {
        "queued" => "Waiting to send",
        "sent" => "Sent",
        "failed" => "Failed",
        "skipped" => "Not sent",
        _ => "Unknown",
    }
}

/// Every notice, newest first (commissioners).
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    let caller = viewer.caller.clone();
    let filter = Some(q.state.clone())
        .filter(|s| ["queued", "sent", "failed", "skipped"].contains(&s.as_str()));
    let (rows, counts) = state
        .blocking(move |s| {
            Ok((
                notices::list(s, &caller, filter.as_deref(), 200)?,
                notices::counts(s)?,
            ))
        })
        .await?;
    let configured = state.config.smtp_url.is_some();
    let count = |k: &str| counts.iter().find(|(s, _)| s == k).map_or(0, |(_, n)| *n);
    let body = rsx! {
        if q.done == "retried" {
            div { class: "notification success", role: "status", id: "notification", p { "The notice will be sent again." } }
        }
        h1 { "Email notices" }
        if !configured {
            div { class: "warning-text inset", id: "smtp-missing",
                "Email is not set up on this server, so notices are waiting to send. Start the server with --smtp-url (see the README) and they go out in order."
            }
        }
        dl { class: "summary-list", id: "notice-counts",
            div { dt { "Waiting to send" } dd { id: "count-queued", "{count(\"queued\")}" } }
            div { dt { "Sent" } dd { id: "count-sent", "{count(\"sent\")}" } }
            div { dt { "Failed" } dd { id: "count-failed", "{count(\"failed\")}" } }
            div { dt { "Not sent (no email address)" } dd { id: "count-skipped", "{count(\"skipped\")}" } }
        }
        form { class: "filters", method: "get", action: "/notices", role: "search", aria_label: "Filter notices",
            div { class: "form-group",
                label { class: "label", r#for: "state", "Show" }
                select { class: "select", id: "state", name: "state",
                    for (v, l) in [("", "All notices"), ("queued", "Waiting to send"), ("sent", "Sent"), ("failed", "Failed"), ("skipped", "Not sent")] {
                        option { key: "{v}", value: "{v}", selected: q.state == v, "{l}" }
                    }
                }
            }
            button { class: "button secondary", r#type: "submit", "Show" }
        }
        if rows.is_empty() { p { "No notices." } } else {
            table { class: "table", id: "notices",
                caption { class: "visually-hidden", "Notices" }
                thead { tr { th { scope: "col", "Written" } th { scope: "col", "To" } th { scope: "col", "Subject" } th { scope: "col", "State" } } }
                tbody {
                    for n in rows.iter() {
                        tr { key: "{n.id}",
                            td { {when(Some(&n.created_at))} }
                            td { "{n.recipient}" }
                            td { "{n.subject}" }
                            td {
                                strong { {state_text(&n.state)} }
                                if n.state == "sent" { br {} span { class: "hint", {when(n.sent_at.as_deref())} } }
                                if n.state == "queued" && n.attempts > 0 {
                                    br {} span { class: "hint", {format!("Tried {} times; next try {}", n.attempts, when(Some(&n.next_attempt_at)))} }
                                }
                                if let Some(e) = &n.last_error { br {} span { class: "hint", {capital(e)} } }
                                if n.state == "failed" {
                                    form { method: "post", action: "/notices/{n.id}/retry",
                                        {form_key(&viewer)}
                                        button { class: "button secondary", r#type: "submit", "Send again" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page("Email notices", Some(&viewer), Section::People, body),
    ))
}

/// Sends a failed notice again.
pub async fn retry(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    let id = path_id(&id, "notice")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| notices::retry(s, &caller, id))
        .await?;
    Ok(see_other("/notices?done=retried"))
}

/// The caller's notice choices, as a form (part of the account page).
pub fn preferences_form(viewer: &Viewer, email: Option<&str>, prefs: &[(Kind, bool)]) -> Element {
    if prefs.is_empty() {
        return rsx! {};
    }
    let email = email.map(str::to_owned);
    rsx! {
        h2 { "Email notices" }
        p {
            match &email {
                Some(e) => rsx! { "Notices go to " strong { "{e}" } ". To change the address, ask your council's commissioner." },
                None => rsx! { "You have no email address, so no notices can reach you. Ask your council's commissioner to add one." },
            }
        }
        form { method: "post", action: "/account/notices", novalidate: true,
            {form_key(viewer)}
            fieldset { class: "fieldset form-group",
                legend { class: "legend", "Send me an email when" }
                for (k, on) in prefs.iter() {
                    div { key: "{k.key()}", class: "checkbox",
                        input { r#type: "checkbox", id: "notice-{k.key()}", name: "on", value: k.key(), checked: *on }
                        label { r#for: "notice-{k.key()}", {k.label()} }
                    }
                }
            }
            button { class: "button secondary", r#type: "submit", "Save notice choices" }
        }
    }
}

/// Saves the caller's notice choices.
pub async fn save_preferences(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f: HashMap<&str, &str> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    check_key(&viewer, f.get("form_key").copied().unwrap_or_default())?;
    let on: Vec<Kind> = pairs
        .iter()
        .filter(|(k, _)| k == "on")
        .filter_map(|(_, v)| Kind::parse(v))
        .collect();
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| notices::set_preferences(s, &caller, &on))
        .await?;
    Ok(see_other("/account?done=notices"))
}
