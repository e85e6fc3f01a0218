//! Your own account: your devices (sign one out, or sign out everywhere) and your password,
//! which someone holding a one-time password must change before anything else.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use dioxus::prelude::*;
use uuid::Uuid;

use super::fields::{text_input, value};
use super::layout::{FieldError, Section, error_summary, form_key, page, when};
use super::people::{Done, role_label};
use super::session::{self, PendingViewer, Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, html, path_id};
use crate::service::people::{self, PasswordField};
use crate::state::AppState;

/// Your account.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (devices, email, prefs) = state
        .blocking(move |s| {
            Ok((
                people::devices(s, &caller, caller.user_id)?,
                people::own_email(s, &caller)?,
                crate::service::notices::preferences(s, &caller)?,
            ))
        })
        .await?;
    let active: Vec<_> = devices.iter().filter(|d| d.revoked_at.is_none()).collect();
    let notice = match q.done.as_str() {
        "password" => Some("Your password was changed. Your other devices were signed out."),
        "signed-out" => Some("That device was signed out."),
        "notices" => Some("Your notice choices are saved."),
        _ => None,
    };
    let me = viewer.caller.device_id;
    let body = rsx! {
        if let Some(n) = notice {
            div { class: "notification success", role: "status", id: "notification", p { "{n}" } }
        }
        span { class: "caption", {role_label(viewer.caller.role)} }
        h1 { "Your account" }
        p { a { href: "/account/password", id: "change-password", "Change your password" } }
        h2 { "Where you are signed in" }
        table { class: "table", id: "devices",
            caption { class: "visually-hidden", "Where you are signed in" }
            thead { tr { th { scope: "col", "Device" } th { scope: "col", "Signed in" } th { scope: "col", "Last used" } th { scope: "col", span { class: "visually-hidden", "Action" } } } }
            tbody {
                for d in active.iter() {
                    tr { key: "{d.id}",
                        td { "{d.name}" if d.id == me { br {} strong { "This browser" } } }
                        td { {when(Some(&d.signed_in_at))} }
                        td { {when(d.last_seen.as_deref())} }
                        td {
                            if d.id != me {
                                form { method: "post", action: "/account/devices/{d.id}/sign-out",
                                    {form_key(&viewer)}
                                    button { class: "button secondary", r#type: "submit", "Sign out", span { class: "visually-hidden", " {d.name}" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { "If you think someone else has signed in as you, sign out everywhere and change your password." }
        form { method: "post", action: "/account/sign-out-everywhere",
            {form_key(&viewer)}
            button { class: "button warning", r#type: "submit", "Sign out everywhere" }
        }
        {super::notices::preferences_form(&viewer, email.as_deref(), &prefs)}
    };
    Ok(html(
        StatusCode::OK,
        page("Your account", Some(&viewer), Section::None, body),
    ))
}

/// Signs one of your own devices out.
pub async fn sign_out_device(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(device): axum::extract::Path<String>,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    let device: Uuid = path_id(&device, "device")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| people::revoke_device(s, &caller, caller.user_id, device))
        .await?;
    Ok(see_other("/account?done=signed-out"))
}

/// Signs you out everywhere, this browser included.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    PendingViewer(viewer): PendingViewer,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| people::sign_out_everywhere(s, &caller, caller.user_id))
        .await?;
    let mut r = see_other("/sign-in");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(r)
}

fn password_page(viewer: &Viewer, errors: &[FieldError]) -> String {
    let due = viewer.caller.password_change_due;
    let f = HashMap::new();
    let body = rsx! {
        div { class: "narrow",
            {error_summary(errors)}
            h1 { if due { "Choose your own password" } else { "Change your password" } }
            if due {
                p { "You signed in with a one-time password. Choose your own before you go on: the one-time password will not work again." }
            }
            form { method: "post", action: "/account/password", novalidate: true,
                {form_key(viewer)}
                {text_input("current", if due { "One-time password" } else { "Current password" }, "", &f, errors, "password", "current-password")}
                {text_input("new", "New password", "At least 12 characters. Three random words make a strong password that is easy to remember. Common passwords are not allowed.", &f, errors, "password", "new-password")}
                {text_input("confirm", "Type the new password again", "", &f, errors, "password", "new-password")}
                button { class: "button", r#type: "submit", "Save password" }
            }
            if due {
                form { method: "post", action: "/sign-out",
                    {form_key(viewer)}
                    button { class: "link-button", r#type: "submit", "Sign out instead" }
                }
            } else {
                p { a { href: "/account", "Back to your account" } }
            }
        }
    };
    let title = match (errors.is_empty(), due) {
        (true, true) => "Choose your own password",
        (true, false) => "Change your password",
        (false, true) => "Error: Choose your own password",
        (false, false) => "Error: Change your password",
    };
    // Someone who must change their password sees no menu: there is nowhere else to go yet.
    let shown = if due { None } else { Some(viewer) };
    page(title, shown, Section::None, body)
}

/// The form to change your password (the only page open to a one-time password).
pub async fn password_form(PendingViewer(viewer): PendingViewer) -> PageResult {
    Ok(html(StatusCode::OK, password_page(&viewer, &[])))
}

/// Changes your password; your other sessions end.
pub async fn change_password(
    State(state): State<AppState>,
    PendingViewer(viewer): PendingViewer,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    check_key(&viewer, &value(&f, "form_key"))?;
    let (current, new, confirm) = (value(&f, "current"), value(&f, "new"), value(&f, "confirm"));
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(FieldError::new("current", "Enter your current password"));
    }
    if new.is_empty() {
        errors.push(FieldError::new("new", "Enter a new password"));
    } else if new != confirm {
        errors.push(FieldError::new(
            "confirm",
            "The passwords do not match: type the new password again",
        ));
    }
    if errors.is_empty() {
        let caller = viewer.caller.clone();
        let outcome = state
            .blocking(move |s| people::change_password(s, &caller, &current, &new))
            .await;
        match outcome {
            Ok(Ok(())) => {
                let to = if viewer.caller.password_change_due {
                    "/"
                } else {
                    "/account?done=password"
                };
                return Ok(see_other(to));
            }
            Ok(Err((PasswordField::Current, why))) => errors.push(FieldError::new("current", why)),
            Ok(Err((PasswordField::New, why))) => errors.push(FieldError::new("new", why)),
            Err(e @ crate::error::ServiceError::TooManyAttempts { .. }) => {
                errors.push(FieldError::new("current", super::capital(&e.message())))
            }
            Err(e) => return Err(PageError(e)),
        }
    }
    Ok(html(
        StatusCode::BAD_REQUEST,
        password_page(&viewer, &errors),
    ))
}
