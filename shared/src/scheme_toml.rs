//! Writes a rule set back as TOML, the stored and exported format, in the shape of the shipped
//! scheme files. Percentages are written as decimals (not as the exact fractions they are held
//! in) so that [`RuleSet::from_toml`] reads back the very same rule set.

use std::fmt::Write;

use crate::ratio::Ratio;
use crate::scheme::RuleSet;

/// A string as a TOML basic string, quoted and escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A serde enum's name (`"requires_improvement"`), quoted.
fn word<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => quoted(&s),
        // Every enum in a rule set is a unit variant; anything else would be a programming error,
        // and writing it as JSON keeps the output loadable-or-rejected rather than silently wrong.
        Ok(other) => other.to_string(),
        Err(e) => quoted(&e.to_string()),
    }
}

fn words<T: serde::Serialize>(vs: &[T]) -> String {
    let inner: Vec<String> = vs.iter().map(word).collect();
    format!("[{}]", inner.join(", "))
}

/// A percentage as the shortest decimal with at most three places: `85`, `72.5`, `33.333`.
pub fn percent_decimal(r: Ratio) -> String {
    let text = r.to_decimal_string(3);
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() || trimmed == "-" {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

impl RuleSet {
    /// The rule set as TOML that [`RuleSet::from_toml`] reads back unchanged.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        // `write!` to a String cannot fail; the results are ignored for that reason only.
        let w = &mut out;
        let _ = writeln!(
            w,
            "# Written by Accredit. Money is in whole pence; percentages may have up to three decimals."
        );
        let _ = writeln!(w);
        let _ = writeln!(w, "name = {}", quoted(&self.name));
        let _ = writeln!(w, "version = {}", quoted(&self.version));
        let _ = writeln!(w, "effective_from = {}", self.effective_from);
        let _ = writeln!(w, "mode = {}", word(&self.mode));
        let s = &self.scoring;
        let _ = writeln!(w, "\n[scoring]");
        let _ = writeln!(w, "rescale = {}", word(&s.rescale));
        let _ = writeln!(
            w,
            "max_not_assessed_percent = {}",
            percent_decimal(s.max_not_assessed_percent)
        );
        if let Some(n) = s.critical_fail_at_or_below {
            let _ = writeln!(w, "critical_fail_at_or_below = {n}");
        }
        let _ = writeln!(
            w,
            "critical_failure_cap = {}",
            quoted(&s.critical_failure_cap)
        );
        for t in &self.tiers {
            let _ = writeln!(w, "\n[[tiers]]");
            let _ = writeln!(w, "name = {}", quoted(&t.name));
            let _ = writeln!(
                w,
                "min_overall_percent = {}",
                percent_decimal(t.min_overall_percent)
            );
            let _ = writeln!(
                w,
                "min_domain_percent = {}",
                percent_decimal(t.min_domain_percent)
            );
            let _ = writeln!(w, "weekly_premium_pence = {}", t.weekly_premium_pence);
        }
        let l = &self.limiters;
        let _ = writeln!(w, "\n[limiters]");
        let _ = writeln!(
            w,
            "overdue_action_priorities = {}",
            words(&l.overdue_action_priorities)
        );
        let _ = writeln!(
            w,
            "overdue_action_tier_steps = {}",
            l.overdue_action_tier_steps
        );
        let _ = writeln!(
            w,
            "annual_visit_interval_months = {}",
            l.annual_visit_interval_months
        );
        let _ = writeln!(
            w,
            "visit_lapse_grace_months = {}",
            l.visit_lapse_grace_months
        );
        // An empty array of tables cannot be written as `[[limiters.cqc]]`; say it inline.
        if l.cqc.is_empty() {
            let _ = writeln!(w, "cqc = []");
        }
        for c in &l.cqc {
            let _ = writeln!(w, "\n[[limiters.cqc]]");
            let _ = writeln!(w, "key_question = {}", word(&c.key_question));
            let _ = writeln!(w, "rating = {}", word(&c.rating));
            let _ = writeln!(w, "cap = {}", quoted(&c.cap));
        }
        let q = &self.qualifications;
        let _ = writeln!(w, "\n[qualifications]");
        let _ = writeln!(w, "weekly_cap_pence = {}", q.weekly_cap_pence);
        let _ = writeln!(w, "tier_step_up = {}", q.tier_step_up);
        let _ = writeln!(
            w,
            "verification_backdate_days = {}",
            q.verification_backdate_days
        );
        let _ = writeln!(
            w,
            "iso9001_surveillance_months = {}",
            q.iso9001_surveillance_months
        );
        let _ = writeln!(w, "\n[qualifications.weekly_pence]");
        for (kind, pence) in &q.weekly_pence {
            let key = word(kind);
            let _ = writeln!(w, "{} = {pence}", key.trim_matches('"'));
        }
        let g = &self.gates;
        let _ = writeln!(w, "\n[gates]");
        let _ = writeln!(w, "s42_enquiry = {}", word(&g.s42_enquiry));
        let _ = writeln!(w, "large_scale_enquiry = {}", word(&g.large_scale_enquiry));
        let _ = writeln!(w, "placement_embargo = {}", word(&g.placement_embargo));
        let _ = writeln!(w, "contract_default = {}", word(&g.contract_default));
        let _ = writeln!(w, "sustainability_weeks = {}", g.sustainability_weeks);
        let p = &self.payments;
        let _ = writeln!(w, "\n[payments]");
        let _ = writeln!(w, "weekly_cap_pence = {}", p.weekly_cap_pence);
        let _ = writeln!(w, "eligible_funding = {}", words(&p.eligible_funding));
        let _ = writeln!(
            w,
            "hospital_absence_paid_days = {}",
            p.hospital_absence_paid_days
        );
        let wr = &self.withhold_release;
        let _ = writeln!(w, "\n[withhold_release]");
        let _ = writeln!(
            w,
            "withhold_percent = {}",
            percent_decimal(wr.withhold_percent)
        );
        let _ = writeln!(w, "score_from = {}", word(&wr.score_from));
        if wr.bands.is_empty() {
            let _ = writeln!(w, "bands = []");
        }
        for b in &wr.bands {
            let _ = writeln!(w, "\n[[withhold_release.bands]]");
            let _ = writeln!(
                w,
                "min_score_percent = {}",
                percent_decimal(b.min_score_percent)
            );
            let _ = writeln!(
                w,
                "release_percent = {}",
                percent_decimal(b.release_percent)
            );
        }
        let _ = writeln!(w, "\n[early_warning]");
        let _ = writeln!(
            w,
            "tier_drop_lookback_days = {}",
            self.early_warning.tier_drop_lookback_days
        );
        let pl = &self.planning;
        let _ = writeln!(w, "\n[planning]");
        let _ = writeln!(
            w,
            "follow_up_after_poor_months = {}",
            pl.follow_up_after_poor_months
        );
        let _ = writeln!(w, "poor_below_percent = {}", pl.poor_below_percent);
        let _ = writeln!(
            w,
            "follow_up_action_priorities = {}",
            words(&pl.follow_up_action_priorities)
        );
        let _ = writeln!(
            w,
            "overdue_action_follow_up_days = {}",
            pl.overdue_action_follow_up_days
        );
        let _ = writeln!(w, "concern_visit_days = {}", pl.concern_visit_days);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: [&str; 2] = [
        include_str!("../../assets/schemes/blackpool-style.toml"),
        include_str!("../../assets/schemes/blackpool-style-2024.toml"),
    ];

    #[test]
    fn shipped_rule_sets_round_trip_through_toml() {
        for text in SHIPPED {
            let rs = RuleSet::from_toml(text).unwrap();
            let written = rs.to_toml();
            assert_eq!(RuleSet::from_toml(&written).unwrap(), rs, "{written}");
        }
    }

    #[test]
    fn awkward_values_round_trip_too() {
        let mut rs = RuleSet::from_toml(SHIPPED[0]).unwrap();
        rs.name = "Quotes \" and \\ back\nslash".to_owned();
        rs.tiers[0].min_overall_percent = Ratio::new(85_333, 1000).unwrap();
        rs.tiers[0].min_domain_percent = Ratio::new(561, 8).unwrap();
        rs.scoring.critical_fail_at_or_below = Some(2);
        rs.limiters.cqc.clear();
        rs.withhold_release.bands.clear();
        rs.withhold_release.score_from = crate::scheme::ScoreSource::LatestVisit;
        rs.mode = crate::scheme::SchemeMode::WithholdRelease;
        rs.payments.eligible_funding.clear();
        rs.qualifications.weekly_pence.clear();
        let written = rs.to_toml();
        assert_eq!(RuleSet::from_toml(&written).unwrap(), rs, "{written}");
    }

    #[test]
    fn percentages_are_short_decimals() {
        assert_eq!(percent_decimal(Ratio::integer(85)), "85");
        assert_eq!(percent_decimal(Ratio::new(145, 2).unwrap()), "72.5");
        assert_eq!(percent_decimal(Ratio::ZERO), "0");
        assert_eq!(percent_decimal(Ratio::new(-5, 2).unwrap()), "-2.5");
    }
}
