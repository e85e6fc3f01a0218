//! The server side of sync: one request carries many documents' Automerge sync messages; each is
//! applied, checked, stored and answered inside one transaction, so a request either takes
//! effect entirely or not at all, and a retried request is harmless (Automerge ignores changes it
//! already has). Sync states are stored per (device, document).

use std::collections::HashSet;

use accredit_shared::sync::{DocOutcome, DocReply, SyncRequest, SyncResponse};
use accredit_shared::visit::{VisitDoc, VisitHeader, VisitSnapshot};
use automerge::AutoCommit;
use automerge::sync::{Message, State, SyncDoc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::access;
use crate::auth::{Caller, Role};
use crate::docstore;
use crate::error::ServiceError;
use crate::service::visits;
use crate::state::AppState;

/// Handles one sync request body and returns the response body.
///
/// The Automerge work (applying changes, validating the result, generating replies) runs on a
/// reader snapshot, outside the writer, so many requests use every core. Under the writer each
/// document's stored heads and sync state are checked to be the ones that work started from; a
/// document someone else changed meanwhile is simply redone there.
pub fn handle(state: &AppState, caller: &Caller, body: &[u8]) -> Result<Vec<u8>, ServiceError> {
    caller.require(&[Role::Monitor, Role::Lead])?;
    let request =
        SyncRequest::decode(body).map_err(|e| ServiceError::bad_request(e.to_string()))?;
    // Decode every message before touching anything: a malformed one fails the whole request.
    let mut messages = Vec::with_capacity(request.docs.len());
    for d in &request.docs {
        let m = match &d.message {
            Some(bytes) => Some(Message::decode(bytes).map_err(|e| {
                ServiceError::bad_request(format!(
                    "the sync message for document {} is malformed: {e}",
                    d.doc_id
                ))
            })?),
            None => None,
        };
        messages.push((d.doc_id, d.known_heads.clone(), m));
    }
    let prepared = state.db.read(|conn| {
        let mut steps = Vec::with_capacity(messages.len());
        let named: HashSet<Uuid> = messages.iter().map(|(id, _, _)| *id).collect();
        for (id, known, message) in messages {
            let fast = match message {
                None => unchanged(conn, caller, id, &known)?,
                Some(_) => None,
            };
            steps.push(match fast {
                Some(reply) => Step::Answer(reply),
                None => compute(state, conn, caller, id, message)?,
            });
        }
        if request.include_all {
            for id in accessible_documents(conn, caller)? {
                if !named.contains(&id) {
                    steps.push(compute(state, conn, caller, id, None)?);
                }
            }
        }
        Ok(steps)
    })?;
    let (mut applied, mut refused) = (0, 0);
    let response = state.db.write(|tx| {
        let mut replies = Vec::with_capacity(prepared.len());
        let mut touched = Vec::new();
        for step in prepared {
            let step = match step {
                Step::Exchange(ex) if !ex.seen.still_current(tx, caller.device_id, ex.id)? => {
                    compute(state, tx, caller, ex.id, ex.message)?
                }
                other => other,
            };
            let reply = match step {
                Step::Answer(reply) => reply,
                Step::Exchange(ex) => {
                    let changes = ex.changed.is_some();
                    let reply = persist(tx, caller, *ex, &mut touched)?;
                    if changes && reply.outcome == DocOutcome::Ok {
                        applied += 1;
                    }
                    reply
                }
            };
            if reply.outcome != DocOutcome::Ok {
                refused += 1;
            }
            replies.push(reply);
        }
        // Updated under the writer, so the cache follows the order of the writes. A copy whose
        // transaction then fails to commit is harmless: it is used only while its heads are the
        // stored heads, and equal heads mean equal content.
        if let Ok(mut cache) = state.doc_cache.lock() {
            if cache.len() + touched.len() > CACHE_DOCUMENTS {
                cache.clear();
            }
            cache.extend(touched);
        }
        Ok(SyncResponse { docs: replies })
    })?;
    // Counted once committed: a request whose transaction failed applied nothing.
    state.metrics.record_sync_documents(applied, refused);
    Ok(response.encode())
}

/// One document's part of a request after the Automerge work.
enum Step {
    /// The reply needs nothing written (refused, or nothing to exchange).
    Answer(DocReply),
    /// An exchange to store, valid while what it started from is still stored.
    Exchange(Box<Exchange>),
}

/// What a computed exchange started from.
struct Seen {
    /// The stored heads, `None` if the document was not stored.
    heads: Option<String>,
    /// The stored sync state of (device, document).
    sync_state: Option<Vec<u8>>,
}

impl Seen {
    fn read(
        conn: &Connection,
        stored: Option<&docstore::DocRow>,
        device: Uuid,
        id: Uuid,
    ) -> Result<Seen, ServiceError> {
        let sync_state = conn
            .prepare_cached("SELECT state FROM sync_states WHERE device_id = ?1 AND doc_id = ?2")?
            .query_row([device.to_string(), id.to_string()], |r| r.get(0))
            .optional()?;
        Ok(Seen {
            heads: stored.map(|r| r.heads.clone()),
            sync_state,
        })
    }

    fn still_current(
        &self,
        conn: &Connection,
        device: Uuid,
        id: Uuid,
    ) -> Result<bool, ServiceError> {
        let stored = docstore::row(conn, id)?;
        let now = Seen::read(conn, stored.as_ref(), device, id)?;
        Ok(now.heads == self.heads && now.sync_state == self.sync_state)
    }
}

/// A checked change to a visit.
struct Change {
    /// The planned visit the document says it was started from.
    plan_id: Option<Uuid>,
    location_id: Uuid,
    /// The whole record, read when the visit is new, signed off or its photos changed: the
    /// lifecycle and the photo index need it. Otherwise neither has anything to do.
    record: Option<VisitSnapshot>,
    /// The document's new state, ready to store.
    encoded: docstore::Encoded,
}

/// A document's exchange, computed and checked, waiting to be stored.
struct Exchange {
    id: Uuid,
    /// Kept so the exchange can be redone if the stored document moved on meanwhile.
    message: Option<Message>,
    seen: Seen,
    /// The location of the stored document, `None` for a new one.
    stored_location: Option<Uuid>,
    doc: AutoCommit,
    /// What the changes did, when they moved the document's heads.
    changed: Option<Change>,
    sync_state: State,
    reply: DocReply,
}

/// The fast answer for a device with nothing to say whose last receipt is still the server's
/// heads: nothing to exchange, no document to load. `None` when the full exchange is needed.
fn unchanged(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
    known: &[[u8; 32]],
) -> Result<Option<DocReply>, ServiceError> {
    let row: Option<(String, String)> = tx
        .prepare_cached("SELECT location_id, heads FROM documents WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((location, heads)) = row else {
        return Ok(None);
    };
    let location =
        Uuid::parse_str(&location).map_err(|_| ServiceError::internal("bad location id"))?;
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

fn save_state(tx: &Connection, device: Uuid, id: Uuid, s: &State) -> Result<(), ServiceError> {
    tx.prepare_cached(
        "INSERT INTO sync_states (device_id, doc_id, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state",
    )?
    .execute(params![device.to_string(), id.to_string(), s.encode()])?;
    Ok(())
}

/// How many documents the server keeps in memory between requests.
const CACHE_DOCUMENTS: usize = 2048;

/// A stored document: from the cache if its heads match the database's, else from the database.
fn load_doc(
    state: &AppState,
    tx: &Connection,
    id: Uuid,
    stored_heads: &str,
) -> Result<AutoCommit, ServiceError> {
    // A copy, not the cached document itself: concurrent requests for the same visit (two
    // co-monitors) each start from memory.
    let cached = state
        .doc_cache
        .lock()
        .ok()
        .and_then(|c| c.get(&id).cloned());
    if let Some(mut doc) = cached
        && docstore::heads_text(&doc.get_heads()) == stored_heads
    {
        return Ok(doc);
    }
    docstore::load(tx, id)?.ok_or_else(|| ServiceError::internal("document vanished"))
}

/// Applies a device's message to the stored document and works out the reply, without writing.
fn compute(
    state: &AppState,
    conn: &Connection,
    caller: &Caller,
    id: Uuid,
    message: Option<Message>,
) -> Result<Step, ServiceError> {
    let stored = docstore::row(conn, id)?;
    let seen = Seen::read(conn, stored.as_ref(), caller.device_id, id)?;
    if let Some(row) = &stored
        && !access::may_sync_location(conn, caller, row.location_id)?
    {
        return Ok(Step::Answer(refused(
            id,
            DocOutcome::Forbidden,
            "this visit is not on your caseload",
        )));
    }
    let mut doc = match &stored {
        Some(row) => load_doc(state, conn, id, &row.heads)?,
        None => AutoCommit::new(),
    };
    // A state that no longer decodes only costs a fuller exchange, never data.
    let mut sync_state = seen
        .sync_state
        .as_deref()
        .and_then(|b| State::decode(b).ok())
        .unwrap_or_default();
    let old_heads = doc.get_heads();
    if let Some(m) = message.clone()
        && let Err(e) = doc.sync().receive_sync_message(&mut sync_state, m)
    {
        return Ok(Step::Answer(refused(
            id,
            DocOutcome::Rejected,
            format!("the changes could not be applied: {e}"),
        )));
    }
    let mut changed = None;
    if doc.get_heads() != old_heads {
        // The stored state was checked when it was stored, so only what the changes reached is
        // read; the whole record only when the lifecycle or the photo index needs it.
        let check = match VisitDoc::check_automerge_changes(&mut doc, &old_heads, &state.packs) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Step::Answer(refused(
                    id,
                    DocOutcome::Rejected,
                    e.to_string(),
                )));
            }
        };
        if let Some(reply) =
            change_refused(state, conn, caller, id, stored.as_ref(), &check.header)?
        {
            return Ok(Step::Answer(reply));
        }
        // A device sends only its own user's changes (others reach it from the server, which
        // has them already), so every new change must be the caller's.
        if let Some(other) = check
            .change_authors
            .iter()
            .find(|a| a.user_id != caller.user_id)
        {
            return Ok(Step::Answer(refused(
                id,
                DocOutcome::Rejected,
                format!(
                    "the changes are registered to {} ({}), not to the signed-in user",
                    other.name, other.user_id
                ),
            )));
        }
        let record = if check.signed_off || check.photos_touched || stored.is_none() {
            match VisitDoc::read_automerge(&doc, None) {
                Ok(s) => Some(s),
                Err(e) => {
                    return Ok(Step::Answer(refused(
                        id,
                        DocOutcome::Rejected,
                        e.to_string(),
                    )));
                }
            }
        } else {
            None
        };
        let encoded = match &stored {
            Some(_) => docstore::encode_changes(conn, id, &mut doc, &old_heads)?,
            None => docstore::encode_new(&mut doc),
        };
        changed = Some(Change {
            plan_id: check.header.plan_id,
            location_id: check.header.location_id,
            record,
            encoded,
        });
    }
    // A document the server does not have yet and got no changes for is not stored, but its sync
    // state is, so the next round can ask for the changes.
    let message_out = accredit_shared::sync::message::next_message(&mut doc, &mut sync_state);
    let heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
    Ok(Step::Exchange(Box::new(Exchange {
        id,
        message,
        seen,
        stored_location: stored.map(|r| r.location_id),
        doc,
        changed,
        sync_state,
        reply: DocReply {
            doc_id: id,
            outcome: DocOutcome::Ok,
            reason: String::new(),
            heads,
            message: message_out,
        },
    })))
}

/// Why a changed visit may not be stored, as the reply that says so; `None` if it may.
fn change_refused(
    state: &AppState,
    conn: &Connection,
    caller: &Caller,
    id: Uuid,
    stored: Option<&docstore::DocRow>,
    header: &VisitHeader,
) -> Result<Option<DocReply>, ServiceError> {
    if header.visit_id != id {
        return Ok(Some(refused(
            id,
            DocOutcome::Rejected,
            "the document's visit_id is not its id",
        )));
    }
    match stored {
        Some(row) if row.location_id != header.location_id => Ok(Some(refused(
            id,
            DocOutcome::Rejected,
            "a visit cannot move to another location",
        ))),
        Some(_) => Ok(None),
        None if let Some(t) = crate::service::retention::tombstone(conn, id)? => Ok(Some(refused(
            id,
            DocOutcome::Rejected,
            format!(
                "this visit's record was {}; it cannot be sent again",
                t.sentence()
            ),
        ))),
        None if !access::may_sync_location(conn, caller, header.location_id)? => Ok(Some(refused(
            id,
            DocOutcome::Forbidden,
            "this location is not on your caseload",
        ))),
        None if state
            .packs
            .get(&header.pack_id, &header.pack_version)
            .is_none() =>
        {
            Ok(Some(refused(
                id,
                DocOutcome::Rejected,
                format!(
                    "framework pack {}@{} is not known to the server",
                    header.pack_id, header.pack_version
                ),
            )))
        }
        None => Ok(None),
    }
}

/// Stores a computed exchange: the lifecycle consequences of the change, the document, its photo
/// references and the device's sync state.
fn persist(
    tx: &Connection,
    caller: &Caller,
    ex: Exchange,
    touched: &mut Vec<(Uuid, AutoCommit)>,
) -> Result<DocReply, ServiceError> {
    let Exchange {
        id,
        stored_location,
        mut doc,
        changed,
        sync_state,
        reply,
        ..
    } = ex;
    if let Some(change) = changed {
        // The document is stored before the lifecycle sees it: a visit signed off before its
        // first sync creates its `visits` row, which refers to the document. A refusal undoes
        // this document's writes alone, through its own savepoint.
        tx.execute_batch("SAVEPOINT doc_change")?;
        let outcome = (|| -> Result<Option<String>, ServiceError> {
            if stored_location.is_some() {
                docstore::append(tx, id, change.encoded)?;
            } else {
                docstore::insert(tx, id, change.location_id, caller.user_id, change.encoded)?;
                if let Some(plan) = change.plan_id {
                    crate::service::planning::link_visit(tx, plan, id, change.location_id)?;
                }
            }
            if let Some(record) = &change.record {
                if let Some(reason) = visits::after_change(tx, caller, id, &mut doc, record)? {
                    return Ok(Some(reason));
                }
                docstore::set_photos(tx, id, record.photo_hashes())?;
            }
            Ok(None)
        })();
        match outcome {
            Ok(None) => tx.execute_batch("RELEASE doc_change")?,
            Ok(Some(reason)) => {
                tx.execute_batch("ROLLBACK TO doc_change; RELEASE doc_change")?;
                return Ok(refused(id, DocOutcome::Rejected, reason));
            }
            Err(e) => {
                tx.execute_batch("ROLLBACK TO doc_change; RELEASE doc_change")?;
                return Err(e);
            }
        }
    }
    save_state(tx, caller.device_id, id, &sync_state)?;
    if !reply.heads.is_empty() {
        touched.push((id, doc));
    }
    Ok(reply)
}

/// Documents the caller may sync.
fn accessible_documents(tx: &Connection, caller: &Caller) -> Result<Vec<Uuid>, ServiceError> {
    let sql = match caller.role {
        Role::Lead => "SELECT d.id FROM documents d WHERE ?1 = ?1",
        Role::Monitor => {
            "SELECT d.id FROM documents d JOIN caseload c ON c.location_id = d.location_id WHERE c.monitor_id = ?1"
        }
        _ => return Ok(Vec::new()),
    };
    crate::db::query_ids(tx, sql, [caller.user_id.to_string()])
}
