//! Files a provider attaches as evidence (photos of a repaired door, a policy as PDF): what kinds
//! are accepted, judged from the bytes rather than the name, and images cleaned of metadata (GPS,
//! camera, comments) before they are stored, since photos may show residents.

use thiserror::Error;

/// The kinds of attachment accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachmentKind {
    /// A JPEG photo.
    Jpeg,
    /// A PNG image.
    Png,
    /// A PDF document.
    Pdf,
}

impl AttachmentKind {
    /// The media type to serve it with.
    pub fn media_type(self) -> &'static str {
        match self {
            AttachmentKind::Jpeg => "image/jpeg",
            AttachmentKind::Png => "image/png",
            AttachmentKind::Pdf => "application/pdf",
        }
    }

    /// Recognises a file from its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<AttachmentKind> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(AttachmentKind::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(AttachmentKind::Png),
            [b'%', b'P', b'D', b'F', b'-', ..] => Some(AttachmentKind::Pdf),
            _ => None,
        }
    }
}

/// Why a file was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AttachmentError {
    /// Not a JPEG, PNG or PDF.
    #[error("the file must be a photo (JPEG or PNG) or a PDF")]
    UnsupportedKind,
    /// The image's structure is broken.
    #[error("the image is damaged and cannot be read")]
    Damaged,
}

/// The file ready to store: its kind and bytes, images without metadata.
pub fn prepare(bytes: &[u8]) -> Result<(AttachmentKind, Vec<u8>), AttachmentError> {
    let kind = AttachmentKind::sniff(bytes).ok_or(AttachmentError::UnsupportedKind)?;
    let clean = match kind {
        AttachmentKind::Jpeg => strip_jpeg(bytes)?,
        AttachmentKind::Png => strip_png(bytes)?,
        AttachmentKind::Pdf => bytes.to_vec(),
    };
    Ok((kind, clean))
}

/// Drops every APPn segment except JFIF (APP0) and every comment: EXIF (with GPS), XMP, IPTC
/// and maker notes all live there. The image data is copied untouched.
fn strip_jpeg(b: &[u8]) -> Result<Vec<u8>, AttachmentError> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    loop {
        // Markers may be padded with extra 0xFF bytes.
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (b.get(i), b.get(i + 1)) else {
            return Err(AttachmentError::Damaged);
        };
        if marker == 0xD9 {
            out.extend_from_slice(&b[i..i + 2]);
            return Ok(out);
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            out.extend_from_slice(&b[i..i + 2]);
            i += 2;
            continue;
        }
        let len = match (b.get(i + 2), b.get(i + 3)) {
            (Some(&h), Some(&l)) => usize::from(h) << 8 | usize::from(l),
            _ => return Err(AttachmentError::Damaged),
        };
        if len < 2 || i + 2 + len > b.len() {
            return Err(AttachmentError::Damaged);
        }
        let segment = &b[i..i + 2 + len];
        let drop = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
        if !drop {
            out.extend_from_slice(segment);
        }
        i += 2 + len;
        if marker == 0xDA {
            // Start of scan: the entropy-coded data and the rest are image, not metadata.
            out.extend_from_slice(&b[i..]);
            return Ok(out);
        }
    }
}

/// Keeps only the chunks that draw the image; drops text, EXIF and time chunks.
fn strip_png(b: &[u8]) -> Result<Vec<u8>, AttachmentError> {
    const KEEP: [&[u8; 4]; 9] = [
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP",
    ];
    let mut out = b[..8].to_vec();
    let mut i = 8;
    while i < b.len() {
        let Some(head) = b.get(i..i + 8) else {
            return Err(AttachmentError::Damaged);
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = i
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .filter(|&e| e <= b.len())
            .ok_or(AttachmentError::Damaged)?;
        let kind = &head[4..8];
        if KEEP.iter().any(|k| k.as_slice() == kind) {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(AttachmentError::Damaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() + 2) as u16;
        let mut s = vec![0xFF, marker, (len >> 8) as u8, len as u8];
        s.extend_from_slice(body);
        s
    }

    #[test]
    fn jpeg_loses_exif_xmp_and_comments_but_keeps_the_image() {
        let mut f = vec![0xFF, 0xD8];
        f.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        f.extend(segment(0xE1, b"Exif\0\0GPS 53.8N 3.05W"));
        f.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"));
        f.extend(segment(0xFE, b"taken in room 12"));
        f.extend(segment(0xDB, &[0u8; 65]));
        f.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        f.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]);
        let (kind, clean) = prepare(&f).unwrap();
        assert_eq!(kind, AttachmentKind::Jpeg);
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("GPS") && !text.contains("xmpmeta") && !text.contains("room 12"));
        assert!(text.contains("JFIF"));
        assert!(clean.ends_with(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]));
    }

    #[test]
    fn png_loses_text_and_exif_chunks() {
        let chunk = |kind: &[u8; 4], body: &[u8]| {
            let mut c = (body.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(body);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut f = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        f.extend(chunk(b"IHDR", &[0; 13]));
        f.extend(chunk(b"tEXt", b"Author\0Jo"));
        f.extend(chunk(b"eXIf", b"GPS"));
        f.extend(chunk(b"IDAT", b"pixels"));
        f.extend(chunk(b"IEND", b""));
        let (_, clean) = prepare(&f).unwrap();
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("Author") && !text.contains("GPS"));
        assert!(text.contains("pixels") && text.contains("IEND"));
    }

    #[test]
    fn other_files_and_broken_images_are_refused() {
        assert_eq!(prepare(b"MZ\x90\0"), Err(AttachmentError::UnsupportedKind));
        assert_eq!(
            prepare(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF]),
            Err(AttachmentError::Damaged)
        );
        let (kind, same) = prepare(b"%PDF-1.7 hello").unwrap();
        assert_eq!(
            (kind, same.as_slice()),
            (AttachmentKind::Pdf, b"%PDF-1.7 hello".as_slice())
        );
    }
}
