//! Property tests of the rules engine over randomly generated location histories.

mod common;
use accredit_shared::calendar::{DateRange, add_days};
use accredit_shared::premium::{compute_schedule, determinations_over};
use accredit_shared::ratio::round_half_up_div;
use accredit_shared::records::*;
use accredit_shared::scheme::{Rescale, RuleBook};
use accredit_shared::{Engine, PackLibrary};
use chrono::NaiveDate;
use common::*;
use proptest::prelude::*;

/// A small deterministic generator, so one proptest seed describes a whole history.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn day(&mut self, from: NaiveDate, span: u64) -> NaiveDate {
        add_days(from, self.below(span) as i64)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

struct World {
    records: LocationRecords,
    placements: Vec<Placement>,
    book: RuleBook,
    period: DateRange,
}

fn world(seed: u64) -> World {
    let mut g = Gen(seed);
    let base = d(2025, 6, 1);
    let from = g.day(d(2026, 5, 1), 60);
    let period = DateRange::new(from, add_days(from, g.below(62) as i64)).unwrap();
    let mut r = records();
    for v in 0..g.below(4) {
        let visited = g.day(base, 420);
        let mut pattern = [0; 4];
        for s in &mut pattern {
            *s = 1 + g.below(4) as i32;
        }
        let mut visit = visit(
            v as u128 % 2,
            visited,
            add_days(visited, g.below(40) as i64),
            pattern,
        );
        visit.revision = 1 + v as u32 / 2;
        for c in ["safe.c2", "caring.c3", "responsive.c4"] {
            match g.below(10) {
                0 => drop(visit.answers.insert(c.into(), Answer::NotApplicable)),
                1 => drop(visit.answers.insert(c.into(), Answer::NotAssessed)),
                _ => {}
            }
        }
        r.visits.push(visit);
    }
    let ratings = [
        CqcRatingValue::Inadequate,
        CqcRatingValue::RequiresImprovement,
        CqcRatingValue::Good,
        CqcRatingValue::Outstanding,
    ];
    for n in 0..g.below(3) {
        let published = g.day(base, 420);
        let mut rating = cqc(
            n as u128,
            g.pick(&ratings),
            add_days(published, -30),
            published,
        );
        if g.chance(30) {
            rating
                .key_questions
                .insert(KeyQuestion::Safe, g.pick(&ratings));
        }
        r.cqc_ratings.push(rating);
    }
    let kinds = [
        QualificationKind::IipStandard,
        QualificationKind::IipGold,
        QualificationKind::Iso9001,
    ];
    for n in 0..g.below(4) {
        let issued = g.day(d(2024, 1, 1), 900);
        let mut q = qualification(
            n as u128,
            g.pick(&kinds),
            issued,
            add_days(issued, 200 + g.below(900) as i64),
        );
        q.verified_on = if g.chance(85) {
            Some(add_days(issued, g.below(60) as i64))
        } else {
            None
        };
        q.last_surveillance_on = g.chance(60).then(|| add_days(issued, g.below(300) as i64));
        if g.chance(15) {
            q.covered_locations.clear();
        }
        r.qualifications.push(q);
    }
    let gate_kinds = [
        GateKind::S42Enquiry,
        GateKind::LargeScaleEnquiry,
        GateKind::PlacementEmbargo,
        GateKind::ContractDefault,
    ];
    let outcomes = [
        None,
        Some(GateOutcome::Substantiated),
        Some(GateOutcome::NotSubstantiated),
    ];
    for n in 0..g.below(3) {
        let opened = g.day(d(2026, 1, 1), 220);
        let closed = g
            .chance(60)
            .then(|| add_days(opened, 1 + g.below(60) as i64));
        let mut gt = gate(n as u128, g.pick(&gate_kinds), opened, closed);
        gt.outcome = g.pick(&outcomes);
        r.gates.push(gt);
    }
    let priorities = [Priority::Low, Priority::Medium, Priority::High];
    for n in 0..g.below(3) {
        let mut a = action(n as u128, g.pick(&priorities), g.day(d(2026, 1, 1), 220));
        a.completed_on = g
            .chance(50)
            .then(|| add_days(a.due_on, g.below(60) as i64 - 20));
        r.actions.push(a);
    }
    if g.chance(10) {
        r.location.registered_to = Some(g.day(d(2026, 5, 1), 90));
    }
    let funding = [
        FundingType::CouncilPermanent,
        FundingType::CouncilPermanent,
        FundingType::CouncilShortTerm,
        FundingType::SelfFunded,
    ];
    let mut placements = Vec::new();
    for n in 0..1 + g.below(4) {
        let start = g.day(d(2026, 3, 1), 150);
        let end = g.chance(30).then(|| add_days(start, g.below(120) as i64));
        let mut p = placement(n as u128, start, end);
        p.funding = g.pick(&funding);
        if g.chance(10) {
            p.died_on = Some(add_days(start, g.below(100) as i64));
        }
        if g.chance(30) {
            let from = g.day(start, 90);
            p.hospital_stays.push(HospitalStay {
                from,
                to: g.chance(70).then(|| add_days(from, g.below(50) as i64)),
            });
        }
        placements.push(p);
    }
    let mut sets = vec![scheme_from(d(2000, 1, 1))];
    if g.chance(40) {
        let mut later = scheme_from(g.day(period.from, period.days() as u64 + 5));
        later.version = "later".into();
        later.tiers[0].weekly_premium_pence = 3000 + g.below(1000) as i64;
        later.tiers[1].min_overall_percent =
            accredit_shared::ratio::Ratio::integer(70 + g.below(10) as i128);
        later.gates.sustainability_weeks = g.below(20) as u32;
        later.qualifications.tier_step_up = g.chance(50);
        later.payments.hospital_absence_paid_days = g.below(40) as u32;
        if g.chance(50) {
            later.scoring.rescale = Rescale::Ratio;
        }
        sets.push(later);
    }
    World {
        records: r,
        placements,
        book: RuleBook::new(sets).unwrap(),
        period,
    }
}

fn lib() -> PackLibrary {
    library()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Raising any one score never lowers the tier, whatever else the location's history holds.
    #[test]
    fn raising_a_score_never_lowers_the_tier(seed in any::<u64>(), which in 0usize..20, by in 1i32..4, day in 0i64..400) {
        let w = world(seed);
        let lib = lib();
        let engine = Engine::new(&lib, &w.book);
        let day = add_days(d(2025, 9, 1), day);
        let before = engine.determine(&w.records, day);
        let mut raised = w.records.clone();
        let id = format!("{}.c{}", DOMAINS[which / 4], which % 4 + 1);
        for v in &mut raised.visits {
            if let Some(Answer::Score(s)) = v.answers.get(&id).copied() {
                v.answers.insert(id.clone(), Answer::Score((s + by).min(4)));
            }
        }
        let after = engine.determine(&raised, day);
        prop_assert!(after.rank() >= before.rank(), "{} → {} raising {id}", before.rank(), after.rank());
    }

    /// A line never exceeds the weekly cap × days ÷ 7.
    #[test]
    fn a_line_never_exceeds_the_cap(seed in any::<u64>()) {
        let w = world(seed);
        let lib = lib();
        let engine = Engine::new(&lib, &w.book);
        let s = compute_schedule(&engine, std::slice::from_ref(&w.records), &w.placements, w.period);
        let cap = w.book.sets().iter().map(|r| r.payments.weekly_cap_pence).max().unwrap() as i128;
        for line in &s.lines {
            let limit = round_half_up_div(cap * line.days_payable as i128, 7) as i64;
            prop_assert!(line.amount.0 <= limit, "{} > {limit}", line.amount.0);
            let held = round_half_up_div(cap * line.days_on_hold as i128, 7) as i64;
            prop_assert!(line.on_hold.0 <= held);
            prop_assert!(line.amount.0 >= 0 && line.on_hold.0 >= 0);
        }
    }

    /// Splitting a period in two and adding the lines differs from the whole by at most a penny a line.
    #[test]
    fn splitting_a_period_moves_at_most_a_penny_per_line(seed in any::<u64>(), at in 0u32..62) {
        let w = world(seed);
        prop_assume!(w.period.days() >= 2);
        let split = add_days(w.period.from, (at % (w.period.days() - 1)) as i64);
        let first = DateRange::new(w.period.from, split).unwrap();
        let second = DateRange::new(add_days(split, 1), w.period.to).unwrap();
        let lib = lib();
        let engine = Engine::new(&lib, &w.book);
        let one = std::slice::from_ref(&w.records);
        let whole = compute_schedule(&engine, one, &w.placements, w.period);
        let a = compute_schedule(&engine, one, &w.placements, first);
        let b = compute_schedule(&engine, one, &w.placements, second);
        for line in &whole.lines {
            let part = |s: &accredit_shared::premium::Schedule| {
                s.lines.iter().find(|l| l.placement_id == line.placement_id).map_or(0, |l| l.amount.0)
            };
            let diff = (part(&a) + part(&b) - line.amount.0).abs();
            prop_assert!(diff <= 1, "whole {} vs {} + {}", line.amount.0, part(&a), part(&b));
        }
    }

    /// The schedule does not depend on the order inputs are given in.
    #[test]
    fn results_do_not_depend_on_input_order(seed in any::<u64>(), shuffle in any::<u64>()) {
        let w = world(seed);
        let lib = lib();
        let engine = Engine::new(&lib, &w.book);
        let mut g = Gen(shuffle);
        let mut r = w.records.clone();
        fn mix<T>(g: &mut Gen, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                v.swap(i, g.below(i as u64 + 1) as usize);
            }
        }
        mix(&mut g, &mut r.visits);
        mix(&mut g, &mut r.cqc_ratings);
        mix(&mut g, &mut r.qualifications);
        mix(&mut g, &mut r.gates);
        mix(&mut g, &mut r.actions);
        let mut ps = w.placements.clone();
        mix(&mut g, &mut ps);
        let mut other = records();
        other.location.id = id(77);
        let mut a_locs = vec![w.records.clone(), other.clone()];
        let mut b_locs = vec![other, r];
        mix(&mut g, &mut a_locs);
        mix(&mut g, &mut b_locs);
        let a = compute_schedule(&engine, &a_locs, &w.placements, w.period);
        let b = compute_schedule(&engine, &b_locs, &ps, w.period);
        prop_assert_eq!(a, b);
    }

    /// Determining once per run of unchanged inputs equals determining every day.
    #[test]
    fn runs_equal_daily_determination(seed in any::<u64>()) {
        let w = world(seed);
        let lib = lib();
        let engine = Engine::new(&lib, &w.book);
        let runs = determinations_over(&engine, &w.records, w.period);
        prop_assert_eq!(runs.first().unwrap().covers.from, w.period.from);
        prop_assert_eq!(runs.last().unwrap().covers.to, w.period.to);
        for run in &runs {
            for day in run.covers.iter_days() {
                let daily = engine.determine(&w.records, day);
                let seg = &run.determination;
                prop_assert_eq!((&daily.tier, &daily.rate, daily.status, &daily.rule_set), (&seg.tier, &seg.rate, seg.status, &seg.rule_set), "on {}", day);
            }
        }
    }
}
