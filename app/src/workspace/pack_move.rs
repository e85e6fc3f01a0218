//! Moving a draft to a newer version of its framework pack, and recovering when the server
//! refuses a visit's changes.
//!
//! A draft stays on its version unless the monitor moves it: the offer appears when the device
//! holds a newer version declaring a mapping from the draft's, the draft is unsigned and has no
//! conflicts. The preview is the pure mapping ([`accredit_shared::pack_migration::migrate`]); the
//! move is [`VisitDoc::migrate_to`], which keeps every result as it was in the document.
//!
//! When the server refuses a visit (its own move, say, or an offline edit to a criterion another
//! device's move removed), nothing is thrown away: the refused copy is kept whole in the store,
//! the draft is restored to a state the server accepts (before the move, or the server's last
//! receipt), and the edits the copy held beyond it are listed for the monitor to enter again.

use std::collections::BTreeMap;

use accredit_shared::FrameworkPack;
use accredit_shared::pack_migration::{Migrated, MigrationError, migrate};
use accredit_shared::records::Answer;
use accredit_shared::visit::{VisitDoc, VisitDocError, heads_from_strings, heads_to_strings};
use accredit_shared::visit_diff::diff;
use automerge::{ActorId, AutoCommit, ChangeHash};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::history::{ResultChange, result_changes};
use super::{Workspace, author_of, pack_in};
use crate::error::{AppError, AppResult};
use crate::store::{ItemKind, OutboxState, docs, outbox, set_aside};

/// Where the heads before and just after a move made on this device are kept (`before|after`)
/// until the server accepts the move or the monitor undoes it.
pub(super) fn premove_key(id: Uuid) -> String {
    format!("premove:{id}")
}

fn parse_heads(id: Uuid, text: &str) -> AppResult<Vec<ChangeHash>> {
    let heads: Vec<String> = text
        .split(',')
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    heads_from_strings(&heads)
        .ok_or_else(|| AppError::Corrupt(format!("visit {id}: saved heads {text:?}")))
}

/// What recovery restores and what it lists.
struct RestorePoint {
    /// The state the draft goes back to.
    restore: Vec<ChangeHash>,
    /// The state the refused copy's edits are counted from: just after an undone move (the
    /// move itself is no edit to enter again), else the restored state.
    edits_since: Vec<ChangeHash>,
    /// The version gone back to, when a move is undone.
    back_to_version: Option<String>,
}

/// One criterion of the draft's version and where its answer and notes go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedRow {
    /// The criterion of the draft's version.
    pub from: String,
    /// Its prompt.
    pub prompt: String,
    /// Its answer now.
    pub answer: Option<Answer>,
    /// Whether it has notes.
    pub has_notes: bool,
    /// The criteria of the newer version it goes to, with their prompts (empty if removed).
    pub to: Vec<(String, String)>,
}

/// A move the device can make, with its preview.
#[derive(Clone, Debug)]
pub struct MoveOffer {
    /// The draft's version.
    pub from_version: String,
    /// The version it can move to.
    pub to_version: String,
    /// The newer version's title.
    pub to_title: String,
    /// Every criterion of the draft's version with an answer or notes, and where it goes.
    pub carried: Vec<CarriedRow>,
    /// What the mapping computes: the new results and what is not carried, with the reasons.
    pub migrated: Migrated,
    /// Criteria of the newer version nothing maps to: to be answered after the move.
    pub new_criteria: Vec<(String, String)>,
}

/// How to recover a visit the server refused.
#[derive(Clone, Debug)]
pub struct Recovery {
    /// The server's reason, as it said it.
    pub reason: String,
    /// When it refused (RFC 3339).
    pub at: String,
    /// The version the draft was on before a move made on this device that the server has not
    /// accepted: recovering goes back to it.
    pub back_to_version: Option<String>,
    /// What the refused copy holds beyond the state recovery restores: kept in the set-aside
    /// copy, to be entered again.
    pub to_reenter: Vec<ResultChange>,
    /// Evidence, photos, actions, signatures and marks the restored draft would lack (kept in
    /// the copy too).
    pub other_items: usize,
}

/// A refused copy kept on the device.
#[derive(Clone, Debug)]
pub struct SetAside {
    /// Its number on this device.
    pub seq: i64,
    /// Why the server refused it.
    pub reason: String,
    /// When it was set aside (RFC 3339).
    pub at: String,
    /// The pack version the copy is on.
    pub pack_version: String,
    /// What it held beyond the restored draft, per criterion, with where each criterion is in
    /// the draft's current version (id and prompt, through the mapping; none when that version
    /// has no counterpart), to enter it again there.
    pub edits: Vec<(ResultChange, Vec<(String, String)>)>,
    /// Evidence, photos, actions, signatures and marks it held beyond the restored draft.
    pub other_items: usize,
    /// The whole copy (an Automerge save), to export.
    pub bytes: Vec<u8>,
}

/// The criteria of `to` that a criterion of `from` goes to, by `to`'s mapping.
fn targets(from: &FrameworkPack, to: &FrameworkPack) -> AppResult<BTreeMap<String, Vec<String>>> {
    let mapping = to.migration.as_ref().ok_or_else(|| {
        AppError::Invalid(format!(
            "framework {} {} declares no mapping",
            to.id, to.version
        ))
    })?;
    let routes = mapping
        .routes(from, to)
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    Ok(routes.into_iter().map(|r| (r.from, r.to)).collect())
}

/// Where each criterion of `copy` (a set-aside copy's version) is in `now` (the draft's version):
/// the same id on the same version; forward through `now`'s mapping from `copy`; backward
/// through `copy`'s mapping from `now` (a move undone); otherwise nowhere.
fn where_now(
    copy: &FrameworkPack,
    now: &FrameworkPack,
) -> AppResult<BTreeMap<String, Vec<String>>> {
    let from_now = |p: &FrameworkPack, v: &str| {
        p.migration
            .as_ref()
            .is_some_and(|m| m.from_version == v && p.id == copy.id)
    };
    if copy.version == now.version {
        Ok(copy
            .criteria()
            .map(|c| (c.id.clone(), vec![c.id.clone()]))
            .collect())
    } else if from_now(now, &copy.version) {
        targets(copy, now)
    } else if from_now(copy, &now.version) {
        let mut back: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (source, dests) in targets(now, copy)? {
            for d in dests {
                back.entry(d).or_default().push(source.clone());
            }
        }
        Ok(back)
    } else {
        Ok(BTreeMap::new())
    }
}

impl Workspace {
    /// The move this draft may make to a newer version of its pack, with the preview; `None` for
    /// a signed visit, a draft with conflicts, or when the device holds no newer version with a
    /// mapping from the draft's.
    pub fn move_offer(&mut self, id: Uuid) -> AppResult<Option<MoveOffer>> {
        // Asked on every redraw of the editor: most visits have no newer version, and that is
        // known without reading the document.
        let (pack_id, version) = self.pack_key(id)?;
        if self.packs.successor(&pack_id, &version).is_none() {
            return Ok(None);
        }
        let doc = self.doc(id)?;
        let snap = doc.snapshot()?;
        if snap.signoff.is_some() || !doc.conflicts()?.is_empty() {
            return Ok(None);
        }
        let h = &snap.header;
        let Some(to) = self.packs.successor(&h.pack_id, &h.pack_version) else {
            return Ok(None);
        };
        let from = pack_in(&self.packs, &(h.pack_id.clone(), h.pack_version.clone()))?;
        let migrated =
            migrate(&snap.results, from, to).map_err(|e| AppError::Invalid(e.to_string()))?;
        let routes = targets(from, to)?;
        let prompt = |p: &FrameworkPack, c: &str| {
            p.criterion(c)
                .map_or_else(|| c.to_owned(), |(_, x)| x.prompt.clone())
        };
        let carried = from
            .criteria()
            .filter_map(|c| {
                let r = snap.results.get(&c.id)?;
                (r.answer.is_some() || !r.notes.is_empty()).then(|| CarriedRow {
                    from: c.id.clone(),
                    prompt: c.prompt.clone(),
                    answer: r.answer,
                    has_notes: !r.notes.is_empty(),
                    to: routes
                        .get(&c.id)
                        .into_iter()
                        .flatten()
                        .map(|t| (t.clone(), prompt(to, t)))
                        .collect(),
                })
            })
            .collect();
        let mapped: std::collections::BTreeSet<&String> = routes.values().flatten().collect();
        let new_criteria = to
            .criteria()
            .filter(|c| !mapped.contains(&c.id))
            .map(|c| (c.id.clone(), c.prompt.clone()))
            .collect();
        Ok(Some(MoveOffer {
            from_version: from.version.clone(),
            to_version: to.version.clone(),
            to_title: to.title.clone(),
            carried,
            migrated,
            new_criteria,
        }))
    }

    /// Moves the draft to `to_version` (the version [`Workspace::move_offer`] offered), saved
    /// before it returns. The heads before the move are kept, so a move the server refuses can
    /// be undone without losing anything.
    pub fn move_draft(
        &mut self,
        id: Uuid,
        to_version: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Migrated> {
        self.check_editable(id)?;
        let offer = self.move_offer(id)?.ok_or_else(|| {
            AppError::Invalid(
                "this visit cannot move to another framework version: it is signed, has conflicts to resolve, or no newer version with a mapping is on this device".to_owned(),
            )
        })?;
        if offer.to_version != to_version {
            return Err(AppError::Invalid(format!(
                "this draft can move to version {}, not {to_version}",
                offer.to_version
            )));
        }
        let (pack_id, _) = self.pack_key(id)?;
        let from = pack_in(&self.packs, &(pack_id.clone(), offer.from_version.clone()))?.clone();
        let to = pack_in(&self.packs, &(pack_id, offer.to_version.clone()))?.clone();
        let doc = self.doc(id)?;
        let before = heads_to_strings(&doc.heads());
        let migrated = doc.migrate_to(&from, &to, now)?;
        let after = heads_to_strings(&doc.heads());
        self.pack_keys.remove(&id);
        self.persist(id)?;
        // The earliest state before an unaccepted move is the one to go back to.
        let before = match self.store.setting(&premove_key(id))? {
            Some(saved) => saved.split('|').next().unwrap_or_default().to_owned(),
            None => before.join(","),
        };
        self.store.set_setting(
            &premove_key(id),
            Some(&format!("{before}|{}", after.join(","))),
        )?;
        Ok(migrated)
    }

    /// What the server last refused for this visit, and how recovering would go; `None` when
    /// the server has not refused it.
    pub fn recovery(&mut self, id: Uuid) -> AppResult<Option<Recovery>> {
        let Some((reason, at)) = set_aside::refusal(self.store.conn(), id)? else {
            return Ok(None);
        };
        let point = self.restore_point(id)?;
        let doc = self.doc(id)?;
        let now = doc.snapshot()?;
        let was = doc.snapshot_at(&point.edits_since)?;
        let d = diff(&was, &now);
        let pack = pack_in(
            &self.packs,
            &(now.header.pack_id.clone(), now.header.pack_version.clone()),
        )?;
        let earlier = self
            .packs
            .get(&was.header.pack_id, &was.header.pack_version);
        Ok(Some(Recovery {
            reason,
            at,
            back_to_version: point.back_to_version,
            to_reenter: result_changes(&d, pack, earlier),
            other_items: d.evidence.len()
                + d.photos.len()
                + d.actions.len()
                + d.signatures.len()
                + d.annotations.len(),
        }))
    }

    /// The state recovery restores: before a move made here that the server has not accepted,
    /// else the server's last receipt. With the version gone back to, if any.
    fn restore_point(&mut self, id: Uuid) -> AppResult<RestorePoint> {
        if let Some(text) = self.store.setting(&premove_key(id))? {
            let (before, after) = text.split_once('|').unwrap_or((&text, ""));
            let restore = parse_heads(id, before)?;
            let edits_since = parse_heads(id, after)?;
            let version = self.doc(id)?.snapshot_at(&restore)?.header.pack_version;
            return Ok(RestorePoint {
                restore,
                edits_since,
                back_to_version: Some(version),
            });
        }
        let receipt = self
            .replica()?
            .receipt(&id)
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        if receipt.is_empty() {
            return Err(AppError::Invalid(
                "the server has never accepted this visit, so there is no accepted state to go back to; keep it on this device and ask your administrator why it is refused".to_owned(),
            ));
        }
        Ok(RestorePoint {
            restore: receipt.clone(),
            edits_since: receipt,
            back_to_version: None,
        })
    }

    /// Recovers from the server's refusal: the refused copy is kept whole on the device (see
    /// [`Workspace::set_aside`]), the draft is restored to the state of
    /// [`Workspace::recovery`], and sync resumes. Returns the copy's number.
    pub fn recover(&mut self, id: Uuid) -> AppResult<i64> {
        let (reason, _) = set_aside::refusal(self.store.conn(), id)?.ok_or_else(|| {
            AppError::Invalid("the server has not refused this visit: nothing to recover".into())
        })?;
        let point = self.restore_point(id)?;
        let restore = point.restore;
        let session = self.session.clone().ok_or(AppError::NotSignedIn)?;
        let receipt = self
            .replica()?
            .receipt(&id)
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let doc = self.doc(id)?;
        let refused = doc.save();
        // A fresh actor: the restored draft is a new live copy, never sharing one with the old.
        let restored: AutoCommit = doc
            .automerge()
            .fork_at(&restore)
            .map_err(VisitDocError::from)?
            .with_actor(ActorId::random());
        let mut restored = VisitDoc::from_automerge(restored, author_of(&session));
        let bytes = restored.save();
        let signed = restored.snapshot()?.signoff.is_some();
        let label = self.label_of(id)?;
        let edits_since = heads_to_strings(&point.edits_since);
        let state = automerge::sync::State::new().encode();
        let receipt_hex = heads_to_strings(&receipt);
        let seq = self.store.atomically(|c| {
            let seq = set_aside::keep(c, id, &reason, &edits_since, &refused)?;
            docs::compact(c, id, &bytes)?;
            docs::save_sync_state(c, id, &state, Some(&receipt_hex))?;
            set_aside::clear_refusal(c, id)?;
            crate::store::set_setting(c, &premove_key(id), None)?;
            if signed {
                docs::set_signed_off(c, id)?;
            }
            outbox::set_state(
                c,
                ItemKind::Visit,
                &id.to_string(),
                &label,
                OutboxState::Queued,
                None,
                None,
            )?;
            Ok(seq)
        })?;
        let replica = self.replica()?;
        replica.insert(id, restored, None);
        if !receipt.is_empty() {
            replica.set_receipt(id, receipt);
        }
        self.chunks.insert(id, 0);
        self.pack_keys.remove(&id);
        Ok(seq)
    }

    /// The refused copies kept for this visit, oldest first, each with what it held beyond the
    /// draft it was set aside from and where those criteria are in the draft's current version.
    pub fn set_aside(&mut self, id: Uuid) -> AppResult<Vec<SetAside>> {
        let rows = set_aside::list(self.store.conn(), id)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let session = self.session.clone().ok_or(AppError::NotSignedIn)?;
        let current = self.pack_key(id)?;
        let mut out = Vec::new();
        for row in rows {
            let copy = VisitDoc::load(&row.bytes, author_of(&session))?;
            let heads = heads_from_strings(&row.edits_since).ok_or_else(|| {
                AppError::Corrupt(format!("set-aside copy {}: its heads", row.seq))
            })?;
            let now = copy.snapshot()?;
            let was = copy.snapshot_at(&heads)?;
            let d = diff(&was, &now);
            let h = &now.header;
            let pack = pack_in(&self.packs, &(h.pack_id.clone(), h.pack_version.clone()))?;
            let earlier = self
                .packs
                .get(&was.header.pack_id, &was.header.pack_version);
            let now_pack = pack_in(&self.packs, &current)?;
            let routes = where_now(pack, now_pack)?;
            let edits = result_changes(&d, pack, earlier)
                .into_iter()
                .map(|r| {
                    let to = routes
                        .get(&r.criterion)
                        .into_iter()
                        .flatten()
                        .map(|t| {
                            let prompt = now_pack
                                .criterion(t)
                                .map_or_else(|| t.clone(), |(_, c)| c.prompt.clone());
                            (t.clone(), prompt)
                        })
                        .collect();
                    (r, to)
                })
                .collect();
            out.push(SetAside {
                seq: row.seq,
                reason: row.reason,
                at: row.created_at,
                pack_version: h.pack_version.clone(),
                edits,
                other_items: d.evidence.len()
                    + d.photos.len()
                    + d.actions.len()
                    + d.signatures.len()
                    + d.annotations.len(),
                bytes: row.bytes,
            });
        }
        Ok(out)
    }

    /// Removes a set-aside copy once the monitor has entered again what it held.
    pub fn discard_set_aside(&mut self, id: Uuid, seq: i64) -> AppResult<()> {
        set_aside::discard(self.store.conn(), id, seq)
    }

    /// A past visit's answers as the criteria of `to` (the version of the visit being edited):
    /// as they are on the same version, through `to`'s declared mapping from the version before,
    /// and none otherwise, since two versions' criteria are compared only through a mapping.
    pub(super) fn answers_in(
        &self,
        answers: BTreeMap<String, Answer>,
        (pack_id, version): &(String, String),
        to: &FrameworkPack,
    ) -> AppResult<BTreeMap<String, Answer>> {
        if (pack_id, version) == (&to.id, &to.version) {
            return Ok(answers);
        }
        // A version this device does not hold cannot be mapped: nothing is shown beside it.
        let Some(from) = self.packs.get(pack_id, version) else {
            return Ok(BTreeMap::new());
        };
        let results = answers
            .into_iter()
            .map(|(c, a)| {
                let r = accredit_shared::visit::CriterionResult {
                    answer: Some(a),
                    notes: String::new(),
                };
                (c, r)
            })
            .collect();
        match migrate(&results, from, to) {
            Ok(m) => Ok(m
                .results
                .into_iter()
                .filter_map(|(c, r)| r.answer.map(|a| (c, a)))
                .collect()),
            // No mapping between the two versions: nothing to show beside the criteria.
            Err(MigrationError::NoMapping { .. }) => Ok(BTreeMap::new()),
            Err(e) => Err(AppError::Corrupt(format!(
                "the previous visit's answers on {pack_id} {version}: {e}"
            ))),
        }
    }

    /// The framework pack version a visit is scored against (its own, not the newest held).
    pub fn visit_pack(&mut self, id: Uuid) -> AppResult<FrameworkPack> {
        let key = self.pack_key(id)?;
        Ok(pack_in(&self.packs, &key)?.clone())
    }

    /// The server's last refusal of this visit's changes, if it stands.
    pub fn refusal(&self, id: Uuid) -> AppResult<Option<String>> {
        Ok(set_aside::refusal(self.store.conn(), id)?.map(|(r, _)| r))
    }
}
