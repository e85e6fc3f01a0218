//! The page frame (skip link, header with the navigation a role needs, main, footer) and the
//! pieces every page uses: the error summary, form keys, tags and money.

use accredit_shared::Pence;
use accredit_shared::labels::long_date;
use accredit_shared::warning::Light;
use chrono::NaiveDate;
use dioxus::prelude::*;

use super::session::Viewer;
use crate::auth::Role;

/// Escapes text for HTML outside the renderer (the document head).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Which section of the navigation a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Locations and their status.
    Locations,
    /// The lead's review queue.
    Review,
    /// Rules and what-if.
    Rules,
    /// Payments.
    Payments,
    /// Contracts (withhold and release).
    Contracts,
    /// The audit log.
    Audit,
    /// People, their devices and caseloads.
    People,
    /// CSV imports.
    Imports,
    /// Visit planning.
    Plan,
    /// Exports for business intelligence.
    Exports,
    /// The view of the whole market.
    Market,
    /// Records retention.
    Retention,
    /// Appeals against published visits.
    Appeals,
    /// The hub of data and records pages (exports, audit log, imports, retention, appeals).
    Data,
    /// The public register.
    Register,
    /// Sign-in and other pages outside the sections.
    None,
}

fn nav_items(role: Role) -> Vec<(&'static str, &'static str, Section)> {
    let mut items = vec![("Locations", "/locations", Section::Locations)];
    if role == Role::Monitor {
        items.push(("Your visits", "/plan", Section::Plan));
    }
    if role == Role::Provider {
        // Their own premium lines, contracts and appeals only: the services filter by provider.
        items.push(("Payments", "/payments", Section::Payments));
        items.push(("Contracts", "/contracts", Section::Contracts));
        items.push(("Appeals", "/appeals", Section::Appeals));
    }
    if matches!(role, Role::Lead | Role::Commissioner) {
        items.push(("Plan", "/plan", Section::Plan));
        items.push(("Review", "/review", Section::Review));
        items.push(("Payments", "/payments", Section::Payments));
        items.push(("Market", "/market", Section::Market));
        items.push(("Contracts", "/contracts", Section::Contracts));
        items.push(("Rules", "/rules", Section::Rules));
    }
    if role == Role::Commissioner {
        items.push(("People", "/people", Section::People));
    }
    if matches!(role, Role::Lead | Role::Commissioner) {
        // Exports, the audit log, imports, retention and appeals share one hub, so the menu
        // fits a tablet's width on one line.
        items.push(("Data", "/data", Section::Data));
    }
    items
}

/// The menu item a page's section shows as current: the hub's pages mark the hub for the
/// council's staff (providers have Appeals in the menu itself).
fn current_item(item: Section, page: Section, role: Role) -> bool {
    let in_hub = matches!(
        page,
        Section::Exports | Section::Audit | Section::Imports | Section::Retention
    ) || (page == Section::Appeals && role != Role::Provider);
    item == page || (item == Section::Data && in_hub)
}

/// A whole HTML document around `body`.
pub fn page(title: &str, viewer: Option<&Viewer>, section: Section, body: Element) -> String {
    page_refreshing(title, viewer, section, body, None)
}

/// A form page: its title starts "Error: " while the form has errors, as GOV.UK asks, so a
/// screen reader hears at once that the submission failed.
pub fn error_titled_page(
    title: &str,
    has_errors: bool,
    viewer: Option<&Viewer>,
    section: Section,
    body: Element,
) -> String {
    let title = if has_errors {
        format!("Error: {title}")
    } else {
        title.to_owned()
    };
    page(&title, viewer, section, body)
}

/// A form page's response: 400, with "Error: " before its title, while the form has errors;
/// otherwise 200.
pub fn form_response(
    title: &str,
    errors: &[FieldError],
    viewer: &Viewer,
    section: Section,
    body: Element,
) -> axum::response::Response {
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::BAD_REQUEST
    };
    super::html(
        status,
        error_titled_page(title, !errors.is_empty(), Some(viewer), section, body),
    )
}

/// A page that reloads itself every `refresh` seconds (an import in progress), with no script.
pub fn page_refreshing(
    title: &str,
    viewer: Option<&Viewer>,
    section: Section,
    body: Element,
    refresh: Option<u32>,
) -> String {
    let frame = frame(viewer, section, body);
    let rendered = dioxus_ssr::render_element(frame);
    let refresh = refresh
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{refresh}<title>{} – Accredit</title><link rel=\"stylesheet\" href=\"/assets/portal.css\"></head><body>{rendered}</body></html>",
        escape(title)
    )
}

fn frame(viewer: Option<&Viewer>, section: Section, body: Element) -> Element {
    let who = viewer.map(|v| {
        (
            v.caller.name.clone(),
            v.form_key.clone(),
            nav_items(v.caller.role),
            v.caller.role,
        )
    });
    rsx! {
        a { class: "skip-link", href: "#main-content", "Skip to main content" }
        header { class: "header",
            div { class: "header-inner",
                a { class: "product", href: "/", "Accredit" }
                span { class: "service", "Care quality accreditation" }
                if let Some((name, key, items, role)) = who {
                    nav { aria_label: "Menu",
                        ul {
                            for (label, href, s) in items {
                                li { key: "{href}",
                                    a {
                                        href: "{href}",
                                        aria_current: if current_item(s, section, role) { "page" } else { "false" },
                                        "{label}"
                                    }
                                }
                            }
                        }
                    }
                    div { class: "account",
                        a { href: "/account", id: "your-account", "{name}" }
                        form { method: "post", action: "/sign-out",
                            input { r#type: "hidden", name: "form_key", value: "{key}" }
                            button { class: "link-button", r#type: "submit", "Sign out" }
                        }
                    }
                } else {
                    nav { aria_label: "Menu",
                        ul {
                            li { a { href: "/register", aria_current: if section == Section::Register { "page" } else { "false" }, "Public register" } }
                            li { a { href: "/sign-in", "Sign in" } }
                        }
                    }
                }
            }
        }
        div { class: "width",
            main { id: "main-content", tabindex: "-1", {body} }
        }
        footer { class: "footer",
            div { class: "width",
                a { href: "/register", "Register of accredited care services" }
                " · Accredit is open-source software run by your council."
            }
        }
    }
}

/// A page saying what went wrong.
pub fn error_page(title: &str, text: &str) -> String {
    page(
        title,
        None,
        Section::None,
        rsx! {
            h1 { "{title}" }
            p { "{text}" }
            p { a { href: "/", "Go to the start page" } }
        },
    )
}

/// One problem with a form: the field's id and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The id of the field to fix.
    pub field: String,
    /// What is wrong, as an instruction.
    pub message: String,
}

impl FieldError {
    /// A problem with a field.
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The GOV.UK error summary: a titled box at the top with a link to each field to fix.
pub fn error_summary(errors: &[FieldError]) -> Element {
    if errors.is_empty() {
        return rsx! {};
    }
    rsx! {
        div { class: "error-summary", role: "alert", aria_labelledby: "error-summary-title", tabindex: "-1",
            h2 { id: "error-summary-title", "There is a problem" }
            ul {
                for e in errors.iter() {
                    li { key: "{e.field}", a { href: "#{e.field}", "{e.message}" } }
                }
            }
        }
    }
}

/// The message for a field, shown above it as GOV.UK does.
pub fn field_error(errors: &[FieldError], field: &str) -> Element {
    match errors.iter().find(|e| e.field == field) {
        Some(e) => rsx! {
            p { class: "error-message", id: "{field}-error",
                span { class: "visually-hidden", "Error: " }
                "{e.message}"
            }
        },
        None => rsx! {},
    }
}

/// The hidden field every form carries.
pub fn form_key(viewer: &Viewer) -> Element {
    rsx! { input { r#type: "hidden", name: "form_key", value: "{viewer.form_key}" } }
}

/// Pounds and pence as people write them: `£1,234.50`, `-£5.00`.
pub fn money(p: i64) -> String {
    let plain = Pence(p.abs()).to_pounds_string();
    let (pounds, pence) = plain.split_once('.').unwrap_or((plain.as_str(), "00"));
    let mut grouped = String::new();
    for (i, c) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}£{grouped}.{pence}", if p < 0 { "-" } else { "" })
}

/// A stored instant (RFC 3339) as a London time, or a dash when there is none. A stored time
/// that does not read is shown as it is rather than hidden.
pub fn when(at: Option<&str>) -> String {
    match at {
        None => "—".to_owned(),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| accredit_shared::labels::london_time(d.with_timezone(&chrono::Utc)))
            .unwrap_or_else(|_| t.to_owned()),
    }
}

/// A whole number with thousands separated: `10,000`.
pub fn number(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A day, or a dash.
pub fn day(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "—".to_owned(), long_date)
}

/// A traffic light as a tag that reads without colour.
pub fn light_tag(light: Light) -> Element {
    let (class, text) = match light {
        Light::Red => ("tag red", "Red"),
        Light::Amber => ("tag amber", "Amber"),
        Light::Green => ("tag green", "Green"),
    };
    rsx! { strong { class: "{class}", "{text}" } }
}

/// A tier name, or "No tier".
pub fn tier_text(tier: Option<&str>) -> String {
    tier.map_or_else(|| "No tier".to_owned(), str::to_owned)
}
