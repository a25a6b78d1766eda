//! Extractors: a handler that needs a signed-in caller says so in its signature ([`Caller`] for
//! the API, [`PageCaller`] for pages), and JSON bodies come through [`ApiJson`], whose rejection
//! is the API's own error.

use super::auth::{AuthError, Caller};
use super::error::{ApiError, PageError, ServiceError};
use super::security::Authenticated;
use super::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use http::StatusCode;
use serde::de::DeserializeOwned;
use std::sync::Arc;

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(authenticated(parts, state)?)
    }
}

/// The caller, as the request's one authentication found it (see
/// `security::authenticate_once`), or by authenticating now when it did not run.
pub(crate) fn authenticated(parts: &Parts, state: &AppState) -> Result<Caller, AuthError> {
    match parts.extensions.get::<Authenticated>() {
        Some(Authenticated(result)) => result.clone(),
        None => state.auth.authenticate(&parts.headers),
    }
}

/// The caller of a page: a refusal is answered with a page.
#[derive(Debug, Clone)]
pub struct PageCaller(pub Caller);

impl FromRequestParts<Arc<AppState>> for PageCaller {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(PageCaller(authenticated(parts, state)?))
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
