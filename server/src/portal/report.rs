//! A visit report: a contents list by domain, scores by domain, every criterion with its answer,
//! notes, evidence and the comments on it, and the action plan with responses. Printable. During
//! the factual-accuracy window a provider comments beside any criterion ("Comment on this" opens a
//! small form there, without JavaScript) or on the whole report, or confirms there is nothing
//! more; on any shared or published visit they answer the actions. Leads see which of the
//! provider's comments they have not answered, and share a signed-off visit from here.

use std::collections::BTreeMap;

use accredit_shared::labels::long_date;
use accredit_shared::ratio::percent_text;
use accredit_shared::records::Answer;
use accredit_shared::scoring::score;
use accredit_shared::visit::{ActionStatus, VisitSnapshot};
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use dioxus::prelude::*;
use rusqlite::Connection;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{
    FieldError, Section, day, error_summary, error_titled_page, field_error, form_key, tier_text,
    when,
};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{KeyForm, PageError, PageResult, capital, html, path_id};
use crate::auth::Role;
use crate::blobs;
use crate::error::ServiceError;
use crate::service::history::{self, SignatureCheck};
use crate::service::visits::{
    self, AttachedFile, CommentView, ProviderThread, ResponseView, ShareDetails, VisitState,
};
use crate::state::AppState;
use crate::tiers;

/// Everything the report shows.
struct Report {
    visit: VisitState,
    record: VisitSnapshot,
    location: String,
    comments: Vec<CommentView>,
    /// The provider's comments by part of the report, with whether a lead answered.
    threads: Vec<ProviderThread>,
    responses: Vec<ResponseView>,
    files: BTreeMap<String, Vec<AttachedFile>>,
    window_open: bool,
    /// Whether later edits wait for a lead's decision (the visit cannot be shared meanwhile).
    pending: bool,
    today: chrono::NaiveDate,
    domains: Vec<DomainPart>,
    overall: String,
    /// For a published visit: the tier it led to, as determined on the day it took effect.
    tier_after: Option<String>,
    /// After sharing: who the report went to and until when they can comment.
    shared: Option<ShareDetails>,
    /// The signatures on the record, each with whether the record changed after it.
    signatures: Vec<SignatureCheck>,
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

pub(super) fn answer_text(a: Option<Answer>, label: Option<&str>) -> String {
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

fn load(
    s: &AppState,
    tx: &Connection,
    viewer: &Viewer,
    id: Uuid,
    done: &str,
) -> Result<Report, ServiceError> {
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
    let shared = if done == "shared" && viewer.caller.role == Role::Lead {
        Some(visits::share_details(s, tx, &viewer.caller, id)?)
    } else {
        None
    };
    Ok(Report {
        tier_after,
        window_open: visits::window_open(s, &visit),
        pending: visits::pending_revision(tx, id)?.is_some(),
        comments: visits::comments(tx, id)?,
        threads: visits::provider_threads(tx, id)?,
        responses: visits::action_responses(tx, id)?,
        files: visits::response_files(tx, id)?,
        signatures: history::signature_checks(s, tx, &viewer.caller, id)?,
        location: location.name,
        today: s.today(),
        visit,
        record,
        domains,
        overall,
        shared,
    })
}

/// What someone typed into a form that was refused, to show it again with the errors.
#[derive(Default)]
struct Drafts {
    comment: String,
    responses: BTreeMap<String, String>,
}

/// Which comment form is open and where a message belongs, from the address.
#[derive(Default)]
struct Focus {
    /// The criterion whose comment form is open.
    on: String,
    /// The criterion a comment was just sent on: the message shows there, where the reader is.
    at: String,
    /// What was just done.
    done: String,
}

/// The id of the comment field beside a criterion; the one for the whole report is
/// `comment-body`.
const CRITERION_COMMENT: &str = "criterion-comment";

/// A comment as it shows in the report.
fn comment_box(cm: &CommentView) -> Element {
    rsx! {
        div { key: "{cm.id}", class: "comment",
            p { class: "hint", {format!("Comment from {}, {}", cm.author, when(Some(&cm.created_at)))} }
            p { class: "notes", "{cm.body}" }
        }
    }
}

fn render(
    viewer: &Viewer,
    r: &Report,
    errors: &[FieldError],
    drafts: &Drafts,
    focus: &Focus,
) -> String {
    let is_provider = viewer.caller.role == Role::Provider;
    let is_lead = viewer.caller.role == Role::Lead;
    // Providers comment while the window is open; the lead answers at any time.
    let can_comment = (r.window_open && is_provider) || is_lead;
    let can_respond = is_provider;
    let can_share = is_lead && r.visit.status == visits::VisitStatus::SignedOff && !r.pending;
    let reads_threads = !is_provider && !r.threads.is_empty();
    let rec = &r.record;
    let vid = r.visit.id;
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
    let prompt_of = |id: &str| {
        r.domains
            .iter()
            .flat_map(|d| &d.criteria)
            .find(|c| c.id == id)
            .map(|c| c.prompt.clone())
    };
    // A criterion named in the address that this report does not have opens nothing.
    let open_on = prompt_of(&focus.on).map(|_| focus.on.clone());
    let sent_at = prompt_of(&focus.at).map(|_| focus.at.clone());
    let mut photos: Vec<_> = rec.photos.iter().collect();
    photos.sort_by_key(|(id, p)| (p.taken_at, **id));
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
    let comment_sent = if is_lead {
        "Your comment has been added to the report."
    } else {
        "Your comment has been sent to the lead officer."
    };
    let notice: Option<String> = match focus.done.as_str() {
        "comment" if sent_at.is_none() => Some(comment_sent.to_owned()),
        "confirm" => Some(
            "You have confirmed you have no further comments. The report can now be published."
                .to_owned(),
        ),
        "response" => Some("Your response has been sent.".to_owned()),
        "shared" => r.shared.as_ref().map(|d| {
            format!(
                "You shared this report with {}. They can comment on its factual accuracy until {}.",
                d.provider,
                long_date(d.comments_until)
            )
        }),
        _ => None,
    };
    let unanswered = r.threads.iter().filter(|t| t.answered_at.is_none()).count();
    let comment_count = |d: &DomainPart| {
        d.criteria
            .iter()
            .map(|c| by_criterion(&c.id).len())
            .sum::<usize>()
    };
    let hint_text = if is_lead {
        "The provider sees this with the report. Do not name residents."
    } else {
        "Say what is not factually accurate and what is right. Do not name residents."
    };
    let criterion_error = errors.iter().any(|e| e.field == CRITERION_COMMENT);
    let body_error = errors.iter().any(|e| e.field == "comment-body");
    let body = rsx! {
        {error_summary(errors)}
        if let Some(n) = &notice {
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
        if can_share {
            p { class: "no-print",
                a { class: "button", href: "/visits/{vid}/share", id: "share", "Share with the provider" }
            }
        } else if is_lead && r.visit.status == visits::VisitStatus::SignedOff {
            p { class: "inset no-print", "Later edits to this visit are waiting. Accept or reject them in the review queue before sharing." }
        }
        p { class: "no-print",
            a { href: "/locations/{r.visit.location_id}", "Back to {r.location}" }
            " · "
            a { href: "/visits/{vid}/history", id: "history", "History of this visit" }
            if r.visit.published_on.is_some() {
                " · "
                a { href: "/visits/{vid}/compare-previous", id: "compare-previous", "Compare with the previous published visit" }
            }
            if r.visit.published_on.is_some() && viewer.caller.role != Role::Monitor {
                " · "
                a { href: "/visits/{vid}/appeals", id: "appeals", "Appeals" }
            }
        }
        if r.visit.status == visits::VisitStatus::Shared {
            div { class: "inset", id: "window",
                if r.window_open {
                    p { {format!("This is a draft. {} can comment on its factual accuracy until {}.", if is_provider { "You" } else { "The provider" }, day(closes))} }
                    if is_provider { p { "Use “Comment on this” beside any criterion, or comment on the report as a whole at the end." } }
                } else if r.visit.provider_confirmed_at.is_some() {
                    p { "The provider has confirmed they have no further comments." }
                } else {
                    p { {format!("The window for comments closed on {}.", day(closes))} }
                }
            }
        }
        if reads_threads {
            section { aria_labelledby: "provider-comments-title", id: "provider-comments", class: "panel",
                h2 { id: "provider-comments-title",
                    {format!("Comments from the provider: {} not answered", unanswered)}
                }
                p { class: "hint", "The provider's latest comment on each part of the report. A comment counts as answered once a lead officer comments on the same part after it." }
                ul { class: "list",
                    for t in r.threads.iter() {
                        li { key: "{t.latest.id}",
                            a { href: match &t.criterion { Some(c) => format!("#criterion-{c}"), None => "#comments".to_owned() },
                                {t.criterion.as_deref().and_then(prompt_of).unwrap_or_else(|| "The report as a whole".to_owned())}
                            }
                            ": "
                            if t.answered_at.is_some() { "answered" } else { strong { "not answered" } }
                        }
                    }
                }
            }
        }
        nav { class: "contents no-print", aria_labelledby: "contents-title", id: "contents",
            h2 { id: "contents-title", "Contents" }
            ol { class: "list",
                li { a { href: "#scores", "Scores" } }
                for (i, d) in r.domains.iter().enumerate() {
                    li { key: "{i}",
                        a { href: "#domain-{i}", "{d.title}" }
                        {match comment_count(d) { 0 => format!(" ({})", d.percent), n => format!(" ({}, {})", d.percent, accredit_shared::labels::count(n, "comment", "comments")) }}
                    }
                }
                li { a { href: "#comments", "Comments on the report as a whole" } {format!(" ({})", general.len())} }
                li { a { href: "#actions", "Action plan" } {format!(" ({})", accredit_shared::labels::count(actions.len(), "action", "actions"))} }
                if !photos.is_empty() {
                    li { a { href: "#photos", "Photos" } {format!(" ({})", photos.len())} }
                }
                li { a { href: "#signatures", "Signatures" } {format!(" ({})", r.signatures.len())} }
            }
        }
        h2 { id: "scores", "Scores" }
        table { class: "table", id: "domain-scores",
            caption { class: "visually-hidden", "Scores by domain" }
            thead { tr { th { scope: "col", "Domain" } th { scope: "col", class: "numeric", "Score" } } }
            tbody {
                for d in r.domains.iter() { tr { key: "{d.title}", th { scope: "row", "{d.title}" } td { class: "numeric", "{d.percent}" } } }
                tr { class: "total", th { scope: "row", "Overall" } td { class: "numeric", "{r.overall}" } }
            }
        }
        for (i, d) in r.domains.iter().enumerate() {
            section { key: "{d.title}", class: "report-domain", id: "domain-{i}", aria_labelledby: "domain-{i}-title",
                h2 { id: "domain-{i}-title", "{d.title} ({d.percent})" }
                for c in d.criteria.iter() {
                    div { key: "{c.id}", class: "criterion", id: "criterion-{c.id}",
                        h3 { id: "criterion-{c.id}-title", "{c.prompt}" }
                        p { strong { "Score: " } "{c.answer}" }
                        if !c.notes.is_empty() { p { class: "notes", "{c.notes}" } }
                        for e in rec.evidence.values().filter(|e| e.criterion.as_deref() == Some(c.id.as_str())) {
                            p { class: "evidence", strong { {e.kind.label()} ": " } "{e.text}" }
                        }
                        for cm in by_criterion(&c.id) { {comment_box(cm)} }
                        if sent_at.as_deref() == Some(c.id.as_str()) {
                            div { class: "notification success", role: "status", id: "notification",
                                p { "{comment_sent}" }
                            }
                        }
                        if can_comment {
                            if open_on.as_deref() == Some(c.id.as_str()) {
                                form { class: "no-print comment-form", id: "comment-form", method: "post", action: "/visits/{vid}/comments", novalidate: true,
                                    {form_key(viewer)}
                                    input { r#type: "hidden", name: "criterion", value: "{c.id}" }
                                    div { class: if criterion_error { "form-group form-group-error" } else { "form-group" },
                                        label { class: "label", r#for: CRITERION_COMMENT, if is_lead { "Your answer or comment on this criterion" } else { "Your comment on this criterion" } }
                                        div { class: "hint", id: "{CRITERION_COMMENT}-hint", "{hint_text}" }
                                        {field_error(errors, CRITERION_COMMENT)}
                                        textarea { class: "textarea", id: CRITERION_COMMENT, name: "body", rows: "4",
                                            aria_describedby: if criterion_error { "{CRITERION_COMMENT}-hint {CRITERION_COMMENT}-error" } else { "{CRITERION_COMMENT}-hint" },
                                            "{drafts.comment}"
                                        }
                                    }
                                    button { class: "button", r#type: "submit", "Send comment" }
                                    a { class: "link-cancel", href: "/visits/{vid}#criterion-{c.id}", "Cancel" }
                                }
                            } else {
                                p { class: "no-print",
                                    a { class: "comment-link", href: "/visits/{vid}?on={c.id}#criterion-{c.id}", aria_describedby: "criterion-{c.id}-title",
                                        if is_lead { "Answer or comment on this" } else { "Comment on this" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section { aria_labelledby: "comments-title", id: "comments",
            h2 { id: "comments-title", "Comments on the report as a whole" }
            if general.is_empty() { p { "No comments on the report as a whole." } }
            for cm in general.iter() { {comment_box(cm)} }
            if can_comment {
                form { class: "no-print", method: "post", action: "/visits/{vid}/comments", novalidate: true,
                    {form_key(viewer)}
                    div { class: if body_error { "form-group form-group-error" } else { "form-group" },
                        label { class: "label", r#for: "comment-body", if is_lead { "Your answer or comment on the report as a whole" } else { "Your comment on the report as a whole" } }
                        div { class: "hint", id: "comment-body-hint", {format!("{hint_text} To comment on one criterion, use “Comment on this” beside it.")} }
                        {field_error(errors, "comment-body")}
                        textarea { class: "textarea", id: "comment-body", name: "body", rows: "5",
                            aria_describedby: if body_error { "comment-body-hint comment-body-error" } else { "comment-body-hint" },
                            {if open_on.is_none() { drafts.comment.clone() } else { String::new() }}
                        }
                    }
                    button { class: "button", r#type: "submit", "Send comment" }
                }
                if is_provider { form { class: "no-print", method: "post", action: "/visits/{vid}/confirm",
                    {form_key(viewer)}
                    p { "If everything in the report is accurate, or you have sent all your comments:" }
                    button { class: "button secondary", r#type: "submit", id: "confirm", "I have no further comments" }
                } }
            }
        }
        section { aria_labelledby: "actions-title", id: "actions",
            h2 { id: "actions-title", "Action plan" }
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
                                                img { class: "evidence-image", src: "/visits/{vid}/files/{f.hash}", alt: "Evidence photo: {f.name}" }
                                                br {}
                                            }
                                            a { href: "/visits/{vid}/files/{f.hash}", "{f.name}" }
                                            {format!(" ({}, {})", if f.media_type == "application/pdf" { "PDF" } else { "photo" }, size_text(f.size))}
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if can_respond && a.status == ActionStatus::Open {
                        form { class: "no-print", method: "post", action: "/visits/{vid}/actions/{aid}/responses", enctype: "multipart/form-data", novalidate: true,
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
        if !photos.is_empty() {
            section { aria_labelledby: "photos-title", id: "photos",
                h2 { id: "photos-title", "Photos" }
                for (pid, photo) in photos.iter() {
                    div { key: "{pid}",
                        if let Some(c) = photo.criterion.as_deref().and_then(&prompt_of) {
                            p { class: "hint", "{c}" }
                        }
                        {super::marks::photo_figure(vid, **pid, photo, rec)}
                    }
                }
            }
        }
        section { aria_labelledby: "signatures-title", id: "signatures",
            h2 { id: "signatures-title", "Signatures" }
            if r.signatures.is_empty() { p { "Nobody signed on the device at the end of this visit." } }
            for c in r.signatures.iter() { {super::marks::signature_block(c)} }
        }
    };
    error_titled_page(
        &title,
        !errors.is_empty(),
        Some(viewer),
        Section::Locations,
        body,
    )
}

/// The query of the report's address: what was just done, and which criterion's comment form
/// is open or was just sent.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
    on: String,
    at: String,
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    errors: Vec<FieldError>,
    drafts: Drafts,
    focus: Focus,
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
                let r = load(s, tx, &v, id, &focus.done)?;
                Ok(render(&v, &r, &errors, &drafts, &focus))
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
    let focus = Focus {
        on: q.on,
        at: q.at,
        done: q.done,
    };
    show(&state, &viewer, id, Vec::new(), Drafts::default(), focus).await
}

/// The comment form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CommentForm {
    form_key: String,
    criterion: String,
    body: String,
}

/// A comment on a criterion or on the report as a whole: a provider's during the window, or a
/// lead's answer at any time.
pub async fn comment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    check_key(&viewer, &f.form_key)?;
    let criterion = Some(f.criterion.trim().to_owned()).filter(|c| !c.is_empty());
    // A refused comment comes back in the form it was typed in, beside its criterion.
    let field = if criterion.is_some() {
        CRITERION_COMMENT
    } else {
        "comment-body"
    };
    let refused = |message: String| {
        let focus = Focus {
            on: criterion.clone().unwrap_or_default(),
            ..Focus::default()
        };
        let drafts = Drafts {
            comment: f.body.clone(),
            ..Drafts::default()
        };
        (vec![FieldError::new(field, message)], drafts, focus)
    };
    let body = f.body.trim().to_owned();
    if body.is_empty() {
        let (errors, drafts, focus) = refused("Enter your comment".to_owned());
        return show(&state, &viewer, id, errors, drafts, focus).await;
    }
    if body.chars().count() > 10_000 {
        let (errors, drafts, focus) =
            refused("Your comment must be 10,000 characters or fewer".to_owned());
        return show(&state, &viewer, id, errors, drafts, focus).await;
    }
    let caller = viewer.caller.clone();
    let on = criterion.clone();
    let result = state
        .blocking(move |s| {
            s.db.write(|tx| visits::comment(s, tx, &caller, id, on.as_deref(), &body))
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&match &criterion {
            Some(c) => format!("/visits/{id}?done=comment&at={c}#criterion-{c}"),
            None => format!("/visits/{id}?done=comment#comments"),
        })),
        Err(e) if matches!(e, ServiceError::Invalid(_) | ServiceError::Conflict(_)) => {
            let (errors, drafts, focus) = refused(capital(&e.message()));
            show(&state, &viewer, id, errors, drafts, focus).await
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
                Focus::default(),
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
        return show(&state, &viewer, id, errors, drafts, Focus::default()).await;
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
                Focus::default(),
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
    let mut r = super::marks::image_response(bytes, &f.media_type);
    let h = r.headers_mut();
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
