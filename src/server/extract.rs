//! Extractors: a handler that needs a signed-in caller says so in its signature ([`Caller`] for
//! the API, whose refusal is a 401 JSON; [`PageCaller`] for pages, whose refusal sends a
//! browser to sign in), and JSON bodies come through [`ApiJson`], whose rejection
//! is the API's own error.

use super::auth::session;
use super::auth::{AuthError, Caller};
use super::error::{ApiError, PageError, ServiceError};
use super::security::Authenticated;
use super::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::HeaderValue;
use http::StatusCode;
use serde::de::DeserializeOwned;
use std::sync::Arc;

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(authenticated(parts, state).await?)
    }
}

/// The caller, as the request's one authentication found it (see
/// `security::authenticate_once`), or by authenticating now when it did not run.
pub(crate) async fn authenticated(parts: &Parts, state: &AppState) -> Result<Caller, AuthError> {
    match parts.extensions.get::<Authenticated>() {
        Some(Authenticated(result)) => result.clone(),
        None => state.auth.authenticate(&parts.headers, state.now()).await,
    }
}

/// The caller of a page. Someone who is not signed in is sent to sign in (OpenID mode) and
/// comes back to this page afterwards; other refusals are answered with a page.
#[derive(Debug, Clone)]
pub struct PageCaller(pub Caller);

/// Why a page was not shown.
#[derive(Debug)]
pub enum PageRefusal {
    /// Sign in first, then come back to `next`; `clear` drops a session that has ended.
    SignIn {
        /// The page to come back to (a local path).
        next: String,
        /// Remove the session cookie (it was altered or has expired).
        clear: bool,
        /// The cookie needs `Secure` (the server is on https).
        secure: bool,
    },
    /// Any other refusal, as a page.
    Page(PageError),
}

impl IntoResponse for PageRefusal {
    fn into_response(self) -> Response {
        match self {
            PageRefusal::Page(e) => e.into_response(),
            PageRefusal::SignIn {
                next,
                clear,
                secure,
            } => {
                let to = format!(
                    "/login?next={}",
                    percent_encoding::utf8_percent_encode(
                        &next,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                let mut resp = Redirect::to(&to).into_response();
                resp.headers_mut().insert(
                    http::header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                );
                if clear {
                    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(
                        session::SESSION_COOKIE,
                        "/",
                        secure,
                    )) {
                        resp.headers_mut().append(http::header::SET_COOKIE, v);
                    }
                }
                resp
            }
        }
    }
}

impl FromRequestParts<Arc<AppState>> for PageCaller {
    type Rejection = PageRefusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match authenticated(parts, state).await {
            Ok(c) => Ok(PageCaller(c)),
            Err(e) if state.auth.oidc().is_some() && parts.method == http::Method::GET => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                Err(PageRefusal::SignIn {
                    next: session::local_path(Some(&next)),
                    clear: e == AuthError::SessionEnded,
                    secure: state.secure_cookies(),
                })
            }
            Err(e) => Err(PageRefusal::Page(e.into())),
        }
    }
}

/// A JSON body; a malformed one is a 400 that shows the expected shape, an oversize one a 413.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// What a JSON body should look like, for the 400 message.
pub trait JsonExample {
    /// An example body, e.g. `{"filename": "me.png", …}`.
    const EXAMPLE: &'static str;
}

impl<T> FromRequest<Arc<AppState>> for ApiJson<T>
where
    T: DeserializeOwned + JsonExample,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_rejection(&e, T::EXAMPLE).into()),
        }
    }
}

fn json_rejection(e: &JsonRejection, example: &str) -> ServiceError {
    // A body over server.max_body read without a Content-Length: keep the 413.
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ServiceError::TooLarge(format!(
            "the request body is too large; send only {example}"
        ));
    }
    ServiceError::BadRequest(format!(
        "the body must be JSON like {example} ({})",
        e.body_text()
    ))
}
