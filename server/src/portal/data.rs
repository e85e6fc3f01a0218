//! The hub of the council's data and records pages: appeals, exports, the Transparency Code
//! list, the audit log, imports and records due for removal, each with what it is for. Only the
//! pages the viewer may open are listed.

use axum::http::StatusCode;
use dioxus::prelude::*;

use super::layout::{Section, page};
use super::session::Viewer;
use super::{PageResult, html};
use crate::auth::Role;

/// A page of the hub: its address, its name and what it holds.
struct Entry {
    href: &'static str,
    id: &'static str,
    name: &'static str,
    holds: &'static str,
    commissioners_only: bool,
}

const ENTRIES: [Entry; 6] = [
    Entry {
        href: "/appeals",
        id: "appeals",
        name: "Appeals",
        holds: "Appeals against published visits, open ones first: lodge, decide or see the outcome.",
        commissioners_only: false,
    },
    Entry {
        href: "/exports",
        id: "exports",
        name: "Exports",
        holds: "Visits, answers, determinations, actions and the locations register as CSV or JSON, for reporting tools.",
        commissioners_only: false,
    },
    Entry {
        href: "/payments/transparency",
        id: "transparency",
        name: "Transparency Code list",
        holds: "Each month's payments over £500 per provider, in the published layout.",
        commissioners_only: false,
    },
    Entry {
        href: "/audit",
        id: "audit",
        name: "Audit log",
        holds: "Who did what and when: sign-ins, records, decisions, payments and removals.",
        commissioners_only: false,
    },
    Entry {
        href: "/imports",
        id: "imports",
        name: "Imports",
        holds: "Locations, placements, records and contracts from CSV files, previewed before anything changes.",
        commissioners_only: true,
    },
    Entry {
        href: "/retention",
        id: "retention",
        name: "Records due for removal",
        holds: "What the retention rules remove and when, what is kept and why, and what was removed.",
        commissioners_only: true,
    },
];

/// The hub, for leads and commissioners.
pub async fn page_handler(viewer: Viewer) -> PageResult {
    viewer.caller.require(&[Role::Lead, Role::Commissioner])?;
    let role = viewer.caller.role;
    let entries: Vec<&Entry> = ENTRIES
        .iter()
        .filter(|e| !e.commissioners_only || role == Role::Commissioner)
        .collect();
    let body = rsx! {
        h1 { "Data and records" }
        ul { class: "hub", id: "hub",
            for e in entries {
                li { key: "{e.id}",
                    h2 { a { href: "{e.href}", id: "hub-{e.id}", "{e.name}" } }
                    p { "{e.holds}" }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page("Data and records", Some(&viewer), Section::Data, body),
    ))
}
