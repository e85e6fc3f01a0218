//! Large downloads streamed as they are written. An export of a national data set runs to
//! hundreds of megabytes: it is written on a blocking thread into a bounded channel, in pieces
//! of 64 KiB, and sent as it comes, so the server never holds the whole file. If the client goes
//! away the writer's next piece fails and the export stops.
//!
//! Checks that can refuse the request (access, parameters) must run before [`stream`]: once the
//! first byte is sent the status is 200, and a failure later can only cut the file short, which
//! the client sees as a broken transfer (and the log records).

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::sync::mpsc;

use crate::error::ServiceError;
use crate::state::AppState;

/// Bytes gathered before a piece is sent.
const PIECE: usize = 64 * 1024;

/// Pieces waiting to be sent at most: the writer blocks beyond that (about 1 MiB), so a slow
/// client slows the export rather than filling memory.
const WAITING: usize = 16;

/// A writer whose output goes to the response in pieces.
struct Pieces {
    to: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl Pieces {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.to
            .blocking_send(Ok(piece))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for Pieces {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The receiving end, as the body's stream.
struct Received(mpsc::Receiver<Result<Bytes, io::Error>>);

impl futures_core::Stream for Received {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A 200 response whose body `write` produces on a blocking thread, as `file_name` of
/// `content_type`, never cached.
pub fn stream(
    state: &AppState,
    content_type: &'static str,
    file_name: &str,
    write: impl FnOnce(&AppState, &mut dyn Write) -> Result<(), ServiceError> + Send + 'static,
) -> Response {
    let (to, from) = mpsc::channel(WAITING);
    let me = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Pieces {
            to: to.clone(),
            buf: Vec::with_capacity(PIECE),
        };
        let result = write(&me, &mut out).and_then(|()| Ok(out.flush()?));
        if let Err(e) = result {
            tracing::warn!(error = %e, "a download stopped before its end");
            // The client learns of it as a broken transfer, never as a complete file.
            let _ = to.blocking_send(Err(io::Error::other(e.to_string())));
        }
    });
    let mut r = Response::new(Body::from_stream(Received(from)));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}
