//! The photo pipeline on real JPEGs carrying camera EXIF: orientation, GPS and a capture time.

use accredit_app::photo::{LONG_EDGE, THUMB_EDGE, process};
use accredit_e2e::camera_jpeg;
use chrono::{TimeZone, Utc};
use exif::{In, Tag};
use image::{ImageDecoder, ImageReader};

#[test]
fn the_fixture_really_carries_gps_and_orientation() {
    // Guard against a fixture that would make the other tests pass vacuously.
    let input = camera_jpeg(600, 400, 6);
    let mut dec = ImageReader::new(std::io::Cursor::new(&input))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    let raw = dec.exif_metadata().unwrap().expect("the input has EXIF");
    let exif = exif::Reader::new().read_raw(raw).unwrap();
    assert!(exif.get_field(Tag::GPSLatitude, In::PRIMARY).is_some());
    assert_eq!(
        exif.get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0)),
        Some(6)
    );
}

#[test]
fn output_is_upright_resized_and_free_of_metadata() {
    let input = camera_jpeg(3000, 2000, 6);
    let out = process(&input).expect("processed");
    // Stored landscape, shown portrait: orientation 6 is applied, long edge 2048.
    assert_eq!((out.width, out.height), (1365, LONG_EDGE));
    let decoded = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (out.width, out.height));
    // The red block stored top-left is top-right once turned 90° clockwise.
    let top_right = decoded.get_pixel(out.width - 20, 20);
    let top_left = decoded.get_pixel(20, 20);
    assert!(
        top_right[0] > 180 && top_right[1] < 80,
        "top right is {top_right:?}"
    );
    assert!(top_left[0] < 180, "top left is {top_left:?}");
    // No EXIF at all, so no GPS, camera make or orientation tag.
    let mut dec = ImageReader::new(std::io::Cursor::new(&out.bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    assert_eq!(dec.exif_metadata().unwrap(), None);
    assert!(
        !out.bytes.windows(4).any(|w| w == b"Exif"),
        "an Exif segment survived"
    );
    assert!(!out.bytes.windows(9).any(|w| w == b"TabletCam"));
    // The capture time is kept as data, read as London time (BST in July).
    assert_eq!(
        out.taken_at,
        Some(Utc.with_ymd_and_hms(2026, 7, 14, 9, 30, 0).unwrap())
    );
    // And a thumbnail, upright too.
    let thumb = image::load_from_memory(&out.thumbnail).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (213, THUMB_EDGE));
}

#[test]
fn the_hash_is_stable_and_names_the_bytes() {
    let input = camera_jpeg(1600, 1200, 1);
    let a = process(&input).unwrap();
    let b = process(&input).unwrap();
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.hash, blake3::hash(&a.bytes).to_hex().to_string());
    // A small photo is not enlarged.
    assert_eq!((a.width, a.height), (1600, 1200));
    let other = process(&camera_jpeg(1600, 1200, 3)).unwrap();
    assert_ne!(a.hash, other.hash, "a rotated photo is a different photo");
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let err = process(b"this is not an image")
        .expect_err("refused")
        .to_string();
    assert!(err.contains("not a JPEG or PNG"), "{err}");
    // A header that claims 20,000 × 20,000 pixels is refused before anything is decoded.
    let mut bomb = camera_jpeg(64, 48, 1);
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline JPEG has SOF0");
    bomb[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x4E, 0x20]);
    let err = process(&bomb).expect_err("refused").to_string();
    assert!(
        err.contains("20000×20000") && err.contains("megapixels"),
        "{err}"
    );
}
