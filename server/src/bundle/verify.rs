//! Checking a bundle on its own: every item against the manifest's hash, every visit revision
//! against its document read at the signed heads, every stored determination against the shared
//! engine's recomputation. Each problem is reported, naming the item; none stops the others
//! being checked.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use accredit_shared::visit::{Author, VisitDoc, VisitSnapshot, heads_from_strings};
use accredit_shared::{Engine, FrameworkPack, PackLibrary, RuleBook, RuleSet};
use uuid::Uuid;

use super::{
    BundleError, FORMAT, MANIFEST, Manifest, RULE_SETS, Records, Revision, StoredDetermination,
    StoredRuleSet, VERSION, determinations_name, document_name, records_name, revisions_name,
};
use crate::backup::Hashing;

/// A manifest larger than this is not one this server wrote.
const MAX_MANIFEST: u64 = 256 * 1024 * 1024;

/// What a verification found.
#[derive(Debug)]
pub struct Verified {
    /// What the bundle says it holds.
    pub manifest: Manifest,
    /// Items whose hash was checked.
    pub items_checked: usize,
    /// Visit revisions re-read at their signed heads.
    pub revisions_checked: usize,
    /// Stored determinations recomputed.
    pub determinations_checked: usize,
    /// Every difference, each naming its item; empty when the bundle holds up.
    pub problems: Vec<String>,
}

/// A bundle read: its manifest, its items that match their hashes (blobs only if asked for),
/// how many items were hashed, and each problem found.
pub(super) struct Contents {
    pub(super) manifest: Manifest,
    pub(super) kept: HashMap<String, Vec<u8>>,
    pub(super) hashed: usize,
    pub(super) problems: Vec<String>,
}

/// Reads the bundle at `path`, checking every item against the manifest.
pub(super) fn read(path: &Path, keep_blobs: bool) -> Result<Contents, BundleError> {
    let file = File::open(path).map_err(super::io(format!("opening {}", path.display())))?;
    let damaged = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| BundleError::Damaged(format!("{what}: {e}"))
    };
    let decoder = zstd::stream::read::Decoder::new(file)
        .map_err(damaged("the file is not zstd-compressed"))?;
    let mut tar = tar::Archive::new(decoder);
    let mut entries = tar.entries().map_err(damaged("reading the archive"))?;
    let mut first = entries
        .next()
        .ok_or_else(|| BundleError::Damaged("the archive is empty".into()))?
        .map_err(damaged("reading the manifest"))?;
    if &*first.path_bytes() != MANIFEST.as_bytes() || first.size() > MAX_MANIFEST {
        return Err(BundleError::Damaged(format!(
            "the archive does not start with its {MANIFEST}"
        )));
    }
    let mut json = Vec::new();
    first
        .read_to_end(&mut json)
        .map_err(damaged("reading the manifest"))?;
    drop(first);
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|e| BundleError::Damaged(format!("{MANIFEST} does not read: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BundleError::Damaged(format!(
            "the manifest's format is {:?}, not {FORMAT:?}",
            manifest.format
        )));
    }
    if manifest.version != VERSION {
        return Err(BundleError::Refused(format!(
            "the bundle's layout is version {}, this server reads version {VERSION}",
            manifest.version
        )));
    }
    let mut problems = Vec::new();
    let mut expected: HashMap<&str, (u64, &str)> = HashMap::new();
    for item in &manifest.items {
        if expected
            .insert(&item.path, (item.size, &item.blake3))
            .is_some()
        {
            problems.push(format!("{}: listed twice in the manifest", item.path));
        }
        if let Some(hash) = item.path.strip_prefix("blobs/").and_then(|p| p.get(3..))
            && hash != item.blake3
        {
            problems.push(format!(
                "{}: the manifest's hash is not the blob's name",
                item.path
            ));
        }
    }
    // Every item but the blobs is kept, if it matches its hash, for the checks that follow.
    let mut kept: HashMap<String, Vec<u8>> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for entry in entries {
        let entry = entry.map_err(damaged("reading the archive"))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(&(size, hash)) = expected.get(name.as_str()) else {
            problems.push(format!("{name}: not listed in the manifest"));
            continue;
        };
        if !seen.insert(name.clone()) {
            problems.push(format!("{name}: in the archive twice"));
            continue;
        }
        let blob = name.starts_with("blobs/");
        let mut reader = Hashing::new(entry);
        let mut bytes = Vec::new();
        if blob && !keep_blobs {
            std::io::copy(&mut reader, &mut std::io::sink())
        } else {
            reader.read_to_end(&mut bytes).map(|n| n as u64)
        }
        .map_err(damaged(&format!("reading {name}")))?;
        let (count, actual) = reader.finish();
        if count != size || actual != hash {
            problems.push(format!("{name}: hash mismatch"));
        } else if !blob || keep_blobs {
            kept.insert(name, bytes);
        }
    }
    for item in &manifest.items {
        if !seen.contains(&item.path) {
            problems.push(format!("{}: missing from the archive", item.path));
        }
    }
    Ok(Contents {
        manifest,
        kept,
        hashed: seen.len(),
        problems,
    })
}

/// Verifies the bundle at `path`.
pub fn verify(path: &Path) -> Result<Verified, BundleError> {
    let Contents {
        manifest,
        kept,
        hashed: items_checked,
        mut problems,
    } = read(path, false)?;
    let revisions_checked = check_visits(&manifest, &kept, &mut problems);
    let determinations_checked = check_determinations(&manifest, &kept, &mut problems);
    Ok(Verified {
        manifest,
        items_checked,
        revisions_checked,
        determinations_checked,
        problems,
    })
}

/// Parses a kept JSON item; a missing or damaged one is already reported, so it is skipped.
fn read_json<T: serde::de::DeserializeOwned>(
    kept: &HashMap<String, Vec<u8>>,
    name: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    let bytes = kept.get(name)?;
    match serde_json::from_slice(bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("{name}: does not read: {e}"));
            None
        }
    }
}

/// Re-reads each visit revision at its signed heads and compares it with the stored record.
fn check_visits(
    manifest: &Manifest,
    kept: &HashMap<String, Vec<u8>>,
    problems: &mut Vec<String>,
) -> usize {
    let mut checked = 0;
    let reader = Author {
        user_id: Uuid::nil(),
        name: "verify-bundle".into(),
    };
    for visit in &manifest.visits {
        let doc_name = document_name(*visit);
        let rev_name = revisions_name(*visit);
        let Some(revisions) = read_json::<Vec<Revision>>(kept, &rev_name, problems) else {
            continue;
        };
        let Some(bytes) = kept.get(&doc_name) else {
            continue;
        };
        let doc = match VisitDoc::load(bytes, reader.clone()) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{doc_name}: does not load: {e}"));
                continue;
            }
        };
        // A sign-off is written into the document after the heads it signs, so the signed
        // record is the document at those heads plus the sign-off that names them (as the
        // server builds revision 1).
        let signoff = match doc.snapshot() {
            Ok(s) => s.signoff,
            Err(e) => {
                problems.push(format!("{doc_name}: does not read: {e}"));
                continue;
            }
        };
        for r in revisions {
            checked += 1;
            // The evidence a signed record cites must travel with it.
            let record: VisitSnapshot = match serde_json::from_value(r.record.clone()) {
                Ok(record) => record,
                Err(e) => {
                    problems.push(format!(
                        "{rev_name}: revision {} does not read as a visit: {e}",
                        r.revision
                    ));
                    continue;
                }
            };
            for hash in record.photo_hashes() {
                let name = format!("blobs/{}/{hash}", hash.get(..2).unwrap_or(hash));
                if !manifest.items.iter().any(|i| i.path == name) {
                    problems.push(format!(
                        "{rev_name}: revision {} cites the photo {hash}, which is not in the bundle",
                        r.revision
                    ));
                }
            }
            // Each signature must still name a record the document holds, or "changed after
            // signing" could no longer be shown.
            for (id, sig) in &record.signatures {
                let readable =
                    heads_from_strings(&sig.heads).is_some_and(|h| doc.snapshot_at(&h).is_ok());
                if !readable {
                    problems.push(format!(
                        "{doc_name}: signature {id} of revision {} names heads the document cannot be read at",
                        r.revision
                    ));
                }
            }
            let Some(heads) = heads_from_strings(&r.heads) else {
                problems.push(format!(
                    "{rev_name}: revision {} has heads that are not change hashes",
                    r.revision
                ));
                continue;
            };
            let at_heads = doc.snapshot_at(&heads).map(|mut s| {
                if s.signoff.is_none() {
                    s.signoff = signoff.clone().filter(|o| o.heads == r.heads);
                }
                serde_json::to_value(&s)
            });
            match at_heads {
                Ok(Ok(value)) if value == r.record => {}
                Ok(Ok(_)) => problems.push(format!(
                    "{rev_name}: revision {} differs from {doc_name} read at its signed heads",
                    r.revision
                )),
                Ok(Err(e)) => problems.push(format!("{doc_name}: revision {}: {e}", r.revision)),
                Err(e) => problems.push(format!(
                    "{doc_name}: cannot be read at the signed heads of revision {}: {e}",
                    r.revision
                )),
            }
        }
    }
    checked
}

/// The bundle's rule book and packs, or the reasons they do not load.
fn rules_and_packs(
    manifest: &Manifest,
    kept: &HashMap<String, Vec<u8>>,
    problems: &mut Vec<String>,
) -> Option<(RuleBook, PackLibrary)> {
    let sets: Vec<StoredRuleSet> = read_json(kept, RULE_SETS, problems)?;
    let sets = sets
        .iter()
        .map(|s| RuleSet::from_toml(&s.source).map_err(|e| format!("rule set {}: {e}", s.version)))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|sets| RuleBook::new(sets).map_err(|e| e.to_string()));
    let book = match sets {
        Ok(b) => b,
        Err(e) => {
            problems.push(format!("{RULE_SETS}: does not load: {e}"));
            return None;
        }
    };
    let mut packs = PackLibrary::new();
    let mut ok = true;
    for item in manifest
        .items
        .iter()
        .filter(|i| i.path.starts_with("packs/"))
    {
        let Some(bytes) = kept.get(&item.path) else {
            ok = false;
            continue;
        };
        let loaded = std::str::from_utf8(bytes)
            .map_err(|e| e.to_string())
            .and_then(|t| FrameworkPack::from_toml(t).map_err(|e| e.to_string()))
            .and_then(|p| packs.insert(p).map_err(|e| e.to_string()));
        if let Err(e) = loaded {
            problems.push(format!("{}: does not load: {e}", item.path));
            ok = false;
        }
    }
    ok.then_some((book, packs))
}

/// Recomputes each stored determination and compares it with what was stored.
fn check_determinations(
    manifest: &Manifest,
    kept: &HashMap<String, Vec<u8>>,
    problems: &mut Vec<String>,
) -> usize {
    let Some((book, packs)) = rules_and_packs(manifest, kept, problems) else {
        problems.push("determinations: not recomputed, the rule sets or packs are damaged".into());
        return 0;
    };
    let engine = Engine::new(&packs, &book);
    let mut checked = 0;
    for location in &manifest.locations {
        let det_name = determinations_name(location.id);
        let Some(records) = read_json::<Records>(kept, &records_name(location.id), problems) else {
            continue;
        };
        let Some(stored) = read_json::<Vec<StoredDetermination>>(kept, &det_name, problems) else {
            continue;
        };
        for s in stored {
            checked += 1;
            let Ok(day) = accredit_shared::calendar::parse_date(&s.day) else {
                problems.push(format!(
                    "{det_name}: determination {} has the day {:?}",
                    s.seq, s.day
                ));
                continue;
            };
            let now = engine.determine(&records.records, day);
            let mut differs = BTreeMap::new();
            let tier = now.tier.as_ref().map(|t| t.name.clone());
            if tier != s.tier {
                differs.insert(
                    "tier",
                    format!("{:?} stored, {:?} recomputed", s.tier, tier),
                );
            }
            if now.rate.weekly.0 != s.weekly_pence {
                differs.insert(
                    "weekly amount",
                    format!(
                        "{} pence stored, {} recomputed",
                        s.weekly_pence, now.rate.weekly.0
                    ),
                );
            }
            let status = crate::tiers::status_text(now.status);
            if status != s.status {
                differs.insert(
                    "status",
                    format!("{} stored, {status} recomputed", s.status),
                );
            }
            if differs.is_empty() && now != s.explanation {
                differs.insert("explanation", "differs".into());
            }
            if !differs.is_empty() {
                let what: Vec<String> = differs
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                problems.push(format!(
                    "{det_name}: location {} ({}) on {} (determination {}, {}): {}",
                    location.name,
                    location.cqc_location_id,
                    s.day,
                    s.seq,
                    s.trigger,
                    what.join("; ")
                ));
            }
        }
    }
    checked
}
