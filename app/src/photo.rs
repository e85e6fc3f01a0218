//! The photo pipeline: a camera or file-picker image becomes a small, upright JPEG with no
//! metadata (so no GPS or device details leave the tablet), plus a thumbnail, named by the
//! BLAKE3 hash of its bytes. The same input always gives the same bytes and hash.

use std::io::Cursor;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

use crate::error::{AppError, AppResult};

/// Long edge of a stored photo, in pixels: enough to read a MAR chart or a fire door sign.
pub const LONG_EDGE: u32 = 2048;
/// Long edge of a thumbnail.
pub const THUMB_EDGE: u32 = 320;
/// Largest input accepted, in pixels (a 100 MP image); larger inputs are refused before decoding.
pub const MAX_INPUT_PIXELS: u64 = 100_000_000;
/// Largest input file accepted.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
const QUALITY: u8 = 85;
const THUMB_QUALITY: u8 = 70;

/// A processed photo.
#[derive(Clone)]
pub struct ProcessedPhoto {
    /// BLAKE3 hash of `bytes`, lower-case hex.
    pub hash: String,
    /// The upright, resized JPEG, with no metadata.
    pub bytes: Vec<u8>,
    /// A small JPEG for lists.
    pub thumbnail: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// When it was taken, from the camera's EXIF date (read as London time), if it had one.
    pub taken_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ProcessedPhoto {
    // The bytes are a picture that may show residents: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessedPhoto")
            .field("hash", &self.hash)
            .field("bytes", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("taken_at", &self.taken_at)
            .finish_non_exhaustive()
    }
}

fn photo_err(e: impl std::fmt::Display) -> AppError {
    AppError::Photo(e.to_string())
}

/// What a photo file says of itself, read from its headers without decoding its pixels.
#[derive(Clone, Debug)]
pub struct PhotoHeader {
    /// Width as stored, in pixels.
    pub width: u32,
    /// Height as stored, in pixels.
    pub height: u32,
    /// When it was taken, from the camera's EXIF date (read as London time), if it had one.
    pub taken_at: Option<DateTime<Utc>>,
}

/// Checks a photo file (size, format, dimensions) and reads its header, without decoding it.
pub fn inspect(input: &[u8]) -> AppResult<PhotoHeader> {
    open(input).map(|(_, header, _)| header)
}

/// Checks a photo file and opens its decoder, with its EXIF orientation.
fn open(input: &[u8]) -> AppResult<(Box<dyn ImageDecoder + '_>, PhotoHeader, Orientation)> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(AppError::Photo(format!(
            "the file is {} MB; photos of up to {} MB are accepted",
            input.len() / (1024 * 1024),
            MAX_INPUT_BYTES / (1024 * 1024)
        )));
    }
    let reader = ImageReader::new(Cursor::new(input))
        .with_guessed_format()
        .map_err(photo_err)?;
    if reader.format().is_none() {
        return Err(AppError::Photo(
            "the file is not a JPEG or PNG image".to_owned(),
        ));
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| AppError::Photo(format!("the image cannot be read: {e}")))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_INPUT_PIXELS {
        return Err(AppError::Photo(format!(
            "the image is {w}×{h} pixels; at most {} megapixels are accepted",
            MAX_INPUT_PIXELS / 1_000_000
        )));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_INPUT_PIXELS * 4 + 64 * 1024 * 1024);
    decoder.set_limits(limits).map_err(photo_err)?;
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = exif
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let header = PhotoHeader {
        width: w,
        height: h,
        taken_at: exif.and_then(exif_taken_at),
    };
    Ok((Box::new(decoder), header, orientation))
}

/// Processes an image file's bytes (JPEG or PNG).
pub fn process(input: &[u8]) -> AppResult<ProcessedPhoto> {
    let (decoder, header, orientation) = open(input)?;
    let decoded = DynamicImage::from_decoder(decoder)
        .map_err(|e| AppError::Photo(format!("the image cannot be decoded: {e}")))?;
    // Everything downstream is 8-bit RGB: JPEG has no alpha, and a PNG's transparency would
    // otherwise turn black unpredictably.
    let rgb = match decoded {
        DynamicImage::ImageRgb8(img) => img,
        other => other.to_rgb8(),
    };
    // Resize first and rotate the small image: the same result, a sixth of the pixels to move.
    let mut upright = DynamicImage::ImageRgb8(resize_long_edge(&rgb, LONG_EDGE)?);
    upright.apply_orientation(orientation);
    finish(upright.into_rgb8(), header.taken_at)
}

/// The last steps, the same for a photo decoded here and one the browser decoded: an upright
/// image (resized here if its long edge is over [`LONG_EDGE`]) becomes the stored JPEG, with
/// no metadata, its thumbnail and its hash.
pub fn finish(upright: RgbImage, taken_at: Option<DateTime<Utc>>) -> AppResult<ProcessedPhoto> {
    let upright = resize_long_edge(&upright, LONG_EDGE)?;
    let thumb = resize_long_edge(&upright, THUMB_EDGE)?;
    let bytes = encode(&upright, QUALITY)?;
    let thumbnail = encode(&thumb, THUMB_QUALITY)?;
    Ok(ProcessedPhoto {
        hash: blake3::hash(&bytes).to_hex().to_string(),
        width: upright.width(),
        height: upright.height(),
        bytes,
        thumbnail,
        taken_at,
    })
}

/// The size an image of `w`×`h` is stored at: its long edge at most `edge`.
pub fn fit_long_edge(w: u32, h: u32, edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= edge {
        return (w, h);
    }
    let scale = |x: u32| {
        ((u64::from(x) * u64::from(edge) + u64::from(long) / 2) / u64::from(long)).max(1) as u32
    };
    (scale(w), scale(h))
}

/// Scales so the long edge is at most `edge`; a smaller image is kept as it is.
fn resize_long_edge(img: &RgbImage, edge: u32) -> AppResult<RgbImage> {
    let (w, h) = img.dimensions();
    if w.max(h) <= edge {
        return Ok(img.clone());
    }
    let (nw, nh) = fit_long_edge(w, h, edge);
    let src = ImageRef::new(w, h, img.as_raw(), PixelType::U8x3).map_err(photo_err)?;
    let mut dst = Image::new(nw, nh, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(photo_err)?;
    RgbImage::from_raw(nw, nh, dst.into_vec())
        .ok_or_else(|| AppError::Photo("resized image has the wrong size".to_owned()))
}

/// Baseline JPEG with no metadata segments at all. `jpeg-encoder` (SIMD) is about three times as
/// fast as `image`'s encoder, which keeps a 12 MP photo inside its time budget on one core.
fn encode(img: &RgbImage, quality: u8) -> AppResult<Vec<u8>> {
    let (w, h) = img.dimensions();
    let (w, h) = (
        u16::try_from(w).map_err(photo_err)?,
        u16::try_from(h).map_err(photo_err)?,
    );
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(photo_err)?;
    Ok(out)
}

/// The camera's DateTimeOriginal (or DateTime), read as London civil time.
fn exif_taken_at(raw: Vec<u8>) -> Option<DateTime<Utc>> {
    let exif = exif::Reader::new().read_raw(raw).ok()?;
    let field = exif
        .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
        .or_else(|| exif.get_field(exif::Tag::DateTime, exif::In::PRIMARY))?;
    let exif::Value::Ascii(ref parts) = field.value else {
        return None;
    };
    let text = std::str::from_utf8(parts.first()?).ok()?;
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y:%m:%d %H:%M:%S").ok()?;
    chrono_tz::Europe::London
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}
