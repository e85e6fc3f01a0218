//! The web portal for providers, leads and commissioners, and the public register. Every page is
//! rendered on the server (Dioxus SSR) and every action is a plain HTML form, so it all works
//! without JavaScript, as GOV.UK services do. Access is checked here on every request with the
//! same rules as the API: a page someone may not see is a 404, never the data.

mod account;
mod appeals;
mod audit_log;
mod chart;
mod contracts;
mod exports;
mod fields;
mod history;
mod imports;
mod layout;
mod locations;
mod market;
mod market_chart;
mod marks;
mod notices;
mod payments;
mod people;
mod places;
mod plan;
mod records;
mod register;
mod report;
mod retention;
mod review;
mod rules;
mod rules_form;
mod session;
mod sign_in;
mod transparency;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ServiceError;
use crate::http::status_of;
use crate::state::AppState;

pub use session::{COOKIE_NAME, Viewer, form_key};

/// The portal's stylesheet, compiled in.
const CSS: &str = include_str!("../../../assets/portal.css");

/// Every portal route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(locations::home))
        .route("/assets/portal.css", get(stylesheet))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/register", get(register::page_handler))
        .route("/register/reports/{id}", get(register::report_summary))
        .route("/locations", get(locations::list).post(places::add))
        .route("/locations/new", get(places::new_form))
        .route(
            "/locations/{id}/edit",
            get(places::edit_form).post(places::edit),
        )
        .route(
            "/locations/{id}/change-of-ownership",
            get(places::ownership_page).post(places::change_ownership),
        )
        .route(
            "/locations/{id}/placements",
            get(places::placements).post(places::add_placement),
        )
        .route("/placements/{id}", get(places::placement))
        .route("/placements/{id}/{what}", post(places::change_placement))
        .route("/locations/{id}", get(locations::status))
        .route("/locations/{id}/records", get(records::page_handler))
        .route("/locations/{id}/cqc-ratings", post(records::add_cqc))
        .route("/locations/{id}/gates", post(records::open_gate))
        .route(
            "/locations/{id}/qualifications",
            post(records::add_qualification),
        )
        .route("/gates/{id}/close", post(records::close_gate))
        .route("/review", get(review::page_handler))
        .route(
            "/visits/{id}/share",
            get(review::share_check).post(review::share),
        )
        .route(
            "/visits/{id}/revisions/{revision}/{decision}",
            post(review::decide),
        )
        .route(
            "/visits/{id}/publish",
            get(review::publish_check).post(review::publish),
        )
        .route("/rules", get(rules::page_handler).post(rules::adopt))
        .route("/rules/what-if", post(rules::what_if))
        .route("/rules/new", get(rules_form::new_form))
        .route("/rules/form", post(rules_form::submit))
        .route("/rules/drafts/{id}", get(rules_form::open_draft))
        .route("/rules/drafts/{id}/delete", post(rules_form::delete))
        .route("/rules/sets/{version}", get(rules::view))
        .route("/rules/sets/{version}/toml", get(rules::download))
        .route("/rules/compare", get(rules::compare_page))
        .route("/payments", get(payments::page_handler))
        .route("/contracts", get(contracts::list).post(contracts::add))
        .route("/contracts/new", get(contracts::new_form))
        .route("/contracts/{id}", get(contracts::show))
        .route(
            "/contracts/{id}/edit",
            get(contracts::edit_form).post(contracts::edit),
        )
        .route("/payments.csv", get(payments::csv))
        .route("/payments/issue", post(payments::issue))
        .route("/payments/transparency", get(transparency::page_handler))
        .route("/payments/transparency.csv", get(transparency::csv))
        .route("/exports", get(exports::page_handler))
        .route("/exports/{file}", get(exports::file))
        .route("/audit", get(audit_log::page_handler))
        .route("/market", get(market::overview))
        .route("/market/spend", get(market::spend))
        .route("/market/quality", get(market::quality))
        .route("/people", get(people::list).post(people::add))
        .route("/people/new", get(people::new_form))
        .route("/people/{id}", get(people::show).post(people::edit))
        .route(
            "/people/{id}/reset-password",
            get(people::reset_question).post(people::reset),
        )
        .route(
            "/people/{id}/disable",
            get(people::disable_question).post(people::disable),
        )
        .route("/people/{id}/enable", post(people::enable))
        .route(
            "/people/{id}/devices/{device}/sign-out",
            post(people::sign_out_device),
        )
        .route(
            "/people/{id}/sign-out-everywhere",
            post(people::sign_out_everywhere),
        )
        .route(
            "/people/{id}/caseload",
            get(people::caseload).post(people::save_caseload),
        )
        .route(
            "/locations/{id}/monitors",
            get(people::location_monitors).post(people::save_location_monitors),
        )
        .route("/plan", get(plan::page_handler).post(plan::add))
        .route("/plan/due", get(plan::due))
        .route("/plan/new", get(plan::new_form))
        .route("/plan/{id}", get(plan::show))
        .route("/plan/{id}/reassign", post(plan::reassign))
        .route("/plan/{id}/cancel", post(plan::cancel))
        .route("/imports", get(imports::page_handler))
        .route("/imports/{id}", get(imports::show))
        .route("/imports/{id}/import", post(imports::start))
        .route("/notices", get(notices::page_handler))
        .route("/notices/{id}/retry", post(notices::retry))
        .route("/account/notices", post(notices::save_preferences))
        .route("/account", get(account::page_handler))
        .route(
            "/account/password",
            get(account::password_form).post(account::change_password),
        )
        .route(
            "/account/devices/{device}/sign-out",
            post(account::sign_out_device),
        )
        .route(
            "/account/sign-out-everywhere",
            post(account::sign_out_everywhere),
        )
        .route("/visits/{id}", get(report::page_handler))
        .route(
            "/visits/{id}/appeals",
            get(appeals::for_visit).post(appeals::lodge),
        )
        .route("/appeals", get(appeals::list))
        .route("/appeals/{id}", get(appeals::show))
        .route("/appeals/{id}/decision", post(appeals::decide))
        .route("/appeals/{id}/withdraw", post(appeals::withdraw))
        .route("/retention", get(retention::page_handler))
        .route("/retention/rules", post(retention::add_rule))
        .route("/visits/{id}/history", get(history::list))
        .route("/visits/{id}/photos/{hash}", get(marks::photo))
        .route("/visits/{id}/revisions/{revision}", get(history::revision))
        .route(
            "/visits/{id}/revisions/{revision}/changes",
            get(history::changes),
        )
        .route(
            "/visits/{id}/compare-previous",
            get(history::compare_previous),
        )
        .route("/visits/{id}/comments", post(report::comment))
        .route("/visits/{id}/confirm", post(report::confirm))
        .route("/visits/{id}/files/{hash}", get(report::file))
}

async fn stylesheet() -> Response {
    let mut r = CSS.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// Routes that take files: they get a larger body limit than the rest.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/visits/{id}/actions/{action}/responses",
            post(report::respond),
        )
        .route("/imports", post(imports::upload))
}

/// A rendered page with the headers every page carries: no caching of personal pages, no
/// framing, no scripts, no sniffing.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// A failure shown as a page: the status and a plain message, inside the layout.
#[derive(Debug)]
pub struct PageError(pub ServiceError);

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> PageError {
        PageError(e)
    }
}

impl From<rusqlite::Error> for PageError {
    fn from(e: rusqlite::Error) -> PageError {
        PageError(ServiceError::from(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status_of(&e);
        let (title, text) = match status {
            // A visit removed under the retention schedule, to someone who may see its location.
            StatusCode::NOT_FOUND if e.message().contains("removed under retention rule") => (
                "This visit's record was removed",
                format!(
                    "{} Its scores stay with the tier decisions that rest on them.",
                    capital(e.message().trim_start_matches("no such visit: ").trim_end_matches('.'))
                        + "."
                ),
            ),
            StatusCode::NOT_FOUND => (
                "Page not found",
                "If you typed the web address, check it is correct. If you followed a link to a page you should be able to see, contact your council's quality team.".to_owned(),
            ),
            StatusCode::FORBIDDEN => ("You cannot do this", capital(&e.message())),
            s if s.is_server_error() => (
                "Sorry, there is a problem with the service",
                "Try again later. Nothing you entered has been saved.".to_owned(),
            ),
            _ => ("There is a problem", capital(&e.message())),
        };
        html(status, layout::error_page(title, &text))
    }
}

/// The page for an address that is no page of the portal.
pub fn not_found_page() -> PageError {
    PageError(ServiceError::not_found("page"))
}

/// Refuses any request other than GET or HEAD that a browser says came from another site
/// (`Origin`, or `Sec-Fetch-Site`), before it reaches a form handler: with the form keys this
/// stops cross-site form posts, login CSRF included.
pub async fn same_origin_only(
    req: axum::http::Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> Response {
    let safe = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if safe || session::same_origin(req.headers()) {
        next.run(req).await
    } else {
        PageError(ServiceError::forbidden(
            "this form was sent from another website, so it was refused. Go back to the page, reload it and try again",
        ))
        .into_response()
    }
}

/// The result of a page handler.
pub type PageResult = Result<Response, PageError>;

/// A form that carries only its key (buttons that act: share, publish, confirm, sign out).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    /// The session's form key.
    pub form_key: String,
}

/// An id from a page's path; anything else is a 404 for `what`.
pub(crate) fn path_id(text: &str, what: &str) -> Result<uuid::Uuid, PageError> {
    crate::access::parse_id(text, what).map_err(|_| PageError(ServiceError::not_found(what)))
}

/// A message from the core as the first words of a sentence.
pub(crate) fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
