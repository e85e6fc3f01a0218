//! Signatures and marks on photos, as the field app takes them: each saved at once, like every
//! other edit, and sent with the visit.

use accredit_shared::visit::{AnnotationDraft, SignatureDraft};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Workspace;
use crate::error::{AppError, AppResult};
use crate::store::blobs;

impl Workspace {
    /// Adds a signature of the visit as it stands now (before sign-off).
    pub fn add_signature(
        &mut self,
        id: Uuid,
        draft: &SignatureDraft,
        now: DateTime<Utc>,
    ) -> AppResult<Uuid> {
        self.edit(id, |d, _| Ok(d.add_signature(draft, now)?))
    }

    /// Draws a mark over one of the visit's photos.
    pub fn add_annotation(
        &mut self,
        id: Uuid,
        photo_hash: &str,
        draft: &AnnotationDraft,
        now: DateTime<Utc>,
    ) -> AppResult<Uuid> {
        self.edit(id, |d, _| Ok(d.add_annotation(photo_hash, draft, now)?))
    }

    /// Removes a mark from a photo.
    pub fn remove_annotation(&mut self, id: Uuid, mark: Uuid) -> AppResult<()> {
        self.edit(id, |d, _| Ok(d.remove_annotation(mark)?))
    }

    /// A photo's bytes as stored on this device (processed: no location or camera details),
    /// for marking it up at full size.
    pub fn photo_bytes(&self, hash: &str) -> AppResult<Vec<u8>> {
        blobs::bytes(self.store.conn(), hash)?.ok_or_else(|| {
            AppError::NotFound(
                "this photo is not on this device yet: sync, then try again".to_owned(),
            )
        })
    }
}
