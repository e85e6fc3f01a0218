//! Browser sessions: a sign-in form that issues the same per-device token the API uses, kept in
//! an HttpOnly, SameSite=Lax cookie, and a per-session form key that every POST must carry, so a
//! page on another site cannot submit forms as the signed-in user.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::{Caller, caller_for_token};
use crate::state::AppState;

/// The cookie holding the session token.
pub const COOKIE_NAME: &str = "accredit_session";

/// A signed-in person using the portal.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// Who they are.
    pub caller: Caller,
    /// The key their forms carry (`form_key` field).
    pub form_key: String,
}

/// The form key of a session token: derived, so nothing more is stored, and useless without the
/// token, which scripts cannot read.
pub fn form_key(token: &str) -> String {
    let key = blake3::derive_key("accredit portal form key v1", token.as_bytes());
    hex::encode(&key[..16])
}

/// The session token from the request's cookies.
pub fn token_from(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that starts a session; `secure` when the site is served over HTTPS.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// The `Set-Cookie` value that ends one.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// A 303 redirect.
pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// Where a sign-in may send someone next: only a path on this site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

async fn viewer_of(parts: &Parts, state: &AppState) -> Option<Viewer> {
    let token = token_from(parts)?;
    let key = form_key(&token);
    let caller = state
        .blocking(move |s| s.db.read(|tx| caller_for_token(tx, &token)))
        .await
        .ok()??;
    Some(Viewer {
        caller,
        form_key: key,
    })
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    /// Not signed in: to the sign-in page, coming back here afterwards.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        match viewer_of(parts, state).await {
            Some(v) => Ok(v),
            None => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let next: String = url_encode(here);
                Err(see_other(&format!("/sign-in?next={next}")))
            }
        }
    }
}

/// Someone who may or may not be signed in (public pages).
pub struct MaybeViewer(pub Option<Viewer>);

impl FromRequestParts<AppState> for MaybeViewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<MaybeViewer, Self::Rejection> {
        Ok(MaybeViewer(viewer_of(parts, state).await))
    }
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_and_secure_when_asked() {
        let plain = session_cookie("ab12", false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        assert!(session_cookie("ab12", true).ends_with("; Secure"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn sign_in_only_returns_to_pages_on_this_site() {
        assert_eq!(safe_next(Some("/visits/1?done=x")), "/visits/1?done=x");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "",
            "visits",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn form_keys_differ_per_session_and_never_reveal_the_token() {
        let a = form_key("aaaa");
        assert_eq!(a, form_key("aaaa"));
        assert_ne!(a, form_key("aaab"));
        assert!(!a.contains("aaaa"));
        assert_eq!(a.len(), 32);
    }
}
