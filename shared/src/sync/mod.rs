//! Sync between devices and the server: the wire format of a batched round trip, and the
//! device-side driver. The server side lives in `accredit-server`.

pub mod compress;
pub mod message;
pub mod replica;
pub mod wire;

pub use replica::{Replica, SyncReport, SyncRunError};
pub use wire::{
    DocMessage, DocOutcome, DocReply, SYNC_MEDIA_TYPE, SyncRequest, SyncResponse, WireError,
};
