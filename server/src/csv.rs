//! Writing CSV cells. Every CSV the server writes (payments, the BI exports, the Transparency Code
//! list) goes through [`field`], so no cell can reach a spreadsheet as a formula: a council
//! officer opening a download must never run text a provider or a device typed (CSV injection,
//! OWASP).

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula (OWASP's list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would run this text as a formula: it starts with one of OWASP's
/// characters and is not a plain number (a negative amount stays a number).
pub fn is_formula(s: &str) -> bool {
    s.starts_with(FORMULA_STARTS) && s.parse::<f64>().is_err()
}

/// A CSV cell, quoted as needed. Text a spreadsheet would run as a formula gets a leading
/// apostrophe; plain numbers, negative amounts included, stay numbers.
pub fn field(s: &str) -> Cow<'_, str> {
    let s: Cow<'_, str> = if is_formula(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    };
    if s.contains([',', '"', '\n', '\r', '\t']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        s
    }
}

/// Appends `cells` as one CSV line (each through [`field`]) and a newline.
pub fn push_line<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(c));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_defused() {
        for (cell, out) in [
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1+1", "'+1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3", "'-2+3"),
            ("\t=1+1", "\"'\t=1+1\""),
            ("\r=1+1", "\"'\r=1+1\""),
            ("-12.50", "-12.50"),
            ("+7", "+7"),
            ("Seaview", "Seaview"),
            ("a, b", "\"a, b\""),
            ("", ""),
        ] {
            assert_eq!(field(cell), out, "{cell:?}");
        }
    }

    #[test]
    fn a_line_joins_its_cells() {
        let mut out = String::new();
        push_line(&mut out, ["=1", "x,y", "3"]);
        assert_eq!(out, "'=1,\"x,y\",3\n");
    }
}
