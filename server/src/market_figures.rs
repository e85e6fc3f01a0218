//! The market view's figures, materialised per location: the tier at each month's end, each
//! month's premium by tier (from `compute_schedule`, the function the payments page uses), the
//! next 12 months' committed premium at today's placements, and the latest visit's domain and
//! criterion scores. Running the engine for every location takes seconds at national scale, so
//! the pages never do it: a location is marked dirty in the transaction that re-determines it,
//! and a background task recomputes dirty locations soon after (and every location when the day
//! changes, so time alone, such as a lapse or a certificate expiring, is caught).
//!
//! The window: the 24 months up to and including the current one, and the 12 months after it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use accredit_shared::calendar::{DateRange, month_period};
use accredit_shared::premium::{PaymentLine, compute_schedule};
use accredit_shared::ratio::{Ratio, round_half_up_div};
use accredit_shared::records::{Answer, LocationRecords, Placement};
use accredit_shared::{Engine, PremiumStatus};
use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::db::stored_id;
use crate::error::ServiceError;
use crate::state::{AppState, now_text};
use crate::tiers;

/// Months of history, the current month included.
pub const PAST_MONTHS: i32 = 24;
/// Months ahead whose premium is committed at today's placements.
pub const AHEAD_MONTHS: i32 = 12;
/// The key of a location with no tier (rank 0) in the tier and spend tables.
pub const NO_TIER: &str = "none";
/// Locations refreshed per write: small enough that the single writer is never held for long.
const BATCH: usize = 200;

/// The months of the market view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The past months, oldest first, ending with the current month.
    pub past: Vec<DateRange>,
    /// The months after the current one, nearest first.
    pub ahead: Vec<DateRange>,
}

/// The `YYYY-MM` label of a month.
pub fn month_key(m: &DateRange) -> String {
    format!("{:04}-{:02}", m.from.year(), m.from.month())
}

fn month_at(today: NaiveDate, offset: i32) -> Option<DateRange> {
    let index = today.year() * 12 + today.month0() as i32 + offset;
    month_period(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
}

/// The market view's months as of `today`.
pub fn window(today: NaiveDate) -> Window {
    Window {
        past: (1 - PAST_MONTHS..=0)
            .filter_map(|o| month_at(today, o))
            .collect(),
        ahead: (1..=AHEAD_MONTHS)
            .filter_map(|o| month_at(today, o))
            .collect(),
    }
}

/// One month's premium at one location and tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendRow {
    /// `YYYY-MM`.
    pub month: String,
    /// Tier name, or [`NO_TIER`].
    pub tier: String,
    /// The tier's rank (0 for none).
    pub rank: u8,
    /// Whether this is a month ahead, at today's placements.
    pub committed: bool,
    /// Payable, pence.
    pub paid: i64,
    /// On hold, pence.
    pub on_hold: i64,
}

/// One domain's score at a location's latest scored visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRow {
    /// The pack's domain id.
    pub domain_id: String,
    /// Its title.
    pub title: String,
    /// Its place in the pack.
    pub position: usize,
    /// Percentage in tenths.
    pub tenths: i64,
    /// Whether it is the location's lowest domain (the first, if several tie).
    pub lowest: bool,
}

/// Everything the market view holds for one location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    /// The location.
    pub location_id: Uuid,
    /// The day computed for.
    pub on: NaiveDate,
    /// Tier today.
    pub tier: Option<String>,
    /// Its rank.
    pub rank: u8,
    /// Premium status today.
    pub status: PremiumStatus,
    /// Weekly premium today, pence.
    pub weekly: i64,
    /// Overall percentage of the visit behind today's tier, in tenths.
    pub overall_tenths: Option<i64>,
    /// Its lowest domain, in tenths.
    pub lowest_domain_tenths: Option<i64>,
    /// The pack (id, version) of that visit.
    pub pack: Option<(String, String)>,
    /// Its criterion scores (not applicable and not assessed left out).
    pub criteria: BTreeMap<String, i32>,
    /// Tier at each past month's end (today for the current month), while registered.
    pub tiers: Vec<(String, String, u8)>,
    /// Premium by month and tier.
    pub spend: Vec<SpendRow>,
    /// Domain scores.
    pub domains: Vec<DomainRow>,
}

/// A percentage in tenths, rounded half up (display only).
pub fn tenths(r: Ratio) -> i64 {
    round_half_up_div(r.numer() * 10, r.denom()) as i64
}

/// Shares `total` among weights exactly (largest remainder), so the shares add up to it.
fn apportion(total: i64, weights: &[i128]) -> Vec<i64> {
    let sum: i128 = weights.iter().sum();
    if sum <= 0 {
        let mut out = vec![0; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = total;
        }
        return out;
    }
    let mut out: Vec<(i64, i128)> = weights
        .iter()
        .map(|w| {
            let num = i128::from(total) * w;
            ((num.div_euclid(sum)) as i64, num.rem_euclid(sum))
        })
        .collect();
    let left = total - out.iter().map(|(s, _)| s).sum::<i64>();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(out[i].1), i));
    for &i in order.iter().take(usize::try_from(left).unwrap_or(0)) {
        out[i].0 += 1;
    }
    out.into_iter().map(|(s, _)| s).collect()
}

/// A line's amount and amount on hold by tier. A line is rounded once, so when the tier changes
/// within the month its pence are shared among the tiers in proportion to the exact amounts
/// earned at each, and the shares add up to the line.
pub fn line_by_tier(line: &PaymentLine) -> BTreeMap<String, (i64, i64)> {
    let mut paid: BTreeMap<String, (i128, i128)> = BTreeMap::new();
    for s in &line.segments {
        let exact = i128::from(s.weekly.0) * i128::from(s.days_counted);
        let tier = s.tier.clone().unwrap_or_else(|| NO_TIER.to_owned());
        let e = paid.entry(tier).or_default();
        if s.status.is_paid() {
            e.0 += exact;
        } else if s.status == PremiumStatus::OnHold {
            e.1 += exact;
        }
    }
    let names: Vec<String> = paid.keys().cloned().collect();
    let p = apportion(
        line.amount.0,
        &paid.values().map(|v| v.0).collect::<Vec<_>>(),
    );
    let h = apportion(
        line.on_hold.0,
        &paid.values().map(|v| v.1).collect::<Vec<_>>(),
    );
    names
        .into_iter()
        .zip(p.into_iter().zip(h))
        .filter(|(_, (p, h))| *p != 0 || *h != 0)
        .collect()
}

fn registered_on(records: &LocationRecords, day: NaiveDate) -> bool {
    records.location.registered_from <= day
        && records.location.registered_to.is_none_or(|to| day <= to)
}

/// Computes one location's figures as of `today`.
pub fn compute(
    engine: &Engine<'_>,
    records: &LocationRecords,
    placements: &[Placement],
    today: NaiveDate,
) -> Figures {
    let w = window(today);
    let det = engine.determine(records, today);
    let mut ranks: HashMap<String, u8> = HashMap::new();
    let mut tiers = Vec::new();
    for m in &w.past {
        let day = m.to.min(today);
        if !registered_on(records, day) {
            continue;
        }
        let d = if day == today {
            det.clone()
        } else {
            engine.determine(records, day)
        };
        let (name, rank) = d.tier.map_or((NO_TIER.to_owned(), 0), |t| (t.name, t.rank));
        ranks.insert(name.clone(), rank);
        tiers.push((month_key(m), name, rank));
    }
    let running: Vec<Placement> = placements
        .iter()
        .filter(|p| p.start <= today && p.last_day().is_none_or(|l| today <= l))
        .cloned()
        .collect();
    let mut spend = Vec::new();
    let months = w
        .past
        .iter()
        .map(|m| (m, false, placements))
        .chain(w.ahead.iter().map(|m| (m, true, running.as_slice())));
    for (m, committed, ps) in months {
        if ps.is_empty() {
            continue;
        }
        let schedule = compute_schedule(engine, std::slice::from_ref(records), ps, *m);
        for c in &schedule.determinations {
            if let Some(t) = &c.determination.tier {
                ranks.insert(t.name.clone(), t.rank);
            }
        }
        let mut by_tier: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for line in &schedule.lines {
            for (tier, (p, h)) in line_by_tier(line) {
                let e = by_tier.entry(tier).or_default();
                e.0 += p;
                e.1 += h;
            }
        }
        for (tier, (paid, on_hold)) in by_tier {
            spend.push(SpendRow {
                month: month_key(m),
                rank: ranks.get(&tier).copied().unwrap_or(0),
                tier,
                committed,
                paid,
                on_hold,
            });
        }
    }
    let scores = det.scores.as_ref();
    let lowest_index = scores.and_then(|s| {
        s.domains
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.percent.map(|p| (p, i)))
            .min()
            .map(|(_, i)| i)
    });
    let domains = scores
        .map(|s| {
            s.domains
                .iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    d.percent.map(|p| DomainRow {
                        domain_id: d.domain_id.clone(),
                        title: d.title.clone(),
                        position: i,
                        tenths: tenths(p),
                        lowest: Some(i) == lowest_index,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let visit = det.visit.as_ref().and_then(|v| {
        records
            .visits
            .iter()
            .find(|p| p.visit_id == v.visit_id && p.revision == v.revision)
    });
    let criteria = visit
        .map(|v| {
            v.answers
                .iter()
                .filter_map(|(id, a)| match a {
                    Answer::Score(s) => Some((id.clone(), *s)),
                    Answer::NotApplicable | Answer::NotAssessed => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let (tier, rank) = det
        .tier
        .as_ref()
        .map_or((None, 0), |t| (Some(t.name.clone()), t.rank));
    Figures {
        location_id: records.location.id,
        on: today,
        tier,
        rank,
        status: det.status,
        weekly: det.rate.weekly.0,
        overall_tenths: scores.and_then(|s| s.overall).map(tenths),
        lowest_domain_tenths: scores.and_then(|s| s.lowest_domain()).map(tenths),
        pack: visit.map(|v| (v.pack_id.clone(), v.pack_version.clone())),
        criteria,
        tiers,
        spend,
        domains,
    }
}

/// Marks locations for a refresh, in the caller's transaction, so the mark exists exactly when
/// the change that needs it does.
pub fn mark_dirty(tx: &Connection, ids: &[Uuid]) -> Result<(), ServiceError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO market_dirty (location_id, seq) VALUES (?1, 1)
         ON CONFLICT (location_id) DO UPDATE SET seq = seq + 1",
    )?;
    for id in ids {
        stmt.execute([id.to_string()])?;
    }
    Ok(())
}

/// Marks every location for a refresh when the day has changed since the last such mark (or
/// none was made yet: a new database, or one from before the market view). Returns whether it did.
pub fn mark_all_if_new_day(tx: &Connection, today: NaiveDate) -> Result<bool, ServiceError> {
    let day: Option<String> = tx
        .query_row(
            "SELECT value FROM market_state WHERE key = 'day'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if day.as_deref() == Some(today.to_string().as_str()) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO market_dirty (location_id, seq) SELECT id, 1 FROM locations WHERE true
         ON CONFLICT (location_id) DO UPDATE SET seq = seq + 1",
        [],
    )?;
    tx.execute(
        "INSERT INTO market_state (key, value) VALUES ('day', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [today.to_string()],
    )?;
    Ok(true)
}

fn criteria_counts(
    tx: &Connection,
    pack: &(String, String),
    criteria: &BTreeMap<String, i32>,
    delta: i64,
) -> Result<(), ServiceError> {
    let mut add = tx.prepare_cached(
        "INSERT INTO market_criteria (pack_id, pack_version, criterion_id, score, locations)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (pack_id, pack_version, criterion_id, score) DO UPDATE SET locations = locations + excluded.locations",
    )?;
    for (id, score) in criteria {
        add.execute(params![pack.0, pack.1, id, score, delta])?;
    }
    tx.execute("DELETE FROM market_criteria WHERE locations = 0", [])?;
    Ok(())
}

/// Replaces a location's stored figures (keeping the criterion counts exact: the old scores are
/// taken off before the new ones are added) and clears its mark if no change came since `seq`.
pub fn store(tx: &Connection, f: &Figures, seq: Option<i64>) -> Result<(), ServiceError> {
    let id = f.location_id.to_string();
    let old: Option<(Option<String>, Option<String>, String)> = tx
        .prepare_cached(
            "SELECT pack_id, pack_version, criteria FROM market_locations WHERE location_id = ?1",
        )?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let old = match old {
        Some((Some(pack_id), Some(version), criteria)) => Some((
            (pack_id, version),
            serde_json::from_str::<BTreeMap<String, i32>>(&criteria)?,
        )),
        _ => None,
    };
    // Most refreshes (every location on a new day) leave the scores as they were: then the
    // counts need no change, which saves two writes per criterion per location.
    let new = f.pack.clone().map(|p| (p, f.criteria.clone()));
    if old != new {
        if let Some((pack, criteria)) = &old {
            criteria_counts(tx, pack, criteria, -1)?;
        }
        if let Some((pack, criteria)) = &new {
            criteria_counts(tx, pack, criteria, 1)?;
        }
    }
    for table in ["market_tiers", "market_spend", "market_domains"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE location_id = ?1"))?
            .execute([&id])?;
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO market_locations (location_id, figures_on, tier, tier_rank, status, weekly_pence,
         overall_tenths, lowest_domain_tenths, pack_id, pack_version, criteria)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        id,
        f.on.to_string(),
        f.tier,
        f.rank,
        tiers::status_text(f.status),
        f.weekly,
        f.overall_tenths,
        f.lowest_domain_tenths,
        f.pack.as_ref().map(|p| &p.0),
        f.pack.as_ref().map(|p| &p.1),
        serde_json::to_string(&f.criteria)?,
    ])?;
    let mut t = tx.prepare_cached(
        "INSERT INTO market_tiers (location_id, month, tier, tier_rank) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (month, tier, rank) in &f.tiers {
        t.execute(params![id, month, tier, rank])?;
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO market_spend (location_id, month, tier, tier_rank, committed, paid_pence, on_hold_pence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for r in &f.spend {
        s.execute(params![
            id,
            r.month,
            r.tier,
            r.rank,
            r.committed,
            r.paid,
            r.on_hold
        ])?;
    }
    let mut d = tx.prepare_cached(
        "INSERT INTO market_domains (location_id, domain_id, title, position, tenths, lowest) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for r in &f.domains {
        d.execute(params![
            id,
            r.domain_id,
            r.title,
            r.position as i64,
            r.tenths,
            r.lowest
        ])?;
    }
    if let Some(seq) = seq {
        tx.prepare_cached("DELETE FROM market_dirty WHERE location_id = ?1 AND seq = ?2")?
            .execute(params![id, seq])?;
    }
    Ok(())
}

/// Refreshes up to one batch of marked locations: their records are read and the engine run on
/// a reader, outside the writer; the results are written in one short write. Returns how many
/// were refreshed (0 when nothing is marked).
pub fn refresh_batch(state: &AppState) -> Result<usize, ServiceError> {
    refresh_batch_skipping(state, &mut HashSet::new())
}

/// As [`refresh_batch`], leaving out the locations in `failed` and adding any whose figures
/// cannot be computed (their records do not read): each is logged and stays marked, so the
/// pages count it as still being refreshed rather than showing figures from before its change,
/// and it no longer holds up the others.
fn refresh_batch_skipping(
    state: &AppState,
    failed: &mut HashSet<Uuid>,
) -> Result<usize, ServiceError> {
    let today = state.today();
    let rules = state.rules();
    let computed = state.db.read(|tx| {
        let mut stmt = tx.prepare_cached(
            "SELECT location_id, seq FROM market_dirty ORDER BY location_id LIMIT ?1",
        )?;
        let limit = i64::try_from(BATCH + failed.len()).unwrap_or(i64::MAX);
        let marked: Vec<(Uuid, i64)> = stmt
            .query_map([limit], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(id, seq)| Ok((stored_id(&id)?, seq)))
            .collect::<Result<_, ServiceError>>()?;
        // A rule set added in a transaction that has committed but whose book is not installed
        // yet: use the book this snapshot holds, so the figures are never from the older rules.
        let stored: i64 = tx.query_row("SELECT COUNT(*) FROM rule_sets", [], |r| r.get(0))?;
        let book = if usize::try_from(stored).ok() == Some(rules.sets().len()) {
            rules.clone()
        } else {
            std::sync::Arc::new(crate::state::load_rule_book(tx)?)
        };
        let engine = Engine::new(&state.packs, &book);
        let mut out = Vec::with_capacity(BATCH);
        let todo: Vec<(Uuid, i64)> = marked
            .into_iter()
            .filter(|(id, _)| !failed.contains(id))
            .take(BATCH)
            .collect();
        for (id, seq) in todo {
            let figures = tiers::records(tx, id).and_then(|records| {
                records
                    .map(|records| {
                        let placements = tiers::placements(tx, id)?;
                        Ok(compute(&engine, &records, &placements, today))
                    })
                    .transpose()
            });
            match figures {
                Ok(f) => out.push((id, seq, f)),
                Err(e) => {
                    tracing::error!(location = %id, error = %e, "computing a location's market figures failed; it stays marked");
                    failed.insert(id);
                }
            }
        }
        Ok(out)
    })?;
    if computed.is_empty() {
        return Ok(0);
    }
    let n = computed.len();
    state.db.write(|tx| {
        for (id, seq, figures) in &computed {
            match figures {
                Some(f) => store(tx, f, Some(*seq))?,
                // A marked id that is no location (never expected: locations are not deleted).
                None => {
                    tx.execute(
                        "DELETE FROM market_dirty WHERE location_id = ?1 AND seq = ?2",
                        params![id.to_string(), seq],
                    )?;
                }
            }
        }
        note_refreshed(tx)
    })?;
    Ok(n)
}

/// Refreshes until nothing is marked, first marking everything if the day changed. Returns how
/// many locations were refreshed.
pub fn refresh_all_marked(state: &AppState) -> Result<usize, ServiceError> {
    refresh_pass(state, &mut HashSet::new())
}

/// One pass of the background task; `failed` (kept between passes, emptied on a new day) holds
/// the locations whose figures could not be computed, so they are not retried every second.
fn refresh_pass(state: &AppState, failed: &mut HashSet<Uuid>) -> Result<usize, ServiceError> {
    let today = state.today();
    // Read first, so an idle server does not write (and fsync) every tick.
    if state.db.read(figures_day)? != Some(today) {
        state.db.write(|tx| mark_all_if_new_day(tx, today))?;
        failed.clear();
    }
    let mut total = 0;
    loop {
        let n = refresh_batch_skipping(state, failed)?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// The background task: every `every`, marks everything on a new day and refreshes what is marked.
pub async fn run(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let failed = std::sync::Arc::new(std::sync::Mutex::new(HashSet::new()));
    loop {
        tick.tick().await;
        let started = std::time::Instant::now();
        let failed = failed.clone();
        let pass = state
            .blocking(move |s| {
                let mut failed = failed
                    .lock()
                    .map_err(|_| ServiceError::internal("market refresh state poisoned"))?;
                refresh_pass(s, &mut failed)
            })
            .await;
        match pass {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                locations = n,
                ms = started.elapsed().as_millis() as u64,
                "refreshed market figures"
            ),
            Err(e) => tracing::error!(error = %e, "refreshing market figures failed"),
        }
    }
}

/// When the figures were last marked for a full refresh (the day they are for).
pub fn figures_day(tx: &Connection) -> Result<Option<NaiveDate>, ServiceError> {
    let day: Option<String> = tx
        .query_row(
            "SELECT value FROM market_state WHERE key = 'day'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    day.as_deref().map(crate::db::stored_date).transpose()
}

/// Records the time of the latest refresh (shown beside the figures).
pub fn note_refreshed(tx: &Connection) -> Result<(), ServiceError> {
    tx.execute(
        "INSERT INTO market_state (key, value) VALUES ('refreshed_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [now_text()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_line_and_follow_the_exact_amounts() {
        assert_eq!(apportion(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(apportion(4000, &[25 * 7, 30 * 7]), vec![1818, 2182]);
        assert_eq!(apportion(0, &[3, 4]), vec![0, 0]);
        assert_eq!(apportion(7, &[0, 5]), vec![0, 7]);
        for total in [1, 99, 12_345, 4_000_001] {
            for w in [[1, 2, 3], [7, 0, 11], [1_000_000, 1, 1]] {
                let shares = apportion(total, &w);
                assert_eq!(shares.iter().sum::<i64>(), total, "{total} {w:?}");
                let sum: i128 = w.iter().sum();
                for (s, w) in shares.iter().zip(w) {
                    // Each share is the exact one rounded down or up.
                    let exact = i128::from(total) * w;
                    assert!(
                        i128::from(*s) * sum <= exact + sum && i128::from(*s) * sum >= exact - sum
                    );
                }
            }
        }
    }

    #[test]
    fn the_window_is_24_months_to_this_one_and_12_after() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
        let w = window(today);
        assert_eq!(w.past.len(), 24);
        assert_eq!(w.ahead.len(), 12);
        assert_eq!(month_key(&w.past[0]), "2025-01");
        assert_eq!(month_key(&w.past[23]), "2026-12");
        assert_eq!(month_key(&w.ahead[0]), "2027-01");
        assert_eq!(month_key(&w.ahead[11]), "2027-12");
    }
}
