//! When visits fall due: the annual interval, a follow-up after a poor outcome, an overdue
//! high-priority action and an open gate, each answered by a visit made after it.

mod common;
use accredit_shared::Engine;
use accredit_shared::planning::{DueReason, due_visits};
use accredit_shared::records::*;
use common::*;

fn due(records: &LocationRecords, day: chrono::NaiveDate) -> Vec<(DueReason, chrono::NaiveDate)> {
    let lib = library();
    let book = book();
    let engine = Engine::new(&lib, &book);
    due_visits(&engine, records, day)
        .into_iter()
        .map(|d| (d.reason, d.due_on))
        .collect()
}

#[test]
fn a_good_visit_makes_the_next_annual_visit_due_within_twelve_months() {
    let mut r = records();
    r.visits
        .push(visit(1, d(2026, 3, 10), d(2026, 3, 20), GOLD));
    assert_eq!(
        due(&r, d(2026, 6, 1)),
        vec![(
            DueReason::Annual {
                last_visit: d(2026, 3, 10)
            },
            d(2027, 3, 10)
        )]
    );
}

#[test]
fn a_location_never_visited_is_due_now() {
    let r = records();
    assert_eq!(
        due(&r, d(2026, 6, 1)),
        vec![(DueReason::NeverVisited, d(2026, 6, 1))]
    );
}

#[test]
fn a_poor_outcome_calls_for_a_follow_up_six_months_on_until_the_next_visit() {
    let mut r = records();
    r.visits
        .push(visit(1, d(2026, 3, 10), d(2026, 3, 20), NONE));
    assert_eq!(
        due(&r, d(2026, 6, 1)),
        vec![(
            DueReason::PoorOutcome {
                visited_on: d(2026, 3, 10)
            },
            d(2026, 9, 10)
        )]
    );
    // The follow-up visit, good this time: only the annual visit is due.
    r.visits
        .push(visit(2, d(2026, 9, 1), d(2026, 9, 8), SILVER));
    assert_eq!(
        due(&r, d(2026, 10, 1)),
        vec![(
            DueReason::Annual {
                last_visit: d(2026, 9, 1)
            },
            d(2027, 9, 1)
        )]
    );
}

#[test]
fn an_overdue_high_priority_action_calls_for_a_follow_up_and_a_low_one_does_not() {
    let mut r = records();
    r.visits
        .push(visit(1, d(2026, 3, 10), d(2026, 3, 20), GOLD));
    r.actions.push(action(1, Priority::Low, d(2026, 4, 30)));
    assert!(matches!(
        due(&r, d(2026, 6, 1))[0].0,
        DueReason::Annual { .. }
    ));
    r.actions.push(action(2, Priority::High, d(2026, 5, 15)));
    assert_eq!(
        due(&r, d(2026, 6, 1)),
        vec![(
            DueReason::OverdueAction {
                due_on: d(2026, 5, 15)
            },
            d(2026, 5, 30)
        )]
    );
    // Not yet overdue on its due day.
    assert!(matches!(
        due(&r, d(2026, 5, 15))[0].0,
        DueReason::Annual { .. }
    ));
}

#[test]
fn an_open_gate_calls_for_a_concern_led_visit_within_two_weeks() {
    let mut r = records();
    r.visits
        .push(visit(1, d(2026, 3, 10), d(2026, 3, 20), GOLD));
    r.gates
        .push(gate(1, GateKind::S42Enquiry, d(2026, 6, 3), None));
    let list = due(&r, d(2026, 6, 5));
    assert_eq!(
        list,
        vec![(
            DueReason::GateOpened {
                gate: GateKind::S42Enquiry,
                opened_on: d(2026, 6, 3)
            },
            d(2026, 6, 17)
        )]
    );
    // A visit after the gate opened answers it, though the gate stays open.
    r.visits
        .push(visit(2, d(2026, 6, 10), d(2026, 6, 12), GOLD));
    assert!(matches!(
        due(&r, d(2026, 6, 20))[0].0,
        DueReason::Annual { .. }
    ));
    // A location whose registration ended needs nothing.
    r.location.registered_to = Some(d(2026, 6, 30));
    assert!(due(&r, d(2026, 7, 1)).is_empty());
}
