//! `accredit`: the field app. The Dioxus interface arrives with the field-app issue; for now the
//! binary checks that the shipped framework pack loads, which is what the app will do at start.

use accredit_shared::FrameworkPack;
use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/frameworks/cqc-quality-statements.toml"
    );
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let pack = FrameworkPack::from_toml(&text)?;
    println!(
        "accredit field app: framework {} {} loaded ({} criteria). The visit editor is not built yet.",
        pack.id,
        pack.version,
        pack.criterion_count()
    );
    Ok(())
}
