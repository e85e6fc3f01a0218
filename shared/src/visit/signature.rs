//! Signatures drawn on the tablet at the end of a visit, bound to the record they signed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::Author;
use super::points::{MAX_POINTS, Point, within};

/// The largest signature pad, in its own units, either way.
pub const MAX_PAD: u32 = 4000;

/// The longest signer's name or role.
pub const MAX_SIGNER_CHARS: usize = 200;

/// A signature: who signed, in what role, the strokes they drew, and the document heads the
/// record stood at when they signed, so anyone can tell later whether it changed since.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The signer's name, as typed.
    pub name: String,
    /// Their role, as typed (for example "Registered manager").
    pub role: String,
    /// When they signed.
    pub signed_at: DateTime<Utc>,
    /// The document heads (hex change hashes) of the record they signed.
    pub heads: Vec<String>,
    /// Width of the pad the strokes were drawn on.
    pub width: u32,
    /// Height of the pad.
    pub height: u32,
    /// The strokes, as drawn (none for a signer who typed their name only).
    pub strokes: Vec<Vec<Point>>,
    /// The signed-in user whose device took the signature.
    pub taken_by: Author,
}

/// What a device collects to sign: the rest comes from the document and the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureDraft {
    /// The signer's name, as typed.
    pub name: String,
    /// Their role, as typed.
    pub role: String,
    /// Width of the pad.
    pub width: u32,
    /// Height of the pad.
    pub height: u32,
    /// The strokes drawn.
    pub strokes: Vec<Vec<Point>>,
}

/// What is wrong with a signature, as a message for the person signing; `None` when all is
/// well. The device checks this before writing, and the server again on every signature it
/// receives.
pub fn signature_problem(
    name: &str,
    role: &str,
    width: u32,
    height: u32,
    strokes: &[Vec<Point>],
) -> Option<String> {
    let sized = |s: &str| !s.trim().is_empty() && s.chars().count() <= MAX_SIGNER_CHARS;
    if !sized(name) {
        return Some(format!(
            "Enter the signer's name ({MAX_SIGNER_CHARS} characters at most)"
        ));
    }
    if !sized(role) {
        return Some(format!(
            "Enter the signer's role ({MAX_SIGNER_CHARS} characters at most)"
        ));
    }
    if width == 0 || height == 0 || width > MAX_PAD || height > MAX_PAD {
        return Some(format!(
            "the signature pad must be 1 to {MAX_PAD} units each way"
        ));
    }
    if strokes.iter().any(Vec::is_empty) {
        return Some("a stroke of a signature has no points".into());
    }
    if strokes.iter().map(Vec::len).sum::<usize>() > MAX_POINTS {
        return Some(format!(
            "the signature has more than {MAX_POINTS} points: clear it and sign again"
        ));
    }
    if !strokes.iter().all(|s| within(s, width, height)) {
        return Some("a point of the signature lies outside its pad".into());
    }
    None
}
