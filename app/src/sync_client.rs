//! The sync client: uploads queued photos (resumably, chunk by chunk) and exchanges visit
//! documents with the server, keeping the outbox ledger up to date. The workspace lock is held
//! only for local steps, never across the network, so the monitor can keep editing while a sync
//! runs.

use std::sync::Mutex;

use accredit_shared::sync::{DocOutcome, SyncReport, SyncResponse, SyncRunError};
use accredit_shared::visit::{VisitDoc, heads_to_strings};
use automerge::ChangeHash;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::lock;
use crate::server_api::ServerApi;
use crate::store::{ItemKind, OutboxState, blobs, docs, outbox};
use crate::workspace::{Workspace, fetch_reference};

/// Bytes per upload request: small enough that a weak signal completes one, large enough that
/// a 2 MB photo takes few round trips.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Round trips before a document exchange is abandoned for this run.
pub const MAX_ROUNDS: usize = 32;

/// How far a run has got, for the progress bar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// What is happening, in words.
    pub stage: String,
    /// Photo bytes the server holds of this run's uploads.
    pub bytes_done: u64,
    /// Photo bytes this run must upload.
    pub bytes_total: u64,
}

/// What a finished run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Document round trips.
    pub rounds: usize,
    /// Sync request bytes sent.
    pub doc_bytes_sent: usize,
    /// Photos now stored at the server.
    pub photos_uploaded: usize,
    /// Photo bytes sent in this run (resumed uploads send only what was missing).
    pub photo_bytes_sent: u64,
    /// Visits received for the first time.
    pub new_visits: usize,
    /// Visits the server refused, with its reason.
    pub refused: Vec<(Uuid, String)>,
}

/// Runs one sync: photos first (so reviewers never see a visit whose photos are missing), then
/// the visit documents, then the caseload. `progress` is called as work advances; returning
/// `false` stops the run (`AppError::Cancelled`) with everything done so far kept.
pub async fn sync(
    ws: &Mutex<Workspace>,
    api: &ServerApi,
    progress: &mut dyn FnMut(&SyncProgress) -> bool,
) -> AppResult<SyncSummary> {
    let mut summary = SyncSummary::default();
    let result = run(ws, api, progress, &mut summary).await;
    if let Err(e) = &result {
        mark_unsent_failed(ws, e)?;
    }
    result.map(|()| summary)
}

async fn run(
    ws: &Mutex<Workspace>,
    api: &ServerApi,
    progress: &mut dyn FnMut(&SyncProgress) -> bool,
    summary: &mut SyncSummary,
) -> AppResult<()> {
    load_all(ws)?;
    upload_photos(ws, api, progress, summary).await?;
    exchange_docs(ws, api, progress, summary).await?;
    let mut report = SyncProgress {
        stage: "Updating the caseload".to_owned(),
        ..SyncProgress::default()
    };
    if !progress(&report) {
        return Err(AppError::Cancelled);
    }
    // Fetched off the lock (each cached history is read under it briefly), stored under it:
    // a slow server never freezes the screens.
    let known = lock(ws).pack_versions();
    let fetched = fetch_reference(api, &known, &mut |id| lock(ws).cached_history(id)).await?;
    lock(ws).store_reference(fetched)?;
    report.stage = "Up to date".to_owned();
    progress(&report);
    Ok(())
}

/// Loads every stored document into memory: the server is told about all of them, so it does
/// not resend any. Parsing happens off the lock.
fn load_all(ws: &Mutex<Workspace>) -> AppResult<()> {
    let (todo, author) = {
        let w = lock(ws);
        let session = w.session().ok_or(AppError::NotSignedIn)?.clone();
        let mut todo = Vec::new();
        for row in docs::list(w.store().conn())? {
            if w.is_loaded(row.id) {
                continue;
            }
            if let Some(stored) = docs::load(w.store().conn(), row.id)? {
                let state = docs::sync_state(w.store().conn(), row.id)?;
                todo.push((row.id, stored, state));
            }
        }
        (
            todo,
            accredit_shared::visit::Author {
                user_id: session.user_id,
                name: session.name,
            },
        )
    };
    let mut parsed = Vec::new();
    for (id, stored, state) in todo {
        let doc = VisitDoc::load(&stored.bytes, author.clone())?;
        parsed.push((id, doc, stored.chunks, state));
    }
    let mut w = lock(ws);
    for (id, doc, chunks, state) in parsed {
        w.insert_loaded(id, doc, chunks, state)?;
    }
    Ok(())
}

async fn upload_photos(
    ws: &Mutex<Workspace>,
    api: &ServerApi,
    progress: &mut dyn FnMut(&SyncProgress) -> bool,
    summary: &mut SyncSummary,
) -> AppResult<()> {
    let pending: Vec<_> = lock(ws)
        .unacknowledged()?
        .into_iter()
        .filter(|e| e.kind == ItemKind::Photo)
        .collect();
    let mut report = SyncProgress {
        stage: "Uploading photos".to_owned(),
        bytes_done: 0,
        bytes_total: pending.iter().map(|e| e.bytes_total).sum(),
    };
    for entry in pending {
        let bytes = blobs::bytes(lock(ws).store().conn(), &entry.item)?.ok_or_else(|| {
            AppError::Corrupt(format!(
                "photo {} is in the outbox but not stored",
                entry.item
            ))
        })?;
        let size = bytes.len() as u64;
        let set = |state: OutboxState, receipt: Option<&str>, done: u64| -> AppResult<()> {
            let w = lock(ws);
            let c = w.store().conn();
            outbox::set_state(
                c,
                ItemKind::Photo,
                &entry.item,
                &entry.label,
                state,
                None,
                receipt,
            )?;
            outbox::set_progress(c, ItemKind::Photo, &entry.item, done, size)
        };
        let mut at = api.upload_progress(&entry.item, size).await?;
        let before = report.bytes_done;
        report.bytes_done = before + at.received;
        set(OutboxState::Sent, None, at.received)?;
        let mut mismatches = 0;
        while !at.complete {
            if !progress(&report) {
                return Err(AppError::Cancelled);
            }
            let start = at.received as usize;
            let end = (start + CHUNK_BYTES).min(bytes.len());
            let chunk = bytes[start..end].to_vec();
            match api
                .upload_chunk(&entry.item, size, at.received, chunk)
                .await
            {
                Ok(next) => {
                    summary.photo_bytes_sent += (end - start) as u64;
                    at = next;
                }
                // The server holds a different amount than we thought (a reply was lost):
                // ask again and carry on from there.
                Err(AppError::Refused(m)) if m.ends_with("(409)") && mismatches < 3 => {
                    mismatches += 1;
                    at = api.upload_progress(&entry.item, size).await?;
                }
                Err(e) => return Err(e),
            }
            report.bytes_done = before + at.received;
            set(OutboxState::Sent, None, at.received)?;
        }
        let receipt = format!("stored as {}", &entry.item[..12]);
        set(OutboxState::Acknowledged, Some(&receipt), size)?;
        summary.photos_uploaded += 1;
        if !progress(&report) {
            return Err(AppError::Cancelled);
        }
    }
    Ok(())
}

async fn exchange_docs(
    ws: &Mutex<Workspace>,
    api: &ServerApi,
    progress: &mut dyn FnMut(&SyncProgress) -> bool,
    summary: &mut SyncSummary,
) -> AppResult<()> {
    let report = SyncProgress {
        stage: "Sending visits".to_owned(),
        ..SyncProgress::default()
    };
    for round in 0..MAX_ROUNDS {
        if !progress(&report) {
            return Err(AppError::Cancelled);
        }
        let body = {
            let mut w = lock(ws);
            let request = w.replica()?.request(round == 0);
            if round > 0 && request.docs.iter().all(|d| d.message.is_none()) {
                return Ok(());
            }
            let sending: Vec<Uuid> = request
                .docs
                .iter()
                .filter(|d| d.message.is_some())
                .map(|d| d.doc_id)
                .collect();
            w.mark_sent(&sending)?;
            request.encode()
        };
        summary.doc_bytes_sent += body.len();
        summary.rounds += 1;
        let reply = match api.sync(body).await {
            Ok(r) => r,
            Err(e) => {
                lock(ws).replica()?.connection_lost();
                return Err(e);
            }
        };
        let mut w = lock(ws);
        let response = match SyncResponse::decode(&reply) {
            Ok(r) => r,
            Err(e) => {
                w.replica()?.connection_lost();
                return Err(AppError::Refused(format!(
                    "the server's sync reply is malformed: {e}"
                )));
            }
        };
        let mut run = SyncReport::default();
        if let Err(e) = w
            .replica()?
            .receive::<std::convert::Infallible>(&response, &mut run)
        {
            w.replica()?.connection_lost();
            let message = match e {
                SyncRunError::Apply { doc, message } => format!("visit {doc}: {message}"),
                other => other.to_string(),
            };
            return Err(AppError::Refused(message));
        }
        summary.new_visits += run.new_documents.len();
        let refused: Vec<(Uuid, String)> = run
            .refused
            .iter()
            .map(|(id, outcome, reason)| {
                let why = match outcome {
                    DocOutcome::Forbidden => format!("you may not send this visit: {reason}"),
                    _ => reason.clone(),
                };
                (*id, why)
            })
            .collect();
        let ids: Vec<Uuid> = response
            .docs
            .iter()
            .filter(|d| d.outcome == DocOutcome::Ok)
            .map(|d| d.doc_id)
            .collect();
        w.persist_synced(&ids, &refused)?;
        summary.refused.extend(refused);
    }
    Err(AppError::Refused(format!(
        "the exchange with the server did not settle in {MAX_ROUNDS} round trips"
    )))
}

/// After a failed run, whatever was on its way is marked failed with the reason; it is retried
/// by the next run.
fn mark_unsent_failed(ws: &Mutex<Workspace>, error: &AppError) -> AppResult<()> {
    let reason = match error {
        AppError::Network(m) => format!("No connection to the server: {m}. It will be retried."),
        AppError::Auth(m) => format!("Sign-in problem: {m}"),
        AppError::Refused(m) => format!("The server refused: {m}"),
        AppError::Cancelled => "Stopped before it was sent. It will be retried.".to_owned(),
        other => other.to_string(),
    };
    let w = lock(ws);
    let c = w.store().conn();
    for e in w.unacknowledged()? {
        // An item that already failed keeps the reason it failed for.
        if e.state != OutboxState::Failed {
            outbox::set_state(
                c,
                e.kind,
                &e.item,
                &e.label,
                OutboxState::Failed,
                Some(&reason),
                None,
            )?;
        }
    }
    Ok(())
}

/// Whether the server's receipt covers every change this copy holds.
pub fn acknowledged(doc: &mut VisitDoc, receipt: &[ChangeHash]) -> bool {
    if receipt.is_empty() {
        return false;
    }
    let am = doc.automerge();
    receipt.iter().all(|h| am.get_change_by_hash(h).is_some()) && am.get_changes(receipt).is_empty()
}

/// A receipt as the sync centre shows it: the server's heads, shortened.
pub fn receipt_text(receipt: &[ChangeHash]) -> String {
    let heads: Vec<String> = heads_to_strings(receipt)
        .into_iter()
        .map(|h| h[..12].to_owned())
        .collect();
    format!("server heads {}", heads.join(", "))
}
