//! Background sync: a thread that syncs whenever the server is reachable (every interval, and at
//! once on request), and publishes its status for the sync centre.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::AppError;
use crate::lock;
use crate::sync_client::{self, SyncProgress};
use crate::workspace::Workspace;

/// What the worker is doing and last did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// A run is under way.
    pub running: bool,
    /// Its progress.
    pub progress: Option<SyncProgress>,
    /// How the last run ended, in words.
    pub last_result: Option<String>,
    /// Counts finished runs and progress steps, so a screen can tell that something changed.
    pub generation: u64,
}

/// The background sync thread's handle.
pub struct SyncWorker {
    tx: Sender<()>,
    status: Arc<Mutex<SyncStatus>>,
}

impl SyncWorker {
    /// Starts the thread: it syncs every `interval` when the server answers, and on request.
    pub fn start(ws: Arc<Mutex<Workspace>>, interval: Duration) -> SyncWorker {
        let (tx, rx) = mpsc::channel::<()>();
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let shared = status.clone();
        std::thread::spawn(move || {
            loop {
                let asked = match rx.recv_timeout(interval) {
                    Ok(()) => true,
                    Err(RecvTimeoutError::Timeout) => false,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                // Several requests may have piled up while a run was going: one run serves all.
                while rx.try_recv().is_ok() {}
                run_once(&ws, &shared, asked);
            }
        });
        SyncWorker { tx, status }
    }

    /// Asks for a sync now.
    pub fn request(&self) {
        let _ = self.tx.send(());
    }

    /// The current status.
    pub fn status(&self) -> SyncStatus {
        lock(&self.status).clone()
    }
}

fn run_once(ws: &Arc<Mutex<Workspace>>, status: &Arc<Mutex<SyncStatus>>, asked: bool) {
    let Ok(api) = lock(ws).api() else {
        return;
    };
    if !api.reachable() {
        if asked {
            let mut s = lock(status);
            s.last_result = Some(
                "The server cannot be reached. Your work is safe on this device and will be sent when there is a connection.".to_owned(),
            );
            s.generation += 1;
        }
        return;
    }
    {
        let mut s = lock(status);
        s.running = true;
        s.generation += 1;
    }
    let result = sync_client::sync(ws, &api, &mut |p| {
        let mut s = lock(status);
        s.progress = Some(p.clone());
        s.generation += 1;
        true
    });
    let mut s = lock(status);
    s.running = false;
    s.progress = None;
    s.generation += 1;
    s.last_result = Some(match result {
        Ok(summary) if summary.refused.is_empty() => format!(
            "Synced at {}: {} photo(s) uploaded, {} new visit(s) received.",
            chrono::Local::now().format("%H:%M"),
            summary.photos_uploaded,
            summary.new_visits
        ),
        Ok(summary) => format!(
            "Synced, but the server refused {} visit(s); see below.",
            summary.refused.len()
        ),
        Err(AppError::Network(m)) => {
            format!("Sync stopped: no connection ({m}). It will be retried.")
        }
        Err(e) => format!("Sync failed: {e}"),
    });
}
