//! A view of the whole market, for commissioners and leads: how many locations hold each tier
//! month by month, the premium paid by tier each month and committed for the next 12 months at
//! today's placements, and where locations score lowest (domains and criteria, and every
//! location's domain scores, worst first). Everything is read with SQL aggregates from the
//! figures `market_figures` keeps per location, never recomputed per request; each answer says
//! which day its figures are for and how many locations are still being refreshed.

use std::collections::BTreeMap;

use accredit_shared::calendar::DateRange;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::db::{stored_date, stored_id};
use crate::error::{ServiceError, ServiceResult};
use crate::market_figures::{self, NO_TIER, month_key, window};
use crate::state::AppState;

/// Heat-map rows per page.
pub const PER_PAGE: usize = 50;
/// The most locations one page of per-location figures holds.
pub const MAX_LOCATIONS_PAGE: usize = 1000;

/// How fresh the figures are.
#[derive(Clone, Debug, Serialize)]
pub struct Freshness {
    /// Today.
    pub today: NaiveDate,
    /// The day the figures are for (the last day every location was marked for a refresh).
    pub figures_on: Option<NaiveDate>,
    /// When a refresh last wrote figures (RFC 3339).
    pub refreshed_at: Option<String>,
    /// Locations whose figures are waiting to be recomputed after a change or a new day; until
    /// then their figures are from before it.
    pub pending: usize,
    /// Locations with figures.
    pub locations: usize,
}

/// A tier as the market view names it: its name (or `none`) and rank (0 for none).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TierKey {
    /// Rank, higher is better.
    pub rank: u8,
    /// Name, or `none`.
    pub tier: String,
}

/// Locations at one tier in one month.
#[derive(Clone, Debug, Serialize)]
pub struct TierCount {
    /// Tier name, or `none`.
    pub tier: String,
    /// Locations.
    pub locations: i64,
}

/// One month of tiers.
#[derive(Clone, Debug, Serialize)]
pub struct TierMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The day the tiers are taken: the month's last day, or today for the current month.
    pub on: NaiveDate,
    /// Locations at each tier, best first (tiers with none left out).
    pub counts: Vec<TierCount>,
    /// Locations registered that day.
    pub total: i64,
}

/// The overview: tiers month by month.
#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    /// How fresh.
    pub freshness: Freshness,
    /// Every tier seen, best first.
    pub tiers: Vec<TierKey>,
    /// The last 24 months, oldest first.
    pub months: Vec<TierMonth>,
}

/// Premium at one tier.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TierSpend {
    /// Tier name.
    pub tier: String,
    /// Payable, pence.
    pub paid_pence: i64,
    /// On hold, pence.
    pub on_hold_pence: i64,
}

/// One month's premium.
#[derive(Clone, Debug, Serialize)]
pub struct SpendMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Days in the month.
    pub days: u32,
    /// A month ahead: committed at today's placements (otherwise: the month's schedule).
    pub committed: bool,
    /// By tier, best first.
    pub by_tier: Vec<TierSpend>,
    /// Payable, pence.
    pub paid_pence: i64,
    /// On hold, pence.
    pub on_hold_pence: i64,
}

/// Premium month by month.
#[derive(Clone, Debug, Serialize)]
pub struct Spend {
    /// How fresh.
    pub freshness: Freshness,
    /// Every tier seen, best first.
    pub tiers: Vec<TierKey>,
    /// The last 24 months (the current one last) and the 12 ahead.
    pub months: Vec<SpendMonth>,
    /// The 12 months ahead, by tier.
    pub committed_by_tier: Vec<TierSpend>,
    /// The 12 months ahead, payable, pence.
    pub committed_pence: i64,
    /// The 12 months ahead, on hold, pence.
    pub committed_on_hold_pence: i64,
}

/// One domain across locations.
#[derive(Clone, Debug, Serialize)]
pub struct DomainSummary {
    /// The pack's domain id.
    pub domain_id: String,
    /// Its title.
    pub title: String,
    /// Locations scored in it.
    pub locations: i64,
    /// Sum of their percentages in tenths (for the mean; the test adds them up).
    pub sum_tenths: i64,
    /// Mean percentage in tenths, rounded half up.
    pub mean_tenths: i64,
    /// Locations below the approved standard's domain minimum.
    pub below_standard: i64,
    /// Locations for which this is their lowest domain.
    pub lowest_at: i64,
}

/// One criterion across locations.
#[derive(Clone, Debug, Serialize)]
pub struct CriterionSummary {
    /// Pack id.
    pub pack_id: String,
    /// Pack version (scores are never compared across versions).
    pub pack_version: String,
    /// Criterion id.
    pub criterion_id: String,
    /// Its prompt (empty if the pack is not loaded).
    pub prompt: String,
    /// Lowest score on its scale.
    pub scale_min: i32,
    /// Locations scored at each score, lowest first.
    pub by_score: Vec<(i32, i64)>,
    /// Locations scored.
    pub scored: i64,
    /// Locations at the lowest score.
    pub at_lowest: i64,
}

/// One location's row in the heat map.
#[derive(Clone, Debug, Serialize)]
pub struct HeatRow {
    /// The location.
    pub location_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its provider's name.
    pub provider: String,
    /// Tier today, or `none`.
    pub tier: String,
    /// Overall, tenths.
    pub overall_tenths: Option<i64>,
    /// Lowest domain, tenths.
    pub lowest_domain_tenths: Option<i64>,
    /// Each column's percentage in tenths (none where the location's pack has no such domain).
    pub cells: Vec<Option<i64>>,
}

/// What the heat map shows.
#[derive(Clone, Debug, Default)]
pub struct HeatFilter {
    /// Only this provider.
    pub provider: Option<Uuid>,
    /// Only this tier (`none` for no tier).
    pub tier: Option<String>,
    /// Location or provider name contains.
    pub q: String,
    /// Page, from 1.
    pub page: usize,
}

/// The heat map's page.
#[derive(Clone, Debug, Serialize)]
pub struct Heat {
    /// Domain columns: id and title, in the pack's order.
    pub columns: Vec<(String, String)>,
    /// Rows, worst first (lowest domain, then overall, then id: a stable order the index gives).
    pub rows: Vec<HeatRow>,
    /// Rows matching the filter.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Rows per page.
    pub per_page: usize,
}

/// Where locations score lowest.
#[derive(Clone, Debug, Serialize)]
pub struct Quality {
    /// How fresh.
    pub freshness: Freshness,
    /// The approved standard's domain minimum under the rules in force, tenths.
    pub standard_domain_tenths: Option<i64>,
    /// Each domain, in the pack's order.
    pub domains: Vec<DomainSummary>,
    /// Each criterion, most locations at the lowest score first.
    pub criteria: Vec<CriterionSummary>,
    /// The heat map's page.
    pub heat: Heat,
}

/// One location's stored figures (the API's per-location data).
#[derive(Clone, Debug, Serialize)]
pub struct LocationFigures {
    /// The location.
    pub location_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider_id: Uuid,
    /// The day computed for.
    pub figures_on: NaiveDate,
    /// Whether it is waiting to be recomputed.
    pub pending: bool,
    /// Tier today, or `none`.
    pub tier: String,
    /// Premium status today.
    pub status: String,
    /// Weekly premium today, pence.
    pub weekly_pence: i64,
    /// Overall, tenths.
    pub overall_tenths: Option<i64>,
    /// Lowest domain, tenths.
    pub lowest_domain_tenths: Option<i64>,
    /// Pack of the visit behind the scores.
    pub pack_id: Option<String>,
    /// Its version.
    pub pack_version: Option<String>,
    /// Tier at each month's end: `YYYY-MM` → tier.
    pub tiers: BTreeMap<String, String>,
    /// Premium by month and tier.
    pub spend: Vec<LocationSpend>,
    /// Domain scores: id → tenths.
    pub domains: BTreeMap<String, i64>,
    /// The domain that is lowest.
    pub lowest_domain: Option<String>,
    /// Criterion scores.
    pub criteria: BTreeMap<String, i32>,
}

/// One location's premium in one month at one tier.
#[derive(Clone, Debug, Serialize)]
pub struct LocationSpend {
    /// `YYYY-MM`.
    pub month: String,
    /// Tier.
    pub tier: String,
    /// Whether committed (a month ahead).
    pub committed: bool,
    /// Payable, pence.
    pub paid_pence: i64,
    /// On hold, pence.
    pub on_hold_pence: i64,
}

/// A page of per-location figures.
#[derive(Clone, Debug, Serialize)]
pub struct LocationsPage {
    /// How fresh.
    pub freshness: Freshness,
    /// Locations with figures.
    pub total: usize,
    /// From.
    pub offset: usize,
    /// At most.
    pub limit: usize,
    /// The figures, by name.
    pub locations: Vec<LocationFigures>,
}

fn require(caller: &Caller) -> ServiceResult<()> {
    caller.require(&[Role::Commissioner, Role::Lead])
}

fn count(tx: &Connection, sql: &str) -> ServiceResult<usize> {
    let n: i64 = tx.query_row(sql, [], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

fn freshness(state: &AppState, tx: &Connection) -> ServiceResult<Freshness> {
    let refreshed_at = tx
        .query_row(
            "SELECT value FROM market_state WHERE key = 'refreshed_at'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Freshness {
        today: state.today(),
        figures_on: market_figures::figures_day(tx)?,
        refreshed_at,
        pending: count(tx, "SELECT COUNT(*) FROM market_dirty")?,
        locations: count(tx, "SELECT COUNT(*) FROM market_locations")?,
    })
}

fn ordered(keys: impl IntoIterator<Item = TierKey>) -> Vec<TierKey> {
    let mut v: Vec<TierKey> = keys.into_iter().collect();
    v.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.tier.cmp(&b.tier)));
    v.dedup();
    v
}

fn range(months: &[DateRange]) -> (String, String) {
    (
        months.first().map(month_key).unwrap_or_default(),
        months.last().map(month_key).unwrap_or_default(),
    )
}

/// Tiers month by month.
pub fn overview(state: &AppState, caller: &Caller) -> ServiceResult<Overview> {
    require(caller)?;
    let today = state.today();
    let w = window(today);
    state.db.read(|tx| {
        let (first, last) = range(&w.past);
        let mut stmt = tx.prepare_cached(
            "SELECT month, tier, MAX(tier_rank), COUNT(*) FROM market_tiers
             WHERE month BETWEEN ?1 AND ?2 GROUP BY month, tier",
        )?;
        let rows: Vec<(String, String, u8, i64)> = stmt
            .query_map(params![first, last], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let tiers = ordered(rows.iter().map(|(_, t, rank, _)| TierKey {
            rank: *rank,
            tier: t.clone(),
        }));
        let months = w
            .past
            .iter()
            .map(|m| {
                let key = month_key(m);
                let counts: Vec<TierCount> = tiers
                    .iter()
                    .filter_map(|t| {
                        rows.iter()
                            .find(|(mo, tier, _, _)| *mo == key && *tier == t.tier)
                            .map(|r| TierCount {
                                tier: t.tier.clone(),
                                locations: r.3,
                            })
                    })
                    .collect();
                TierMonth {
                    month: key,
                    on: m.to.min(today),
                    total: counts.iter().map(|c| c.locations).sum(),
                    counts,
                }
            })
            .collect();
        Ok(Overview {
            freshness: freshness(state, tx)?,
            tiers,
            months,
        })
    })
}

/// Premium by tier month by month, and committed for the months ahead.
pub fn spend(state: &AppState, caller: &Caller) -> ServiceResult<Spend> {
    require(caller)?;
    let w = window(state.today());
    state.db.read(|tx| {
        let all: Vec<DateRange> = w.past.iter().chain(w.ahead.iter()).copied().collect();
        let (first, last) = range(&all);
        let mut stmt = tx.prepare_cached(
            "SELECT month, tier, MAX(tier_rank), committed, SUM(paid_pence), SUM(on_hold_pence) FROM market_spend
             WHERE month BETWEEN ?1 AND ?2 GROUP BY month, tier, committed",
        )?;
        let rows: Vec<(String, String, u8, bool, i64, i64)> = stmt
            .query_map(params![first, last], |r| {
                r.try_into()
            })?
            .collect::<Result<_, _>>()?;
        let tiers = ordered(rows.iter().map(|r| TierKey {
            rank: r.2,
            tier: r.1.clone(),
        }));
        let ahead_keys: Vec<String> = w.ahead.iter().map(month_key).collect();
        let months: Vec<SpendMonth> = all
            .iter()
            .map(|m| {
                let key = month_key(m);
                let committed = ahead_keys.contains(&key);
                // A month is read on the basis it is in now: rows of another basis are from a
                // location not yet refreshed since the month changed, and are left out.
                let by_tier: Vec<TierSpend> = tiers
                    .iter()
                    .filter_map(|t| {
                        rows.iter()
                            .find(|r| r.0 == key && r.1 == t.tier && r.3 == committed)
                            .map(|r| TierSpend {
                                tier: t.tier.clone(),
                                paid_pence: r.4,
                                on_hold_pence: r.5,
                            })
                    })
                    .collect();
                SpendMonth {
                    month: key,
                    days: m.days(),
                    committed,
                    paid_pence: by_tier.iter().map(|t| t.paid_pence).sum(),
                    on_hold_pence: by_tier.iter().map(|t| t.on_hold_pence).sum(),
                    by_tier,
                }
            })
            .collect();
        let committed_by_tier: Vec<TierSpend> = tiers
            .iter()
            .map(|t| {
                let mut s = TierSpend {
                    tier: t.tier.clone(),
                    ..TierSpend::default()
                };
                for m in months.iter().filter(|m| m.committed) {
                    for x in m.by_tier.iter().filter(|x| x.tier == t.tier) {
                        s.paid_pence += x.paid_pence;
                        s.on_hold_pence += x.on_hold_pence;
                    }
                }
                s
            })
            .filter(|s| s.paid_pence != 0 || s.on_hold_pence != 0)
            .collect();
        Ok(Spend {
            freshness: freshness(state, tx)?,
            committed_pence: committed_by_tier.iter().map(|t| t.paid_pence).sum(),
            committed_on_hold_pence: committed_by_tier.iter().map(|t| t.on_hold_pence).sum(),
            committed_by_tier,
            tiers,
            months,
        })
    })
}

fn standard_domain_tenths(state: &AppState) -> Option<i64> {
    let rules = state.rules();
    let set = rules.in_force(state.today())?;
    set.tiers
        .iter()
        .map(|t| t.min_domain_percent)
        .min()
        .map(market_figures::tenths)
}

fn heat(tx: &Connection, filter: &HeatFilter) -> ServiceResult<Heat> {
    let mut stmt = tx.prepare_cached(
        "SELECT domain_id, MAX(title) FROM market_domains GROUP BY domain_id ORDER BY MIN(position), domain_id",
    )?;
    let columns: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // Only what a filter needs is joined, so the unfiltered map (the usual view) is read in the
    // order of its index, without sorting 15,000 rows.
    let mut conditions = vec!["m.lowest_domain_tenths IS NOT NULL".to_owned()];
    let mut args: Vec<String> = Vec::new();
    if let Some(p) = filter.provider {
        args.push(p.to_string());
        conditions.push(format!("l.provider_id = ?{}", args.len()));
    }
    if let Some(t) = filter.tier.as_ref().filter(|t| !t.is_empty()) {
        args.push(t.clone());
        conditions.push(format!("COALESCE(m.tier, 'none') = ?{}", args.len()));
    }
    let q = filter.q.trim();
    if !q.is_empty() {
        args.push(format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        ));
        let n = args.len();
        conditions.push(format!(
            "(l.name LIKE ?{n} ESCAPE '\\' OR l.provider_id IN (SELECT id FROM providers WHERE name LIKE ?{n} ESCAPE '\\'))"
        ));
    }
    let joined = filter.provider.is_some() || !q.is_empty();
    let from = format!(
        "FROM market_locations m {} WHERE {}",
        if joined {
            "JOIN locations l ON l.id = m.location_id"
        } else {
            ""
        },
        conditions.join(" AND ")
    );
    let total: i64 = tx
        .prepare_cached(&format!("SELECT COUNT(*) {from}"))?
        .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
    let total = usize::try_from(total).unwrap_or(0);
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = filter.page.clamp(1, pages);
    let mut page_args = args.clone();
    page_args.push(PER_PAGE.to_string());
    page_args.push(((page - 1) * PER_PAGE).to_string());
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT m.location_id FROM (SELECT m.location_id, m.lowest_domain_tenths, m.overall_tenths {from}
         ORDER BY m.lowest_domain_tenths, m.overall_tenths, m.location_id LIMIT CAST(?{} AS INTEGER) OFFSET CAST(?{} AS INTEGER)) m",
        args.len() + 1,
        args.len() + 2
    ))?;
    let ids: Vec<String> = stmt
        .query_map(rusqlite::params_from_iter(page_args.iter()), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut one = tx.prepare_cached(
        "SELECT m.location_id, l.name, p.name, m.tier, m.overall_tenths, m.lowest_domain_tenths
         FROM market_locations m JOIN locations l ON l.id = m.location_id JOIN providers p ON p.id = l.provider_id
         WHERE m.location_id = ?1",
    )?;
    let mut cells =
        tx.prepare_cached("SELECT domain_id, tenths FROM market_domains WHERE location_id = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        let mut row = one.query_row([id], |r| {
            Ok(HeatRow {
                location_id: Uuid::nil(),
                name: r.get(1)?,
                provider: r.get(2)?,
                tier: r
                    .get::<_, Option<String>>(3)?
                    .unwrap_or_else(|| NO_TIER.to_owned()),
                overall_tenths: r.get(4)?,
                lowest_domain_tenths: r.get(5)?,
                cells: Vec::new(),
            })
        })?;
        row.location_id = stored_id(id)?;
        let by_domain: BTreeMap<String, i64> = cells
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        row.cells = columns
            .iter()
            .map(|(d, _)| by_domain.get(d).copied())
            .collect();
        out.push(row);
    }
    Ok(Heat {
        columns,
        rows: out,
        total,
        page,
        per_page: PER_PAGE,
    })
}

/// Domains and criteria where locations score lowest, and a page of the heat map.
pub fn quality(state: &AppState, caller: &Caller, filter: &HeatFilter) -> ServiceResult<Quality> {
    require(caller)?;
    let floor = standard_domain_tenths(state);
    state.db.read(|tx| {
        let mut stmt = tx.prepare_cached(
            "SELECT domain_id, MAX(title), COUNT(*), SUM(tenths), SUM(tenths < ?1), SUM(lowest)
             FROM market_domains GROUP BY domain_id ORDER BY MIN(position), domain_id",
        )?;
        let domains: Vec<DomainSummary> = stmt
            .query_map([floor.unwrap_or(i64::MIN)], |r| {
                let locations: i64 = r.get(2)?;
                let sum: i64 = r.get(3)?;
                Ok(DomainSummary {
                    domain_id: r.get(0)?,
                    title: r.get(1)?,
                    locations,
                    sum_tenths: sum,
                    mean_tenths: if locations > 0 {
                        (2 * sum + locations).div_euclid(2 * locations)
                    } else {
                        0
                    },
                    below_standard: r.get(4)?,
                    lowest_at: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = tx.prepare_cached(
            "SELECT pack_id, pack_version, criterion_id, score, locations FROM market_criteria
             ORDER BY pack_id, pack_version, criterion_id, score",
        )?;
        let rows: Vec<(String, String, String, i32, i64)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut criteria: Vec<CriterionSummary> = Vec::new();
        for (pack_id, version, id, score, n) in rows {
            let same = criteria.last().is_some_and(|c| {
                c.pack_id == pack_id && c.pack_version == version && c.criterion_id == id
            });
            if !same {
                let found = state
                    .packs
                    .get(&pack_id, &version)
                    .and_then(|p| p.criterion(&id))
                    .map(|(_, c)| (c.prompt.clone(), c.scale.min));
                let (prompt, scale_min) = found.unwrap_or((String::new(), score));
                criteria.push(CriterionSummary {
                    pack_id,
                    pack_version: version,
                    criterion_id: id,
                    prompt,
                    scale_min,
                    by_score: Vec::new(),
                    scored: 0,
                    at_lowest: 0,
                });
            }
            if let Some(c) = criteria.last_mut() {
                c.by_score.push((score, n));
                c.scored += n;
                if score <= c.scale_min {
                    c.at_lowest += n;
                }
            }
        }
        criteria.sort_by(|a, b| {
            b.at_lowest
                .cmp(&a.at_lowest)
                .then_with(|| low_share(b).cmp(&low_share(a)))
                .then_with(|| a.criterion_id.cmp(&b.criterion_id))
        });
        Ok(Quality {
            freshness: freshness(state, tx)?,
            standard_domain_tenths: floor,
            domains,
            criteria,
            heat: heat(tx, filter)?,
        })
    })
}

/// Locations at the lowest two scores, for ordering criteria that tie on the lowest alone.
fn low_share(c: &CriterionSummary) -> i64 {
    c.by_score
        .iter()
        .filter(|(s, _)| *s <= c.scale_min + 1)
        .map(|(_, n)| n)
        .sum()
}

/// A page of every location's stored figures, by name: what the aggregates add up.
pub fn locations(
    state: &AppState,
    caller: &Caller,
    offset: usize,
    limit: usize,
) -> ServiceResult<LocationsPage> {
    require(caller)?;
    if limit == 0 || limit > MAX_LOCATIONS_PAGE {
        return Err(ServiceError::bad_request(format!(
            "limit must be from 1 to {MAX_LOCATIONS_PAGE}"
        )));
    }
    state.db.read(|tx| {
        let total = count(tx, "SELECT COUNT(*) FROM market_locations")?;
        let mut stmt = tx.prepare_cached(
            "SELECT m.location_id, l.name, l.provider_id, m.figures_on, m.tier, m.status, m.weekly_pence,
             m.overall_tenths, m.lowest_domain_tenths, m.pack_id, m.pack_version, m.criteria,
             EXISTS (SELECT 1 FROM market_dirty d WHERE d.location_id = m.location_id)
             FROM market_locations m JOIN locations l ON l.id = m.location_id
             ORDER BY l.name, m.location_id LIMIT ?1 OFFSET ?2",
        )?;
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            String,
            bool,
        );
        let rows: Vec<Row> = stmt
            .query_map(params![limit as i64, offset as i64], |r| {
                r.try_into()
            })?
            .collect::<Result<_, _>>()?;
        let mut tiers_of =
            tx.prepare_cached("SELECT month, tier FROM market_tiers WHERE location_id = ?1")?;
        let mut spend_of = tx.prepare_cached(
            "SELECT month, tier, committed, paid_pence, on_hold_pence FROM market_spend WHERE location_id = ?1 ORDER BY month, tier",
        )?;
        let mut domains_of = tx.prepare_cached(
            "SELECT domain_id, tenths, lowest FROM market_domains WHERE location_id = ?1",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id = &r.0;
            let tiers: BTreeMap<String, String> = tiers_of
                .query_map([id], |x| Ok((x.get(0)?, x.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let spend: Vec<LocationSpend> = spend_of
                .query_map([id], |x| {
                    Ok(LocationSpend {
                        month: x.get(0)?,
                        tier: x.get(1)?,
                        committed: x.get(2)?,
                        paid_pence: x.get(3)?,
                        on_hold_pence: x.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let domain_rows: Vec<(String, i64, bool)> = domains_of
                .query_map([id], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)))?
                .collect::<Result<_, _>>()?;
            out.push(LocationFigures {
                location_id: stored_id(id)?,
                name: r.1,
                provider_id: stored_id(&r.2)?,
                figures_on: stored_date(&r.3)?,
                tier: r.4.unwrap_or_else(|| NO_TIER.to_owned()),
                status: r.5,
                weekly_pence: r.6,
                overall_tenths: r.7,
                lowest_domain_tenths: r.8,
                pack_id: r.9,
                pack_version: r.10,
                criteria: serde_json::from_str(&r.11)?,
                pending: r.12,
                tiers,
                spend,
                lowest_domain: domain_rows
                    .iter()
                    .find(|d| d.2)
                    .map(|d| d.0.clone()),
                domains: domain_rows.into_iter().map(|d| (d.0, d.1)).collect(),
            });
        }
        Ok(LocationsPage {
            freshness: freshness(state, tx)?,
            total,
            offset,
            limit,
            locations: out,
        })
    })
}
