//! Demo data: a handful of realistic locations scored against the shipped framework pack.

use accredit_shared::calendar::{DateRange, london_date};
use accredit_shared::premium::compute_schedule;
use accredit_shared::ratio::percent_text;
use accredit_shared::records::*;
use accredit_shared::warning::{early_warning, sort_red_first};
use accredit_shared::{Engine, FrameworkPack, PackLibrary, RuleBook, RuleSet};
use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Where the shipped assets are: `ACCREDIT_ASSETS`, or the workspace's `assets/`.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("ACCREDIT_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"))
}

fn date(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).with_context(|| format!("invalid date {y}-{m}-{d}"))
}

/// Answers for every criterion of a pack: `base` everywhere, with a deterministic spread.
fn answers(pack: &FrameworkPack, base: i32, seed: usize) -> BTreeMap<String, Answer> {
    pack.criteria()
        .enumerate()
        .map(|(i, c)| {
            let wobble = match (i * 7 + seed) % 5 {
                0 => -1,
                1 => 1,
                _ => 0,
            };
            (
                c.id.clone(),
                Answer::Score((base + wobble).clamp(c.scale.min, c.scale.max)),
            )
        })
        .collect()
}

/// Loads the assets, builds the demo records and renders a plain-text report.
pub fn run(assets: &Path) -> anyhow::Result<String> {
    let pack_path = assets.join("frameworks/cqc-quality-statements.toml");
    let pack = FrameworkPack::from_toml(
        &std::fs::read_to_string(&pack_path)
            .with_context(|| format!("reading {}", pack_path.display()))?,
    )?;
    let scheme_path = assets.join("schemes/blackpool-style.toml");
    let scheme = RuleSet::from_toml(
        &std::fs::read_to_string(&scheme_path)
            .with_context(|| format!("reading {}", scheme_path.display()))?,
    )?;
    let book = RuleBook::new(vec![scheme])?;

    let today = london_date(chrono::Utc::now());
    let month = accredit_shared::calendar::month_period(today.year(), today.month())
        .context("current month")?;
    let provider = Uuid::from_u128(0xA1);
    let homes = [
        ("Seaview House", 4, None),
        (
            "Promenade Court",
            3,
            Some(CqcRatingValue::RequiresImprovement),
        ),
        ("Stanley Park Lodge", 3, None),
        ("Bispham Gardens", 2, None),
    ];
    let mut locations = Vec::new();
    let mut placements = Vec::new();
    for (i, (name, base, cqc)) in homes.iter().enumerate() {
        let id = Uuid::from_u128(0x100 + i as u128);
        let mut r = LocationRecords {
            location: Location {
                id,
                provider_id: provider,
                cqc_location_id: format!("1-10000000{i}"),
                name: (*name).to_owned(),
                service_type: ServiceType::Residential,
                registered_from: date(2015, 1, 1)?,
                registered_to: None,
            },
            visits: vec![PublishedVisit {
                visit_id: Uuid::from_u128(0x200 + i as u128),
                revision: 1,
                location_id: id,
                visit_type: VisitType::Annual,
                visited_on: accredit_shared::calendar::add_days(today, -60),
                effective_on: accredit_shared::calendar::add_days(today, -40),
                pack_id: pack.id.clone(),
                pack_version: pack.version.clone(),
                answers: answers(&pack, *base, i),
            }],
            cqc_ratings: vec![],
            qualifications: vec![],
            gates: vec![],
            actions: vec![],
        };
        if let Some(rating) = cqc {
            r.cqc_ratings.push(CqcRating {
                id: Uuid::from_u128(0x300 + i as u128),
                location_id: id,
                inspected_on: accredit_shared::calendar::add_days(today, -120),
                published_on: accredit_shared::calendar::add_days(today, -90),
                overall: *rating,
                key_questions: BTreeMap::new(),
            });
        }
        if i == 0 {
            r.qualifications.push(Qualification {
                id: Uuid::from_u128(0x400),
                provider_id: provider,
                kind: QualificationKind::IipGold,
                certificate_ref: "IIP-DEMO-0001".into(),
                issued_on: date(2025, 3, 1)?,
                expires_on: date(2028, 2, 28)?,
                last_surveillance_on: None,
                verified_on: Some(date(2025, 3, 10)?),
                verified_by: Some("Commissioning team".into()),
                covered_locations: vec![id],
            });
        }
        if i == 2 {
            r.gates.push(Gate {
                id: Uuid::from_u128(0x500),
                location_id: id,
                kind: GateKind::S42Enquiry,
                opened_on: accredit_shared::calendar::add_days(today, -10),
                closed_on: None,
                outcome: None,
            });
        }
        for p in 0..3u128 {
            placements.push(Placement {
                id: Uuid::from_u128(0x1000 + (i as u128) * 16 + p),
                location_id: id,
                resident_ref: format!("R{:02}{:02}", i, p),
                funding: if p == 2 {
                    FundingType::SelfFunded
                } else {
                    FundingType::CouncilPermanent
                },
                start: date(2024, 1, 1)?,
                end: None,
                died_on: None,
                base_weekly_rate_pence: 72_500,
                hospital_stays: vec![],
            });
        }
        locations.push(r);
    }

    let mut packs = PackLibrary::new();
    packs.insert(pack)?;
    let engine = Engine::new(&packs, &book);
    let mut out = String::new();
    writeln!(
        out,
        "Accredit demo: the shared rules engine on the shipped framework pack and scheme"
    )?;
    writeln!(
        out,
        "(the HTTP server and portal arrive with the backend issue)\n"
    )?;
    writeln!(out, "Tiers on {today}:")?;
    for r in &locations {
        let det = engine.determine(r, today);
        let tier = det.tier.as_ref().map_or("no tier", |t| t.name.as_str());
        let overall = percent_text(det.scores.as_ref().and_then(|s| s.overall));
        writeln!(
            out,
            "  {:<20} {:<8} overall {:>6}  weekly premium {}  ({:?})",
            r.location.name, tier, overall, det.rate.weekly, det.status
        )?;
        for l in &det.limiters {
            writeln!(out, "      limiter: {}", l.detail)?;
        }
        for g in &det.gates {
            writeln!(
                out,
                "      gate: {:?} open since {} ({:?})",
                g.kind, g.opened_on, g.effect
            )?;
        }
    }
    let mut warnings: Vec<_> = locations
        .iter()
        .map(|r| early_warning(&engine, r, today))
        .collect();
    sort_red_first(&mut warnings);
    writeln!(out, "\nEarly warning (red first):")?;
    for w in &warnings {
        writeln!(
            out,
            "  {:<6} {:<20} {}",
            format!("{:?}", w.light),
            w.location_name,
            w.reasons.join("; ")
        )?;
    }
    let schedule = compute_schedule(&engine, &locations, &placements, month);
    let label = DateRange::month_label(&month).unwrap_or_default();
    writeln!(
        out,
        "\nPayment schedule {label}: {} lines, total {}, on hold {}",
        schedule.lines.len(),
        schedule.total,
        schedule.total_on_hold
    )?;
    for l in &schedule.lines {
        writeln!(
            out,
            "  {}  payable {:>3} days {:>8}   on hold {:>3} days {:>8}",
            l.resident_ref,
            l.days_payable,
            l.amount.to_string(),
            l.days_on_hold,
            l.on_hold.to_string()
        )?;
    }
    writeln!(
        out,
        "  excluded: {} placement(s) (self-funded)",
        schedule.excluded.len()
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_report_shows_tiers_warnings_and_payments() {
        let report = super::run(&super::assets_dir()).unwrap();
        assert!(report.contains("Seaview House        Gold"), "{report}");
        assert!(report.contains("S42Enquiry open since"));
        assert!(report.contains("Red    Bispham Gardens"));
        assert!(report.contains("Payment schedule"));
        assert!(report.contains("excluded: 4 placement(s)"));
    }

    #[test]
    fn a_missing_assets_folder_is_a_clear_error() {
        let err = super::run(std::path::Path::new("/nonexistent")).unwrap_err();
        assert!(format!("{err:#}").contains("cqc-quality-statements.toml"));
    }
}
