//! The JSON API: `POST /api/v1/sign/{profile}`, `GET /api/v1/download-url`,
//! `POST /api/v1/s3-error`, `GET /healthz`. Errors are `{error, message}` with a 4xx.

use super::auth::Caller;
use super::error::AppError;
use super::upload_state::UploadState;
use super::AppState;
use crate::profile::{KeyVars, Profile};
use crate::signing::write_iso8601;
use crate::units::format_size;
use crate::{Field, GetOptions, LintContext, PresignedPost};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Time after a form's expiry during which its confirmation link still works.
const STATE_GRACE: Duration = Duration::from_secs(3600);

/// The API routes (signing routes rate-limited when configured).
pub fn router(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let signing = super::security::rate_limited(
        Router::new().route("/api/v1/sign/{profile}", post(sign)),
        state,
    );
    let api = Router::new()
        .merge(signing)
        .route("/api/v1/download-url", get(download_url))
        .route("/api/v1/s3-error", post(s3_error));
    super::security::api_cors(api, state).route("/healthz", get(healthz))
}

/// Authenticates the caller and finds a profile it may use: 401, 404 or 403 otherwise.
pub fn authorize<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    name: &str,
) -> Result<(Caller, &'a Profile), AppError> {
    let caller = state.auth.authenticate(headers)?;
    let profile = state.profile(name).ok_or_else(|| {
        AppError::not_found(format!(
            "there is no upload profile named `{name}`; see / for the ones you may use"
        ))
    })?;
    if !caller.all_roles && !profile.allows_roles(&caller.roles) {
        let have = if caller.roles.is_empty() {
            "no role".to_string()
        } else {
            caller.roles.join(", ")
        };
        return Err(AppError::forbidden(format!(
            "your account ({have}) may not use “{}”; it needs one of: {}",
            profile.title,
            profile.roles.join(", ")
        )));
    }
    Ok((caller, profile))
}

/// A freshly signed form and what goes with it.
pub struct Issued {
    /// The form.
    pub post: PresignedPost,
    /// The key (with `${filename}` when S3 fills it in).
    pub key: String,
    /// When the form stops working.
    pub expires_at: OffsetDateTime,
    /// Where to confirm the upload: `/uploaded/{state}` on this server.
    pub uploaded_url: String,
}

/// Signs a form for `caller` and `profile`. With a filename (the API), the key is exact and
/// S3 answers 201; without (the page), S3 fills `${filename}` and redirects to `/uploaded`.
pub fn issue(
    state: &AppState,
    caller: &Caller,
    profile: &Profile,
    filename: Option<&str>,
    content_type: Option<&str>,
) -> Result<Issued, AppError> {
    let now = OffsetDateTime::now_utc();
    let uuid = uuid::Uuid::new_v4().to_string();
    let d = now.date();
    let date = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let vars = KeyVars {
        user: &caller.user,
        uuid: &uuid,
        date: &date,
    };
    let key = profile.render_key(&vars, filename);
    let expires_at = now + profile.expires;
    let sealed = UploadState {
        p: profile.name.clone(),
        u: caller.user.clone(),
        k: profile.owner_prefix(&caller.user),
        e: (expires_at + STATE_GRACE).unix_timestamp(),
    }
    .seal(&state.state_key);
    let uploaded_url = format!("{}/uploaded/{sealed}", state.public_url);

    let mut b = profile.policy(&key);
    b = match content_type {
        Some(t) => b.content_type(t),
        None => b.starts_with(Field::ContentType, profile.common_type_prefix()),
    };
    b = match filename {
        Some(_) => b.success_action_status(201),
        None => b.success_action_redirect(&uploaded_url),
    };
    let ctx = LintContext {
        now,
        credentials_expire_at: state.signer.credentials().expires_at(),
    };
    let policy = b.build_with(&ctx).map_err(AppError::internal)?;
    let post = state
        .signer
        .sign_post(&policy, now)
        .map_err(AppError::internal)?;
    Ok(Issued {
        post,
        key,
        expires_at,
        uploaded_url,
    })
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

fn iso(t: OffsetDateTime) -> String {
    let mut s = String::new();
    write_iso8601(&mut s, t);
    s
}

async fn sign(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<SignRequest>, JsonRejection>,
) -> Result<Json<SignResponse>, AppError> {
    let (caller, profile) = authorize(&state, &headers, &name)?;
    let Json(req) = body.map_err(|e| {
        // A body over server.max_body read without a Content-Length: keep the 413.
        if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
            return AppError {
                status: e.status(),
                code: "too_large",
                message: "the request body is too large; send only {\"filename\", \"content_type\", \"size\"}".into(),
                page: false,
            };
        }
        AppError::bad_request(format!(
            "the body must be JSON like {{\"filename\": \"me.png\", \"content_type\": \"image/png\", \"size\": 12345}} ({})",
            e.body_text()
        ))
    })?;
    let content_type = req.content_type.trim().to_ascii_lowercase();
    if content_type.is_empty() || content_type.contains(['\r', '\n']) {
        return Err(AppError::bad_request(
            "content_type is empty; send the file's MIME type, e.g. image/png",
        ));
    }
    if req.filename.trim().is_empty() {
        return Err(AppError::bad_request(
            "filename is empty; send the file's name",
        ));
    }
    profile
        .check_declared(req.size, &content_type)
        .map_err(|m| AppError::bad_request(m.0))?;
    let issued = issue(
        &state,
        &caller,
        profile,
        Some(&req.filename),
        Some(&content_type),
    )?;
    Ok(Json(SignResponse {
        method: "POST",
        post: issued.post,
        key: issued.key,
        expires_at: iso(issued.expires_at),
        uploaded_url: issued.uploaded_url,
    }))
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

/// The profile under whose caller prefix `key` lies, among those the caller may use.
pub fn readable_profile<'a>(
    state: &'a AppState,
    caller: &Caller,
    key: &str,
) -> Option<&'a Profile> {
    state.config.profiles.iter().find(|p| {
        (caller.all_roles || p.allows_roles(&caller.roles))
            && key.starts_with(&p.owner_prefix(&caller.user))
            && !key.split('/').any(|s| s == ".." || s == ".")
    })
}

async fn download_url(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<DownloadQuery>,
) -> Result<Json<DownloadResponse>, AppError> {
    let caller = state.auth.authenticate(&headers)?;
    let key = q.key.filter(|k| !k.is_empty()).ok_or_else(|| {
        AppError::bad_request("give the object's key: /api/v1/download-url?key=…")
    })?;
    let profile = readable_profile(&state, &caller, &key).ok_or_else(|| {
        AppError::forbidden(
            "you may only get links for your own uploads; this key is outside your prefix",
        )
    })?;
    let now = OffsetDateTime::now_utc();
    let expires = state.config.download_expires;
    let url = state
        .signer
        .presign_get(&profile.bucket, &key, expires, now, &GetOptions::default())
        .map_err(AppError::internal)?;
    Ok(Json(DownloadResponse {
        url,
        expires_at: iso(now + expires),
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
    let (error, mut message) = super::s3::explain(&body);
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
