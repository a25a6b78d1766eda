//! The pages' static files, compiled into the binary so an installed `signpost` serves them
//! from anywhere. `--static-dir` (or `SIGNPOST_STATIC_DIR`) serves a folder instead, for
//! working on the files without rebuilding.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use std::path::PathBuf;

/// One compiled-in file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/app.js"),
    },
    Asset {
        name: "files.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/files.js"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/style.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../static/favicon.svg"),
    },
];

/// `/static/{file}`: from the binary, or from `dir` when one is given.
pub fn router<S: Clone + Send + Sync + 'static>(dir: Option<PathBuf>) -> Router<S> {
    match dir {
        Some(d) => Router::new().nest_service("/static", tower_http::services::ServeDir::new(d)),
        None => Router::new().route("/static/{file}", get(compiled)),
    }
}

async fn compiled(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
            ],
            a.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such static file").into_response(),
    }
}
