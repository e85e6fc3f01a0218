//! Background sync: a loop that syncs whenever the server is reachable (every interval, and at
//! once on request), and publishes its status for the sync centre. The loop is the same on every
//! platform; it runs on a thread of its own on the desktop and on the page's event loop in the
//! browser ([`crate::platform::spawn_background`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accredit_shared::labels::count;

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
    /// When a run last reached the server and finished, in words ("Last synced at 10:32").
    pub last_synced: Option<String>,
    /// Counts finished runs and progress steps, so a screen can tell that something changed.
    pub generation: u64,
}

/// How often the loop looks for a request: the longest a "Sync now" waits to start.
const TICK: Duration = Duration::from_millis(200);

/// The background sync loop's handle.
pub struct SyncWorker {
    wake: Arc<AtomicBool>,
    status: Arc<Mutex<SyncStatus>>,
}

impl SyncWorker {
    /// Starts the loop: it syncs every `interval` when the server answers, and on request.
    pub fn start(ws: Arc<Mutex<Workspace>>, interval: Duration) -> SyncWorker {
        let wake = Arc::new(AtomicBool::new(false));
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let (flag, shared) = (wake.clone(), status.clone());
        crate::platform::spawn_background(move || async move {
            let mut waited = Duration::ZERO;
            loop {
                crate::platform::sleep(TICK).await;
                waited += TICK;
                // Several requests may have piled up while a run was going: one run serves all.
                let asked = flag.swap(false, Ordering::SeqCst);
                if !asked && waited < interval {
                    continue;
                }
                waited = Duration::ZERO;
                run_once(&ws, &shared, asked, interval).await;
            }
        });
        SyncWorker { wake, status }
    }

    /// Asks for a sync now.
    pub fn request(&self) {
        self.wake.store(true, Ordering::SeqCst);
    }

    /// The current status.
    pub fn status(&self) -> SyncStatus {
        lock(&self.status).clone()
    }
}

/// A time of day as a monitor reads it on the tablet's clock.
fn clock(at: chrono::DateTime<chrono::Local>) -> String {
    at.format("%H:%M").to_string()
}

async fn run_once(
    ws: &Arc<Mutex<Workspace>>,
    status: &Arc<Mutex<SyncStatus>>,
    asked: bool,
    interval: Duration,
) {
    let Ok(api) = lock(ws).api() else {
        return;
    };
    if asked {
        // Say at once that something is happening: finding out that the server cannot be
        // reached can take the length of a connection timeout.
        let mut s = lock(status);
        s.running = true;
        s.progress = Some(SyncProgress {
            stage: "Contacting the server".to_owned(),
            ..SyncProgress::default()
        });
        s.generation += 1;
    }
    if !api.reachable().await {
        // On every attempt, not only when asked: an old "Synced at" must not stand as current.
        let now = chrono::Local::now();
        let next = now + chrono::TimeDelta::from_std(interval).unwrap_or(chrono::TimeDelta::zero());
        let mut s = lock(status);
        s.running = false;
        s.progress = None;
        s.last_result = Some(format!(
            "The server cannot be reached (tried at {}). Your work is safe on this device. Accredit will try again at {}, or when you press Sync now.",
            clock(now),
            clock(next)
        ));
        s.generation += 1;
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
    })
    .await;
    let mut s = lock(status);
    s.running = false;
    s.progress = None;
    s.generation += 1;
    let now = clock(chrono::Local::now());
    s.last_result = Some(match result {
        Ok(summary) if summary.refused.is_empty() => {
            s.last_synced = Some(format!("Last synced at {now}."));
            format!(
                "Synced at {now}: {} uploaded, {} received.",
                count(summary.photos_uploaded, "photo", "photos"),
                count(summary.new_visits, "new visit", "new visits")
            )
        }
        Ok(summary) => {
            s.last_synced = Some(format!("Last synced at {now}."));
            format!(
                "Synced at {now}, but the server refused {}; see below.",
                count(summary.refused.len(), "visit", "visits")
            )
        }
        Err(AppError::Network(m)) => {
            format!("Sync stopped at {now}: the connection was lost ({m}). It will be tried again.")
        }
        Err(e) => format!("Sync failed at {now}: {e}"),
    });
}
