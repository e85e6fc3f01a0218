//! The history chart: overall and domain scores at each published visit, as an SVG drawn on the
//! server. It reads without colour: each line has its own dash pattern and marker shape and is
//! named at its end, the tier is written under each visit, and a table gives the same figures.

use accredit_shared::labels::long_date;
use accredit_shared::ratio::Ratio;
use accredit_shared::ratio::percent_text;
use chrono::NaiveDate;
use dioxus::prelude::*;

use super::layout::tier_text;

/// The scores and tier as one published visit took effect.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPoint {
    /// The day it took effect.
    pub on: NaiveDate,
    /// The tier from then.
    pub tier: Option<String>,
    /// Overall percentage.
    pub overall: Option<Ratio>,
    /// Each domain's title and percentage.
    pub domains: Vec<(String, Option<Ratio>)>,
}

const W: f64 = 760.0;
const H: f64 = 300.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 52.0;

/// Dash patterns and markers: one per line, so lines differ by more than colour.
const DASHES: [&str; 6] = ["", "8 4", "2 4", "12 4 2 4", "4 4", "1 6"];
const COLOURS: [&str; 6] = [
    "#0b0c0c", "#1d70b8", "#d4351c", "#00703c", "#4c2c92", "#b58840",
];

fn pct(r: Option<Ratio>) -> Option<f64> {
    r.map(|r| r.to_f64())
}

fn marker(i: usize, x: f64, y: f64, colour: &'static str) -> Element {
    match i % 4 {
        0 => rsx! { circle { cx: "{x:.1}", cy: "{y:.1}", r: "5", fill: colour } },
        1 => {
            rsx! { rect { x: "{x - 4.5:.1}", y: "{y - 4.5:.1}", width: "9", height: "9", fill: colour } }
        }
        2 => {
            rsx! { polygon { points: format!("{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", x, y - 6.0, x - 5.5, y + 4.5, x + 5.5, y + 4.5), fill: colour } }
        }
        _ => {
            rsx! { polygon { points: format!("{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", x, y - 6.0, x + 6.0, y, x, y + 6.0, x - 6.0, y), fill: colour } }
        }
    }
}

/// The chart and its table, or a line saying there is no history yet.
pub fn history_chart(points: &[HistoryPoint]) -> Element {
    if points.is_empty() {
        return rsx! { p { "No published visits yet." } };
    }
    let n = points.len();
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x_at = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y_at = |p: f64| TOP + plot_h * (1.0 - p / 100.0);
    // Series: overall first, then each domain of the latest visit's pack.
    let mut series: Vec<(String, Vec<Option<f64>>)> = vec![(
        "Overall".to_owned(),
        points.iter().map(|p| pct(p.overall)).collect(),
    )];
    if let Some(last) = points.last() {
        for (title, _) in &last.domains {
            series.push((
                title.clone(),
                points
                    .iter()
                    .map(|p| {
                        p.domains
                            .iter()
                            .find(|(t, _)| t == title)
                            .and_then(|(_, v)| pct(*v))
                    })
                    .collect(),
            ));
        }
    }
    // End labels, nudged apart so they never overlap.
    let mut ends: Vec<(usize, f64)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v.iter().rev().flatten().next().map(|p| (i, y_at(*p))))
        .collect();
    ends.sort_by(|a, b| a.1.total_cmp(&b.1));
    for k in 1..ends.len() {
        if ends[k].1 - ends[k - 1].1 < 15.0 {
            ends[k].1 = ends[k - 1].1 + 15.0;
        }
    }
    let summary = format!(
        "Scores at {} published visits, from {} to {}. Latest overall score {}, tier {}.",
        n,
        long_date(points[0].on),
        long_date(points[n - 1].on),
        percent_text(points[n - 1].overall),
        tier_text(points[n - 1].tier.as_deref())
    );
    rsx! {
        figure { class: "chart",
            svg {
                view_box: "0 0 {W} {H}",
                role: "img",
                "aria-labelledby": "history-title history-desc",
                width: "100%",
                title { id: "history-title", "Scores over time" }
                desc { id: "history-desc", "{summary}" }
                for tick in [0, 25, 50, 75, 100] {
                    g { key: "{tick}",
                        line { x1: "{LEFT}", x2: "{W - RIGHT}", y1: "{y_at(tick as f64):.1}", y2: "{y_at(tick as f64):.1}", stroke: "#b1b4b6", stroke_width: "1" }
                        text { x: "{LEFT - 8.0}", y: "{y_at(tick as f64) + 5.0:.1}", text_anchor: "end", font_size: "14", fill: "#0b0c0c", "{tick}%" }
                    }
                }
                for (i, p) in points.iter().enumerate() {
                    g { key: "x{i}",
                        text { x: "{x_at(i):.1}", y: "{H - BOTTOM + 20.0}", text_anchor: "middle", font_size: "14", fill: "#0b0c0c", {p.on.format("%b %Y").to_string()} }
                        text { x: "{x_at(i):.1}", y: "{H - BOTTOM + 40.0}", text_anchor: "middle", font_size: "14", font_weight: "700", fill: "#0b0c0c", {tier_text(p.tier.as_deref())} }
                    }
                }
                for (si, (name, values)) in series.iter().enumerate() {
                    g { key: "s{si}",
                        polyline {
                            fill: "none",
                            stroke: COLOURS[si % 6],
                            stroke_width: if si == 0 { "4" } else { "2" },
                            stroke_dasharray: DASHES[si % 6],
                            points: values.iter().enumerate().filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x_at(i), y_at(v)))).collect::<Vec<_>>().join(" "),
                        }
                        for (i, v) in values.iter().enumerate() {
                            if let Some(v) = v {
                                g { key: "{i}", {marker(si, x_at(i), y_at(*v), COLOURS[si % 6])} }
                            }
                        }
                        if let Some((_, y)) = ends.iter().find(|(k, _)| *k == si) {
                            text { x: "{W - RIGHT + 12.0}", y: "{y + 5.0:.1}", font_size: "14", fill: "#0b0c0c", font_weight: if si == 0 { "700" } else { "400" }, "{name}" }
                        }
                    }
                }
            }
            figcaption { class: "hint", "{summary} The table below gives every figure." }
        }
        table { class: "table", id: "history",
            caption { "Tier and scores at each published visit" }
            thead { tr {
                th { scope: "col", "In effect from" }
                th { scope: "col", "Tier" }
                th { scope: "col", class: "numeric", "Overall" }
                if let Some(last) = points.last() {
                    for (t, _) in last.domains.iter() { th { key: "{t}", scope: "col", class: "numeric", "{t}" } }
                }
            } }
            tbody {
                for p in points.iter().rev() {
                    tr { key: "{p.on}",
                        td { {long_date(p.on)} }
                        td { {tier_text(p.tier.as_deref())} }
                        td { class: "numeric", {percent_text(p.overall)} }
                        for (t, v) in p.domains.iter() { td { key: "{t}", class: "numeric", {percent_text(*v)} } }
                    }
                }
            }
        }
    }
}
