//! A camera's JPEG for tests: what a tablet's camera writes, metadata and all.

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage};

/// A camera-like JPEG: `w`×`h` as stored, with a red block in the stored top-left corner, and
/// EXIF giving its `orientation` (6: "rotate 90° clockwise to view", as a tablet held upright
/// writes), the camera's make, where it was taken (GPS) and when.
pub fn camera_jpeg(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x % 200) as u8 / 2 + 60, (y % 200) as u8 / 2 + 60, 128])
    });
    for y in 0..h / 5 {
        for x in 0..w / 5 {
            img.put_pixel(x, y, Rgb([230, 20, 20]));
        }
    }
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"TabletCam".to_vec()]),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:07:14 10:30:00".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 53, denom: 1 },
                Rational { num: 49, denom: 1 },
                Rational {
                    num: 1234,
                    denom: 100,
                },
            ]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"W".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 3, denom: 1 },
                Rational { num: 3, denom: 1 },
                Rational {
                    num: 5678,
                    denom: 100,
                },
            ]),
        },
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut exif = std::io::Cursor::new(Vec::new());
    writer.write(&mut exif, false).expect("exif");
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 90);
    enc.set_exif_metadata(exif.into_inner())
        .expect("exif accepted");
    enc.write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}
