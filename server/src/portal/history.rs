//! A visit's history in the portal: its revisions, each record as the document held it when it
//! was signed (read from the document's own history), what changed from one revision to the
//! next (for council staff: a lead decides a pending revision with it), and how a published visit
//! differs from the previous published visit at the location (providers too).

use accredit_shared::FrameworkPack;
use accredit_shared::labels::long_date;
use accredit_shared::ratio::{Ratio, percent_text};
use accredit_shared::records::Answer;
use accredit_shared::visit::VisitSnapshot;
use accredit_shared::visit_diff::{Change, VisitDiff};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use dioxus::prelude::*;

use super::layout::{Section, page};
use super::report::answer_text;
use super::session::Viewer;
use super::{PageResult, html, path_id};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::history::{self, Comparison, RevisionAt, RevisionFacts};
use crate::state::AppState;

fn answer_words(pack: Option<&FrameworkPack>, criterion: &str, a: Option<Answer>) -> String {
    let label = match (pack.and_then(|p| p.criterion(criterion)), a) {
        (Some((_, c)), Some(Answer::Score(v))) => c.scale.label(v),
        _ => None,
    };
    answer_text(a, label)
}

fn prompt(pack: Option<&FrameworkPack>, criterion: &str) -> String {
    pack.and_then(|p| p.criterion(criterion))
        .map_or_else(|| criterion.to_owned(), |(_, c)| c.prompt.clone())
}

fn signed_words(r: &VisitSnapshot) -> String {
    r.signoff.as_ref().map_or_else(
        || "Not signed".to_owned(),
        |s| {
            format!(
                "Signed by {} on {}",
                s.by.name,
                long_date(accredit_shared::calendar::london_date(s.at))
            )
        },
    )
}

fn state_words(f: &RevisionFacts) -> String {
    let state = match f.state.as_str() {
        "accepted" => "Accepted",
        "pending" => "Waiting for a lead's decision",
        "rejected" => "Rejected",
        other => other,
    };
    match &f.published_on {
        Some(p) => format!("{state}, published {}", day_words(p)),
        None => state.to_owned(),
    }
}

fn day_words(text: &str) -> String {
    text.parse::<chrono::NaiveDate>()
        .map_or_else(|_| text.to_owned(), long_date)
}

fn list_page(viewer: &Viewer, visit_id: uuid::Uuid, revisions: &[RevisionFacts]) -> String {
    let staff = viewer.caller.role != Role::Provider;
    let body = rsx! {
        p { a { href: "/visits/{visit_id}", "Back to the report" } }
        h1 { "History of this visit" }
        p { "Each revision is read from the visit's own record of every change, as it stood when it was signed. Later edits never change a signed revision: they become a new one." }
        table { class: "table", id: "revisions",
            caption { class: "visually-hidden", "Revisions" }
            thead { tr {
                th { scope: "col", "Revision" }
                th { scope: "col", "State" }
                th { scope: "col", "Signed or sent" }
                th { scope: "col", "See" }
            } }
            tbody {
                for r in revisions.iter() {
                    tr { key: "{r.revision}",
                        th { scope: "row", "{r.revision}" }
                        td { {state_words(r)} }
                        td { {day_words(r.signed_at.get(..10).unwrap_or(&r.signed_at))} }
                        td {
                            a { href: "/visits/{visit_id}/revisions/{r.revision}", {format!("The record at revision {}", r.revision)} }
                            if staff && r.revision > 1 {
                                br {}
                                a { href: "/visits/{visit_id}/revisions/{r.revision}/changes", {format!("What changed in revision {}", r.revision)} }
                            }
                        }
                    }
                }
            }
        }
        if revisions.iter().any(|r| r.published_on.is_some()) {
            p { a { href: "/visits/{visit_id}/compare-previous", id: "compare-previous", "Compare with the previous published visit here" } }
        }
    };
    page(
        "History of this visit",
        Some(viewer),
        Section::Locations,
        body,
    )
}

/// The revisions of a visit.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let caller = viewer.caller.clone();
    let revisions = state
        .blocking(move |s| s.db.read(|tx| history::revisions(tx, &caller, id)))
        .await?;
    Ok(html(StatusCode::OK, list_page(&viewer, id, &revisions)))
}

fn record_page(viewer: &Viewer, s: &AppState, r: &RevisionAt) -> String {
    let rec = &r.record;
    let pack = s.packs.get(&rec.header.pack_id, &rec.header.pack_version);
    let title = format!("The record at revision {}", r.facts.revision);
    let body = rsx! {
        p { a { href: "/visits/{r.visit_id}/history", "Back to the history" } }
        span { class: "caption", "Read from the visit's history" }
        h1 { "{title}" }
        dl { class: "summary-list", id: "revision-summary",
            div { dt { "State" } dd { {state_words(&r.facts)} } }
            div { dt { "Visit day" } dd { {long_date(rec.visited_on())} } }
            div { dt { "Framework" } dd { {format!("{} {}", rec.header.pack_id, rec.header.pack_version)} } }
            div { dt { "Sign-off" } dd { {signed_words(rec)} } }
        }
        table { class: "table compact", id: "revision-results",
            caption { "Answers and notes" }
            thead { tr {
                th { scope: "col", "Criterion" }
                th { scope: "col", "Answer" }
                th { scope: "col", "Notes" }
            } }
            tbody {
                for (id, res) in rec.results.iter() {
                    tr { key: "{id}",
                        th { scope: "row", {prompt(pack, id)} br {} span { class: "hint", "{id}" } }
                        td { {answer_words(pack, id, res.answer)} }
                        td { "{res.notes}" }
                    }
                }
            }
        }
        h2 { "Evidence" }
        if rec.evidence.is_empty() { p { "None recorded." } }
        ul { class: "list",
            for (id, e) in rec.evidence.iter() {
                li { key: "{id}", strong { {e.kind.label()} ": " } "{e.text}" }
            }
        }
        h2 { "Actions" }
        if rec.actions.is_empty() { p { "None recorded." } }
        ul { class: "list",
            for (id, a) in rec.actions.iter() {
                li { key: "{id}", {format!("{} ({} priority){}", a.description, a.priority.label().to_lowercase(), a.due_on.map(|d| format!(", due {}", long_date(d))).unwrap_or_default())} }
            }
        }
    };
    page(&title, Some(viewer), Section::Locations, body)
}

/// A revision's record, as the document held it then.
pub async fn revision(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, revision)): Path<(String, String)>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let revision = revision_number(&revision)?;
    let caller = viewer.caller.clone();
    let v = viewer.clone();
    let text = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let r = history::revision_at(tx, &caller, id, revision)?;
                Ok(record_page(&v, s, &r))
            })
        })
        .await?;
    Ok(html(StatusCode::OK, text))
}

fn revision_number(text: &str) -> Result<u32, ServiceError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ServiceError::not_found("revision"))
}

/// A difference of two percentages, in percentage points.
fn points(d: Ratio) -> String {
    format!("{} points", percent_text(Some(d)).trim_end_matches('%'))
}

fn pct_change(before: Option<Ratio>, after: Option<Ratio>) -> String {
    let minus = |r: Ratio| Ratio::integer(-1).checked_times(r);
    // Display only: a difference too large to hold exactly is left blank, never shown wrong.
    let d = before
        .zip(after)
        .and_then(|(b, a)| minus(b).and_then(|nb| a.checked_plus(nb)));
    match d {
        Some(d) if d == Ratio::ZERO => "no change".to_owned(),
        Some(d) if d > Ratio::ZERO => format!("up {}", points(d)),
        Some(d) => minus(d).map_or_else(String::new, |p| format!("down {}", points(p))),
        None => String::new(),
    }
}

/// The comparison of two records: scores by domain, then every criterion whose answer or notes
/// changed, then evidence and actions added, removed or changed.
fn comparison_body(s: &AppState, c: &Comparison, heading: &str, intro: &str) -> Element {
    let pack = s
        .packs
        .get(&c.after.header.pack_id, &c.after.header.pack_version);
    let d = &c.diff;
    let criteria: Vec<(String, String, String, String, String)> = d
        .results
        .iter()
        .map(|(id, ch)| {
            let (b, a) = match ch {
                Change::Added { after } => (None, Some(after)),
                Change::Removed { before } => (Some(before), None),
                Change::Changed { before, after } => (Some(before), Some(after)),
            };
            (
                id.clone(),
                answer_words(pack, id, b.and_then(|r| r.answer)),
                answer_words(pack, id, a.and_then(|r| r.answer)),
                b.map(|r| r.notes.clone()).unwrap_or_default(),
                a.map(|r| r.notes.clone()).unwrap_or_default(),
            )
        })
        .collect();
    let listed =
        |what: &str, n: usize| accredit_shared::labels::count(n, what, &format!("{what}s"));
    let evidence: Vec<String> = d
        .evidence
        .values()
        .map(|ch| match ch {
            Change::Added { after } => format!("Added: {}", after.text),
            Change::Removed { before } => format!("Removed: {}", before.text),
            Change::Changed { before, after } => {
                format!("Changed: “{}” to “{}”", before.text, after.text)
            }
        })
        .collect();
    let actions: Vec<String> = d
        .actions
        .values()
        .map(|ch| match ch {
            Change::Added { after } => format!("Added: {}", after.description),
            Change::Removed { before } => format!("Removed: {}", before.description),
            Change::Changed { before, after } if before.description != after.description => {
                format!(
                    "Changed: “{}” to “{}”",
                    before.description, after.description
                )
            }
            Change::Changed { after, .. } => format!(
                "Changed (due date, priority or state): {}",
                after.description
            ),
        })
        .collect();
    // Photos, marks on them, signatures and pack moves, as sentences.
    let others: Vec<String> = VisitDiff {
        photos: d.photos.clone(),
        annotations: d.annotations.clone(),
        signatures: d.signatures.clone(),
        migrations: d.migrations.clone(),
        ..VisitDiff::default()
    }
    .lines(pack);
    rsx! {
        h1 { "{heading}" }
        p { "{intro}" }
        if d.is_empty() {
            p { id: "no-changes", "Nothing changed." }
        }
        h2 { "Scores by domain" }
        if let Some(sc) = &c.scores {
            table { class: "table", id: "domain-changes",
                caption { class: "visually-hidden", "Scores by domain" }
                thead { tr {
                    th { scope: "col", "Domain" }
                    th { scope: "col", class: "numeric", "Before" }
                    th { scope: "col", class: "numeric", "After" }
                    th { scope: "col", "Change" }
                } }
                tbody {
                    for dc in sc.domains.iter() {
                        tr { key: "{dc.domain_id}",
                            th { scope: "row", "{dc.title}" }
                            td { class: "numeric", {percent_text(dc.before)} }
                            td { class: "numeric", {percent_text(dc.after)} }
                            td { {pct_change(dc.before, dc.after)} }
                        }
                    }
                    tr { class: "total",
                        th { scope: "row", "Overall" }
                        td { class: "numeric", {percent_text(sc.overall.before)} }
                        td { class: "numeric", {percent_text(sc.overall.after)} }
                        td { {pct_change(sc.overall.before, sc.overall.after)} }
                    }
                }
            }
        } else {
            p { id: "scores-not-compared", {format!("Scores are not compared: {}.", c.scores_not_compared.clone().unwrap_or_default())} }
        }
        h2 { {format!("Criteria that changed ({})", listed("criterion", criteria.len()).replace("criterions", "criteria"))} }
        if criteria.is_empty() { p { "No answer or note changed." } } else {
            table { class: "table compact", id: "criterion-changes",
                caption { class: "visually-hidden", "Criteria that changed" }
                thead { tr {
                    th { scope: "col", "Criterion" }
                    th { scope: "col", "Answer before" }
                    th { scope: "col", "Answer after" }
                    th { scope: "col", "Notes" }
                } }
                tbody {
                    for (id, ab, aa, nb, na) in criteria.iter() {
                        tr { key: "{id}",
                            th { scope: "row", {prompt(pack, id)} br {} span { class: "hint", "{id}" } }
                            td { "{ab}" }
                            td { strong { "{aa}" } }
                            td {
                                if nb != na {
                                    if !nb.is_empty() { p { span { class: "hint", "Before: " } del { "{nb}" } } }
                                    if !na.is_empty() { p { span { class: "hint", "After: " } ins { "{na}" } } }
                                } else {
                                    span { class: "hint", "Unchanged" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Evidence" }
        if evidence.is_empty() { p { "No evidence added, removed or changed." } }
        ul { class: "list", id: "evidence-changes",
            for (i, e) in evidence.iter().enumerate() { li { key: "{i}", "{e}" } }
        }
        h2 { "Actions" }
        if actions.is_empty() { p { "No action added, removed or changed." } }
        ul { class: "list", id: "action-changes",
            for (i, a) in actions.iter().enumerate() { li { key: "{i}", "{a}" } }
        }
        h2 { "Photos, marks and signatures" }
        if others.is_empty() { p { "No photo, mark or signature added, removed or changed." } }
        ul { class: "list", id: "other-changes",
            for (i, a) in others.iter().enumerate() { li { key: "{i}", "{a}" } }
        }
    }
}

/// Which comparison a page shows.
enum Compared {
    /// Revision `n` against `n − 1`.
    Revision(u32),
    /// The published visit against the previous published visit.
    PreviousVisit,
}

/// A comparison page: the service's comparison, headed and linked back.
async fn comparison_page(
    state: AppState,
    viewer: Viewer,
    id: uuid::Uuid,
    which: Compared,
) -> PageResult {
    let caller = viewer.caller.clone();
    let text = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let (c, heading, intro, back) = match which {
                    Compared::Revision(n) => {
                        let c = history::revision_changes(s, tx, &caller, id, n)?;
                        let intro = format!(
                            "Revision {} compared with revision {}, both read from the visit's history.",
                            c.to.1, c.from.1
                        );
                        let back = (format!("/visits/{id}/history"), "Back to the history");
                        (c, format!("What changed in revision {n}"), intro, back)
                    }
                    Compared::PreviousVisit => {
                        let c = history::compare_with_previous(s, tx, &caller, id)?;
                        let intro = format!(
                            "The visit of {} compared with the visit of {}, as each was published.",
                            long_date(c.after.visited_on()),
                            long_date(c.before.visited_on())
                        );
                        let heading = "Compared with the previous published visit".to_owned();
                        (c, heading, intro, (format!("/visits/{id}"), "Back to the report"))
                    }
                };
                let body = rsx! {
                    p { a { href: "{back.0}", "{back.1}" } }
                    {comparison_body(s, &c, &heading, &intro)}
                };
                Ok(page(&heading, Some(&viewer), Section::Locations, body))
            })
        })
        .await?;
    Ok(html(StatusCode::OK, text))
}

/// What changed in a revision, from the one before (council staff).
pub async fn changes(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, revision)): Path<(String, String)>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let revision = revision_number(&revision)?;
    comparison_page(state, viewer, id, Compared::Revision(revision)).await
}

/// This published visit compared with the previous published visit at the location.
pub async fn compare_previous(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    comparison_page(state, viewer, id, Compared::PreviousVisit).await
}
