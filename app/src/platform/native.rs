//! The desktop (and mobile) edges: `ureq` on helper threads, the database in a file.

use std::path::Path;
use std::time::Duration;

use accredit_shared::sync::compress::{self, Encoding};

use crate::error::AppResult;
use crate::server_api::{BoxFuture, HttpReply, HttpRequest, Transport};
use rusqlite::Connection;

/// HTTP over the network with `ureq`. Requests run on a helper thread, so awaiting one never
/// blocks the thread that awaits it (the window's, for sign-in).
#[derive(Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
    base: String,
}

/// Whether the photo field is a tablet's camera (then the gallery needs a field of its own).
pub const CAMERA_INPUT: bool = false;

/// The desktop's transport.
pub type HttpTransport = UreqTransport;

impl UreqTransport {
    /// A transport to the server at `base` (e.g. `https://accredit.example.gov.uk`).
    pub fn new(base: &str) -> UreqTransport {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        UreqTransport {
            agent,
            base: base.trim_end_matches('/').to_owned(),
        }
    }
}

impl UreqTransport {
    /// Sends one request, blocking the calling thread.
    pub fn call_blocking(&self, request: HttpRequest) -> Result<HttpReply, String> {
        let mut b = ureq::http::Request::builder()
            .method(request.method)
            .uri(format!("{}{}", self.base, request.path));
        if let Some(t) = &request.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        // Answers come compressed, as a browser takes them (sync answers are large).
        b = b.header("accept-encoding", compress::ZSTD);
        for (k, v) in &request.headers {
            b = b.header(*k, v);
        }
        let result = match request.body {
            Some((media, bytes)) => {
                let req = b
                    .header("content-type", media)
                    .body(bytes)
                    .map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
            None => {
                let req = b.body(()).map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
        };
        let mut response = result.map_err(describe_ureq)?;
        let status = response.status().as_u16();
        let encoding = Encoding::from_header(
            response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap_or("?")),
        )
        .map_err(|e| format!("the server's answer: {e}"))?;
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(describe_ureq)?;
        // Decoded here as a browser's fetch decodes it; a compression bomb stops at the limit.
        let body = encoding
            .decode(&body, 256 * 1024 * 1024)
            .map_err(|e| format!("the server's answer: {e}"))?;
        Ok(HttpReply { status, body })
    }
}

fn describe_ureq(e: ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "the server is not answering".to_owned(),
            std::io::ErrorKind::TimedOut => "the connection timed out".to_owned(),
            _ => io.to_string(),
        },
        ureq::Error::Timeout(_) => "the connection timed out".to_owned(),
        ureq::Error::HostNotFound => "the server's address cannot be found".to_owned(),
        ureq::Error::ConnectionFailed => "no connection to the server".to_owned(),
        other => other.to_string(),
    }
}

impl Transport for UreqTransport {
    fn call(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpReply, String>> {
        let this = self.clone();
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let _ = tx.send(this.call_blocking(request));
            });
            rx.await
                .map_err(|_| "the request was abandoned".to_owned())?
        })
    }
}

/// Opens the database file at `path` (creating its folder), in WAL mode.
pub fn connect(path: &Path) -> AppResult<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// Waits `d`. On the desktop this blocks the thread: it is awaited only by the background loop,
/// which has a thread of its own.
pub async fn sleep(d: Duration) {
    std::thread::sleep(d);
}

/// Runs the background loop that `make` builds on a thread of its own.
pub fn spawn_background<F: std::future::Future<Output = ()> + 'static>(
    make: impl FnOnce() -> F + Send + 'static,
) {
    std::thread::spawn(move || pollster::block_on(make()));
}

/// Scrolls the page to its top.
pub fn scroll_to_top() {
    dioxus::document::eval("setTimeout(() => window.scrollTo(0, 0), 0)");
}

/// After `delay_ms` (so the current render has landed), scrolls the element `id` into view at
/// `block` (`start` or `center`) and, with `focus`, moves keyboard focus to it.
pub fn show_element(id: &str, block: &str, focus: bool, delay_ms: u32) {
    // The ids are ours (fixed names or UUID-based), but quote them as JSON all the same.
    let id = serde_json::to_string(id).unwrap_or_default();
    let block = serde_json::to_string(block).unwrap_or_default();
    let focus = if focus { "e.focus();" } else { "" };
    dioxus::document::eval(&format!(
        "setTimeout(() => {{ const e = document.getElementById({id}); \
         if (e) {{ {focus} e.scrollIntoView({{block: {block}}}); }} }}, {delay_ms})"
    ));
}

/// How this device names itself to the server.
pub fn device_name() -> String {
    format!("Accredit tablet ({})", std::env::consts::OS)
}

/// Runs heavy work (a photo through its pipeline) on a helper thread, so the window keeps
/// drawing meanwhile.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    match rx.await {
        Ok(v) => v,
        // The work panicked: carry the panic on here, as joining the thread would.
        Err(_) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the work sent nothing yet finished"),
        },
    }
}

/// Waits `d` inside the window's event loop (Dioxus runs the desktop on tokio).
pub async fn ui_sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Nothing to report: the desktop keeps its files where the user's files are.
pub async fn storage_report() -> Option<super::StorageReport> {
    None
}

/// Every edit is in the database file, synced, before it returns.
pub fn saves_in_background() -> bool {
    false
}

/// Nothing waits to be saved here.
pub fn saving() -> bool {
    false
}

/// A photo file through the pipeline, on a helper thread.
pub async fn process_photo(bytes: Vec<u8>) -> AppResult<crate::photo::ProcessedPhoto> {
    off_thread(move || crate::photo::process(&bytes)).await
}
