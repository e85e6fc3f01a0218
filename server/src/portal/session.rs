//! Browser sessions: a sign-in form that issues the same per-device token the API uses, kept in
//! an HttpOnly, SameSite=Lax cookie, and a per-session form key that every POST must carry, so a
//! page on another site cannot submit forms as the signed-in user.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::error::ServiceError;
use crate::service::sessions::caller_for_token;
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
    cookie(&parts.headers, COOKIE_NAME)
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

/// The first path segments of the portal's own pages: a sign-in may return only to these.
const PORTAL_PAGES: [&str; 14] = [
    "locations",
    "notices",
    "plan",
    "imports",
    "placements",
    "people",
    "account",
    "visits",
    "review",
    "rules",
    "payments",
    "audit",
    "register",
    "gates",
];

/// Where a sign-in may send someone next: only a page of this portal. The path must be made of
/// plain URL characters (no control characters, spaces or backslashes, which browsers drop or
/// rewrite, turning `/\t/evil.example` into `//evil.example`) and start with a known page.
pub fn safe_next(next: Option<&str>) -> String {
    let home = || "/".to_owned();
    let Some(n) = next else {
        return home();
    };
    let plain = n
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~?=&%+".contains(&b));
    let Some(rest) = n.strip_prefix('/') else {
        return home();
    };
    let first = rest.split(['/', '?']).next().unwrap_or_default();
    if plain && !rest.starts_with('/') && PORTAL_PAGES.contains(&first) && n.len() <= 512 {
        n.to_owned()
    } else {
        home()
    }
}

/// The signed-in person behind the request's cookie. `Ok(None)` when there is none or it has
/// expired; a failure to look it up is an error, not "signed out".
async fn viewer_of(parts: &Parts, state: &AppState) -> Result<Option<Viewer>, ServiceError> {
    let Some(token) = token_from(parts) else {
        return Ok(None);
    };
    let key = form_key(&token);
    let caller = state.blocking(move |s| caller_for_token(s, &token)).await?;
    if let Some(c) = &caller {
        crate::observe::note_user(parts, c.user_id);
    }
    Ok(caller.map(|caller| Viewer {
        caller,
        form_key: key,
    }))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    /// Not signed in: to the sign-in page, coming back here afterwards. Signed in with a
    /// one-time password: to the page that replaces it, whatever was asked for.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let PendingViewer(v) = PendingViewer::from_request_parts(parts, state).await?;
        if v.caller.password_change_due {
            return Err(see_other(CHANGE_PASSWORD));
        }
        Ok(v)
    }
}

/// Where someone signed in with a one-time password must go first.
pub const CHANGE_PASSWORD: &str = "/account/password";

/// A signed-in person who may still hold a one-time password: only the pages that replace it,
/// and signing out, take this.
pub struct PendingViewer(pub Viewer);

impl FromRequestParts<AppState> for PendingViewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PendingViewer, Response> {
        match viewer_of(parts, state).await {
            Ok(Some(v)) => Ok(PendingViewer(v)),
            Err(e) => Err(super::PageError(e).into_response()),
            Ok(None) => {
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
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<MaybeViewer, Self::Rejection> {
        viewer_of(parts, state)
            .await
            .map(MaybeViewer)
            .map_err(|e| super::PageError(e).into_response())
    }
}

/// The cookie that carries the sign-in form's key before anyone is signed in (login CSRF).
pub const SIGN_IN_COOKIE: &str = "accredit_sign_in";

/// A fresh random key for the sign-in form.
pub fn new_sign_in_key() -> Result<String, ServiceError> {
    crate::auth::new_token()
}

/// The sign-in form's key from the request's cookies.
pub fn sign_in_key_from(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie(headers, SIGN_IN_COOKIE)
}

/// The `Set-Cookie` value carrying the sign-in form's key.
pub fn sign_in_cookie(key: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SIGN_IN_COOKIE}={key}; Path=/sign-in; HttpOnly; SameSite=Strict{secure}")
}

fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Refuses a state-changing request that a browser says came from another site: its `Origin`
/// (or, failing that, `Sec-Fetch-Site`) must be this site. Form keys already stop forged forms;
/// this also stops login CSRF and anything a key could not cover.
pub fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    if let Some(origin) = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        let Some(host) = host else {
            return false;
        };
        return origin == format!("http://{host}") || origin == format!("https://{host}");
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => site == "same-origin" || site == "none",
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
        assert_eq!(
            safe_next(Some("/locations?light=red")),
            "/locations?light=red"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/%09/evil.example",
            "/evil.example",
            "/sign-out",
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
