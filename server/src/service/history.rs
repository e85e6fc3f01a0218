//! A visit's history, read from its own Automerge document rather than from stored copies: the
//! record as it was at each revision's heads, what changed from one revision to the next, and
//! how a published visit differs from the previous published visit at the same location.
//!
//! Who sees what: everyone who may see the visit sees its revisions as the visit detail lists
//! them (providers: the shared and published ones); a revision's changes are for council staff
//! (leads decide pending revisions with them); the comparison of two published visits is for
//! everyone who may see the visit, providers included.

use accredit_shared::visit::{Signature, VisitDoc, VisitSnapshot, heads_from_strings};
use accredit_shared::visit_diff::{DiffError, ScoreDiff, VisitDiff, diff, score_diff};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::service::visits;
use crate::state::AppState;

/// A revision's facts, without its record.
#[derive(Clone, Debug, Serialize)]
pub struct RevisionFacts {
    /// Its number.
    pub revision: u32,
    /// `accepted`, `pending` or `rejected`.
    pub state: String,
    /// Who signed it (or sent the later edits).
    pub signed_by: String,
    /// When.
    pub signed_at: String,
    /// When it was published, if it was.
    pub published_on: Option<String>,
}

/// A revision and the record as the document held it at the revision's heads.
#[derive(Clone, Debug, Serialize)]
pub struct RevisionAt {
    /// The visit.
    pub visit_id: Uuid,
    /// The revision.
    #[serde(flatten)]
    pub facts: RevisionFacts,
    /// The record, read from the document's history.
    pub record: VisitSnapshot,
}

/// Two states of visits compared.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The older state: visit and revision.
    pub from: (Uuid, u32),
    /// The newer state.
    pub to: (Uuid, u32),
    /// The older record (from history).
    pub before: VisitSnapshot,
    /// The newer record (from history).
    pub after: VisitSnapshot,
    /// What changed.
    pub diff: VisitDiff,
    /// Domain scores before and after, when both were scored against the same pack version.
    pub scores: Option<ScoreDiff>,
    /// Why the scores are not compared, when they are not.
    pub scores_not_compared: Option<String>,
}

/// The revisions of a visit the caller may see, oldest first.
pub fn revisions(
    tx: &Connection,
    caller: &Caller,
    visit_id: Uuid,
) -> ServiceResult<Vec<RevisionFacts>> {
    let detail = visits::detail(tx, caller, visit_id)?;
    Ok(detail
        .revisions
        .into_iter()
        .map(|r| RevisionFacts {
            revision: r.revision,
            state: r.state,
            signed_by: r.signed_by,
            signed_at: r.signed_at,
            published_on: r.published_on,
        })
        .collect())
}

/// The record at a revision's heads, read from the stored document.
fn record_at(tx: &Connection, visit_id: Uuid, heads: &[String]) -> ServiceResult<VisitSnapshot> {
    let doc = crate::docstore::load(tx, visit_id)?
        .ok_or_else(|| ServiceError::not_found("visit document"))?;
    let wanted = heads.to_vec();
    let heads = heads_from_strings(heads).ok_or_else(|| {
        ServiceError::internal(format!("visit {visit_id}: stored heads unreadable"))
    })?;
    let unreadable = |e: accredit_shared::visit::VisitDocError| {
        ServiceError::internal(format!("visit {visit_id} at its heads: {e}"))
    };
    let mut record = VisitDoc::read_automerge(&doc, Some(&heads)).map_err(unreadable)?;
    // A sign-off records the heads it signed, so it comes after them in the history: the signed
    // revision is the document at those heads with that sign-off, as the server first stored it.
    if record.signoff.is_none() {
        let now = VisitDoc::read_automerge(&doc, None).map_err(unreadable)?;
        record.signoff = now.signoff.filter(|s| s.heads == wanted);
    }
    Ok(record)
}

fn heads_of(tx: &Connection, visit_id: Uuid, revision: u32) -> ServiceResult<Option<Vec<String>>> {
    let text: Option<String> = tx
        .query_row(
            "SELECT heads FROM visit_revisions WHERE visit_id = ?1 AND revision = ?2",
            params![visit_id.to_string(), revision],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.map(|t| {
        t.split(',')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect()
    }))
}

/// A revision of a visit as the document held it then (404 for a revision the caller may not
/// see, or that does not exist).
pub fn revision_at(
    tx: &Connection,
    caller: &Caller,
    visit_id: Uuid,
    revision: u32,
) -> ServiceResult<RevisionAt> {
    let facts = revisions(tx, caller, visit_id)?
        .into_iter()
        .find(|r| r.revision == revision)
        .ok_or_else(|| ServiceError::not_found("revision"))?;
    let heads =
        heads_of(tx, visit_id, revision)?.ok_or_else(|| ServiceError::not_found("revision"))?;
    Ok(RevisionAt {
        visit_id,
        facts,
        record: record_at(tx, visit_id, &heads)?,
    })
}

fn compare(
    s: &AppState,
    from: (Uuid, u32, VisitSnapshot),
    to: (Uuid, u32, VisitSnapshot),
) -> Comparison {
    let (before, after) = (from.2, to.2);
    let d = diff(&before, &after);
    let pack = s
        .packs
        .get(&after.header.pack_id, &after.header.pack_version);
    let rules = s.rules();
    let scoring = rules
        .in_force(after.visited_on())
        .or_else(|| rules.in_force(s.today()))
        .map(|r| r.scoring.clone());
    let (scores, scores_not_compared) = match (pack, scoring) {
        (Some(pack), Some(scoring)) => match score_diff(pack, &scoring, &before, &after) {
            Ok(sd) => (Some(sd), None),
            Err(e @ (DiffError::DifferentPacks(..) | DiffError::WrongPack(_))) => {
                (None, Some(e.to_string()))
            }
            Err(e) => (None, Some(e.to_string())),
        },
        (None, _) => (
            None,
            Some(format!(
                "framework pack {} {} is not known to this server",
                after.header.pack_id, after.header.pack_version
            )),
        ),
        (_, None) => (None, Some("no rule set says how to score".to_owned())),
    };
    Comparison {
        from: (from.0, from.1),
        to: (to.0, to.1),
        before,
        after,
        diff: d,
        scores,
        scores_not_compared,
    }
}

/// What changed from the revision before `revision` (for council staff; a lead deciding a
/// pending revision reads this). Revision 1 has nothing before it: 404.
pub fn revision_changes(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    visit_id: Uuid,
    revision: u32,
) -> ServiceResult<Comparison> {
    caller.require(&[Role::Monitor, Role::Lead, Role::Commissioner])?;
    let Some(previous) = revision.checked_sub(1).filter(|p| *p >= 1) else {
        return Err(ServiceError::not_found("earlier revision"));
    };
    let older = revision_at(tx, caller, visit_id, previous)?;
    let newer = revision_at(tx, caller, visit_id, revision)?;
    Ok(compare(
        s,
        (visit_id, previous, older.record),
        (visit_id, revision, newer.record),
    ))
}

/// The published visit compared with the previous published visit at the same location (the
/// one published before it, by visit day): everyone who may see the visit. 404 when either is
/// missing.
pub fn compare_with_previous(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    visit_id: Uuid,
) -> ServiceResult<Comparison> {
    let v = visits::require_visit(tx, caller, visit_id)?;
    let latest_published = |id: Uuid| -> ServiceResult<Option<u32>> {
        Ok(tx
            .query_row(
                "SELECT max(revision) FROM visit_revisions WHERE visit_id = ?1 AND published_on IS NOT NULL",
                [id.to_string()],
                |r| r.get::<_, Option<u32>>(0),
            )
            .optional()?
            .flatten())
    };
    let this_rev =
        latest_published(visit_id)?.ok_or_else(|| ServiceError::not_found("published revision"))?;
    let this = revision_at(tx, caller, visit_id, this_rev)?;
    // The previous published visit here: visited before this one.
    let mut stmt = tx.prepare(
        "SELECT id FROM visits WHERE location_id = ?1 AND id <> ?2 AND published_on IS NOT NULL",
    )?;
    let others: Vec<String> = stmt
        .query_map(
            params![v.location_id.to_string(), visit_id.to_string()],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut best: Option<(chrono::NaiveDate, Uuid, u32, VisitSnapshot)> = None;
    for id in others {
        let id = crate::db::stored_id(&id)?;
        let Some(rev) = latest_published(id)? else {
            continue;
        };
        let Some(heads) = heads_of(tx, id, rev)? else {
            continue;
        };
        let record = record_at(tx, id, &heads)?;
        let day = record.visited_on();
        if day < this.record.visited_on() && best.as_ref().is_none_or(|b| day > b.0) {
            best = Some((day, id, rev, record));
        }
    }
    let (_, prev_id, prev_rev, prev) =
        best.ok_or_else(|| ServiceError::not_found("previous published visit"))?;
    Ok(compare(
        s,
        (prev_id, prev_rev, prev),
        (visit_id, this_rev, this.record),
    ))
}

/// A signature on the record shown, and whether that record changed after it was signed.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureCheck {
    /// The signature's id in the document.
    pub id: Uuid,
    /// The signature, strokes included.
    pub signature: Signature,
    /// Whether the record shown differs from the record as signed (the sign-off and the
    /// signatures themselves aside).
    pub changed_after_signing: bool,
    /// What changed after signing, exactly.
    pub changes: VisitDiff,
    /// The same as sentences.
    pub change_lines: Vec<String>,
}

/// Every signature on the visit's current record (what its report shows), each compared with
/// the record as it stood at the heads it signed, read from the document's own history.
pub fn signature_checks(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    visit_id: Uuid,
) -> ServiceResult<Vec<SignatureCheck>> {
    let visit = visits::require_visit(tx, caller, visit_id)?;
    let shown = visits::revision_record(tx, visit_id, visit.current_revision)?;
    if shown.signatures.is_empty() {
        return Ok(Vec::new());
    }
    let doc = crate::docstore::load(tx, visit_id)?
        .ok_or_else(|| ServiceError::not_found("visit document"))?;
    let pack = s
        .packs
        .get(&shown.header.pack_id, &shown.header.pack_version);
    let content = shown.signed_content();
    let mut out = Vec::new();
    let mut signatures: Vec<_> = shown.signatures.iter().collect();
    signatures.sort_by_key(|(id, sig)| (sig.signed_at, **id));
    for (id, sig) in signatures {
        let heads = heads_from_strings(&sig.heads).ok_or_else(|| {
            ServiceError::internal(format!("visit {visit_id}: signature heads unreadable"))
        })?;
        let signed = VisitDoc::read_automerge(&doc, Some(&heads)).map_err(|e| {
            ServiceError::internal(format!("visit {visit_id} at a signature's heads: {e}"))
        })?;
        let changes = diff(&signed.signed_content(), &content);
        out.push(SignatureCheck {
            id: *id,
            signature: sig.clone(),
            changed_after_signing: !changes.is_empty(),
            change_lines: changes.lines(pack),
            changes,
        });
    }
    Ok(out)
}
