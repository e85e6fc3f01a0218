//! Marks drawn over a photo (arrows, circles, freehand lines, labels), kept apart from the
//! photo itself: the original's bytes and hash never change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::Author;
use super::points::{MAX_POINTS, Point, within};

/// The longest label.
pub const MAX_LABEL_CHARS: usize = 200;

/// Kinds of mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationKind {
    /// From its first point to its second, with the head at the second.
    Arrow,
    /// Centred on its first point, passing through its second.
    Circle,
    /// A line through its points, as drawn.
    Freehand,
    /// Text placed at its one point.
    Label,
}

impl AnnotationKind {
    /// Every kind, in the order a toolbar lists them.
    pub const ALL: [AnnotationKind; 4] = [
        AnnotationKind::Arrow,
        AnnotationKind::Circle,
        AnnotationKind::Freehand,
        AnnotationKind::Label,
    ];

    /// The kind's name in a sentence.
    pub fn noun(self) -> &'static str {
        match self {
            AnnotationKind::Arrow => "arrow",
            AnnotationKind::Circle => "circle",
            AnnotationKind::Freehand => "freehand line",
            AnnotationKind::Label => "label",
        }
    }
}

/// One mark on a photo. The document keys marks by the photo's content hash, so they belong to
/// those exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoAnnotation {
    /// The BLAKE3 hash of the photo marked.
    pub photo_hash: String,
    /// What kind of mark.
    pub kind: AnnotationKind,
    /// Its points, in the photo's pixels.
    pub points: Vec<Point>,
    /// The text of a label (empty for other kinds).
    pub label: String,
    /// Who drew it.
    pub by: Author,
    /// When.
    pub at: DateTime<Utc>,
}

/// A new mark, as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnotationDraft {
    /// What kind of mark.
    pub kind: AnnotationKind,
    /// Its points, in the photo's pixels.
    pub points: Vec<Point>,
    /// The text of a label.
    pub label: String,
}

/// What is wrong with a mark on a `width` × `height` photo; `None` when all is well. Checked by
/// the device before writing and by the server on every mark it receives.
pub fn annotation_problem(
    kind: AnnotationKind,
    points: &[Point],
    label: &str,
    width: u32,
    height: u32,
) -> Option<String> {
    let count_ok = match kind {
        AnnotationKind::Arrow | AnnotationKind::Circle => points.len() == 2,
        AnnotationKind::Freehand => (2..=MAX_POINTS).contains(&points.len()),
        AnnotationKind::Label => points.len() == 1,
    };
    if !count_ok {
        return Some(match kind {
            AnnotationKind::Arrow => "an arrow needs a start and an end".into(),
            AnnotationKind::Circle => "a circle needs a centre and a point on its edge".into(),
            AnnotationKind::Freehand => {
                format!("a freehand line needs 2 to {MAX_POINTS} points")
            }
            AnnotationKind::Label => "a label needs one point to stand at".into(),
        });
    }
    if points.windows(2).all(|w| w[0] == w[1]) && kind != AnnotationKind::Label {
        return Some(format!(
            "the {} has no length: drag, or tap two different places",
            kind.noun()
        ));
    }
    if !within(points, width, height) {
        return Some(format!("the {} goes outside the photo", kind.noun()));
    }
    match kind {
        AnnotationKind::Label if label.trim().is_empty() => Some("Enter the label's text".into()),
        AnnotationKind::Label if label.chars().count() > MAX_LABEL_CHARS => Some(format!(
            "A label can be {MAX_LABEL_CHARS} characters at most"
        )),
        AnnotationKind::Label => None,
        _ if !label.is_empty() => Some(format!("only a label has text, not a {}", kind.noun())),
        _ => None,
    }
}

/// A piece of a mark as drawn in SVG, in the photo's pixels: the field app and the portal draw
/// marks from these, so a mark looks the same everywhere.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A straight line.
    Line {
        /// Start, across.
        x1: f64,
        /// Start, down.
        y1: f64,
        /// End, across.
        x2: f64,
        /// End, down.
        y2: f64,
    },
    /// A filled triangle (an arrow's head), as SVG `points`.
    Head(String),
    /// A circle.
    Circle {
        /// Centre, across.
        cx: f64,
        /// Centre, down.
        cy: f64,
        /// Radius.
        r: f64,
    },
    /// A line through points, as SVG `points`.
    Polyline(String),
    /// Text with its baseline starting at a point.
    Text {
        /// Across.
        x: f64,
        /// Down.
        y: f64,
        /// The text.
        text: String,
    },
}

/// The shapes that draw a mark.
pub fn shapes(kind: AnnotationKind, points: &[Point], label: &str) -> Vec<Shape> {
    let f = |p: &Point| (f64::from(p.x), f64::from(p.y));
    match (kind, points) {
        (AnnotationKind::Arrow, [a, b]) => {
            let ((x1, y1), (x2, y2)) = (f(a), f(b));
            let len = (x2 - x1).hypot(y2 - y1).max(1.0);
            // The head's size follows the arrow's length, within limits that stay visible.
            let head = (len * 0.25).clamp(8.0, 60.0);
            let (ux, uy) = ((x2 - x1) / len, (y2 - y1) / len);
            let (bx, by) = (x2 - ux * head, y2 - uy * head);
            let (px, py) = (-uy * head * 0.5, ux * head * 0.5);
            vec![
                Shape::Line {
                    x1,
                    y1,
                    x2: bx,
                    y2: by,
                },
                Shape::Head(format!(
                    "{x2:.1},{y2:.1} {:.1},{:.1} {:.1},{:.1}",
                    bx + px,
                    by + py,
                    bx - px,
                    by - py
                )),
            ]
        }
        (AnnotationKind::Circle, [c, e]) => {
            let ((cx, cy), (ex, ey)) = (f(c), f(e));
            vec![Shape::Circle {
                cx,
                cy,
                r: (ex - cx).hypot(ey - cy),
            }]
        }
        (AnnotationKind::Freehand, pts) if pts.len() >= 2 => {
            vec![Shape::Polyline(super::points::encode_points(pts))]
        }
        (AnnotationKind::Label, [p]) => {
            let (x, y) = f(p);
            vec![Shape::Text {
                x,
                y,
                text: label.to_owned(),
            }]
        }
        _ => Vec::new(),
    }
}

/// How thick a mark's lines are on a photo `width` pixels wide, so marks read at any size.
pub fn stroke_width(width: u32) -> f64 {
    (f64::from(width) / 150.0).max(2.0)
}

/// One line describing a mark, as a text alternative for people who cannot see it.
pub fn describe(mark: &PhotoAnnotation) -> String {
    let what = match mark.kind {
        AnnotationKind::Label => format!("Label “{}”", mark.label),
        other => {
            let noun = other.noun();
            let mut chars = noun.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    };
    let place = match mark.points.first() {
        Some(p) => format!(" at {}, {}", p.x, p.y),
        None => String::new(),
    };
    format!("{what}{place}, by {}", mark.by.name)
}

/// The colour marks are drawn in: strong on light walls, outlined in white on dark ones.
pub const MARK_COLOUR: &str = "#d4351c";

/// SVG elements drawing `marks` over a photo `width` pixels wide (the SVG's view box is the
/// photo's pixels), text escaped: the portal and the field app draw marks with the same markup.
pub fn svg_markup<'a>(marks: impl IntoIterator<Item = &'a PhotoAnnotation>, width: u32) -> String {
    let sw = stroke_width(width);
    let font = (f64::from(width) / 30.0).max(14.0);
    let mut out = format!(
        "<g fill=\"none\" stroke=\"{MARK_COLOUR}\" stroke-width=\"{sw:.1}\" stroke-linecap=\"round\" stroke-linejoin=\"round\">"
    );
    for mark in marks {
        for s in shapes(mark.kind, &mark.points, &mark.label) {
            out.push_str(&shape_markup(&s, sw, font));
        }
    }
    out.push_str("</g>");
    out
}

fn shape_markup(s: &Shape, sw: f64, font: f64) -> String {
    match s {
        Shape::Line { x1, y1, x2, y2 } => {
            format!("<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"/>")
        }
        Shape::Head(points) => format!("<polygon points=\"{points}\" fill=\"{MARK_COLOUR}\"/>"),
        Shape::Circle { cx, cy, r } => {
            format!("<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{r:.1}\"/>")
        }
        Shape::Polyline(points) => format!("<polyline points=\"{points}\"/>"),
        Shape::Text { x, y, text } => format!(
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{font:.0}\" font-weight=\"bold\" fill=\"{MARK_COLOUR}\" stroke=\"#ffffff\" stroke-width=\"{sw:.1}\" paint-order=\"stroke\">{}</text>",
            escape(text)
        ),
    }
}

/// Text made safe inside SVG markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
