//! One Automerge document per visit: the unit two monitors edit offline and sync.
//!
//! Layout (root map): header scalars, `created_by`, `officers`, `authors` (Automerge actor →
//! user, so every value can be traced to a person), `results` (keyed by
//! [`schema::Layout::result_key`], created for every criterion when the document is created so
//! that two devices never create the same map twice), maps keyed by UUID (`evidence`, `photos`,
//! `actions`, `resolutions`), `signoff`, and `migrations` once a draft has moved to a newer pack
//! version ([`VisitDoc::migrate_to`]). Free text is an Automerge text object, so concurrent
//! typing merges; a scalar set differently on two devices keeps both values, listed by
//! [`VisitDoc::conflicts`].

mod annotation;
mod conflicts;
mod error;
mod model;
pub mod points;
mod read;
pub mod schema;
mod signature;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use annotation::{
    AnnotationDraft, AnnotationKind, MARK_COLOUR, MAX_LABEL_CHARS, PhotoAnnotation, Shape,
    annotation_problem, describe as describe_mark, shapes, stroke_width, svg_markup,
};
pub use conflicts::{Conflict, ConflictingValue};
pub use error::VisitDocError;
pub use model::*;
pub use read::{ChangeCheck, is_blob_hash};
pub use signature::{MAX_PAD, MAX_SIGNER_CHARS, Signature, SignatureDraft, signature_problem};

use crate::framework::{FrameworkPack, PackLibrary};
use crate::pack_migration::NotCarriedReason;
use crate::records::{Answer, Priority};
use read::{View, check_changes, read_layout, read_snapshot, read_snapshot_checked};
use schema::*;

/// A new evidence item.
#[derive(Clone, Debug)]
pub struct EvidenceDraft {
    /// The criterion it supports, if any.
    pub criterion: Option<String>,
    /// Its kind.
    pub kind: EvidenceKind,
    /// What was found.
    pub text: String,
    /// A photo of this visit it refers to.
    pub photo: Option<Uuid>,
}

/// A new action.
#[derive(Clone, Debug)]
pub struct ActionDraft {
    /// The criterion it follows from, if any.
    pub criterion: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// What must be done.
    pub description: String,
    /// Who owns it at the provider.
    pub owner: String,
    /// When it is due.
    pub due_on: Option<NaiveDate>,
}

/// A visit document being read or edited by one author on one device.
pub struct VisitDoc {
    doc: AutoCommit,
    author: Author,
}

/// Hex form of change hashes, as stored in sign-offs and by the server.
pub fn heads_to_strings(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ChangeHash::to_string).collect()
}

/// Parses hex change hashes; `None` if any is not a change hash.
pub fn heads_from_strings(heads: &[String]) -> Option<Vec<ChangeHash>> {
    heads.iter().map(|h| h.parse().ok()).collect()
}

impl VisitDoc {
    /// Creates a visit's document. Do this on one device only; others receive it through sync.
    pub fn create(
        header: &VisitHeader,
        pack: &FrameworkPack,
        author: Author,
    ) -> Result<VisitDoc, VisitDocError> {
        if header.pack_id != pack.id || header.pack_version != pack.version {
            return Err(VisitDocError::WrongPack {
                expected: format!("{}@{}", header.pack_id, header.pack_version),
                given: format!("{}@{}", pack.id, pack.version),
            });
        }
        let mut this = VisitDoc::empty(author);
        let author = this.author.clone();
        let d = &mut this.doc;
        let layout = Layout::CURRENT;
        d.put(ROOT, SCHEMA, layout.version())?;
        d.put(ROOT, VISIT_ID, header.visit_id.to_string())?;
        d.put(ROOT, LOCATION_ID, header.location_id.to_string())?;
        d.put(ROOT, PACK_ID, header.pack_id.as_str())?;
        d.put(ROOT, PACK_VERSION, header.pack_version.as_str())?;
        d.put(ROOT, VISIT_TYPE, enum_text(&header.visit_type))?;
        d.put(ROOT, ANNOUNCED, header.announced)?;
        d.put(ROOT, STARTED_AT, header.started_at.to_rfc3339())?;
        if let Some(plan) = header.plan_id {
            d.put(ROOT, PLAN_ID, plan.to_string())?;
        }
        let created = d.put_object(ROOT, CREATED_BY, ObjType::Map)?;
        put_author(d, &created, &author)?;
        let officers = d.put_object(ROOT, OFFICERS, ObjType::Map)?;
        d.put(&officers, author.user_id.to_string(), author.name.as_str())?;
        d.put_object(ROOT, AUTHORS, ObjType::Map)?;
        let results = d.put_object(ROOT, RESULTS, ObjType::Map)?;
        for criterion in pack.criteria() {
            let key = layout.result_key(&pack.id, &pack.version, &criterion.id);
            let item = d.put_object(&results, key, ObjType::Map)?;
            d.put_object(&item, NOTES, ObjType::Text)?;
        }
        for key in [EVIDENCE, PHOTOS, ACTIONS, RESOLUTIONS] {
            d.put_object(ROOT, key, ObjType::Map)?;
        }
        this.register_author()?;
        this.commit("create visit");
        Ok(this)
    }

    /// An empty document, to receive a visit through sync. Each call takes a fresh Automerge
    /// actor, so two live copies never share one.
    pub fn empty(author: Author) -> VisitDoc {
        VisitDoc {
            doc: AutoCommit::new().with_actor(ActorId::random()),
            author,
        }
    }

    /// Loads a document from saved bytes (a snapshot followed by any incremental chunks).
    pub fn load(bytes: &[u8], author: Author) -> Result<VisitDoc, VisitDocError> {
        let doc = AutoCommit::load(bytes)?.with_actor(ActorId::random());
        Ok(VisitDoc { doc, author })
    }

    /// Wraps an Automerge document already loaded.
    pub fn from_automerge(doc: AutoCommit, author: Author) -> VisitDoc {
        VisitDoc { doc, author }
    }

    /// The Automerge document, for sync and storage.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Who edits through this handle.
    pub fn author(&self) -> &Author {
        &self.author
    }

    /// The current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes since the last `save` or `save_incremental`, to append to storage.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// The visit as plain data.
    pub fn snapshot(&self) -> Result<VisitSnapshot, VisitDocError> {
        read_snapshot(self.view(None))
    }

    /// The visit as it was at `heads` (for example, as signed off).
    pub fn snapshot_at(&self, heads: &[ChangeHash]) -> Result<VisitSnapshot, VisitDocError> {
        read_snapshot(self.view(Some(heads)))
    }

    /// Every field with concurrent, differing values, each value with its author.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, VisitDocError> {
        conflicts::find_conflicts(self.view(None))
    }

    /// Reads any Automerge document as a visit, now or as of `heads`; an error names the first
    /// field that is missing or of the wrong type. The server checks every incoming change with it.
    pub fn read_automerge(
        doc: &AutoCommit,
        heads: Option<&[ChangeHash]>,
    ) -> Result<VisitSnapshot, VisitDocError> {
        read_snapshot(View { doc, heads })
    }

    /// Reads any Automerge document as a visit, as [`VisitDoc::read_automerge`] does, and checks
    /// it against its framework pack (which must be in `packs`): a result for exactly each of the
    /// pack's criteria, keyed by [`schema::Layout::result_key`]; every score, concurrent ones
    /// included, on its criterion's scale; references to criteria of the pack; actions with a
    /// description and resolutions with a reason.
    pub fn validate_automerge(
        doc: &AutoCommit,
        packs: &PackLibrary,
    ) -> Result<VisitSnapshot, VisitDocError> {
        read_snapshot_checked(View { doc, heads: None }, packs)
    }

    /// Checks the changes a document received since `before` (heads of a state that was checked
    /// already), reading only the items they reached, with the rules of
    /// [`VisitDoc::validate_automerge`]; the fields that identify the visit must also be as they
    /// were at `before`. An empty `before` checks everything.
    pub fn check_automerge_changes(
        doc: &mut AutoCommit,
        before: &[ChangeHash],
        packs: &PackLibrary,
    ) -> Result<ChangeCheck, VisitDocError> {
        check_changes(doc, before, packs)
    }

    /// The conflicts of any Automerge document read as a visit, as of `heads` if given.
    pub fn conflicts_of(
        doc: &AutoCommit,
        heads: Option<&[ChangeHash]>,
    ) -> Result<Vec<Conflict>, VisitDocError> {
        conflicts::find_conflicts(View { doc, heads })
    }

    /// The sign-off, if the visit has been signed off.
    pub fn signoff(&self) -> Result<Option<SignOff>, VisitDocError> {
        Ok(self.snapshot()?.signoff)
    }

    fn view<'a>(&'a self, heads: Option<&'a [ChangeHash]>) -> View<'a> {
        View {
            doc: &self.doc,
            heads,
        }
    }

    /// Sets (or with `None`, clears) the answer to a criterion, checked against the pack's scale.
    pub fn set_answer(
        &mut self,
        pack: &FrameworkPack,
        criterion: &str,
        answer: Option<Answer>,
    ) -> Result<(), VisitDocError> {
        let item = self.result_obj(pack, criterion)?;
        if let (Some(Answer::Score(s)), Some((_, c))) = (answer, pack.criterion(criterion))
            && !c.scale.contains(s)
        {
            return Err(VisitDocError::Invalid(format!(
                "{s} is outside the scale {}–{} of criterion {criterion}",
                c.scale.min, c.scale.max
            )));
        }
        // A new score would silently replace both monitors' scores and leave no reason.
        if conflicts::disagree(&self.view(None).get_all(&item, ANSWER)?) {
            return Err(VisitDocError::Invalid(format!(
                "two monitors scored {criterion} differently: keep one of their scores, with a reason, before changing it"
            )));
        }
        self.edit(|d| match answer {
            Some(a) => d.put(&item, ANSWER, encode_answer(a)),
            None => d.put(&item, ANSWER, ScalarValue::Null),
        })
    }

    /// Replaces a criterion's notes, as a text edit that merges with concurrent typing.
    pub fn set_notes(
        &mut self,
        pack: &FrameworkPack,
        criterion: &str,
        text: &str,
    ) -> Result<(), VisitDocError> {
        let item = self.result_obj(pack, criterion)?;
        self.edit_text(&item, NOTES, text)
    }

    /// Records when the visit ended.
    pub fn set_ended_at(&mut self, at: DateTime<Utc>) -> Result<(), VisitDocError> {
        self.edit(|d| d.put(ROOT, ENDED_AT, at.to_rfc3339()))
    }

    /// Adds an officer to the visit.
    pub fn add_officer(&mut self, officer: &Author) -> Result<(), VisitDocError> {
        let officers = self.root_map(OFFICERS)?;
        self.edit(|d| {
            d.put(
                &officers,
                officer.user_id.to_string(),
                officer.name.as_str(),
            )
        })
    }

    /// Adds an evidence item and returns its id.
    pub fn add_evidence(
        &mut self,
        pack: &FrameworkPack,
        draft: &EvidenceDraft,
    ) -> Result<Uuid, VisitDocError> {
        self.check_criterion(pack, draft.criterion.as_deref())?;
        let map = self.root_map(EVIDENCE)?;
        let id = Uuid::new_v4();
        self.edit(|d| {
            let item = d.put_object(&map, id.to_string(), ObjType::Map)?;
            put_opt(d, &item, CRITERION, draft.criterion.as_deref())?;
            d.put(&item, KIND, enum_text(&draft.kind))?;
            let text = d.put_object(&item, TEXT, ObjType::Text)?;
            d.update_text(&text, &draft.text)?;
            put_opt(
                d,
                &item,
                PHOTO,
                draft.photo.map(|p| p.to_string()).as_deref(),
            )
        })?;
        Ok(id)
    }

    /// Replaces an evidence item's text.
    pub fn set_evidence_text(&mut self, id: Uuid, text: &str) -> Result<(), VisitDocError> {
        let item = self.item_obj(EVIDENCE, "evidence item", id)?;
        self.edit_text(&item, TEXT, text)
    }

    /// Adds a photo reference and returns its id. The bytes travel separately, by hash.
    pub fn add_photo(&mut self, photo: &PhotoRef) -> Result<Uuid, VisitDocError> {
        if !is_blob_hash(&photo.hash) {
            return Err(VisitDocError::Invalid(format!(
                "{:?} is not a content hash (64 lower-case hex digits)",
                photo.hash
            )));
        }
        let map = self.root_map(PHOTOS)?;
        let id = Uuid::new_v4();
        self.edit(|d| {
            let item = d.put_object(&map, id.to_string(), ObjType::Map)?;
            d.put(&item, HASH, photo.hash.as_str())?;
            d.put(&item, SIZE, photo.size)?;
            d.put(&item, WIDTH, u64::from(photo.width))?;
            d.put(&item, HEIGHT, u64::from(photo.height))?;
            d.put(&item, TAKEN_AT, photo.taken_at.to_rfc3339())?;
            let caption = d.put_object(&item, CAPTION, ObjType::Text)?;
            d.update_text(&caption, &photo.caption)?;
            put_opt(d, &item, CRITERION, photo.criterion.as_deref())
        })?;
        Ok(id)
    }

    /// Adds an action and returns its id.
    pub fn add_action(
        &mut self,
        pack: &FrameworkPack,
        draft: &ActionDraft,
    ) -> Result<Uuid, VisitDocError> {
        self.check_criterion(pack, draft.criterion.as_deref())?;
        if draft.description.trim().is_empty() {
            return Err(VisitDocError::Invalid(
                "an action needs a description".into(),
            ));
        }
        let map = self.root_map(ACTIONS)?;
        let id = Uuid::new_v4();
        self.edit(|d| {
            let item = d.put_object(&map, id.to_string(), ObjType::Map)?;
            put_opt(d, &item, CRITERION, draft.criterion.as_deref())?;
            d.put(&item, PRIORITY, enum_text(&draft.priority))?;
            let text = d.put_object(&item, DESCRIPTION, ObjType::Text)?;
            d.update_text(&text, &draft.description)?;
            d.put(&item, OWNER, draft.owner.as_str())?;
            put_opt(
                d,
                &item,
                DUE_ON,
                draft.due_on.map(|x| x.to_string()).as_deref(),
            )?;
            d.put(&item, STATUS, enum_text(&ActionStatus::Open))
        })?;
        Ok(id)
    }

    /// Sets an action's due date.
    pub fn set_action_due(
        &mut self,
        id: Uuid,
        due_on: Option<NaiveDate>,
    ) -> Result<(), VisitDocError> {
        let item = self.item_obj(ACTIONS, "action", id)?;
        self.edit(|d| put_opt(d, &item, DUE_ON, due_on.map(|x| x.to_string()).as_deref()))
    }

    /// Sets an action's priority.
    pub fn set_action_priority(
        &mut self,
        id: Uuid,
        priority: Priority,
    ) -> Result<(), VisitDocError> {
        let item = self.item_obj(ACTIONS, "action", id)?;
        self.edit(|d| d.put(&item, PRIORITY, enum_text(&priority)))
    }

    /// Sets an action's status; completing it records the day.
    pub fn set_action_status(
        &mut self,
        id: Uuid,
        status: ActionStatus,
        completed_on: Option<NaiveDate>,
    ) -> Result<(), VisitDocError> {
        let item = self.item_obj(ACTIONS, "action", id)?;
        self.edit(|d| {
            d.put(&item, STATUS, enum_text(&status))?;
            put_opt(
                d,
                &item,
                COMPLETED_ON,
                completed_on.map(|x| x.to_string()).as_deref(),
            )
        })
    }

    /// Resolves the conflict at `path` by writing `chosen` over every concurrent value, and keeps
    /// the reason in the record. Allowed after sign-off too: the resolution then shows as a new
    /// revision for a lead to accept.
    pub fn resolve_conflict(
        &mut self,
        path: &[String],
        chosen: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), VisitDocError> {
        let joined = path.join("/");
        let conflict = self
            .conflicts()?
            .into_iter()
            .find(|c| c.path == path)
            .ok_or_else(|| VisitDocError::NoConflict(joined.clone()))?;
        if !conflict.values.iter().any(|v| v.value == chosen) {
            return Err(VisitDocError::Invalid(format!(
                "{chosen:?} is not one of the conflicting values at {joined}"
            )));
        }
        if reason.trim().is_empty() {
            return Err(VisitDocError::Invalid("a resolution needs a reason".into()));
        }
        let (parent, field) = self.parent_of(path)?;
        // Write back the very scalar chosen (a number stays a number): one write whose
        // predecessors are all the concurrent values supersedes them at once.
        let scalar = self
            .view(None)
            .get_all(&parent, &field)?
            .into_iter()
            .find_map(|(value, _)| match value {
                automerge::Value::Scalar(s)
                    if conflicts::value_text(&automerge::Value::Scalar(s.clone())) == chosen =>
                {
                    Some(s.into_owned())
                }
                _ => None,
            })
            .ok_or_else(|| {
                VisitDocError::Invalid(format!(
                    "the value {chosen:?} at {joined} is an object; edit it instead of choosing it"
                ))
            })?;
        let resolutions = self.root_map(RESOLUTIONS)?;
        let author = self.author.clone();
        self.register_author()?;
        let d = &mut self.doc;
        d.put(&parent, field.as_str(), scalar)?;
        let item = d.put_object(&resolutions, Uuid::new_v4().to_string(), ObjType::Map)?;
        d.put(&item, PATH, joined.as_str())?;
        d.put(&item, CHOSEN, chosen)?;
        d.put(&item, REASON, reason)?;
        let by = d.put_object(&item, BY, ObjType::Map)?;
        put_author(d, &by, &author)?;
        d.put(&item, AT, at.to_rfc3339())?;
        self.commit("resolve conflict");
        Ok(())
    }

    /// Signs the visit off as this handle's author. Refused while conflicts remain. The record
    /// keeps the heads signed, so later edits from other devices never change what was signed.
    pub fn sign_off(&mut self, at: DateTime<Utc>) -> Result<SignOff, VisitDocError> {
        let open = self.conflicts()?.len();
        if open > 0 {
            return Err(VisitDocError::UnresolvedConflicts(open));
        }
        if self.signoff()?.is_some() {
            return Err(VisitDocError::SignedOff);
        }
        let heads = heads_to_strings(&self.doc.get_heads());
        let author = self.author.clone();
        self.register_author()?;
        let d = &mut self.doc;
        let map = d.put_object(ROOT, SIGNOFF, ObjType::Map)?;
        let by = d.put_object(&map, BY, ObjType::Map)?;
        put_author(d, &by, &author)?;
        d.put(&map, AT, at.to_rfc3339())?;
        d.put(&map, HEADS, heads.join(","))?;
        self.commit("sign off");
        Ok(SignOff {
            by: author,
            at,
            heads,
        })
    }

    /// Adds a signature of the record as it stands now (its heads are kept with it) and returns
    /// its id. Take every signature before signing off: a signed-off visit is read-only here.
    pub fn add_signature(
        &mut self,
        draft: &SignatureDraft,
        at: DateTime<Utc>,
    ) -> Result<Uuid, VisitDocError> {
        if let Some(problem) = signature_problem(
            &draft.name,
            &draft.role,
            draft.width,
            draft.height,
            &draft.strokes,
        ) {
            return Err(VisitDocError::Invalid(problem));
        }
        let heads = heads_to_strings(&self.doc.get_heads()).join(",");
        let existing = self.view(None).opt_map(&ROOT, SIGNATURES, &[])?;
        let author = self.author.clone();
        let id = Uuid::new_v4();
        self.edit(|d| {
            let map = match existing {
                Some(m) => m,
                None => d.put_object(ROOT, SIGNATURES, ObjType::Map)?,
            };
            let item = d.put_object(&map, id.to_string(), ObjType::Map)?;
            d.put(&item, NAME, draft.name.trim())?;
            d.put(&item, ROLE, draft.role.trim())?;
            d.put(&item, SIGNED_AT, at.to_rfc3339())?;
            d.put(&item, HEADS, heads.as_str())?;
            d.put(&item, WIDTH, u64::from(draft.width))?;
            d.put(&item, HEIGHT, u64::from(draft.height))?;
            d.put(&item, STROKES, points::encode_strokes(&draft.strokes))?;
            let by = d.put_object(&item, TAKEN_BY, ObjType::Map)?;
            put_author(d, &by, &author)
        })?;
        Ok(id)
    }

    /// Draws a mark over a photo of this visit, by the photo's hash, and returns its id. The
    /// photo itself is untouched.
    pub fn add_annotation(
        &mut self,
        photo_hash: &str,
        draft: &AnnotationDraft,
        at: DateTime<Utc>,
    ) -> Result<Uuid, VisitDocError> {
        let snapshot = self.snapshot()?;
        let photo = snapshot
            .photos
            .values()
            .find(|p| p.hash == photo_hash)
            .ok_or_else(|| VisitDocError::NotFound {
                what: "photo",
                id: photo_hash.to_owned(),
            })?;
        let label = if draft.kind == AnnotationKind::Label {
            draft.label.trim()
        } else {
            draft.label.as_str()
        };
        if let Some(problem) =
            annotation_problem(draft.kind, &draft.points, label, photo.width, photo.height)
        {
            return Err(VisitDocError::Invalid(problem));
        }
        let view = self.view(None);
        let root = view.opt_map(&ROOT, ANNOTATIONS, &[])?;
        let marks = match &root {
            Some(r) => view.opt_map(r, photo_hash, &[ANNOTATIONS])?,
            None => None,
        };
        let author = self.author.clone();
        let id = Uuid::new_v4();
        self.edit(|d| {
            let root = match root {
                Some(r) => r,
                None => d.put_object(ROOT, ANNOTATIONS, ObjType::Map)?,
            };
            let marks = match marks {
                Some(m) => m,
                None => d.put_object(&root, photo_hash, ObjType::Map)?,
            };
            let item = d.put_object(&marks, id.to_string(), ObjType::Map)?;
            d.put(&item, KIND, enum_text(&draft.kind))?;
            d.put(&item, POINTS, points::encode_points(&draft.points))?;
            if draft.kind == AnnotationKind::Label {
                d.put(&item, LABEL, label)?;
            }
            d.put(&item, AT, at.to_rfc3339())?;
            let by = d.put_object(&item, BY, ObjType::Map)?;
            put_author(d, &by, &author)
        })?;
        Ok(id)
    }

    /// Removes a mark from a photo (from every copy of the photo's marks).
    pub fn remove_annotation(&mut self, id: Uuid) -> Result<(), VisitDocError> {
        let view = self.view(None);
        let key = id.to_string();
        let mut holders = Vec::new();
        for (value, root) in view.get_all(&ROOT, ANNOTATIONS)? {
            if !matches!(value, automerge::Value::Object(ObjType::Map)) {
                continue;
            }
            for hash in view.keys(&root) {
                for (value, marks) in view.get_all(&root, &hash)? {
                    if matches!(value, automerge::Value::Object(ObjType::Map))
                        && view.get(&marks, &key)?.is_some()
                    {
                        holders.push(marks);
                    }
                }
            }
        }
        if holders.is_empty() {
            return Err(VisitDocError::NotFound {
                what: "mark",
                id: key,
            });
        }
        self.edit(|d| {
            for marks in &holders {
                d.delete(marks, key.as_str())?;
            }
            Ok(())
        })
    }

    /// Moves this draft from pack version `from` (its own) to `to`, which must declare a mapping
    /// from it: answers and notes carried by the mapping, the header's pack version changed, and a
    /// record kept in `migrations` of every result as it was and of what was not carried over.
    /// Refused for a signed visit (it keeps its version for good) and while conflicts remain (the
    /// move would carry only the visible value of each).
    pub fn migrate_to(
        &mut self,
        from: &FrameworkPack,
        to: &FrameworkPack,
        at: DateTime<Utc>,
    ) -> Result<crate::pack_migration::Migrated, VisitDocError> {
        let snapshot = self.snapshot()?;
        if snapshot.signoff.is_some() {
            return Err(VisitDocError::SignedOff);
        }
        let open = self.conflicts()?.len();
        if open > 0 {
            return Err(VisitDocError::UnresolvedConflicts(open));
        }
        let header = &snapshot.header;
        if header.pack_id != from.id || header.pack_version != from.version {
            return Err(VisitDocError::WrongPack {
                expected: format!("{}@{}", header.pack_id, header.pack_version),
                given: format!("{}@{}", from.id, from.version),
            });
        }
        let migrated = crate::pack_migration::migrate(&snapshot.results, from, to)?;
        let view = self.view(None);
        let layout = read_layout(&view.fields(&ROOT))?;
        let results = self.root_map(RESULTS)?;
        let old_keys = view.keys(&results);
        let migrations = view.opt_map(&ROOT, MIGRATIONS, &[])?;
        // A result kept under the same key is edited in place, so its notes stay one text object.
        let mut existing = std::collections::BTreeMap::new();
        for key in &old_keys {
            if let Some(item) = view.opt_map(&results, key, &[RESULTS])? {
                existing.insert(key.clone(), item);
            }
        }
        let author = self.author.clone();
        let new_keys: Vec<String> = to
            .criteria()
            .map(|c| layout.result_key(&to.id, &to.version, &c.id))
            .collect();
        self.edit(|d| {
            for key in old_keys.iter().filter(|k| !new_keys.contains(k)) {
                d.delete(&results, key.as_str())?;
            }
            for c in to.criteria() {
                let key = layout.result_key(&to.id, &to.version, &c.id);
                let result = migrated.results.get(&c.id).cloned().unwrap_or_default();
                let item = match existing.get(&key) {
                    Some(item) => item.clone(),
                    None => {
                        let item = d.put_object(&results, key.as_str(), ObjType::Map)?;
                        if layout == Layout::UuidKeys {
                            d.put(&item, CRITERION, c.id.as_str())?;
                        }
                        item
                    }
                };
                match result.answer {
                    Some(a) => d.put(&item, ANSWER, encode_answer(a))?,
                    None => d.put(&item, ANSWER, ScalarValue::Null)?,
                }
                let notes = match d.get(&item, NOTES)? {
                    Some((automerge::Value::Object(ObjType::Text), id)) => id,
                    _ => d.put_object(&item, NOTES, ObjType::Text)?,
                };
                d.update_text(&notes, &result.notes)?;
            }
            d.put(ROOT, PACK_VERSION, to.version.as_str())?;
            let migrations = match &migrations {
                Some(m) => m.clone(),
                None => d.put_object(ROOT, MIGRATIONS, ObjType::Map)?,
            };
            let entry = d.put_object(&migrations, Uuid::new_v4().to_string(), ObjType::Map)?;
            d.put(&entry, FROM_VERSION, from.version.as_str())?;
            d.put(&entry, TO_VERSION, to.version.as_str())?;
            let by = d.put_object(&entry, BY, ObjType::Map)?;
            put_author(d, &by, &author)?;
            d.put(&entry, AT, at.to_rfc3339())?;
            let previous = d.put_object(&entry, PREVIOUS, ObjType::Map)?;
            for (id, r) in &snapshot.results {
                let item = d.put_object(&previous, id.as_str(), ObjType::Map)?;
                put_opt(d, &item, ANSWER, r.answer.map(encode_answer).as_deref())?;
                d.put(&item, NOTES, r.notes.as_str())?;
            }
            let list = d.put_object(&entry, NOT_CARRIED, ObjType::Map)?;
            for (i, n) in migrated.not_carried.iter().enumerate() {
                let item = d.put_object(&list, i.to_string(), ObjType::Map)?;
                d.put(&item, CRITERION, n.criterion.as_str())?;
                put_opt(d, &item, ANSWER, n.answer.map(encode_answer).as_deref())?;
                d.put(&item, NOTES, n.notes.as_str())?;
                let (reason, into, carried_from) = match &n.reason {
                    NotCarriedReason::Removed => ("removed", None, None),
                    NotCarriedReason::Merged { into, carried_from } => {
                        ("merged", Some(into), Some(carried_from))
                    }
                    NotCarriedReason::OffScale { into } => ("off_scale", Some(into), None),
                };
                d.put(&item, REASON, reason)?;
                put_opt(d, &item, INTO, into.map(String::as_str))?;
                put_opt(d, &item, CARRIED_FROM, carried_from.map(String::as_str))?;
            }
            Ok(())
        })?;
        Ok(migrated)
    }

    fn check_criterion(
        &self,
        pack: &FrameworkPack,
        criterion: Option<&str>,
    ) -> Result<(), VisitDocError> {
        match criterion {
            Some(c) => self.result_obj(pack, c).map(|_| ()),
            None => Ok(()),
        }
    }

    fn result_obj(&self, pack: &FrameworkPack, criterion: &str) -> Result<ObjId, VisitDocError> {
        let view = self.view(None);
        let pack_id = view
            .get(&ROOT, PACK_ID)?
            .and_then(|(v, _)| v.as_str().map(str::to_owned));
        let version = view
            .get(&ROOT, PACK_VERSION)?
            .and_then(|(v, _)| v.as_str().map(str::to_owned));
        if pack_id.as_deref() != Some(pack.id.as_str())
            || version.as_deref() != Some(pack.version.as_str())
        {
            return Err(VisitDocError::WrongPack {
                expected: format!(
                    "{}@{}",
                    pack_id.unwrap_or_default(),
                    version.unwrap_or_default()
                ),
                given: format!("{}@{}", pack.id, pack.version),
            });
        }
        if pack.criterion(criterion).is_none() {
            return Err(VisitDocError::UnknownCriterion(criterion.to_owned()));
        }
        let results = self.root_map(RESULTS)?;
        let key = read_layout(&view.fields(&ROOT))?.result_key(&pack.id, &pack.version, criterion);
        view.opt_map(&results, &key, &[RESULTS])?
            .ok_or_else(|| VisitDocError::UnknownCriterion(criterion.to_owned()))
    }

    fn root_map(&self, key: &str) -> Result<ObjId, VisitDocError> {
        self.view(None)
            .opt_map(&ROOT, key, &[])?
            .ok_or_else(|| error::malformed(&[key], "missing"))
    }

    fn item_obj(
        &self,
        map_key: &str,
        what: &'static str,
        id: Uuid,
    ) -> Result<ObjId, VisitDocError> {
        let map = self.root_map(map_key)?;
        self.view(None)
            .opt_map(&map, &id.to_string(), &[map_key])?
            .ok_or(VisitDocError::NotFound {
                what,
                id: id.to_string(),
            })
    }

    fn parent_of(&self, path: &[String]) -> Result<(ObjId, String), VisitDocError> {
        let Some((field, parents)) = path.split_last() else {
            return Err(VisitDocError::NoConflict(String::new()));
        };
        let view = self.view(None);
        let mut obj = ROOT;
        for (i, key) in parents.iter().enumerate() {
            let seen: Vec<&str> = parents[..i].iter().map(String::as_str).collect();
            obj = view
                .opt_map(&obj, key, &seen)?
                .ok_or_else(|| VisitDocError::NoConflict(path.join("/")))?;
        }
        Ok((obj, field.clone()))
    }

    /// Records this handle's actor → author once, so every value it writes has a name.
    fn register_author(&mut self) -> Result<(), VisitDocError> {
        let actor = self.doc.get_actor().to_hex_string();
        let authors = self.root_map(AUTHORS)?;
        if self
            .view(None)
            .opt_map(&authors, &actor, &[AUTHORS])?
            .is_some()
        {
            return Ok(());
        }
        let author = self.author.clone();
        let entry = self.doc.put_object(&authors, actor, ObjType::Map)?;
        Ok(put_author(&mut self.doc, &entry, &author)?)
    }

    fn edit(
        &mut self,
        apply: impl FnOnce(&mut AutoCommit) -> Result<(), automerge::AutomergeError>,
    ) -> Result<(), VisitDocError> {
        if self.view(None).opt_map(&ROOT, SIGNOFF, &[])?.is_some() {
            return Err(VisitDocError::SignedOff);
        }
        self.register_author()?;
        if let Err(e) = apply(&mut self.doc) {
            self.doc.rollback();
            return Err(e.into());
        }
        self.commit("edit");
        Ok(())
    }

    fn edit_text(&mut self, item: &ObjId, key: &str, text: &str) -> Result<(), VisitDocError> {
        let existing = match self.view(None).get(item, key)? {
            Some((automerge::Value::Object(ObjType::Text), id)) => Some(id),
            _ => None,
        };
        let item = item.clone();
        self.edit(|d| {
            let id = match existing {
                Some(id) => id,
                None => d.put_object(&item, key, ObjType::Text)?,
            };
            d.update_text(&id, text)
        })
    }

    fn commit(&mut self, message: &str) {
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(Utc::now().timestamp()),
        );
    }
}

fn put_author(
    d: &mut AutoCommit,
    obj: &ObjId,
    author: &Author,
) -> Result<(), automerge::AutomergeError> {
    d.put(obj, USER_ID, author.user_id.to_string())?;
    d.put(obj, NAME, author.name.as_str())
}

fn put_opt(
    d: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<(), automerge::AutomergeError> {
    match value {
        Some(v) => d.put(obj, key, v),
        None => d.put(obj, key, ScalarValue::Null),
    }
}

/// The snake_case name serde gives a unit enum variant.
fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
