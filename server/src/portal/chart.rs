//! The history chart: the overall score at each published visit, as one line over the tier bands
//! of the rules in force (the overall score each tier needs, shaded behind it), drawn on the
//! server as an SVG. It reads without colour: each band is named in words at its edge, each point
//! carries its score and the tier under it, and the table below gives every domain's score, which
//! is also the accessible alternative to the picture.

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

/// A tier's band: its name and the overall score it needs (inclusive), and each domain's minimum.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// The tier's name.
    pub name: String,
    /// Overall percentage needed.
    pub min_overall: Ratio,
    /// Percentage every domain needs.
    pub min_domain: Ratio,
}

const W: f64 = 800.0;
const H: f64 = 320.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 56.0;

/// Band fills, best tier first: light enough for black text and the line on top; the names in
/// words, not the shades, say which band is which.
const FILLS: [&str; 4] = ["#d2e2f1", "#e3edf7", "#f1f6fb", "#f8f8f8"];

/// The chart, its caption and the table, or a line saying there is no history yet. `bands` are
/// the tiers of the rule set in force, best first, as the bands behind the line.
pub fn history_chart(points: &[HistoryPoint], bands: &[Band], rules: &str) -> Element {
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
            LEFT + 24.0 + (plot_w - 48.0) * i as f64 / (n - 1) as f64
        }
    };
    // The scale starts a little below the lowest score or threshold, so narrow bands (often ten
    // points apart) stay wide enough to read; its ticks say where it starts.
    let lowest = points
        .iter()
        .filter_map(|p| p.overall.map(|o| o.to_f64()))
        .chain(bands.iter().map(|b| b.min_overall.to_f64()))
        .fold(100.0_f64, f64::min);
    let lo = ((lowest - 10.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
    let y_at = |p: f64| TOP + plot_h * (1.0 - (p - lo) / (100.0 - lo));
    let ticks: Vec<i32> = (0..=100)
        .step_by(10)
        .filter(|t| f64::from(*t) >= lo)
        .collect();
    // Each band runs from its tier's threshold up to the next better tier's (or 100%); below the
    // lowest threshold is "No tier".
    let mut sorted: Vec<&Band> = bands.iter().collect();
    sorted.sort_by_key(|b| std::cmp::Reverse(b.min_overall));
    let mut shaded: Vec<(String, f64, f64, String)> = Vec::new();
    let mut top = 100.0;
    for b in &sorted {
        let low = b.min_overall.to_f64().max(lo);
        shaded.push((
            b.name.clone(),
            low,
            top,
            format!("from {}", percent_text(Some(b.min_overall))),
        ));
        top = low;
    }
    if let Some(lowest) = sorted.last().filter(|_| top > lo) {
        shaded.push((
            "No tier".to_owned(),
            lo,
            top,
            format!("below {}", percent_text(Some(lowest.min_overall))),
        ));
    }
    // Band names sit beside their bands, nudged apart where bands are too narrow for them.
    let mut label_y: Vec<f64> = shaded
        .iter()
        .map(|(_, low, high, _)| (y_at(*low) + y_at(*high)) / 2.0 + 5.0)
        .collect();
    for k in 1..label_y.len() {
        if label_y[k] - label_y[k - 1] < 20.0 {
            label_y[k] = label_y[k - 1] + 20.0;
        }
    }
    let overall: Vec<(usize, f64, String)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.overall.map(|o| (i, o.to_f64(), percent_text(Some(o)))))
        .collect();
    let line = overall
        .iter()
        .map(|(i, v, _)| format!("{:.1},{:.1}", x_at(*i), y_at(*v)))
        .collect::<Vec<_>>()
        .join(" ");
    let band_words = sorted
        .iter()
        .map(|b| {
            format!(
                "{} needs {} overall",
                b.name,
                percent_text(Some(b.min_overall))
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let summary = format!(
        "Overall score at {} published {}, from {} to {}: {}. Latest tier {}. The scale runs from {lo}% to 100%.",
        n,
        if n == 1 { "visit" } else { "visits" },
        long_date(points[0].on),
        long_date(points[n - 1].on),
        points
            .iter()
            .map(|p| percent_text(p.overall))
            .collect::<Vec<_>>()
            .join(", "),
        tier_text(points[n - 1].tier.as_deref())
    );
    let bands_text = if band_words.is_empty() {
        String::new()
    } else {
        format!(" Bands behind the line: {band_words} ({rules}).")
    };
    let domain_rule = sorted
        .iter()
        .map(|b| format!("{} {}", b.name, percent_text(Some(b.min_domain))))
        .collect::<Vec<_>>()
        .join(", ");
    rsx! {
        figure { class: "chart",
            svg {
                view_box: "0 0 {W} {H}",
                role: "img",
                "aria-labelledby": "history-title history-desc",
                width: "100%",
                title { id: "history-title", "Overall score over time, against the tier bands" }
                desc { id: "history-desc", "{summary}{bands_text}" }
                for (i, (name, low, high, label)) in shaded.iter().enumerate() {
                    g { key: "band{i}",
                        rect { x: "{LEFT}", y: "{y_at(*high):.1}", width: "{plot_w}", height: "{y_at(*low) - y_at(*high):.1}", fill: FILLS[i.min(FILLS.len() - 1)] }
                        line { x1: "{LEFT}", x2: "{W - RIGHT}", y1: "{y_at(*low):.1}", y2: "{y_at(*low):.1}", stroke: "#6f777b", stroke_width: "1", stroke_dasharray: "4 3" }
                        text { x: "{W - RIGHT + 10.0}", y: "{label_y[i]:.1}", font_size: "14", fill: "#0b0c0c",
                            tspan { font_weight: "700", "{name}" }
                            " {label}"
                        }
                    }
                }
                for tick in ticks.iter() {
                    text { key: "t{tick}", x: "{LEFT - 8.0}", y: "{y_at(f64::from(*tick)) + 5.0:.1}", text_anchor: "end", font_size: "14", fill: "#0b0c0c", "{tick}%" }
                }
                line { x1: "{LEFT}", x2: "{LEFT}", y1: "{TOP}", y2: "{H - BOTTOM}", stroke: "#0b0c0c", stroke_width: "1" }
                for (i, p) in points.iter().enumerate() {
                    g { key: "x{i}",
                        text { x: "{x_at(i):.1}", y: "{H - BOTTOM + 20.0}", text_anchor: "middle", font_size: "14", fill: "#0b0c0c", {p.on.format("%b %Y").to_string()} }
                        text { x: "{x_at(i):.1}", y: "{H - BOTTOM + 40.0}", text_anchor: "middle", font_size: "14", font_weight: "700", fill: "#0b0c0c", {tier_text(p.tier.as_deref())} }
                    }
                }
                polyline { fill: "none", stroke: "#0b0c0c", stroke_width: "3", points: "{line}" }
                for (i, v, text) in overall.iter() {
                    g { key: "p{i}",
                        circle { cx: "{x_at(*i):.1}", cy: "{y_at(*v):.1}", r: "5.5", fill: "#0b0c0c", stroke: "#ffffff", stroke_width: "2" }
                        text { x: "{x_at(*i):.1}", y: "{y_at(*v) - 11.0:.1}", text_anchor: "middle", font_size: "14", font_weight: "700", fill: "#0b0c0c", stroke: "#ffffff", stroke_width: "4", paint_order: "stroke", "{text}" }
                    }
                }
            }
            figcaption { class: "hint",
                "{summary}"
                if !band_words.is_empty() {
                    {format!(" The shaded bands show the overall score each tier needs under {rules}. Each tier also needs a minimum score in every domain ({domain_rule}), and a CQC rating or a gate can limit the tier, so the tier written under each visit is the one awarded.")}
                }
                " The table below gives every domain's score."
            }
        }
        table { class: "table compact", id: "history",
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
                        th { scope: "row", {long_date(p.on)} }
                        td { {tier_text(p.tier.as_deref())} }
                        td { class: "numeric", {percent_text(p.overall)} }
                        for (t, v) in p.domains.iter() { td { key: "{t}", class: "numeric", {percent_text(*v)} } }
                    }
                }
            }
        }
    }
}
