//! Signatures and marks on photos through the real server: two monitors mark the same photo
//! offline and both marks survive the sync, the photo's bytes untouched; the manager's and the
//! monitor's signatures show on the report, and an edit after signing is named under the
//! signature it came after.

use accredit_e2e::{Client, Portal, Server, annual_visit, default_pack};
use accredit_shared::records::Answer;
use accredit_shared::sync::Replica;
use accredit_shared::visit::points::Point;
use accredit_shared::visit::*;
use chrono::Utc;
use serde_json::Value;

/// A real JPEG of a corridor-ish scene, 800 × 600.
fn corridor_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(800, 600, |x, y| {
        if (300..500).contains(&x) && y > 120 {
            image::Rgb([150, 90, 40]) // a door
        } else if y > 480 {
            image::Rgb([120, 120, 120]) // the floor
        } else {
            image::Rgb([235, 230, 215]) // the wall
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

fn p(x: u32, y: u32) -> Point {
    Point { x, y }
}

fn signatures(client: &Client, visit: uuid::Uuid) -> Vec<Value> {
    let r = client.get(&format!("/api/v1/visits/{visit}/signatures"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().unwrap().clone()
}

#[test]
fn marks_from_two_devices_and_signatures_that_show_what_changed_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let pack = default_pack();
    let mo = Client::sign_in(&server.url, "monitor1");
    let sam = Client::sign_in(&server.url, "monitor2");
    let lead = Client::sign_in(&server.url, "lead");
    let stanley = mo.location_id("Stanley Park Lodge");
    let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();

    let header = annual_visit(stanley, &pack);
    let visit = header.visit_id;
    let mut a = Replica::new(mo.author());
    a.insert(
        visit,
        VisitDoc::create(&header, &pack, mo.author()).unwrap(),
        None,
    );
    let jpeg = corridor_jpeg();
    let hash = blake3::hash(&jpeg).to_hex().to_string();
    let up = mo.send(
        "PUT",
        &format!("/api/v1/blobs/{hash}"),
        "image/jpeg",
        jpeg.clone(),
    );
    assert_eq!(up.status, 201, "{}", up.text());
    {
        let d = a.doc_mut(&visit).unwrap();
        for c in &criteria {
            d.set_answer(&pack, c, Some(Answer::Score(3))).unwrap();
        }
        d.add_photo(&PhotoRef {
            hash: hash.clone(),
            size: jpeg.len() as u64,
            width: 800,
            height: 600,
            taken_at: Utc::now(),
            caption: "Fire door wedged open".into(),
            criterion: Some(criteria[0].clone()),
        })
        .unwrap();
    }
    mo.sync(&mut a).unwrap();
    let mut b = Replica::new(sam.author());
    sam.sync(&mut b).unwrap();

    // Offline, each marks the same photo; the manager signs on Mo's tablet.
    let arrow = a
        .doc_mut(&visit)
        .unwrap()
        .add_annotation(
            &hash,
            &AnnotationDraft {
                kind: AnnotationKind::Arrow,
                points: vec![p(150, 200), p(330, 420)],
                label: String::new(),
            },
            Utc::now(),
        )
        .unwrap();
    let manager = a
        .doc_mut(&visit)
        .unwrap()
        .add_signature(
            &SignatureDraft {
                name: "Mary Manager".into(),
                role: "Registered manager".into(),
                width: 600,
                height: 200,
                strokes: vec![vec![p(20, 150), p(80, 40), p(140, 160), p(220, 60)]],
            },
            Utc::now(),
        )
        .unwrap();
    let label = b
        .doc_mut(&visit)
        .unwrap()
        .add_annotation(
            &hash,
            &AnnotationDraft {
                kind: AnnotationKind::Label,
                points: vec![p(520, 100)],
                label: "Wedge under the door".into(),
            },
            Utc::now(),
        )
        .unwrap();
    mo.sync(&mut a).unwrap();
    sam.sync(&mut b).unwrap();
    mo.sync(&mut a).unwrap();
    for doc in [a.doc_mut(&visit).unwrap(), b.doc_mut(&visit).unwrap()] {
        let s = doc.snapshot().unwrap();
        let marks: Vec<_> = s.annotations_of(&hash).map(|(id, _)| *id).collect();
        assert_eq!(marks.len(), 2, "both marks on both devices: {marks:?}");
        assert!(marks.contains(&arrow) && marks.contains(&label));
        assert!(doc.conflicts().unwrap().is_empty());
    }
    // The original bytes are as uploaded.
    let blob = lead.get(&format!("/api/v1/blobs/{hash}"));
    assert_eq!(blob.status, 200);
    assert_eq!(blake3::hash(&blob.body).to_hex().to_string(), hash);

    // Mo signs as the monitor, then signs off.
    let monitor = a
        .doc_mut(&visit)
        .unwrap()
        .add_signature(
            &SignatureDraft {
                name: "Mo Patel".into(),
                role: "Quality monitor".into(),
                width: 600,
                height: 200,
                strokes: vec![vec![p(30, 100), p(90, 60), p(160, 120)], vec![p(200, 100)]],
            },
            Utc::now(),
        )
        .unwrap();
    a.doc_mut(&visit).unwrap().sign_off(Utc::now()).unwrap();
    mo.sync(&mut a).unwrap();
    assert!(a.unacknowledged().is_empty());

    let sigs = signatures(&lead, visit);
    assert_eq!(sigs.len(), 2, "{sigs:?}");
    let by_id = |id: uuid::Uuid| {
        sigs.iter()
            .find(|s| s["id"] == id.to_string())
            .unwrap()
            .clone()
    };
    let m = by_id(manager);
    assert_eq!(m["signature"]["name"], "Mary Manager");
    assert_eq!(m["changed_after_signing"], true, "{m}");
    let lines: Vec<&str> = m["change_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        vec!["Mark on a photo added: Label “Wedge under the door” at 520, 100, by Sam Okafor"],
        "Sam's mark arrived after the manager signed"
    );
    assert_eq!(by_id(monitor)["changed_after_signing"], false);

    // Sam's later edit becomes revision 2; once accepted, both signatures say what changed.
    b.doc_mut(&visit)
        .unwrap()
        .set_answer(&pack, &criteria[0], Some(Answer::Score(1)))
        .unwrap();
    sam.sync(&mut b).unwrap();
    let accepted = lead.post(
        &format!("/api/v1/visits/{visit}/revisions/2/accept"),
        serde_json::json!({}),
    );
    assert!(accepted.status < 300, "{}", accepted.text());
    let sigs = signatures(&lead, visit);
    let mo_sig = sigs
        .iter()
        .find(|s| s["id"] == monitor.to_string())
        .unwrap();
    assert_eq!(mo_sig["changed_after_signing"], true, "{mo_sig}");
    let prompt = pack.criterion(&criteria[0]).unwrap().1.prompt.clone();
    let lines: Vec<&str> = mo_sig["change_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("Score for “{}”: 3", prompt.trim_end_matches('.')))
            && lines[0].contains("→ 1"),
        "{lines:?}"
    );

    // The lead deciding revision 2 sees exactly Sam's score change, and no mark or signature.
    let page =
        Portal::sign_in(&server.url, "lead").get(&format!("/visits/{visit}/revisions/2/changes"));
    assert_eq!(page.status, 200);
    assert!(
        page.text()
            .contains("No photo, mark or signature added, removed or changed.")
    );
    // Revision 1 against the moment the manager signed: Sam's label shows under photos and marks.
    let r1 = lead
        .get(&format!("/api/v1/visits/{visit}/revisions/1"))
        .json();
    assert_eq!(r1["record"]["annotations"].as_object().unwrap().len(), 2);
    assert_eq!(r1["record"]["signatures"].as_object().unwrap().len(), 2);

    // The report: the photo with both marks over it and a link to the original; each signature
    // drawn, its state, and what changed.
    let portal = Portal::sign_in(&server.url, "lead");
    let report = portal.get(&format!("/visits/{visit}"));
    assert_eq!(report.status, 200);
    let html = report.text();
    assert!(html.contains("Wedge under the door"), "the label is drawn");
    assert!(html.contains("<polygon"), "the arrow's head is drawn");
    assert!(html.contains(&format!("/visits/{visit}/photos/{hash}")));
    assert!(html.contains("Open the original photo (without marks)"));
    assert!(html.contains(&format!("id=\"signature-{manager}\"")));
    assert_eq!(html.matches("Changed after signing").count(), 2, "{html}");
    assert!(html.contains("Signature of Mary Manager"));
    let original = portal.get(&format!("/visits/{visit}/photos/{hash}"));
    assert_eq!(original.status, 200);
    assert_eq!(original.header("content-type"), Some("image/jpeg"));
    assert_eq!(blake3::hash(&original.body).to_hex().to_string(), hash);

    // Nobody outside the visit gets the photo: the provider before sharing, or a made-up hash.
    let provider = Portal::sign_in(&server.url, "fylde");
    assert_eq!(
        provider
            .get(&format!("/visits/{visit}/photos/{hash}"))
            .status,
        404
    );
    assert_eq!(
        portal
            .get(&format!("/visits/{visit}/photos/{}", "ab".repeat(32)))
            .status,
        404
    );
}
