//! Importing a bundle into a server's data directory: only a bundle that verifies is imported,
//! and all of it goes in one transaction (blob files first, as the server always writes them), so
//! a failure leaves the database as it was. The server must not be running on the directory.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::verify::{Contents, read};
use super::{
    BundleError, Manifest, RULE_SETS, Records, Revision, StoredDetermination, StoredRuleSet,
    VisitRow, audit_name, determinations_name, document_name, records_name, revisions_name,
    visit_name,
};
use crate::error::ServiceError;
use crate::state::{AppState, now_text};

/// A bundle imported.
#[derive(Debug)]
pub struct Imported {
    /// What it held.
    pub manifest: Manifest,
}

/// Imports the bundle `from` into the server state's data directory.
pub fn import(state: &AppState, from: &Path) -> Result<Imported, BundleError> {
    let checked = super::verify(from)?;
    if !checked.problems.is_empty() {
        return Err(BundleError::Refused(format!(
            "the bundle does not verify, so nothing was imported: {}",
            checked.problems.join("; ")
        )));
    }
    let Contents {
        manifest,
        kept,
        problems,
        ..
    } = read(from, true)?;
    if !problems.is_empty() {
        return Err(BundleError::Damaged(problems.join("; ")));
    }
    let get = |name: &str| {
        kept.get(name)
            .ok_or_else(|| BundleError::Damaged(format!("{name}: missing")))
    };
    let parse = |name: &str| -> Result<serde_json::Value, BundleError> {
        serde_json::from_slice(get(name)?)
            .map_err(|e| BundleError::Damaged(format!("{name}: does not read: {e}")))
    };
    // Blob files go in first: a blob's row is only ever written once its file is in place.
    let blob_dir = state.config.blob_dir();
    let mut blobs = Vec::new();
    for item in manifest
        .items
        .iter()
        .filter(|i| i.path.starts_with("blobs/"))
    {
        let bytes = get(&item.path)?;
        store_blob(&blob_dir, &item.blake3, bytes)?;
        blobs.push((item.blake3.clone(), bytes.len() as i64));
    }
    let json = parse;
    let rule_sets: Vec<StoredRuleSet> = serde_json::from_value(json(RULE_SETS)?)
        .map_err(|e| BundleError::Damaged(format!("{RULE_SETS}: {e}")))?;
    let mut locations = Vec::new();
    for l in &manifest.locations {
        let records: Records = serde_json::from_value(json(&records_name(l.id))?)
            .map_err(|e| BundleError::Damaged(format!("{}: {e}", records_name(l.id))))?;
        let dets: Vec<StoredDetermination> =
            serde_json::from_value(json(&determinations_name(l.id))?)
                .map_err(|e| BundleError::Damaged(format!("{}: {e}", determinations_name(l.id))))?;
        let audit: Vec<serde_json::Value> = serde_json::from_value(json(&audit_name(l.id))?)
            .map_err(|e| BundleError::Damaged(format!("{}: {e}", audit_name(l.id))))?;
        locations.push((records, dets, audit));
    }
    let mut visits = Vec::new();
    for v in &manifest.visits {
        let revisions: Vec<Revision> = serde_json::from_value(json(&revisions_name(*v))?)
            .map_err(|e| BundleError::Damaged(format!("{}: {e}", revisions_name(*v))))?;
        let row: VisitRow = serde_json::from_value(json(&visit_name(*v))?)
            .map_err(|e| BundleError::Damaged(format!("{}: {e}", visit_name(*v))))?;
        visits.push((*v, get(&document_name(*v))?.clone(), revisions, row));
    }
    state
        .db
        .write(|tx| write_all(tx, &rule_sets, &locations, &visits, &blobs))
        .map_err(|e| BundleError::Refused(format!("nothing was imported: {}", e.message())))?;
    Ok(Imported { manifest })
}

/// Puts a blob's file in place (written beside it, synced, then renamed), unless it is there.
fn store_blob(blob_dir: &Path, hash: &str, bytes: &[u8]) -> Result<(), BundleError> {
    use std::io::Write;
    let path = crate::backup::blob_path(blob_dir, hash);
    if path.is_file() {
        return Ok(());
    }
    let dir = path
        .parent()
        .ok_or_else(|| BundleError::Data(format!("{} has no directory", path.display())))?;
    let storing = format!("storing the blob {}", path.display());
    std::fs::create_dir_all(dir).map_err(super::io(storing.clone()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(super::io(storing.clone()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(super::io(storing.clone()))?;
    file.persist(&path).map_err(|e| BundleError::Io {
        what: storing,
        error: e.error,
    })?;
    Ok(())
}

type LocationParts = (Records, Vec<StoredDetermination>, Vec<serde_json::Value>);
type VisitParts = (Uuid, Vec<u8>, Vec<Revision>, VisitRow);

fn write_all(
    tx: &Connection,
    rule_sets: &[StoredRuleSet],
    locations: &[LocationParts],
    visits: &[VisitParts],
    blobs: &[(String, i64)],
) -> Result<(), ServiceError> {
    let now = now_text();
    for r in rule_sets {
        let existing: Option<String> = tx
            .query_row(
                "SELECT source FROM rule_sets WHERE version = ?1",
                [&r.version],
                |row| row.get(0),
            )
            .optional()?;
        match existing {
            Some(source) if source == r.source => {}
            Some(_) => {
                return Err(ServiceError::Conflict(format!(
                    "this server's rule set {} differs from the bundle's",
                    r.version
                )));
            }
            None => {
                tx.execute(
                    "INSERT INTO rule_sets (version, effective_from, source, created_by, created_at) VALUES (?1, ?2, ?3, NULL, ?4)",
                    params![r.version, r.effective_from, r.source, now],
                )?;
            }
        }
    }
    for (hash, size) in blobs {
        tx.execute(
            "INSERT OR IGNORE INTO blobs (hash, size, uploaded_by, uploaded_at) VALUES (?1, ?2, 'bundle import', ?3)",
            params![hash, size, now],
        )?;
    }
    for (records, dets, audit) in locations {
        let l = &records.records.location;
        let taken: Option<String> = tx
            .query_row(
                "SELECT id FROM locations WHERE id = ?1 OR cqc_location_id = ?2",
                params![l.id.to_string(), l.cqc_location_id],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(ServiceError::Conflict(format!(
                "this server already has the location {} ({}): import into a fresh server",
                l.name, l.cqc_location_id
            )));
        }
        tx.execute(
            "INSERT OR IGNORE INTO providers (id, name) VALUES (?1, ?2)",
            params![l.provider_id.to_string(), records.provider_name],
        )?;
        tx.execute(
            "INSERT INTO locations (id, provider_id, cqc_location_id, name, address, service_type, registered_from, registered_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                l.id.to_string(),
                l.provider_id.to_string(),
                l.cqc_location_id,
                l.name,
                records.address,
                crate::tiers::service_text(l.service_type),
                l.registered_from.to_string(),
                l.registered_to.map(|d| d.to_string())
            ],
        )?;
        let rows = |table: &str,
                    owner: String,
                    items: Vec<(Uuid, String)>|
         -> Result<(), ServiceError> {
            let key = if table == "qualifications" {
                "provider_id"
            } else {
                "location_id"
            };
            for (id, data) in items {
                tx.execute(
                    &format!("INSERT OR IGNORE INTO {table} (id, {key}, data) VALUES (?1, ?2, ?3)"),
                    params![id.to_string(), owner, data],
                )?;
            }
            Ok(())
        };
        let rec = &records.records;
        rows(
            "cqc_ratings",
            l.id.to_string(),
            rec.cqc_ratings
                .iter()
                .map(|x| Ok((x.id, serde_json::to_string(x)?)))
                .collect::<Result<_, ServiceError>>()?,
        )?;
        rows(
            "gates",
            l.id.to_string(),
            rec.gates
                .iter()
                .map(|x| Ok((x.id, serde_json::to_string(x)?)))
                .collect::<Result<_, ServiceError>>()?,
        )?;
        rows(
            "qualifications",
            l.provider_id.to_string(),
            rec.qualifications
                .iter()
                .map(|x| Ok((x.id, serde_json::to_string(x)?)))
                .collect::<Result<_, ServiceError>>()?,
        )?;
        rows(
            "placements",
            l.id.to_string(),
            records
                .placements
                .iter()
                .map(|x| Ok((x.id, serde_json::to_string(x)?)))
                .collect::<Result<_, ServiceError>>()?,
        )?;
        for d in dets {
            tx.execute(
                "INSERT INTO determinations (location_id, day, trigger, tier, weekly_pence, status, explanation, computed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    l.id.to_string(),
                    d.day,
                    d.trigger,
                    d.tier,
                    d.weekly_pence,
                    d.status,
                    serde_json::to_string(&d.explanation)?,
                    d.computed_at
                ],
            )?;
        }
        for a in audit {
            let text = |k: &str| a.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            tx.execute(
                "INSERT INTO audit_log (at, user_id, action, subject_type, subject_id, location_id, details)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    text("at"),
                    text("user_id"),
                    text("action"),
                    text("subject_type"),
                    text("subject_id"),
                    l.id.to_string(),
                    serde_json::to_string(&a.get("details"))?
                ],
            )?;
        }
    }
    for (id, bytes, revisions, row) in visits {
        let location = revisions
            .first()
            .and_then(|r| r.record.pointer("/header/location_id"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let mut doc = automerge::AutoCommit::load(bytes)
            .map_err(|e| ServiceError::internal(format!("visit {id}: {e}")))?;
        let heads = crate::docstore::heads_text(&doc.get_heads());
        let location = match location {
            Some(l) => l,
            None => {
                let snap = accredit_shared::visit::VisitDoc::read_automerge(&doc, None)
                    .map_err(|e| ServiceError::internal(format!("visit {id}: {e}")))?;
                snap.header.location_id.to_string()
            }
        };
        tx.execute(
            "INSERT INTO documents (id, location_id, created_by, snapshot, heads, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id.to_string(), location, row.created_by, doc.save(), heads, now],
        )?;
        let snap = accredit_shared::visit::VisitDoc::read_automerge(&doc, None)
            .map_err(|e| ServiceError::internal(format!("visit {id}: {e}")))?;
        for h in snap.photo_hashes() {
            tx.execute(
                "INSERT OR IGNORE INTO doc_photos (doc_id, hash) VALUES (?1, ?2)",
                params![id.to_string(), h],
            )?;
        }
        if let Some(lc) = &row.lifecycle {
            tx.execute(
                "INSERT INTO visits (id, location_id, status, current_revision, shared_on, window_closes_on, provider_confirmed_at, published_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id.to_string(),
                    location,
                    lc.status,
                    lc.current_revision,
                    lc.shared_on,
                    lc.window_closes_on,
                    lc.provider_confirmed_at,
                    lc.published_on
                ],
            )?;
        }
        for r in revisions {
            tx.execute(
                "INSERT INTO visit_revisions (visit_id, revision, heads, record, signed_by, signed_at, state, published_on, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id.to_string(),
                    r.revision,
                    r.heads.join(","),
                    serde_json::to_string(&r.record)?,
                    r.signed_by,
                    r.signed_at,
                    r.state,
                    r.published_on,
                    now
                ],
            )?;
            let record: accredit_shared::visit::VisitSnapshot =
                serde_json::from_value(r.record.clone())?;
            for h in record.photo_hashes() {
                tx.execute(
                    "INSERT OR IGNORE INTO revision_photos (visit_id, revision, hash) VALUES (?1, ?2, ?3)",
                    params![id.to_string(), r.revision, h],
                )?;
            }
        }
    }
    Ok(())
}
