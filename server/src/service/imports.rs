//! CSV imports from the portal, for commissioners: a file is uploaded and kept as a draft, its
//! preview says what each row would do (the same importer as the CLI, `import::plan`), and
//! importing it runs in the background (a large file takes a while) as one transaction: every
//! row or none, then the affected tiers re-determined, with progress to show meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::{OptionalExtension, params};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::db::stored_id;
use crate::error::{ServiceError, ServiceResult};
use crate::import::{self, Kind, Plan};
use crate::state::{AppState, now_text};
use crate::tiers;

/// The largest file accepted: 10,000 placements are about 600 KB.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// The stored name of a kind of file.
pub fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Locations => "locations",
        Kind::Placements => "placements",
        Kind::CqcRatings => "cqc_ratings",
        Kind::Contracts => "contracts",
    }
}

/// A kind of file from its stored name.
pub fn parse_kind(text: &str) -> Option<Kind> {
    match text {
        "locations" => Some(Kind::Locations),
        "placements" => Some(Kind::Placements),
        "cqc_ratings" => Some(Kind::CqcRatings),
        "contracts" => Some(Kind::Contracts),
        _ => None,
    }
}

/// How far an import running now has got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Writing rows, or re-determining tiers: `done` of `total`.
    Running {
        /// What it is doing.
        stage: &'static str,
        /// Steps done.
        done: usize,
        /// Steps in all.
        total: usize,
    },
    /// Finished (the draft records how).
    Finished,
}

/// Imports running in this process, by draft.
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<Uuid, Progress>>);

impl Jobs {
    fn set(&self, id: Uuid, p: Progress) {
        let mut map = match self.0.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.insert(id, p);
    }

    fn get(&self, id: Uuid) -> Option<Progress> {
        let map = match self.0.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.get(&id).cloned()
    }
}

/// An uploaded file.
#[derive(Clone, Debug)]
pub struct Draft {
    /// Its id.
    pub id: Uuid,
    /// What it holds.
    pub kind: Kind,
    /// The name it was uploaded under.
    pub file_name: String,
    /// Rows in it.
    pub rows: usize,
    /// When it was uploaded (RFC 3339).
    pub created_at: String,
    /// When it was imported or failed, if it has been.
    pub finished_at: Option<String>,
    /// How it ended: `imported N rows`, or why it failed.
    pub outcome: Option<String>,
}

/// Stores an uploaded file as a draft, after checking that its header and rows can be read at
/// all (a file of the wrong kind is refused here, with the header it should have).
pub fn upload(
    s: &AppState,
    caller: &Caller,
    kind: Kind,
    file_name: &str,
    text: &str,
) -> ServiceResult<Uuid> {
    caller.require(&[Role::Commissioner])?;
    if text.len() > MAX_BYTES {
        return Err(ServiceError::too_large(format!(
            "the file must be smaller than {} MB",
            MAX_BYTES / (1024 * 1024)
        )));
    }
    let plan = s.db.read(|tx| import::plan(tx, kind, text, s.today()))?;
    let id = Uuid::new_v4();
    let name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    s.db.write(|tx| {
        // Drafts nobody imported within a day are dropped: they may hold resident references.
        tx.execute(
            "UPDATE import_drafts SET text = '', finished_at = ?1, outcome = 'not imported: abandoned'
             WHERE finished_at IS NULL AND created_at < ?2",
            params![now_text(), (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)],
        )?;
        tx.execute(
            "INSERT INTO import_drafts (id, kind, file_name, text, rows, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id.to_string(), kind_text(kind), name, text, plan.rows.len() as i64, caller.user_id.to_string(), now_text()],
        )?;
        Ok(())
    })?;
    Ok(id)
}

/// A stored draft's columns, as read.
type DraftRow = (
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
);

fn draft_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<DraftRow> {
    r.try_into()
}

fn to_draft(row: DraftRow) -> ServiceResult<Draft> {
    let (id, kind, file_name, rows, created_at, finished_at, outcome) = row;
    Ok(Draft {
        id: stored_id(&id)?,
        kind: parse_kind(&kind).ok_or_else(|| ServiceError::internal("unknown import kind"))?,
        file_name,
        rows: usize::try_from(rows).unwrap_or(0),
        created_at,
        finished_at,
        outcome,
    })
}

const DRAFT_SQL: &str =
    "SELECT id, kind, file_name, rows, created_at, finished_at, outcome FROM import_drafts";

/// A draft and, while it is not imported yet, what importing it would do now (worked out
/// afresh: the records may have changed since the upload).
pub fn preview(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<(Draft, Option<Plan>)> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        let row = tx
            .query_row(
                &format!("{DRAFT_SQL} WHERE id = ?1"),
                [id.to_string()],
                draft_of,
            )
            .optional()?
            .ok_or_else(|| ServiceError::not_found("import"))?;
        let draft = to_draft(row)?;
        if draft.finished_at.is_some()
            || matches!(s.imports.get(id), Some(Progress::Running { .. }))
        {
            return Ok((draft, None));
        }
        let text: String = tx.query_row(
            "SELECT text FROM import_drafts WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        let plan = import::plan(tx, draft.kind, &text, s.today())?;
        Ok((draft, Some(plan)))
    })
}

/// The latest uploads, newest first.
pub fn recent(s: &AppState, caller: &Caller) -> ServiceResult<Vec<Draft>> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        let mut stmt = tx.prepare(&format!("{DRAFT_SQL} ORDER BY created_at DESC LIMIT 20"))?;
        let rows = stmt.query_map([], draft_of)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(to_draft(r?)?);
        }
        Ok(out)
    })
}

/// How far an import running in this process has got.
pub fn progress(s: &AppState, id: Uuid) -> Option<Progress> {
    s.imports.get(id)
}

/// Starts importing a draft in the background; refused if it is imported, running, or would
/// refuse a row (the preview says which).
pub fn start(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<()> {
    caller.require(&[Role::Commissioner])?;
    let (draft, plan) = preview(s, caller, id)?;
    let Some(plan) = plan else {
        return Err(ServiceError::conflict(
            "this file has been imported or is being imported",
        ));
    };
    if plan.refused().next().is_some() {
        return Err(ServiceError::invalid(
            "some rows are refused: fix them and upload the file again; nothing was imported",
        ));
    }
    s.imports.set(
        id,
        Progress::Running {
            stage: "Checking the file",
            done: 0,
            total: draft.rows,
        },
    );
    let state = s.clone();
    let caller = caller.clone();
    let spawned = std::thread::Builder::new()
        .name("import".into())
        .spawn(move || {
            let outcome = run(&state, &caller, id, draft.kind);
            let text = match &outcome {
                Ok((rows, locations)) => {
                    format!("imported: {rows} rows written, {locations} locations re-determined")
                }
                Err(e) => format!("not imported: {}", e.message()),
            };
            // The failure is recorded in its own write: the import's transaction was undone.
            if outcome.is_err() {
                let _ = state.db.write(|tx| {
                    tx.execute(
                        "UPDATE import_drafts SET finished_at = ?2, outcome = ?3 WHERE id = ?1",
                        params![id.to_string(), now_text(), text],
                    )?;
                    Ok(())
                });
            }
            state.imports.set(id, Progress::Finished);
        });
    if let Err(e) = spawned {
        s.imports.set(id, Progress::Finished);
        return Err(ServiceError::internal(format!("starting an import: {e}")));
    }
    Ok(())
}

/// The import itself: one transaction, so a failure anywhere leaves everything as it was.
fn run(s: &AppState, caller: &Caller, id: Uuid, kind: Kind) -> ServiceResult<(usize, usize)> {
    s.db.write(|tx| {
        let text: String = tx
            .query_row(
                "SELECT text FROM import_drafts WHERE id = ?1 AND finished_at IS NULL",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| ServiceError::conflict("this file has been imported already"))?;
        let plan = import::plan(tx, kind, &text, s.today())?;
        let total = plan.changes();
        let (rows, affected) = import::apply(tx, &plan, &mut |done| {
            s.imports.set(id, Progress::Running { stage: "Writing rows", done, total });
        })?;
        let book = s.rules();
        for (i, chunk) in affected.chunks(100).enumerate() {
            s.imports.set(
                id,
                Progress::Running { stage: "Re-determining tiers", done: i * 100, total: affected.len() },
            );
            tiers::redetermine(s, &book, tx, chunk, "import")?;
        }
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "import",
                subject_type: "csv",
                subject_id: Some(id.to_string()),
                location_id: None,
                details: json!({ "kind": kind_text(kind), "rows": rows, "locations": affected.len() }),
            },
        )?;
        tx.execute(
            "UPDATE import_drafts SET text = '', finished_at = ?2, outcome = ?3 WHERE id = ?1",
            params![
                id.to_string(),
                now_text(),
                format!("imported: {rows} rows written, {} locations re-determined", affected.len())
            ],
        )?;
        Ok((rows, affected.len()))
    })
}
