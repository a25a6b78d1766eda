//! The HTTP face of the embedded store, in front of s3s.
//!
//! Everything s3s cannot do from inside its `S3` trait happens here: CORS
//! (preflight answered here, headers added to every response), reading a
//! POST form up to its file part, for `${filename}` and the policy (the
//! bytes read are replayed to s3s unchanged), routing form POSTs to an
//! s3s instance whose clock-skew window suits POST policies, and answering a
//! POST as S3 would: success from the [`PostOutcome`] the store hands back,
//! a failed policy condition as 403 `AccessDenied`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header;
use http::{Method, Request, Response, StatusCode};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use s3s::service::S3Service;
use s3s::Body;

use super::cors::CorsPolicy;
use super::form::{boundary, scan, Scan};
use super::respond::{policy_failure_as_s3, xml_error, PostOutcome};

/// Most bytes of form fields read before the file part (S3 caps them at 20 KB).
const MAX_FORM_PREAMBLE: usize = 64 * 1024;

/// Routes requests to s3s and adds what s3s lacks.
pub(crate) struct Frontend {
    /// s3s for everything but form POSTs (15-minute clock skew).
    pub(crate) plain: S3Service,
    /// s3s for form POSTs (a policy's `x-amz-date` may be days old).
    pub(crate) forms: S3Service,
    /// Allowed browser origins.
    pub(crate) cors: Arc<CorsPolicy>,
    /// `host:port` used when a request has no `Host` header.
    pub(crate) fallback_host: String,
}

impl Frontend {
    /// Answers one request; never fails (errors become S3 XML responses).
    pub(crate) async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        if req.method() == Method::OPTIONS {
            return Ok(self.cors.preflight(req.headers()));
        }
        let origin = req.headers().get(header::ORIGIN).cloned();
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

        let mut resp = match form_boundary {
            Some(b) => self.form_post(req, b.as_bytes()).await,
            None => call(&self.plain, req.map(Body::from)).await,
        };
        if let Some(outcome) = resp.extensions_mut().remove::<PostOutcome>() {
            resp = outcome.render(&host);
        }
        self.cors.decorate(origin.as_ref(), &mut resp);
        Ok(resp)
    }

    /// A browser form upload: learn the file's name, then let s3s verify and store.
    async fn form_post(&self, req: Request<Incoming>, boundary: &[u8]) -> Response<Body> {
        let (mut parts, mut incoming) = req.into_parts();
        let mut buf = BytesMut::new();
        let mut ended = false;
        let too_large = || {
            xml_error(
                StatusCode::BAD_REQUEST,
                "MaxPostPreDataLengthExceededError",
                "Your POST request fields preceding the upload file were too large.",
            )
        };
        let view = loop {
            match scan(&buf, boundary) {
                Scan::File(view) if view.preamble_len() > MAX_FORM_PREAMBLE => return too_large(),
                Scan::File(view) => break Some(view),
                Scan::NoFile => break None,
                Scan::NeedMore if ended => break None,
                Scan::NeedMore if buf.len() > MAX_FORM_PREAMBLE => return too_large(),
                Scan::NeedMore => {}
            }
            match std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx)).await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "reading a form upload failed");
                    return xml_error(
                        StatusCode::BAD_REQUEST,
                        "IncompleteBody",
                        "The request body ended before the form was complete.",
                    );
                }
                None => ended = true,
            }
        };
        if let Some(view) = view {
            parts.extensions.insert(view);
        }
        let body = Replayed::new(buf.freeze(), (!ended).then_some(incoming));
        let req = Request::from_parts(parts, Body::http_body(body));
        policy_failure_as_s3(call(&self.forms, req).await)
    }
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

/// A request body whose first bytes were already read: replays them, then the rest.
struct Replayed {
    head: VecDeque<Bytes>,
    rest: Option<Incoming>,
}

impl Replayed {
    fn new(head: Bytes, rest: Option<Incoming>) -> Self {
        let head = if head.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([head])
        };
        Self { head, rest }
    }
}

impl HttpBody for Replayed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(bytes) = self.head.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_empty() && self.rest.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let head: u64 = self.head.iter().map(|b| b.len() as u64).sum();
        let rest = self
            .rest
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint);
        // Built from scratch: `set_upper` panics below the current lower bound.
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower().saturating_add(head));
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(head));
        }
        hint
    }
}
