//! Two rule sets side by side: every setting that differs, in words, in the order of the form.

use serde::Serialize;

use crate::rule_form::{FieldKind, RuleForm, date_words};
use crate::scheme::RuleSet;

/// One setting that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The rule-set path: `tiers[1].weekly_premium_pence`.
    pub path: String,
    /// The setting in words: "Tier 2 weekly premium (£)".
    pub label: String,
    /// The section it is in: "Tiers".
    pub section: String,
    /// Its value in the first rule set, as people read it ("—" where it has no such row).
    pub a: String,
    /// Its value in the second.
    pub b: String,
}

/// Every setting whose value differs between `a` and `b`. Rows (tiers, limiters, bands) are
/// compared by position; a row only one side has shows "—" on the other.
pub fn diff(a: &RuleSet, b: &RuleSet) -> Vec<Difference> {
    let fa = RuleForm::from_rule_set(a);
    let fb = RuleForm::from_rule_set(b);
    // A layout with as many rows as either side has.
    let mut both = fa.clone();
    for group in ["tiers", "cqc", "bands"] {
        while both.rows(group) < fb.rows(group) {
            both.add_row(group);
        }
    }
    let mut out = Vec::new();
    for section in both.sections() {
        for spec in section.all_fields() {
            let (va, vb) = match spec.kind {
                FieldKind::Date => (date_words(&fa, &spec.id), date_words(&fb, &spec.id)),
                _ => {
                    let shown = |f: &RuleForm| {
                        let v = f.get(&spec.id);
                        let absent = spec.row.is_some() && v.is_empty() && !present(f, &spec.id);
                        if absent {
                            "—".to_owned()
                        } else {
                            spec.show(v)
                        }
                    };
                    (shown(&fa), shown(&fb))
                }
            };
            if va != vb {
                out.push(Difference {
                    path: spec.path.clone(),
                    label: spec.words(),
                    section: section.title.to_owned(),
                    a: va,
                    b: vb,
                });
            }
        }
    }
    out
}

/// Whether the row a field id belongs to exists in the form.
fn present(f: &RuleForm, id: &str) -> bool {
    let mut parts = id.splitn(3, '-');
    match (
        parts.next(),
        parts.next().and_then(|i| i.parse::<usize>().ok()),
    ) {
        (Some(group), Some(i)) => i < f.rows(group),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_versions_differ_in_version_start_and_tier_amounts() {
        let a = RuleSet::from_toml(include_str!(
            "../../assets/schemes/blackpool-style-2024.toml"
        ))
        .unwrap();
        let b =
            RuleSet::from_toml(include_str!("../../assets/schemes/blackpool-style.toml")).unwrap();
        let d = diff(&a, &b);
        let paths: Vec<&str> = d.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "version",
                "effective_from",
                "mode",
                "tiers[0].weekly_premium_pence",
                "tiers[1].weekly_premium_pence",
                "tiers[2].weekly_premium_pence",
            ]
        );
        assert_eq!(d[1].a, "1 April 2024");
        assert_eq!(
            (d[2].a.as_str(), d[2].b.as_str()),
            ("Premiums by tier", "Premiums and withhold and release")
        );
        assert_eq!(d[3].label, "Tier 1 weekly premium (£)");
        assert_eq!((d[3].a.as_str(), d[3].b.as_str()), ("£20.00", "£25.00"));
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn rows_only_one_side_has_are_listed() {
        let a =
            RuleSet::from_toml(include_str!("../../assets/schemes/blackpool-style.toml")).unwrap();
        let mut b = a.clone();
        b.limiters.cqc.pop();
        b.payments
            .eligible_funding
            .push(crate::records::FundingType::JointFunded);
        b.scoring.max_not_assessed_percent = crate::ratio::Ratio::new(25, 2).unwrap();
        let d = diff(&a, &b);
        let row: Vec<_> = d
            .iter()
            .filter(|x| x.path.starts_with("limiters.cqc[3]"))
            .collect();
        assert_eq!(row.len(), 3);
        assert_eq!(row[2].a, "No tier");
        assert_eq!(row[2].b, "—");
        let funding = d
            .iter()
            .find(|x| x.path == "payments.eligible_funding")
            .unwrap();
        assert_eq!(funding.b, "Council-funded permanent, Jointly funded");
        let threshold = d
            .iter()
            .find(|x| x.path == "scoring.max_not_assessed_percent")
            .unwrap();
        assert_eq!(
            (threshold.a.as_str(), threshold.b.as_str()),
            ("10%", "12.5%")
        );
        // Swapping the sides swaps the values.
        let back = diff(&b, &a);
        assert_eq!(back.len(), d.len());
        assert!(back.iter().zip(&d).all(|(x, y)| x.a == y.b && x.b == y.a));
    }
}
