//! Key names and value encodings of the visit document, in one place so that writing and reading
//! cannot drift apart.

use uuid::Uuid;

use crate::records::Answer;

/// The layouts a reader understands. A document keeps the layout it was created in for life
/// (every device edits it in that layout), so drafts made by an older app still open and sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Version 1: each criterion's result keyed by [`result_uuid`], holding its criterion's id.
    UuidKeys,
    /// Version 2: each criterion's result keyed by the criterion's id (unique within the
    /// visit's pack, which the root names). The keys then compress like the text they are:
    /// a new visit's 99 random-looking UUID keys alone were 2.8 KB of its first sync.
    CriterionKeys,
}

impl Layout {
    /// The layout new documents are written in.
    pub const CURRENT: Layout = Layout::CriterionKeys;

    /// The layout of a stored version number, if this version reads it.
    pub fn of_version(version: u64) -> Option<Layout> {
        match version {
            1 => Some(Layout::UuidKeys),
            2 => Some(Layout::CriterionKeys),
            _ => None,
        }
    }

    /// The version number stored at the root.
    pub fn version(self) -> i64 {
        match self {
            Layout::UuidKeys => 1,
            Layout::CriterionKeys => 2,
        }
    }

    /// The key of a criterion's result map: the same on every device, so two devices scoring
    /// the same criterion write to the same place and a disagreement shows as a conflict, not as
    /// two results.
    pub fn result_key(self, pack_id: &str, pack_version: &str, criterion_id: &str) -> String {
        match self {
            Layout::UuidKeys => result_uuid(pack_id, pack_version, criterion_id).to_string(),
            Layout::CriterionKeys => criterion_id.to_owned(),
        }
    }
}

pub(crate) const SCHEMA: &str = "schema";
pub(crate) const VISIT_ID: &str = "visit_id";
pub(crate) const LOCATION_ID: &str = "location_id";
pub(crate) const PACK_ID: &str = "pack_id";
pub(crate) const PACK_VERSION: &str = "pack_version";
pub(crate) const VISIT_TYPE: &str = "visit_type";
pub(crate) const ANNOUNCED: &str = "announced";
pub(crate) const CREATED_BY: &str = "created_by";
pub(crate) const STARTED_AT: &str = "started_at";
pub(crate) const PLAN_ID: &str = "plan_id";
pub(crate) const ENDED_AT: &str = "ended_at";
pub(crate) const OFFICERS: &str = "officers";
pub(crate) const AUTHORS: &str = "authors";
pub(crate) const RESULTS: &str = "results";
pub(crate) const EVIDENCE: &str = "evidence";
pub(crate) const PHOTOS: &str = "photos";
pub(crate) const ACTIONS: &str = "actions";
pub(crate) const RESOLUTIONS: &str = "resolutions";
pub(crate) const SIGNOFF: &str = "signoff";
pub(crate) const MIGRATIONS: &str = "migrations";
pub(crate) const SIGNATURES: &str = "signatures";
pub(crate) const ANNOTATIONS: &str = "annotations";

pub(crate) const USER_ID: &str = "user_id";
pub(crate) const NAME: &str = "name";
pub(crate) const CRITERION: &str = "criterion";
pub(crate) const ANSWER: &str = "answer";
pub(crate) const NOTES: &str = "notes";
pub(crate) const KIND: &str = "kind";
pub(crate) const TEXT: &str = "text";
pub(crate) const PHOTO: &str = "photo";
pub(crate) const HASH: &str = "hash";
pub(crate) const SIZE: &str = "size";
pub(crate) const WIDTH: &str = "width";
pub(crate) const HEIGHT: &str = "height";
pub(crate) const TAKEN_AT: &str = "taken_at";
pub(crate) const CAPTION: &str = "caption";
pub(crate) const PRIORITY: &str = "priority";
pub(crate) const DESCRIPTION: &str = "description";
pub(crate) const OWNER: &str = "owner";
pub(crate) const DUE_ON: &str = "due_on";
pub(crate) const STATUS: &str = "status";
pub(crate) const COMPLETED_ON: &str = "completed_on";
pub(crate) const PATH: &str = "path";
pub(crate) const CHOSEN: &str = "chosen";
pub(crate) const REASON: &str = "reason";
pub(crate) const BY: &str = "by";
pub(crate) const AT: &str = "at";
pub(crate) const HEADS: &str = "heads";
pub(crate) const FROM_VERSION: &str = "from_version";
pub(crate) const TO_VERSION: &str = "to_version";
pub(crate) const PREVIOUS: &str = "previous";
pub(crate) const NOT_CARRIED: &str = "not_carried";
pub(crate) const INTO: &str = "into";
pub(crate) const CARRIED_FROM: &str = "carried_from";
pub(crate) const ROLE: &str = "role";
pub(crate) const SIGNED_AT: &str = "signed_at";
pub(crate) const STROKES: &str = "strokes";
pub(crate) const TAKEN_BY: &str = "taken_by";
pub(crate) const POINTS: &str = "points";
pub(crate) const LABEL: &str = "label";

/// Namespace of the UUIDs that key criterion results (UUID v5 of `pack@version/criterion`).
const RESULT_NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_53f2_9d0e_4b7a_8c15_2f4e_7b90_d3a1);

/// The key of a criterion's result map in layout 1 ([`Layout::UuidKeys`]).
pub fn result_uuid(pack_id: &str, pack_version: &str, criterion_id: &str) -> Uuid {
    Uuid::new_v5(
        &RESULT_NAMESPACE,
        format!("{pack_id}@{pack_version}/{criterion_id}").as_bytes(),
    )
}

/// How an answer is stored: a score as its number, the others as words.
pub fn encode_answer(answer: Answer) -> String {
    match answer {
        Answer::Score(s) => s.to_string(),
        Answer::NotApplicable => "not_applicable".into(),
        Answer::NotAssessed => "not_assessed".into(),
    }
}

/// Reads a stored answer; `None` for anything else.
pub fn decode_answer(text: &str) -> Option<Answer> {
    match text {
        "not_applicable" => Some(Answer::NotApplicable),
        "not_assessed" => Some(Answer::NotAssessed),
        other => other.parse::<i32>().ok().map(Answer::Score),
    }
}
