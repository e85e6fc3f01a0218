//! The device side of sync, with no I/O: a set of visit documents with one sync state each,
//! driven round by round over whatever transport the caller has.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use automerge::sync::{Message, State, SyncDoc};
use thiserror::Error;
use uuid::Uuid;

use super::wire::{DocMessage, DocOutcome, SyncRequest, SyncResponse, WireError};
use crate::visit::{Author, VisitDoc};

/// Why a sync run stopped without settling.
#[derive(Debug, Error)]
pub enum SyncRunError<E: std::error::Error + 'static> {
    /// The transport failed (network down, HTTP error). Sync states were reset, so the next run
    /// resends whatever may have been lost.
    #[error("transport: {0}")]
    Transport(#[source] E),
    /// The server's body could not be read.
    #[error("the server's sync response is malformed: {0}")]
    Wire(#[from] WireError),
    /// The server sent a message Automerge could not apply.
    #[error("the server's message for document {doc} could not be applied: {message}")]
    Apply {
        /// The document.
        doc: Uuid,
        /// Automerge's complaint.
        message: String,
    },
    /// The exchange did not settle within the round limit.
    #[error("sync did not settle within {0} rounds")]
    TooManyRounds(usize),
}

/// What a settled run achieved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Round trips made.
    pub rounds: usize,
    /// Bytes sent, request bodies only.
    pub bytes_sent: usize,
    /// Bytes received, response bodies only.
    pub bytes_received: usize,
    /// Documents received for the first time.
    pub new_documents: Vec<Uuid>,
    /// Documents the server refused, with its reason.
    pub refused: Vec<(Uuid, DocOutcome, String)>,
}

/// About how many bytes of sync messages one request carries (see [`Replica::request_within`]).
pub const REQUEST_BUDGET: usize = 1024 * 1024;

/// A device's documents and their sync states with the server.
pub struct Replica {
    author: Author,
    docs: BTreeMap<Uuid, VisitDoc>,
    states: BTreeMap<Uuid, State>,
    receipts: BTreeMap<Uuid, Vec<ChangeHash>>,
}

impl Replica {
    /// A replica with no documents.
    pub fn new(author: Author) -> Replica {
        Replica {
            author,
            docs: BTreeMap::new(),
            states: BTreeMap::new(),
            receipts: BTreeMap::new(),
        }
    }

    /// Adds a document (created here or loaded from storage) with a saved sync state, if any.
    pub fn insert(&mut self, id: Uuid, doc: VisitDoc, state: Option<State>) {
        self.docs.insert(id, doc);
        self.states.insert(id, state.unwrap_or_default());
    }

    /// Restores the server's last receipt for a document (saved by the device between runs), so
    /// the first request of the next run names the heads the server is known to have.
    pub fn set_receipt(&mut self, id: Uuid, heads: Vec<ChangeHash>) {
        self.receipts.insert(id, heads);
    }

    /// A document, to read or edit.
    pub fn doc_mut(&mut self, id: &Uuid) -> Option<&mut VisitDoc> {
        self.docs.get_mut(id)
    }

    /// A document, to read.
    pub fn doc(&self, id: &Uuid) -> Option<&VisitDoc> {
        self.docs.get(id)
    }

    /// Ids of the documents held.
    pub fn ids(&self) -> Vec<Uuid> {
        self.docs.keys().copied().collect()
    }

    /// A document's sync state in its persistent form.
    pub fn encoded_state(&self, id: &Uuid) -> Option<Vec<u8>> {
        self.states.get(id).map(State::encode)
    }

    /// The server's last receipt (its heads) for a document.
    pub fn receipt(&self, id: &Uuid) -> Option<&[ChangeHash]> {
        self.receipts.get(id).map(Vec::as_slice)
    }

    /// Documents with changes the server has not acknowledged.
    pub fn unacknowledged(&mut self) -> Vec<Uuid> {
        let mut out = Vec::new();
        for (id, doc) in &mut self.docs {
            let heads = doc.heads();
            let shared = self
                .states
                .get(id)
                .map(|s| s.shared_heads.as_slice())
                .unwrap_or_default();
            if !heads.iter().all(|h| shared.contains(h)) {
                out.push(*id);
            }
        }
        out
    }

    /// Forgets what was in flight, after an exchange whose outcome is unknown: the next round
    /// resends anything that may have been lost. Only what both sides are known to have is kept.
    pub fn connection_lost(&mut self) {
        for state in self.states.values_mut() {
            *state = State::decode(&state.encode()).unwrap_or_default();
        }
    }

    /// The next request: a message for every document with something to say. The first request
    /// of a run (`include_all`) names every document, with the server heads last seen, so the
    /// server can tell which have changed on its side and which the device lacks.
    pub fn request(&mut self, include_all: bool) -> SyncRequest {
        self.request_within(include_all, REQUEST_BUDGET)
    }

    /// [`Replica::request`], with at most about `budget` bytes of messages: once they reach it,
    /// the other documents wait for the next round (a document whose message alone is larger
    /// goes alone). A device with months of unsynced visits so never sends a body past the
    /// server's limit, nor compresses megabytes at once on a tablet's only thread.
    pub fn request_within(&mut self, include_all: bool, budget: usize) -> SyncRequest {
        let mut docs = Vec::new();
        let mut used = 0;
        for (id, doc) in &mut self.docs {
            // Only claim server heads this copy really holds: a run cut short can leave a
            // receipt for changes that never arrived.
            let receipt = self.receipts.get(id).map(Vec::as_slice).unwrap_or_default();
            let holds_all = receipt
                .iter()
                .all(|h| doc.automerge().get_change_by_hash(h).is_some());
            let known_heads = if holds_all {
                receipt.iter().map(|c| c.0).collect()
            } else {
                Vec::new()
            };
            // Past the budget no message is made (making one marks its changes as sent): the
            // document waits for the next round.
            let message = if used < budget {
                let state = self.states.entry(*id).or_default();
                if receipt.is_empty() {
                    super::message::presume_peer_lacks(state);
                }
                super::message::next_message(doc.automerge(), state)
            } else {
                None
            };
            used += message.as_ref().map_or(0, Vec::len);
            if message.is_some() || include_all {
                docs.push(DocMessage {
                    doc_id: *id,
                    known_heads,
                    message,
                });
            }
        }
        SyncRequest { include_all, docs }
    }

    /// Applies the server's response.
    pub fn receive<E: std::error::Error + 'static>(
        &mut self,
        response: &SyncResponse,
        report: &mut SyncReport,
    ) -> Result<(), SyncRunError<E>> {
        for reply in &response.docs {
            if reply.outcome != DocOutcome::Ok {
                report
                    .refused
                    .push((reply.doc_id, reply.outcome, reply.reason.clone()));
                continue;
            }
            let receipt: Vec<ChangeHash> = reply.heads.iter().map(|h| ChangeHash(*h)).collect();
            let Some(bytes) = &reply.message else {
                self.receipts.insert(reply.doc_id, receipt);
                continue;
            };
            let apply_err = |message: String| SyncRunError::Apply {
                doc: reply.doc_id,
                message,
            };
            let message = Message::decode(bytes).map_err(|e| apply_err(e.to_string()))?;
            if !self.docs.contains_key(&reply.doc_id) {
                self.docs
                    .insert(reply.doc_id, VisitDoc::empty(self.author.clone()));
                self.states.insert(reply.doc_id, State::new());
                report.new_documents.push(reply.doc_id);
            }
            let (Some(doc), Some(state)) = (
                self.docs.get_mut(&reply.doc_id),
                self.states.get_mut(&reply.doc_id),
            ) else {
                continue;
            };
            doc.automerge()
                .sync()
                .receive_sync_message(state, message)
                .map_err(|e| apply_err(e.to_string()))?;
            self.receipts.insert(reply.doc_id, receipt);
        }
        Ok(())
    }

    /// Runs rounds until neither side has anything to say. `send` posts one request body and
    /// returns the response body. On a transport failure the states are reset and the error
    /// returned; calling again later carries on safely.
    pub fn sync_with<E: std::error::Error + 'static>(
        &mut self,
        mut send: impl FnMut(Vec<u8>) -> Result<Vec<u8>, E>,
        max_rounds: usize,
    ) -> Result<SyncReport, SyncRunError<E>> {
        let mut report = SyncReport::default();
        for round in 0..max_rounds {
            let request = self.request(round == 0);
            if round > 0 && request.docs.iter().all(|d| d.message.is_none()) {
                return Ok(report);
            }
            let body = request.encode();
            report.bytes_sent += body.len();
            let reply = match send(body) {
                Ok(reply) => reply,
                Err(e) => {
                    self.connection_lost();
                    return Err(SyncRunError::Transport(e));
                }
            };
            report.bytes_received += reply.len();
            report.rounds += 1;
            let response = match SyncResponse::decode(&reply) {
                Ok(r) => r,
                Err(e) => {
                    self.connection_lost();
                    return Err(e.into());
                }
            };
            if let Err(e) = self.receive(&response, &mut report) {
                self.connection_lost();
                return Err(e);
            }
        }
        Err(SyncRunError::TooManyRounds(max_rounds))
    }
}
