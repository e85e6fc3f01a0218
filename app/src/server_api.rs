//! The server's HTTP API as the field app uses it (see API.md), over an asynchronous
//! [`Transport`]: `ureq` on a helper thread on the desktop, the browser's `fetch` in the web app,
//! and in tests a faulty link between the app and the real server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use accredit_shared::api::{
    ErrorBody, LocationsResponse, PacksResponse, Role, RuleSetSourcesResponse, SessionRequest,
    SessionResponse, VisitDetail, VisitsResponse,
};
use accredit_shared::sync::compress;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// One HTTP request, relative to the server's base URL.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: &'static str,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Bearer token.
    pub token: Option<String>,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Body with its media type.
    pub body: Option<(&'static str, Vec<u8>)>,
}

/// An HTTP response.
#[derive(Clone, Debug)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
}

/// A future as transports return it. It need not be `Send`: the browser's is not.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Something that carries requests to the server. Errors are network failures (nothing came
/// back); any HTTP status is a reply.
pub trait Transport: Send + Sync {
    /// Sends one request.
    fn call(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpReply, String>>;
}

/// A signed-in session on this device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The server's base URL.
    pub server_url: String,
    /// Bearer token (kept only in the local store).
    pub token: String,
    /// This device's id at the server.
    pub device_id: Uuid,
    /// The monitor's user id.
    pub user_id: Uuid,
    /// Their name, shown beside their edits.
    pub name: String,
    /// Their role.
    pub role: Role,
}

pub use accredit_shared::api::UploadProgress;

/// The API, for one server.
#[derive(Clone)]
pub struct ServerApi {
    transport: Arc<dyn Transport>,
    token: Option<String>,
}

impl ServerApi {
    /// The API over `transport`, with an optional session token.
    pub fn new(transport: Arc<dyn Transport>, token: Option<String>) -> ServerApi {
        ServerApi { transport, token }
    }

    /// The transport this API uses.
    pub fn transport(&self) -> Arc<dyn Transport> {
        self.transport.clone()
    }

    /// The API at `url` over the network, with the platform's transport.
    pub fn at(url: &str, token: Option<String>) -> ServerApi {
        ServerApi::new(Arc::new(crate::platform::HttpTransport::new(url)), token)
    }

    async fn call(&self, mut request: HttpRequest) -> AppResult<HttpReply> {
        request.token = self.token.clone();
        let path = request.path.clone();
        let reply = self
            .transport
            .call(request)
            .await
            .map_err(AppError::Network)?;
        match reply.status {
            200..=299 => Ok(reply),
            401 => Err(AppError::Auth(
                "the server no longer accepts this device's session; sign in again".to_owned(),
            )),
            _ => {
                let message = serde_json::from_slice::<ErrorBody>(&reply.body)
                    .ok()
                    .map(|e| e.message)
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| {
                        format!(
                            "{} gave no reason",
                            path.split('?').next().unwrap_or_default()
                        )
                    });
                Err(AppError::Refused(format!("{} ({})", message, reply.status)))
            }
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: String) -> AppResult<T> {
        let reply = self
            .call(HttpRequest {
                method: "GET",
                path,
                token: None,
                headers: Vec::new(),
                body: None,
            })
            .await?;
        serde_json::from_slice(&reply.body)
            .map_err(|e| AppError::Refused(format!("the server's answer is not JSON: {e}")))
    }

    /// Whether the server answers at all.
    pub async fn reachable(&self) -> bool {
        self.transport
            .call(HttpRequest {
                method: "GET",
                path: "/healthz".to_owned(),
                token: None,
                headers: Vec::new(),
                body: None,
            })
            .await
            .is_ok_and(|r| r.status == 200)
    }

    /// Signs in and returns the new session (the API keeps using the token it was made with),
    /// and whether the password was a one-time one that must be replaced before anything else.
    pub async fn sign_in(
        &self,
        server_url: &str,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> AppResult<(Session, bool)> {
        let body = serde_json::to_vec(&SessionRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_name: device_name.to_owned(),
        })
        .map_err(|e| AppError::Corrupt(e.to_string()))?;
        let reply = self
            .transport
            .call(HttpRequest {
                method: "POST",
                path: "/api/v1/session".to_owned(),
                token: None,
                headers: Vec::new(),
                body: Some(("application/json", body)),
            })
            .await
            .map_err(AppError::Network)?;
        let reason = || {
            serde_json::from_slice::<ErrorBody>(&reply.body)
                .map(|e| e.message)
                .unwrap_or_else(|_| "no reason given".to_owned())
        };
        match reply.status {
            201 => {}
            401 | 403 => {
                return Err(AppError::Auth(
                    "the username or password is not right".to_owned(),
                ));
            }
            // Too many failed attempts: the server says how long to wait.
            429 => return Err(AppError::Auth(reason())),
            s => return Err(AppError::Refused(format!("{} ({s})", reason()))),
        }
        let v: SessionResponse = serde_json::from_slice(&reply.body).map_err(|e| {
            AppError::Refused(format!("the server's session answer is malformed: {e}"))
        })?;
        let change_required = v.password_change_required;
        let session = Session {
            server_url: server_url.trim_end_matches('/').to_owned(),
            token: v.token,
            device_id: v.device_id,
            user_id: v.user_id,
            name: v.name,
            role: v.role,
        };
        Ok((session, change_required))
    }

    /// Replaces the signed-in user's password (`POST /api/v1/password`); the policy's refusal
    /// comes back as `Invalid` with the server's words, a wrong current password as `Auth`.
    pub async fn change_password(&self, current: &str, new: &str) -> AppResult<()> {
        let body = serde_json::to_vec(&accredit_shared::api::ChangePasswordRequest {
            current_password: current.to_owned(),
            new_password: new.to_owned(),
        })
        .map_err(|e| AppError::Corrupt(e.to_string()))?;
        let reply = self
            .transport
            .call(HttpRequest {
                method: "POST",
                path: "/api/v1/password".to_owned(),
                token: self.token.clone(),
                headers: Vec::new(),
                body: Some(("application/json", body)),
            })
            .await
            .map_err(AppError::Network)?;
        let reason = || {
            serde_json::from_slice::<ErrorBody>(&reply.body)
                .map(|e| e.message)
                .unwrap_or_else(|_| "no reason given".to_owned())
        };
        match reply.status {
            200..=299 => Ok(()),
            401 => Err(AppError::Auth(reason())),
            422 => Err(AppError::Invalid(reason())),
            429 => Err(AppError::Auth(reason())),
            s => Err(AppError::Refused(format!("{} ({s})", reason()))),
        }
    }

    /// Ends this device's session at the server.
    pub async fn sign_out(&self) -> AppResult<()> {
        self.call(HttpRequest {
            method: "DELETE",
            path: "/api/v1/session".to_owned(),
            token: None,
            headers: Vec::new(),
            body: None,
        })
        .await?;
        Ok(())
    }

    /// `GET /api/v1/locations`.
    pub async fn locations(&self) -> AppResult<LocationsResponse> {
        self.get_json("/api/v1/locations".to_owned()).await
    }

    /// `GET /api/v1/visits?location=`.
    pub async fn visits_at(&self, location: Uuid) -> AppResult<VisitsResponse> {
        self.get_json(format!("/api/v1/visits?location={location}"))
            .await
    }

    /// `GET /api/v1/visits/{id}`.
    pub async fn visit(&self, id: Uuid) -> AppResult<VisitDetail> {
        self.get_json(format!("/api/v1/visits/{id}")).await
    }

    /// `GET /api/v1/packs`: every framework pack version the server knows.
    pub async fn packs(&self) -> AppResult<PacksResponse> {
        self.get_json("/api/v1/packs".to_owned()).await
    }

    /// `GET /api/v1/packs/{id}/{version}`: one pack version as served (JSON text), to be read
    /// with `FrameworkPack::from_json` and kept on the device.
    pub async fn pack_source(&self, id: &str, version: &str) -> AppResult<String> {
        let reply = self
            .call(HttpRequest {
                method: "GET",
                path: format!("/api/v1/packs/{id}/{version}"),
                token: None,
                headers: Vec::new(),
                body: None,
            })
            .await?;
        String::from_utf8(reply.body)
            .map_err(|e| AppError::Refused(format!("the server's pack is not text: {e}")))
    }

    /// `GET /api/v1/rule-sets/sources`: every rule set's TOML.
    pub async fn rule_set_sources(&self) -> AppResult<Vec<String>> {
        let v: RuleSetSourcesResponse = self
            .get_json("/api/v1/rule-sets/sources".to_owned())
            .await?;
        Ok(v.rule_sets.into_iter().map(|s| s.source).collect())
    }

    /// One sync round trip (`POST /api/v1/sync`).
    pub async fn sync(&self, body: Vec<u8>) -> AppResult<Vec<u8>> {
        // Compressed both ways: tablets sync over metered mobile data. The answer comes back as
        // br or gzip and the transport decodes it (fetch in the browser, ureq on the desktop).
        let packed = compress::zstd(&body).map_err(|e| AppError::Corrupt(e.to_string()))?;
        let reply = self
            .call(HttpRequest {
                method: "POST",
                path: "/api/v1/sync".to_owned(),
                token: None,
                headers: vec![("content-encoding", compress::ZSTD.to_owned())],
                body: Some((accredit_shared::sync::SYNC_MEDIA_TYPE, packed)),
            })
            .await?
            .body;
        Ok(reply)
    }

    /// How much of a blob's upload the server holds.
    pub async fn upload_progress(&self, hash: &str, size: u64) -> AppResult<UploadProgress> {
        let v = self
            .get_json(format!("/api/v1/blobs/{hash}/upload?size={size}"))
            .await?;
        serde_json::from_value(v).map_err(|e| {
            AppError::Refused(format!("the server's upload progress is malformed: {e}"))
        })
    }

    /// Sends one chunk of a blob at `offset`.
    pub async fn upload_chunk(
        &self,
        hash: &str,
        size: u64,
        offset: u64,
        chunk: Vec<u8>,
    ) -> AppResult<UploadProgress> {
        let reply = self
            .call(HttpRequest {
                method: "PATCH",
                path: format!("/api/v1/blobs/{hash}/upload?size={size}"),
                token: None,
                headers: vec![("upload-offset", offset.to_string())],
                body: Some(("application/octet-stream", chunk)),
            })
            .await?;
        serde_json::from_slice(&reply.body).map_err(|e| {
            AppError::Refused(format!("the server's upload progress is malformed: {e}"))
        })
    }
}
