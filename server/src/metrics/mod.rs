//! Counters for the council's monitoring, written out in Prometheus's text exposition format at
//! `GET /metrics` (see [`endpoint`]). Counters are atomics bumped as requests pass; [`gauges`] are
//! read from the database at each scrape. Nothing here names a person or a place: requests are
//! counted by route pattern (`/api/v1/visits/{id}`), never by path, user or location.

pub mod endpoint;
pub mod gauges;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use endpoint::{MetricsArgs, MetricsToken, routes};

/// The label for requests that matched no route: their paths are whatever a client sent, so
/// they are never used as labels.
pub const UNMATCHED: &str = "unmatched";

/// Every counter the server keeps, one set per running server.
pub struct Metrics {
    started: SystemTime,
    /// Requests by route pattern, then status class (`1xx` to `5xx`).
    requests: RwLock<BTreeMap<String, [AtomicU64; 5]>>,
    latency: Histogram,
    sync_latency: Histogram,
    sync_ok: AtomicU64,
    sync_refused: AtomicU64,
    sync_failed: AtomicU64,
    sync_docs_applied: AtomicU64,
    sync_docs_refused: AtomicU64,
    sync_bytes_in: AtomicU64,
    sync_bytes_out: AtomicU64,
    blob_uploads: AtomicU64,
    blob_upload_bytes: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            started: SystemTime::now(),
            requests: RwLock::default(),
            latency: Histogram::default(),
            sync_latency: Histogram::default(),
            sync_ok: AtomicU64::new(0),
            sync_refused: AtomicU64::new(0),
            sync_failed: AtomicU64::new(0),
            sync_docs_applied: AtomicU64::new(0),
            sync_docs_refused: AtomicU64::new(0),
            sync_bytes_in: AtomicU64::new(0),
            sync_bytes_out: AtomicU64::new(0),
            blob_uploads: AtomicU64::new(0),
            blob_upload_bytes: AtomicU64::new(0),
        }
    }
}

/// How a sync request ended, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Answered (200), whatever each document's outcome.
    Ok,
    /// Refused as the client's fault (4xx): malformed, too large, not allowed.
    Refused,
    /// Failed on the server's side (5xx).
    Failed,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The status classes, in the order of the counters kept for each route.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A status's place in [`CLASSES`].
fn status_class(status: u16) -> usize {
    usize::from(status / 100).clamp(1, 5) - 1
}

impl Metrics {
    /// Counts one answered request by its route pattern (or [`UNMATCHED`]) and status.
    pub fn record_request(&self, route: &str, status: u16, elapsed: Duration) {
        self.latency.observe(elapsed);
        let class = status_class(status);
        // The route table is fixed, so after a route's first request only the read lock is taken.
        if let Ok(map) = self.requests.read()
            && let Some(counters) = map.get(route)
        {
            add(&counters[class], 1);
            return;
        }
        let mut map = match self.requests.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let counters = map
            .entry(route.to_owned())
            .or_insert_with(|| std::array::from_fn(|_| AtomicU64::new(0)));
        add(&counters[class], 1);
    }

    /// Counts one sync request: how it ended, its body's bytes on the wire each way and how long
    /// it took.
    pub fn record_sync(
        &self,
        outcome: SyncOutcome,
        bytes_in: usize,
        bytes_out: usize,
        took: Duration,
    ) {
        add(
            match outcome {
                SyncOutcome::Ok => &self.sync_ok,
                SyncOutcome::Refused => &self.sync_refused,
                SyncOutcome::Failed => &self.sync_failed,
            },
            1,
        );
        add(&self.sync_bytes_in, bytes_in as u64);
        add(&self.sync_bytes_out, bytes_out as u64);
        self.sync_latency.observe(took);
    }

    /// Counts the documents of a committed sync request: those whose changes were stored and
    /// those refused (not the caller's, or invalid).
    pub fn record_sync_documents(&self, applied: u64, refused: u64) {
        add(&self.sync_docs_applied, applied);
        add(&self.sync_docs_refused, refused);
    }

    /// Counts a blob newly stored (an upload of bytes the server already had is not counted).
    pub fn record_blob_upload(&self, bytes: u64) {
        add(&self.blob_uploads, 1);
        add(&self.blob_upload_bytes, bytes);
    }

    /// The counters in Prometheus's text format, followed by `gauges` (read by the caller).
    pub fn render(&self, gauges: &[(&gauges::Gauge, f64)]) -> String {
        let mut out = Text(String::with_capacity(8 * 1024));
        out.family(
            "accredit_http_requests_total",
            "counter",
            "HTTP requests answered, by route pattern and status class.",
        );
        if let Ok(map) = self.requests.read() {
            for (route, counters) in map.iter() {
                for (class, n) in CLASSES.iter().zip(counters) {
                    // Only classes a route answered with: five per route would be mostly zeros.
                    let n = n.load(Ordering::Relaxed);
                    if n > 0 {
                        out.sample(
                            "accredit_http_requests_total",
                            &[("route", route), ("class", class)],
                            n as f64,
                        );
                    }
                }
            }
        }
        self.latency.render(
            &mut out,
            "accredit_http_request_duration_seconds",
            "Time from a request's arrival to its response's headers, every route.",
        );
        self.sync_latency.render(
            &mut out,
            "accredit_sync_request_duration_seconds",
            "Time to answer a sync request (POST /api/v1/sync) that reached the sync handler.",
        );
        out.family(
            "accredit_sync_requests_total",
            "counter",
            "Sync requests by outcome: ok (answered), refused (the client's fault), failed (the server's).",
        );
        for (outcome, n) in [
            ("ok", &self.sync_ok),
            ("refused", &self.sync_refused),
            ("failed", &self.sync_failed),
        ] {
            out.sample(
                "accredit_sync_requests_total",
                &[("outcome", outcome)],
                n.load(Ordering::Relaxed) as f64,
            );
        }
        for (name, help, n) in [
            (
                "accredit_sync_documents_applied_total",
                "Documents whose synced changes were checked and stored.",
                &self.sync_docs_applied,
            ),
            (
                "accredit_sync_documents_refused_total",
                "Documents whose synced changes were refused (not on the caseload, or invalid).",
                &self.sync_docs_refused,
            ),
            (
                "accredit_sync_received_bytes_total",
                "Sync request bodies received, as sent on the wire (compressed).",
                &self.sync_bytes_in,
            ),
            (
                "accredit_sync_sent_bytes_total",
                "Sync answers sent, as sent on the wire (compressed).",
                &self.sync_bytes_out,
            ),
            (
                "accredit_blob_uploads_total",
                "Photos and files newly stored (whole or the last chunk of a resumable upload).",
                &self.blob_uploads,
            ),
            (
                "accredit_blob_upload_bytes_total",
                "Bytes of photos and files newly stored.",
                &self.blob_upload_bytes,
            ),
        ] {
            out.family(name, "counter", help);
            out.sample(name, &[], n.load(Ordering::Relaxed) as f64);
        }
        out.family(
            "accredit_start_time_seconds",
            "gauge",
            "When this server process started, in seconds since the Unix epoch.",
        );
        let started = self
            .started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        out.sample("accredit_start_time_seconds", &[], started.floor());
        for (gauge, value) in gauges {
            out.family(gauge.name, "gauge", gauge.help);
            out.sample(gauge.name, &[], *value);
        }
        out.0
    }
}

/// Upper bounds of the latency buckets, in seconds: from a cached read to a slow sync.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with fixed buckets. Each observation lands in one bucket; the cumulative
/// counts Prometheus wants are summed when written out.
struct Histogram {
    /// One per bucket, and a last one for anything slower.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        add(&self.buckets[i], 1);
        add(
            &self.sum_micros,
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        );
    }

    fn render(&self, out: &mut Text, name: &str, help: &str) {
        out.family(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            out.sample(&bucket, &[("le", &le.to_string())], cumulative as f64);
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        out.sample(&bucket, &[("le", "+Inf")], cumulative as f64);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.sample(&format!("{name}_sum"), &[], sum);
        out.sample(&format!("{name}_count"), &[], cumulative as f64);
    }
}

/// The exposition being written.
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        let m = Metrics::default();
        m.record_request("/a", 200, Duration::from_millis(3));
        m.record_request("/a", 200, Duration::from_millis(30));
        m.record_request("/a", 503, Duration::from_secs(20));
        let text = m.render(&[]);
        assert!(text.contains("accredit_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("accredit_http_request_duration_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("accredit_http_request_duration_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("accredit_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("accredit_http_request_duration_seconds_count 3\n"));
        assert!(text.contains("accredit_http_requests_total{route=\"/a\",class=\"2xx\"} 2\n"));
        assert!(text.contains("accredit_http_requests_total{route=\"/a\",class=\"5xx\"} 1\n"));
    }

    #[test]
    fn statuses_fall_in_their_classes() {
        let classes: Vec<&str> = [101, 200, 304, 404, 500, 599, 42, 700]
            .into_iter()
            .map(|s| CLASSES[status_class(s)])
            .collect();
        assert_eq!(
            classes,
            ["1xx", "2xx", "3xx", "4xx", "5xx", "5xx", "1xx", "5xx"]
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
