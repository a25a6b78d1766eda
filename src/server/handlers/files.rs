//! The files pages: `/files` shows the caller's areas and, inside one, the objects and
//! folders it may see; each object has **Share** (a link with a lifetime the person picks) and,
//! where allowed, **Delete** (a confirmation page, then a POST with a CSRF token). Everything
//! works without JavaScript; `static/files.js` adds a copy button.

use crate::server::access::{self, Verb};
use crate::server::auth::Caller;
use crate::server::error::{PageError, ServiceError};
use crate::server::extract::PageCaller;
use crate::server::handlers::issuer::{presign_body, Expires, PresignBody};
use crate::server::nav::Nav;
use crate::server::s3;
use crate::server::service::issuer::refused;
use crate::server::service::lifetime::Cap;
use crate::server::service::listing::{self, ListRequest};
use crate::server::state::AppState;
use crate::units::{format_duration, format_size};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// The files routes; `limit` puts sharing (which signs) under the rate limit.
pub fn router(
    limit: impl Fn(Router<Arc<AppState>>) -> Router<Arc<AppState>>,
) -> Router<Arc<AppState>> {
    Router::new()
        .route("/files", get(files))
        .route("/files/delete", get(confirm_delete).post(delete))
        .merge(limit(Router::new().route("/files/share", get(share))))
}

fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(ServiceError::internal)
        .map_err(PageError)
}

/// The share page's choices: the value sent, its label, and its length in seconds.
const CHOICES: [(&str, &str, u64); 4] = [
    ("15m", "15 minutes", 15 * 60),
    ("1h", "1 hour", 3600),
    ("1d", "1 day", 86_400),
    ("7d", "7 days", 7 * 86_400),
];

#[derive(Debug, Deserialize)]
struct Where {
    bucket: Option<String>,
    prefix: Option<String>,
    continuation: Option<String>,
}

struct AreaView {
    name: String,
    bucket: String,
    prefix: String,
}

struct Row {
    name: String,
    key: String,
    size: String,
    modified: String,
    can_get: bool,
    can_delete: bool,
}

#[derive(Template)]
#[template(path = "files.html")]
struct FilesPage {
    nav: Nav,
    areas: Vec<AreaView>,
    bucket: String,
    prefix: String,
    parent: Option<String>,
    folders: Vec<(String, String)>,
    rows: Vec<Row>,
    next: Option<String>,
    listing: bool,
}

async fn files(
    State(state): State<Arc<AppState>>,
    PageCaller(caller): PageCaller,
    Query(w): Query<Where>,
) -> Result<Html<String>, PageError> {
    let mine = listing::areas(&state, &caller);
    let areas: Vec<AreaView> = mine
        .iter()
        .map(|a| AreaView {
            name: a.name.clone(),
            bucket: a.bucket.clone(),
            prefix: a.prefix.clone(),
        })
        .collect();
    let Some(prefix) = w.prefix else {
        return render(&FilesPage {
            nav: Nav::new(&state, Some(&caller)),
            areas,
            bucket: String::new(),
            prefix: String::new(),
            parent: None,
            folders: vec![],
            rows: vec![],
            next: None,
            listing: false,
        });
    };
    let l = listing::list(
        &state,
        &caller,
        &ListRequest {
            bucket: w.bucket.as_deref(),
            prefix: &prefix,
            delimiter: Some("/"),
            continuation: w.continuation.as_deref(),
            max_keys: 200,
        },
    )
    .await?;
    let leaf = |k: &str| k.get(prefix.len()..).unwrap_or(k).to_string();
    // The folder above, while it is still inside one of the caller's areas.
    let parent = prefix
        .trim_end_matches('/')
        .rfind('/')
        .map(|i| prefix[..=i].to_string())
        .filter(|p| {
            mine.iter()
                .any(|a| a.bucket == l.bucket && p.starts_with(&a.prefix))
        });
    render(&FilesPage {
        nav: Nav::new(&state, Some(&caller)),
        areas,
        parent,
        folders: l.folders.iter().map(|f| (leaf(f), f.clone())).collect(),
        rows: l
            .objects
            .iter()
            .map(|o| Row {
                name: leaf(&o.key),
                key: o.key.clone(),
                size: format_size(o.size),
                modified: o
                    .last_modified
                    .get(..16)
                    .unwrap_or(&o.last_modified)
                    .replace('T', " "),
                can_get: o.can_get,
                can_delete: o.can_delete,
            })
            .collect(),
        next: l.next,
        bucket: l.bucket,
        prefix,
        listing: true,
    })
}

#[derive(Debug, Deserialize)]
struct ShareQuery {
    bucket: String,
    key: String,
    expires: Option<String>,
    expires_at: Option<String>,
}

#[derive(Template)]
#[template(path = "share.html")]
struct SharePage {
    nav: Nav,
    bucket: String,
    key: String,
    name: String,
    choices: Vec<(&'static str, &'static str)>,
    longest: String,
    link: Option<String>,
    expires_at: String,
    capped: Option<&'static str>,
}

async fn share(
    State(state): State<Arc<AppState>>,
    PageCaller(caller): PageCaller,
    Query(q): Query<ShareQuery>,
) -> Result<Html<String>, PageError> {
    let rule =
        access::decide(&state.rules, &caller, Verb::Get, &q.bucket, &q.key).map_err(refused)?;
    let max = rule.max_expires;
    let choices = CHOICES
        .iter()
        .filter(|(_, _, secs)| Duration::from_secs(*secs) <= max)
        .map(|(v, l, _)| (*v, *l))
        .collect();
    let mut page = SharePage {
        nav: Nav::new(&state, Some(&caller)),
        name: q.key.rsplit('/').next().unwrap_or(&q.key).to_string(),
        bucket: q.bucket.clone(),
        key: q.key.clone(),
        choices,
        longest: format_duration(max),
        link: None,
        expires_at: String::new(),
        capped: None,
    };
    // The form sends both fields; a chosen duration wins over a date left filled in.
    let expires = q.expires.filter(|s| !s.is_empty());
    let expires_at = q.expires_at.filter(|s| !s.is_empty() && expires.is_none());
    if expires.is_some() || expires_at.is_some() {
        let p = presign_body(
            &state,
            &caller,
            &PresignBody {
                method: None,
                key: q.key,
                bucket: Some(q.bucket),
                expires: expires.map(Expires::Text),
                expires_at,
                content_type: None,
                size: None,
                response_content_disposition: None,
                response_content_type: None,
                profile: None,
                filename: None,
            },
        )?;
        page.expires_at = p
            .expires_at
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        page.capped = p.capped_by.map(|c| match c {
            Cap::Rule => "That is longer than this area allows, so the link ends sooner.",
            Cap::Credentials => {
                "The server's storage credentials end sooner, so the link ends with them."
            }
        });
        page.link = Some(p.url);
    }
    render(&page)
}

/// A token that ties a delete form to its caller and object.
fn csrf(state: &AppState, caller: &Caller, bucket: &str, key: &str) -> String {
    let mut m =
        Hmac::<Sha256>::new_from_slice(&state.state_key).expect("HMAC takes keys of any length");
    for part in ["delete", caller.user.as_str(), bucket, key] {
        m.update(part.as_bytes());
        m.update(&[0]);
    }
    hex::encode(m.finalize().into_bytes())
}

#[derive(Debug, Deserialize)]
struct Target {
    bucket: String,
    key: String,
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage {
    nav: Nav,
    bucket: String,
    key: String,
    token: String,
    folder: String,
}

fn folder_of(key: &str) -> String {
    key.rfind('/')
        .map(|i| key[..=i].to_string())
        .unwrap_or_default()
}

async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    PageCaller(caller): PageCaller,
    Query(t): Query<Target>,
) -> Result<Html<String>, PageError> {
    access::decide(&state.rules, &caller, Verb::Delete, &t.bucket, &t.key).map_err(refused)?;
    render(&DeletePage {
        nav: Nav::new(&state, Some(&caller)),
        token: csrf(&state, &caller, &t.bucket, &t.key),
        folder: folder_of(&t.key),
        bucket: t.bucket,
        key: t.key,
    })
}

#[derive(Debug, Deserialize)]
struct DeleteForm {
    bucket: String,
    key: String,
    token: String,
}

async fn delete(
    State(state): State<Arc<AppState>>,
    PageCaller(caller): PageCaller,
    Form(f): Form<DeleteForm>,
) -> Result<Response, PageError> {
    access::decide(&state.rules, &caller, Verb::Delete, &f.bucket, &f.key).map_err(refused)?;
    let expected = csrf(&state, &caller, &f.bucket, &f.key);
    if !constant_eq(expected.as_bytes(), f.token.as_bytes()) {
        return Err(ServiceError::Forbidden(
            "this delete form is not valid (it was altered or is for another account); open the file list and try again".into(),
        )
        .into());
    }
    s3::delete_object(&state.http, &state.signer, state.now(), &f.bucket, &f.key)
        .await
        .map_err(|e| ServiceError::Upstream(e.to_string()))?;
    tracing::info!(target: "signpost::audit", user = %caller.user, bucket = %f.bucket, key = %f.key, "object deleted");
    let back = format!(
        "/files?bucket={}&prefix={}",
        urlencode(&f.bucket),
        urlencode(&folder_of(&f.key))
    );
    Ok(Redirect::to(&back).into_response())
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Compares without stopping at the first difference.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
