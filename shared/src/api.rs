//! The JSON API's request and response bodies (API.md), as typed structs shared by the server
//! and its clients, so neither side indexes untyped JSON. Dates are read strictly (`YYYY-MM-DD`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{strict_date, strict_date_opt};
use crate::records::{CqcRatingValue, GateKind, GateOutcome, KeyQuestion, QualificationKind};

/// What a user is (DOMAIN.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Records visits on their caseload.
    Monitor,
    /// Reviews and publishes visits.
    Lead,
    /// A care provider's manager: sees only their own locations.
    Provider,
    /// Sets rules and records, exports payments.
    Commissioner,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Monitor => "monitor",
            Role::Lead => "lead",
            Role::Provider => "provider",
            Role::Commissioner => "commissioner",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "monitor" => Some(Role::Monitor),
            "lead" => Some(Role::Lead),
            "provider" => Some(Role::Provider),
            "commissioner" => Some(Role::Commissioner),
            _ => None,
        }
    }

    /// Whether this role records visits on a device (and so syncs).
    pub fn records_visits(self) -> bool {
        matches!(self, Role::Monitor | Role::Lead)
    }
}

/// Where a visit stands after sign-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// Signed off, not yet shared with the provider.
    SignedOff,
    /// Shared with the provider for factual-accuracy comments.
    Shared,
    /// Published: it feeds tiers.
    Published,
}

impl VisitStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::SignedOff => "signed_off",
            VisitStatus::Shared => "shared",
            VisitStatus::Published => "published",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<VisitStatus> {
        match s {
            "signed_off" => Some(VisitStatus::SignedOff),
            "shared" => Some(VisitStatus::Shared),
            "published" => Some(VisitStatus::Published),
            _ => None,
        }
    }
}

/// `POST /api/v1/session`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The account's username.
    pub username: String,
    /// Its password.
    pub password: String,
    /// A name for this device, shown in the device list.
    pub device_name: String,
}

/// The answer to a sign-in: a bearer token for one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    /// Bearer token for this device.
    pub token: String,
    /// The device's id (sync states are kept per device).
    pub device_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// For providers, their organisation.
    pub provider_id: Option<Uuid>,
    /// Signed in with a one-time password: every other call is refused with
    /// `password_change_required` until `POST /api/v1/password` sets the user's own.
    #[serde(default)]
    pub password_change_required: bool,
}

/// `POST /api/v1/password`: replace the caller's password (a one-time one included). Every
/// other session of the user ends; this one stays.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password signed in with.
    pub current_password: String,
    /// The new one: at least 12 characters and not a common password.
    pub new_password: String,
}

/// `GET /api/v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeResponse {
    /// The user.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// For providers, their organisation.
    pub provider_id: Option<Uuid>,
    /// This device.
    pub device_id: Uuid,
}

/// An error, as every API route sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code such as `forbidden` or `invalid`.
    pub error: String,
    /// A sentence for people.
    pub message: String,
}

/// One location in `GET /api/v1/locations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationSummary {
    /// The location.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider_id: Uuid,
    /// CQC's location id.
    pub cqc_location_id: String,
    /// `residential`, `nursing` or `home_care`.
    pub service_type: String,
    /// Its address.
    pub address: String,
    /// The tier today, if any.
    pub tier: Option<String>,
    /// The weekly premium per placement today, in pence.
    pub weekly_premium_pence: i64,
    /// The premium status today (`payable`, `on_hold`, `suspended`, `no_tier`).
    pub status: String,
    /// The early-warning colour.
    pub traffic_light: crate::warning::Light,
    /// Why the light has its colour.
    pub traffic_light_reasons: Vec<String>,
    /// The first day of the current tier and premium.
    pub in_effect_since: Option<NaiveDate>,
    /// The day of the last published visit.
    pub last_visit_on: Option<NaiveDate>,
    /// When the next visit is due (the earliest of the scheme's reasons: annual, follow-up,
    /// concern).
    pub next_visit_due_on: Option<NaiveDate>,
    /// Planned visits not yet published: a monitor's own, everyone's for leads.
    #[serde(default)]
    pub planned_visits: Vec<PlannedVisit>,
}

/// `GET /api/v1/locations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationsResponse {
    /// The day the figures are for.
    pub on: NaiveDate,
    /// The locations the caller may see.
    pub locations: Vec<LocationSummary>,
}

/// One framework pack a client may use, in `GET /api/v1/packs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackSummary {
    /// The pack's id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Its title.
    pub title: String,
    /// How many criteria it has.
    pub criteria: usize,
    /// Where to fetch it whole.
    pub href: String,
}

/// `GET /api/v1/packs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacksResponse {
    /// Every pack, by id then version.
    pub packs: Vec<PackSummary>,
}

/// One rule set's TOML source in `GET /api/v1/rule-sets/sources`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSetSource {
    /// Its version.
    pub version: String,
    /// The first day it applies.
    pub effective_from: NaiveDate,
    /// The TOML.
    pub source: String,
}

/// `GET /api/v1/rule-sets/sources`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSetSourcesResponse {
    /// Every rule set, in force and scheduled, oldest first.
    pub rule_sets: Vec<RuleSetSource>,
}

/// A CQC rating to record (`POST /api/v1/locations/{id}/cqc-ratings`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CqcRequest {
    /// Inspection day.
    #[serde(with = "strict_date")]
    pub inspected_on: NaiveDate,
    /// Publication day: the rating counts from then. Today or earlier.
    #[serde(with = "strict_date")]
    pub published_on: NaiveDate,
    /// Overall rating.
    pub overall: CqcRatingValue,
    /// Ratings per key question.
    #[serde(default)]
    pub key_questions: BTreeMap<KeyQuestion, CqcRatingValue>,
}

/// A gate to open (`POST /api/v1/locations/{id}/gates`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRequest {
    /// What kind.
    pub kind: GateKind,
    /// From when.
    #[serde(with = "strict_date")]
    pub opened_on: NaiveDate,
}

/// How a gate closes (`POST /api/v1/gates/{id}/close`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseGateRequest {
    /// The day it closed.
    #[serde(with = "strict_date")]
    pub closed_on: NaiveDate,
    /// Its outcome.
    #[serde(default)]
    pub outcome: Option<GateOutcome>,
}

/// A certificate to record (`POST /api/v1/qualifications`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationRequest {
    /// The provider holding it.
    pub provider_id: Uuid,
    /// IIP level or ISO 9001.
    pub kind: QualificationKind,
    /// The certificate's reference: 1 to 200 characters.
    pub certificate_ref: String,
    /// Issue day.
    #[serde(with = "strict_date")]
    pub issued_on: NaiveDate,
    /// Expiry day.
    #[serde(with = "strict_date")]
    pub expires_on: NaiveDate,
    /// Last surveillance audit or review.
    #[serde(default, with = "strict_date_opt")]
    pub last_surveillance_on: Option<NaiveDate>,
    /// When the council verified it.
    #[serde(default, with = "strict_date_opt")]
    pub verified_on: Option<NaiveDate>,
    /// Who verified it.
    #[serde(default)]
    pub verified_by: Option<String>,
    /// The provider's locations its scope covers.
    pub covered_locations: Vec<Uuid>,
}

/// The tier a record change left a location with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierEffect {
    /// The location.
    pub location_id: Uuid,
    /// Its tier now, if any.
    pub tier: Option<String>,
    /// Its weekly premium per placement now, in pence.
    pub weekly_premium_pence: i64,
    /// Its premium status now.
    pub status: String,
}

/// A comment on a shared visit (`POST /api/v1/visits/{id}/comments`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// The criterion it is about, if any.
    #[serde(default)]
    pub criterion: Option<String>,
    /// The comment.
    pub body: String,
}

/// A provider's answer to an action (`POST /api/v1/visits/{id}/actions/{action}/responses`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionResponseRequest {
    /// The answer.
    pub body: String,
}

/// `POST /api/v1/blobs/missing`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingBlobsRequest {
    /// Content hashes the client holds.
    pub hashes: Vec<String>,
}

/// The answer to [`MissingBlobsRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingBlobsResponse {
    /// The hashes the server does not have.
    pub missing: Vec<String>,
}

/// Where a resumable upload stands at the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadProgress {
    /// Bytes the server holds.
    pub received: u64,
    /// The blob's size.
    pub size: u64,
    /// Whether the blob is stored.
    pub complete: bool,
}

/// One visit in `GET /api/v1/visits`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitListItem {
    /// Where the visit stands.
    pub visit: VisitState,
    /// The day of the visit.
    pub visited_on: NaiveDate,
    /// Its type.
    pub visit_type: crate::records::VisitType,
}

/// `GET /api/v1/visits`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitsResponse {
    /// The visits the caller may see.
    pub visits: Vec<VisitListItem>,
}

/// Where a visit stands, as the server keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitState {
    /// The visit.
    pub id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// Signed off, shared or published.
    pub status: VisitStatus,
    /// The accepted revision now in review.
    pub current_revision: u32,
    /// When it was shared with the provider.
    pub shared_on: Option<String>,
    /// Last day for the provider's comments.
    pub window_closes_on: Option<String>,
    /// When the provider said they have no more comments.
    pub provider_confirmed_at: Option<String>,
    /// When it was last published.
    pub published_on: Option<String>,
}

/// A revision as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionView {
    /// Its number.
    pub revision: u32,
    /// `accepted`, `pending` or `rejected`.
    pub state: String,
    /// Who signed (or sent the edits).
    pub signed_by: String,
    /// When.
    pub signed_at: String,
    /// The document heads it stands for.
    pub heads: Vec<String>,
    /// When it was published, if it was.
    pub published_on: Option<String>,
    /// The record.
    pub record: crate::visit::VisitSnapshot,
}

/// A comment as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentView {
    /// Its id.
    pub id: String,
    /// The revision commented on.
    pub revision: u32,
    /// The criterion, if about one.
    pub criterion: Option<String>,
    /// Who.
    pub author: String,
    /// What.
    pub body: String,
    /// When.
    pub created_at: String,
}

/// `GET /api/v1/visits/{id}`: a visit as the caller may see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDetail {
    /// Where it stands.
    pub visit: VisitState,
    /// The record in review (the current accepted revision).
    pub record: crate::visit::VisitSnapshot,
    /// Its revisions (providers: only those shared with them and published ones).
    pub revisions: Vec<RevisionView>,
    /// Comments on it.
    pub comments: Vec<CommentView>,
}

/// An account, as `GET /api/v1/users` lists it (commissioners only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user.
    pub id: Uuid,
    /// Sign-in name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// For provider users, their provider.
    pub provider_id: Option<Uuid>,
    /// Where notices go.
    pub email: Option<String>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Still holding a one-time password.
    pub must_change_password: bool,
    /// The latest use of any of their sessions (RFC 3339).
    pub last_seen: Option<String>,
}

/// `POST /api/v1/users` (add, with a one-time password) and `PUT /api/v1/users/{id}` (edit; the
/// username is ignored there, as it cannot change).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    /// Sign-in name (letters, digits, `.`, `_`, `-`, `@`).
    #[serde(default)]
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// For provider users, their provider.
    #[serde(default)]
    pub provider_id: Option<Uuid>,
    /// Where notices go.
    pub email: String,
}

/// The answer to adding a user or resetting a password: the one-time password, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimePasswordResponse {
    /// The user.
    pub user_id: Uuid,
    /// Works once; the user must choose their own at first sign-in.
    pub one_time_password: String,
}

/// One signed-in device of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSummary {
    /// The device.
    pub device_id: Uuid,
    /// The name it gave at sign-in.
    pub name: String,
    /// `portal` (a browser) or `device` (a field app).
    pub kind: String,
    /// When it signed in (RFC 3339).
    pub signed_in_at: String,
    /// When it was last used (RFC 3339).
    pub last_seen: Option<String>,
    /// When it was signed out, if it was.
    pub revoked_at: Option<String>,
}

/// `POST /api/v1/users/{id}/caseload`: locations to add to and remove from a monitor's caseload.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseloadChange {
    /// Locations to add.
    #[serde(default)]
    pub add: Vec<Uuid>,
    /// Locations to remove.
    #[serde(default)]
    pub remove: Vec<Uuid>,
}

/// Where a planned visit has got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Planned, not started.
    Planned,
    /// A monitor started the visit from the plan (its document reached the server).
    Started,
    /// Signed off on the tablet.
    SignedOff,
    /// Published.
    Published,
    /// Cancelled.
    Cancelled,
}

/// A planned visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedVisit {
    /// The plan.
    pub id: Uuid,
    /// Where.
    pub location_id: Uuid,
    /// The location's name.
    pub location_name: String,
    /// Kind of visit.
    pub visit_type: crate::records::VisitType,
    /// The day planned.
    #[serde(with = "crate::calendar::strict_date")]
    pub planned_on: NaiveDate,
    /// Who goes: (user id, name).
    pub monitors: Vec<(Uuid, String)>,
    /// Where it has got to.
    pub status: PlanStatus,
    /// The visit started from it, once one is.
    pub visit_id: Option<Uuid>,
    /// Why it was planned, in words, when it was planned from the due list.
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/plans` (leads and commissioners).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Where.
    pub location_id: Uuid,
    /// Kind of visit.
    pub visit_type: crate::records::VisitType,
    /// The day.
    #[serde(with = "crate::calendar::strict_date")]
    pub planned_on: NaiveDate,
    /// Who goes (monitors; put on the location's caseload if not already).
    pub monitor_ids: Vec<Uuid>,
    /// Why, in words (from the due list), if any.
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/plans/{id}/reassign`: a new day or new monitors.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    /// The day.
    #[serde(with = "crate::calendar::strict_date")]
    pub planned_on: NaiveDate,
    /// Who goes.
    pub monitor_ids: Vec<Uuid>,
}

/// `POST /api/v1/plans/{id}/cancel`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelPlanRequest {
    /// Why, for the record.
    pub reason: String,
}

/// One visit due and not yet planned, in `GET /api/v1/due-visits` (riskiest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueVisitRow {
    /// What is due.
    #[serde(flatten)]
    pub due: crate::planning::DueVisit,
    /// The location's name.
    pub location_name: String,
    /// Why, in words.
    pub reason_text: String,
    /// The location's early-warning colour.
    pub traffic_light: crate::warning::Light,
    /// Why it has that colour.
    pub traffic_light_reasons: Vec<String>,
    /// Monitors who cover it: (user id, name).
    pub monitors: Vec<(Uuid, String)>,
}

/// A contract to add or replace (`POST /api/v1/contracts`, `PUT /api/v1/contracts/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractRequest {
    /// The council's contract reference, unique.
    pub reference: String,
    /// The provider contracted.
    pub provider_id: Uuid,
    /// The location contracted; absent for every location of the provider.
    #[serde(default)]
    pub location_id: Option<Uuid>,
    /// First day of the first period.
    #[serde(with = "strict_date")]
    pub starts_on: NaiveDate,
    /// Last day of the last period: it must close a whole period.
    #[serde(with = "strict_date")]
    pub ends_on: NaiveDate,
    /// Length of each period: 1, 3, 6 or 12 months.
    pub period_months: u32,
    /// Contract value for each period, in pence.
    pub value_per_period_pence: i64,
    /// Share of each period's value at risk, in per cent (up to three decimals); absent for the
    /// rule set's.
    #[serde(default)]
    pub withhold_percent: Option<f64>,
}
