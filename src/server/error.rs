//! The server's errors. The service layer answers with a [`ServiceError`], which says what
//! went wrong in words; the JSON API turns it into an [`ApiError`] and the pages into a
//! [`PageError`], each choosing its statuses in one place. Causes are logged by
//! [`log_errors`], a layer, never by constructors, and never reach the client.

use super::auth::AuthError;
use super::nav::Nav;
use super::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde::Serialize;
use std::sync::Arc;

/// What went wrong while serving a request, in words a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The request itself is wrong (a missing or malformed value).
    #[error("{0}")]
    BadRequest(String),
    /// No valid sign-in.
    #[error("{0}")]
    Unauthorized(#[from] AuthError),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// A body over the server's limit.
    #[error("{0}")]
    TooLarge(String),
    /// Too many requests (the rate limit).
    #[error("{0}")]
    TooMany(String),
    /// The storage did not answer as expected.
    #[error("{0}")]
    Upstream(String),
    /// The server cannot sign right now (e.g. its credentials are about to expire).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the cause is logged, the client gets a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// An unexpected failure with its cause (logged, never shown).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The status and the short code of this error: the one place they are chosen.
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Upstream(_) => (StatusCode::BAD_GATEWAY, "storage_unavailable"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The words the client sees: the message, or a generic one for internal errors.
    fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => INTERNAL_MESSAGE.to_string(),
            other => other.to_string(),
        }
    }

    /// What the log layer records about this error.
    fn report(&self) -> Logged {
        let (status, code) = self.status();
        Logged {
            status,
            code,
            message: match self {
                Self::Internal(cause) => cause.clone(),
                other => other.to_string(),
            },
        }
    }
}

const INTERNAL_MESSAGE: &str =
    "something went wrong on our side; try again, and tell the operator if it keeps happening";

/// An error answered as JSON: `{"error": code, "message": words}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub ServiceError);

impl<E: Into<ServiceError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

/// An error answered as a page that says what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError(pub ServiceError);

impl<E: Into<ServiceError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

/// Attached to an error response so [`log_errors`] can log it (with the internal cause).
#[derive(Debug, Clone)]
struct Logged {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.0.status();
        let message = self.0.public_message();
        let mut resp = (
            status,
            Json(Body {
                error: code,
                message: &message,
            }),
        )
            .into_response();
        resp.extensions_mut().insert(self.0.report());
        resp
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nav: &'a Nav,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// An error page waiting for its header: [`PageError`] leaves it on the response, and
/// [`error_pages`], which sees the request, renders it with who is signed in.
#[derive(Debug, Clone)]
struct PendingPage {
    status: StatusCode,
    message: String,
}

impl PendingPage {
    fn render(&self, nav: &Nav) -> Response {
        let page = ErrorPage {
            nav,
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
        };
        match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.message.clone()).into_response(),
        }
    }
}

/// What a page says to someone who is not let in: plain words, no headers or tokens.
fn page_unauthorized(e: &AuthError) -> String {
    match e {
        AuthError::Missing(_) => {
            "you are not signed in; ask the person who runs this site how to sign in".into()
        }
        AuthError::Invalid(reason) => format!(
            "your sign-in was refused ({}); sign in again",
            reason.replace('`', "")
        ),
        AuthError::SessionEnded => "your sign-in has ended; sign in again".into(),
    }
}

/// `message` with its first letter in upper case: pages show sentences.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status();
        let message = match &self.0 {
            ServiceError::Unauthorized(e) => page_unauthorized(e),
            other => other.public_message(),
        };
        let pending = PendingPage {
            status,
            message: sentence(&message),
        };
        let mut resp = pending.render(&Nav::default());
        resp.extensions_mut().insert(pending);
        resp.extensions_mut().insert(self.0.report());
        resp
    }
}

/// The layer that gives error pages their header (who is signed in).
pub async fn error_pages(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    let Some(pending) = resp.extensions().get::<PendingPage>().cloned() else {
        return resp;
    };
    let nav = Nav::for_request(&state, &headers).await;
    let mut page = pending.render(&nav);
    // Keep what other layers need (the log record).
    if let Some(l) = resp.extensions().get::<Logged>().cloned() {
        page.extensions_mut().insert(l);
    }
    for (k, v) in resp.headers() {
        if k != http::header::CONTENT_TYPE && k != http::header::CONTENT_LENGTH {
            page.headers_mut().append(k.clone(), v.clone());
        }
    }
    page
}

/// The layer that logs errors: refusals at info, internal failures at error with their cause.
pub async fn log_errors(resp: Response) -> Response {
    if let Some(e) = resp.extensions().get::<Logged>() {
        if e.status.is_server_error() {
            tracing::error!(status = e.status.as_u16(), code = e.code, cause = %e.message, "request failed");
        } else {
            tracing::info!(status = e.status.as_u16(), code = e.code, message = %e.message, "request refused");
        }
    }
    resp
}
