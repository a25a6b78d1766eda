//! The issuer's API: `POST /api/v1/presign` and `GET /api/v1/presign` (the same answer, for
//! links and `curl … | jq -r .url`), `GET /api/v1/objects` (a listing), and
//! `GET /api/v1/download-url` (a GET link; kept as a thin alias of `presign`).

use crate::server::access::Verb;
use crate::server::auth::Caller;
use crate::server::error::{ApiError, ServiceError};
use crate::server::extract::{ApiJson, JsonExample};
use crate::server::service::issuer::{self, PresignRequest, Presigned};
use crate::server::service::lifetime::{self, Cap};
use crate::server::service::listing::{self, ListRequest};
use crate::server::service::rfc3339;
use crate::server::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The issuer's routes; presigning is rate-limited with the other signing routes.
pub fn signing_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/presign", get(presign_get).post(presign_post))
        .route("/api/v1/download-url", get(download_url))
        .route("/api/v1/objects", get(objects))
}

/// A duration written as seconds or as text (`15m`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expires {
    /// Seconds.
    Secs(u64),
    /// `15m`, `1h`, `7d`, or seconds as text.
    Text(String),
}

/// The presign request, as JSON or as a query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresignBody {
    /// GET, HEAD, PUT or DELETE (default GET).
    pub method: Option<String>,
    /// The object's key (empty with `profile`).
    #[serde(default)]
    pub key: String,
    /// PUT for a new upload in this profile: the key comes from its template (see
    /// [`super::companion::profile_put`]).
    pub profile: Option<String>,
    /// With `profile`: the file's name.
    pub filename: Option<String>,
    /// The bucket (default: the area's).
    pub bucket: Option<String>,
    /// How long: `15m` or seconds.
    pub expires: Option<Expires>,
    /// Until when: RFC 3339 or a date.
    pub expires_at: Option<String>,
    /// PUT: the file's type.
    pub content_type: Option<String>,
    /// PUT: the file's size in bytes.
    pub size: Option<u64>,
    /// GET: Content-Disposition for S3 to answer with.
    pub response_content_disposition: Option<String>,
    /// GET: Content-Type for S3 to answer with.
    pub response_content_type: Option<String>,
}

impl JsonExample for PresignBody {
    const EXAMPLE: &'static str =
        r#"{"method": "GET", "key": "tier 1/cute-cat.jpg", "expires": "1h"}"#;
}

/// The answer: the URL and how to use it.
#[derive(Debug, Serialize)]
pub struct PresignResponse {
    /// GET, HEAD, PUT or DELETE.
    pub method: &'static str,
    /// The presigned URL.
    pub url: String,
    /// Headers to send with exactly these values.
    pub headers: BTreeMap<&'static str, String>,
    /// The key.
    pub key: String,
    /// The bucket.
    pub bucket: String,
    /// When the URL stops working (RFC 3339).
    pub expires_at: String,
    /// Present when the lifetime was shortened: `rule` or `credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capped_by: Option<Cap>,
}

impl From<Presigned> for PresignResponse {
    fn from(p: Presigned) -> Self {
        Self {
            method: p.method,
            url: p.url,
            headers: p.headers.into_iter().collect(),
            key: p.key,
            bucket: p.bucket,
            expires_at: rfc3339(p.expires_at),
            capped_by: p.capped_by,
        }
    }
}

/// Turns a body into a presigned URL.
pub fn presign_body(
    state: &AppState,
    caller: &Caller,
    b: &PresignBody,
) -> Result<Presigned, ServiceError> {
    let verb = match b.method.as_deref() {
        None => Verb::Get,
        Some(m) => Verb::parse(m).filter(|v| *v != Verb::List).ok_or_else(|| {
            ServiceError::BadRequest(format!("method `{m}` is not one of GET, HEAD, PUT, DELETE"))
        })?,
    };
    let expires = b.expires.as_ref().map(|e| match e {
        Expires::Secs(s) => s.to_string(),
        Expires::Text(t) => t.clone(),
    });
    let wanted = lifetime::parse_wanted(expires.as_deref(), b.expires_at.as_deref())?;
    issuer::presign(
        state,
        caller,
        &PresignRequest {
            verb,
            bucket: b.bucket.as_deref(),
            key: &b.key,
            wanted,
            content_type: b.content_type.as_deref(),
            size: b.size,
            response_content_disposition: b.response_content_disposition.as_deref(),
            response_content_type: b.response_content_type.as_deref(),
        },
    )
}

async fn presign_post(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<PresignBody>,
) -> Result<Response, ApiError> {
    if let Some(profile) = &body.profile {
        let put = super::companion::profile_put(&state, &caller, profile, &body)?;
        return Ok(Json(put).into_response());
    }
    Ok(Json(PresignResponse::from(presign_body(&state, &caller, &body)?)).into_response())
}

/// The query of `GET /api/v1/presign` (only `key` is required).
#[derive(Debug, Deserialize)]
struct PresignQuery {
    key: Option<String>,
    bucket: Option<String>,
    method: Option<String>,
    expires: Option<String>,
    expires_at: Option<String>,
}

async fn presign_get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<PresignQuery>,
) -> Result<Json<PresignResponse>, ApiError> {
    let key = q.key.filter(|k| !k.is_empty()).ok_or_else(|| {
        ServiceError::BadRequest("give the object's key: /api/v1/presign?key=…".into())
    })?;
    let body = PresignBody {
        method: q.method,
        key,
        bucket: q.bucket,
        expires: q.expires.map(Expires::Text),
        expires_at: q.expires_at,
        content_type: None,
        size: None,
        response_content_disposition: None,
        response_content_type: None,
        profile: None,
        filename: None,
    };
    Ok(Json(presign_body(&state, &caller, &body)?.into()))
}

#[derive(Debug, Deserialize)]
struct DownloadQuery {
    key: Option<String>,
}

#[derive(Debug, Serialize)]
struct DownloadResponse {
    url: String,
    expires_at: String,
}

/// `GET /api/v1/download-url?key=…`: a GET link with the area's default lifetime.
async fn download_url(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<DownloadQuery>,
) -> Result<Json<DownloadResponse>, ApiError> {
    let key = q.key.filter(|k| !k.is_empty()).ok_or_else(|| {
        ServiceError::BadRequest("give the object's key: /api/v1/download-url?key=…".into())
    })?;
    let body = PresignBody {
        method: None,
        key,
        bucket: None,
        expires: None,
        expires_at: None,
        content_type: None,
        size: None,
        response_content_disposition: None,
        response_content_type: None,
        profile: None,
        filename: None,
    };
    let p = presign_body(&state, &caller, &body)?;
    Ok(Json(DownloadResponse {
        url: p.url,
        expires_at: rfc3339(p.expires_at),
    }))
}

#[derive(Debug, Deserialize)]
struct ObjectsQuery {
    bucket: Option<String>,
    #[serde(default)]
    prefix: String,
    delimiter: Option<String>,
    continuation: Option<String>,
    max_keys: Option<u32>,
}

#[derive(Debug, Serialize)]
struct ObjectOut {
    key: String,
    size: u64,
    last_modified: String,
}

#[derive(Debug, Serialize)]
struct ObjectsResponse {
    bucket: String,
    prefix: String,
    objects: Vec<ObjectOut>,
    folders: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continuation: Option<String>,
}

async fn objects(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ObjectsQuery>,
) -> Result<Json<ObjectsResponse>, ApiError> {
    let listing = listing::list(
        &state,
        &caller,
        &ListRequest {
            bucket: q.bucket.as_deref(),
            prefix: &q.prefix,
            delimiter: q.delimiter.as_deref(),
            continuation: q.continuation.as_deref(),
            max_keys: q.max_keys.unwrap_or(1000),
        },
    )
    .await?;
    Ok(Json(ObjectsResponse {
        bucket: listing.bucket,
        prefix: listing.prefix,
        objects: listing
            .objects
            .into_iter()
            .map(|o| ObjectOut {
                key: o.key,
                size: o.size,
                last_modified: o.last_modified,
            })
            .collect(),
        folders: listing.folders,
        continuation: listing.next,
    }))
}
