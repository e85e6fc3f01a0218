//! Email notices against a real SMTP server on 127.0.0.1 (Python's aiosmtpd, which
//! `scripts/test.sh` installs): a provider gets a "report shared" email with the closing date
//! and a link, after the mail server refused the first attempts; a monitor's "visit planned"
//! notice queued while the mail server is down arrives after the Accredit server restarts.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accredit_e2e::{Client, Server, workspace};
use serde_json::json;

/// The Python that has aiosmtpd: `ACCREDIT_TEST_PYTHON`, the test command's virtualenv, or
/// the system's.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ACCREDIT_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace().join("target/smtp-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

struct Catcher {
    child: Child,
}

impl Catcher {
    /// Starts the mail server on `port`, keeping messages in `out`, refusing the first `refuse`
    /// that contain `marker`.
    fn start(port: u16, out: &Path, refuse: u32, marker: &str) -> Catcher {
        let mut child = Command::new(python())
            .arg(workspace().join("tests/smtp/catcher.py"))
            .arg(port.to_string())
            .arg(out)
            .arg(refuse.to_string())
            .arg(marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python is needed for the SMTP tests (scripts/test.sh installs aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("catcher stdout"))
            .read_line(&mut line)
            .expect("catcher output");
        assert_eq!(
            line.trim(),
            "ready",
            "the test mail server did not start: is aiosmtpd installed? (scripts/test.sh installs it)"
        );
        Catcher { child }
    }
}

impl Drop for Catcher {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits for a message whose text contains `marker` and returns it, decoded. Other notices
/// (the daily scan's overdue actions, for one) arrive too, in any order.
fn message(out: &Path, marker: &str, within: Duration) -> String {
    let start = Instant::now();
    while start.elapsed() < within {
        let mut names: Vec<_> = std::fs::read_dir(out)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for path in names
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        {
            let text = plain(&std::fs::read_to_string(path).unwrap_or_default());
            if text.contains(marker) {
                return text;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no message with {marker:?} arrived within {within:?}");
}

/// Undoes quoted-printable soft line breaks and `=XX` escapes, enough to read a plain body.
fn plain(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_provider_is_told_a_report_is_shared_even_when_the_mail_server_refuses_at_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mail");
    std::fs::create_dir_all(&out).unwrap();
    let port = free_port();
    let catcher = Catcher::start(port, &out, 2, "Subject: Visit report for");
    let smtp = format!("smtp://127.0.0.1:{port}");
    let mut server = Server::demo_with_env(
        dir.path(),
        &[
            ("ACCREDIT_SMTP_URL", &smtp),
            ("ACCREDIT_NOTICE_RETRY_SECONDS", "1"),
            ("ACCREDIT_MAIL_FROM", "Accredit <accredit@council.example>"),
        ],
    );
    let url = server.url.clone();
    let lead = Client::sign_in(&url, "lead");
    let visits = lead.get("/api/v1/visits").json();
    let signed = visits["visits"]
        .as_array()
        .and_then(|v| {
            v.iter()
                .find(|v| v["visit"]["status"] == "signed_off")
                .cloned()
        })
        .expect("a signed-off visit in the demo data");
    let id = signed["visit"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = lead.post(&format!("/api/v1/visits/{id}/share"), json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    let closes = r.json()["visit"]["window_closes_on"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let closes =
        accredit_shared::labels::long_date(accredit_shared::calendar::parse_date(&closes).unwrap());

    let mail = message(&out, "ready for you to read", Duration::from_secs(30));
    assert!(
        mail.contains("X-Test-Rcpt: fylde@provider.example"),
        "{mail}"
    );
    assert!(
        mail.contains("From: Accredit <accredit@council.example>"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("factual accuracy until {closes}")),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("{url}/visits/{id}")),
        "the link to the portal page: {mail}"
    );
    assert!(!mail.contains("Coastal"), "another provider's name");

    // The portal's record of it: sent after two refusals, the refusal's words kept meanwhile.
    let chris = Client::sign_in(&url, "commissioner");
    let notices = chris.get("/api/v1/notices").json();
    let shared = notices["notices"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["kind"] == "report_shared").cloned())
        .expect("the notice is listed");
    assert_eq!(shared["state"], "sent", "{shared}");
    assert_eq!(shared["attempts"], 3, "sent after two refusals: {shared}");
    assert!(
        !notices.to_string().contains("fylde@provider.example"),
        "addresses stay out of the list"
    );
    assert_eq!(
        Client::sign_in(&url, "lead").get("/api/v1/notices").status,
        403
    );
    assert_eq!(
        Client::sign_in(&url, "fylde").get("/api/v1/notices").status,
        403
    );

    // The mail server goes away; a visit is planned for a monitor; the Accredit server restarts
    // before it could send; the mail server comes back: the notice arrives.
    drop(catcher);
    let monitor2 = Client::sign_in(&url, "monitor2").user_id();
    let location = lead.get("/api/v1/locations").json()["locations"][0]["id"].clone();
    let day = accredit_shared::calendar::london_date(chrono::Utc::now())
        .checked_add_days(chrono::Days::new(5))
        .unwrap();
    let r = lead.post(
        "/api/v1/plans",
        json!({ "location_id": location, "visit_type": "annual", "planned_on": day.to_string(), "monitor_ids": [monitor2] }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    let queued = Client::sign_in(&server.url, "commissioner")
        .get("/api/v1/notices?state=queued")
        .json();
    assert!(
        queued["notices"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["kind"] == "visit_planned")),
        "still queued after the restart: {queued}"
    );
    let _back = Catcher::start(port, &out, 0, "");
    let mail = message(&out, "is planned for", Duration::from_secs(40));
    assert!(
        mail.contains("X-Test-Rcpt: monitor2@council.example"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!(
            "planned for {}",
            accredit_shared::labels::long_date(day)
        )),
        "{mail}"
    );
}
