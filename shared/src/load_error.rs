//! Errors from loading configuration data (framework packs, rule sets), naming the field at fault.

use std::fmt;

/// One problem with a configuration file, at a field path such as
/// `domains[0].standards[2].criteria[1].weight`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// Where the problem is; empty for the document as a whole.
    pub path: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A configuration document was rejected. Every problem found is listed, not just the first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// What kind of document it was: "framework pack", "rule set", …
    pub document: &'static str,
    /// Everything that is wrong with it.
    pub problems: Vec<FieldProblem>,
}

impl LoadError {
    /// Whether some problem is reported at exactly this field path.
    pub fn mentions(&self, path: &str) -> bool {
        self.problems.iter().any(|p| p.path == path)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} is invalid", self.document)?;
        for (i, p) in self.problems.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Collects problems while validating a document.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<FieldProblem>);

impl Problems {
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn into_result<T>(self, document: &'static str, value: T) -> Result<T, LoadError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(LoadError {
                document,
                problems: self.0,
            })
        }
    }
}

/// Parses TOML into `T`, reporting a syntax or type error with the path of the field.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    document: &'static str,
    text: &str,
) -> Result<T, LoadError> {
    let fail = |path: String, message: String| LoadError {
        document,
        problems: vec![FieldProblem { path, message }],
    };
    let de = toml::Deserializer::parse(text)
        .map_err(|e| fail(String::new(), one_line(&e.to_string())))?;
    #[cfg(feature = "error-paths")]
    let parsed = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        fail(path, one_line(e.into_inner().message()))
    });
    #[cfg(not(feature = "error-paths"))]
    let parsed = T::deserialize(de).map_err(|e| fail(String::new(), one_line(e.message())));
    parsed
}

/// TOML errors carry a multi-line source excerpt; a one-line message suits logs and the UI.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.starts_with("-->"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `id` is a usable identifier: lowercase letters, digits, `.`, `-` and `_`.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 120
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}
