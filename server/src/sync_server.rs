//! The server side of sync: one request carries many documents' Automerge sync messages; each is
//! applied, checked, stored and answered inside one transaction, so a request either takes
//! effect entirely or not at all, and a retried request is harmless (Automerge ignores changes it
//! already has). Sync states are stored per (device, document).

use std::collections::HashSet;

use accredit_shared::sync::{DocOutcome, DocReply, SyncRequest, SyncResponse};
use accredit_shared::visit::VisitDoc;
use automerge::AutoCommit;
use automerge::sync::{Message, State, SyncDoc};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use crate::access;
use crate::auth::{Caller, Role};
use crate::docstore;
use crate::error::ApiError;
use crate::lifecycle;
use crate::state::AppState;

/// Handles one sync request body and returns the response body.
pub fn handle(state: &AppState, caller: &Caller, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    caller.require(&[Role::Monitor, Role::Lead])?;
    let request = SyncRequest::decode(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Decode every message before touching anything: a malformed one fails the whole request.
    let mut messages = Vec::with_capacity(request.docs.len());
    for d in &request.docs {
        let m = match &d.message {
            Some(bytes) => Some(Message::decode(bytes).map_err(|e| {
                ApiError::bad_request(format!(
                    "the sync message for document {} is malformed: {e}",
                    d.doc_id
                ))
            })?),
            None => None,
        };
        messages.push((d.doc_id, d.known_heads.clone(), m));
    }
    let mut touched = Vec::new();
    let response = state.db.write(|tx| {
        let mut replies = Vec::with_capacity(messages.len());
        let named: HashSet<Uuid> = messages.iter().map(|(id, _, _)| *id).collect();
        for (id, known, message) in messages {
            let reply = match message {
                None => unchanged(tx, caller, id, &known)?,
                Some(_) => None,
            };
            match reply {
                Some(r) => replies.push(r),
                None => replies.push(sync_one(state, tx, caller, id, message, &mut touched)?),
            }
        }
        if request.include_all {
            for id in accessible_documents(tx, caller)? {
                if !named.contains(&id) {
                    replies.push(sync_one(state, tx, caller, id, None, &mut touched)?);
                }
            }
        }
        Ok(SyncResponse { docs: replies })
    })?;
    // Only documents whose state committed go back in the cache.
    if let Ok(mut cache) = state.doc_cache.lock() {
        if cache.len() + touched.len() > CACHE_DOCUMENTS {
            cache.clear();
        }
        cache.extend(touched);
    }
    Ok(response.encode())
}

/// The fast answer for a device with nothing to say whose last receipt is still the server's
/// heads: nothing to exchange, no document to load. `None` when the full exchange is needed.
fn unchanged(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: Uuid,
    known: &[[u8; 32]],
) -> Result<Option<DocReply>, ApiError> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT location_id, heads FROM documents WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((location, heads)) = row else {
        return Ok(None);
    };
    let location = Uuid::parse_str(&location).map_err(|_| ApiError::internal("bad location id"))?;
    if !access::may_sync_location(tx, caller, location)? {
        return Ok(Some(refused(
            id,
            DocOutcome::Forbidden,
            "this visit is not on your caseload",
        )));
    }
    let mut stored: Vec<String> = heads
        .split(',')
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    let mut theirs: Vec<String> = known.iter().map(hex::encode).collect();
    stored.sort();
    theirs.sort();
    if stored.is_empty() || stored != theirs {
        return Ok(None);
    }
    Ok(Some(DocReply {
        doc_id: id,
        outcome: DocOutcome::Ok,
        reason: String::new(),
        heads: known.to_vec(),
        message: None,
    }))
}

fn refused(id: Uuid, outcome: DocOutcome, reason: impl Into<String>) -> DocReply {
    DocReply {
        doc_id: id,
        outcome,
        reason: reason.into(),
        heads: Vec::new(),
        message: None,
    }
}

fn load_state(tx: &Transaction<'_>, device: Uuid, id: Uuid) -> Result<State, ApiError> {
    let bytes: Option<Vec<u8>> = tx
        .query_row(
            "SELECT state FROM sync_states WHERE device_id = ?1 AND doc_id = ?2",
            [device.to_string(), id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    // A state that no longer decodes only costs a fuller exchange, never data.
    Ok(bytes
        .and_then(|b| State::decode(&b).ok())
        .unwrap_or_default())
}

fn save_state(tx: &Transaction<'_>, device: Uuid, id: Uuid, s: &State) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO sync_states (device_id, doc_id, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state",
        params![device.to_string(), id.to_string(), s.encode()],
    )?;
    Ok(())
}

/// How many documents the server keeps in memory between requests.
const CACHE_DOCUMENTS: usize = 2048;

/// A stored document: from the cache if its heads match the database's, else from the database.
fn load_doc(
    state: &AppState,
    tx: &Transaction<'_>,
    id: Uuid,
    stored_heads: &str,
) -> Result<AutoCommit, ApiError> {
    let cached = state.doc_cache.lock().ok().and_then(|mut c| c.remove(&id));
    if let Some(mut doc) = cached
        && docstore::heads_text(&doc.get_heads()) == stored_heads
    {
        return Ok(doc);
    }
    docstore::load(tx, id)?.ok_or_else(|| ApiError::internal("document vanished"))
}

fn sync_one(
    state: &AppState,
    tx: &Transaction<'_>,
    caller: &Caller,
    id: Uuid,
    message: Option<Message>,
    touched: &mut Vec<(Uuid, AutoCommit)>,
) -> Result<DocReply, ApiError> {
    let stored = docstore::row(tx, id)?;
    if let Some(row) = &stored
        && !access::may_sync_location(tx, caller, row.location_id)?
    {
        return Ok(refused(
            id,
            DocOutcome::Forbidden,
            "this visit is not on your caseload",
        ));
    }
    let mut doc = match &stored {
        Some(row) => load_doc(state, tx, id, &row.heads)?,
        None => AutoCommit::new(),
    };
    let mut sync_state = load_state(tx, caller.device_id, id)?;
    let old_heads = doc.get_heads();
    if let Some(message) = message
        && let Err(e) = doc.sync().receive_sync_message(&mut sync_state, message)
    {
        return Ok(refused(
            id,
            DocOutcome::Rejected,
            format!("the changes could not be applied: {e}"),
        ));
    }
    let new_heads = doc.get_heads();
    if new_heads != old_heads {
        let snapshot = match VisitDoc::read_automerge(&doc, None) {
            Ok(s) => s,
            Err(e) => return Ok(refused(id, DocOutcome::Rejected, e.to_string())),
        };
        if snapshot.header.visit_id != id {
            return Ok(refused(
                id,
                DocOutcome::Rejected,
                "the document's visit_id is not its id",
            ));
        }
        match &stored {
            Some(row) => {
                if row.location_id != snapshot.header.location_id {
                    return Ok(refused(
                        id,
                        DocOutcome::Rejected,
                        "a visit cannot move to another location",
                    ));
                }
            }
            None => {
                if !access::may_sync_location(tx, caller, snapshot.header.location_id)? {
                    return Ok(refused(
                        id,
                        DocOutcome::Forbidden,
                        "this location is not on your caseload",
                    ));
                }
                if state
                    .packs
                    .get(&snapshot.header.pack_id, &snapshot.header.pack_version)
                    .is_none()
                {
                    return Ok(refused(
                        id,
                        DocOutcome::Rejected,
                        format!(
                            "framework pack {}@{} is not known to the server",
                            snapshot.header.pack_id, snapshot.header.pack_version
                        ),
                    ));
                }
            }
        }
        if let Some(reason) = lifecycle::after_change(tx, caller, id, &mut doc, &snapshot)? {
            return Ok(refused(id, DocOutcome::Rejected, reason));
        }
        if stored.is_some() {
            docstore::append(tx, id, &mut doc, &old_heads)?;
        } else {
            docstore::insert(
                tx,
                id,
                snapshot.header.location_id,
                caller.user_id,
                &mut doc,
            )?;
        }
        docstore::set_photos(tx, id, snapshot.photo_hashes())?;
    }
    // A document the server does not have yet and got no changes for is not stored, but its sync
    // state is, so the next round can ask for the changes.
    let reply = doc
        .sync()
        .generate_sync_message(&mut sync_state)
        .map(Message::encode);
    save_state(tx, caller.device_id, id, &sync_state)?;
    let heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
    if !heads.is_empty() {
        touched.push((id, doc));
    }
    Ok(DocReply {
        doc_id: id,
        outcome: DocOutcome::Ok,
        reason: String::new(),
        heads,
        message: reply,
    })
}

/// Documents the caller may sync.
fn accessible_documents(tx: &Transaction<'_>, caller: &Caller) -> Result<Vec<Uuid>, ApiError> {
    let sql = match caller.role {
        Role::Lead => "SELECT d.id FROM documents d WHERE ?1 = ?1",
        Role::Monitor => {
            "SELECT d.id FROM documents d JOIN caseload c ON c.location_id = d.location_id WHERE c.monitor_id = ?1"
        }
        _ => return Ok(Vec::new()),
    };
    crate::db::query_ids(tx, sql, [caller.user_id.to_string()])
}
