//! A second version of the shipped framework pack, published to a test server: one criterion
//! renamed, one removed, with the mapping from the shipped version.

use std::path::{Path, PathBuf};

use crate::workspace;

/// The shipped pack's version.
pub const V1: &str = "2026.1";
/// The version the tests publish.
pub const V2: &str = "2026.2";
/// A criterion of v1 that v2 renames ...
pub const RENAMED_FROM: &str = "safe.learning-culture.incident-reporting";
/// ... to this.
pub const RENAMED_TO: &str = "safe.learning-culture.incident-recording";
/// A criterion of v1 that v2 removes.
pub const REMOVED: &str = "safe.learning-culture.duty-of-candour";

/// A copy of the shipped assets under `dir`, for a server started with `ACCREDIT_ASSETS`
/// pointing at it, into which a test can publish a pack version.
pub fn assets_copy(dir: &Path) -> PathBuf {
    let to = dir.join("assets");
    for sub in ["frameworks", "schemes"] {
        std::fs::create_dir_all(to.join(sub)).expect("assets folder");
        for entry in std::fs::read_dir(workspace().join("assets").join(sub)).expect("assets") {
            let entry = entry.expect("assets entry");
            std::fs::copy(entry.path(), to.join(sub).join(entry.file_name())).expect("copy");
        }
    }
    for entry in std::fs::read_dir(workspace().join("assets")).expect("assets") {
        let entry = entry.expect("assets entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
    to
}

/// Writes v2 of the shipped pack into `assets` (a server reads it when it next starts).
pub fn publish_v2(assets: &Path) {
    let v1 =
        std::fs::read_to_string(workspace().join("assets/frameworks/cqc-quality-statements.toml"))
            .expect("the shipped pack");
    let mut v2 = v1
        .replace(
            &format!("version = \"{V1}\""),
            &format!("version = \"{V2}\""),
        )
        .replace(
            &format!("id = \"{RENAMED_FROM}\""),
            &format!("id = \"{RENAMED_TO}\""),
        );
    let start = v2
        .find(&format!(
            "[[domains.standards.criteria]]\nid = \"{REMOVED}\""
        ))
        .expect("the criterion to remove");
    let end = start + v2[start..].find("\n\n").expect("the end of its block") + 2;
    v2.replace_range(start..end, "");
    v2 += &format!(
        "\n[migration]\nfrom_version = \"{V1}\"\nremoved = [\"{REMOVED}\"]\n\
         [[migration.map]]\nfrom = [\"{RENAMED_FROM}\"]\nto = [\"{RENAMED_TO}\"]\n"
    );
    std::fs::write(
        assets.join("frameworks/cqc-quality-statements-2026.2.toml"),
        v2,
    )
    .expect("writing v2");
}
