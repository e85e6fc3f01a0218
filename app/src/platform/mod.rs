//! The platform edges: what differs between the desktop and the browser. Everything else
//! (screens, workspace, store schema, sync client) is the same code on both.
//!
//! Each platform module offers the same names:
//! - `HttpTransport`: the [`crate::server_api::Transport`] over the network;
//! - `open_store`: where the SQLite database lives and how it is opened;
//! - `scroll_to_top`, `focus_and_show`: small page actions the screens ask for;
//! - `sleep`: a timer the background loop and the screens await.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::*;

#[cfg(target_arch = "wasm32")]
pub mod web;
#[cfg(target_arch = "wasm32")]
pub use web::*;
