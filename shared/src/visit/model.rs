//! The plain Rust view of a visit document: what a device shows and what the server stores for
//! each accepted revision.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::annotation::PhotoAnnotation;
use super::signature::Signature;
use crate::calendar::london_date;
use crate::pack_migration::NotCarried;
use crate::records::{Answer, Priority, PublishedVisit, VisitType};

/// Someone who edits a visit document: the user behind a device session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// The user's id.
    pub user_id: Uuid,
    /// The name shown beside their edits.
    pub name: String,
}

/// What a visit is about, fixed when its document is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitHeader {
    /// The visit's id, which is also its document's id.
    pub visit_id: Uuid,
    /// Where the visit takes place.
    pub location_id: Uuid,
    /// Framework pack id.
    pub pack_id: String,
    /// Framework pack version.
    pub pack_version: String,
    /// Kind of visit.
    pub visit_type: VisitType,
    /// Whether the provider was told in advance.
    pub announced: bool,
    /// When the visit started.
    pub started_at: DateTime<Utc>,
    /// The planned visit it was started from, if any (the server links the plan to it).
    #[serde(default)]
    pub plan_id: Option<Uuid>,
}

/// One criterion's result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// The answer, if one has been given.
    pub answer: Option<Answer>,
    /// The monitor's notes.
    pub notes: String,
}

/// Kinds of evidence a monitor records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Something seen.
    Observation,
    /// A record looked at (care plans, MAR charts, rotas).
    RecordReview,
    /// A conversation with staff.
    StaffInterview,
    /// A conversation with a resident.
    ResidentInterview,
    /// A conversation with a resident's family.
    FamilyInterview,
    /// A questionnaire returned.
    Questionnaire,
    /// A photograph.
    Photo,
}

impl EvidenceKind {
    /// Every kind, in the order a form lists them.
    pub const ALL: [EvidenceKind; 7] = [
        EvidenceKind::Observation,
        EvidenceKind::RecordReview,
        EvidenceKind::StaffInterview,
        EvidenceKind::ResidentInterview,
        EvidenceKind::FamilyInterview,
        EvidenceKind::Questionnaire,
        EvidenceKind::Photo,
    ];
}

/// An evidence item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The criterion it supports, if any.
    pub criterion: Option<String>,
    /// Its kind.
    pub kind: EvidenceKind,
    /// What was found.
    pub text: String,
    /// A photo it refers to, by the photo's id in this visit.
    pub photo: Option<Uuid>,
}

/// A photo taken on the visit: a reference to a content-addressed blob, never the bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    /// BLAKE3 hash of the processed image, lower-case hex.
    pub hash: String,
    /// Size of the blob in bytes.
    pub size: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
    /// What it shows.
    pub caption: String,
    /// The criterion it belongs to, if any.
    pub criterion: Option<String>,
}

/// Where an action stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Not started or in progress.
    Open,
    /// Done and checked.
    Completed,
    /// No longer needed.
    Withdrawn,
}

/// An action on the provider, from the visit's action plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitAction {
    /// The criterion it follows from, if any.
    pub criterion: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// What must be done.
    pub description: String,
    /// Who at the provider owns it.
    pub owner: String,
    /// When it is due.
    pub due_on: Option<NaiveDate>,
    /// Where it stands.
    pub status: ActionStatus,
    /// When it was completed.
    pub completed_on: Option<NaiveDate>,
}

/// The record of a resolved conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The field, as a path from the document root.
    pub path: Vec<String>,
    /// The value chosen, as text.
    pub chosen: String,
    /// Why.
    pub reason: String,
    /// Who resolved it.
    pub by: Author,
    /// When.
    pub at: DateTime<Utc>,
}

/// A sign-off: who signed, when, and the document heads they signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOff {
    /// Who signed.
    pub by: Author,
    /// When.
    pub at: DateTime<Utc>,
    /// The document heads at that moment (hex change hashes): the signed record is the document
    /// as of these heads, whatever arrives later.
    pub heads: Vec<String>,
}

/// The record of a draft moved to a newer version of its framework pack: what it held before,
/// and what the move did not carry over as it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackMove {
    /// The pack version the draft was on.
    pub from_version: String,
    /// The pack version it moved to.
    pub to_version: String,
    /// Every result as it was on `from_version`, by criterion id.
    pub previous: BTreeMap<String, CriterionResult>,
    /// What was not carried over as it was, with the reasons.
    pub not_carried: Vec<NotCarried>,
    /// Who moved it.
    pub by: Author,
    /// When.
    pub at: DateTime<Utc>,
}

/// A whole visit as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitSnapshot {
    /// What the visit is about.
    pub header: VisitHeader,
    /// Who created the document.
    pub created_by: Author,
    /// When the visit ended, once recorded.
    pub ended_at: Option<DateTime<Utc>>,
    /// Officers on the visit, by user id.
    pub officers: BTreeMap<Uuid, String>,
    /// Results by criterion id.
    pub results: BTreeMap<String, CriterionResult>,
    /// Evidence items by id.
    pub evidence: BTreeMap<Uuid, Evidence>,
    /// Photos by id.
    pub photos: BTreeMap<Uuid, PhotoRef>,
    /// Actions by id.
    pub actions: BTreeMap<Uuid, VisitAction>,
    /// Resolved conflicts by id.
    pub resolutions: BTreeMap<Uuid, Resolution>,
    /// The sign-off, once signed.
    pub signoff: Option<SignOff>,
    /// Moves to newer pack versions while a draft, by id (none for most visits).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub migrations: BTreeMap<Uuid, PackMove>,
    /// Signatures drawn at the end of the visit, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signatures: BTreeMap<Uuid, Signature>,
    /// Marks drawn over photos, by id (the document keys them by the photo's hash).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<Uuid, PhotoAnnotation>,
}

impl VisitSnapshot {
    /// The answers given, by criterion id: what scoring reads.
    pub fn answers(&self) -> BTreeMap<String, Answer> {
        self.results
            .iter()
            .filter_map(|(id, r)| r.answer.map(|a| (id.clone(), a)))
            .collect()
    }

    /// The day of the visit in Europe/London: its end if recorded, else its start.
    pub fn visited_on(&self) -> NaiveDate {
        london_date(self.ended_at.unwrap_or(self.header.started_at))
    }

    /// Whether two snapshots hold the same record, ignoring the sign-off itself: a later revision
    /// exists only when something other than the signature changed.
    pub fn same_record_as(&self, other: &VisitSnapshot) -> bool {
        let strip = |s: &VisitSnapshot| VisitSnapshot {
            signoff: None,
            ..s.clone()
        };
        strip(self) == strip(other)
    }

    /// The record without its sign-off and signatures: what a signature vouches for, so that
    /// signing (or a second person signing) is never itself a change to what was signed.
    pub fn signed_content(&self) -> VisitSnapshot {
        VisitSnapshot {
            signoff: None,
            signatures: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// The marks on one photo, oldest first.
    pub fn annotations_of<'a>(
        &'a self,
        photo_hash: &'a str,
    ) -> impl Iterator<Item = (&'a Uuid, &'a PhotoAnnotation)> + 'a {
        let mut marks: Vec<_> = self
            .annotations
            .iter()
            .filter(move |(_, a)| a.photo_hash == photo_hash)
            .collect();
        marks.sort_by_key(|(id, a)| (a.at, **id));
        marks.into_iter()
    }

    /// This visit as a published revision, the form the tier engine reads.
    pub fn to_published(&self, revision: u32, effective_on: NaiveDate) -> PublishedVisit {
        PublishedVisit {
            visit_id: self.header.visit_id,
            revision,
            location_id: self.header.location_id,
            visit_type: self.header.visit_type,
            visited_on: self.visited_on(),
            effective_on,
            pack_id: self.header.pack_id.clone(),
            pack_version: self.header.pack_version.clone(),
            answers: self.answers(),
        }
    }

    /// Photo hashes the visit refers to.
    pub fn photo_hashes(&self) -> impl Iterator<Item = &str> {
        self.photos.values().map(|p| p.hash.as_str())
    }
}
