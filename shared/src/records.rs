//! The records the tier and premium engine reads: locations, published visits, CQC ratings,
//! qualifications, gates, actions and placements. The server stores them; the engine only reads.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The kind of service a location provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// Care home without nursing.
    Residential,
    /// Care home with nursing (the premium is on the council's social-care fee, never on the
    /// NHS-funded nursing care element).
    Nursing,
    /// Domiciliary care agency.
    HomeCare,
}

/// A registered location (one CQC location ID). A change of ownership creates a new location, so
/// the old location's tier never carries over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Accredit's id.
    pub id: Uuid,
    /// The provider (organisation) that runs it.
    pub provider_id: Uuid,
    /// CQC's location ID, e.g. `1-123456789`.
    pub cqc_location_id: String,
    /// Name shown to users.
    pub name: String,
    /// Kind of service.
    pub service_type: ServiceType,
    /// First day of registration.
    pub registered_from: NaiveDate,
    /// Last day of registration, if it has ended.
    pub registered_to: Option<NaiveDate>,
}

/// A monitor's answer to one criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// A score on the criterion's scale.
    Score(i32),
    /// The criterion does not apply to this service.
    NotApplicable,
    /// The criterion was not looked at on this visit.
    NotAssessed,
}

/// The kind of visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitType {
    /// The scheduled annual visit.
    Annual,
    /// An unannounced visit.
    Unannounced,
    /// A follow-up on an action plan.
    FollowUp,
    /// A visit prompted by a concern.
    ConcernLed,
    /// A visit on one theme.
    Themed,
}

impl VisitType {
    /// The wire and stored name (`annual`, `follow_up`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            VisitType::Annual => "annual",
            VisitType::Unannounced => "unannounced",
            VisitType::FollowUp => "follow_up",
            VisitType::ConcernLed => "concern_led",
            VisitType::Themed => "themed",
        }
    }
}

/// A published revision of a visit: the only kind of visit that feeds tiers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedVisit {
    /// The visit.
    pub visit_id: Uuid,
    /// Revision number; a later revision of the same visit supersedes an earlier one.
    pub revision: u32,
    /// Where the visit took place.
    pub location_id: Uuid,
    /// Kind of visit.
    pub visit_type: VisitType,
    /// The day of the visit (its last day, for visits over several days).
    pub visited_on: NaiveDate,
    /// The day this revision takes effect: its publication date, or for an upheld appeal the
    /// earlier date the tier is backdated to.
    pub effective_on: NaiveDate,
    /// Framework pack id the visit was scored against.
    pub pack_id: String,
    /// Framework pack version.
    pub pack_version: String,
    /// Answers by criterion id.
    pub answers: BTreeMap<String, Answer>,
}

/// A CQC rating value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CqcRatingValue {
    /// Inadequate.
    Inadequate,
    /// Requires improvement.
    RequiresImprovement,
    /// Good.
    Good,
    /// Outstanding.
    Outstanding,
}

/// The overall rating or one of CQC's five key questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyQuestion {
    /// The overall rating.
    Overall,
    /// Safe.
    Safe,
    /// Effective.
    Effective,
    /// Caring.
    Caring,
    /// Responsive.
    Responsive,
    /// Well-led.
    WellLed,
}

/// A published CQC rating. It takes effect on its publication date, not its inspection date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CqcRating {
    /// Accredit's id for this record.
    pub id: Uuid,
    /// The location rated.
    pub location_id: Uuid,
    /// When CQC inspected.
    pub inspected_on: NaiveDate,
    /// When CQC published the rating.
    pub published_on: NaiveDate,
    /// Overall rating.
    pub overall: CqcRatingValue,
    /// Key-question ratings, where given (an `overall` entry here is ignored: see `overall`).
    #[serde(default)]
    pub key_questions: BTreeMap<KeyQuestion, CqcRatingValue>,
}

impl CqcRating {
    /// The rating for a key question (or overall), if recorded.
    pub fn rating_for(&self, q: KeyQuestion) -> Option<CqcRatingValue> {
        match q {
            KeyQuestion::Overall => Some(self.overall),
            _ => self.key_questions.get(&q).copied(),
        }
    }

    /// The worst rating among overall and the key questions.
    pub fn worst(&self) -> CqcRatingValue {
        self.key_questions
            .iter()
            .filter(|(q, _)| **q != KeyQuestion::Overall)
            .map(|(_, r)| *r)
            .fold(self.overall, CqcRatingValue::min)
    }
}

/// A qualification that can add to the premium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualificationKind {
    /// Investors in People, Standard.
    IipStandard,
    /// Investors in People, Silver.
    IipSilver,
    /// Investors in People, Gold.
    IipGold,
    /// Investors in People, Platinum.
    IipPlatinum,
    /// ISO 9001 quality management.
    Iso9001,
}

/// Qualifications of one family do not stack with each other (a provider with IIP Gold and an
/// older IIP Standard certificate gets the IIP amount once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualificationFamily {
    /// Investors in People.
    Iip,
    /// ISO 9001.
    Iso9001,
}

impl QualificationKind {
    /// The family it belongs to.
    pub fn family(self) -> QualificationFamily {
        match self {
            QualificationKind::Iso9001 => QualificationFamily::Iso9001,
            _ => QualificationFamily::Iip,
        }
    }
}

/// A certificate held by a provider, covering some of its locations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    /// Accredit's id for this record.
    pub id: Uuid,
    /// The provider that holds it.
    pub provider_id: Uuid,
    /// Which qualification.
    pub kind: QualificationKind,
    /// The certificate's reference.
    pub certificate_ref: String,
    /// Issue date.
    pub issued_on: NaiveDate,
    /// Expiry date (the last valid day).
    pub expires_on: NaiveDate,
    /// Last surveillance audit or review (ISO 9001 needs one within 15 months by default).
    pub last_surveillance_on: Option<NaiveDate>,
    /// When a commissioner verified the certificate; unverified certificates never count.
    pub verified_on: Option<NaiveDate>,
    /// Who verified it.
    pub verified_by: Option<String>,
    /// The locations its scope covers; a provider-wide certificate may leave some out.
    pub covered_locations: Vec<Uuid>,
}

/// The kind of gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateKind {
    /// A Care Act s.42 safeguarding enquiry.
    S42Enquiry,
    /// A large-scale (organisational) safeguarding enquiry.
    LargeScaleEnquiry,
    /// A placement embargo.
    PlacementEmbargo,
    /// A contract default notice.
    ContractDefault,
}

/// How a gate ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    /// The concern was substantiated: premium held during an s.42 enquiry is forfeited.
    Substantiated,
    /// Not substantiated: premium held during an s.42 enquiry is released.
    NotSubstantiated,
    /// Closed with no finding either way (embargoes, notices).
    Closed,
}

/// A safeguarding or contract gate that overrides the tier's premium.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// Accredit's id for this record.
    pub id: Uuid,
    /// The location it applies to.
    pub location_id: Uuid,
    /// Which gate.
    pub kind: GateKind,
    /// First day it applies.
    pub opened_on: NaiveDate,
    /// The day it closed; it applies on `opened_on ≤ day < closed_on`.
    pub closed_on: Option<NaiveDate>,
    /// Its outcome, once known.
    pub outcome: Option<GateOutcome>,
}

/// Action priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// An action from a visit's action plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Accredit's id.
    pub id: Uuid,
    /// The location that must act.
    pub location_id: Uuid,
    /// The visit that raised it.
    pub visit_id: Uuid,
    /// Priority.
    pub priority: Priority,
    /// Due date: it is overdue from the next day while not completed.
    pub due_on: NaiveDate,
    /// When it was completed (signed off as done).
    pub completed_on: Option<NaiveDate>,
}

impl Action {
    /// Whether the action is overdue on `day`.
    pub fn is_overdue_on(&self, day: NaiveDate) -> bool {
        self.due_on < day && self.completed_on.is_none_or(|c| c > day)
    }
}

/// How a placement is funded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FundingType {
    /// Council-funded permanent placement.
    CouncilPermanent,
    /// Council-funded short-term or respite placement.
    CouncilShortTerm,
    /// Jointly funded by council and NHS.
    JointFunded,
    /// NHS continuing healthcare.
    NhsContinuingHealthcare,
    /// The resident pays.
    SelfFunded,
}

/// A hospital stay during a placement (both ends inclusive; open while the resident is still in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HospitalStay {
    /// First day away.
    #[serde(with = "crate::calendar::strict_date")]
    pub from: NaiveDate,
    /// Last day away, if back.
    #[serde(default, with = "crate::calendar::strict_date_opt")]
    pub to: Option<NaiveDate>,
}

/// A resident's placement at a location. Only placements are paid premiums.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// Accredit's id.
    pub id: Uuid,
    /// Where the resident lives.
    pub location_id: Uuid,
    /// A pseudonymous reference (never a name).
    pub resident_ref: String,
    /// How it is funded.
    pub funding: FundingType,
    /// First day.
    #[serde(with = "crate::calendar::strict_date")]
    pub start: NaiveDate,
    /// Last day, if ended.
    #[serde(default, with = "crate::calendar::strict_date_opt")]
    pub end: Option<NaiveDate>,
    /// Date of death: nothing is paid after it.
    #[serde(default, with = "crate::calendar::strict_date_opt")]
    pub died_on: Option<NaiveDate>,
    /// The base weekly fee (for information and percentage-based schemes).
    pub base_weekly_rate_pence: i64,
    /// Hospital stays.
    #[serde(default)]
    pub hospital_stays: Vec<HospitalStay>,
}

impl Placement {
    /// The last day the placement can be paid for.
    pub fn last_day(&self) -> Option<NaiveDate> {
        match (self.end, self.died_on) {
            (Some(e), Some(d)) => Some(e.min(d)),
            (e, d) => e.or(d),
        }
    }
}

/// Everything the engine needs to know about one location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationRecords {
    /// The location.
    pub location: Location,
    /// Its published visit revisions.
    pub visits: Vec<PublishedVisit>,
    /// Its published CQC ratings.
    pub cqc_ratings: Vec<CqcRating>,
    /// Qualifications of its provider (scope decides whether each covers this location).
    pub qualifications: Vec<Qualification>,
    /// Gates on it.
    pub gates: Vec<Gate>,
    /// Actions from its visits.
    pub actions: Vec<Action>,
}
