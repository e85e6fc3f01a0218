//! The workspace's side of a sync run: recording what was sent and storing what came back.

use accredit_shared::visit::heads_to_strings;
use uuid::Uuid;

use super::Workspace;
use crate::error::AppResult;
use crate::store::{DocRow, ItemKind, OutboxState, docs, outbox, set_aside};
use crate::sync_client::{acknowledged, receipt_text};

impl Workspace {
    /// Marks visits whose changes are going out in a request as sent.
    pub(crate) fn mark_sent(&mut self, ids: &[Uuid]) -> AppResult<()> {
        let mut labels = Vec::new();
        for id in ids {
            if let Some(e) = outbox::get(self.store.conn(), ItemKind::Visit, &id.to_string())?
                && e.state != OutboxState::Acknowledged
            {
                labels.push((id.to_string(), e.label));
            }
        }
        if labels.is_empty() {
            return Ok(());
        }
        self.store.atomically(|c| {
            for (item, label) in &labels {
                outbox::set_state(
                    c,
                    ItemKind::Visit,
                    item,
                    label,
                    OutboxState::Sent,
                    None,
                    None,
                )?;
            }
            Ok(())
        })
    }

    /// Stores what a sync round brought, in one transaction: new visits, new changes, sync
    /// states and receipts; and moves outbox entries to acknowledged or failed.
    pub(crate) fn persist_synced(
        &mut self,
        ids: &[Uuid],
        refused: &[(Uuid, String)],
    ) -> AppResult<()> {
        // Another device may have moved a draft to a newer pack version.
        for id in ids {
            self.pack_keys.remove(id);
        }
        let known: std::collections::HashSet<Uuid> = docs::list(self.store.conn())?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut writes = Vec::new();
        let Some(replica) = self.replica.as_mut() else {
            return Ok(());
        };
        for id in ids {
            let receipt = replica.receipt(id).map(<[_]>::to_vec).unwrap_or_default();
            let state = replica.encoded_state(id).unwrap_or_default();
            let Some(doc) = replica.doc_mut(id) else {
                continue;
            };
            let snapshot = doc.snapshot().ok();
            let new_row = if known.contains(id) {
                None
            } else {
                // A visit created on another device. Until its header arrives whole it cannot
                // be listed; it is stored anyway so nothing received is lost.
                Some(DocRow {
                    id: *id,
                    location_id: snapshot
                        .as_ref()
                        .map_or(Uuid::nil(), |s| s.header.location_id),
                    started_at: snapshot
                        .as_ref()
                        .map_or_else(String::new, |s| s.header.started_at.to_rfc3339()),
                    signed_off: snapshot.as_ref().is_some_and(|s| s.signoff.is_some()),
                    created_here: false,
                })
            };
            let bytes = if new_row.is_some() {
                doc.save()
            } else {
                doc.save_incremental()
            };
            let signed = snapshot.as_ref().is_some_and(|s| s.signoff.is_some());
            let acked = acknowledged(doc, &receipt);
            writes.push((*id, new_row, bytes, state, receipt, signed, acked));
        }
        let mut chunk_counts = Vec::new();
        self.store.atomically(|c| {
            for (id, new_row, bytes, state, receipt, signed, acked) in &writes {
                match new_row {
                    Some(row) => docs::insert(c, row, bytes)?,
                    None => docs::append(c, *id, bytes)?,
                }
                if *signed {
                    docs::set_signed_off(c, *id)?;
                }
                docs::save_sync_state(c, *id, state, Some(&heads_to_strings(receipt)))?;
                let item = id.to_string();
                if *acked {
                    // Accepted whole: a refusal no longer stands, nor a move to undo.
                    set_aside::clear_refusal(c, *id)?;
                    crate::store::set_setting(c, &super::pack_move::premove_key(*id), None)?;
                }
                if *acked && let Some(e) = outbox::get(c, ItemKind::Visit, &item)? {
                    outbox::set_state(
                        c,
                        ItemKind::Visit,
                        &item,
                        &e.label,
                        OutboxState::Acknowledged,
                        None,
                        Some(&receipt_text(receipt)),
                    )?;
                }
                chunk_counts.push((*id, new_row.is_some() || bytes.is_empty()));
            }
            for (id, reason) in refused {
                if known.contains(id) {
                    set_aside::refuse(c, *id, reason)?;
                }
                let item = id.to_string();
                if let Some(e) = outbox::get(c, ItemKind::Visit, &item)? {
                    outbox::set_state(
                        c,
                        ItemKind::Visit,
                        &item,
                        &e.label,
                        OutboxState::Failed,
                        Some(reason),
                        None,
                    )?;
                }
            }
            Ok(())
        })?;
        for (id, fresh) in chunk_counts {
            self.loaded.insert(id);
            let n = self.chunks.entry(id).or_insert(0);
            if !fresh {
                *n += 1;
            }
        }
        Ok(())
    }
}
