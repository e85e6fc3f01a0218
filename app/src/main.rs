//! `accredit`: the field app.

fn main() -> anyhow::Result<()> {
    Ok(())
}
