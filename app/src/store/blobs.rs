//! Processed photos, stored by the BLAKE3 hash of their bytes.

use rusqlite::{Connection, OptionalExtension, params};

use super::now_text;
use crate::error::AppResult;

/// A photo's size and dimensions, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPhotoMeta {
    /// BLAKE3 hash (hex) of the bytes.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A photo with its bytes and thumbnail.
pub struct StoredBlob {
    /// Size and dimensions.
    pub meta: StoredPhotoMeta,
    /// The processed JPEG.
    pub bytes: Vec<u8>,
    /// A small JPEG for lists.
    pub thumbnail: Vec<u8>,
}

/// Stores a blob; storing the same hash again changes nothing.
pub fn put(conn: &Connection, blob: &StoredBlob) -> AppResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO blobs (hash, bytes, thumbnail, width, height, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            blob.meta.hash,
            blob.bytes,
            blob.thumbnail,
            blob.meta.width,
            blob.meta.height,
            now_text()
        ],
    )?;
    Ok(())
}

/// A blob's bytes.
pub fn bytes(conn: &Connection, hash: &str) -> AppResult<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT bytes FROM blobs WHERE hash = ?1", [hash], |r| {
            r.get(0)
        })
        .optional()?)
}

/// A blob's thumbnail.
pub fn thumbnail(conn: &Connection, hash: &str) -> AppResult<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT thumbnail FROM blobs WHERE hash = ?1", [hash], |r| {
            r.get(0)
        })
        .optional()?)
}

/// A blob's size and dimensions.
pub fn meta(conn: &Connection, hash: &str) -> AppResult<Option<StoredPhotoMeta>> {
    Ok(conn
        .query_row(
            "SELECT hash, length(bytes), width, height FROM blobs WHERE hash = ?1",
            [hash],
            |r| {
                Ok(StoredPhotoMeta {
                    hash: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    width: r.get(2)?,
                    height: r.get(3)?,
                })
            },
        )
        .optional()?)
}
