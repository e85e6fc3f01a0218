//! Words for people: how records, ratings and dates read in explanations, reasons and pages.
//! One place, so the app, the portal and the engine's explanations say the same thing.

use chrono::NaiveDate;

use crate::determination::PremiumStatus;
use crate::records::{
    CqcRatingValue, FundingType, GateKind, KeyQuestion, Priority, QualificationKind, ServiceType,
    VisitType,
};
use crate::visit::{ActionStatus, EvidenceKind};

/// A day as GOV.UK writes it: `13 November 2026`.
pub fn long_date(day: NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

/// An instant as GOV.UK writes a time, on the clock in London: `3 December 2026 at 2:05pm`.
pub fn london_time(at: chrono::DateTime<chrono::Utc>) -> String {
    let local = at.with_timezone(&chrono_tz::Europe::London);
    let time = local.format("%-I:%M%P").to_string();
    let time = time.replace(":00", "");
    format!("{} at {time}", long_date(local.date_naive()))
}

/// A count with its noun, singular or plural: `1 overdue action`, `2 overdue actions`.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

impl GateKind {
    /// What the gate is called.
    pub fn label(self) -> &'static str {
        match self {
            GateKind::S42Enquiry => "Section 42 safeguarding enquiry",
            GateKind::LargeScaleEnquiry => "Large-scale safeguarding enquiry",
            GateKind::PlacementEmbargo => "Placement embargo",
            GateKind::ContractDefault => "Contract default notice",
        }
    }
}

impl CqcRatingValue {
    /// The rating as CQC writes it.
    pub fn label(self) -> &'static str {
        match self {
            CqcRatingValue::Inadequate => "Inadequate",
            CqcRatingValue::RequiresImprovement => "Requires improvement",
            CqcRatingValue::Good => "Good",
            CqcRatingValue::Outstanding => "Outstanding",
        }
    }
}

impl KeyQuestion {
    /// The key question as CQC writes it.
    pub fn label(self) -> &'static str {
        match self {
            KeyQuestion::Overall => "Overall",
            KeyQuestion::Safe => "Safe",
            KeyQuestion::Effective => "Effective",
            KeyQuestion::Caring => "Caring",
            KeyQuestion::Responsive => "Responsive",
            KeyQuestion::WellLed => "Well-led",
        }
    }
}

impl Priority {
    /// The priority, capitalised.
    pub fn label(self) -> &'static str {
        match self {
            Priority::High => "High",
            Priority::Medium => "Medium",
            Priority::Low => "Low",
        }
    }
}

impl FundingType {
    /// How the placement is funded.
    pub fn label(self) -> &'static str {
        match self {
            FundingType::CouncilPermanent => "Council-funded permanent",
            FundingType::CouncilShortTerm => "Council-funded short-term",
            FundingType::JointFunded => "Jointly funded",
            FundingType::NhsContinuingHealthcare => "NHS Continuing Healthcare",
            FundingType::SelfFunded => "Self-funded",
        }
    }
}

impl ServiceType {
    /// The kind of service.
    pub fn label(self) -> &'static str {
        match self {
            ServiceType::Residential => "Care home",
            ServiceType::Nursing => "Care home with nursing",
            ServiceType::HomeCare => "Home care",
        }
    }
}

impl QualificationKind {
    /// The qualification's name.
    pub fn label(self) -> &'static str {
        match self {
            QualificationKind::IipStandard => "Investors in People Standard",
            QualificationKind::IipSilver => "Investors in People Silver",
            QualificationKind::IipGold => "Investors in People Gold",
            QualificationKind::IipPlatinum => "Investors in People Platinum",
            QualificationKind::Iso9001 => "ISO 9001",
        }
    }
}

impl PremiumStatus {
    /// Where the premium stands, for people.
    pub fn label(self) -> &'static str {
        match self {
            PremiumStatus::NoTier => "No premium: no tier held",
            PremiumStatus::Payable => "Paid",
            PremiumStatus::Released => "Paid (released after an enquiry)",
            PremiumStatus::OnHold => "On hold during a safeguarding enquiry",
            PremiumStatus::Forfeited => "Forfeited: the enquiry was substantiated",
            PremiumStatus::Suspended => "Suspended",
        }
    }
}

impl VisitType {
    /// The kind of visit.
    pub fn label(self) -> &'static str {
        match self {
            VisitType::Annual => "Annual visit",
            VisitType::Unannounced => "Unannounced visit",
            VisitType::FollowUp => "Follow-up visit",
            VisitType::ConcernLed => "Concern-led visit",
            VisitType::Themed => "Themed visit",
        }
    }
}

impl ActionStatus {
    /// Where the action stands.
    pub fn label(self) -> &'static str {
        match self {
            ActionStatus::Open => "Open",
            ActionStatus::Completed => "Completed",
            ActionStatus::Withdrawn => "Withdrawn",
        }
    }
}

impl EvidenceKind {
    /// The kind of evidence.
    pub fn label(self) -> &'static str {
        match self {
            EvidenceKind::Observation => "Observation",
            EvidenceKind::RecordReview => "Record review",
            EvidenceKind::StaffInterview => "Staff interview",
            EvidenceKind::ResidentInterview => "Resident interview",
            EvidenceKind::FamilyInterview => "Family interview",
            EvidenceKind::Questionnaire => "Questionnaire",
            EvidenceKind::Photo => "Photo",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_counts_read_as_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap_or_default();
        assert_eq!(long_date(d), "3 November 2026");
        assert_eq!(count(1, "action", "actions"), "1 action");
        assert_eq!(count(0, "action", "actions"), "0 actions");
        assert_eq!(
            GateKind::S42Enquiry.label(),
            "Section 42 safeguarding enquiry"
        );
        assert_eq!(KeyQuestion::WellLed.label(), "Well-led");
    }
}

#[cfg(test)]
mod time_tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn times_read_on_the_london_clock() {
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 13, 5, 0).single();
        assert_eq!(
            summer.map(london_time).as_deref(),
            Some("1 July 2026 at 2:05pm")
        );
        let winter = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single();
        assert_eq!(
            winter.map(london_time).as_deref(),
            Some("3 December 2026 at 9am")
        );
    }
}
