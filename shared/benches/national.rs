//! National-scale benchmark: 15,000 locations with a year of history each (two visits against the
//! shipped 99-criterion pack, a CQC rating, qualifications, some gates and actions) and 400,000
//! placements. Measures determining every tier on one day and computing a month's schedule.
//!
//! `taskset -c 0 cargo bench -p accredit-shared --bench national` (one core).

mod support;

use accredit_shared::Engine;
use accredit_shared::premium::compute_schedule;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use support::nation::nation;

fn bench(c: &mut Criterion) {
    let n = match nation() {
        Ok(n) => n,
        Err(e) => panic!("generating the nation: {e}"),
    };
    let engine = Engine::new(&n.packs, &n.book);
    let s = compute_schedule(&engine, &n.locations, &n.placements, n.month);
    let tiered = n
        .locations
        .iter()
        .filter(|r| engine.determine(r, n.month.to).tier.is_some())
        .count();
    println!(
        "data: {} locations, {} visits, {} placements; {} locations tiered on {}; schedule {}: {} lines, {} excluded, {} determinations, total {}, on hold {}",
        n.locations.len(),
        n.locations.iter().map(|r| r.visits.len()).sum::<usize>(),
        n.placements.len(),
        tiered,
        n.month.to,
        n.month.month_label().unwrap_or_default(),
        s.lines.len(),
        s.excluded.len(),
        s.determinations.len(),
        s.total,
        s.total_on_hold
    );
    let mut group = c.benchmark_group("national");
    group.sample_size(10);
    group.bench_function("determine all 15k tiers on one day", |b| {
        b.iter(|| {
            n.locations
                .iter()
                .map(|r| engine.determine(black_box(r), n.month.to).rank() as u64)
                .sum::<u64>()
        })
    });
    group.bench_function("month schedule, 15k locations, 400k placements", |b| {
        b.iter(|| {
            compute_schedule(
                &engine,
                black_box(&n.locations),
                black_box(&n.placements),
                n.month,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
