//! Points and strokes as the document stores them: whole numbers in a plain string, compact and
//! exact (a signature of a few hundred points is a few kilobytes, not thousands of list items).

use serde::{Deserialize, Serialize};

/// A point in whole units of its drawing surface (pixels of a photo, or of a signature pad).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Across, from the left edge.
    pub x: u32,
    /// Down, from the top edge.
    pub y: u32,
}

/// The most points a document may hold in one signature or annotation: a long signature drawn
/// slowly is well under this, and it bounds what a client can make the server read.
pub const MAX_POINTS: usize = 5000;

/// `x,y` pairs separated by spaces.
pub fn encode_points(points: &[Point]) -> String {
    points
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads `x,y x,y …`; `None` if any pair is not two whole numbers.
pub fn decode_points(text: &str) -> Option<Vec<Point>> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (x, y) = pair.split_once(',')?;
            Some(Point {
                x: strict_u32(x)?,
                y: strict_u32(y)?,
            })
        })
        .collect()
}

/// Strokes (each a list of points) separated by `;`.
pub fn encode_strokes(strokes: &[Vec<Point>]) -> String {
    strokes
        .iter()
        .map(|s| encode_points(s))
        .collect::<Vec<_>>()
        .join(";")
}

/// Reads strokes written by [`encode_strokes`]; an empty text is no strokes; an empty stroke is
/// malformed.
pub fn decode_strokes(text: &str) -> Option<Vec<Vec<Point>>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(';')
        .map(|s| decode_points(s).filter(|p| !p.is_empty()))
        .collect()
}

/// Digits only: no sign, no spaces, no leading `+`, so every number has one spelling.
fn strict_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Whether every point lies within a `width` × `height` surface (edges included).
pub fn within(points: &[Point], width: u32, height: u32) -> bool {
    points.iter().all(|p| p.x <= width && p.y <= height)
}

/// The SVG path of strokes (`M x y L x y …` per stroke), for drawing them as vectors.
pub fn svg_path(strokes: &[Vec<Point>]) -> String {
    let mut out = String::new();
    for stroke in strokes {
        for (i, p) in stroke.iter().enumerate() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(if i == 0 { "M" } else { "L" });
            out.push_str(&format!("{} {}", p.x, p.y));
        }
        // A tap leaves a dot: a zero-length segment draws one with round caps.
        if stroke.len() == 1 {
            out.push_str(" l0 0.01");
        }
    }
    out
}
