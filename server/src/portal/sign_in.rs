//! Signing in and out of the portal.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use dioxus::prelude::*;
use serde::Deserialize;

use super::layout::{FieldError, Section, error_summary, field_error, page};
use super::session::{self, MaybeViewer, Viewer};
use super::{PageError, PageResult, html};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// The query of the sign-in page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    username: String,
    password: String,
    next: String,
}

fn form_page(status: StatusCode, username: &str, next: &str, errors: &[FieldError]) -> Response {
    let described = |f: &str| {
        errors
            .iter()
            .any(|e| e.field == f)
            .then(|| format!("{f}-error"))
    };
    let group = |f: &str| {
        if errors.iter().any(|e| e.field == f) {
            "form-group form-group-error"
        } else {
            "form-group"
        }
    };
    let body = rsx! {
        div { class: "narrow",
            {error_summary(errors)}
            h1 { "Sign in" }
            p { "Providers, lead officers and commissioners sign in with the account their council gave them." }
            form { method: "post", action: "/sign-in", novalidate: true,
                input { r#type: "hidden", name: "next", value: "{next}" }
                div { class: group("username"),
                    label { class: "label", r#for: "username", "Username" }
                    {field_error(errors, "username")}
                    input { class: "input", id: "username", name: "username", r#type: "text", autocomplete: "username", spellcheck: "false", value: "{username}", aria_describedby: described("username") }
                }
                div { class: group("password"),
                    label { class: "label", r#for: "password", "Password" }
                    {field_error(errors, "password")}
                    input { class: "input", id: "password", name: "password", r#type: "password", autocomplete: "current-password", aria_describedby: described("password") }
                }
                button { class: "button", r#type: "submit", "Sign in" }
            }
            p { "Looking for a care home? The " a { href: "/register", "public register" } " lists every published rating, no sign-in needed." }
        }
    };
    let title = if errors.is_empty() {
        "Sign in".to_owned()
    } else {
        "Error: Sign in".to_owned()
    };
    html(status, page(&title, None, Section::None, body))
}

/// The sign-in page (or on to the start page, for someone already signed in).
pub async fn form(MaybeViewer(viewer): MaybeViewer, Query(q): Query<NextQuery>) -> Response {
    let next = session::safe_next(q.next.as_deref());
    if viewer.is_some() {
        return session::see_other(&next);
    }
    form_page(StatusCode::OK, "", &next, &[])
}

/// Checks the username and password; on success sets the session cookie.
pub async fn submit(State(state): State<AppState>, Form(f): Form<SignInForm>) -> PageResult {
    let next = session::safe_next(Some(&f.next));
    let username = f.username.trim().to_owned();
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push(FieldError::new("username", "Enter your username"));
    }
    if f.password.is_empty() {
        errors.push(FieldError::new("password", "Enter your password"));
    }
    if username.len() > 200 || f.password.len() > 1000 {
        errors.push(FieldError::new(
            "username",
            "The username or password is too long",
        ));
    }
    if !errors.is_empty() {
        return Ok(form_page(
            StatusCode::BAD_REQUEST,
            &username,
            &next,
            &errors,
        ));
    }
    let user = username.clone();
    let secure = state.config.secure_cookies;
    let result = state
        .blocking(move |s| {
            s.db.write(|tx| auth::sign_in_recorded(tx, &user, &f.password, "web browser", "portal"))
        })
        .await;
    match result {
        Ok(session) => {
            let mut r = session::see_other(&next);
            if let Ok(v) = HeaderValue::from_str(&session::session_cookie(&session.token, secure)) {
                r.headers_mut().insert(SET_COOKIE, v);
            }
            Ok(r)
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Ok(form_page(
            StatusCode::UNAUTHORIZED,
            &username,
            &next,
            &[FieldError::new(
                "username",
                "The username or password is not right",
            )],
        )),
        Err(e) => Err(PageError(e)),
    }
}

/// Refuses a form that does not carry the session's form key.
pub fn check_key(viewer: &Viewer, key: &str) -> Result<(), PageError> {
    if key == viewer.form_key {
        Ok(())
    } else {
        Err(PageError(ApiError::forbidden(
            "This form has expired. Go back, reload the page and try again.",
        )))
    }
}

/// Ends the session: its token is revoked, the cookie cleared.
pub async fn sign_out(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| {
            s.db.write(|tx| crate::api::revoke(tx, &caller, caller.device_id))
        })
        .await?;
    let mut r = session::see_other("/sign-in");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(r)
}
