//! Sync bodies compressed with gzip: tablets sync over metered mobile data, and a visit's edit
//! history (every keystroke of its notes) compresses well. A client sends `Content-Encoding:
//! gzip` and the server answers the same way; uncompressed bodies stay valid for simple clients.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::wire::WireError;

/// The `Content-Encoding` of a compressed sync body.
pub const GZIP: &str = "gzip";

/// Whether `bytes` start like a gzip stream (sync bodies themselves start with `ACQ1`/`ACR1`).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Compresses a sync body.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut out = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::new(6));
    out.write_all(bytes)
        .map_err(|e| WireError::Compression(e.to_string()))?;
    out.finish()
        .map_err(|e| WireError::Compression(e.to_string()))
}

/// Decompresses a sync body, refusing one that would grow past `limit` bytes (a few kilobytes
/// of gzip can claim gigabytes).
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| WireError::Compression(e.to_string()))?;
    if out.len() > limit {
        return Err(WireError::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bombs_and_garbage() {
        let body = b"ACQ1".repeat(1000);
        let packed = gzip(&body).unwrap();
        assert!(is_gzip(&packed) && packed.len() < body.len() / 10);
        assert_eq!(gunzip(&packed, body.len()).unwrap(), body);
        assert_eq!(
            gunzip(&packed, body.len() - 1),
            Err(WireError::TooLarge(body.len() - 1))
        );
        assert!(matches!(
            gunzip(b"\x1f\x8bnot gzip", 100),
            Err(WireError::Compression(_))
        ));
    }
}
