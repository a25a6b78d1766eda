//! The server's one error type. Every status is chosen here; the client gets a plain message
//! (JSON for the API, a page for browsers) and the log gets the cause.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde::Serialize;

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short machine-readable code.
    pub code: &'static str,
    /// What went wrong and what to do, in words.
    pub message: String,
    /// Render as an HTML page rather than JSON.
    pub page: bool,
}

macro_rules! ctor {
    ($name:ident, $status:ident, $code:literal) => {
        #[doc = concat!("A `", $code, "` error.")]
        pub fn $name(message: impl Into<String>) -> Self {
            Self {
                status: StatusCode::$status,
                code: $code,
                message: message.into(),
                page: false,
            }
        }
    };
}

impl AppError {
    ctor!(bad_request, BAD_REQUEST, "bad_request");
    ctor!(unauthorized, UNAUTHORIZED, "unauthorized");
    ctor!(forbidden, FORBIDDEN, "forbidden");
    ctor!(not_found, NOT_FOUND, "not_found");
    ctor!(too_many, TOO_MANY_REQUESTS, "rate_limited");
    ctor!(upstream, BAD_GATEWAY, "storage_unavailable");

    /// Answer as an HTML page.
    #[must_use]
    pub fn page(mut self) -> Self {
        self.page = true;
        self
    }

    /// Logs an internal cause and answers a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "something went wrong on our side; try again, and tell the operator if it keeps happening".into(),
            page: false,
        }
    }
}

impl From<super::auth::AuthError> for AppError {
    fn from(e: super::auth::AuthError) -> Self {
        AppError::unauthorized(e.to_string())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Status code.
    pub status: u16,
    /// Status words.
    pub reason: &'a str,
    /// The message.
    pub message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::info!(status = self.status.as_u16(), code = self.code, message = %self.message, "request refused");
        }
        if self.page {
            let mut chars = self.message.chars();
            let sentence: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            let page = ErrorPage {
                status: self.status.as_u16(),
                reason: self.status.canonical_reason().unwrap_or("Error"),
                message: &sentence,
            };
            match page.render() {
                Ok(html) => (self.status, Html(html)).into_response(),
                Err(_) => (self.status, self.message).into_response(),
            }
        } else {
            (
                self.status,
                Json(Body {
                    error: self.code,
                    message: &self.message,
                }),
            )
                .into_response()
        }
    }
}
