//! Visit planning for leads and commissioners (and a monitor's own plans): planned visits as a
//! list and as a month calendar, filtered by monitor; what is due and not yet planned, riskiest
//! first, each planned in one step; a plan's page to move it to another day or monitors, or
//! cancel it. Every action is one call to `service::planning`.

use std::collections::HashMap;

use accredit_shared::api::{DueVisitRow, PlanStatus, PlannedVisit};
use accredit_shared::calendar::{add_days, month_period, parse_month};
use accredit_shared::labels::long_date;
use accredit_shared::records::VisitType;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate};
use dioxus::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::fields::value;
use super::layout::{
    FieldError, Section, error_summary, field_error, form_key, light_tag, number, page,
};
use super::records::{date_input, from_key, key_of, read_date};
use super::session::{Viewer, see_other, url_encode};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::planning::{self, PlanFilter, PlanInput};
use crate::state::AppState;

const TYPES: [VisitType; 5] = [
    VisitType::Annual,
    VisitType::FollowUp,
    VisitType::ConcernLed,
    VisitType::Unannounced,
    VisitType::Themed,
];

/// How a plan's progress reads.
pub fn status_text(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Planned => "Planned",
        PlanStatus::Started => "Started",
        PlanStatus::SignedOff => "Signed off",
        PlanStatus::Published => "Published",
        PlanStatus::Cancelled => "Cancelled",
    }
}

fn monitors_text(p: &PlannedVisit) -> String {
    p.monitors
        .iter()
        .map(|(_, n)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plan page's filters.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PlanQuery {
    monitor: String,
    view: String,
    month: String,
    all: String,
    done: String,
}

/// Enabled monitors, for filters and forms.
fn monitors(s: &AppState) -> Result<Vec<(Uuid, String)>, ServiceError> {
    s.db.read(|tx| {
        let mut stmt = tx.prepare(
            "SELECT id, display_name FROM users WHERE role = 'monitor' AND disabled = 0 ORDER BY display_name COLLATE NOCASE",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, n)| Ok((crate::db::stored_id(&id)?, n)))
            .collect()
    })
}

/// Planned visits, as a list or a month calendar.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PlanQuery>,
) -> PageResult {
    if viewer.caller.role == Role::Provider {
        return Err(PageError(ServiceError::not_found("page")));
    }
    let today = state.today();
    let month = if q.month.is_empty() {
        month_period(today.year(), today.month())
    } else {
        parse_month(&q.month).ok()
    }
    .ok_or_else(|| ServiceError::bad_request("choose a month like 2026-12"))?;
    let calendar = q.view == "calendar";
    let monitor = Uuid::parse_str(q.monitor.trim()).ok();
    let filter = PlanFilter {
        monitor,
        from: if calendar { Some(month.from) } else { None },
        to: if calendar { Some(month.to) } else { None },
        location: None,
        all: calendar || q.all == "yes",
    };
    let caller = viewer.caller.clone();
    let leads = viewer.caller.sees_all();
    // The due list is not counted here: it reads every location's records (a second at
    // national scale), so it is built only on its own page.
    let (plans, staff) = state
        .blocking(move |s| {
            let plans = planning::plans(s, &caller, &filter)?;
            let staff = if caller.sees_all() {
                monitors(s)?
            } else {
                Vec::new()
            };
            Ok((plans, staff))
        })
        .await?;
    let notice = match q.done.as_str() {
        "planned" => Some("Visit planned. The monitors see it on their tablets at the next sync."),
        "reassigned" => Some("Visit moved."),
        "cancelled" => Some("Planned visit cancelled."),
        _ => None,
    };
    let month_key = format!("{:04}-{:02}", month.from.year(), month.from.month());
    let prev = add_days(month.from, -1);
    let next = add_days(month.to, 1);
    let base = |view: &str, m: NaiveDate| {
        format!(
            "/plan?view={view}&month={:04}-{:02}&monitor={}",
            m.year(),
            m.month(),
            url_encode(&q.monitor)
        )
    };
    let mut by_day: HashMap<NaiveDate, Vec<&PlannedVisit>> = HashMap::new();
    for p in &plans {
        by_day.entry(p.planned_on).or_default().push(p);
    }
    // Weeks from the Monday on or before the 1st to the Sunday on or after the last day.
    let first = add_days(
        month.from,
        -(i64::from(month.from.weekday().num_days_from_monday())),
    );
    let mut weeks: Vec<Vec<NaiveDate>> = Vec::new();
    let mut d = first;
    while d <= month.to {
        weeks.push((0..7).map(|i| add_days(d, i)).collect());
        d = add_days(d, 7);
    }
    let month_label = month.from.format("%B %Y").to_string();
    let heading = if leads {
        "Visit plan"
    } else {
        "Your planned visits"
    };
    let body = rsx! {
        if let Some(n) = notice {
            div { class: "notification success", role: "status", id: "notification", p { "{n}" } }
        }
        h1 { "{heading}" }
        if leads {
            p {
                a { class: "button", href: "/plan/due", id: "due-link", "Visits due and not planned" }
            }
        }
        form { class: "filters", method: "get", action: "/plan", role: "search", aria_label: "Filter the plan",
            input { r#type: "hidden", name: "view", value: if calendar { "calendar" } else { "list" } }
            input { r#type: "hidden", name: "month", value: "{month_key}" }
            if leads {
                div { class: "form-group",
                    label { class: "label", r#for: "monitor", "Monitor" }
                    select { class: "select", id: "monitor", name: "monitor",
                        option { value: "", "All monitors" }
                        for (id, name) in staff.iter() {
                            option { key: "{id}", value: "{id}", selected: Some(*id) == monitor, "{name}" }
                        }
                    }
                }
            }
            if !calendar {
                div { class: "form-group",
                    div { class: "checkbox",
                        input { r#type: "checkbox", id: "all", name: "all", value: "yes", checked: q.all == "yes" }
                        label { r#for: "all", "Include published and cancelled" }
                    }
                }
            }
            button { class: "button secondary", r#type: "submit", "Show" }
        }
        nav { class: "inline-links", aria_label: "Views",
            a { href: base("list", month.from), aria_current: if calendar { "false" } else { "page" }, "List" }
            a { href: base("calendar", month.from), aria_current: if calendar { "page" } else { "false" }, id: "calendar-link", "Month calendar" }
        }
        if calendar {
            div { class: "month-nav",
                a { href: base("calendar", prev), id: "previous-month", "Previous month" }
                h2 { id: "month-title", "{month_label}" }
                a { href: base("calendar", next), id: "next-month", "Next month" }
            }
            table { class: "table calendar", id: "calendar",
                caption { class: "visually-hidden", "Planned visits in {month_label}" }
                thead { tr { for d in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] { th { key: "{d}", scope: "col", abbr: "{d}", {d[..3].to_owned()} } } } }
                tbody {
                    for week in weeks.iter() {
                        tr { key: "{week[0]}",
                            for day in week.iter() {
                                td { key: "{day}", class: if day.month() != month.from.month() { "other-month" } else if *day == today { "today" } else { "" },
                                    span { class: "day-number", aria_label: long_date(*day), "{day.day()}" }
                                    ul {
                                        for p in by_day.get(day).into_iter().flatten() {
                                            li { key: "{p.id}", class: if p.status == PlanStatus::Cancelled { "cancelled" } else { "" },
                                                a { href: "/plan/{p.id}", "{p.location_name}" }
                                                br {}
                                                span { class: "hint", {format!("{} · {}", status_text(p.status), monitors_text(p))} }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } else if plans.is_empty() {
            p { id: "no-plans", "No visits planned." }
        } else {
            table { class: "table", id: "plans",
                caption { class: "visually-hidden", "Planned visits" }
                thead { tr { th { scope: "col", "Day" } th { scope: "col", "Location" } th { scope: "col", "Visit" } th { scope: "col", "Monitors" } th { scope: "col", "Status" } } }
                tbody {
                    for p in plans.iter() {
                        tr { key: "{p.id}",
                            td { a { href: "/plan/{p.id}", {long_date(p.planned_on)} } }
                            td { a { href: "/locations/{p.location_id}", "{p.location_name}" } }
                            td { {p.visit_type.label()} if !p.reason.is_empty() { br {} span { class: "hint", "{p.reason}" } } }
                            td { {monitors_text(p)} }
                            td { {status_text(p.status)} }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(heading, Some(&viewer), Section::Plan, body),
    ))
}

/// The due list's query.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DueQuery {
    page: usize,
}

const DUE_PAGE: usize = 50;

fn due_row_form(
    viewer: &Viewer,
    r: &DueVisitRow,
    today: NaiveDate,
    staff: &[(Uuid, String)],
    i: usize,
) -> Element {
    let day = r.due.due_on.max(add_days(today, 1));
    let first = r.monitors.first().map(|m| m.0);
    let id = format!("due-{i}");
    rsx! {
        form { method: "post", action: "/plan", class: "plan-now", novalidate: true,
            {form_key(viewer)}
            input { r#type: "hidden", name: "location", value: "{r.due.location_id}" }
            input { r#type: "hidden", name: "visit_type", value: key_of(r.due.visit_type) }
            input { r#type: "hidden", name: "reason", value: "{r.reason_text}" }
            input { r#type: "hidden", name: "from", value: "due" }
            label { class: "visually-hidden", r#for: "{id}-day-input", {format!("Day of the visit to {}", r.location_name)} }
            input { class: "input w10", r#type: "date", id: "{id}-day-input", name: "day", value: "{day}" }
            label { class: "visually-hidden", r#for: "{id}-monitor", {format!("Monitor for {}", r.location_name)} }
            select { class: "select", id: "{id}-monitor", name: "monitor",
                option { value: "", "Choose a monitor" }
                for (m, n) in staff.iter() { option { key: "{m}", value: "{m}", selected: Some(*m) == first, "{n}" } }
            }
            button { class: "button secondary", r#type: "submit", "Plan", span { class: "visually-hidden", " a visit to {r.location_name}" } }
        }
    }
}

/// What is due and not yet planned, riskiest first, each plannable in one step.
pub async fn due(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DueQuery>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (rows, staff) = state
        .blocking(move |s| Ok((planning::due_list(s, &caller)?, monitors(s)?)))
        .await?;
    let today = state.today();
    let pages = rows.len().div_ceil(DUE_PAGE).max(1);
    let page_no = q.page.clamp(1, pages);
    let shown: Vec<_> = rows
        .iter()
        .enumerate()
        .skip((page_no - 1) * DUE_PAGE)
        .take(DUE_PAGE)
        .collect();
    let overdue = rows.iter().filter(|r| r.due.due_on < today).count();
    let body = rsx! {
        h1 { "Due and not planned" }
        p { class: "lede", {format!("{} due, {} of them overdue, riskiest first: red, then amber, then green; the earliest due first within each.", number(rows.len()), number(overdue))} }
        p { "Choose a day and a monitor and press Plan: the visit is planned at once and reaches the monitor's tablet at its next sync. The monitor gets the location on their caseload if it is not there yet." }
        if rows.is_empty() {
            p { id: "nothing-due", "Nothing is due that is not planned." }
        } else {
            table { class: "table", id: "due",
                caption { class: "visually-hidden", "Visits due and not planned" }
                thead { tr { th { scope: "col", "Location" } th { scope: "col", "Why" } th { scope: "col", "Due by" } th { scope: "col", "Plan it" } } }
                tbody {
                    for (i, r) in shown.iter() {
                        tr { key: "{r.due.location_id}-{i}",
                            td { a { href: "/locations/{r.due.location_id}", "{r.location_name}" } br {} {light_tag(r.traffic_light)} }
                            td { {capital(&r.reason_text)} br {} span { class: "hint", {r.due.visit_type.label()} } }
                            td { class: if r.due.due_on < today { "overdue" } else { "" }, {long_date(r.due.due_on)} if r.due.due_on < today { br {} strong { "Overdue" } } }
                            td { {due_row_form(&viewer, r, today, &staff, *i)} }
                        }
                    }
                }
            }
            if pages > 1 {
                nav { class: "inline-links", aria_label: "Pages",
                    if page_no > 1 { a { href: "/plan/due?page={page_no - 1}", "Previous page" } }
                    span { {format!("Page {page_no} of {pages}")} }
                    if page_no < pages { a { href: "/plan/due?page={page_no + 1}", "Next page" } }
                }
            }
        }
        p { a { href: "/plan", "Back to the plan" } }
    };
    Ok(html(
        StatusCode::OK,
        page("Due and not planned", Some(&viewer), Section::Plan, body),
    ))
}

/// The form page's query: the location to plan for.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    location: String,
}

async fn plan_form(
    state: &AppState,
    viewer: &Viewer,
    location: Uuid,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let (name, staff, covering) = state
        .blocking(move |s| {
            let name =
                s.db.read(|tx| crate::tiers::location(tx, location))?
                    .ok_or_else(|| ServiceError::not_found("location"))?
                    .0
                    .name;
            let covering = s.db.read(|tx| {
                crate::db::query_ids(
                    tx,
                    "SELECT monitor_id FROM caseload WHERE location_id = ?1",
                    [location.to_string()],
                )
            })?;
            Ok((name, monitors(s)?, covering))
        })
        .await?;
    let chosen: Vec<String> = f
        .get("monitors")
        .map(|m| m.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| covering.iter().take(1).map(Uuid::to_string).collect());
    let types: Vec<(String, String)> = TYPES
        .iter()
        .map(|t| (key_of(*t), t.label().to_owned()))
        .collect();
    let body = rsx! {
        div { class: "narrow",
            {error_summary(&errors)}
            span { class: "caption", "{name}" }
            h1 { "Plan a visit" }
            form { method: "post", action: "/plan", novalidate: true,
                {form_key(viewer)}
                input { r#type: "hidden", name: "location", value: "{location}" }
                {super::fields::select("visit_type", "Kind of visit", "Choose the kind of visit", &types, &f, &errors)}
                {date_input("planned", "Day of the visit", "For example, 14 1 2027", &f, &errors)}
                div { class: if errors.iter().any(|e| e.field == "monitors") { "form-group form-group-error" } else { "form-group" },
                    fieldset { class: "fieldset", id: "monitors",
                        legend { class: "legend", "Monitors" }
                        div { class: "hint", "Select up to four. Those who do not cover {name} yet get it on their caseload." }
                        {field_error(&errors, "monitors")}
                        for (m, n) in staff.iter() {
                            div { key: "{m}", class: "checkbox",
                                input { r#type: "checkbox", id: "monitor-{m}", name: "monitor", value: "{m}", checked: chosen.contains(&m.to_string()) }
                                label { r#for: "monitor-{m}", "{n}" }
                            }
                        }
                    }
                }
                button { class: "button", r#type: "submit", "Plan visit" }
                a { class: "link-cancel", href: "/locations/{location}", "Cancel" }
            }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = if errors.is_empty() {
        "Plan a visit"
    } else {
        "Error: Plan a visit"
    };
    Ok(html(status, page(title, Some(viewer), Section::Plan, body)))
}

/// The form to plan a visit to a location.
pub async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NewQuery>,
) -> PageResult {
    viewer.caller.require(&[Role::Lead, Role::Commissioner])?;
    let location = path_id(&q.location, "location")?;
    plan_form(&state, &viewer, location, HashMap::new(), Vec::new()).await
}

/// Plans a visit, from the form or from a row of the due list.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let mut f: HashMap<String, String> = HashMap::new();
    let mut chosen = Vec::new();
    for (k, v) in pairs {
        if k == "monitor" {
            if !v.is_empty() {
                chosen.push(v);
            }
        } else {
            f.insert(k, v);
        }
    }
    f.insert("monitors".into(), chosen.join(","));
    check_key(&viewer, &value(&f, "form_key"))?;
    viewer.caller.require(&[Role::Lead, Role::Commissioner])?;
    let location = path_id(&value(&f, "location"), "location")?;
    let from_due = value(&f, "from") == "due";
    let mut errors = Vec::new();
    let planned_on = if from_due {
        match accredit_shared::calendar::parse_date(value(&f, "day").trim()) {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new("planned-day", "Enter the day of the visit"));
                None
            }
        }
    } else {
        read_date(&f, "planned", "the day of the visit", &mut errors)
    };
    let monitors: Vec<Uuid> = chosen
        .iter()
        .filter_map(|m| Uuid::parse_str(m).ok())
        .collect();
    let input = PlanInput {
        location_id: location,
        visit_type: from_key(&value(&f, "visit_type")),
        planned_on,
        monitors,
        reason: value(&f, "reason"),
    };
    for r in planning::check_plan(&input, state.today()) {
        let field = match r.field {
            "planned_on" => "planned-day",
            other => other,
        };
        if !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(field, capital(&r.message)));
        }
    }
    if !errors.is_empty() {
        return plan_form(&state, &viewer, location, f, errors).await;
    }
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| planning::plan_visit(s, &caller, &input))
        .await
    {
        Ok(_) if from_due => Ok(see_other("/plan/due")),
        Ok(_) => Ok(see_other("/plan?done=planned")),
        Err(e) if e.is_refusal() => {
            plan_form(
                &state,
                &viewer,
                location,
                f,
                vec![FieldError::new("planned-day", capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn plan_page(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    f: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (p, staff) = state
        .blocking(move |s| {
            Ok((
                planning::plan(s, &caller, id)?,
                if caller.sees_all() {
                    monitors(s)?
                } else {
                    Vec::new()
                },
            ))
        })
        .await?;
    let leads = viewer.caller.sees_all();
    let open = !matches!(p.status, PlanStatus::Cancelled | PlanStatus::Published);
    let mut f = f;
    if f.is_empty() {
        f.insert("planned-day".into(), p.planned_on.day().to_string());
        f.insert("planned-month".into(), p.planned_on.month().to_string());
        f.insert("planned-year".into(), p.planned_on.year().to_string());
    }
    let on: Vec<Uuid> = p.monitors.iter().map(|m| m.0).collect();
    let body = rsx! {
        {error_summary(&errors)}
        span { class: "caption", "{p.location_name}" }
        h1 { {format!("{} on {}", p.visit_type.label(), long_date(p.planned_on))} }
        dl { class: "summary-list", id: "plan",
            div { dt { "Location" } dd { a { href: "/locations/{p.location_id}", "{p.location_name}" } } }
            div { dt { "Monitors" } dd { {monitors_text(&p)} } }
            div { dt { "Status" } dd { id: "plan-status", {status_text(p.status)}
                if let Some(v) = p.visit_id { if matches!(p.status, PlanStatus::SignedOff | PlanStatus::Published) { " · " a { href: "/visits/{v}", "the visit" } } }
            } }
            if !p.reason.is_empty() { div { dt { "Why" } dd { {capital(&p.reason)} } } }
        }
        if leads && open {
            form { method: "post", action: "/plan/{p.id}/reassign", novalidate: true, class: "panel",
                h2 { "Move or reassign" }
                {form_key(viewer)}
                {date_input("planned", "Day of the visit", "For example, 14 1 2027", &f, &errors)}
                fieldset { class: "fieldset form-group", id: "monitors",
                    legend { class: "legend", "Monitors" }
                    {field_error(&errors, "monitors")}
                    for (m, n) in staff.iter() {
                        div { key: "{m}", class: "checkbox",
                            input { r#type: "checkbox", id: "monitor-{m}", name: "monitor", value: "{m}", checked: on.contains(m) }
                            label { r#for: "monitor-{m}", "{n}" }
                        }
                    }
                }
                button { class: "button", r#type: "submit", "Save changes" }
            }
            form { method: "post", action: "/plan/{p.id}/cancel", novalidate: true, class: "panel",
                h2 { "Cancel this visit" }
                {form_key(viewer)}
                {super::fields::text_input("cancel_reason", "Why is it cancelled?", "For the record, for example: the provider asked to move it.", &f, &errors, "text", "off")}
                button { class: "button warning", r#type: "submit", "Cancel visit" }
            }
        }
        p { a { href: "/plan", "Back to the plan" } }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = if errors.is_empty() {
        "Planned visit".to_owned()
    } else {
        "Error: Planned visit".to_owned()
    };
    Ok(html(
        status,
        page(&title, Some(viewer), Section::Plan, body),
    ))
}

/// A planned visit.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "planned visit")?;
    plan_page(&state, &viewer, id, HashMap::new(), Vec::new()).await
}

/// Moves or reassigns a planned visit.
pub async fn reassign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = path_id(&id, "planned visit")?;
    let mut f: HashMap<String, String> = HashMap::new();
    let mut chosen = Vec::new();
    for (k, v) in pairs {
        if k == "monitor" {
            chosen.push(v);
        } else {
            f.insert(k, v);
        }
    }
    check_key(&viewer, &value(&f, "form_key"))?;
    let mut errors = Vec::new();
    let day = read_date(&f, "planned", "the day of the visit", &mut errors);
    let monitors: Vec<Uuid> = chosen
        .iter()
        .filter_map(|m| Uuid::parse_str(m).ok())
        .collect();
    if errors.is_empty() {
        let caller = viewer.caller.clone();
        let m = monitors.clone();
        match state
            .blocking(move |s| planning::reassign(s, &caller, id, day, &m))
            .await
        {
            Ok(()) => return Ok(see_other("/plan?done=reassigned")),
            Err(e) if e.is_refusal() => {
                let field = if monitors.is_empty() || e.message().contains("monitor") {
                    "monitors"
                } else {
                    "planned-day"
                };
                errors.push(FieldError::new(field, capital(&e.message())));
            }
            Err(e) => return Err(PageError(e)),
        }
    }
    plan_page(&state, &viewer, id, f, errors).await
}

/// Cancels a planned visit.
pub async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "planned visit")?;
    check_key(&viewer, &value(&f, "form_key"))?;
    let reason = value(&f, "cancel_reason");
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| planning::cancel(s, &caller, id, &reason))
        .await
    {
        Ok(()) => Ok(see_other("/plan?done=cancelled")),
        Err(e) if e.is_refusal() => {
            plan_page(
                &state,
                &viewer,
                id,
                f,
                vec![FieldError::new("cancel_reason", capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}
