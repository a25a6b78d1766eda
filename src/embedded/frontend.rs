//! The HTTP face of the embedded store, in front of s3s.
//!
//! Everything s3s cannot do from inside its `S3` trait happens here: CORS
//! (preflights answered here, headers added to every response, see `cors`)
//! and POST object (form uploads handled by `post`, never by s3s).

use std::convert::Infallible;
use std::sync::Arc;

use http::header;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::Body;

use super::cors::Cors;
use super::post::{boundary, PostObject};
use super::respond::xml_error;

/// Routes requests to s3s and adds what s3s lacks.
pub(crate) struct Frontend {
    /// s3s over the guarded file store.
    pub(crate) s3: S3Service,
    /// Form uploads.
    pub(crate) post: PostObject,
    /// Bucket rules and configured origins.
    pub(crate) cors: Arc<Cors>,
    /// `host:port` used when a request has no `Host` header.
    pub(crate) fallback_host: String,
}

impl Frontend {
    /// Answers one request; never fails (errors become S3 XML responses).
    pub(crate) async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        let bucket = bucket_of(req.uri().path());
        if req.method() == Method::OPTIONS {
            return Ok(self.cors.preflight(bucket.as_deref(), req.headers()).await);
        }
        // Kept only for CORS, and only when the request is cross-origin.
        let cors_request = req
            .headers()
            .contains_key(header::ORIGIN)
            .then(|| (req.method().clone(), req.headers().clone()));
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(ToString::to_string)) // HTTP/2
            .unwrap_or_else(|| self.fallback_host.clone());

        let form_boundary = (req.method() == Method::POST)
            .then(|| req.headers().get(header::CONTENT_TYPE))
            .flatten()
            .and_then(|ct| ct.to_str().ok())
            .and_then(boundary);

        let mut resp = match (form_boundary, bucket.as_deref()) {
            (Some(b), Some(bucket)) => self.post.handle(req.into_body(), b, bucket, &host).await,
            _ => call(&self.s3, req.map(Body::from)).await,
        };
        if let Some((method, headers)) = cors_request {
            self.cors
                .decorate(bucket.as_deref(), &method, &headers, &mut resp)
                .await;
        }
        Ok(resp)
    }
}

/// The bucket of a path-style request: the first path segment, if any.
fn bucket_of(path: &str) -> Option<String> {
    let first = path.trim_start_matches('/').split('/').next()?;
    (!first.is_empty()).then(|| first.to_owned())
}

/// Runs s3s, turning its rare transport-level error into a 500.
async fn call(s3: &S3Service, req: Request<Body>) -> Response<Body> {
    match s3.call(req).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = ?e, "s3s failed to answer");
            xml_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_is_the_first_segment() {
        assert_eq!(bucket_of("/b/k/x").as_deref(), Some("b"));
        assert_eq!(bucket_of("/b").as_deref(), Some("b"));
        assert_eq!(bucket_of("/"), None);
    }
}
