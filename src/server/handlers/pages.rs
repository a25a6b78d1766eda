//! The pages people see: `/` lists the caller's profiles, `/upload/{profile}` renders a freshly
//! signed form (`/uploaded` is in [`super::uploaded`]), and every unknown path gets a page that
//! says so (the API's unknown paths answer JSON).

use crate::server::error::{ApiError, PageError, ServiceError};
use crate::server::extract::PageCaller;
use crate::server::nav::Nav;
use crate::server::profile::{type_label, Profile};
use crate::server::service::forms;
use crate::server::service::verify::limits;
use crate::server::state::AppState;
use crate::units::format_duration;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// The page routes; `limit` puts the upload page (each load signs a form) under the rate
/// limit.
pub fn router(
    limit: impl Fn(Router<Arc<AppState>>) -> Router<Arc<AppState>>,
) -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .merge(limit(Router::new().route("/upload/{profile}", get(upload))))
}

/// The answer for every path no route knows: a page for people, JSON under `/api/`.
pub async fn not_found(uri: http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError(ServiceError::NotFound(format!(
            "there is no API route {}; see the README for the routes",
            uri.path()
        )))
        .into_response();
    }
    PageError(ServiceError::NotFound(
        "there is no page at this address; it may have moved, or the link may be mistyped. The start page lists what you can upload".into(),
    ))
    .into_response()
}

pub(super) fn render(t: &impl Template) -> Result<Html<String>, PageError> {
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
    nav: Nav,
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
        nav: Nav::new(&state, Some(&caller)),
        demo: !state.auth.required(),
        profiles,
    })
}

#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage<'a> {
    nav: Nav,
    profile: &'a Profile,
    limits: String,
    url: &'a str,
    fields: &'a [(String, String)],
    type_choices: Vec<(String, String)>,
    type_prefix: String,
    accept: String,
    expires_in: String,
    types_attr: String,
    types_words: String,
    multipart_threshold: u64,
    clock_problem: Option<String>,
}

/// Types a person without JavaScript can pick from, with their labels.
fn type_choices(p: &Profile) -> Vec<(String, String)> {
    p.content_types
        .iter()
        .map(|t| (type_label(t), t.clone()))
        .collect()
}

async fn upload(
    State(state): State<Arc<AppState>>,
    PageCaller(caller): PageCaller,
    Path(name): Path<String>,
) -> Result<Html<String>, PageError> {
    let profile = forms::authorize(&state, &caller, &name)?;
    let issued = forms::issue(&state, &caller, profile, None)?;
    render(&UploadPage {
        nav: Nav::new(&state, Some(&caller)),
        profile,
        limits: limits(profile),
        url: &issued.post.url,
        fields: &issued.post.fields,
        type_choices: type_choices(profile),
        type_prefix: profile.common_type_prefix(),
        accept: profile.accept_attr().unwrap_or_default(),
        expires_in: format_duration(profile.expires),
        types_attr: profile.content_types.join(","),
        types_words: profile.types_in_words(),
        multipart_threshold: state.config.server.multipart_threshold,
        clock_problem: state.http.clock_problem(),
    })
}
