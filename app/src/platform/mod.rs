//! The platform edges: what differs between the desktop and the browser. Everything else
//! (screens, workspace, store schema, sync client) is the same code on both.
//!
//! Each platform module offers the same names:
//! - `HttpTransport`: the [`crate::server_api::Transport`] over the network;
//! - `connect`: where the SQLite database lives and how it is opened;
//! - `scroll_to_top`, `show_element`: small page actions the screens ask for;
//! - `sleep`, `ui_sleep`, `spawn_background`: timers and the background loop's home;
//! - `off_thread`, `process_photo`: heavy work kept off the screen's way (the photo pipeline);
//! - `device_name`: how the device names itself to the server;
//! - `CAMERA_INPUT`: whether the photo field opens a camera (the browser on a tablet);
//! - `storage_report`: what the browser says of the app's storage (nothing on the desktop);
//! - `saves_in_background`, `saving`: whether edits reach storage a moment after they return
//!   (the browser's IndexedDB store), and whether some have not yet.

/// The web app's storage as the browser reports it, for the sync centre.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageReport {
    /// Whether the browser agreed to keep the data (never evicting it to free space).
    pub persisted: bool,
    /// Bytes this site uses.
    pub used: u64,
    /// Bytes it may use.
    pub quota: u64,
    /// Whether the data is in IndexedDB (the browser has no private files for web apps), where
    /// each change is written a moment after it is made.
    pub in_indexeddb: bool,
}

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::*;

#[cfg(target_arch = "wasm32")]
pub mod web;
#[cfg(target_arch = "wasm32")]
pub use web::*;
