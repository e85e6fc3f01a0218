//! The market view's bar charts, drawn on the server as SVG. Like the history chart they read
//! without colour: each series has its own pattern (solid, hatched, dotted, cross-hatched…),
//! named in a legend beside a swatch of that pattern; months ahead are set apart by a labelled
//! line; and every chart is followed by a table with every number, which is also the accessible
//! alternative to the picture.

use dioxus::prelude::*;

const W: f64 = 860.0;
const H: f64 = 340.0;
const LEFT: f64 = 86.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 60.0;

/// One bar: its label, the value of each series (in the series' order), and whether it is a
/// month ahead (committed, drawn after the dividing line).
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Short label under the bar (`Jan`), with the year under January and the first bar.
    pub label: String,
    /// The year line, if shown.
    pub year: Option<String>,
    /// Values, one per series.
    pub values: Vec<i64>,
    /// A month ahead.
    pub ahead: bool,
}

/// The patterns, in series order. Each is defined once per chart (ids prefixed by the chart's).
fn pattern_defs(id: &str) -> Element {
    rsx! {
        defs {
            pattern { id: "{id}-p0", width: "8", height: "8", pattern_units: "userSpaceOnUse",
                rect { width: "8", height: "8", fill: "#0b0c0c" }
            }
            pattern { id: "{id}-p1", width: "8", height: "8", pattern_units: "userSpaceOnUse", pattern_transform: "rotate(45)",
                rect { width: "8", height: "8", fill: "#ffffff" }
                line { x1: "0", y1: "0", x2: "0", y2: "8", stroke: "#0b0c0c", stroke_width: "4" }
            }
            pattern { id: "{id}-p2", width: "6", height: "6", pattern_units: "userSpaceOnUse",
                rect { width: "6", height: "6", fill: "#ffffff" }
                circle { cx: "3", cy: "3", r: "1.6", fill: "#0b0c0c" }
            }
            pattern { id: "{id}-p3", width: "8", height: "8", pattern_units: "userSpaceOnUse",
                rect { width: "8", height: "8", fill: "#ffffff" }
                path { d: "M0 0 L8 8 M8 0 L0 8", stroke: "#0b0c0c", stroke_width: "1.2" }
            }
            pattern { id: "{id}-p4", width: "8", height: "8", pattern_units: "userSpaceOnUse",
                rect { width: "8", height: "8", fill: "#ffffff" }
                line { x1: "0", y1: "4", x2: "8", y2: "4", stroke: "#0b0c0c", stroke_width: "2" }
            }
            pattern { id: "{id}-p5", width: "8", height: "8", pattern_units: "userSpaceOnUse",
                rect { width: "8", height: "8", fill: "#ffffff" }
            }
        }
    }
}

/// The fill of series `i` (the last pattern, plain white with an outline, repeats).
fn fill(id: &str, i: usize) -> String {
    format!("url(#{id}-p{})", i.min(5))
}

/// A round step for the axis: 1, 2 or 5 times a power of ten, giving about five ticks.
fn step_for(max: i64) -> i64 {
    let rough = (max.max(1) as f64 / 5.0).max(1.0);
    let pow = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= rough)
        .unwrap_or(pow * 10.0);
    step as i64
}

/// A stacked bar chart: `series` names (first at the bottom), `bars` in order, `unit` formats an
/// axis value. `title` and `summary` name the chart for screen readers; the caller puts the
/// table of every number after it.
pub fn stacked_bars(
    id: &str,
    title: &str,
    summary: &str,
    series: &[String],
    bars: &[Bar],
    unit: &dyn Fn(i64) -> String,
) -> Element {
    let n = bars.len().max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.7).max(4.0);
    let max = bars
        .iter()
        .map(|b| b.values.iter().filter(|v| **v > 0).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = step_for(max);
    let top = ((max + step - 1) / step) * step;
    let y_at = |v: i64| TOP + plot_h * (1.0 - v as f64 / top as f64);
    let ticks: Vec<i64> = (0..=top / step).map(|k| k * step).collect();
    // Rectangles: (key, x, y, height, series).
    let mut rects: Vec<(String, f64, f64, f64, usize)> = Vec::new();
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut base = 0;
        for (s, v) in b.values.iter().enumerate() {
            if *v <= 0 {
                continue;
            }
            let y0 = y_at(base);
            let y1 = y_at(base + v);
            rects.push((format!("{i}-{s}"), x, y1, y0 - y1, s));
            base += v;
        }
    }
    let every = if n > 24 { 3 } else { 1 };
    let first_ahead = bars.iter().position(|b| b.ahead);
    let divider = first_ahead.map(|i| LEFT + slot * i as f64);
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    rsx! {
        figure { class: "chart",
            svg {
                view_box: "0 0 {W} {H}",
                role: "img",
                "aria-labelledby": "{title_id} {desc_id}",
                width: "100%",
                title { id: "{title_id}", "{title}" }
                desc { id: "{desc_id}", "{summary}" }
                {pattern_defs(id)}
                for t in ticks.iter() {
                    g { key: "t{t}",
                        line { x1: "{LEFT}", x2: "{W - RIGHT}", y1: "{y_at(*t):.1}", y2: "{y_at(*t):.1}", stroke: "#b1b4b6", stroke_width: "1" }
                        text { x: "{LEFT - 8.0}", y: "{y_at(*t) + 5.0:.1}", text_anchor: "end", font_size: "13", fill: "#0b0c0c", {unit(*t)} }
                    }
                }
                for (key, x, y, h, s) in rects.iter() {
                    rect { key: "{key}", x: "{x:.1}", y: "{y:.1}", width: "{bar_w:.1}", height: "{h:.1}", fill: fill(id, *s), stroke: "#0b0c0c", stroke_width: "1" }
                }
                for (i, b) in bars.iter().enumerate() {
                    if i % every == 0 || b.year.is_some() {
                        g { key: "x{i}",
                            text { x: "{LEFT + slot * (i as f64 + 0.5):.1}", y: "{H - BOTTOM + 18.0}", text_anchor: "middle", font_size: "12", fill: "#0b0c0c", "{b.label}" }
                            if let Some(y) = &b.year {
                                text { x: "{LEFT + slot * (i as f64 + 0.5):.1}", y: "{H - BOTTOM + 34.0}", text_anchor: "middle", font_size: "12", font_weight: "700", fill: "#0b0c0c", "{y}" }
                            }
                        }
                    }
                }
                line { x1: "{LEFT}", x2: "{LEFT}", y1: "{TOP}", y2: "{H - BOTTOM}", stroke: "#0b0c0c", stroke_width: "1" }
                line { x1: "{LEFT}", x2: "{W - RIGHT}", y1: "{H - BOTTOM}", y2: "{H - BOTTOM}", stroke: "#0b0c0c", stroke_width: "1" }
                if let Some(x) = divider {
                    line { x1: "{x:.1}", x2: "{x:.1}", y1: "{TOP - 18.0}", y2: "{H - BOTTOM}", stroke: "#0b0c0c", stroke_width: "2", stroke_dasharray: "6 4" }
                    text { x: "{x - 6.0:.1}", y: "{TOP - 8.0}", text_anchor: "end", font_size: "13", font_weight: "700", fill: "#0b0c0c", "Past: payment schedules" }
                    text { x: "{x + 6.0:.1}", y: "{TOP - 8.0}", font_size: "13", font_weight: "700", fill: "#0b0c0c", "Ahead: committed" }
                }
            }
            ul { class: "chart-legend",
                for (i, name) in series.iter().enumerate() {
                    li { key: "{name}",
                        svg { width: "22", height: "22", view_box: "0 0 22 22", "aria-hidden": "true", "focusable": "false",
                            rect { x: "1", y: "1", width: "20", height: "20", fill: fill(id, i), stroke: "#0b0c0c", stroke_width: "1" }
                        }
                        " {name}"
                    }
                }
            }
            figcaption { class: "hint", "{summary} The table below gives every number." }
        }
    }
}
