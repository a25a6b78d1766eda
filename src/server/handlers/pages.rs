//! The pages people see: `/` lists the caller's profiles, `/upload/{profile}` renders a freshly
//! signed form, `/uploaded/{state}` verifies the upload before saying "done".

use crate::server::error::{PageError, ServiceError};
use crate::server::extract::PageCaller;
use crate::server::profile::{type_label, Profile};
use crate::server::service::forms;
use crate::server::service::verify::{self, limits, Confirmation};
use crate::server::state::AppState;
use crate::units::{format_duration, format_size};
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use http::HeaderMap;
use std::sync::Arc;

/// The page routes; `limit` puts the ones that sign (forms, confirmation links) under the
/// rate limit.
pub fn router(
    limit: impl Fn(Router<Arc<AppState>>) -> Router<Arc<AppState>>,
) -> Router<Arc<AppState>> {
    Router::new().route("/", get(index)).merge(limit(
        Router::new()
            .route("/upload/{profile}", get(upload))
            .route("/uploaded/{state}", get(uploaded)),
    ))
}

fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(ServiceError::internal)
        .map_err(PageError)
}

/// A profile as listed on `/`.
pub struct Listed<'a> {
    name: &'a str,
    title: &'a str,
    limits: String,
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
    PageCaller(caller): PageCaller,
) -> Result<Html<String>, PageError> {
    let profiles = forms::usable(&state, &caller)
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
    multipart_threshold: u64,
}

/// Types a person without JavaScript can pick from, with their labels.
fn type_choices(p: &Profile) -> Vec<(String, String)> {
    let mut values = p.content_types.clone();
    for prefix in &p.content_type_prefixes {
        if prefix == "image/" {
            values.extend(["image/png", "image/jpeg", "image/gif", "image/webp"].map(String::from));
        }
    }
    values.into_iter().map(|t| (type_label(&t), t)).collect()
}

async fn upload(
    State(state): State<Arc<AppState>>,
    PageCaller(caller): PageCaller,
    Path(name): Path<String>,
) -> Result<Html<String>, PageError> {
    let profile = forms::authorize(&state, &caller, &name)?;
    let issued = forms::issue(&state, &caller, profile, None)?;
    render(&UploadPage {
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
        multipart_threshold: state.config.server.multipart_threshold,
    })
}

/// One verified object, as shown.
struct Shown {
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
    files: Vec<Shown>,
    expires_in: String,
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

async fn uploaded(
    State(state): State<Arc<AppState>>,
    Path(sealed): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    // With sign-in on, only the uploader may confirm (the link alone is not enough).
    let caller = if state.auth.required() {
        Some(state.auth.authenticate(&headers)?)
    } else {
        None
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
    let verified = verify::confirm(&state, caller.as_ref(), confirmation).await?;
    let files = verified
        .files
        .into_iter()
        .map(|f| Shown {
            image: f.content_type.starts_with("image/"),
            size: format_size(f.size),
            content_type: f.content_type,
            url: f.view_url,
            download: f.download_url,
            key: f.key,
        })
        .collect();
    render(&UploadedPage {
        title: &verified.profile.title,
        profile: &verified.profile.name,
        bucket: &verified.profile.bucket,
        files,
        expires_in: format_duration(state.config.server.download_expires),
    })
}
