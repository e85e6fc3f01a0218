//! The browser edges: `fetch` for HTTP, SQLite's files in a storage worker (see
//! [`worker_vfs`]), timers from the page's event loop, and page actions through `web-sys`.

pub mod worker_vfs;

use std::path::Path;
use std::time::Duration;

use js_sys::{Promise, Uint8Array};
use rusqlite::{Connection, OpenFlags};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, RequestMode, Response};

use crate::error::{AppError, AppResult};
use crate::server_api::{BoxFuture, HttpReply, HttpRequest, Transport};

/// HTTP through the browser's `fetch`. The app and the API share an origin, so no CORS.
pub struct FetchTransport {
    base: String,
}

/// Whether the photo field is a tablet's camera: in the browser it is (`capture`).
pub const CAMERA_INPUT: bool = true;

/// The browser's transport.
pub type HttpTransport = FetchTransport;

impl FetchTransport {
    /// A transport to the server at `base`.
    pub fn new(base: &str) -> FetchTransport {
        FetchTransport {
            base: base.trim_end_matches('/').to_owned(),
        }
    }
}

impl Transport for FetchTransport {
    fn call(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpReply, String>> {
        Box::pin(async move { fetch(&self.base, request).await.map_err(describe) })
    }
}

async fn fetch(base: &str, request: HttpRequest) -> Result<HttpReply, JsValue> {
    let init = RequestInit::new();
    init.set_method(request.method);
    init.set_mode(RequestMode::SameOrigin);
    init.set_cache(web_sys::RequestCache::NoStore);
    let headers = Headers::new()?;
    if let Some(t) = &request.token {
        headers.set("authorization", &format!("Bearer {t}"))?;
    }
    for (k, v) in &request.headers {
        headers.set(k, v)?;
    }
    if let Some((media, bytes)) = &request.body {
        headers.set("content-type", media)?;
        let body = Uint8Array::from(bytes.as_slice());
        init.set_body(&body);
    }
    init.set_headers(&headers);
    // A request the network never answers is given up after a minute, as on the desktop.
    let abort = web_sys::AbortController::new()?;
    init.set_signal(Some(&abort.signal()));
    let timer = {
        let abort = abort.clone();
        gloo_timeout(60_000, move || abort.abort())
    };
    let req = Request::new_with_str_and_init(&format!("{base}{}", request.path), &init)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let result = async {
        let resp: Response = JsFuture::from(window.fetch_with_request(&req))
            .await?
            .dyn_into()?;
        let status = resp.status();
        let buf = JsFuture::from(resp.array_buffer()?).await?;
        Ok::<_, JsValue>(HttpReply {
            status,
            body: Uint8Array::new(&buf).to_vec(),
        })
    }
    .await;
    window.clear_timeout_with_handle(timer);
    result
}

/// Calls `f` after `ms` milliseconds; returns the timer's handle.
fn gloo_timeout(ms: i32, f: impl FnOnce() + 'static) -> i32 {
    let cb = wasm_bindgen::closure::Closure::once_into_js(f);
    web_sys::window()
        .and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms)
                .ok()
        })
        .unwrap_or(0)
}

/// A failed `fetch` in words: the browser says only "Failed to fetch" when offline.
fn describe(e: JsValue) -> String {
    let name = js_sys::Reflect::get(&e, &"name".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    match name.as_str() {
        "AbortError" => "the connection timed out".to_owned(),
        "TypeError" => "no connection to the server".to_owned(),
        _ => e
            .as_string()
            .or_else(|| {
                js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|v| v.as_string())
            })
            .unwrap_or_else(|| "the request failed".to_owned()),
    }
}

/// Opens the database `path` (a plain name) through the storage worker, in write-ahead-log mode
/// without shared memory: exclusive locking (the files are this tab's alone) set first keeps
/// the WAL index in memory, and each commit costs one flush of the log instead of a rollback
/// journal's three.
pub fn connect(path: &Path) -> AppResult<Connection> {
    let name = path
        .to_str()
        .ok_or_else(|| AppError::Corrupt("the database name is not text".to_owned()))?;
    let conn = Connection::open_with_flags_and_vfs(
        name,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        worker_vfs::VFS_NAME,
    )?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A closed tab leaves its log behind (pages go without closing the database), and the next
    // start reads all of it to rebuild the index: checkpoint every 100 pages, not 1,000.
    conn.pragma_update(None, "wal_autocheckpoint", 100)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// Waits `d` on the page's event loop.
pub async fn sleep(d: Duration) {
    let ms = d.as_millis().min(i32::MAX as u128) as i32;
    let promise = Promise::new(&mut |resolve, _reject| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Runs the background loop on the page's event loop.
pub fn spawn_background<F: std::future::Future<Output = ()> + 'static>(
    make: impl FnOnce() -> F + 'static,
) {
    wasm_bindgen_futures::spawn_local(make());
}

/// Scrolls the page to its top, after the current render.
pub fn scroll_to_top() {
    wasm_bindgen_futures::spawn_local(async {
        sleep(Duration::ZERO).await;
        if let Some(w) = web_sys::window() {
            w.scroll_to_with_x_and_y(0.0, 0.0);
        }
    });
}

/// After `delay_ms`, scrolls the element `id` into view at `block` (`start` or `center`) and,
/// with `focus`, moves keyboard focus to it.
pub fn show_element(id: &str, block: &str, focus: bool, delay_ms: u32) {
    let (id, block) = (id.to_owned(), block.to_owned());
    wasm_bindgen_futures::spawn_local(async move {
        sleep(Duration::from_millis(delay_ms.into())).await;
        let Some(e) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&id))
        else {
            return;
        };
        if focus && let Some(h) = e.dyn_ref::<web_sys::HtmlElement>() {
            let _ = h.focus();
        }
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(if block == "center" {
            web_sys::ScrollLogicalPosition::Center
        } else {
            web_sys::ScrollLogicalPosition::Start
        });
        e.scroll_into_view_with_scroll_into_view_options(&options);
    });
}

/// How this device names itself to the server.
pub fn device_name() -> String {
    let agent = web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default();
    let kind = if agent.contains("iPad") || agent.contains("Macintosh") && agent.contains("Safari")
    {
        "iPad or Mac"
    } else if agent.contains("Android") {
        "Android"
    } else {
        "browser"
    };
    format!("Accredit web app ({kind})")
}

/// Runs heavy work (a photo through its pipeline) after the current frame is drawn, so the
/// "Processing" message shows first. The page has no threads to spare.
pub async fn off_thread<T>(work: impl FnOnce() -> T) -> T {
    sleep(Duration::from_millis(16)).await;
    work()
}

/// Waits `d` inside the page's event loop (the same as [`sleep`] in the browser).
pub async fn ui_sleep(d: Duration) {
    sleep(d).await;
}

/// What the browser says of the app's storage: whether it will keep it, and how full it is.
pub async fn storage_report() -> Option<super::StorageReport> {
    let window = web_sys::window()?;
    let prepared = js_sys::Reflect::get(&window, &"accreditStorage".into()).ok()?;
    let persisted = js_sys::Reflect::get(&prepared, &"persisted".into())
        .ok()?
        .as_bool()
        .unwrap_or(false);
    let estimate = JsFuture::from(window.navigator().storage().estimate().ok()?)
        .await
        .ok()?;
    let number = |name: &str| {
        js_sys::Reflect::get(&estimate, &name.into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0) as u64
    };
    Some(super::StorageReport {
        persisted,
        used: number("usage"),
        quota: number("quota"),
        in_indexeddb: saves_in_background(),
    })
}

/// Whether the storage worker keeps the files in IndexedDB (written just after each change)
/// rather than in the private file system (on disk before each change returns).
pub fn saves_in_background() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &"accreditStorage".into()).ok())
        .and_then(|s| js_sys::Reflect::get(&s, &"mode".into()).ok())
        .and_then(|m| m.as_string())
        .is_some_and(|m| m == "indexeddb")
}

/// Whether changes made are not yet all in the browser's storage.
pub fn saving() -> bool {
    worker_vfs::unsaved()
}

/// A photo file through the pipeline. The browser decodes it (in native code, with the camera's
/// orientation applied) and scales it to the stored size; the shared Rust steps then re-encode
/// it without metadata, make the thumbnail and hash it (`photo::finish`). Decoding a 12 MP JPEG
/// in WebAssembly takes several seconds on a tablet; the browser takes a fraction of that. If
/// the browser cannot (an old one), the whole pipeline runs in WebAssembly as on the desktop.
pub async fn process_photo(bytes: Vec<u8>) -> AppResult<crate::photo::ProcessedPhoto> {
    // The checks (size, format, pixel count) and the capture time come from the file itself.
    let header = crate::photo::inspect(&bytes)?;
    match browser_decode(&bytes).await {
        Ok(upright) => crate::photo::finish(upright, header.taken_at),
        Err(_) => off_thread(move || crate::photo::process(&bytes)).await,
    }
}

/// Decodes and scales an image with the browser's own decoder: upright, long edge at most
/// [`crate::photo::LONG_EDGE`], as RGB.
async fn browser_decode(bytes: &[u8]) -> Result<image::RgbImage, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let parts = js_sys::Array::of1(&Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts)?;
    let options = web_sys::ImageBitmapOptions::new();
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    let bitmap: web_sys::ImageBitmap = JsFuture::from(
        window.create_image_bitmap_with_blob_and_image_bitmap_options(&blob, &options)?,
    )
    .await?
    .dyn_into()?;
    let (w, h) =
        crate::photo::fit_long_edge(bitmap.width(), bitmap.height(), crate::photo::LONG_EDGE);
    // Scaled by the browser from the upright bitmap, so the camera's orientation is settled
    // before the size is chosen.
    let scale = web_sys::ImageBitmapOptions::new();
    scale.set_resize_width(w);
    scale.set_resize_height(h);
    scale.set_resize_quality(web_sys::ResizeQuality::High);
    let scaled: web_sys::ImageBitmap = JsFuture::from(
        window.create_image_bitmap_with_image_bitmap_and_image_bitmap_options(&bitmap, &scale)?,
    )
    .await?
    .dyn_into()?;
    bitmap.close();
    let canvas = web_sys::OffscreenCanvas::new(w, h)?;
    let ctx: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()?;
    ctx.draw_image_with_image_bitmap(&scaled, 0.0, 0.0)?;
    scaled.close();
    let rgba = ctx.get_image_data(0.0, 0.0, w.into(), h.into())?.data();
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    image::RgbImage::from_raw(w, h, rgb).ok_or_else(|| JsValue::from_str("wrong pixel count"))
}
