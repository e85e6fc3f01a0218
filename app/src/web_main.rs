//! The web app's start: `boot.js` has registered the service worker, started the storage worker
//! and opened the database's files (or shown why it could not); this opens the workspace over
//! them, starts background sync and mounts the screens.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accredit_app::Workspace;
use accredit_app::platform::web::worker_vfs;
use accredit_app::sync_worker::SyncWorker;
use accredit_app::ui::{App, AppContext};
use wasm_bindgen::prelude::*;

/// Seconds between automatic sync attempts while the app is open.
const SYNC_EVERY: Duration = Duration::from_secs(30);

pub fn start() {
    if let Err(e) = boot() {
        show_failure(&e);
    }
}

fn boot() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let storage = js_sys::Reflect::get(&window, &"accreditStorage".into())
        .map_err(|_| "the storage was not prepared")?;
    let buffer: js_sys::SharedArrayBuffer = js_sys::Reflect::get(&storage, &"buffer".into())
        .map_err(|_| "no storage channel")?
        .dyn_into()
        .map_err(|_| "the storage channel is not shared memory")?;
    let files: Vec<String> = js_sys::Array::from(
        &js_sys::Reflect::get(&storage, &"files".into()).map_err(|_| "no storage files")?,
    )
    .iter()
    .filter_map(|f| f.as_string())
    .collect();
    let database = files.first().cloned().ok_or("no database file")?;
    worker_vfs::install(&buffer, files)?;
    let ws = Workspace::open(std::path::Path::new(&database))
        .map_err(|e| format!("the local store cannot be opened: {e}"))?;
    let ws = Arc::new(Mutex::new(ws));
    let sync = Arc::new(SyncWorker::start(ws.clone(), SYNC_EVERY));
    // Back in signal: sync at once rather than at the next timer.
    {
        let sync = sync.clone();
        let online = Closure::<dyn Fn()>::new(move || sync.request());
        window
            .add_event_listener_with_callback("online", online.as_ref().unchecked_ref())
            .map_err(|_| "cannot listen for the network")?;
        online.forget();
    }
    let origin = window.location().origin().map_err(|_| "no origin")?;
    let ctx = AppContext {
        ws,
        sync,
        photo_dir: None,
        default_server: origin,
        server_fixed: true,
        probe: None,
    };
    // The page says "Starting Accredit…" until the screens replace it.
    if let Some(main) = window.document().and_then(|d| d.get_element_by_id("main")) {
        main.set_inner_html("");
    }
    dioxus::LaunchBuilder::web().with_context(ctx).launch(App);
    Ok(())
}

/// Says on the page why the app could not start (the screens never mounted).
fn show_failure(message: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(main) = doc.get_element_by_id("main") {
        main.set_inner_html("");
        if let Ok(p) = doc.create_element("p") {
            p.set_class_name("boot-error");
            p.set_text_content(Some(&format!(
                "Accredit could not start: {message}. Your saved work is not affected."
            )));
            let _ = main.append_child(&p);
        }
    }
}
