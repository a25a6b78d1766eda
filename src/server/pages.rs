//! The pages people see: `/` lists the caller's profiles, `/upload/{profile}` renders a freshly
//! signed form, `/uploaded/{state}` verifies the upload before saying "done".

use super::api::{authorize, issue};
use super::error::AppError;
use super::s3::{delete_object, head_object, S3Error};
use super::upload_state::UploadState;
use super::AppState;
use crate::profile::Profile;
use crate::units::{format_duration, format_size, format_size_range};
use crate::GetOptions;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use http::HeaderMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// The page routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .route("/upload/{profile}", get(upload))
        .route("/uploaded/{state}", get(uploaded))
}

fn render(t: &impl Template) -> Result<Html<String>, AppError> {
    t.render()
        .map(Html)
        .map_err(|e| AppError::internal(e).page())
}

/// A profile as listed on `/`.
pub struct Listed<'a> {
    name: &'a str,
    title: &'a str,
    limits: String,
}

fn limits(p: &Profile) -> String {
    format!(
        "{}, {}",
        p.types_in_words(),
        format_size_range(p.min_size, p.max_size)
    )
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    user: &'a str,
    demo: bool,
    profiles: Vec<Listed<'a>>,
}

async fn index(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    let caller = state
        .auth
        .authenticate(&headers)
        .map_err(|e| AppError::from(e).page())?;
    let profiles = state
        .config
        .profiles
        .iter()
        .filter(|p| caller.all_roles || p.allows_roles(&caller.roles))
        .map(|p| Listed {
            name: &p.name,
            title: &p.title,
            limits: limits(p),
        })
        .collect();
    render(&IndexPage {
        user: &caller.user,
        demo: !state.auth.required(),
        profiles,
    })
}

#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage<'a> {
    profile: &'a Profile,
    limits: String,
    url: &'a str,
    fields: &'a [(String, String)],
    type_choices: Vec<(String, String)>,
    type_prefix: String,
    accept: String,
    expires_in: String,
    types_attr: String,
    prefixes_attr: String,
    types_words: String,
}

/// Types a person without JavaScript can pick from, with their labels.
fn type_choices(p: &Profile) -> Vec<(String, String)> {
    type_values(p)
        .into_iter()
        .map(|t| (crate::profile::type_label(&t), t))
        .collect()
}

fn type_values(p: &Profile) -> Vec<String> {
    let mut out = p.content_types.clone();
    for prefix in &p.content_type_prefixes {
        if prefix == "image/" {
            out.extend(["image/png", "image/jpeg", "image/gif", "image/webp"].map(String::from));
        }
    }
    out
}

async fn upload(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    let (caller, profile) = authorize(&state, &headers, &name).map_err(AppError::page)?;
    let issued = issue(&state, &caller, profile, None, None).map_err(AppError::page)?;
    let page = UploadPage {
        profile,
        limits: limits(profile),
        url: &issued.post.url,
        fields: &issued.post.fields,
        type_choices: type_choices(profile),
        type_prefix: profile.common_type_prefix(),
        accept: profile.accept_attr().unwrap_or_default(),
        expires_in: format_duration(profile.expires),
        types_attr: profile.content_types.join(","),
        prefixes_attr: profile.content_type_prefixes.join(","),
        types_words: profile.types_in_words(),
    };
    render(&page)
}

/// One verified object.
struct Verified {
    key: String,
    size: String,
    content_type: String,
    url: String,
    download: String,
    image: bool,
}

#[derive(Template)]
#[template(path = "uploaded.html")]
struct UploadedPage<'a> {
    title: &'a str,
    profile: &'a str,
    bucket: &'a str,
    files: Vec<Verified>,
    expires_in: String,
}

fn query_values(query: &str, name: &str) -> Vec<String> {
    url_pairs(query)
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v)
        .collect()
}

fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
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

async fn uploaded(
    State(state): State<Arc<AppState>>,
    Path(sealed): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    let now = OffsetDateTime::now_utc();
    let us = UploadState::open(&sealed, &state.state_key, now.unix_timestamp())
        .map_err(|e| AppError::forbidden(e.to_string()).page())?;
    // A signed-in caller must be the one the upload was for.
    if state.auth.required() {
        if let Ok(caller) = state.auth.authenticate(&headers) {
            if caller.user != us.u {
                return Err(AppError::forbidden("this upload belongs to another account").page());
            }
        }
    }
    let profile = state.profile(&us.p).ok_or_else(|| {
        AppError::not_found(format!("the upload profile `{}` no longer exists", us.p)).page()
    })?;
    let query = query.unwrap_or_default();
    if let Some(b) = query_values(&query, "bucket").first() {
        if *b != profile.bucket {
            return Err(AppError::forbidden(format!(
                "bucket `{b}` is not the one this upload was for"
            ))
            .page());
        }
    }
    let keys = query_values(&query, "key");
    if keys.is_empty() {
        return Err(AppError::bad_request(
            "this link names no uploaded file (no ?key=…); upload the file again",
        )
        .page());
    }
    if keys.len() > 20 {
        return Err(AppError::bad_request("at most 20 files can be confirmed at once").page());
    }
    // Check every key before any S3 call.
    for key in &keys {
        if key.is_empty() {
            return Err(AppError::bad_request(
                "this link names an empty key; upload the file again",
            )
            .page());
        }
        if !key.starts_with(&us.k) {
            return Err(AppError::forbidden(format!(
                "`{key}` is outside your upload folder `{}`",
                us.k
            ))
            .page());
        }
    }
    for key in &keys {
        if key.split('/').any(|s| s == ".." || s == ".") {
            // Only a hand-made request puts `..` in a name; don't leave it for tools that
            // copy keys to disk.
            if let Err(e) = delete_object(&state.http, &state.signer, &profile.bucket, key).await {
                tracing::warn!(error = %e, key, "could not remove an upload with a dot segment");
            }
            return Err(AppError::forbidden(format!(
                "`{key}` has a `.` or `..` segment, which is not allowed; it was removed"
            ))
            .page());
        }
    }
    let mut files = Vec::new();
    for key in keys {
        let info = head_object(&state.http, &state.signer, &profile.bucket, &key)
            .await
            .map_err(|e| match e {
                S3Error::NotFound(_) => AppError::not_found(e.to_string()).page(),
                S3Error::Unavailable(_) => AppError::upstream(e.to_string()).page(),
            })?;
        let refused = if !profile.allows_type(&info.content_type) {
            Some(format!(
                "`{}` was stored as {}, which this upload does not accept ({}); it was removed",
                key,
                info.content_type,
                profile.types_in_words()
            ))
        } else if info.size > profile.max_size || info.size < profile.min_size {
            Some(format!(
                "`{key}` is {}, outside the allowed {}; it was removed",
                format_size(info.size),
                limits(profile)
            ))
        } else {
            None
        };
        if let Some(reason) = refused {
            if let Err(e) = delete_object(&state.http, &state.signer, &profile.bucket, &key).await {
                tracing::warn!(error = %e, key, "could not remove a refused upload");
            }
            return Err(AppError::bad_request(reason).page());
        }
        let expires = state.config.download_expires;
        let view = state
            .signer
            .presign_get(&profile.bucket, &key, expires, now, &GetOptions::default())
            .map_err(|e| AppError::internal(e).page())?;
        let name = key
            .rsplit('/')
            .next()
            .unwrap_or("file")
            .replace(['"', '\\'], "_");
        let disposition = format!("attachment; filename=\"{name}\"");
        let opts = GetOptions {
            response_content_disposition: Some(&disposition),
            response_content_type: None,
        };
        let download = state
            .signer
            .presign_get(&profile.bucket, &key, expires, now, &opts)
            .map_err(|e| AppError::internal(e).page())?;
        files.push(Verified {
            image: info.content_type.starts_with("image/"),
            size: format_size(info.size),
            content_type: info.content_type,
            url: view,
            download,
            key,
        });
    }
    render(&UploadedPage {
        title: &profile.title,
        profile: &profile.name,
        bucket: &profile.bucket,
        files,
        expires_in: format_duration(state.config.download_expires),
    })
}
