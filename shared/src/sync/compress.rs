//! Sync bodies compressed for tablets on metered mobile data.
//!
//! A request body is sent with `Content-Encoding: zstd` by every Accredit client: zstd's long
//! window lets the many visits of one body share their repeated keys and words, which gzip's
//! 32 KB window cannot (a month of visits: 2.4x the gzipped JSON of the same data with gzip,
//! under 1.5x with zstd; see BENCHMARKS.md). `gzip` and plain bodies stay valid for simple
//! clients. Answers are negotiated from `Accept-Encoding`: br for every Accredit client (a
//! browser's fetch decodes it; native clients decode it here), else gzip, else as they are.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::wire::WireError;

/// The `Content-Encoding` of a gzip body.
pub const GZIP: &str = "gzip";
/// The `Content-Encoding` of a zstd body.
pub const ZSTD: &str = "zstd";
/// The `Content-Encoding` of a brotli body.
pub const BROTLI: &str = "br";

/// zstd's level for large request bodies (a month of visits): near its best ratio, still about
/// 3 MB/s on a desktop core.
const ZSTD_LEVEL_LARGE: i32 = 19;
/// zstd's level for the few kilobytes of an everyday sync, where level 19's search costs more
/// time than the bytes it saves are worth.
const ZSTD_LEVEL_SMALL: i32 = 9;
/// Where a body counts as large.
const ZSTD_LARGE_FROM: usize = 64 * 1024;
/// The largest window (2^n bytes) a zstd body may ask the server to hold while decoding: level
/// 19 uses at most 2^23, and a hostile frame must not make the server allocate gigabytes.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;

/// How a sync body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// As it is.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// zstd (RFC 8878).
    Zstd,
    /// brotli (RFC 7932).
    Brotli,
}

impl Encoding {
    /// The encoding a `Content-Encoding` header names (no header: the body as it is).
    pub fn from_header(value: Option<&str>) -> Result<Encoding, WireError> {
        match value.map(str::trim) {
            None => Ok(Encoding::Identity),
            Some(v) if v.eq_ignore_ascii_case("identity") => Ok(Encoding::Identity),
            Some(v) if v.eq_ignore_ascii_case(GZIP) => Ok(Encoding::Gzip),
            Some(v) if v.eq_ignore_ascii_case(ZSTD) => Ok(Encoding::Zstd),
            Some(v) if v.eq_ignore_ascii_case(BROTLI) => Ok(Encoding::Brotli),
            Some(other) => Err(WireError::UnknownEncoding(other.to_owned())),
        }
    }

    /// The `Content-Encoding` header value, if the body is encoded.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some(GZIP),
            Encoding::Zstd => Some(ZSTD),
            Encoding::Brotli => Some(BROTLI),
        }
    }

    /// Decodes a body, refusing one that would grow past `limit` bytes (a few kilobytes of
    /// compressed data can claim gigabytes).
    pub fn decode(self, bytes: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
        match self {
            Encoding::Identity if bytes.len() > limit => Err(WireError::TooLarge(limit)),
            Encoding::Identity => Ok(bytes.to_vec()),
            Encoding::Gzip => gunzip(bytes, limit),
            Encoding::Zstd => unzstd(bytes, limit),
            Encoding::Brotli => read_limited(
                brotli_decompressor::Decompressor::new(bytes, 64 * 1024),
                limit,
            ),
        }
    }
}

/// Compresses a request body with zstd.
pub fn zstd(bytes: &[u8]) -> Result<Vec<u8>, WireError> {
    let level = if bytes.len() >= ZSTD_LARGE_FROM {
        ZSTD_LEVEL_LARGE
    } else {
        ZSTD_LEVEL_SMALL
    };
    zstd::bulk::compress(bytes, level).map_err(|e| WireError::Compression(e.to_string()))
}

fn unzstd(bytes: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    let mut decoder = zstd::stream::read::Decoder::new(bytes)
        .map_err(|e| WireError::Compression(e.to_string()))?;
    decoder
        .window_log_max(ZSTD_WINDOW_LOG_MAX)
        .map_err(|e| WireError::Compression(e.to_string()))?;
    read_limited(decoder, limit)
}

/// Compresses a body with gzip.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut out = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::new(6));
    out.write_all(bytes)
        .map_err(|e| WireError::Compression(e.to_string()))?;
    out.finish()
        .map_err(|e| WireError::Compression(e.to_string()))
}

/// Decompresses a gzip body, refusing one that would grow past `limit` bytes.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    read_limited(GzDecoder::new(bytes), limit)
}

fn read_limited(reader: impl Read, limit: usize) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    reader
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
    fn gzip_round_trips_and_refuses_bombs_and_garbage() {
        let body = b"ACQ1".repeat(1000);
        let packed = gzip(&body).unwrap();
        assert!(packed.starts_with(&[0x1f, 0x8b]) && packed.len() < body.len() / 10);
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

    #[test]
    fn zstd_round_trips_and_refuses_bombs_garbage_and_huge_windows() {
        let body = b"ACQ1".repeat(1000);
        let packed = zstd(&body).unwrap();
        assert!(packed.len() < body.len() / 10);
        assert_eq!(Encoding::Zstd.decode(&packed, body.len()).unwrap(), body);
        assert_eq!(
            Encoding::Zstd.decode(&packed, body.len() - 1),
            Err(WireError::TooLarge(body.len() - 1))
        );
        assert!(matches!(
            Encoding::Zstd.decode(b"\x28\xb5\x2f\xfdnot zstd", 100),
            Err(WireError::Compression(_))
        ));
        // A frame that asks for a 32 MiB window, past what the server holds: refused.
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.window_log(25).unwrap();
        encoder.write_all(&body).unwrap();
        let huge = encoder.finish().unwrap();
        assert_eq!(zstd::stream::decode_all(&huge[..]).unwrap(), body);
        assert!(matches!(
            Encoding::Zstd.decode(&huge, 1 << 20),
            Err(WireError::Compression(_))
        ));
    }

    #[test]
    fn brotli_answers_decode_within_the_limit() {
        let body = b"ACR1".repeat(1000);
        let mut packed = Vec::new();
        brotli::BrotliCompress(&mut &body[..], &mut packed, &Default::default()).unwrap();
        assert!(packed.len() < body.len() / 10);
        assert_eq!(Encoding::Brotli.decode(&packed, body.len()).unwrap(), body);
        assert_eq!(
            Encoding::Brotli.decode(&packed, 100),
            Err(WireError::TooLarge(100))
        );
        assert!(matches!(
            Encoding::Brotli.decode(b"\xffnot brotli at all", 100),
            Err(WireError::Compression(_))
        ));
    }

    #[test]
    fn content_encoding_headers_name_what_the_server_reads() {
        assert_eq!(Encoding::from_header(None), Ok(Encoding::Identity));
        assert_eq!(Encoding::from_header(Some("GZIP")), Ok(Encoding::Gzip));
        assert_eq!(Encoding::from_header(Some(" zstd ")), Ok(Encoding::Zstd));
        assert_eq!(
            Encoding::from_header(Some("deflate")),
            Err(WireError::UnknownEncoding("deflate".into()))
        );
        for e in [
            Encoding::Identity,
            Encoding::Gzip,
            Encoding::Zstd,
            Encoding::Brotli,
        ] {
            assert_eq!(Encoding::from_header(e.header()), Ok(e));
        }
        assert_eq!(
            Encoding::Identity.decode(b"ACQ1", 3),
            Err(WireError::TooLarge(3))
        );
    }
}
