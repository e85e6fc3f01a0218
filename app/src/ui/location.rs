//! A location's page: profile, previous visits with scores per domain, open actions, and
//! starting a visit.

use accredit_shared::money::Pence;
use accredit_shared::ratio::percent_text;
use accredit_shared::records::VisitType;
use dioxus::prelude::*;
use uuid::Uuid;

use super::caseload::{day, light, today};
use super::{AppContext, Screen, Ui, form_text};
use crate::caseload::priority_label;

fn visit_type(s: &str) -> VisitType {
    match s {
        "unannounced" => VisitType::Unannounced,
        "follow_up" => VisitType::FollowUp,
        "concern_led" => VisitType::ConcernLed,
        "themed" => VisitType::Themed,
        _ => VisitType::Annual,
    }
}

#[component]
pub(super) fn LocationScreen(id: Uuid) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let detail = ctx.ws().location(id, today());
    let detail = match detail {
        Ok(d) => d,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    let loc = detail.entry.location.clone();
    let (class, words) = light(loc.traffic_light);
    let start = {
        let ctx = ctx.clone();
        move |e: FormEvent| {
            e.prevent_default();
            let kind = form_text(&e, "visit_type");
            let announced = form_text(&e, "announced") != "no";
            if let Some(visit) = ui.act(&ctx, |w| {
                w.start_visit(id, visit_type(&kind), announced, chrono::Utc::now())
            }) {
                ui.go(Screen::Visit(visit));
            }
        }
    };
    let latest = detail.history.first().map(|(v, _)| v.clone());
    let planned = detail.entry.next_planned.clone();
    let start_planned = {
        let ctx = ctx.clone();
        move |e: FormEvent| {
            e.prevent_default();
            let plan = form_text(&e, "plan");
            let announced = form_text(&e, "announced") != "no";
            let Ok(plan) = Uuid::parse_str(&plan) else {
                ui.error(
                    "That planned visit is not on this tablet any more: sync, then try again."
                        .to_owned(),
                );
                return;
            };
            if let Some(visit) = ui.act(&ctx, |w| {
                w.start_planned_visit(plan, announced, chrono::Utc::now())
            }) {
                ui.go(Screen::Visit(visit));
            }
        }
    };
    rsx! {
        p { button { class: "button secondary", id: "back", onclick: move |_| ui.go(Screen::Caseload), "Back to caseload" } }
        h1 { "{loc.name}" }
        div { class: "row",
            span { class: "tag {class}", "{words}" }
            for r in loc.traffic_light_reasons.iter() { span { class: "caption", "{r}" } }
        }
        table { class: "table", style: "max-width: 900px; margin: 12px 0",
            tbody {
                tr { th { scope: "row", "Address" } td { "{loc.address}" } }
                tr { th { scope: "row", "CQC location" } td { "{loc.cqc_location_id}" } }
                tr { th { scope: "row", "Service" } td { {loc.service_type.replace('_', " ")} } }
                tr { th { scope: "row", "Tier" } td { {loc.tier.clone().unwrap_or_else(|| "None".to_owned())} ", " {Pence(loc.weekly_premium_pence).to_string()} " a week per placement" } }
                tr { th { scope: "row", "Last visit" } td { {day(detail.entry.last_visit_on)} } }
                tr { th { scope: "row", "Next visit due" } td { {day(loc.next_visit_due_on)} } }
            }
        }
        if !detail.drafts.is_empty() {
            h2 { "Continue a visit" }
            ul { class: "plain",
                for d in detail.drafts.iter() {
                    li { key: "{d.id}",
                        button { class: "button", id: "continue-{d.id}", onclick: { let v = d.id; move |_| ui.go(Screen::Visit(v)) },
                            {format!("Continue the visit started {} ({} of {} answered)", day(Some(d.started_on)), d.answered, d.criteria)}
                        }
                    }
                }
            }
        }
        if let Some(p) = &planned {
            h2 { "Planned visit" }
            form { onsubmit: start_planned, class: "panel", style: "max-width: 900px",
                p { strong { {format!("{} on {}", p.visit_type.label(), day(Some(p.planned_on)))} }
                    if p.monitors.len() > 1 { {format!(" with {}", p.monitors.iter().map(|m| m.1.as_str()).collect::<Vec<_>>().join(", "))} }
                }
                if !p.reason.is_empty() { p { class: "caption", "{p.reason}" } }
                input { r#type: "hidden", name: "plan", value: "{p.id}" }
                div { class: "field",
                    label { r#for: "planned-announced", "Was the provider told in advance?" }
                    select { id: "planned-announced", name: "announced",
                        option { value: "yes", "Yes, announced" }
                        option { value: "no", "No, unannounced" }
                    }
                }
                button { class: "button", r#type: "submit", id: "start-planned-visit", "Start the planned visit" }
            }
        }
        h2 { if planned.is_some() { "Start an unplanned visit" } else if detail.drafts.is_empty() { "Start a visit" } else { "Start another visit" } }
        if !detail.drafts.is_empty() {
            p { class: "hint", "Only for a different visit: the visit above keeps everything recorded so far." }
        }
        form { onsubmit: start, class: "panel", style: "max-width: 900px",
            div { class: "row",
                div { class: "field", style: "flex: 1",
                    label { r#for: "visit-type", "Type of visit" }
                    select { id: "visit-type", name: "visit_type",
                        option { value: "annual", "Annual" }
                        option { value: "unannounced", "Unannounced" }
                        option { value: "follow_up", "Follow-up" }
                        option { value: "concern_led", "Concern-led" }
                        option { value: "themed", "Themed" }
                    }
                }
                div { class: "field", style: "flex: 1",
                    label { r#for: "announced", "Was the provider told in advance?" }
                    select { id: "announced", name: "announced",
                        option { value: "yes", "Yes, announced" }
                        option { value: "no", "No, unannounced" }
                    }
                }
            }
            button {
                class: if detail.drafts.is_empty() { "button" } else { "button secondary" },
                r#type: "submit",
                id: "start-visit",
                if detail.drafts.is_empty() { "Start visit" } else { "Start another visit" }
            }
        }
        if detail.on_device.iter().any(|r| r.signed_off) {
            h2 { "Signed off on this tablet" }
            ul {
                for row in detail.on_device.iter().filter(|r| r.signed_off) {
                    li { key: "{row.id}",
                        button { class: "button secondary", id: "open-{row.id}", onclick: { let v = row.id; move |_| ui.go(Screen::Visit(v)) },
                            {format!("Visit started {}", row.started_at.get(..10).unwrap_or_default())}
                        }
                    }
                }
            }
        }
        h2 { "Previous visits" }
        if detail.history.is_empty() {
            p { "No previous visits are recorded." }
        } else {
            table { class: "table",
                thead { tr {
                    th { scope: "col", "Date" } th { scope: "col", "Type" } th { scope: "col", "Status" } th { scope: "col", "Overall" }
                    if let Some(s) = detail.history.iter().find_map(|(_, s)| s.as_ref()) {
                        for d in s.domains.iter() { th { scope: "col", key: "{d.domain_id}", "{d.title}" } }
                    }
                } }
                tbody {
                    for (v, s) in detail.history.iter() {
                        tr { key: "{v.id}",
                            td { {v.visited_on.format("%-d %b %Y").to_string()} }
                            td { {v.visit_type.replace('_', " ")} }
                            td { {v.status.replace('_', " ")} }
                            td { {percent_text(s.as_ref().and_then(|s| s.overall))} }
                            if let Some(s) = s { for d in s.domains.iter() { td { key: "{d.domain_id}", {percent_text(d.percent)} } } }
                        }
                    }
                }
            }
        }
        h2 { "Open actions from the last visit" }
        if let Some(v) = latest {
            if v.open_actions().next().is_none() {
                p { "None open." }
            } else {
                table { class: "table",
                    thead { tr { th { scope: "col", "Action" } th { scope: "col", "Priority" } th { scope: "col", "Owner" } th { scope: "col", "Due" } } }
                    tbody {
                        for (i, a) in v.open_actions().enumerate() {
                            tr { key: "{i}",
                                td { "{a.description}" }
                                td { {priority_label(a.priority)} }
                                td { "{a.owner}" }
                                td { {day(a.due_on)} if a.due_on.is_some_and(|d| d < today()) { " " span { class: "tag red", "Overdue" } } }
                            }
                        }
                    }
                }
            }
        } else {
            p { "None." }
        }
    }
}
