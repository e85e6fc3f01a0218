//! The summary, conflict and sync-centre views rendered to HTML with `dioxus-ssr`.

use std::collections::BTreeMap;

use accredit_app::caseload::order_by_risk;
use accredit_app::store::{ItemKind, OutboxEntry, OutboxState};
use accredit_app::sync_client::SyncProgress;
use accredit_app::ui::views::{ChecklistView, ConflictList, SummaryPanel, SyncCentreView};
use accredit_app::workspace::{LiveSummary, SHIPPED_PACK, SHIPPED_RULES, SignOffCheck, Unanswered};
use accredit_shared::determination::indicative_tier;
use accredit_shared::records::Answer;
use accredit_shared::scoring::score;
use accredit_shared::visit::{Author, Conflict, ConflictingValue};
use accredit_shared::{FrameworkPack, RuleSet};
use dioxus::prelude::*;
use uuid::Uuid;

fn summary_of(answers: &BTreeMap<String, Answer>) -> LiveSummary {
    let pack = FrameworkPack::from_toml(SHIPPED_PACK).unwrap();
    let rules = RuleSet::from_toml(SHIPPED_RULES).unwrap();
    let scores = score(&pack, answers, &rules.scoring);
    LiveSummary {
        indicative: indicative_tier(&scores, &rules),
        scores,
        rule_set: format!("{} {}", rules.name, rules.version),
    }
}

fn all_answered(f: impl Fn(usize, i32, i32) -> Answer) -> BTreeMap<String, Answer> {
    let pack = FrameworkPack::from_toml(SHIPPED_PACK).unwrap();
    pack.criteria()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), f(i, c.scale.min, c.scale.max)))
        .collect()
}

#[test]
fn the_summary_shows_the_engines_percentages_and_tier() {
    let top = summary_of(&all_answered(|_, _, max| Answer::Score(max)));
    let html = dioxus_ssr::render_element(rsx! { SummaryPanel { summary: top.clone() } });
    assert!(html.contains(r#"id="overall-percent">100.0%<"#), "{html}");
    assert!(html.contains(r#"id="indicative-tier">Gold<"#), "{html}");
    for d in &top.scores.domains {
        assert!(
            html.contains(&format!("<td>{}</td><td>100.0%</td>", d.title)),
            "{} missing",
            d.title
        );
    }
    // One critical criterion failed caps the tier, and the panel says why.
    let pack = FrameworkPack::from_toml(SHIPPED_PACK).unwrap();
    let critical = pack.criteria().find(|c| c.critical).unwrap().id.clone();
    let mut answers = all_answered(|_, _, max| Answer::Score(max));
    answers.insert(critical.clone(), Answer::Score(1));
    let capped = summary_of(&answers);
    let html = dioxus_ssr::render_element(rsx! { SummaryPanel { summary: capped.clone() } });
    let tier = capped
        .indicative
        .tier
        .as_ref()
        .map_or("No tier".to_owned(), |t| t.name.clone());
    assert_ne!(tier, "Gold");
    assert!(
        html.contains(&format!(r#"id="indicative-tier">{tier}<"#)),
        "{html}"
    );
    assert!(
        html.contains("critical criteria failed") && html.contains(&critical),
        "{html}"
    );
    // Nothing scored: no percentage and no tier.
    let empty = summary_of(&BTreeMap::new());
    let html = dioxus_ssr::render_element(rsx! { SummaryPanel { summary: empty } });
    assert!(
        html.contains(r#"id="overall-percent">—<"#) && html.contains(">No tier<"),
        "{html}"
    );
}

#[test]
fn a_conflict_shows_both_values_with_their_authors() {
    let who = |name: &str| {
        Some(Author {
            user_id: Uuid::new_v4(),
            name: name.into(),
        })
    };
    let conflict = Conflict {
        path: vec![
            "results".into(),
            Uuid::new_v4().to_string(),
            "answer".into(),
        ],
        criterion: Some("safe.medicines.mar-accuracy".into()),
        values: vec![
            ConflictingValue {
                value: "3".into(),
                author: who("Mo Patel"),
                actor: "aa".into(),
            },
            ConflictingValue {
                value: "not_applicable".into(),
                author: who("Sam Jones"),
                actor: "bb".into(),
            },
        ],
    };
    let html = dioxus_ssr::render_element(rsx! {
        ConflictList { conflicts: vec![(conflict, "MAR charts are accurate".to_owned())] }
    });
    assert!(
        html.contains("Two different values for MAR charts are accurate"),
        "{html}"
    );
    assert!(
        html.contains("<strong>3</strong> recorded by Mo Patel"),
        "{html}"
    );
    assert!(
        html.contains("<strong>N/A</strong> recorded by Sam Jones"),
        "{html}"
    );
    let none = dioxus_ssr::render_element(rsx! { ConflictList { conflicts: vec![] } });
    assert!(none.contains(r#"id="no-conflicts""#));
}

fn entry(
    kind: ItemKind,
    item: &str,
    state: OutboxState,
    reason: Option<&str>,
    receipt: Option<&str>,
) -> OutboxEntry {
    OutboxEntry {
        kind,
        item: item.into(),
        label: format!("{item} label"),
        state,
        reason: reason.map(str::to_owned),
        receipt: receipt.map(str::to_owned),
        bytes_total: if kind == ItemKind::Photo {
            2_000_000
        } else {
            0
        },
        bytes_done: if kind == ItemKind::Photo { 500_000 } else { 0 },
        updated_at: "2026-11-23T10:00:00Z".into(),
    }
}

#[test]
fn the_sync_centre_shows_each_state_with_receipt_reason_and_progress() {
    let entries = vec![
        entry(ItemKind::Visit, "v1", OutboxState::LocalOnly, None, None),
        entry(ItemKind::Visit, "v2", OutboxState::Queued, None, None),
        entry(ItemKind::Photo, "p1", OutboxState::Sent, None, None),
        entry(
            ItemKind::Visit,
            "v3",
            OutboxState::Failed,
            Some("The server refused: the visit moved location"),
            None,
        ),
        entry(
            ItemKind::Visit,
            "v4",
            OutboxState::Acknowledged,
            None,
            Some("server heads 0123456789ab"),
        ),
    ];
    let progress = Some(SyncProgress {
        stage: "Uploading photos".into(),
        bytes_done: 500_000,
        bytes_total: 2_000_000,
    });
    let html = dioxus_ssr::render_element(rsx! {
        SyncCentreView { entries, progress, last_result: Some("Sync stopped: no connection".to_owned()) }
    });
    for label in [
        "On this device only",
        "Waiting to send",
        "Sent, awaiting receipt",
        "Not sent",
        "Received by the server",
    ] {
        assert!(html.contains(label), "{label} missing");
    }
    assert!(html.contains("The server refused: the visit moved location"));
    assert!(html.contains("The server has this version."));
    // Plain words: no change hashes, no "item(s)".
    assert!(
        !html.contains("heads") && !html.contains("0123456789ab"),
        "{html}"
    );
    assert!(!html.contains("(s)"), "{html}");
    assert!(
        html.contains(r#"aria-valuenow="500000""#) && html.contains("width: 25%"),
        "{html}"
    );
    assert!(html.contains("4 items not yet received by the server"));
    assert!(html.contains("Sync stopped: no connection"));
}

#[test]
fn the_checklist_names_what_blocks_sign_off() {
    let u = |domain: &str, id: &str, prompt: &str| Unanswered {
        domain: domain.into(),
        id: id.into(),
        prompt: prompt.into(),
    };
    let check = SignOffCheck {
        unanswered: vec![
            u("Safe", "safe.a", "Care plans are reviewed"),
            u("Safe", "safe.b", "Medicines are stored safely"),
            u("Caring", "caring.a", "People are treated with dignity"),
        ],
        conflicts: 2,
        actions_without_due: vec![(Uuid::new_v4(), "Fix the door".into())],
    };
    let html = dioxus_ssr::render_element(rsx! { ChecklistView { check, on_open: None } });
    assert!(
        html.contains("3 criteria have no answer")
            && html.contains("2 conflicts to resolve")
            && html.contains("1 action has no due date"),
        "{html}"
    );
    // Grouped by domain, each a link to its criterion.
    assert!(
        html.contains("Safe (2)") && html.contains("Caring (1)"),
        "{html}"
    );
    assert!(html.contains(r#"id="goto-unanswered-safe-b""#), "{html}");
    assert!(html.find("Safe (2)") < html.find("Caring (1)"));
    let ok = dioxus_ssr::render_element(
        rsx! { ChecklistView { check: SignOffCheck::default(), on_open: None } },
    );
    assert!(ok.contains(r#"id="ready-to-sign""#));
}

#[test]
fn caseload_order_puts_planned_visits_first_then_overdue_and_red() {
    use accredit_app::caseload::{CaseloadEntry, CaseloadLocation};
    use accredit_shared::warning::Light;
    use chrono::NaiveDate;
    let loc = |name: &str, light: Light, due: Option<(i32, u32, u32)>| CaseloadLocation {
        id: Uuid::new_v4(),
        name: name.into(),
        provider_id: Uuid::new_v4(),
        cqc_location_id: String::new(),
        service_type: String::new(),
        address: String::new(),
        tier: None,
        weekly_premium_pence: 0,
        traffic_light: light,
        traffic_light_reasons: vec![],
        last_visit_on: None,
        next_visit_due_on: due.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
        planned_visits: vec![],
    };
    let e = |l: CaseloadLocation, overdue: bool| CaseloadEntry {
        location: l,
        open_actions: 0,
        overdue_actions: 0,
        last_visit_on: None,
        draft_started_on: None,
        overdue,
        next_planned: None,
    };
    let planned = |l: CaseloadLocation, on: (i32, u32, u32)| CaseloadEntry {
        next_planned: Some(accredit_shared::api::PlannedVisit {
            id: Uuid::new_v4(),
            location_id: l.id,
            location_name: l.name.clone(),
            visit_type: accredit_shared::records::VisitType::Annual,
            planned_on: NaiveDate::from_ymd_opt(on.0, on.1, on.2).unwrap(),
            monitors: vec![],
            status: accredit_shared::api::PlanStatus::Planned,
            visit_id: None,
            reason: String::new(),
        }),
        ..e(l, false)
    };
    let mut list = vec![
        e(
            loc("Green, due soon", Light::Green, Some((2027, 1, 1))),
            false,
        ),
        e(loc("Amber", Light::Amber, Some((2027, 6, 1))), false),
        e(loc("Red", Light::Red, Some((2027, 6, 1))), false),
        e(
            loc("Green but overdue", Light::Green, Some((2026, 1, 1))),
            true,
        ),
        e(loc("Red and overdue", Light::Red, Some((2026, 2, 1))), true),
        planned(
            loc("Green, planned later", Light::Green, None),
            (2027, 3, 1),
        ),
        planned(
            loc("Amber, planned sooner", Light::Amber, None),
            (2027, 2, 1),
        ),
    ];
    order_by_risk(&mut list);
    let names: Vec<_> = list.iter().map(|e| e.location.name.as_str()).collect();
    // Planned visits first, by planned day; then by risk.
    assert_eq!(
        names,
        [
            "Amber, planned sooner",
            "Green, planned later",
            "Red and overdue",
            "Green but overdue",
            "Red",
            "Amber",
            "Green, due soon"
        ]
    );
}
