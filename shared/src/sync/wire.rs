//! The binary body of `POST /api/v1/sync`: many documents' Automerge sync messages per round trip.
//!
//! Request: `ACQ1`, a flags byte (bit 0: also send every document I may see that I did not name),
//! a `u32` count, then per document its 16-byte UUID, a `u16` count of 32-byte server heads the
//! device last saw (its last receipt: when they are still the server's heads and the device has
//! nothing to say, the server answers without loading the document), a `u32` length and that
//! many bytes of Automerge sync message (length 0: nothing to say). Response: `ACR1`, a `u32` count, then per
//! document its UUID, an outcome byte, a `u16`-length UTF-8 reason, a `u16` count of 32-byte
//! server heads (the receipt), and a `u32`-length message. Integers are big-endian. Every length is
//! checked against what remains, so a truncated or hostile body is an error, never a panic.

use thiserror::Error;
use uuid::Uuid;

/// Media type of sync bodies.
pub const SYNC_MEDIA_TYPE: &str = "application/vnd.accredit.sync";

const REQUEST_MAGIC: &[u8; 4] = b"ACQ1";
const RESPONSE_MAGIC: &[u8; 4] = b"ACR1";
const FLAG_INCLUDE_ALL: u8 = 1;

/// A body that is not a well-formed sync request or response.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// The body does not start with the expected magic bytes.
    #[error("not an Accredit sync body (bad magic bytes)")]
    BadMagic,
    /// The body ends early.
    #[error("the sync body is truncated")]
    Truncated,
    /// Bytes follow the last entry.
    #[error("the sync body has {0} unexpected trailing bytes")]
    Trailing(usize),
    /// Flags this version does not know.
    #[error("unknown sync flags {0:#04x}")]
    UnknownFlags(u8),
    /// An outcome code this version does not know.
    #[error("unknown outcome code {0}")]
    UnknownOutcome(u8),
    /// A reason that is not UTF-8.
    #[error("a reason is not valid UTF-8")]
    BadReason,
    /// The same document twice in one body.
    #[error("document {0} appears twice")]
    Duplicate(Uuid),
    /// A compressed body that does not decompress.
    #[error("the compressed sync body is damaged: {0}")]
    Compression(String),
    /// A `Content-Encoding` the server does not read.
    #[error("a sync body is sent as it is or with Content-Encoding zstd, br or gzip, not {0:?}")]
    UnknownEncoding(String),
    /// A compressed body that decompresses past the limit.
    #[error("the sync body decompresses to more than {0} bytes")]
    TooLarge(usize),
}

/// One document's part of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocMessage {
    /// The document (visit) id.
    pub doc_id: Uuid,
    /// The server's heads in the device's last receipt for this document.
    pub known_heads: Vec<[u8; 32]>,
    /// An encoded Automerge sync message, if the sender has one.
    pub message: Option<Vec<u8>>,
}

/// A device's sync request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncRequest {
    /// Also send every document the device may see but did not name (how new visits arrive).
    pub include_all: bool,
    /// Messages by document.
    pub docs: Vec<DocMessage>,
}

/// What the server did with a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocOutcome {
    /// Applied (or nothing to apply) and stored.
    Ok = 0,
    /// The device's user may not sync this document; nothing was applied.
    Forbidden = 1,
    /// The changes would leave the visit invalid; nothing was applied (see the reason).
    Rejected = 2,
}

/// One document's part of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocReply {
    /// The document id.
    pub doc_id: Uuid,
    /// What happened.
    pub outcome: DocOutcome,
    /// Why, for `Forbidden` and `Rejected`.
    pub reason: String,
    /// The server's heads for the document after this request: the receipt of what it stored.
    pub heads: Vec<[u8; 32]>,
    /// The server's sync message, if it has one.
    pub message: Option<Vec<u8>>,
}

/// The server's response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncResponse {
    /// Replies by document.
    pub docs: Vec<DocReply>,
}

impl SyncRequest {
    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            16 + self
                .docs
                .iter()
                .map(|d| 20 + msg_len(&d.message))
                .sum::<usize>(),
        );
        out.extend_from_slice(REQUEST_MAGIC);
        out.push(if self.include_all {
            FLAG_INCLUDE_ALL
        } else {
            0
        });
        put_u32(&mut out, self.docs.len());
        for d in &self.docs {
            out.extend_from_slice(d.doc_id.as_bytes());
            put_heads(&mut out, &d.known_heads);
            put_bytes32(&mut out, d.message.as_deref());
        }
        out
    }

    /// Parses body bytes.
    pub fn decode(body: &[u8]) -> Result<SyncRequest, WireError> {
        let mut r = Reader { rest: body };
        if r.take(4)? != REQUEST_MAGIC {
            return Err(WireError::BadMagic);
        }
        let flags = r.u8()?;
        if flags & !FLAG_INCLUDE_ALL != 0 {
            return Err(WireError::UnknownFlags(flags));
        }
        let count = r.u32()? as usize;
        // Each entry takes at least 22 bytes: refuse counts the body cannot hold before allocating.
        if count > r.rest.len() / 22 {
            return Err(WireError::Truncated);
        }
        let mut docs = Vec::with_capacity(count);
        let mut seen = std::collections::HashSet::with_capacity(count);
        for _ in 0..count {
            let doc_id = r.uuid()?;
            if !seen.insert(doc_id) {
                return Err(WireError::Duplicate(doc_id));
            }
            let known_heads = r.heads()?;
            let message = r.bytes32()?;
            docs.push(DocMessage {
                doc_id,
                known_heads,
                message,
            });
        }
        r.finish()?;
        Ok(SyncRequest {
            include_all: flags & FLAG_INCLUDE_ALL != 0,
            docs,
        })
    }
}

impl SyncResponse {
    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(RESPONSE_MAGIC);
        put_u32(&mut out, self.docs.len());
        for d in &self.docs {
            out.extend_from_slice(d.doc_id.as_bytes());
            out.push(d.outcome as u8);
            let reason = truncate_utf8(&d.reason, u16::MAX as usize);
            out.extend_from_slice(&(reason.len() as u16).to_be_bytes());
            out.extend_from_slice(reason.as_bytes());
            put_heads(&mut out, &d.heads);
            put_bytes32(&mut out, d.message.as_deref());
        }
        out
    }

    /// Parses body bytes.
    pub fn decode(body: &[u8]) -> Result<SyncResponse, WireError> {
        let mut r = Reader { rest: body };
        if r.take(4)? != RESPONSE_MAGIC {
            return Err(WireError::BadMagic);
        }
        let count = r.u32()? as usize;
        if count > r.rest.len() / 25 {
            return Err(WireError::Truncated);
        }
        let mut docs = Vec::with_capacity(count);
        for _ in 0..count {
            let doc_id = r.uuid()?;
            let outcome = match r.u8()? {
                0 => DocOutcome::Ok,
                1 => DocOutcome::Forbidden,
                2 => DocOutcome::Rejected,
                other => return Err(WireError::UnknownOutcome(other)),
            };
            let reason_len = r.u16()? as usize;
            let reason = std::str::from_utf8(r.take(reason_len)?)
                .map_err(|_| WireError::BadReason)?
                .to_owned();
            let heads = r.heads()?;
            let message = r.bytes32()?;
            docs.push(DocReply {
                doc_id,
                outcome,
                reason,
                heads,
                message,
            });
        }
        r.finish()?;
        Ok(SyncResponse { docs })
    }
}

fn msg_len(m: &Option<Vec<u8>>) -> usize {
    m.as_ref().map_or(0, Vec::len)
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_heads(out: &mut Vec<u8>, heads: &[[u8; 32]]) {
    let heads = &heads[..heads.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(heads.len() as u16).to_be_bytes());
    for h in heads {
        out.extend_from_slice(h);
    }
}

fn put_bytes32(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    let bytes = bytes.unwrap_or_default();
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn uuid(&mut self) -> Result<Uuid, WireError> {
        let b = self.take(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ok(Uuid::from_bytes(a))
    }
    fn heads(&mut self) -> Result<Vec<[u8; 32]>, WireError> {
        let count = self.u16()? as usize;
        let mut heads = Vec::with_capacity(count.min(self.rest.len() / 32));
        for _ in 0..count {
            let mut h = [0u8; 32];
            h.copy_from_slice(self.take(32)?);
            heads.push(h);
        }
        Ok(heads)
    }
    fn bytes32(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        Ok((n > 0).then(|| b.to_vec()))
    }
    fn finish(&self) -> Result<(), WireError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(WireError::Trailing(self.rest.len()))
        }
    }
}
