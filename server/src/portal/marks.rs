//! What a report shows of the visit's photos and signatures: each photo with the marks drawn
//! over it (the original a link away, untouched), and each signature drawn from its strokes with
//! who signed, when, and whether the record changed after they signed.

use accredit_shared::labels::london_time;
use accredit_shared::visit::points::svg_path;
use accredit_shared::visit::{PhotoRef, VisitSnapshot, describe_mark, svg_markup};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use dioxus::prelude::*;
use uuid::Uuid;

use super::session::Viewer;
use super::{PageResult, path_id};
use crate::blobs;
use crate::error::ServiceError;
use crate::service::history::SignatureCheck;
use crate::service::visits;
use crate::state::AppState;

/// One photo of the visit with its marks drawn over it, the marks listed in words, and a link to
/// the original.
pub(super) fn photo_figure(vid: Uuid, id: Uuid, photo: &PhotoRef, rec: &VisitSnapshot) -> Element {
    let marks: Vec<_> = rec.annotations_of(&photo.hash).map(|(_, m)| m).collect();
    let w = photo.width.max(1);
    let h = photo.height.max(1);
    let src = format!("/visits/{vid}/photos/{}", photo.hash);
    let caption = if photo.caption.trim().is_empty() {
        "Photo without a caption".to_owned()
    } else {
        photo.caption.clone()
    };
    let label = format!(
        "{caption}{}",
        match marks.len() {
            0 => String::new(),
            n => format!(
                ", with {}",
                accredit_shared::labels::count(n, "mark", "marks")
            ),
        }
    );
    let drawn = svg_markup(marks.iter().copied(), w);
    rsx! {
        figure { class: "photo-figure", id: "photo-{id}",
            svg { class: "photo-marked", view_box: "0 0 {w} {h}", role: "img", "aria-label": "{label}",
                image { href: "{src}", width: "{w}", height: "{h}" }
                g { dangerous_inner_html: "{drawn}" }
            }
            figcaption {
                p { "{caption}" }
                if !marks.is_empty() {
                    ul { class: "list mark-list",
                        for (i, m) in marks.iter().enumerate() { li { key: "{i}", {describe_mark(m)} } }
                    }
                }
                p { class: "no-print",
                    a { href: "{src}", id: "original-{id}", "Open the original photo (without marks)" }
                }
            }
        }
    }
}

/// A signature drawn from its strokes, with who, when, and what changed after it was signed.
pub(super) fn signature_block(c: &SignatureCheck) -> Element {
    let s = &c.signature;
    let path = svg_path(&s.strokes);
    let id = c.id;
    rsx! {
        div { class: "signature-block", id: "signature-{id}",
            h3 { "{s.name}, {s.role}" }
            if s.strokes.is_empty() {
                p { class: "hint", "Typed name only: no signature was drawn." }
            } else {
                svg { class: "signature", view_box: "0 0 {s.width} {s.height}", role: "img",
                    "aria-label": "Signature of {s.name}",
                    path { d: "{path}", fill: "none", stroke: "#0b0c0c", stroke_width: "3", stroke_linecap: "round", stroke_linejoin: "round" }
                }
            }
            dl { class: "summary-list",
                div { dt { "Signed" } dd { {london_time(s.signed_at)} } }
                div { dt { "Taken on the device of" } dd { "{s.taken_by.name}" } }
                div { dt { "Record since" }
                    dd { id: "signature-{id}-status",
                        if c.changed_after_signing {
                            strong { class: "tag red", "Changed after signing" }
                        } else {
                            strong { class: "tag green", "Unchanged since signed" }
                        }
                    }
                }
            }
            if c.changed_after_signing {
                p { "What changed in the record after this signature:" }
                ul { class: "list", id: "signature-{id}-changes",
                    for (i, line) in c.change_lines.iter().enumerate() { li { key: "{i}", "{line}" } }
                }
            }
        }
    }
}

/// A photo of a visit, for someone who may see the visit and the photo: the original bytes, as
/// uploaded (already without location or camera details).
pub async fn photo(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, hash)): Path<(String, String)>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let caller = viewer.caller.clone();
    let bytes = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let v = visits::require_visit(tx, &caller, id)?;
                let rec = visits::revision_record(tx, id, v.current_revision)?;
                if rec.photos.values().any(|p| p.hash == hash) {
                    Ok(())
                } else {
                    Err(ServiceError::not_found("photo"))
                }
            })?;
            blobs::read(s, &caller, &hash)
        })
        .await?;
    let media = blobs::sniff(&bytes);
    Ok(image_response(bytes, media))
}

/// Bytes of an image or file for the portal: typed, never cached by shared caches, never sniffed
/// and never run as a page.
pub(super) fn image_response(bytes: Vec<u8>, media_type: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    r
}
