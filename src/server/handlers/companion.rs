//! Uppy Companion's S3 routes, with the same paths and JSON as `@uppy/companion`'s S3
//! controller, so `@uppy/aws-s3` pointed at signpost (`companionEndpoint` in Uppy 6,
//! `endpoint` in Uppy 5) works unchanged:
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /s3/params?filename=&type=&metadata[k]=v` | `{method: "POST", url, fields, headers, expires, key}` |
//! | `POST /s3/multipart` `{filename, type, metadata}` | `{key, uploadId, bucket}` |
//! | `GET /s3/multipart/{uploadId}/{partNumber}?key=` | `{url, expires}` |
//! | `GET /s3/multipart/{uploadId}/batch?key=&partNumbers=1,2` | `{presignedUrls: {"1": url, …}}` |
//! | `GET /s3/multipart/{uploadId}?key=` | `[{PartNumber, ETag, Size}]` |
//! | `POST /s3/multipart/{uploadId}/complete?key=` `{parts}` | `{location, key, bucket, uploaded_url}` |
//! | `DELETE /s3/multipart/{uploadId}?key=` | `{}` |
//!
//! Errors are the API's `{error, message}`. Also here: PUT mode's `POST /api/v1/presign` with a
//! `profile` (see [`profile_put`]).

use crate::server::auth::Caller;
use crate::server::error::{ApiError, ServiceError};
use crate::server::extract::{ApiJson, JsonExample};
use crate::server::handlers::issuer::PresignBody;
use crate::server::service::companion::{self, SingleFile};
use crate::server::service::lifetime::Cap;
use crate::server::service::multipart::{self, NewUpload};
use crate::server::service::rfc3339;
use crate::server::state::AppState;
use crate::PresignedPost;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most a complete request's body may hold: 10 000 parts' numbers and ETags as JSON
/// (Companion takes 1 MB).
pub const COMPLETE_MAX_BODY: usize = 2 * 1024 * 1024;

/// The routes that start an upload (rate-limited with the other signing routes).
pub fn starting_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/s3/params", get(params))
        .route("/s3/multipart", post(create))
}

/// The routes that continue an upload someone started (bound to it by its upload id).
pub fn continuing_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/s3/multipart/{upload_id}", get(list).delete(abort))
        .route("/s3/multipart/{upload_id}/batch", get(batch))
        .route("/s3/multipart/{upload_id}/{part}", get(part))
}

/// `POST /s3/multipart/{uploadId}/complete`: its body may be larger than `server.max_body`.
pub fn complete_route() -> Router<Arc<AppState>> {
    Router::new()
        .route("/s3/multipart/{upload_id}/complete", post(complete))
        .layer(DefaultBodyLimit::max(COMPLETE_MAX_BODY))
}

// ---- POST uploads ---------------------------------------------------------------------------

/// `GET /s3/params` answer.
#[derive(Debug, Serialize)]
struct ParamsResponse {
    method: &'static str,
    #[serde(flatten)]
    post: PresignedPost,
    headers: Map<String, Value>,
    /// Seconds the form works (Companion's `expires`).
    expires: i64,
    key: String,
}

async fn params(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<ParamsResponse>, ApiError> {
    let find = |name: &str| {
        q.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let profile = companion::choose_profile(&state, &caller, find("metadata[profile]"))?;
    let filename = find("filename").unwrap_or("");
    let content_type = find("type").ok_or_else(|| {
        ServiceError::BadRequest(
            "give the file's type: /s3/params?filename=…&type=image/png".into(),
        )
    })?;
    let size = companion::parse_size(
        "size",
        find("metadata[size]")
            .map(|s| Value::String(s.into()))
            .as_ref(),
    )?;
    let issued = companion::params(
        &state,
        &caller,
        profile,
        &SingleFile {
            filename,
            content_type,
            size,
        },
    )?;
    Ok(Json(ParamsResponse {
        method: "POST",
        post: issued.post,
        headers: Map::new(),
        expires: (issued.expires_at - state.now()).whole_seconds().max(0),
        key: issued.key,
    }))
}

// ---- PUT uploads (POST /api/v1/presign with a profile) --------------------------------------

/// The answer to a profile upload's presign: the issuer's shape.
#[derive(Debug, Serialize)]
pub struct ProfilePutResponse {
    method: &'static str,
    url: String,
    headers: BTreeMap<String, String>,
    key: String,
    bucket: String,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    capped_by: Option<Cap>,
    /// GET it after the PUT: the upload's real type is checked, and it is removed if it is
    /// not what it said.
    uploaded_url: String,
}

/// `POST /api/v1/presign` with `{"method": "PUT", "profile", "filename", "content_type",
/// "size"}`: a PUT URL for a new upload in that profile, its key from the template.
pub fn profile_put(
    state: &AppState,
    caller: &Caller,
    profile: &str,
    b: &PresignBody,
) -> Result<ProfilePutResponse, ApiError> {
    if b.method
        .as_deref()
        .is_some_and(|m| !m.eq_ignore_ascii_case("PUT"))
    {
        return Err(ServiceError::BadRequest(
            "with `profile`, the method is PUT: it presigns a new upload".into(),
        )
        .into());
    }
    if !b.key.is_empty() || b.bucket.is_some() {
        return Err(ServiceError::BadRequest(
            "with `profile`, leave out `key` and `bucket`: the key comes from the profile's template"
                .into(),
        )
        .into());
    }
    if b.expires.is_some() || b.expires_at.is_some() {
        return Err(ServiceError::BadRequest(
            "with `profile`, leave out `expires`: an upload URL lives as long as the profile says"
                .into(),
        )
        .into());
    }
    let profile = companion::choose_profile(state, caller, Some(profile))?;
    let filename = b.filename.as_deref().unwrap_or("");
    let content_type = b.content_type.as_deref().ok_or_else(|| {
        ServiceError::BadRequest("give the file's type (`content_type`, e.g. image/png)".into())
    })?;
    let up = companion::put_url(
        state,
        caller,
        profile,
        &SingleFile {
            filename,
            content_type,
            size: b.size,
        },
    )?;
    Ok(ProfilePutResponse {
        method: "PUT",
        url: up.url,
        headers: up.headers.into_iter().collect(),
        key: up.key,
        bucket: up.bucket,
        expires_at: rfc3339(up.expires_at),
        capped_by: up.capped_by,
        uploaded_url: up.uploaded_url,
    })
}

// ---- Multipart ------------------------------------------------------------------------------

/// `POST /s3/multipart` body.
#[derive(Debug, Deserialize)]
struct CreateBody {
    filename: Option<String>,
    #[serde(rename = "type")]
    content_type: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
}

impl JsonExample for CreateBody {
    const EXAMPLE: &'static str = r#"{"filename": "a.mp4", "type": "video/mp4", "metadata": {"profile": "video", "size": 123456789}}"#;
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateResponse {
    key: String,
    upload_id: String,
    bucket: String,
}

async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<ApiJson<CreateBody>, ApiError>,
) -> Result<Json<CreateResponse>, ApiError> {
    let ApiJson(b) = body?;
    let named = match b.metadata.get("profile") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(ServiceError::BadRequest(
                "metadata `profile` must be a profile's name".into(),
            )
            .into())
        }
    };
    let profile = companion::choose_profile(&state, &caller, named)?;
    let size = companion::parse_size("size", b.metadata.get("size"))?;
    let part_size = companion::parse_size("partSize", b.metadata.get("partSize"))?;
    let content_type = b.content_type.as_deref().ok_or_else(|| {
        ServiceError::BadRequest(format!(
            "give the file's `type`, as in {}",
            CreateBody::EXAMPLE
        ))
    })?;
    let started = multipart::create(
        &state,
        &caller,
        profile,
        &NewUpload {
            filename: b.filename.as_deref().unwrap_or(""),
            content_type,
            size,
            part_size,
        },
    )
    .await?;
    Ok(Json(CreateResponse {
        key: started.key,
        upload_id: started.upload_id,
        bucket: started.bucket,
    }))
}

/// The `?key=` every continuing route takes.
#[derive(Debug, Deserialize)]
struct KeyQuery {
    #[serde(default)]
    key: String,
    #[serde(default, rename = "partNumbers")]
    part_numbers: Option<String>,
}

fn part_number(text: &str) -> Result<u32, ServiceError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            ServiceError::BadRequest(format!(
                "part number `{text}` is not a number between 1 and 10000"
            ))
        })
}

async fn part(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((upload_id, n)): Path<(String, String)>,
    Query(q): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let up = multipart::open(&state, &caller, &upload_id, &q.key)?;
    let n = part_number(&n)?;
    let mut urls = multipart::part_urls(&state, &up, &[n])?;
    let u = urls.remove(0);
    Ok(Json(
        json!({ "url": u.url, "expires": u.expires_in.as_secs() }),
    ))
}

async fn batch(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(upload_id): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let up = multipart::open(&state, &caller, &upload_id, &q.key)?;
    let list = q.part_numbers.as_deref().unwrap_or("");
    if list.trim().is_empty() {
        return Err(ServiceError::BadRequest(
            "give the part numbers, comma-separated: ?partNumbers=1,2,3".into(),
        )
        .into());
    }
    let numbers = list
        .split(',')
        .map(part_number)
        .collect::<Result<Vec<u32>, _>>()?;
    let urls = multipart::part_urls(&state, &up, &numbers)?;
    let presigned: Map<String, Value> = numbers
        .iter()
        .zip(urls)
        .map(|(n, u)| (n.to_string(), Value::String(u.url)))
        .collect();
    Ok(Json(json!({ "presignedUrls": presigned })))
}

async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(upload_id): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let up = multipart::open(&state, &caller, &upload_id, &q.key)?;
    let parts = multipart::list(&state, &up).await?;
    Ok(Json(Value::Array(
        parts
            .into_iter()
            .map(|p| json!({ "PartNumber": p.part_number, "ETag": p.etag, "Size": p.size }))
            .collect(),
    )))
}

/// One part in a complete request.
#[derive(Debug, Deserialize)]
struct CompletePart {
    #[serde(rename = "PartNumber")]
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

#[derive(Debug, Deserialize)]
struct CompleteBody {
    parts: Vec<CompletePart>,
}

impl JsonExample for CompleteBody {
    const EXAMPLE: &'static str = r#"{"parts": [{"PartNumber": 1, "ETag": "\"abc…\""}]}"#;
}

async fn complete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(upload_id): Path<String>,
    Query(q): Query<KeyQuery>,
    body: Result<ApiJson<CompleteBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let up = multipart::open(&state, &caller, &upload_id, &q.key)?;
    let ApiJson(b) = body?;
    let parts: Vec<(u32, String)> = b
        .parts
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect();
    let done = multipart::complete(&state, &caller, &up, &parts).await?;
    Ok(Json(json!({
        "location": done.location,
        "key": done.key,
        "bucket": done.bucket,
        "size": done.size,
        "uploaded_url": done.uploaded_url,
    })))
}

async fn abort(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(upload_id): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let up = multipart::open(&state, &caller, &upload_id, &q.key)?;
    multipart::abort(&state, &caller, &up).await?;
    Ok(Json(json!({})))
}
