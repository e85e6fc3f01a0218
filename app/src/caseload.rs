//! The monitor's caseload: the locations assigned to them as the server last reported them,
//! their visit history, and the order a monitor works through them (riskiest first).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use accredit_shared::api::{PlanStatus, PlannedVisit};
use accredit_shared::records::{Answer, Priority};
use accredit_shared::visit::{ActionStatus, VisitAction};
use accredit_shared::warning::Light;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A location on the caseload, as `GET /api/v1/locations` reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseloadLocation {
    /// Location id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Provider id.
    pub provider_id: Uuid,
    /// CQC location id.
    #[serde(default)]
    pub cqc_location_id: String,
    /// Service type.
    #[serde(default)]
    pub service_type: String,
    /// Postal address.
    #[serde(default)]
    pub address: String,
    /// Current tier.
    pub tier: Option<String>,
    /// Weekly premium per placement, in pence.
    #[serde(default)]
    pub weekly_premium_pence: i64,
    /// Early-warning colour.
    pub traffic_light: Light,
    /// Why.
    #[serde(default)]
    pub traffic_light_reasons: Vec<String>,
    /// Last visit.
    pub last_visit_on: Option<NaiveDate>,
    /// When the next visit is due.
    pub next_visit_due_on: Option<NaiveDate>,
    /// Visits planned for this monitor here, not yet published.
    #[serde(default)]
    pub planned_visits: Vec<PlannedVisit>,
}

/// A past visit at a location, reduced to what the field app shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastVisit {
    /// Visit id.
    pub id: Uuid,
    /// Day of the visit.
    pub visited_on: NaiveDate,
    /// Kind of visit (e.g. `annual`).
    pub visit_type: String,
    /// `signed_off`, `shared` or `published`.
    pub status: String,
    /// The revision the record is from: with the status, tells whether the cached copy is current.
    #[serde(default)]
    pub revision: u32,
    /// Answers by criterion id.
    pub answers: BTreeMap<String, Answer>,
    /// The actions set.
    pub actions: Vec<VisitAction>,
    /// Framework pack id and version.
    pub pack: (String, String),
}

impl PastVisit {
    /// Actions still open.
    pub fn open_actions(&self) -> impl Iterator<Item = &VisitAction> {
        self.actions
            .iter()
            .filter(|a| a.status == ActionStatus::Open)
    }
}

/// A caseload row: the location with what the device knows on top of the server's view.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseloadEntry {
    /// The location.
    pub location: CaseloadLocation,
    /// Open actions from its latest visit.
    pub open_actions: usize,
    /// Open actions past their due date.
    pub overdue_actions: usize,
    /// Latest visit day, counting visits signed off on this device and not yet synced; a draft
    /// in progress is not a visit made.
    pub last_visit_on: Option<NaiveDate>,
    /// The day the newest draft on this device was started, if one is in progress.
    pub draft_started_on: Option<NaiveDate>,
    /// Whether the next visit is due before `today`.
    pub overdue: bool,
    /// The next visit planned for this monitor here and not started yet.
    pub next_planned: Option<PlannedVisit>,
}

impl CaseloadEntry {
    /// How urgent, most urgent lowest: overdue and red first, then red, amber, green.
    fn risk(&self) -> (u8, Light) {
        let overdue = self.overdue || self.overdue_actions > 0;
        (u8::from(!overdue), self.location.traffic_light)
    }
}

/// The next planned visit among `plans` that has not been started.
pub fn next_planned(plans: &[PlannedVisit]) -> Option<PlannedVisit> {
    plans
        .iter()
        .filter(|p| p.status == PlanStatus::Planned)
        .min_by_key(|p| p.planned_on)
        .cloned()
}

/// Orders a caseload: the visits planned for the monitor first, by planned day; then by risk:
/// overdue (visit or actions) and red first; then by colour (red, amber, green); then the visit
/// due soonest; then by name.
pub fn order_by_risk(entries: &mut [CaseloadEntry]) {
    entries.sort_by(|a, b| {
        let planned = |e: &CaseloadEntry| e.next_planned.as_ref().map(|p| p.planned_on);
        planned_order(planned(a), planned(b))
            .then_with(|| a.risk().cmp(&b.risk()))
            .then_with(|| due_order(a.location.next_visit_due_on, b.location.next_visit_due_on))
            .then_with(|| a.location.name.cmp(&b.location.name))
    });
}

fn planned_order(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Ordering {
    // A planned visit sorts before none; earlier planned days first.
    match (a, b) {
        (None, None) => Ordering::Equal,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

fn due_order(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Ordering {
    // Never visited sorts before any due date: it is the most overdue of all.
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

/// Whether `name` matches a search: every word of the query appears in it, ignoring case.
pub fn matches(name: &str, query: &str) -> bool {
    let name = name.to_lowercase();
    query
        .split_whitespace()
        .all(|w| name.contains(&w.to_lowercase()))
}

/// A priority as a monitor reads it.
pub fn priority_label(p: Priority) -> &'static str {
    p.label()
}

impl From<accredit_shared::api::LocationSummary> for CaseloadLocation {
    fn from(l: accredit_shared::api::LocationSummary) -> CaseloadLocation {
        CaseloadLocation {
            id: l.id,
            name: l.name,
            provider_id: l.provider_id,
            cqc_location_id: l.cqc_location_id,
            service_type: l.service_type,
            address: l.address,
            tier: l.tier,
            weekly_premium_pence: l.weekly_premium_pence,
            traffic_light: l.traffic_light,
            traffic_light_reasons: l.traffic_light_reasons,
            last_visit_on: l.last_visit_on,
            next_visit_due_on: l.next_visit_due_on,
            planned_visits: l.planned_visits,
        }
    }
}
