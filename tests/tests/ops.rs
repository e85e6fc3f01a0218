//! Running the server: a backup taken with the binary while devices sync restores everything
//! acknowledged before it; restore refuses a non-empty directory and a damaged archive and leaves
//! the directory as it was; the request log is JSON with route, status, latency and user id and
//! nothing personal; `/metrics` parses, counts, and answers only whom it should.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accredit_e2e::{Client, Server, agent, request_with, server_binary};
use accredit_shared::records::Answer;
use accredit_shared::sync::Replica;
use accredit_shared::sync::compress::{self, Encoding};
use accredit_shared::visit::*;
use serde_json::Value;
use uuid::Uuid;

/// Bytes that do not compress (as a JPEG's do not), different for each seed.
fn photo(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A photo's hash and bytes.
type Photo = (String, Vec<u8>);

/// Uploads a blob whole; returns its hash once the server has acknowledged it.
fn upload(c: &Client, bytes: &[u8]) -> String {
    let hash = blake3::hash(bytes).to_hex().to_string();
    let r = c.send(
        "PUT",
        &format!("/api/v1/blobs/{hash}"),
        "application/octet-stream",
        bytes.to_vec(),
    );
    assert_eq!(r.status, 201, "upload: {}", r.text());
    hash
}

/// Runs `accredit-server` with `args` to completion.
fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(server_binary("debug"))
        .args(args)
        .output()
        .expect("running accredit-server")
}

fn backup(data: &Path, to: &Path) -> Output {
    run(&[
        "backup".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--to".as_ref(),
        to.as_os_str(),
    ])
}

fn restore(from: &Path, data: &Path) -> Output {
    run(&[
        "restore".as_ref(),
        "--from".as_ref(),
        from.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
    ])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn evidence_texts(doc: &VisitDoc) -> Vec<String> {
    doc.snapshot()
        .unwrap()
        .evidence
        .values()
        .map(|e| e.text.clone())
        .collect()
}

#[test]
fn a_backup_taken_during_sync_load_restores_everything_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let pack = accredit_e2e::default_pack();
    let first = Client::sign_in(&server.url, "monitor1");
    let location = first.location_id("Stanley Park Lodge");

    // Three devices (two monitors) edit their own visit and sync after every edit, uploading a
    // photo every few edits, until told to stop. Each acknowledgement is noted as it arrives.
    let stop = Arc::new(AtomicBool::new(false));
    let edits: Arc<Mutex<Vec<(Uuid, String)>>> = Arc::default();
    let photos: Arc<Mutex<Vec<Photo>>> = Arc::default();
    let mut devices = Vec::new();
    for (t, user) in ["monitor1", "monitor2", "monitor1"].into_iter().enumerate() {
        let c = Client::sign_in(&server.url, user);
        let (pack, stop, edits, photos) =
            (pack.clone(), stop.clone(), edits.clone(), photos.clone());
        devices.push(std::thread::spawn(move || {
            let header = accredit_e2e::annual_visit(location, &pack);
            let visit = header.visit_id;
            let mut replica = Replica::new(c.author());
            replica.insert(
                visit,
                VisitDoc::create(&header, &pack, c.author()).unwrap(),
                None,
            );
            let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
            let mut pending = Vec::new();
            for i in 0..600 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if i % 4 == 0 {
                    let bytes = photo((t * 1000 + i) as u64, 24 * 1024);
                    let hash = upload(&c, &bytes);
                    photos.lock().unwrap().push((hash, bytes));
                }
                let doc = replica.doc_mut(&visit).unwrap();
                doc.set_answer(
                    &pack,
                    &criteria[i % criteria.len()],
                    Some(Answer::Score(1 + (i % 4) as i32)),
                )
                .unwrap();
                let text = format!("device {t} edit {i}");
                doc.add_evidence(
                    &pack,
                    &EvidenceDraft {
                        criterion: None,
                        kind: EvidenceKind::Observation,
                        text: text.clone(),
                        photo: None,
                    },
                )
                .unwrap();
                pending.push(text);
                c.sync(&mut replica).expect("sync during the load");
                if replica.unacknowledged().is_empty() {
                    edits
                        .lock()
                        .unwrap()
                        .extend(pending.drain(..).map(|p| (visit, p)));
                }
            }
        }));
    }
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let until = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < until, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("the load to get going", &|| {
        edits.lock().unwrap().len() >= 15 && photos.lock().unwrap().len() >= 4
    });

    // Whatever is noted now was acknowledged before the backup started.
    let edits_before = edits.lock().unwrap().clone();
    let photos_before = photos.lock().unwrap().clone();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let file = backups.join("accredit.tar.zst");
    let out = backup(&server.data, &file);
    assert!(out.status.success(), "backup failed: {}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("backed up"),
        "{out:?}"
    );
    // The load was still running: more syncs are acknowledged after the backup.
    let after_backup = edits.lock().unwrap().len();
    wait_for("the load to go on after the backup", &|| {
        edits.lock().unwrap().len() >= after_backup + 3
    });
    stop.store(true, Ordering::SeqCst);
    for d in devices {
        d.join().expect("a device thread failed");
    }
    assert_eq!(
        listing(&backups),
        ["accredit.tar.zst"],
        "no temporary file is left beside the backup"
    );
    drop(server);

    let restored = dir.path().join("restored");
    let out = restore(&file, &restored);
    assert!(out.status.success(), "restore failed: {}", stderr(&out));
    let again = Server::start(restored, "debug", false, None);
    let lead = Client::sign_in(&again.url, "lead");
    let mut check = Replica::new(lead.author());
    lead.sync(&mut check).unwrap();
    for (visit, text) in &edits_before {
        let doc = check
            .doc(visit)
            .unwrap_or_else(|| panic!("visit {visit} missing after the restore"));
        assert!(
            evidence_texts(doc).contains(text),
            "acknowledged edit {text:?} missing after the restore"
        );
    }
    for (hash, bytes) in &photos_before {
        let r = lead.get(&format!("/api/v1/blobs/{hash}"));
        assert_eq!(r.status, 200, "photo {hash} after the restore");
        assert!(r.body == *bytes, "photo {hash} changed in the restore");
    }
}

#[test]
fn restore_refuses_a_non_empty_directory_and_a_damaged_archive_leaving_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let mo = Client::sign_in(&server.url, "monitor1");
    let bytes = photo(7, 32 * 1024);
    let hash = upload(&mo, &bytes);
    let good = dir.path().join("good.tar.zst");
    let out = backup(&server.data, &good);
    assert!(out.status.success(), "backup failed: {}", stderr(&out));
    let archive = std::fs::read(&good).unwrap();

    // A directory holding anything is refused and left alone.
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let out = restore(&good, &busy);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    assert_eq!(listing(&busy), ["keep.txt"]);
    assert_eq!(
        std::fs::read_to_string(busy.join("keep.txt")).unwrap(),
        "mine"
    );

    // One flipped byte of the compressed file, into a new directory and into an empty one.
    let mut flipped = archive.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let flipped_file = dir.path().join("flipped.tar.zst");
    std::fs::write(&flipped_file, &flipped).unwrap();
    let fresh = dir.path().join("fresh");
    let out = restore(&flipped_file, &fresh);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert!(
        !fresh.exists(),
        "a failed restore removes the directory it made"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = restore(&flipped_file, &empty);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert!(listing(&empty).is_empty(), "{:?}", listing(&empty));

    // A photo's byte changed inside an otherwise intact archive: only its hash can tell.
    let mut tar = Encoding::Zstd.decode(&archive, 1 << 30).unwrap();
    let at = tar
        .windows(bytes.len())
        .position(|w| w == bytes.as_slice())
        .expect("the photo is in the archive");
    tar[at + 100] ^= 0x01;
    let altered = dir.path().join("altered.tar.zst");
    std::fs::write(&altered, compress::zstd(&tar).unwrap()).unwrap();
    let out = restore(&altered, &empty);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains(&format!("blob {hash}")) && said.contains("do not match its hash"),
        "{said}"
    );
    assert!(listing(&empty).is_empty(), "{:?}", listing(&empty));

    // The good archive still restores.
    let out = restore(&good, &empty);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(empty.join("blobs").join(&hash[..2]).join(&hash)).unwrap() == bytes);

    // A backup whose blob is missing or damaged in the data directory fails, writing nothing.
    let blob = server.data.join("blobs").join(&hash[..2]).join(&hash);
    let aside = dir.path().join("aside");
    std::fs::rename(&blob, &aside).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = backup(&server.data, &out_dir.join("b.tar.zst"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("blob {hash} is listed in the database but")),
        "{}",
        stderr(&out)
    );
    assert!(listing(&out_dir).is_empty(), "{:?}", listing(&out_dir));
    let mut spoiled = bytes.clone();
    spoiled[5] ^= 0x01;
    std::fs::write(&blob, &spoiled).unwrap();
    let out = backup(&server.data, &out_dir.join("b.tar.zst"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("blob {hash} is damaged")),
        "{}",
        stderr(&out)
    );
    assert!(listing(&out_dir).is_empty(), "{:?}", listing(&out_dir));
    std::fs::rename(&aside, &blob).unwrap();
}

/// A demo server started with extra environment, its standard error going where asked.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    fn demo(data: &Path, env: &[(&str, &str)], stderr: Stdio) -> Proc {
        let mut child = Command::new(server_binary("debug"))
            .args(["demo", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("ACCREDIT_ASSETS", accredit_e2e::workspace().join("assets"))
            .env("ACCREDIT_WEB_APP", accredit_e2e::web_app_dir())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting accredit-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Proc { child, url }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn request_logs_are_json_with_route_status_latency_and_user_and_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("server.log");
    let server = Proc::demo(
        &dir.path().join("data"),
        &[("ACCREDIT_LOG_FORMAT", "json"), ("ACCREDIT_LOG", "info")],
        std::fs::File::create(&log).unwrap().into(),
    );
    let (username, password) = ("monitor1", "accredit-demo");
    let mo = Client::sign_in_with(&server.url, username, password);
    assert_eq!(mo.get("/api/v1/locations").status, 200);
    let secret = "q9d1e7secret";
    assert_eq!(
        mo.get(&format!("/api/v1/locations?marker={secret}")).status,
        200
    );
    let page = request_with(
        &agent(),
        "GET",
        &format!("{}/sign-in?next=%2Flocations%2F{secret}", server.url),
        None,
        &[],
        None,
    )
    .unwrap();
    assert_eq!(page.status, 200);
    let unknown = mo.get(&format!("/api/v1/nowhere/{secret}"));
    assert_eq!(unknown.status, 404);
    // Each request's event is written before its response is sent.
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let requests: Vec<&Value> = events
        .iter()
        .filter(|e| e["message"] == "request")
        .collect();
    let find = |method: &str, route: &str| -> Vec<&Value> {
        requests
            .iter()
            .copied()
            .filter(|e| e["method"] == method && e["route"] == route)
            .collect()
    };
    for e in &requests {
        assert!(e["status"].is_u64(), "{e}");
        assert!(e["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{e}");
        assert!(e["level"] == "INFO" && e["timestamp"].is_string(), "{e}");
    }
    let sign_in = find("POST", "/api/v1/session");
    assert_eq!(sign_in.len(), 1, "{requests:?}");
    assert_eq!(sign_in[0]["status"], 201);
    let listed = find("GET", "/api/v1/locations");
    assert_eq!(listed.len(), 2, "{requests:?}");
    for e in listed {
        assert_eq!(e["status"], 200);
        assert_eq!(e["user_id"], mo.user_id().to_string().as_str(), "{e}");
    }
    let page = find("GET", "/sign-in");
    assert_eq!(page.len(), 1, "{requests:?}");
    assert!(
        page[0].get("user_id").is_none(),
        "nobody is signed in: {}",
        page[0]
    );
    assert_eq!(find("GET", "unmatched")[0]["status"], 404);

    for (what, never) in [
        ("the username", username),
        ("the password", password),
        ("the user's name", mo.name().as_str()),
        ("the token", mo.token.as_str()),
        ("the query string", secret),
        ("the query string", "marker="),
    ] {
        assert!(!text.contains(never), "the log holds {what}: {text}");
    }
}

/// A scrape: each series (name and labels, as written) and its value. Panics on any line that
/// is neither a comment nor `name{labels} value`.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let kind = words.next().unwrap_or_default();
            assert!(kind == "HELP" || kind == "TYPE", "bad comment: {line}");
            assert!(words.next().is_some_and(valid_name), "bad comment: {line}");
            if kind == "TYPE" {
                let t = words.next().unwrap_or_default();
                assert!(
                    ["counter", "gauge", "histogram"].contains(&t),
                    "bad type: {line}"
                );
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value: {line}"));
        assert!(valid_name(&line[..name_end]), "bad name: {line}");
        let mut rest = &line[name_end..];
        if rest.starts_with('{') {
            // Label values are quoted and may hold `}` (route patterns) and escapes.
            let mut chars = rest.char_indices().skip(1);
            let mut end = None;
            let mut quoted = false;
            while let Some((i, c)) = chars.next() {
                match (quoted, c) {
                    (true, '\\') => {
                        chars.next();
                    }
                    (_, '"') => quoted = !quoted,
                    (false, '}') => {
                        end = Some(i);
                        break;
                    }
                    (false, c) => assert!(
                        c.is_ascii_alphanumeric() || c == '_' || c == '=' || c == ',',
                        "bad labels: {line}"
                    ),
                    _ => {}
                }
            }
            rest = &rest[end.unwrap_or_else(|| panic!("unclosed labels: {line}")) + 1..];
        }
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let series = line[..line.len() - rest.len()].to_owned();
        assert!(out.insert(series, value).is_none(), "series twice: {line}");
    }
    out
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn scrape(url: &str, headers: &[(&str, &str)]) -> accredit_e2e::Reply {
    request_with(
        &agent(),
        "GET",
        &format!("{url}/metrics"),
        None,
        headers,
        None,
    )
    .unwrap()
}

#[test]
fn metrics_parse_count_requests_and_answer_only_local_or_token_holders() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let read = |headers: &[(&str, &str)]| {
        let r = scrape(&server.url, headers);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.content_type, "text/plain; version=0.0.4; charset=utf-8",
            "{r:?}"
        );
        (parse_metrics(&r.text()), r.text())
    };
    let (before, _) = read(&[]);
    let value = |m: &BTreeMap<String, f64>, series: &str| m.get(series).copied().unwrap_or(0.0);

    let pack = accredit_e2e::default_pack();
    let mo = Client::sign_in(&server.url, "monitor1");
    let location = mo.location_id("Stanley Park Lodge");
    assert_eq!(mo.get("/api/v1/locations").status, 200);
    let header = accredit_e2e::annual_visit(location, &pack);
    let mut replica = Replica::new(mo.author());
    replica.insert(
        header.visit_id,
        VisitDoc::create(&header, &pack, mo.author()).unwrap(),
        None,
    );
    mo.sync(&mut replica).unwrap();
    let photo_bytes = photo(11, 10_000);
    upload(&mo, &photo_bytes);
    assert_eq!(mo.get("/api/v1/visits/not-an-id").status, 400);

    let (after, text) = read(&[]);
    let grew = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        grew(r#"accredit_http_requests_total{route="/api/v1/locations",class="2xx"}"#),
        2.0
    );
    assert_eq!(
        grew(r#"accredit_http_requests_total{route="/api/v1/visits/{id}",class="4xx"}"#),
        1.0
    );
    assert!(grew(r#"accredit_sync_requests_total{outcome="ok"}"#) >= 1.0);
    assert_eq!(
        grew(r#"accredit_sync_requests_total{outcome="failed"}"#),
        0.0
    );
    assert_eq!(grew("accredit_sync_documents_applied_total"), 1.0);
    assert!(grew("accredit_sync_received_bytes_total") > 0.0);
    assert!(grew("accredit_sync_sent_bytes_total") > 0.0);
    assert_eq!(grew("accredit_blob_uploads_total"), 1.0);
    assert_eq!(grew("accredit_blob_upload_bytes_total"), 10_000.0);
    assert!(grew("accredit_http_request_duration_seconds_count") >= 6.0);
    assert!(grew("accredit_sync_request_duration_seconds_count") >= 1.0);
    assert_eq!(grew("accredit_documents"), 1.0);
    assert_eq!(grew("accredit_blobs"), 1.0);
    assert!(value(&after, "accredit_active_sessions") >= 1.0);
    assert!(value(&after, "accredit_database_bytes") > 0.0);
    assert_eq!(
        value(
            &after,
            r#"accredit_http_request_duration_seconds_bucket{le="+Inf"}"#
        ),
        value(&after, "accredit_http_request_duration_seconds_count")
    );
    for personal in [mo.user_id().to_string(), location.to_string(), mo.name()] {
        assert!(!text.contains(&personal), "metrics name {personal}");
    }

    // Through a proxy on this host, every visitor would look local: refused, as a 404.
    for proxied in [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
    ] {
        let r = scrape(&server.url, &[proxied]);
        assert_eq!(r.status, 404, "{proxied:?}");
        assert!(!r.text().contains("accredit_"), "{}", r.text());
    }
    drop(server);

    // With a token, only the token counts, from anywhere.
    let token = "metrics-token-for-the-test";
    let with_token = Proc::demo(
        &dir.path().join("token-data"),
        &[("ACCREDIT_METRICS_TOKEN", token), ("ACCREDIT_LOG", "warn")],
        Stdio::inherit(),
    );
    let bearer = format!("Bearer {token}");
    assert_eq!(scrape(&with_token.url, &[]).status, 404);
    assert_eq!(
        scrape(&with_token.url, &[("authorization", "Bearer wrong")]).status,
        404
    );
    let r = scrape(&with_token.url, &[("authorization", &bearer)]);
    assert_eq!(r.status, 200);
    assert!(parse_metrics(&r.text()).contains_key("accredit_documents"));
    let r = scrape(
        &with_token.url,
        &[
            ("authorization", &bearer),
            ("x-forwarded-for", "203.0.113.9"),
        ],
    );
    assert_eq!(r.status, 200);
}
