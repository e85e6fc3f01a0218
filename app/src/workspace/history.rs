//! A visit's history on the device, read from its own Automerge document (never from copies):
//! the changes grouped into edit sessions (one person, no long pause), the state as signed off,
//! and for each point what changed against the one before, with each domain's percentage.

use std::collections::{BTreeMap, BTreeSet};

use accredit_shared::FrameworkPack;
use accredit_shared::records::Answer;
use accredit_shared::visit::{VisitDoc, VisitSnapshot, heads_from_strings, heads_to_strings};
use accredit_shared::visit_diff::{Change, ScoreDiff, VisitDiff, diff, score_diff};
use automerge::{ChangeHash, ObjType, ROOT, ReadDoc, Value};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Workspace, pack_in};
use crate::error::{AppError, AppResult};

/// Changes by one person further apart than this start a new session.
pub const SESSION_GAP_SECONDS: i64 = 30 * 60;

/// One criterion's change between two points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultChange {
    /// The criterion's id.
    pub criterion: String,
    /// Its prompt, in the version of the later point (or the earlier, if it left the visit).
    pub prompt: String,
    /// The answer before, if it changed.
    pub answer_before: Option<Answer>,
    /// The answer after.
    pub answer_after: Option<Answer>,
    /// Whether the answer changed.
    pub answer_changed: bool,
    /// Whether the notes changed.
    pub notes_changed: bool,
    /// The notes after (empty when the criterion left the visit).
    pub notes_after: String,
    /// Whether the criterion was added to or removed from the visit (a pack version move).
    pub presence: Option<&'static str>,
}

/// One point of the timeline: the document after an edit session (or as signed off).
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPoint {
    /// The document's heads at this point (hex change hashes).
    pub heads: Vec<String>,
    /// Who made the session's changes.
    pub author: String,
    /// When its first change was made.
    pub from: Option<DateTime<Utc>>,
    /// When its last change was made.
    pub to: Option<DateTime<Utc>>,
    /// How many changes it holds.
    pub changes: usize,
    /// Whether this point is the state as signed off.
    pub as_signed: bool,
    /// The pack version the visit was on at this point.
    pub pack_version: String,
    /// The version the visit moved from in this session, if it moved.
    pub moved_from: Option<String>,
    /// What changed against the previous point.
    pub diff: VisitDiff,
    /// Per criterion, answer and notes changes, in the later version's pack order.
    pub results: Vec<ResultChange>,
    /// Each domain's percentage before and after; `None` across a pack version move (the
    /// versions are compared only through the mapping, never score by score).
    pub scores: Option<ScoreDiff>,
}

/// A visit's whole history as the device holds it.
#[derive(Clone, Debug)]
pub struct HistoryView {
    /// The visit as it is now.
    pub current: VisitSnapshot,
    /// Points, oldest first.
    pub points: Vec<HistoryPoint>,
    /// The state as signed off, if signed.
    pub signed: Option<VisitSnapshot>,
    /// What changed in the record since it was signed (empty when nothing did).
    pub since_signed: Option<VisitDiff>,
}

/// The criteria a diff touches, with prompts from `pack` (or `earlier`, for one that left the
/// visit), in `pack`'s order.
pub(super) fn result_changes(
    d: &VisitDiff,
    pack: &FrameworkPack,
    earlier: Option<&FrameworkPack>,
) -> Vec<ResultChange> {
    let prompt = |c: &str| {
        pack.criterion(c)
            .or_else(|| earlier.and_then(|p| p.criterion(c)))
            .map_or_else(|| c.to_owned(), |(_, x)| x.prompt.clone())
    };
    let order: BTreeMap<&str, usize> = pack
        .criteria()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut results: Vec<ResultChange> = d
        .results
        .iter()
        .map(|(c, change)| {
            let (b, a, presence) = match change {
                Change::Added { after } => (None, Some(after), Some("added")),
                Change::Removed { before } => (Some(before), None, Some("removed")),
                Change::Changed { before, after } => (Some(before), Some(after), None),
            };
            let answer_before = b.and_then(|r| r.answer);
            let answer_after = a.and_then(|r| r.answer);
            ResultChange {
                criterion: c.clone(),
                prompt: prompt(c),
                answer_before,
                answer_after,
                answer_changed: answer_before != answer_after,
                notes_changed: b.map(|r| r.notes.as_str()).unwrap_or_default()
                    != a.map(|r| r.notes.as_str()).unwrap_or_default(),
                notes_after: a.map(|r| r.notes.clone()).unwrap_or_default(),
                presence,
            }
        })
        .collect();
    results.sort_by_key(|r| {
        order
            .get(r.criterion.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
    results
}

/// Actor (hex) → author name, from the document's `authors` map.
fn author_names(doc: &mut VisitDoc) -> BTreeMap<String, String> {
    let am = doc.automerge();
    let mut out = BTreeMap::new();
    let Ok(Some((Value::Object(ObjType::Map), authors))) = am.get(ROOT, "authors") else {
        return out;
    };
    for actor in am.keys(&authors).collect::<Vec<_>>() {
        if let Ok(Some((Value::Object(ObjType::Map), entry))) = am.get(&authors, actor.as_str())
            && let Ok(Some((Value::Scalar(name), _))) = am.get(&entry, "name")
            && let Some(name) = name.as_str()
        {
            out.insert(actor, name.to_owned());
        }
    }
    out
}

/// A session's changes before it becomes a point.
struct Session {
    author: String,
    from: i64,
    to: i64,
    changes: usize,
    heads: Vec<ChangeHash>,
    as_signed: bool,
}

fn time_of(seconds: i64) -> Option<DateTime<Utc>> {
    (seconds > 0)
        .then(|| DateTime::from_timestamp(seconds, 0))
        .flatten()
}

/// The pack version at `heads`, read from the root alone (cheap enough for every change).
fn version_at(doc: &automerge::AutoCommit, heads: &BTreeSet<ChangeHash>) -> Option<String> {
    let heads: Vec<ChangeHash> = heads.iter().copied().collect();
    match doc.get_at(ROOT, "pack_version", &heads) {
        Ok(Some((Value::Scalar(v), _))) => v.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The changes grouped into sessions, oldest first. The visit's creation is a point of its own
/// (so the first session's changes show against it), a move to another pack version starts a
/// new session (the versions are compared only through the mapping), and a session ends where
/// the document was signed, so the signed state is a point of its own.
fn sessions(doc: &mut VisitDoc, signed: Option<&[ChangeHash]>) -> Vec<Session> {
    let names = author_names(doc);
    let signed: Option<BTreeSet<ChangeHash>> = signed.map(|h| h.iter().copied().collect());
    let mut heads: BTreeSet<ChangeHash> = BTreeSet::new();
    let mut out: Vec<Session> = Vec::new();
    let mut closed = true;
    let mut version: Option<String> = None;
    let metas: Vec<_> = doc
        .automerge()
        .get_changes_meta(&[])
        .into_iter()
        .map(|m| (m.actor.to_hex_string(), m.deps.clone(), m.hash, m.timestamp))
        .collect();
    for (actor, deps, hash, timestamp) in metas {
        let author = names
            .get(&actor)
            .cloned()
            .unwrap_or_else(|| format!("Unregistered device {}", &actor[..actor.len().min(8)]));
        for dep in &deps {
            heads.remove(dep);
        }
        heads.insert(hash);
        let now_version = version_at(doc.automerge(), &heads);
        let moved = version.is_some() && now_version != version;
        version = now_version;
        let joins = !closed
            && !moved
            && out.last().is_some_and(|s| {
                s.author == author && (timestamp == 0 || timestamp - s.to <= SESSION_GAP_SECONDS)
            });
        if joins && let Some(s) = out.last_mut() {
            s.to = s.to.max(timestamp);
            s.changes += 1;
            s.heads = heads.iter().copied().collect();
        } else {
            out.push(Session {
                author,
                from: timestamp,
                to: timestamp,
                changes: 1,
                heads: heads.iter().copied().collect(),
                as_signed: false,
            });
        }
        // The creating change stands alone.
        closed = out.len() == 1 && out[0].changes == 1;
        if signed.as_ref() == Some(&heads)
            && let Some(s) = out.last_mut()
        {
            s.as_signed = true;
            closed = true;
        }
    }
    out
}

impl Workspace {
    /// The visit's history from its own document: each edit session's state and what it
    /// changed, the state as signed off, and what changed since. Works offline.
    pub fn visit_history(&mut self, id: Uuid) -> AppResult<HistoryView> {
        let doc = self.doc(id)?;
        let current = doc.snapshot()?;
        let signed_heads = match &current.signoff {
            Some(s) => Some(heads_from_strings(&s.heads).ok_or_else(|| {
                AppError::Corrupt(format!("visit {id}: the sign-off's heads are not hashes"))
            })?),
            None => None,
        };
        let sessions = sessions(doc, signed_heads.as_deref());
        let mut states = Vec::with_capacity(sessions.len());
        for s in &sessions {
            states.push(doc.snapshot_at(&s.heads)?);
        }
        let signed = match &signed_heads {
            Some(h) => Some(doc.snapshot_at(h)?),
            None => None,
        };
        let mut points = Vec::with_capacity(sessions.len());
        let mut before: Option<&VisitSnapshot> = None;
        for (s, after) in sessions.into_iter().zip(&states) {
            points.push(self.point(s, before, after)?);
            before = Some(after);
        }
        let since_signed = signed.as_ref().map(|s| diff(s, &current));
        Ok(HistoryView {
            current,
            points,
            signed,
            since_signed,
        })
    }

    fn point(
        &self,
        s: Session,
        before: Option<&VisitSnapshot>,
        after: &VisitSnapshot,
    ) -> AppResult<HistoryPoint> {
        let d = match before {
            Some(b) => diff(b, after),
            None => VisitDiff::default(),
        };
        let h = &after.header;
        let pack = pack_in(&self.packs, &(h.pack_id.clone(), h.pack_version.clone()))?;
        let earlier =
            before.and_then(|b| self.packs.get(&b.header.pack_id, &b.header.pack_version));
        let results = result_changes(&d, pack, earlier);
        let scores = match before {
            Some(b) if b.header.pack_version == h.pack_version => {
                let rules = self.rules_on(after.visited_on())?;
                Some(
                    score_diff(pack, &rules.scoring, b, after)
                        .map_err(|e| AppError::Invalid(e.to_string()))?,
                )
            }
            _ => None,
        };
        Ok(HistoryPoint {
            heads: heads_to_strings(&s.heads),
            author: s.author,
            from: time_of(s.from),
            to: time_of(s.to),
            changes: s.changes,
            as_signed: s.as_signed,
            pack_version: h.pack_version.clone(),
            moved_from: before
                .filter(|b| b.header.pack_version != h.pack_version)
                .map(|b| b.header.pack_version.clone()),
            diff: d,
            results,
            scores,
        })
    }
}
