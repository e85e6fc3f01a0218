//! `accredit`: the field app. On the desktop it opens the local store in the platform's data
//! directory (or `--data-dir`), starts background sync and shows the window; in the browser
//! (`web` feature) it does the same over the storage `boot.js` prepared.

#[cfg(target_arch = "wasm32")]
mod web_main;
#[cfg(target_arch = "wasm32")]
fn main() {
    web_main::start();
}

#[cfg(not(target_arch = "wasm32"))]
use std::path::PathBuf;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::{Arc, Mutex};
#[cfg(not(target_arch = "wasm32"))]
use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
use accredit_app::Workspace;
#[cfg(not(target_arch = "wasm32"))]
use accredit_app::sync_worker::SyncWorker;
#[cfg(not(target_arch = "wasm32"))]
use accredit_app::ui::{App, AppContext};
#[cfg(not(target_arch = "wasm32"))]
use anyhow::Context;
#[cfg(not(target_arch = "wasm32"))]
use clap::Parser;

/// The Accredit field app.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Where the local store lives (default: the platform's data directory).
    #[arg(long, env = "ACCREDIT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The server address suggested on the sign-in screen.
    #[arg(long, env = "ACCREDIT_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A folder of recent photos offered beside the file picker (default: the Pictures folder).
    #[arg(long, env = "ACCREDIT_PHOTO_DIR")]
    photo_dir: Option<PathBuf>,
    /// Seconds between automatic sync attempts.
    #[arg(long, default_value_t = 15)]
    sync_every: u64,
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dirs = directories::ProjectDirs::from("org", "Accredit", "Accredit");
    let data_dir = match (args.data_dir, &dirs) {
        (Some(d), _) => d,
        (None, Some(d)) => d.data_dir().to_owned(),
        (None, None) => anyhow::bail!("no data directory: pass --data-dir"),
    };
    let ws = Workspace::open(&data_dir.join("accredit.db"))
        .with_context(|| format!("opening the local store in {}", data_dir.display()))?;
    let ws = Arc::new(Mutex::new(ws));
    let sync = Arc::new(SyncWorker::start(
        ws.clone(),
        Duration::from_secs(args.sync_every.max(2)),
    ));
    let photo_dir = args
        .photo_dir
        .or_else(|| directories::UserDirs::new().and_then(|u| u.picture_dir().map(PathBuf::from)));
    let ctx = AppContext {
        ws,
        sync,
        photo_dir,
        default_server: args.server,
        server_fixed: false,
        probe: std::env::var_os("ACCREDIT_UI_PROBE").map(PathBuf::from),
    };
    launch(ctx, &data_dir);
    Ok(())
}

#[cfg(feature = "desktop")]
fn launch(ctx: AppContext, data_dir: &std::path::Path) {
    use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
    let size = std::env::var("ACCREDIT_WINDOW")
        .ok()
        .and_then(|s| {
            let (w, h) = s.split_once('x')?;
            Some((w.parse().ok()?, h.parse().ok()?))
        })
        .unwrap_or((1280.0, 800.0));
    let config = Config::new()
        .with_window(
            WindowBuilder::new()
                .with_title("Accredit")
                .with_inner_size(LogicalSize::new(size.0, size.1)),
        )
        .with_menu(None)
        .with_disable_context_menu(true)
        .with_data_directory(data_dir.join("webview"));
    dioxus::LaunchBuilder::desktop()
        .with_cfg(config)
        .with_context(ctx)
        .launch(App);
}

#[cfg(all(feature = "mobile", not(feature = "desktop")))]
fn launch(ctx: AppContext, _data_dir: &std::path::Path) {
    dioxus::LaunchBuilder::mobile()
        .with_context(ctx)
        .launch(App);
}

#[cfg(not(any(feature = "desktop", feature = "mobile", target_arch = "wasm32")))]
fn launch(_ctx: AppContext, _data_dir: &std::path::Path) {
    eprintln!(
        "accredit was built without a renderer: build with the `desktop` or `mobile` feature"
    );
}
