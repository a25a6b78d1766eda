//! The JSON API for forms: `POST /api/v1/sign/{profile}`, `POST /api/v1/s3-error`,
//! `GET /healthz` (the issuer's routes are in [`super::issuer`]). Errors are `{error, message}` with a 4xx.

use crate::server::auth::Caller;
use crate::server::error::ApiError;
use crate::server::extract::{ApiJson, JsonExample};
use crate::server::service::{forms, rfc3339};
use crate::server::state::AppState;
use crate::units::format_size;
use crate::PresignedPost;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The API routes; `limit` puts the signing ones under the rate limit.
pub fn router(
    state: &Arc<AppState>,
    limit: impl Fn(Router<Arc<AppState>>) -> Router<Arc<AppState>>,
) -> Router<Arc<AppState>> {
    let signing = limit(
        Router::new()
            .route("/api/v1/sign/{profile}", post(sign))
            .merge(super::issuer::signing_routes())
            .merge(super::companion::starting_routes()),
    );
    let api = Router::new()
        .merge(signing)
        .merge(super::companion::continuing_routes())
        .route("/api/v1/s3-error", post(s3_error));
    crate::server::security::api_cors(api, state).route("/healthz", get(healthz))
}

/// `POST /api/v1/sign/{profile}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The file's name, as the browser gives it.
    pub filename: String,
    /// The file's type.
    pub content_type: String,
    /// The file's size in bytes.
    pub size: u64,
}

impl JsonExample for SignRequest {
    const EXAMPLE: &'static str =
        r#"{"filename": "me.png", "content_type": "image/png", "size": 12345}"#;
}

/// `POST /api/v1/sign/{profile}` answer: boto3's `{url, fields}` plus Uppy's shape.
#[derive(Debug, Serialize)]
pub struct SignResponse {
    /// Always "POST".
    pub method: &'static str,
    /// Where to post (`url`) and the fields, in order; `file` goes last.
    #[serde(flatten)]
    pub post: PresignedPost,
    /// The object's key.
    pub key: String,
    /// When the form stops working (RFC 3339).
    pub expires_at: String,
    /// Where to go after a successful upload (add `?key=…`).
    pub uploaded_url: String,
}

async fn sign(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<ApiJson<SignRequest>, ApiError>,
) -> Result<Json<SignResponse>, ApiError> {
    // Who may use which profile is answered before the body is looked at.
    let profile = forms::authorize(&state, &caller, &name)?;
    let ApiJson(req) = body?;
    let content_type = req.content_type.trim().to_ascii_lowercase();
    let file = forms::Declared {
        filename: &req.filename,
        content_type: &content_type,
        size: req.size,
    };
    forms::check_declared(profile, &file)?;
    let issued = forms::issue(&state, &caller, profile, Some(&file))?;
    Ok(Json(SignResponse {
        method: "POST",
        post: issued.post,
        key: issued.key,
        expires_at: rfc3339(issued.expires_at),
        uploaded_url: issued.uploaded_url,
    }))
}

#[derive(Debug, Serialize)]
struct Explained {
    error: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct ExplainQuery {
    profile: Option<String>,
}

async fn s3_error(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ExplainQuery>,
    body: String,
) -> Json<Explained> {
    let (error, mut message) = crate::server::s3::explain(&body);
    // "Expired" from a server whose clock is off: reloading would not help, so say what would.
    let timing = error == "RequestTimeTooSkewed"
        || (error == "AccessDenied" && body.to_ascii_lowercase().contains("expired"));
    if timing {
        if state.http.skew().is_none() {
            state.check_clock().await;
        }
        if let Some(problem) = state.http.clock_problem() {
            message = format!("The upload failed because {problem}.");
        }
    }
    // Some stores (Ceph RGW) leave the sizes out: the profile knows its limits.
    if let Some(p) = q.profile.as_deref().and_then(|n| state.profile(n)) {
        if error == "EntityTooLarge" && !message.contains("at most") {
            message = format!(
                "The file is too large: at most {} is allowed.",
                format_size(p.max_size)
            );
        } else if error == "EntityTooSmall" && !message.contains("at least") {
            message = format!(
                "The file is too small: at least {} is needed.",
                format_size(p.min_size)
            );
        }
    }
    Json(Explained { error, message })
}

async fn healthz() -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}
