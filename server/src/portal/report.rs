//! A visit report: scores by domain, every criterion with its answer, notes, evidence and the
//! provider's comments, and the action plan with responses. Printable. During the
//! factual-accuracy window a provider comments per criterion or confirms there is nothing more;
//! on any shared or published visit they answer the actions.

use std::collections::BTreeMap;

use accredit_shared::labels::long_date;
use accredit_shared::ratio::percent_text;
use accredit_shared::records::Answer;
use accredit_shared::scoring::score;
use accredit_shared::visit::{ActionStatus, VisitSnapshot};
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use dioxus::prelude::*;
use rusqlite::Connection;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{
    FieldError, Section, day, error_summary, field_error, form_key, page, tier_text,
};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{KeyForm, PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::blobs;
use crate::error::ServiceError;
use crate::service::visits::{self, AttachedFile, CommentView, ResponseView, VisitState};
use crate::state::AppState;
use crate::tiers;

/// Everything the report shows.
struct Report {
    visit: VisitState,
    record: VisitSnapshot,
    location: String,
    comments: Vec<CommentView>,
    responses: Vec<ResponseView>,
    files: BTreeMap<String, Vec<AttachedFile>>,
    window_open: bool,
    today: chrono::NaiveDate,
    domains: Vec<DomainPart>,
    overall: String,
    /// For a published visit: the tier it led to, as determined on the day it took effect.
    tier_after: Option<String>,
}

struct CriterionPart {
    id: String,
    prompt: String,
    answer: String,
    notes: String,
}

struct DomainPart {
    title: String,
    percent: String,
    criteria: Vec<CriterionPart>,
}

/// A size as people read it.
fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

fn answer_text(a: Option<Answer>, label: Option<&str>) -> String {
    match a {
        Some(Answer::Score(s)) => match label {
            Some(l) if !l.is_empty() => format!("{s} – {l}"),
            _ => s.to_string(),
        },
        Some(Answer::NotApplicable) => "Not applicable".to_owned(),
        Some(Answer::NotAssessed) => "Not assessed".to_owned(),
        None => "Not answered".to_owned(),
    }
}

fn load(s: &AppState, tx: &Connection, viewer: &Viewer, id: Uuid) -> Result<Report, ServiceError> {
    let visit = visits::require_visit(tx, &viewer.caller, id)?;
    let record = visits::revision_record(tx, id, visit.current_revision)?;
    let (location, _) =
        tiers::location(tx, visit.location_id)?.ok_or_else(|| ServiceError::not_found("visit"))?;
    let h = &record.header;
    let rules = s.rules();
    let in_force = rules.in_force(record.visited_on());
    let (domains, overall) = match (s.packs.get(&h.pack_id, &h.pack_version), in_force) {
        (Some(pack), Some(r)) => {
            let summary = score(pack, &record.answers(), &r.scoring);
            let parts = pack
                .domains
                .iter()
                .enumerate()
                .map(|(i, d)| DomainPart {
                    title: d.title.clone(),
                    percent: percent_text(summary.domains.get(i).and_then(|x| x.percent)),
                    criteria: d
                        .standards
                        .iter()
                        .flat_map(|st| &st.criteria)
                        .map(|c| {
                            let result = record.results.get(&c.id);
                            let answer = result.and_then(|r| r.answer);
                            let label = match answer {
                                Some(Answer::Score(v)) => c.scale.label(v),
                                _ => None,
                            };
                            CriterionPart {
                                id: c.id.clone(),
                                prompt: c.prompt.clone(),
                                answer: answer_text(answer, label),
                                notes: result.map(|r| r.notes.clone()).unwrap_or_default(),
                            }
                        })
                        .collect(),
                })
                .collect();
            (parts, percent_text(summary.overall))
        }
        _ => (Vec::new(), "—".to_owned()),
    };
    // The tier a published visit led to, determined on the day its publication took effect.
    let published_on = visit
        .published_on
        .as_deref()
        .map(crate::db::stored_date)
        .transpose()?;
    let tier_after = match published_on {
        Some(day) => tiers::determine(s, tx, visit.location_id, day)?.map(|d| {
            format!(
                "{}, from {}",
                tier_text(d.tier.as_ref().map(|t| t.name.as_str())),
                long_date(day)
            )
        }),
        None => None,
    };
    Ok(Report {
        tier_after,
        window_open: visits::window_open(s, &visit),
        comments: visits::comments(tx, id)?,
        responses: visits::action_responses(tx, id)?,
        files: visits::response_files(tx, id)?,
        location: location.name,
        today: s.today(),
        visit,
        record,
        domains,
        overall,
    })
}

/// What someone typed into a form that was refused, to show it again with the errors.
#[derive(Default)]
struct Drafts {
    comment_criterion: String,
    comment: String,
    responses: BTreeMap<String, String>,
}

fn render(
    viewer: &Viewer,
    r: &Report,
    errors: &[FieldError],
    drafts: &Drafts,
    done: &str,
) -> String {
    let is_provider = viewer.caller.role == Role::Provider;
    let is_lead = viewer.caller.role == Role::Lead;
    // Providers comment while the window is open; the lead answers at any time.
    let can_comment = (r.window_open && is_provider) || is_lead;
    let can_respond = is_provider;
    let rec = &r.record;
    let title = format!(
        "{} to {}, {}",
        rec.header.visit_type.label(),
        r.location,
        long_date(rec.visited_on())
    );
    let by_criterion = |id: &str| -> Vec<&CommentView> {
        r.comments
            .iter()
            .filter(|c| c.criterion.as_deref() == Some(id))
            .collect()
    };
    let general: Vec<&CommentView> = r
        .comments
        .iter()
        .filter(|c| c.criterion.is_none())
        .collect();
    let closes = r
        .visit
        .window_closes_on
        .as_deref()
        .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
    let criteria: Vec<(String, String)> = r
        .domains
        .iter()
        .flat_map(|d| d.criteria.iter().map(|c| (c.id.clone(), c.prompt.clone())))
        .collect();
    let mut actions: Vec<_> = rec.actions.iter().collect();
    actions.sort_by_key(|(_, a)| (a.due_on, a.description.clone()));
    let status_line = match r.visit.status.as_str() {
        "published" => format!(
            "Published {}",
            r.visit.published_on.clone().unwrap_or_default()
        ),
        "shared" => "Draft report, shared for factual accuracy".to_owned(),
        _ => "Signed off, not yet shared with the provider".to_owned(),
    };
    let notice = match done {
        "comment" => Some(if viewer.caller.role == Role::Lead {
            "Your comment has been added to the report."
        } else {
            "Your comment has been sent to the lead officer."
        }),
        "confirm" => Some(
            "You have confirmed you have no further comments. The report can now be published.",
        ),
        "response" => Some("Your response has been sent."),
        _ => None,
    };
    let body = rsx! {
        {error_summary(errors)}
        if let Some(n) = notice {
            div { class: "notification success", role: "status", id: "notification",
                p { "{n}" }
            }
        }
        span { class: "caption", "{r.location}" }
        h1 { "{title}" }
        dl { class: "summary-list", id: "report-facts",
            div { dt { "Status" } dd { id: "report-status", "{status_line}" } }
            div { dt { "Visit" } dd { {format!("{}, {}", rec.header.visit_type.label(), if rec.header.announced { "announced" } else { "unannounced" })} } }
            div { dt { "Signed off by" } dd { {rec.signoff.as_ref().map(|s| format!("{} on {}", s.by.name, long_date(s.at.date_naive()))).unwrap_or_else(|| "—".into())} } }
            div { dt { "Overall score" } dd { id: "overall", "{r.overall}" } }
            if let Some(t) = &r.tier_after {
                div { dt { "Tier this visit led to" } dd { id: "tier-after", "{t}" } }
            }
        }
        p { class: "no-print", a { href: "/locations/{r.visit.location_id}", "Back to {r.location}" } }
        if r.visit.status == visits::VisitStatus::Shared {
            div { class: "inset", id: "window",
                if r.window_open {
                    p { {format!("This is a draft. {} can comment on its factual accuracy until {}.", if is_provider { "You" } else { "The provider" }, day(closes))} }
                } else if r.visit.provider_confirmed_at.is_some() {
                    p { "The provider has confirmed they have no further comments." }
                } else {
                    p { {format!("The window for comments closed on {}.", day(closes))} }
                }
            }
        }
        h2 { "Scores" }
        table { class: "table", id: "domain-scores",
            caption { class: "visually-hidden", "Scores by domain" }
            thead { tr { th { scope: "col", "Domain" } th { scope: "col", class: "numeric", "Score" } } }
            tbody {
                for d in r.domains.iter() { tr { key: "{d.title}", th { scope: "row", "{d.title}" } td { class: "numeric", "{d.percent}" } } }
                tr { class: "total", th { scope: "row", "Overall" } td { class: "numeric", "{r.overall}" } }
            }
        }
        for d in r.domains.iter() {
            section { key: "{d.title}", class: "report-domain", aria_label: "{d.title}",
                h2 { "{d.title} ({d.percent})" }
                for c in d.criteria.iter() {
                    div { key: "{c.id}", class: "criterion", id: "criterion-{c.id}",
                        h3 { "{c.prompt}" }
                        p { strong { "Score: " } "{c.answer}" }
                        if !c.notes.is_empty() { p { class: "notes", "{c.notes}" } }
                        for e in rec.evidence.values().filter(|e| e.criterion.as_deref() == Some(c.id.as_str())) {
                            p { class: "evidence", strong { {e.kind.label()} ": " } "{e.text}" }
                        }
                        for cm in by_criterion(&c.id) {
                            div { key: "{cm.id}", class: "comment",
                                p { class: "hint", {format!("Comment from {}", cm.author)} }
                                p { "{cm.body}" }
                            }
                        }
                    }
                }
            }
        }
        section { aria_label: "Comments", id: "comments",
            h2 { "Comments on factual accuracy" }
            if general.is_empty() && r.comments.is_empty() { p { "No comments." } }
            for cm in general.iter() {
                div { key: "{cm.id}", class: "comment", p { class: "hint", {format!("Comment from {}", cm.author)} } p { "{cm.body}" } }
            }
            if can_comment {
                form { class: "no-print", method: "post", action: "/visits/{r.visit.id}/comments", novalidate: true,
                    {form_key(viewer)}
                    div { class: "form-group",
                        label { class: "label", r#for: "comment-criterion", "Which part of the report is it about?" }
                        select { class: "select", id: "comment-criterion", name: "criterion",
                            option { value: "", "The report as a whole" }
                            for (id, prompt) in criteria.iter() {
                                option { key: "{id}", value: "{id}", selected: drafts.comment_criterion == *id, "{prompt}" }
                            }
                        }
                    }
                    div { class: if errors.iter().any(|e| e.field == "comment-body") { "form-group form-group-error" } else { "form-group" },
                        label { class: "label", r#for: "comment-body", if is_lead { "Your answer or comment" } else { "Your comment" } }
                        div { class: "hint", id: "comment-body-hint", if is_lead { "The provider sees this with the report. Do not name residents." } else { "Say what is not factually accurate and what is right. Do not name residents." } }
                        {field_error(errors, "comment-body")}
                        textarea { class: "textarea", id: "comment-body", name: "body", rows: "5", aria_describedby: "comment-body-hint", "{drafts.comment}" }
                    }
                    button { class: "button", r#type: "submit", "Send comment" }
                }
                if is_provider { form { class: "no-print", method: "post", action: "/visits/{r.visit.id}/confirm",
                    {form_key(viewer)}
                    p { "If everything in the report is accurate, or you have sent all your comments:" }
                    button { class: "button secondary", r#type: "submit", id: "confirm", "I have no further comments" }
                } }
            }
        }
        section { aria_label: "Action plan", id: "actions",
            h2 { "Action plan" }
            if actions.is_empty() { p { "No actions." } }
            for (aid, a) in actions.iter() {
                div { key: "{aid}", class: "action", id: "action-{aid}",
                    h3 { "{a.description}" }
                    dl { class: "summary-list compact",
                        div { dt { "Priority" } dd { {a.priority.label()} } }
                        div { dt { "Owner" } dd { "{a.owner}" } }
                        div { dt { "Due" } dd { {day(a.due_on)} } }
                        div { dt { "Status" } dd {
                            {a.status.label()}
                            if a.status == ActionStatus::Open && a.due_on.is_some_and(|d| d < r.today) { " – " strong { class: "overdue", "overdue" } }
                        } }
                    }
                    for resp in r.responses.iter().filter(|x| x.action_id == aid.to_string()) {
                        div { key: "{resp.id}", class: "comment",
                            p { class: "hint", {format!("Response from {} on {}", resp.author, resp.created_at.get(..10).and_then(|d| d.parse::<chrono::NaiveDate>().ok()).map(long_date).unwrap_or_default())} }
                            p { "{resp.body}" }
                            if let Some(files) = r.files.get(&resp.id) {
                                ul { class: "files",
                                    for f in files.iter() {
                                        li { key: "{f.hash}",
                                            if f.media_type.starts_with("image/") {
                                                img { class: "evidence-image", src: "/visits/{r.visit.id}/files/{f.hash}", alt: "Evidence photo: {f.name}" }
                                                br {}
                                            }
                                            a { href: "/visits/{r.visit.id}/files/{f.hash}", "{f.name}" }
                                            {format!(" ({}, {})", if f.media_type == "application/pdf" { "PDF" } else { "photo" }, size_text(f.size))}
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if can_respond && a.status == ActionStatus::Open {
                        form { class: "no-print", method: "post", action: "/visits/{r.visit.id}/actions/{aid}/responses", enctype: "multipart/form-data", novalidate: true,
                            {form_key(viewer)}
                            div { class: if errors.iter().any(|e| e.field == format!("response-{aid}")) { "form-group form-group-error" } else { "form-group" },
                                label { class: "label", r#for: "response-{aid}", "Your response to this action" }
                                {field_error(errors, &format!("response-{aid}"))}
                                textarea { class: "textarea", id: "response-{aid}", name: "body", rows: "3", {drafts.responses.get(&aid.to_string()).cloned().unwrap_or_default()} }
                            }
                            div { class: if errors.iter().any(|e| e.field == format!("evidence-{aid}")) { "form-group form-group-error" } else { "form-group" },
                                label { class: "label", r#for: "evidence-{aid}", "Evidence (optional)" }
                                div { class: "hint", id: "evidence-{aid}-hint", "Photos (JPEG or PNG) or PDF documents: up to 3 files, each under 10 MB. Location and camera details are removed from photos." }
                                {field_error(errors, &format!("evidence-{aid}"))}
                                input { class: "file-upload", r#type: "file", id: "evidence-{aid}", name: "evidence", multiple: true, accept: "image/jpeg,image/png,application/pdf", aria_describedby: "evidence-{aid}-hint" }
                            }
                            button { class: "button secondary", r#type: "submit", "Send response" }
                        }
                    }
                }
            }
        }
    };
    let title = if errors.is_empty() {
        title
    } else {
        format!("Error: {title}")
    };
    page(&title, Some(viewer), Section::Locations, body)
}

/// The query after a form was sent.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    errors: Vec<FieldError>,
    drafts: Drafts,
    done: String,
) -> PageResult {
    let v = viewer.clone();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let html_text = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let r = load(s, tx, &v, id)?;
                Ok(render(&v, &r, &errors, &drafts, &done))
            })
        })
        .await?;
    Ok(html(status, html_text))
}

/// The report page.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    show(&state, &viewer, id, Vec::new(), Drafts::default(), q.done).await
}

/// The comment form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CommentForm {
    form_key: String,
    criterion: String,
    body: String,
}

/// A provider's comment during the window.
pub async fn comment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    check_key(&viewer, &f.form_key)?;
    let drafts = Drafts {
        comment_criterion: f.criterion.clone(),
        comment: f.body.clone(),
        ..Drafts::default()
    };
    let body = f.body.trim().to_owned();
    if body.is_empty() {
        return show(
            &state,
            &viewer,
            id,
            vec![FieldError::new("comment-body", "Enter your comment")],
            drafts,
            String::new(),
        )
        .await;
    }
    if body.chars().count() > 10_000 {
        return show(
            &state,
            &viewer,
            id,
            vec![FieldError::new(
                "comment-body",
                "Your comment must be 10,000 characters or fewer",
            )],
            drafts,
            String::new(),
        )
        .await;
    }
    let caller = viewer.caller.clone();
    let criterion = Some(f.criterion.clone()).filter(|c| !c.is_empty());
    let result = state
        .blocking(move |s| {
            s.db.write(|tx| visits::comment(s, tx, &caller, id, criterion.as_deref(), &body))
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/visits/{id}?done=comment#comments"))),
        Err(e) if matches!(e, ServiceError::Invalid(_) | ServiceError::Conflict(_)) => {
            show(
                &state,
                &viewer,
                id,
                vec![FieldError::new("comment-body", capital(&e.message()))],
                drafts,
                String::new(),
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// A provider confirms they have no further comments.
pub async fn confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    let result = state
        .blocking(move |s| {
            s.db.write(|tx| visits::confirm_factual_accuracy(s, tx, &caller, id))
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/visits/{id}?done=confirm"))),
        Err(e @ ServiceError::Conflict(_)) => {
            show(
                &state,
                &viewer,
                id,
                vec![FieldError::new("window", capital(&e.message()))],
                Drafts::default(),
                String::new(),
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Most files one response may carry.
const MAX_FILES: usize = 3;
/// Largest file accepted, in bytes.
const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// Keeps a file name printable and short; it is only ever shown, never used as a path.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if cleaned.trim().is_empty() {
        "evidence".to_owned()
    } else {
        cleaned
    }
}

/// A provider answers an action, with optional evidence files.
pub async fn respond(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, action)): Path<(String, String)>,
    mut form: Multipart,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let action = path_id(&action, "action")?;
    let too_big = || {
        PageError(ServiceError::too_large(format!(
            "Each file must be smaller than {} MB, and at most {MAX_FILES} files",
            MAX_FILE_BYTES / (1024 * 1024)
        )))
    };
    let (mut key, mut body, mut files) = (String::new(), String::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(|_| too_big())? {
        match field.name().unwrap_or_default() {
            "form_key" => key = field.text().await.map_err(|_| too_big())?,
            "body" => body = field.text().await.map_err(|_| too_big())?,
            "evidence" => {
                let name = clean_name(field.file_name().unwrap_or_default());
                let bytes = field.bytes().await.map_err(|_| too_big())?;
                if !bytes.is_empty() {
                    files.push((name, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    check_key(&viewer, &key)?;
    let field = format!("response-{action}");
    let evidence_field = format!("evidence-{action}");
    let mut drafts = Drafts::default();
    drafts.responses.insert(action.to_string(), body.clone());
    let mut errors = Vec::new();
    let body = body.trim().to_owned();
    if body.is_empty() {
        errors.push(FieldError::new(&field, "Enter your response"));
    }
    if files.len() > MAX_FILES {
        errors.push(FieldError::new(
            &evidence_field,
            format!("Attach at most {MAX_FILES} files"),
        ));
    }
    let mut prepared = Vec::new();
    for (name, bytes) in &files {
        if bytes.len() > MAX_FILE_BYTES {
            errors.push(FieldError::new(
                &evidence_field,
                format!(
                    "{name} must be smaller than {} MB",
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            ));
            continue;
        }
        match accredit_shared::attachment::prepare(bytes) {
            Ok((kind, clean)) => prepared.push((name.clone(), kind, clean)),
            Err(e) => errors.push(FieldError::new(
                &evidence_field,
                format!("{name}: {}", capital(&e.to_string())),
            )),
        }
    }
    if !errors.is_empty() {
        return show(&state, &viewer, id, errors, drafts, String::new()).await;
    }
    let caller = viewer.caller.clone();
    let result = state
        .blocking(move |s| {
            // Check the visit and action first, so nothing is stored for a visit the caller
            // may not see.
            s.db.read(|tx| {
                let v = visits::require_visit(tx, &caller, id)?;
                let record = visits::revision_record(tx, id, v.current_revision)?;
                if record.actions.contains_key(&action) {
                    Ok(())
                } else {
                    Err(ServiceError::not_found("action"))
                }
            })?;
            let mut attached = Vec::new();
            for (name, kind, bytes) in prepared {
                let hash = blake3::hash(&bytes).to_hex().to_string();
                blobs::store(s, &caller, &hash, &bytes)?;
                attached.push(visits::AttachedFile {
                    hash,
                    name,
                    media_type: kind.media_type().to_owned(),
                    size: bytes.len() as u64,
                });
            }
            s.db.write(|tx| visits::respond_to_action(tx, &caller, id, action, &body, &attached))
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/visits/{id}?done=response#action-{action}"
        ))),
        Err(e) if matches!(e, ServiceError::Invalid(_) | ServiceError::Conflict(_)) => {
            show(
                &state,
                &viewer,
                id,
                vec![FieldError::new(&field, capital(&e.message()))],
                drafts,
                String::new(),
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// A file attached to one of the visit's responses, for someone who may see the visit.
pub async fn file(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, hash)): Path<(String, String)>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let caller = viewer.caller.clone();
    let (f, bytes) = state
        .blocking(move |s| {
            let f = s.db.read(|tx| {
                visits::require_visit(tx, &caller, id)?;
                visits::response_file(tx, id, &hash)?.ok_or_else(|| ServiceError::not_found("file"))
            })?;
            let bytes = blobs::read(s, &caller, &f.hash)?;
            Ok((f, bytes))
        })
        .await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    let disposition = if f.media_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = f
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{ascii}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
