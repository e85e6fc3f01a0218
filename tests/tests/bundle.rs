//! Evidence bundles, through the binary: a bundle exported from a demo server (with a visit
//! carrying a photo) verifies; one flipped byte inside a stored item (a photo, a visit document) fails verification naming the item; a stored determination
//! or signed revision changed in the database is reported as differing from its recomputation;
//! a bundle imported into a fresh server gives the same locations, tiers and payment lines.

use std::path::Path;
use std::process::{Command, Output};

use accredit_e2e::{Client, Server, server_binary};
use accredit_shared::sync::Replica;
use accredit_shared::sync::compress::{self, Encoding};
use accredit_shared::visit::VisitDoc;

/// Runs `accredit-server` with `args` to completion.
fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(server_binary("debug"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env("ACCREDIT_ASSETS", accredit_e2e::workspace().join("assets"))
        .output()
        .expect("running accredit-server")
}

fn export(data: &Path, location: &str, out: &Path) -> Output {
    run(&[
        "export-bundle".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--location".as_ref(),
        location.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

fn verify(file: &Path) -> Output {
    run(&["verify-bundle".as_ref(), file.as_os_str()])
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A demo server's data directory, the server stopped, with one more visit synced by a monitor
/// carrying a photo: the data directory and the photo's bytes.
fn demo_data(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let mut server = Server::demo(dir);
    let mo = Client::sign_in(&server.url, "monitor1");
    let list = mo.get("/api/v1/locations").json();
    let location = list["locations"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let pack = accredit_e2e::default_pack();
    let header = accredit_e2e::annual_visit(location, &pack);
    let mut replica = Replica::new(mo.author());
    replica.insert(
        header.visit_id,
        VisitDoc::create(&header, &pack, mo.author()).unwrap(),
        None,
    );
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    mo.add_uploaded_photo(replica.doc_mut(&header.visit_id).unwrap(), &bytes, 100, 50);
    mo.sync(&mut replica).unwrap();
    assert!(replica.unacknowledged().is_empty());
    server.kill();
    (server.data.clone(), bytes)
}

/// Some location with a published visit: its id and CQC location id.
fn location_with_visit(data: &Path) -> (String, String) {
    let db = rusqlite::Connection::open(data.join("accredit.sqlite3")).unwrap();
    db.query_row(
        "SELECT l.id, l.cqc_location_id FROM locations l JOIN visits v ON v.location_id = l.id
         WHERE v.published_on IS NOT NULL ORDER BY l.name LIMIT 1",
        [],
        |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())),
    )
    .unwrap()
}

#[test]
fn a_bundle_verifies_and_one_flipped_byte_in_an_item_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, photo) = demo_data(dir.path());
    let (id, cqc) = location_with_visit(&data);

    // All locations, then one by its CQC location id: both hold up.
    let all = dir.path().join("all.bundle");
    let out = export(&data, "all", &all);
    assert!(out.status.success(), "{}", text(&out));
    let out = verify(&all);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("the bundle holds up"), "{}", text(&out));

    let one = dir.path().join("one.bundle");
    let out = export(&data, &cqc, &one);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("exported 1 location(s)"),
        "{}",
        text(&out)
    );
    let out = verify(&one);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        !said.contains(" 0 visit revision(s)") && !said.contains(" 0 determination(s)"),
        "{said}"
    );

    // An unknown location writes nothing.
    let none = dir.path().join("none.bundle");
    let out = export(&data, "1-000000000", &none);
    assert!(!out.status.success());
    assert!(text(&out).contains("no location"), "{}", text(&out));
    assert!(!none.exists());

    // One byte flipped inside the photo, the archive otherwise intact.
    let hash = blake3::hash(&photo).to_hex().to_string();
    let mut tar = Encoding::Zstd
        .decode(&std::fs::read(&all).unwrap(), 1 << 30)
        .unwrap();
    let at = tar
        .windows(photo.len())
        .position(|w| w == photo.as_slice())
        .expect("the photo is in the bundle");
    tar[at + 100] ^= 0x01;
    let flipped = dir.path().join("flipped-photo.bundle");
    std::fs::write(&flipped, compress::zstd(&tar).unwrap()).unwrap();
    let out = verify(&flipped);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!("blobs/{}/{hash}: hash mismatch", &hash[..2])),
        "{said}"
    );

    // One byte flipped inside a visit's document, the archive otherwise intact.
    let archive = std::fs::read(&one).unwrap();
    let mut tar = Encoding::Zstd.decode(&archive, 1 << 30).unwrap();
    let suffix = b"/document.automerge\0";
    let at = tar
        .windows(suffix.len())
        .position(|w| w == suffix)
        .expect("a visit document is in the archive");
    // The tar header's name field starts the 512-byte header: `visits/<uuid>/document.automerge`.
    let header = at - "visits/".len() - 36;
    assert_eq!(header % 512, 0);
    assert_eq!(&tar[header..header + 7], b"visits/");
    let name = String::from_utf8(tar[header..at + suffix.len() - 1].to_vec()).unwrap();
    tar[header + 512 + 20] ^= 0x01;
    let flipped = dir.path().join("flipped.bundle");
    std::fs::write(&flipped, compress::zstd(&tar).unwrap()).unwrap();
    let out = verify(&flipped);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains(&format!("{name}: hash mismatch")), "{said}");
    assert!(said.contains("problem(s) found"), "{said}");

    // A stored determination changed in the database: its recomputation differs, named by
    // location, day and what differs.
    let db = rusqlite::Connection::open(data.join("accredit.sqlite3")).unwrap();
    let (seq, day): (i64, String) = db
        .query_row(
            "SELECT seq, day FROM determinations WHERE location_id = ?1 ORDER BY seq DESC LIMIT 1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    db.execute(
        "UPDATE determinations SET weekly_pence = weekly_pence + 1 WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    // And a signed revision's stored record no longer what the document says at its heads.
    let visit: String = db
        .query_row(
            "SELECT visit_id FROM visit_revisions r JOIN visits v ON v.id = r.visit_id
             WHERE v.location_id = ?1 LIMIT 1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE visit_revisions SET record = json_set(record, '$.header.plan_id', '00000000-0000-0000-0000-000000000001')
         WHERE visit_id = ?1 AND revision = 1",
        [&visit],
    )
    .unwrap();
    drop(db);
    let changed = dir.path().join("changed.bundle");
    let out = export(&data, &id, &changed);
    assert!(out.status.success(), "{}", text(&out));
    let out = verify(&changed);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!("locations/{id}/determinations.json: location"))
            && said.contains(&format!("on {day} (determination {seq},"))
            && said.contains("weekly amount: "),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "visits/{visit}/revisions.json: revision 1 differs from visits/{visit}/document.automerge read at its signed heads"
        )),
        "{said}"
    );
    assert!(!said.contains("hash mismatch"), "{said}");
}

/// Every location's row as a commissioner sees it, by id.
fn locations(c: &Client) -> std::collections::BTreeMap<String, serde_json::Value> {
    let list = c.get("/api/v1/locations").json();
    list["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_str().unwrap().to_owned(), l.clone()))
        .collect()
}

#[test]
fn a_bundle_imported_into_a_fresh_server_gives_the_same_tiers_and_payment_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = demo_data(dir.path());
    let file = dir.path().join("all.bundle");
    let out = export(&data, "all", &file);
    assert!(out.status.success(), "{}", text(&out));

    let fresh = dir.path().join("fresh");
    let out = run(&[
        "import-bundle".as_ref(),
        "--data".as_ref(),
        fresh.as_os_str(),
        file.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // A second import finds its locations there already and changes nothing.
    let again = run(&[
        "import-bundle".as_ref(),
        "--data".as_ref(),
        fresh.as_os_str(),
        file.as_os_str(),
    ]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("already has the location"),
        "{}",
        text(&again)
    );
    let out = Command::new(server_binary("debug"))
        .args(["add-user", "--data"])
        .arg(&fresh)
        .args([
            "--username",
            "commissioner",
            "--name",
            "Commissioner",
            "--role",
            "commissioner",
        ])
        .env("ACCREDIT_PASSWORD", "violet kettle harbour lantern")
        .env("ACCREDIT_ASSETS", accredit_e2e::workspace().join("assets"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let seen = |data: std::path::PathBuf, password: &str| {
        let mut server = Server::start(data, "debug", false, None);
        let c = Client::sign_in_with(&server.url, "commissioner", password);
        let rows = locations(&c);
        let payments = c.get(&format!("/api/v1/payments?period={month}")).json();
        server.kill();
        (rows, payments)
    };
    let (rows, payments) = seen(data, "accredit-demo");
    let (rows_after, payments_after) = seen(fresh, "violet kettle harbour lantern");
    assert_eq!(rows.len(), 5);
    assert!(rows.values().any(|r| r["tier"].is_string()), "{rows:?}");
    assert_eq!(rows, rows_after);
    assert!(
        !payments["lines"].as_array().unwrap().is_empty(),
        "{payments}"
    );
    assert_eq!(payments["lines"], payments_after["lines"]);
    assert_eq!(payments["total_pence"], payments_after["total_pence"]);
}
