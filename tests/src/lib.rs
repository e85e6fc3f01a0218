//! Test harness for end-to-end tests and benchmarks: the real `accredit-server` binary on
//! 127.0.0.1 with a temporary data directory, and a small blocking HTTP client that speaks its API
//! and sync protocol, as a device would.

pub mod camera;
pub mod pack_versions;

pub use camera::camera_jpeg;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accredit_shared::sync::{Replica, SYNC_MEDIA_TYPE, SyncReport, SyncRunError};
use serde_json::{Value, json};
use uuid::Uuid;

/// The header of a new announced annual visit at `location`, scored against `pack`, started now.
pub fn annual_visit(
    location: Uuid,
    pack: &accredit_shared::FrameworkPack,
) -> accredit_shared::visit::VisitHeader {
    accredit_shared::visit::VisitHeader {
        visit_id: Uuid::new_v4(),
        location_id: location,
        pack_id: pack.id.clone(),
        pack_version: pack.version.clone(),
        visit_type: accredit_shared::records::VisitType::Annual,
        announced: true,
        started_at: chrono::Utc::now(),
        plan_id: None,
    }
}

/// The shipped default framework pack (`cqc-quality-statements`), as the server loads it.
pub fn default_pack() -> accredit_shared::FrameworkPack {
    let text =
        std::fs::read_to_string(workspace().join("assets/frameworks/cqc-quality-statements.toml"))
            .expect("the shipped framework pack");
    accredit_shared::FrameworkPack::from_toml(&text).expect("the shipped pack loads")
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Cargo's target directory.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// The built web app (`scripts/build-web.sh`, which `./scripts/test.sh` runs first).
pub fn web_app_dir() -> PathBuf {
    target_dir().join("web-app")
}

/// Path of the field app's binary (`accredit`), built by `cargo test --workspace`.
pub fn app_binary() -> PathBuf {
    let bin = target_dir().join("debug").join("accredit");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p accredit-app` first",
        bin.display()
    );
    bin
}

/// Path of the server binary for a profile (`debug` or `release`). `cargo test --workspace`
/// builds the debug one (the server crate's own tests need it); cargo cannot be run from inside a
/// test, as it holds the build lock, so a missing binary is a clear failure.
pub fn server_binary(profile: &str) -> PathBuf {
    let bin = target_dir().join(profile).join("accredit-server");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build{} -p accredit-server` first",
        bin.display(),
        if profile == "release" {
            " --release"
        } else {
            ""
        }
    );
    bin
}

/// A running server process.
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Its data directory.
    pub data: PathBuf,
    profile: String,
    demo: bool,
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts `accredit-server demo` with extra environment settings (`ACCREDIT_SMTP_URL`, …),
    /// kept across restarts.
    pub fn demo_with_env(dir: &Path, env: &[(&str, &str)]) -> Server {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Server::start_env(dir.join("data"), "debug", true, None, &web_app_dir(), &env)
    }

    /// Starts `accredit-server demo` on a free port with a fresh data directory under `dir`.
    pub fn demo(dir: &Path) -> Server {
        Server::start(dir.join("data"), "debug", true, None)
    }

    /// Starts `accredit-server demo` serving the web app from `web_app` (a copy a test may
    /// change, as a deployment would).
    pub fn demo_serving(dir: &Path, web_app: &Path) -> Server {
        Server::start_env(dir.join("data"), "debug", true, None, web_app, &[])
    }

    /// Starts a server; `demo` seeds a new data directory first.
    pub fn start(data: PathBuf, profile: &str, demo: bool, addr: Option<&str>) -> Server {
        Server::start_env(data, profile, demo, addr, &web_app_dir(), &[])
    }

    fn start_env(
        data: PathBuf,
        profile: &str,
        demo: bool,
        addr: Option<&str>,
        web_app: &Path,
        env: &[(String, String)],
    ) -> Server {
        let bin = server_binary(profile);
        let mut cmd = Command::new(bin);
        cmd.arg(if demo { "demo" } else { "serve" })
            .args(["--addr", addr.unwrap_or("127.0.0.1:0"), "--data"])
            .arg(&data)
            .env("ACCREDIT_ASSETS", workspace().join("assets"))
            .env("ACCREDIT_WEB_APP", web_app)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // One log line per request would bury the tests' own output: warnings and errors only,
        // unless the run asks for more.
        if std::env::var_os("ACCREDIT_LOG").is_none() {
            cmd.env("ACCREDIT_LOG", "warn");
        }
        let mut child = cmd.spawn().expect("starting accredit-server");
        let stdout = child.stdout.take().expect("server stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("reading server output");
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            url,
            data,
            profile: profile.to_owned(),
            demo,
            env: env.to_vec(),
        }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same data directory and port.
    pub fn restart(&mut self) {
        self.kill();
        let addr = self.url.trim_start_matches("http://").to_owned();
        let mut again = None;
        for _ in 0..50 {
            // The port may take a moment to be free again.
            let attempt = std::panic::catch_unwind(|| {
                Server::start_env(
                    self.data.clone(),
                    &self.profile,
                    false,
                    Some(&addr),
                    &web_app_dir(),
                    &self.env,
                )
            });
            if let Ok(s) = attempt {
                again = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let again = again.expect("restarting the server");
        let _ = self.demo;
        *self = again;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A signed-in client (one device).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// Base URL.
    pub url: String,
    /// Bearer token.
    pub token: String,
    /// The session as the server returned it.
    pub session: Value,
    /// Sync bytes sent and received on the wire (compressed), over this client's life.
    pub wire: std::sync::Arc<[std::sync::atomic::AtomicUsize; 2]>,
}

/// A plain agent that returns 4xx/5xx as responses, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// An agent that opens a new connection for every request. The server may close a connection
/// after refusing a request whose body it did not read (as HTTP allows), so a test that sends many
/// refused requests with bodies must not reuse one.
pub fn fresh_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// An HTTP response reduced to what tests look at.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: String,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of a header, by its lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Reply, ureq::Error> {
    let mut r = r?;
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = r
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()?;
    Ok(Reply {
        status,
        content_type,
        headers,
        body,
    })
}

/// Sends a request with an optional bearer token and body.
pub fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Result<Reply, ureq::Error> {
    request_with(agent, method, url, token, &[], body)
}

/// Sends a request with extra headers (a browser's `Origin` or `Cookie`, for example).
pub fn request_with(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<(&str, Vec<u8>)>,
) -> Result<Reply, ureq::Error> {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let result = match body {
        Some((media, bytes)) => {
            let req = b
                .header("content-type", media)
                .body(bytes)
                .map_err(|e| ureq::Error::BadUri(e.to_string()))?;
            agent.run(req)
        }
        None => {
            let req = b.body(()).map_err(|e| ureq::Error::BadUri(e.to_string()))?;
            agent.run(req)
        }
    };
    reply(result)
}

impl Client {
    /// Signs in as `username` with the demo password.
    pub fn sign_in(url: &str, username: &str) -> Client {
        Client::sign_in_with(url, username, "accredit-demo")
    }

    /// Signs in with a password.
    pub fn sign_in_with(url: &str, username: &str, password: &str) -> Client {
        let agent = agent();
        let r = request(
            &agent,
            "POST",
            &format!("{url}/api/v1/session"),
            None,
            Some(("application/json", json!({ "username": username, "password": password, "device_name": format!("test device of {username}") }).to_string().into_bytes())),
        )
        .expect("sign-in request");
        assert_eq!(r.status, 201, "sign in as {username}: {}", r.text());
        let session = r.json();
        Client {
            agent,
            url: url.to_owned(),
            token: session["token"].as_str().unwrap_or_default().to_owned(),
            session,
            wire: Default::default(),
        }
    }

    /// The user's id.
    pub fn user_id(&self) -> Uuid {
        self.session["user_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .unwrap_or_default()
    }

    /// The user's name.
    pub fn name(&self) -> String {
        self.session["name"].as_str().unwrap_or_default().to_owned()
    }

    /// The user as the author of edits.
    pub fn author(&self) -> accredit_shared::visit::Author {
        accredit_shared::visit::Author {
            user_id: self.user_id(),
            name: self.name(),
        }
    }

    /// The id of a location this user can see, by its name.
    pub fn location_id(&self, name: &str) -> Uuid {
        let list = self.get("/api/v1/locations").json();
        let found = list["locations"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["name"] == name))
            .and_then(|l| l["id"].as_str())
            .and_then(|id| Uuid::parse_str(id).ok());
        found.unwrap_or_else(|| panic!("{name} is not visible to {}: {list}", self.name()))
    }

    /// GET, returning the reply whatever its status.
    pub fn get(&self, path: &str) -> Reply {
        request(
            &self.agent,
            "GET",
            &format!("{}{path}", self.url),
            Some(&self.token),
            None,
        )
        .expect("GET")
    }

    /// GET with an Accept header.
    pub fn get_accept(&self, path: &str, accept: &str) -> Reply {
        let req = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", accept)
            .body(())
            .expect("request");
        reply(self.agent.run(req)).expect("GET")
    }

    /// POST JSON.
    pub fn post(&self, path: &str, body: Value) -> Reply {
        request(
            &self.agent,
            "POST",
            &format!("{}{path}", self.url),
            Some(&self.token),
            Some(("application/json", body.to_string().into_bytes())),
        )
        .expect("POST")
    }

    /// Any method with a raw body.
    pub fn send(&self, method: &str, path: &str, media: &str, body: Vec<u8>) -> Reply {
        request(
            &self.agent,
            method,
            &format!("{}{path}", self.url),
            Some(&self.token),
            Some((media, body)),
        )
        .expect("request")
    }

    /// Uploads `bytes` as a blob (the server must take it) and adds it to `doc` as a photo of
    /// `width` × `height` pixels captioned "Fire door wedged open"; returns its hash.
    pub fn add_uploaded_photo(
        &self,
        doc: &mut accredit_shared::visit::VisitDoc,
        bytes: &[u8],
        width: u32,
        height: u32,
    ) -> String {
        let hash = blake3::hash(bytes).to_hex().to_string();
        let r = self.send(
            "PUT",
            &format!("/api/v1/blobs/{hash}"),
            "application/octet-stream",
            bytes.to_vec(),
        );
        assert_eq!(r.status, 201, "upload: {}", r.text());
        doc.add_photo(&accredit_shared::visit::PhotoRef {
            hash: hash.clone(),
            size: bytes.len() as u64,
            width,
            height,
            taken_at: chrono::Utc::now(),
            caption: "Fire door wedged open".into(),
            criterion: None,
        })
        .expect("a photo of a new draft is accepted");
        hash
    }

    /// Posts one sync body; a network failure or non-200 status is an error.
    pub fn sync_body(&self, body: Vec<u8>) -> Result<Vec<u8>, SyncHttpError> {
        use accredit_shared::sync::compress;
        use std::sync::atomic::Ordering;
        // Compressed both ways, as the field app sends it.
        if std::env::var("PROBE").is_ok() {
            let n = std::fs::read_dir("/tmp/probe").unwrap().count();
            std::fs::write(format!("/tmp/probe/body{n}"), &body).unwrap();
        }
        let packed = compress::zstd(&body).map_err(|e| SyncHttpError(e.to_string()))?;
        self.wire[0].fetch_add(packed.len(), Ordering::Relaxed);
        let r = request_with(
            &self.agent,
            "POST",
            &format!("{}/api/v1/sync", self.url),
            Some(&self.token),
            &[
                ("content-encoding", compress::ZSTD),
                ("accept-encoding", compress::ZSTD),
            ],
            Some((SYNC_MEDIA_TYPE, packed)),
        )
        .map_err(|e| SyncHttpError(e.to_string()))?;
        if r.status != 200 {
            return Err(SyncHttpError(format!("HTTP {}: {}", r.status, r.text())));
        }
        self.wire[1].fetch_add(r.body.len(), Ordering::Relaxed);
        if r.header("content-encoding") != Some(compress::ZSTD) {
            return Err(SyncHttpError(
                "the answer to a client that takes zstd is not zstd".into(),
            ));
        }
        compress::Encoding::Zstd
            .decode(&r.body, 256 * 1024 * 1024)
            .map_err(|e| SyncHttpError(e.to_string()))
    }

    /// Syncs a replica until it settles.
    pub fn sync(&self, replica: &mut Replica) -> Result<SyncReport, SyncRunError<SyncHttpError>> {
        replica.sync_with(|body| self.sync_body(body), 30)
    }
}

/// A failed sync round trip.
#[derive(Debug)]
pub struct SyncHttpError(pub String);

impl std::fmt::Display for SyncHttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyncHttpError {}

/// Sends only the head of a request that announces a `content_length`-byte body and returns the
/// status the server answers with before any body arrives (how a server should refuse an
/// oversized upload without reading it).
pub fn status_for_announced_body(
    url: &str,
    method: &str,
    path: &str,
    token: &str,
    media: &str,
    content_length: usize,
) -> u16 {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: {media}\r\nContent-Length: {content_length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("write head");
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).expect("read status line");
    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A virtual X display (Xvfb), stopped cleanly on drop.
pub struct Xvfb {
    child: Child,
    /// The display, e.g. `:93`.
    pub display: String,
    /// Screen size, e.g. `1280x800`; the app's window is opened at this size.
    pub size: &'static str,
}

impl Xvfb {
    /// A tablet held in landscape.
    pub fn landscape() -> Xvfb {
        Xvfb::start("1280x800")
    }

    /// A tablet held in portrait.
    pub fn portrait() -> Xvfb {
        Xvfb::start("800x1280")
    }

    /// A display of `size` (e.g. `1280x800`) on the first free display number.
    pub fn start(size: &'static str) -> Xvfb {
        for n in 90..140 {
            let lock = format!("/tmp/.X{n}-lock");
            if Path::new(&lock).exists() {
                // A lock whose server is gone (killed without cleaning up) frees its display.
                let alive = std::fs::read_to_string(&lock)
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                if alive {
                    continue;
                }
                let _ = std::fs::remove_file(&lock);
                let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
            }
            let display = format!(":{n}");
            let mut child = Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    &format!("{size}x24"),
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb is needed (apt package xvfb; ./scripts/test.sh installs it)");
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Xvfb {
                        child,
                        display,
                        size,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // This display did not come up (taken meanwhile?): stop it and try the next.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("no free X display");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // Asked to stop, Xvfb removes its lock file; killed, it leaves it behind.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Notes as monitors write them: varied sentences, not one line repeated (which gzip would flatter).
pub fn prose(seed: &mut u64, words: usize) -> String {
    const VOCAB: &[&str] = &[
        "staff",
        "resident",
        "records",
        "care",
        "plan",
        "reviewed",
        "medicines",
        "MAR",
        "chart",
        "night",
        "checks",
        "falls",
        "risk",
        "assessment",
        "manager",
        "agency",
        "training",
        "safeguarding",
        "lead",
        "kitchen",
        "menu",
        "choice",
        "dignity",
        "privacy",
        "call",
        "bell",
        "response",
        "times",
        "activities",
        "garden",
        "family",
        "visit",
        "complaint",
        "log",
        "audit",
        "infection",
        "control",
        "PPE",
        "hand",
        "hygiene",
        "fire",
        "door",
        "propped",
        "open",
        "bedroom",
        "clean",
        "tidy",
        "personal",
        "belongings",
        "consent",
        "capacity",
        "DoLS",
        "application",
        "pending",
        "recruitment",
        "DBS",
        "reference",
        "missing",
        "supervision",
        "overdue",
        "handover",
        "notes",
        "clear",
        "weight",
        "MUST",
        "score",
        "fluid",
        "intake",
        "chart",
        "gaps",
        "pressure",
        "care",
        "repositioning",
        "every",
        "four",
        "hours",
        "observed",
        "kind",
        "patient",
        "rushed",
        "lunch",
        "quiet",
        "lounge",
        "television",
        "loud",
        "hoist",
        "sling",
        "labelled",
        "GP",
        "review",
        "weekly",
    ];
    let mut out = Vec::with_capacity(words);
    for _ in 0..words {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push(VOCAB[(*seed >> 33) as usize % VOCAB.len()]);
    }
    let mut s = out.join(" ");
    s.push('.');
    s
}

/// A portal session of `username`: its cookie and form key.
pub struct Portal {
    url: String,
    cookie: String,
    key: String,
}

/// An agent that shows redirects as they are (the portal answers forms with 303).
fn portal_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Portal {
    /// Signs in through the sign-in form as a demo user; keeps the session cookie and a form key.
    pub fn sign_in(url: &str, username: &str) -> Portal {
        let a = portal_agent();
        let page = request_with(&a, "GET", &format!("{url}/sign-in"), None, &[], None).unwrap();
        let key = set_cookie(&page, "accredit_sign_in").expect("a sign-in key");
        let form =
            format!("username={username}&password=accredit-demo&next=%2Flocations&form_key={key}");
        let signed = request_with(
            &a,
            "POST",
            &format!("{url}/sign-in"),
            None,
            &[
                ("cookie", &format!("accredit_sign_in={key}")),
                ("origin", url),
            ],
            Some(("application/x-www-form-urlencoded", form.into_bytes())),
        )
        .unwrap();
        let session = set_cookie(&signed, "accredit_session").expect("signed in");
        let mut p = Portal {
            url: url.to_owned(),
            cookie: format!("accredit_session={session}"),
            key: String::new(),
        };
        let page = p.get("/account").text();
        let at = page
            .find("name=\"form_key\" value=\"")
            .expect("a form key on the page")
            + "name=\"form_key\" value=\"".len();
        p.key = page[at..].split('"').next().unwrap_or_default().to_owned();
        p
    }

    /// A page, with the session.
    pub fn get(&self, path: &str) -> Reply {
        request_with(
            &portal_agent(),
            "GET",
            &format!("{}{path}", self.url),
            None,
            &[("cookie", &self.cookie)],
            None,
        )
        .unwrap()
    }

    /// A form posted with the session, its form key and this origin.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut form = format!("form_key={}", encode(&self.key));
        for (k, v) in fields {
            form.push_str(&format!("&{k}={}", encode(v)));
        }
        request_with(
            &portal_agent(),
            "POST",
            &format!("{}{path}", self.url),
            None,
            &[("cookie", &self.cookie), ("origin", &self.url)],
            Some(("application/x-www-form-urlencoded", form.into_bytes())),
        )
        .unwrap()
    }
}
