//! CORS for the embedded store.
//!
//! s3s answers no CORS at all, yet the whole point of the store is a browser
//! posting a form to it from another origin (the signpost web page). This
//! module answers preflight `OPTIONS` requests itself and decorates actual
//! responses, the way S3 does for a bucket CORS rule that allows the
//! configured origins, every method the demo uses, any request header, and
//! exposes `ETag` and `Location`.

use std::sync::{PoisonError, RwLock};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use super::respond::xml_error;

/// Methods a preflight may ask for.
const ALLOWED_METHODS: &str = "GET, PUT, POST, HEAD, DELETE";
/// Response headers a page script may read.
const EXPOSED_HEADERS: &str = "ETag, Location, x-amz-request-id, x-amz-version-id";
/// How long a browser may cache a preflight answer, in seconds (S3's usual 3000).
const MAX_AGE: &str = "3000";

/// Origins allowed to talk to the store; may change while it runs.
#[derive(Debug, Default)]
pub(crate) struct CorsPolicy {
    origins: RwLock<Vec<String>>,
}

/// What `Access-Control-Allow-Origin` should say for an allowed origin.
enum Allowed {
    /// `*` was configured: answer `*` and never allow credentials.
    Any,
    /// The request's own origin was configured.
    Exact(HeaderValue),
}

impl CorsPolicy {
    /// A policy allowing exactly `origins` ("*" allows any).
    pub(crate) fn new(origins: Vec<String>) -> Self {
        let policy = Self::default();
        policy.set(origins);
        policy
    }

    /// Replaces the allowed origins.
    pub(crate) fn set(&self, origins: Vec<String>) {
        let normalized = origins
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        *self.origins.write().unwrap_or_else(PoisonError::into_inner) = normalized;
    }

    fn allowed(&self, origin: &HeaderValue) -> Option<Allowed> {
        let origin_str = origin.to_str().ok()?;
        let origins = self.origins.read().unwrap_or_else(PoisonError::into_inner);
        if origins.iter().any(|o| o == "*") {
            return Some(Allowed::Any);
        }
        origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin_str))
            .then(|| Allowed::Exact(origin.clone()))
    }

    /// Answers a preflight `OPTIONS` request (never forwarded to s3s).
    pub(crate) fn preflight<B: From<String>>(&self, headers: &HeaderMap) -> Response<B> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return xml_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Insufficient information. Origin request header needed.",
            );
        };
        let Some(method) = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) else {
            return xml_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Invalid Access-Control-Request-Method: null",
            );
        };
        let method_ok = method
            .to_str()
            .ok()
            .and_then(|m| m.parse::<Method>().ok())
            .is_some_and(|m| {
                [
                    Method::GET,
                    Method::PUT,
                    Method::POST,
                    Method::HEAD,
                    Method::DELETE,
                ]
                .contains(&m)
            });
        let allowed = self.allowed(origin);
        let Some(allowed) = allowed.filter(|_| method_ok) else {
            return xml_error(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                "CORSResponse: This CORS request is not allowed.",
            );
        };

        let mut resp: Response<B> = Response::new(B::from(String::new()));
        let h = resp.headers_mut();
        allow_origin(h, allowed);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
        h.append(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
            ),
        );
        resp
    }

    /// Adds CORS headers to an actual response when the request's origin is allowed.
    pub(crate) fn decorate<B>(&self, origin: Option<&HeaderValue>, resp: &mut Response<B>) {
        let Some(allowed) = origin.and_then(|o| self.allowed(o)) else {
            return;
        };
        let h = resp.headers_mut();
        allow_origin(h, allowed);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

fn allow_origin(h: &mut HeaderMap, allowed: Allowed) {
    match allowed {
        Allowed::Any => {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        Allowed::Exact(origin) => {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preflight_headers(origin: &str, method: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ORIGIN,
            HeaderValue::from_str(origin).expect("origin"),
        );
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_str(method).expect("method"),
        );
        h
    }

    #[test]
    fn exact_origin_allowed_other_refused() {
        let p = CorsPolicy::new(vec!["http://127.0.0.1:8080/".into()]);
        let ok: Response<String> = p.preflight(&preflight_headers("http://127.0.0.1:8080", "POST"));
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://127.0.0.1:8080"
        );
        let no: Response<String> = p.preflight(&preflight_headers("http://evil.example", "POST"));
        assert_eq!(no.status(), StatusCode::FORBIDDEN);
        assert!(no
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        let bad_method: Response<String> =
            p.preflight(&preflight_headers("http://127.0.0.1:8080", "PATCH"));
        assert_eq!(bad_method.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn star_allows_any_without_credentials() {
        let p = CorsPolicy::new(vec!["*".into()]);
        let mut resp = Response::new(String::new());
        p.decorate(
            Some(&HeaderValue::from_static("http://x.example")),
            &mut resp,
        );
        assert_eq!(resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(resp
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none());
    }

    #[test]
    fn origins_can_change() {
        let p = CorsPolicy::new(vec![]);
        let o = HeaderValue::from_static("http://127.0.0.1:9000");
        assert!(p.allowed(&o).is_none());
        p.set(vec!["http://127.0.0.1:9000".into()]);
        assert!(p.allowed(&o).is_some());
    }
}
