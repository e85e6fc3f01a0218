//! The BI exports and the Transparency Code list over HTTP: thin handlers over
//! `service::exports` and `service::transparency`, the functions the portal's pages call. Access
//! and parameters are checked before the first byte, so a refusal is a proper JSON error; the
//! file itself is streamed as it is written.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{QueryOf, json_ok};
use crate::auth::Caller;
use crate::download;
use crate::error::ServiceResult;
use crate::service::exports::{self, Export, Format, Range};
use crate::service::transparency;
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exports/{name}", get(export))
        .route("/api/v1/transparency", get(transparency_list))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    QueryOf(q): QueryOf<ExportQuery>,
) -> ServiceResult<Response> {
    exports::check_access(&caller)?;
    let export = Export::parse(&name)?;
    let range = Range::parse(q.from.as_deref(), q.to.as_deref())?;
    let format = Format::parse(q.format.as_deref())?;
    let file = exports::file_name(export, range, format);
    Ok(download::stream(
        &state,
        format.content_type(),
        &file,
        move |s, out| {
            s.db.read(|tx| exports::write_file(s, tx, &caller, export, range, format, out))
                .map(|_| ())
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransparencyQuery {
    period: String,
    format: Option<String>,
}

async fn transparency_list(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<TransparencyQuery>,
) -> ServiceResult<Response> {
    let format = Format::parse(q.format.as_deref())?;
    let period = q.period.clone();
    let view = state
        .blocking(move |s| s.db.read(|tx| transparency::view(s, tx, &caller, &period)))
        .await?;
    if format == Format::Json {
        return Ok(json_ok(&view));
    }
    Ok(crate::http::csv_download(
        transparency::to_csv(&view),
        &transparency::file_name(&view.period),
    ))
}
