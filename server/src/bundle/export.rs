//! Writing a bundle. Everything is read from the database in one read transaction, so the bundle
//! is one consistent moment even while the server runs; the blobs it lists are then copied from
//! the data directory, each checked against its hash on the way.

use std::fs::File;
use std::path::{Path, PathBuf};

use accredit_shared::FrameworkPack;
use rusqlite::{Connection, OpenFlags, Transaction};
use serde::Serialize;
use uuid::Uuid;

use super::{
    BundleError, FORMAT, Item, Lifecycle, LocationEntry, MANIFEST, Manifest, RECOMPUTED, RULE_SETS,
    Records, Revision, StoredDetermination, StoredRuleSet, VERSION, VisitRow, audit_name,
    determinations_name, document_name, io, parent_dir, records_name, revisions_name, service, sql,
    visit_name,
};
use crate::backup::{ArchiveWriter, blob_entry_name};

/// Which locations to export.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Every location.
    All,
    /// One location, by its id or its CQC location id.
    One(String),
}

impl Scope {
    /// `all`, or a location's id or CQC location id.
    pub fn parse(text: &str) -> Scope {
        if text.eq_ignore_ascii_case("all") {
            Scope::All
        } else {
            Scope::One(text.trim().to_owned())
        }
    }
}

/// A bundle written.
#[derive(Debug)]
pub struct Exported {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub manifest: Manifest,
    /// Its size in bytes (compressed).
    pub bytes: u64,
}

/// Files to write, by name in the archive.
type Files = Vec<(String, Vec<u8>)>;

/// A blob to copy in: its hash and size as the database lists it.
struct Blob {
    hash: String,
    size: u64,
}

/// Exports the locations `scope` names from the data directory `data`, with the framework packs
/// in `assets`, into one file at `to` (replaced only once the new one is complete and on disk).
pub fn export(
    data: &Path,
    assets: &Path,
    scope: &Scope,
    to: &Path,
) -> Result<Exported, BundleError> {
    let database = data.join("accredit.sqlite3");
    if !database.is_file() {
        return Err(BundleError::Data(format!(
            "there is no database at {}: is {} the server's data directory?",
            database.display(),
            data.display()
        )));
    }
    let dir = parent_dir(to);
    let name = to
        .file_name()
        .ok_or_else(|| BundleError::Refused(format!("{} names no file", to.display())))?
        .to_string_lossy()
        .into_owned();
    if !dir.is_dir() {
        return Err(BundleError::Refused(format!(
            "the directory {} does not exist",
            dir.display()
        )));
    }
    let packs = pack_sources(assets)?;
    let opening = format!("opening the database {}", database.display());
    let mut conn = Connection::open_with_flags(
        &database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(opening.clone()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql(opening))?;
    let tx = conn
        .transaction()
        .map_err(sql("starting a read transaction"))?;
    let (mut manifest, files, blobs) = read_all(&tx, scope, packs)?;
    drop(tx);

    let archive = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(io(format!(
            "creating a temporary file in {}",
            dir.display()
        )))?;
    let writing = format!("writing {}", archive.path().display());
    for (path, bytes) in &files {
        manifest.items.push(Item {
            path: path.clone(),
            size: bytes.len() as u64,
            blake3: blake3::hash(bytes).to_hex().to_string(),
        });
    }
    for b in &blobs {
        manifest.items.push(Item {
            path: blob_entry_name(&b.hash),
            size: b.size,
            blake3: b.hash.clone(),
        });
    }
    write_archive(
        archive.as_file(),
        &writing,
        &manifest,
        &files,
        &blobs,
        &data.join("blobs"),
    )?;
    archive.as_file().sync_all().map_err(io(writing.clone()))?;
    let bytes = archive.as_file().metadata().map_err(io(writing))?.len();
    archive.persist(to).map_err(|e| BundleError::Io {
        what: format!("moving the bundle into place at {}", to.display()),
        error: e.error,
    })?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing the directory {}", dir.display())))?;
    Ok(Exported {
        path: to.to_path_buf(),
        manifest,
        bytes,
    })
}

/// Every framework pack in `assets/frameworks`: its archive name and TOML source.
fn pack_sources(assets: &Path) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let dir = assets.join("frameworks");
    let reading = format!("reading the framework packs in {}", dir.display());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(io(reading.clone()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io(reading))?;
    paths.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
        let pack = FrameworkPack::from_toml(&text).map_err(|e| {
            BundleError::Data(format!(
                "the framework pack {} does not load: {e}",
                path.display()
            ))
        })?;
        out.push((
            format!("packs/{}/{}.toml", pack.id, pack.version),
            text.into_bytes(),
        ));
    }
    Ok(out)
}

fn json(value: &impl Serialize) -> Result<Vec<u8>, BundleError> {
    serde_json::to_vec_pretty(value).map_err(|e| BundleError::Data(format!("writing JSON: {e}")))
}

/// Reads everything the bundle holds but the blobs' bytes: the manifest without its items, the
/// files by name, and the blobs to copy.
fn read_all(
    tx: &Transaction<'_>,
    scope: &Scope,
    packs: Vec<(String, Vec<u8>)>,
) -> Result<(Manifest, Files, Vec<Blob>), BundleError> {
    let ids = match scope {
        Scope::All => crate::tiers::all_locations(tx).map_err(service("listing the locations"))?,
        Scope::One(key) => {
            let by_id = Uuid::parse_str(key).ok().map(|u| u.to_string());
            let found: Vec<Uuid> = crate::db::query_ids(
                tx,
                "SELECT id FROM locations WHERE id = ?1 OR cqc_location_id = ?2",
                [by_id.unwrap_or_default(), key.clone()],
            )
            .map_err(service("finding the location"))?;
            match found.as_slice() {
                [one] => vec![*one],
                [] => {
                    return Err(BundleError::Refused(format!(
                        "there is no location with the id or CQC location id {key:?}"
                    )));
                }
                _ => {
                    return Err(BundleError::Refused(format!(
                        "more than one location matches {key:?}: give its id"
                    )));
                }
            }
        }
    };
    let mut files = packs;
    let mut locations = Vec::new();
    let mut visits = Vec::new();
    let mut hashes = std::collections::BTreeSet::new();
    for id in ids {
        let records = crate::tiers::records(tx, id)
            .map_err(service("reading a location's records"))?
            .ok_or_else(|| BundleError::Data(format!("the location {id} vanished")))?;
        let placements = crate::tiers::placements(tx, id).map_err(service("reading placements"))?;
        locations.push(LocationEntry {
            id,
            cqc_location_id: records.location.cqc_location_id.clone(),
            name: records.location.name.clone(),
        });
        let (address, provider_name): (String, String) = tx
            .query_row(
                "SELECT l.address, p.name FROM locations l JOIN providers p ON p.id = l.provider_id WHERE l.id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql("reading a location's provider"))?;
        files.push((
            records_name(id),
            json(&Records {
                records,
                placements,
                provider_name,
                address,
            })?,
        ));
        files.push((determinations_name(id), json(&determinations(tx, id)?)?));
        files.push((audit_name(id), json(&audit(tx, id)?)?));
        let docs = crate::db::query_ids(
            tx,
            "SELECT id FROM documents WHERE location_id = ?1 ORDER BY id",
            [id.to_string()],
        )
        .map_err(service("listing the visits"))?;
        for visit in docs {
            let mut doc = crate::docstore::load(tx, visit)
                .map_err(service("reading a visit's document"))?
                .ok_or_else(|| BundleError::Data(format!("the visit {visit} vanished")))?;
            files.push((document_name(visit), doc.save()));
            files.push((revisions_name(visit), json(&revisions(tx, visit)?)?));
            files.push((visit_name(visit), json(&visit_row(tx, visit)?)?));
            let mut stmt = tx
                .prepare(
                    "SELECT hash FROM doc_photos WHERE doc_id = ?1
                     UNION SELECT hash FROM revision_photos WHERE visit_id = ?1
                     UNION SELECT f.hash FROM response_files f JOIN action_responses r ON r.id = f.response_id WHERE r.visit_id = ?1",
                )
                .map_err(sql("listing a visit's blobs"))?;
            let used: Vec<String> = stmt
                .query_map([visit.to_string()], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(sql("listing a visit's blobs"))?;
            hashes.extend(used);
            visits.push(visit);
        }
    }
    let mut blobs = Vec::new();
    for hash in hashes {
        let size: i64 = tx
            .query_row("SELECT size FROM blobs WHERE hash = ?1", [&hash], |r| {
                r.get(0)
            })
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => BundleError::Data(format!(
                    "a visit uses the blob {hash}, which the database does not list"
                )),
                e => BundleError::Database {
                    what: "reading the list of blobs".into(),
                    error: e,
                },
            })?;
        match u64::try_from(size) {
            Ok(size) if accredit_shared::visit::is_blob_hash(&hash) => {
                blobs.push(Blob { hash, size })
            }
            _ => {
                return Err(BundleError::Data(format!(
                    "the database lists a blob {hash:?} that is not a valid blob"
                )));
            }
        }
    }
    files.push((RULE_SETS.to_owned(), json(&rule_sets(tx)?)?));
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        created_at: crate::state::now_text(),
        recomputed: RECOMPUTED.to_owned(),
        locations,
        visits,
        items: Vec::new(),
    };
    Ok((manifest, files, blobs))
}

/// A JSON column, read as a value; text that is not JSON is an SQLite conversion error naming
/// the column.
fn json_column<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    column: usize,
) -> rusqlite::Result<T> {
    let text: String = r.get(column)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn determinations(tx: &Connection, id: Uuid) -> Result<Vec<StoredDetermination>, BundleError> {
    let reading = format!("reading the stored determinations of location {id}");
    let mut stmt = tx
        .prepare(
            "SELECT seq, day, trigger, tier, weekly_pence, status, explanation, computed_at
             FROM determinations WHERE location_id = ?1 ORDER BY seq",
        )
        .map_err(sql(reading.clone()))?;
    stmt.query_map([id.to_string()], |r| {
        Ok(StoredDetermination {
            seq: r.get(0)?,
            day: r.get(1)?,
            trigger: r.get(2)?,
            tier: r.get(3)?,
            weekly_pence: r.get(4)?,
            status: r.get(5)?,
            explanation: json_column(r, 6)?,
            computed_at: r.get(7)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(sql(reading))
}

/// A location's audit entries, oldest first.
fn audit(tx: &Connection, id: Uuid) -> Result<Vec<serde_json::Value>, BundleError> {
    let reading = format!("reading the audit log of location {id}");
    let mut stmt = tx
        .prepare(
            "SELECT seq, at, user_id, action, subject_type, subject_id, details
             FROM audit_log WHERE location_id = ?1 ORDER BY seq",
        )
        .map_err(sql(reading.clone()))?;
    stmt.query_map([id.to_string()], |r| {
        Ok(serde_json::json!({
            "seq": r.get::<_, i64>(0)?,
            "at": r.get::<_, String>(1)?,
            "user_id": r.get::<_, Option<String>>(2)?,
            "action": r.get::<_, String>(3)?,
            "subject_type": r.get::<_, String>(4)?,
            "subject_id": r.get::<_, Option<String>>(5)?,
            "details": json_column::<serde_json::Value>(r, 6)?,
        }))
    })
    .and_then(|rows| rows.collect())
    .map_err(sql(reading))
}

fn revisions(tx: &Connection, visit: Uuid) -> Result<Vec<Revision>, BundleError> {
    let reading = format!("reading the revisions of visit {visit}");
    let mut stmt = tx
        .prepare(
            "SELECT revision, heads, record, signed_by, signed_at, state, published_on
             FROM visit_revisions WHERE visit_id = ?1 ORDER BY revision",
        )
        .map_err(sql(reading.clone()))?;
    stmt.query_map([visit.to_string()], |r| {
        let heads: String = r.get(1)?;
        Ok(Revision {
            revision: r.get(0)?,
            heads: heads
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect(),
            record: json_column(r, 2)?,
            signed_by: r.get(3)?,
            signed_at: r.get(4)?,
            state: r.get(5)?,
            published_on: r.get(6)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(sql(reading))
}

fn visit_row(tx: &Connection, visit: Uuid) -> Result<VisitRow, BundleError> {
    use rusqlite::OptionalExtension;
    let reading = format!("reading visit {visit}");
    let created_by: String = tx
        .query_row(
            "SELECT created_by FROM documents WHERE id = ?1",
            [visit.to_string()],
            |r| r.get(0),
        )
        .map_err(sql(reading.clone()))?;
    let lifecycle = tx
        .query_row(
            "SELECT status, current_revision, shared_on, window_closes_on, provider_confirmed_at, published_on FROM visits WHERE id = ?1",
            [visit.to_string()],
            |r| {
                Ok(Lifecycle {
                    status: r.get(0)?,
                    current_revision: r.get(1)?,
                    shared_on: r.get(2)?,
                    window_closes_on: r.get(3)?,
                    provider_confirmed_at: r.get(4)?,
                    published_on: r.get(5)?,
                })
            },
        )
        .optional()
        .map_err(sql(reading))?;
    Ok(VisitRow {
        created_by,
        lifecycle,
    })
}

fn rule_sets(tx: &Connection) -> Result<Vec<StoredRuleSet>, BundleError> {
    let reading = "reading the rule sets";
    let mut stmt = tx
        .prepare("SELECT version, effective_from, source FROM rule_sets ORDER BY effective_from")
        .map_err(sql(reading))?;
    stmt.query_map([], |r| {
        Ok(StoredRuleSet {
            version: r.get(0)?,
            effective_from: r.get(1)?,
            source: r.get(2)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(sql(reading))
}

/// Writes the archive: the manifest, the files, then each blob, whose hash and size are checked
/// as it is copied.
fn write_archive(
    file: &File,
    writing: &str,
    manifest: &Manifest,
    files: &[(String, Vec<u8>)],
    blobs: &[Blob],
    blob_dir: &Path,
) -> Result<(), BundleError> {
    let mut archive = ArchiveWriter::new(file, writing)?;
    let m = json(manifest)?;
    archive.append(MANIFEST, m.len() as u64, &mut &m[..])?;
    for (name, bytes) in files {
        archive.append(name, bytes.len() as u64, &mut &bytes[..])?;
    }
    for blob in blobs {
        archive.append_blob(blob_dir, &blob.hash, blob.size)?;
    }
    Ok(archive.finish()?)
}
