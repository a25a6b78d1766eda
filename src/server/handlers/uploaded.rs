//! `/uploaded/{state}`: where a browser lands after an upload. The server checks each file
//! before saying "done" ([`verify`]) and shows its name, size and type, with view and download
//! links (the storage key only in a details section). Asked with `Accept: application/json`,
//! it answers the same as JSON, for scripts and tests. A bare `/uploaded` is a page that says
//! what the address is for.

use super::pages::render;
use crate::server::error::{ApiError, PageError, ServiceError};
use crate::server::nav::Nav;
use crate::server::profile::type_label;
use crate::server::service::verify::{self, file_name, Confirmation, Verified};
use crate::server::state::AppState;
use crate::units::{format_duration, format_size};
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::HeaderMap;
use serde::Serialize;
use std::sync::Arc;

/// The confirmation routes; `limit` puts the one that signs links under the rate limit.
pub fn router(
    limit: impl Fn(Router<Arc<AppState>>) -> Router<Arc<AppState>>,
) -> Router<Arc<AppState>> {
    Router::new()
        .route("/uploaded", get(bare))
        .route("/uploaded/", get(bare))
        .merge(limit(
            Router::new().route("/uploaded/{state}", get(uploaded)),
        ))
}

/// One verified file, as shown.
struct Shown {
    name: String,
    key: String,
    size: String,
    content_type: String,
    type_label: String,
    url: String,
    download: String,
    image: bool,
}

#[derive(Template)]
#[template(path = "uploaded.html")]
struct UploadedPage<'a> {
    nav: Nav,
    title: &'a str,
    profile: &'a str,
    bucket: &'a str,
    files: Vec<Shown>,
    expires_in: String,
}

/// One verified file, as JSON.
#[derive(Debug, Serialize)]
struct FileOut {
    name: String,
    bucket: String,
    key: String,
    size: u64,
    #[serde(rename = "type")]
    content_type: String,
    view_url: String,
    download_url: String,
    verified: bool,
}

/// The JSON answer.
#[derive(Debug, Serialize)]
struct UploadedOut {
    verified: bool,
    profile: String,
    bucket: String,
    files: Vec<FileOut>,
}

/// The decoded `name=value` pairs of a query string (`+` is a space).
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|s| !s.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        (dec(k), dec(v))
    })
}

/// True when the request asks for JSON before HTML.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for media in accept.split(',') {
        match media.split(';').next().unwrap_or("").trim() {
            "application/json" => return true,
            "text/html" => return false,
            _ => {}
        }
    }
    false
}

async fn uploaded(
    State(state): State<Arc<AppState>>,
    Path(sealed): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    // With sign-in on, only the uploader may confirm: holding the link is not enough.
    let json = wants_json(&headers);
    let caller = match state.auth.authenticate(&headers, state.now()).await {
        Ok(c) => Some(c),
        Err(e) if state.auth.required() => {
            return if json {
                ApiError(e.into()).into_response()
            } else {
                PageError(e.into()).into_response()
            };
        }
        Err(_) => None,
    };
    let query = query.unwrap_or_default();
    let mut bucket = None;
    let mut keys = Vec::new();
    for (k, v) in query_pairs(&query) {
        match k.as_str() {
            "key" => keys.push(v),
            "bucket" if bucket.is_none() => bucket = Some(v),
            _ => {}
        }
    }
    let confirmation = Confirmation {
        sealed: &sealed,
        bucket: bucket.as_deref(),
        keys,
    };
    let verified = match verify::confirm(&state, caller.as_ref(), confirmation).await {
        Ok(v) => v,
        Err(e) if json => return ApiError(e).into_response(),
        Err(e) => return PageError(e).into_response(),
    };
    if json {
        return Json(as_json(verified)).into_response();
    }
    let files = verified
        .files
        .into_iter()
        .map(|f| Shown {
            name: file_name(&f.key).to_string(),
            image: f.content_type.starts_with("image/"),
            size: format_size(f.size),
            type_label: type_label(&f.content_type),
            content_type: f.content_type,
            url: f.view_url,
            download: f.download_url,
            key: f.key,
        })
        .collect();
    render(&UploadedPage {
        nav: Nav::new(&state, caller.as_ref()),
        title: &verified.profile.title,
        profile: &verified.profile.name,
        bucket: &verified.profile.bucket,
        files,
        expires_in: format_duration(state.config.server.download_expires),
    })
    .into_response()
}

fn as_json(v: Verified<'_>) -> UploadedOut {
    let bucket = v.profile.bucket.clone();
    UploadedOut {
        verified: true,
        profile: v.profile.name.clone(),
        files: v
            .files
            .into_iter()
            .map(|f| FileOut {
                name: file_name(&f.key).to_string(),
                bucket: bucket.clone(),
                size: f.size,
                content_type: f.content_type,
                view_url: f.view_url,
                download_url: f.download_url,
                verified: true,
                key: f.key,
            })
            .collect(),
        bucket,
    }
}

/// `/uploaded` with nothing after it: a page (or JSON) that says what the address is for.
async fn bare(headers: HeaderMap) -> Response {
    let e = ServiceError::NotFound(
        "this address is where you land after an upload, but it names none; upload a file first, and you will come back here to see it checked".into(),
    );
    if wants_json(&headers) {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}
