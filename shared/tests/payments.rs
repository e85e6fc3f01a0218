//! Premium computation (DOMAIN.md §6), withhold/release and early warning (§7).

mod common;
use accredit_shared::calendar::DateRange;
use accredit_shared::determination::PremiumStatus;
use accredit_shared::premium::{IssuedLine, PaymentLine, Schedule, adjustments, compute_schedule};
use accredit_shared::records::*;
use accredit_shared::scheme::RuleBook;
use accredit_shared::warning::{Light, early_warning, sort_red_first};
use accredit_shared::{Engine, Pence};
use common::*;

fn period(from: chrono::NaiveDate, to: chrono::NaiveDate) -> DateRange {
    DateRange::new(from, to).unwrap()
}

fn schedule(
    r: &LocationRecords,
    placements: &[Placement],
    p: DateRange,
    book: &RuleBook,
) -> Schedule {
    let lib = library();
    compute_schedule(
        &Engine::new(&lib, book),
        std::slice::from_ref(r),
        placements,
        p,
    )
}

fn issued(s: &Schedule) -> Vec<IssuedLine> {
    s.lines
        .iter()
        .map(|l| IssuedLine {
            placement_id: l.placement_id,
            period: l.period,
            amount: l.amount,
            on_hold: l.on_hold,
        })
        .collect()
}

fn only_line(s: &Schedule) -> &PaymentLine {
    assert_eq!(s.lines.len(), 1, "{:#?}", s.lines);
    &s.lines[0]
}

/// DOMAIN.md's worked example: Silver with valid IIP, one resident, 10 days, Gold from day 5.
fn worked_example() -> (LocationRecords, Vec<Placement>, DateRange) {
    let mut r = records();
    r.visits
        .push(visit(1, d(2026, 1, 10), d(2026, 2, 1), SILVER));
    r.visits.push(visit(2, d(2026, 5, 20), d(2026, 6, 5), GOLD));
    r.qualifications.push(qualification(
        1,
        QualificationKind::IipStandard,
        d(2025, 6, 1),
        d(2028, 5, 31),
    ));
    let placements = vec![placement(1, d(2025, 3, 1), None)];
    (r, placements, period(d(2026, 6, 1), d(2026, 6, 10)))
}

#[test]
fn worked_example_pays_one_line_of_forty_pounds() {
    let (r, ps, p) = worked_example();
    let s = schedule(&r, &ps, p, &book());
    let line = only_line(&s);
    assert_eq!(line.amount, Pence(4000));
    assert_eq!(line.days_payable, 10);
    assert_eq!(line.segments.len(), 2);
    let (a, b) = (&line.segments[0], &line.segments[1]);
    assert_eq!(
        (a.covers, a.tier.as_deref(), a.weekly),
        (
            period(d(2026, 6, 1), d(2026, 6, 4)),
            Some("Silver"),
            Pence(2500)
        )
    );
    assert_eq!(
        (a.tier_weekly, a.qualification_weekly),
        (Pence(2000), Pence(500))
    );
    assert_eq!(
        (b.covers, b.tier.as_deref(), b.weekly),
        (
            period(d(2026, 6, 5), d(2026, 6, 10)),
            Some("Gold"),
            Pence(3000)
        )
    );
    assert_eq!(line.determinations.len(), 2);
    assert_eq!(s.determinations.len(), 2);
    assert_eq!(s.total, Pence(4000));
}

#[test]
fn worked_example_with_an_s42_enquiry_from_day_8() {
    let (mut r, ps, p) = worked_example();
    r.gates
        .push(gate(1, GateKind::S42Enquiry, d(2026, 6, 8), None));
    let s = schedule(&r, &ps, p, &book());
    let line = only_line(&s);
    assert_eq!(line.on_hold, Pence(1286));
    assert_eq!(line.amount, Pence(2714));
    assert_eq!((line.days_payable, line.days_on_hold), (7, 3));
    assert_eq!(s.total_on_hold, Pence(1286));
}

#[test]
fn held_premium_is_released_or_forfeited_by_adjustment() {
    let (mut r, ps, p) = worked_example();
    r.gates
        .push(gate(1, GateKind::S42Enquiry, d(2026, 6, 8), None));
    let issued = issued(&schedule(&r, &ps, p, &book()));

    // Not substantiated: the held £12.86 is released by an adjustment line.
    r.gates[0].closed_on = Some(d(2026, 7, 1));
    r.gates[0].outcome = Some(GateOutcome::NotSubstantiated);
    let again = schedule(&r, &ps, p, &book());
    assert_eq!(only_line(&again).days_released, 3);
    let adj = adjustments(&issued, &again).unwrap();
    assert_eq!(adj.len(), 1);
    assert_eq!(
        (adj[0].previously_issued, adj[0].recomputed, adj[0].delta),
        (Pence(2714), Pence(4000), Pence(1286))
    );
    assert_eq!(adj[0].on_hold_delta, Pence(-1286));

    // Substantiated: forfeited, so nothing more is paid and nothing stays on hold.
    r.gates[0].outcome = Some(GateOutcome::Substantiated);
    let forfeited = schedule(&r, &ps, p, &book());
    assert_eq!(only_line(&forfeited).days_forfeited, 3);
    let adj = adjustments(&issued, &forfeited).unwrap();
    assert_eq!(
        (adj[0].delta, adj[0].on_hold_delta),
        (Pence(0), Pence(-1286))
    );
}

#[test]
fn a_suspending_gate_opening_and_closing_inside_a_period() {
    let mut r = records();
    r.visits.push(visit(1, d(2026, 1, 10), d(2026, 2, 1), GOLD));
    // Embargo 10–14 June; premium resumes 12 weeks after 15 June = 7 September.
    r.gates.push(gate(
        1,
        GateKind::PlacementEmbargo,
        d(2026, 6, 10),
        Some(d(2026, 6, 15)),
    ));
    let ps = vec![placement(1, d(2025, 1, 1), None)];
    let june = schedule(&r, &ps, period(d(2026, 6, 1), d(2026, 6, 30)), &book());
    let line = only_line(&june);
    assert_eq!((line.days_payable, line.days_suspended), (9, 21));
    assert_eq!(line.amount, Pence(3214)); // 2500 × 9 / 7 = 3214.29
    let sept = schedule(&r, &ps, period(d(2026, 9, 1), d(2026, 9, 30)), &book());
    let line = only_line(&sept);
    assert_eq!((line.days_suspended, line.days_payable), (6, 24));
    assert_eq!(line.segments[1].covers.from, d(2026, 9, 7));
}

#[test]
fn placements_pay_only_for_their_own_days() {
    let mut r = records();
    r.visits.push(visit(1, d(2026, 1, 10), d(2026, 2, 1), GOLD));
    let mut starts = placement(1, d(2026, 6, 20), None);
    let mut died = placement(2, d(2025, 1, 1), Some(d(2026, 6, 30)));
    died.died_on = Some(d(2026, 6, 5));
    let mut hospital = placement(3, d(2025, 1, 1), None);
    hospital.hospital_stays.push(HospitalStay {
        from: d(2026, 5, 10),
        to: Some(d(2026, 6, 12)),
    });
    let mut self_funder = placement(4, d(2025, 1, 1), None);
    self_funder.funding = FundingType::SelfFunded;
    let mut chc = placement(5, d(2025, 1, 1), None);
    chc.funding = FundingType::NhsContinuingHealthcare;
    let ended = placement(6, d(2025, 1, 1), Some(d(2026, 5, 31)));
    starts.resident_ref = "R-start".into();
    let ps = vec![starts, died, hospital, self_funder, chc, ended];
    let s = schedule(&r, &ps, period(d(2026, 6, 1), d(2026, 6, 30)), &book());
    let by_id = |n: u128| s.lines.iter().find(|l| l.placement_id == id(6000 + n));
    assert_eq!(by_id(1).unwrap().days_payable, 11);
    assert_eq!(by_id(2).unwrap().days_payable, 5, "nothing after death");
    // Stay from 10 May: days 1–28 paid (to 6 June), 7–12 June unpaid.
    let h = by_id(3).unwrap();
    assert_eq!((h.days_payable, h.days_unpaid_absence), (24, 6));
    assert!(by_id(4).is_none() && by_id(5).is_none() && by_id(6).is_none());
    assert_eq!(
        s.excluded.len(),
        2,
        "self-funder and CHC are listed as excluded: {:?}",
        s.excluded
    );
    assert_eq!(s.lines.len(), 3);
}

#[test]
fn rule_set_change_mid_period_is_not_retrospective() {
    let first = scheme_from(d(2000, 1, 1));
    let mut raise = scheme_from(d(2026, 6, 16));
    raise.version = "2026.2".into();
    raise.tiers[0].weekly_premium_pence = 3500;
    let book = RuleBook::new(vec![first, raise]).unwrap();
    let mut r = records();
    r.visits.push(visit(1, d(2026, 1, 10), d(2026, 2, 1), GOLD));
    let s = schedule(
        &r,
        &[placement(1, d(2025, 1, 1), None)],
        period(d(2026, 6, 1), d(2026, 6, 30)),
        &book,
    );
    let line = only_line(&s);
    // 15 days at £25 and 15 at £35: (37500 + 52500) / 7 = 12857.14
    assert_eq!(line.amount, Pence(12857));
    assert_eq!(line.segments[1].covers.from, d(2026, 6, 16));
}

#[test]
fn an_upheld_appeal_yields_adjustment_lines_not_edits() {
    let mut r = records();
    r.visits
        .push(visit(1, d(2026, 4, 20), d(2026, 5, 1), BRONZE));
    let ps = vec![
        placement(1, d(2025, 1, 1), None),
        placement(2, d(2026, 5, 16), None),
    ];
    let may = period(d(2026, 5, 1), d(2026, 5, 31));
    let issued_schedule = schedule(&r, &ps, may, &book());
    let issued = issued(&issued_schedule);
    assert_eq!(issued[0].amount, Pence(6643)); // 1500 × 31 / 7

    // The appeal is upheld in July: revision 2 scores Silver, backdated to the publication date.
    let mut upheld = visit(1, d(2026, 4, 20), d(2026, 5, 1), SILVER);
    upheld.revision = 2;
    r.visits.push(upheld);
    let recomputed = schedule(&r, &ps, may, &book());
    let adj = adjustments(&issued, &recomputed).unwrap();
    assert_eq!(adj.len(), 2);
    assert_eq!(
        (adj[0].previously_issued, adj[0].recomputed, adj[0].delta),
        (Pence(6643), Pence(8857), Pence(2214))
    );
    assert_eq!(adj[1].delta, Pence(4571 - 3429)); // 16 days: 2000×16/7 = 45.71, 1500×16/7 = 34.29
    // What was issued is untouched: adjusting twice changes nothing more.
    let mut all = issued.clone();
    all.extend(adj.iter().map(|a| IssuedLine {
        placement_id: a.placement_id,
        period: a.period,
        amount: a.delta,
        on_hold: a.on_hold_delta,
    }));
    assert!(adjustments(&all, &recomputed).unwrap().is_empty());
    // Lines for another period are refused.
    let mut wrong = issued.clone();
    wrong[0].period = period(d(2026, 6, 1), d(2026, 6, 30));
    assert!(adjustments(&wrong, &recomputed).is_err());
}

#[test]
fn early_warning_lights() {
    let book = book();
    let lib = library();
    let engine = Engine::new(&lib, &book);
    let day = d(2026, 6, 1);

    let mut green = records();
    green
        .visits
        .push(visit(1, d(2026, 1, 10), d(2026, 2, 1), GOLD));
    let w = early_warning(&engine, &green, day);
    assert_eq!(
        (w.light, w.reasons.len()),
        (Light::Green, 0),
        "{:?}",
        w.reasons
    );

    let mut ri = green.clone();
    ri.cqc_ratings.push(cqc(
        1,
        CqcRatingValue::RequiresImprovement,
        d(2026, 1, 1),
        d(2026, 5, 1),
    ));
    let w = early_warning(&engine, &ri, day);
    assert_eq!(w.light, Light::Amber);
    assert!(
        w.reasons
            .iter()
            .any(|r| r.contains("tier dropped from Gold to Silver on 1 May 2026")),
        "the reason names the day the rating took the tier down: {:?}",
        w.reasons
    );
    assert!(w.reasons.iter().any(|r| r.contains("Requires improvement")));
    // "In effect since" is the first day of the current tier and premium, not of the visit.
    assert_eq!(engine.in_effect_since(&ri, day), d(2026, 5, 1));
    assert_eq!(engine.in_effect_since(&green, day), d(2026, 2, 1));
    assert_eq!(engine.tier_since(&ri, day), d(2026, 5, 1));

    let mut overdue = green.clone();
    overdue
        .actions
        .push(action(1, Priority::Low, d(2026, 5, 1)));
    assert_eq!(early_warning(&engine, &overdue, day).light, Light::Amber);
    assert_eq!(
        early_warning(&engine, &green, d(2027, 1, 11)).light,
        Light::Amber,
        "visit overdue"
    );

    let mut gated = green.clone();
    gated
        .gates
        .push(gate(1, GateKind::S42Enquiry, d(2026, 5, 20), None));
    let w = early_warning(&engine, &gated, day);
    assert_eq!(w.light, Light::Red);

    let mut critical = green.clone();
    critical.visits[0]
        .answers
        .insert("safe.c1".into(), Answer::Score(1));
    let w = early_warning(&engine, &critical, day);
    assert_eq!(w.light, Light::Red);
    assert!(w.reasons[0].contains("critical"), "{:?}", w.reasons);

    let mut inadequate = green.clone();
    inadequate.cqc_ratings.push(cqc(
        2,
        CqcRatingValue::Inadequate,
        d(2026, 4, 1),
        d(2026, 5, 1),
    ));
    assert_eq!(early_warning(&engine, &inadequate, day).light, Light::Red);

    let mut list: Vec<_> = [green, ri, gated]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            r.location.name = format!("Home {i}");
            early_warning(&engine, &r, day)
        })
        .collect();
    sort_red_first(&mut list);
    let lights: Vec<Light> = list.iter().map(|w| w.light).collect();
    assert_eq!(lights, [Light::Red, Light::Amber, Light::Green]);
}

#[test]
fn statuses_cover_every_day() {
    let (mut r, ps, p) = worked_example();
    r.gates
        .push(gate(1, GateKind::S42Enquiry, d(2026, 6, 8), None));
    let s = schedule(&r, &ps, p, &book());
    let line = only_line(&s);
    let counted: u32 = line.segments.iter().map(|s| s.days_counted).sum();
    assert_eq!(counted, 10);
    assert_eq!(line.segments.last().unwrap().status, PremiumStatus::OnHold);
}
