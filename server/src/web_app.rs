//! The field app's web build, served at `/app/` from the directory `scripts/build-web.sh`
//! writes. It shares the API's origin, so it needs no CORS. Every response carries:
//! - cross-origin isolation (COOP and COEP), which the app's storage needs for shared memory;
//! - a CSP that allows exactly the app: its own scripts and WebAssembly, same-origin
//!   connections and workers, inline styles (Dioxus sets `style` attributes), images from
//!   photos shown as `data:` URLs;
//! - `immutable` caching for content-hashed files, `no-cache` for the page, the service worker
//!   and anything else, so a deployment is picked up on the next start.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::state::AppState;

/// The content security policy of every `/app/` response.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// The routes under `/app`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(index))
        .route("/app/{*path}", get(file))
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state.config.web_app_dir, "index.html", encodings(&headers)).await
}

async fn file(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    serve(&state.config.web_app_dir, &path, encodings(&headers)).await
}

/// The precompressed copies the browser takes, best first: brotli, then gzip.
fn encodings(headers: &HeaderMap) -> Vec<(&'static str, &'static str)> {
    [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(name, _)| crate::http::accepts_encoding(headers, name))
        .collect()
}

/// A path inside the bundle: plain segments of safe characters, no `..`, no hidden files.
fn safe_path(dir: &Path, path: &str) -> Option<PathBuf> {
    let mut out = dir.to_path_buf();
    for seg in path.split('/') {
        let ok = !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

/// The media type for a bundle file.
pub fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Whether a file name carries its content hash (`name-0123456789.ext`): such a file never
/// changes, so browsers may keep it for a year.
pub fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    stem.rsplit_once('-').is_some_and(|(_, h)| {
        h.len() == 10
            && h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

async fn serve(dir: &Path, path: &str, encodings: Vec<(&'static str, &'static str)>) -> Response {
    let Some(file) = safe_path(dir, path) else {
        return not_found();
    };
    // The build writes compressed copies beside each text and wasm file.
    let mut packed = None;
    for (name, suffix) in encodings {
        let mut copy = file.clone().into_os_string();
        copy.push(suffix);
        if let Ok(b) = tokio::fs::read(PathBuf::from(copy)).await {
            packed = Some((name, b));
            break;
        }
    }
    let encoding = packed.as_ref().map(|(name, _)| *name);
    let bytes = match packed {
        Some((_, b)) => b,
        None => match tokio::fs::read(&file).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == "index.html" => {
                return not_built(dir);
            }
            Err(_) => return not_found(),
        },
    };
    let mut headers = app_headers();
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(name) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type(path)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if is_hashed(path) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    (StatusCode::OK, headers, Body::from(bytes)).into_response()
}

fn app_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    let pairs: [(&str, &'static str); 7] = [
        ("content-security-policy", CSP),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-embedder-policy", "require-corp"),
        ("cross-origin-resource-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("permissions-policy", "geolocation=(), microphone=()"),
    ];
    for (k, v) in pairs {
        h.insert(k, HeaderValue::from_static(v));
    }
    h
}

fn not_found() -> Response {
    let mut headers = app_headers();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (StatusCode::NOT_FOUND, headers, "Not found").into_response()
}

fn not_built(dir: &Path) -> Response {
    let mut headers = app_headers();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        headers,
        format!(
            "The field web app has not been built here ({} is missing). Run scripts/build-web.sh, \
             or pass --web-app with the directory it wrote.",
            dir.display()
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_inside_the_bundle_are_served() {
        let dir = Path::new("/srv/app");
        assert_eq!(
            safe_path(dir, "snippets/dioxus-web-1/inline0.js"),
            Some(PathBuf::from("/srv/app/snippets/dioxus-web-1/inline0.js"))
        );
        for bad in [
            "../secret",
            "a/../../b",
            ".env",
            "a//b",
            "a/%2e%2e",
            "x\\y",
            "",
        ] {
            assert_eq!(safe_path(dir, bad), None, "{bad}");
        }
    }

    #[test]
    fn compressed_copies_go_only_to_browsers_that_take_them() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            encodings(&h)
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        };
        assert_eq!(with("gzip, deflate, br, zstd"), ["br", "gzip"]);
        assert_eq!(with("gzip;q=0.8"), ["gzip"]);
        assert_eq!(with("br;q=0, gzip"), ["gzip"]);
        assert!(with("identity").is_empty());
        assert!(encodings(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("accredit_bg-0123456789.wasm"));
        assert!(is_hashed("icons/icon-abcdef0123.png"));
        assert!(!is_hashed("sw.js"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("icon-192.png"));
        assert!(!is_hashed("boot-ABCDEF0123.js"));
    }
}
