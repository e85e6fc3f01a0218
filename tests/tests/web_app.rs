//! The field web app in real browsers against the real server: Debian's Chromium as a tablet
//! (both orientations) through Playwright (`tests/browser/webapp.flow.mjs`), then the server's
//! JSON API says whether what the tablet recorded offline arrived intact, and its photo without
//! metadata. The bundle is the one `scripts/build-web.sh` built (`./scripts/test.sh` runs it
//! first).

use std::process::Command;

use accredit_e2e::{Client, Server, web_app_dir, workspace};
use accredit_shared::api::VisitDetail;
use accredit_shared::records::Answer;
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage};

/// A camera JPEG carrying where it was taken (GPS) and the camera's make.
fn gps_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"TabletCam".to_vec()]),
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
                Rational { num: 12, denom: 1 },
            ]),
        },
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut exif = std::io::Cursor::new(Vec::new());
    writer.write(&mut exif, false).unwrap();
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 90);
    enc.set_exif_metadata(exif.into_inner()).unwrap();
    enc.write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn has_gps(jpeg: &[u8]) -> bool {
    exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(jpeg))
        .is_ok_and(|e| e.get_field(Tag::GPSLatitude, In::PRIMARY).is_some())
}

/// Runs one of the web app's browser scenarios against `server`; returns its result file.
fn run_flow(server: &Server, dir: &std::path::Path, orientation: &str) -> serde_json::Value {
    let browser_dir = workspace().join("tests/browser");
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run scripts/build-web.sh (./scripts/test.sh does)"
    );
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/browser (./scripts/test.sh does)"
    );
    let photo = dir.join("camera.jpg");
    let bytes = gps_jpeg(1600, 1200);
    assert!(has_gps(&bytes), "the fixture must carry GPS");
    std::fs::write(&photo, bytes).unwrap();
    let result = dir.join(format!("result-{orientation}.json"));
    let shots = if std::env::var_os("ACCREDIT_UPDATE_SCREENSHOTS").is_some() {
        workspace().join("docs/screenshots")
    } else {
        workspace().join("target/screenshots")
    };
    let out = Command::new("node")
        .arg("webapp.flow.mjs")
        .current_dir(&browser_dir)
        .env("ACCREDIT_URL", &server.url)
        .env("ACCREDIT_PHOTO", &photo)
        .env("ACCREDIT_RESULT", &result)
        .env("ACCREDIT_ORIENTATION", orientation)
        .env("ACCREDIT_SCREENSHOTS", &shots)
        .output()
        .expect("node is needed to run the browser tests");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(out.status.success(), "the web app flow failed:\n{report}");
    serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap()
}

#[test]
fn a_visit_recorded_offline_in_the_web_app_survives_a_killed_browser_and_arrives_intact() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    for orientation in ["landscape", "portrait"] {
        let result = run_flow(&server, dir.path(), orientation);
        let visit = result["visit"].as_str().unwrap();
        let monitor = Client::sign_in(&server.url, "monitor1");
        let reply = monitor.get(&format!("/api/v1/visits/{visit}"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        let detail: VisitDetail = serde_json::from_slice(&reply.body).unwrap();
        let record = detail.record;
        assert_eq!(
            record.header.location_id.to_string(),
            result["location"].as_str().unwrap()
        );
        // The tapped scores, and the rest marked not assessed at sign-off.
        let scores = record
            .results
            .values()
            .filter(|r| matches!(r.answer, Some(Answer::Score(_))))
            .count();
        assert_eq!(scores, result["scored"].as_array().unwrap().len());
        assert!(
            record
                .results
                .values()
                .all(|r| r.answer.is_some())
        );
        assert!(record.signoff.is_some(), "signed off on the tablet");
        assert!(
            record
                .results
                .values()
                .any(|r| r.notes == result["notes"].as_str().unwrap()),
            "the typed notes arrived whole"
        );
        let action = record.actions.values().next().expect("the action arrived");
        assert_eq!(action.description, "Review night staffing rota");
        assert_eq!(action.due_on.unwrap().to_string(), "2027-01-15");
        assert_eq!(record.photos.len(), 1);
        let photo = record.photos.values().next().unwrap();
        let blob = monitor.get(&format!("/api/v1/blobs/{}", photo.hash));
        assert_eq!(blob.status, 200);
        assert_eq!(blob.body.len() as u64, photo.size);
        assert_eq!(blake3::hash(&blob.body).to_hex().to_string(), photo.hash);
        assert!(!has_gps(&blob.body), "the photo left the tablet without GPS");
        assert!(
            !blob.body.windows(6).any(|w| w == b"Exif\0\0"),
            "no EXIF block at all"
        );
        assert!(!blob.body.windows(9).any(|w| w == b"TabletCam"));
    }
}
