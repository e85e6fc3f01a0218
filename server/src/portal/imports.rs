//! CSV imports for commissioners: upload a file of locations, placements or CQC ratings, see
//! what each row would do (add, update, unchanged, or refused with its line and reason), then
//! import it all or nothing, with progress while a large file runs.

use std::collections::HashMap;

use accredit_shared::labels::count;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use dioxus::prelude::*;
use uuid::Uuid;

use super::layout::{
    FieldError, Section, error_summary, form_key, form_response, number, page, page_refreshing,
    when,
};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::import::{Action, Kind, columns};
use crate::service::imports::{self, Progress, kind_text, parse_kind};
use crate::state::AppState;

const KINDS: [(Kind, &str, &str); 4] = [
    (
        Kind::Locations,
        "Locations",
        "1-101641431,Seaview House,Coastal Care Ltd,12 North Promenade FY1 1AA,residential,2019-04-01,",
    ),
    (
        Kind::Placements,
        "Placements",
        "1-101641431,R-40021,council_permanent,2026-10-01,,85050",
    ),
    (
        Kind::CqcRatings,
        "CQC ratings",
        "1-101641431,2026-09-14,2026-10-20,good,good,good,outstanding,good,requires_improvement",
    ),
    (
        Kind::Contracts,
        "Contracts",
        "WCC-2026-014,Coastal Care Ltd,1-101641431,2026-04-01,2027-03-31,3,3086400,5",
    ),
];

fn label(kind: Kind) -> &'static str {
    KINDS.iter().find(|k| k.0 == kind).map_or("", |k| k.1)
}

async fn upload_page(
    state: &AppState,
    viewer: &Viewer,
    chosen: &str,
    errors: Vec<FieldError>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let recent = state.blocking(move |s| imports::recent(s, &caller)).await?;
    let kind_error = errors.iter().any(|e| e.field == "kind");
    let file_error = errors.iter().any(|e| e.field == "file");
    let body = rsx! {
        {error_summary(&errors)}
        h1 { "Import a CSV file" }
        p { "Upload a file exported from your council's systems. You will see what each row would change before anything is imported, and then either every row is imported or none is." }
        form { method: "post", action: "/imports", enctype: "multipart/form-data", novalidate: true, class: "panel",
            {form_key(viewer)}
            div { class: if kind_error { "form-group form-group-error" } else { "form-group" },
                fieldset { class: "fieldset", id: "kind",
                    legend { class: "legend", "What does the file hold?" }
                    {super::layout::field_error(&errors, "kind")}
                    for (k, name, example) in KINDS {
                        div { key: "{kind_text(k)}", class: "radio",
                            input { r#type: "radio", id: "kind-{kind_text(k)}", name: "kind", value: kind_text(k), checked: chosen == kind_text(k), aria_describedby: "kind-{kind_text(k)}-hint" }
                            label { r#for: "kind-{kind_text(k)}", "{name}" }
                            div { class: "hint", id: "kind-{kind_text(k)}-hint",
                                "Columns: " code { {columns(k)} } br {} "For example: " code { "{example}" }
                            }
                        }
                    }
                }
            }
            div { class: if file_error { "form-group form-group-error" } else { "form-group" },
                label { class: "label", r#for: "file", "CSV file" }
                div { class: "hint", id: "file-hint", "UTF-8 text, the header on the first line, dates as 2026-10-01 and money in pence. Up to 16 MB (about 250,000 placements)." }
                {super::layout::field_error(&errors, "file")}
                input { class: "file-upload", r#type: "file", id: "file", name: "file", accept: ".csv,text/csv", aria_describedby: "file-hint" }
            }
            button { class: "button", r#type: "submit", "Upload and check" }
        }
        if !recent.is_empty() {
            table { class: "table", id: "recent-imports",
                caption { "Recent files" }
                thead { tr { th { scope: "col", "File" } th { scope: "col", "Uploaded" } th { scope: "col", "Outcome" } } }
                tbody {
                    for d in recent.iter() {
                        tr { key: "{d.id}",
                            td { a { href: "/imports/{d.id}", "{d.file_name}" } br {} span { class: "hint", {format!("{}, {}", label(d.kind), count(d.rows, "row", "rows"))} } }
                            td { {when(Some(&d.created_at))} }
                            td { {d.outcome.clone().map(|o| capital(&o)).unwrap_or_else(|| "Not imported yet".to_owned())} }
                        }
                    }
                }
            }
        }
    };
    Ok(form_response(
        "Import a CSV file",
        &errors,
        viewer,
        Section::Imports,
        body,
    ))
}

/// The upload form and the latest files.
pub async fn page_handler(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    upload_page(&state, &viewer, "", Vec::new()).await
}

/// Receives a file and shows its preview.
pub async fn upload(
    State(state): State<AppState>,
    viewer: Viewer,
    mut form: Multipart,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner])?;
    let too_big = || {
        PageError(ServiceError::too_large(
            "The file must be smaller than 16 MB",
        ))
    };
    let (mut key, mut kind, mut file) = (String::new(), String::new(), None);
    while let Some(field) = form.next_field().await.map_err(|_| too_big())? {
        match field.name().unwrap_or_default() {
            "form_key" => key = field.text().await.map_err(|_| too_big())?,
            "kind" => kind = field.text().await.map_err(|_| too_big())?,
            "file" => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(|_| too_big())?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    check_key(&viewer, &key)?;
    let mut errors = Vec::new();
    let parsed = parse_kind(&kind);
    if parsed.is_none() {
        errors.push(FieldError::new("kind", "Choose what the file holds"));
    }
    let text = match &file {
        Some((_, b)) if b.is_empty() => {
            errors.push(FieldError::new("file", "The selected file is empty"));
            None
        }
        None => {
            errors.push(FieldError::new("file", "Select a CSV file"));
            None
        }
        Some((_, b)) if b.len() > imports::MAX_BYTES => {
            errors.push(FieldError::new(
                "file",
                "The file must be smaller than 16 MB",
            ));
            None
        }
        Some((_, b)) => match std::str::from_utf8(b) {
            Ok(t) => Some(t.to_owned()),
            Err(e) => {
                errors.push(FieldError::new(
                    "file",
                    format!("The file must be UTF-8 text: byte {} is not. Save it from your spreadsheet as “CSV UTF-8”", e.valid_up_to() + 1),
                ));
                None
            }
        },
    };
    let (Some(kind), Some(text), true) = (parsed, text, errors.is_empty()) else {
        return upload_page(&state, &viewer, &kind, errors).await;
    };
    let name = file
        .map(|(n, _)| n)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "upload.csv".into());
    let caller = viewer.caller.clone();
    match state
        .blocking(move |s| imports::upload(s, &caller, kind, &name, &text))
        .await
    {
        Ok(id) => Ok(see_other(&format!("/imports/{id}"))),
        Err(e) if e.is_refusal() || matches!(e, ServiceError::TooLarge(_)) => {
            upload_page(
                &state,
                &viewer,
                kind_text(kind),
                vec![FieldError::new("file", capital(&e.message()))],
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

fn action_text(a: Action) -> &'static str {
    match a {
        Action::Add => "Add",
        Action::Update => "Update",
        Action::Unchanged => "No change",
    }
}

/// A file's preview, its progress while it imports, or how it ended.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id: Uuid = path_id(&id, "import")?;
    let caller = viewer.caller.clone();
    let (draft, plan, progress) = state
        .blocking(move |s| {
            let (d, p) = imports::preview(s, &caller, id)?;
            Ok((d, p, imports::progress(s, id)))
        })
        .await?;
    if let Some(Progress::Running { stage, done, total }) = progress {
        let body = rsx! {
            span { class: "caption", "{draft.file_name}" }
            h1 { "Importing…" }
            p { id: "progress-text", role: "status", {format!("{stage}: {} of {}.", number(done), number(total))} }
            progress { id: "progress", max: "{total.max(1)}", value: "{done}", aria_label: "Import progress", "{done} of {total}" }
            p { "You can leave this page: the import goes on, and the list of recent files says how it ended." }
        };
        return Ok(html(
            StatusCode::OK,
            page_refreshing("Importing", Some(&viewer), Section::Imports, body, Some(1)),
        ));
    }
    let Some(plan) = plan else {
        let ok = draft
            .outcome
            .as_deref()
            .is_some_and(|o| o.starts_with("imported"));
        let body = rsx! {
            if ok {
                div { class: "notification success", role: "status", id: "notification", p { {capital(draft.outcome.as_deref().unwrap_or_default())} } }
            } else {
                div { class: "error-summary", role: "alert", id: "import-failed",
                    h2 { "The file was not imported" }
                    p { {capital(draft.outcome.as_deref().unwrap_or("not imported"))} }
                }
            }
            span { class: "caption", "{draft.file_name}" }
            h1 { {format!("{} file", label(draft.kind))} }
            p { {format!("Finished {}.", when(draft.finished_at.as_deref()))} }
            p { a { href: "/imports", "Import another file" } }
        };
        return Ok(html(
            StatusCode::OK,
            page("Import", Some(&viewer), Section::Imports, body),
        ));
    };
    let (add, update, same, refused) = plan.counts();
    let changes: Vec<_> = plan
        .rows
        .iter()
        .filter(|r| matches!(r.outcome, Ok(Action::Add | Action::Update)))
        .take(50)
        .collect();
    let refusals: Vec<_> = plan.refused().take(500).collect();
    let body = rsx! {
        if refused > 0 {
            div { class: "error-summary", role: "alert", aria_labelledby: "refused-title", tabindex: "-1", id: "refused-summary",
                h2 { id: "refused-title", {format!("{} refused: nothing will be imported", count(refused, "row is", "rows are"))} }
                p { "Fix these lines in the file and upload it again." }
            }
        }
        span { class: "caption", "{draft.file_name}" }
        h1 { {format!("Check the {} file", label(draft.kind).to_lowercase())} }
        dl { class: "summary-list", id: "import-counts",
            div { dt { "Rows to add" } dd { id: "count-add", "{add}" } }
            div { dt { "Rows to update" } dd { id: "count-update", "{update}" } }
            div { dt { "Rows already as in the file" } dd { id: "count-same", "{same}" } }
            div { dt { "Rows refused" } dd { id: "count-refused", "{refused}" } }
        }
        if refused > 0 {
            table { class: "table", id: "refused-rows",
                caption { "Refused rows" }
                thead { tr { th { scope: "col", class: "numeric", "Line" } th { scope: "col", "Row" } th { scope: "col", "Reason" } } }
                tbody {
                    for r in refusals.iter() {
                        tr { key: "{r.line}",
                            td { class: "numeric", "{r.line}" }
                            td { "{r.what}" }
                            td { {capital(r.outcome.as_ref().err().map_or("", String::as_str))} }
                        }
                    }
                }
            }
            if refused > refusals.len() { p { {format!("The first {} refused rows are shown.", refusals.len())} } }
            p { a { class: "button", href: "/imports", "Upload a corrected file" } }
        } else if add + update == 0 {
            p { id: "nothing-to-do", "Every row is already recorded exactly as in the file: there is nothing to import." }
            p { a { href: "/imports", "Import another file" } }
        } else {
            table { class: "table", id: "changes",
                caption { if add + update > changes.len() { {format!("The first {} changes", changes.len())} } else { "Changes" } }
                thead { tr { th { scope: "col", class: "numeric", "Line" } th { scope: "col", "Row" } th { scope: "col", "Change" } } }
                tbody {
                    for r in changes.iter() {
                        tr { key: "{r.line}",
                            td { class: "numeric", "{r.line}" }
                            td { "{r.what}" }
                            td { {r.outcome.as_ref().map(|a| action_text(*a)).unwrap_or_default()} }
                        }
                    }
                }
            }
            form { method: "post", action: "/imports/{draft.id}/import",
                {form_key(&viewer)}
                button { class: "button", r#type: "submit", id: "import", {format!("Import {}", count(add + update, "row", "rows"))} }
                a { class: "link-cancel", href: "/imports", "Cancel" }
            }
        }
    };
    let title = if refused > 0 {
        "Error: Check the file"
    } else {
        "Check the file"
    };
    let status = if refused > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(html(
        status,
        page(title, Some(&viewer), Section::Imports, body),
    ))
}

/// Starts the import and shows its progress.
pub async fn start(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    let id = path_id(&id, "import")?;
    check_key(&viewer, f.get("form_key").map_or("", String::as_str))?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| imports::start(s, &caller, id))
        .await?;
    Ok(see_other(&format!("/imports/{id}")))
}
