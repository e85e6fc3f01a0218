//! Signing in and out of the portal.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use dioxus::prelude::*;
use serde::Deserialize;

use super::capital;
use super::layout::{FieldError, Section, error_summary, field_error, page};
use super::session::{self, MaybeViewer, Viewer};
use super::{PageError, PageResult, html};
use crate::error::ServiceError;
use crate::http::ClientAddr;
use crate::service::sessions::{self, Attempt, SessionKind};
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
    form_key: String,
}

/// The sign-in form with a fresh key, set in its cookie too: a page on another site can neither
/// read the key nor set the cookie, so it cannot sign a victim in to an account of its own.
fn form_page(
    state: &AppState,
    status: StatusCode,
    username: &str,
    next: &str,
    errors: &[FieldError],
) -> PageResult {
    let key = session::new_sign_in_key()?;
    let mut r = form_html(status, username, next, &key, errors);
    if let Ok(v) =
        HeaderValue::from_str(&session::sign_in_cookie(&key, state.config.secure_cookies))
    {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(r)
}

fn form_html(
    status: StatusCode,
    username: &str,
    next: &str,
    key: &str,
    errors: &[FieldError],
) -> Response {
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
                input { r#type: "hidden", name: "form_key", value: "{key}" }
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
pub async fn form(
    State(state): State<AppState>,
    MaybeViewer(viewer): MaybeViewer,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let next = session::safe_next(q.next.as_deref());
    if viewer.is_some() {
        return Ok(session::see_other(&next));
    }
    form_page(&state, StatusCode::OK, "", &next, &[])
}

/// Checks the form's key, then the username and password; on success sets the session cookie.
pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> PageResult {
    let next = session::safe_next(Some(&f.next));
    let username = f.username.trim().to_owned();
    if f.form_key.is_empty() || session::sign_in_key_from(&headers).as_deref() != Some(&f.form_key)
    {
        return form_page(
            &state,
            StatusCode::FORBIDDEN,
            &username,
            &next,
            &[FieldError::new(
                "username",
                "This form has expired. Enter your username and password again",
            )],
        );
    }
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
        return form_page(&state, StatusCode::BAD_REQUEST, &username, &next, &errors);
    }
    let user = username.clone();
    let secure = state.config.secure_cookies;
    let result = state
        .blocking(move |s| {
            sessions::sign_in(
                s,
                Attempt {
                    username: &user,
                    password: &f.password,
                    device_name: "web browser",
                    kind: SessionKind::Portal,
                    address,
                },
            )
        })
        .await;
    match result {
        Ok(session) => {
            let next = if session.password_change_required {
                session::CHANGE_PASSWORD.to_owned()
            } else {
                next
            };
            let mut r = session::see_other(&next);
            if let Ok(v) = HeaderValue::from_str(&session::session_cookie(&session.token, secure)) {
                r.headers_mut().insert(SET_COOKIE, v);
            }
            Ok(r)
        }
        Err(ServiceError::Unauthorized(_)) => form_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &username,
            &next,
            &[FieldError::new(
                "username",
                "The username or password is not right",
            )],
        ),
        Err(e @ ServiceError::TooManyAttempts { .. }) => form_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &username,
            &next,
            &[FieldError::new("username", capital(&e.message()))],
        ),
        Err(e) => Err(PageError(e)),
    }
}

/// Refuses a form that does not carry the session's form key.
pub fn check_key(viewer: &Viewer, key: &str) -> Result<(), PageError> {
    if key == viewer.form_key {
        Ok(())
    } else {
        Err(PageError(ServiceError::forbidden(
            "This form has expired. Go back, reload the page and try again.",
        )))
    }
}

/// Ends the session: its token is revoked, the cookie cleared.
pub async fn sign_out(
    State(state): State<AppState>,
    session::PendingViewer(viewer): session::PendingViewer,
    Form(f): Form<super::KeyForm>,
) -> PageResult {
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| sessions::revoke(s, &caller, caller.device_id))
        .await?;
    let mut r = session::see_other("/sign-in");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(r)
}
