//! CORS for the embedded store.
//!
//! s3s answers no CORS at all. Two sources of rules, in this order:
//! - the bucket's own rules (PutBucketCors, see [`rules`]), matched as S3
//!   matches them;
//! - the origins the store was started with (signpost's own pages in the
//!   demo), answered by tower-http's `CorsLayer`: every method the demo uses,
//!   any requested header, `ETag` and `Location` exposed.
//!
//! A preflight neither allows is refused with S3's 403 `AccessForbidden`.

pub(crate) mod rules;

use std::convert::Infallible;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tower::{Layer as _, ServiceExt as _};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use self::rules::CorsRule;
use super::buckets::Buckets;
use super::respond::xml_error;

/// Methods the configured origins may use.
const DEMO_METHODS: [Method; 5] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::HEAD,
    Method::DELETE,
];
/// Response headers the configured origins may read (named as S3 names them;
/// tower-http would lowercase them, and S3 lists them on preflights too).
const DEMO_EXPOSED: &str = "ETag, Location, x-amz-request-id, x-amz-version-id";
/// How long a browser may cache a preflight answer (S3's usual 3000 s).
const DEMO_MAX_AGE: Duration = Duration::from_secs(3000);

/// The store's CORS: bucket rules, then the configured origins.
#[derive(Debug)]
pub(crate) struct Cors {
    origins: RwLock<Vec<String>>,
    buckets: Arc<Buckets>,
}

impl Cors {
    /// CORS allowing `origins` ("*" allows any) on every bucket, and each bucket's own rules.
    pub(crate) fn new(origins: Vec<String>, buckets: Arc<Buckets>) -> Self {
        let cors = Self {
            origins: RwLock::new(Vec::new()),
            buckets,
        };
        cors.set(origins);
        cors
    }

    /// Replaces the configured origins.
    pub(crate) fn set(&self, origins: Vec<String>) {
        let normalized = origins
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        *self.origins.write().unwrap_or_else(PoisonError::into_inner) = normalized;
    }

    /// Answers a preflight `OPTIONS` request for `bucket` (never forwarded to s3s).
    pub(crate) async fn preflight<B: From<String>>(
        &self,
        bucket: Option<&str>,
        headers: &HeaderMap,
    ) -> Response<B> {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let Some(origin) = origin else {
            return xml_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Insufficient information. Origin request header needed.",
            );
        };
        let method = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| m.to_str().ok());
        let Some(method) = method else {
            return xml_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Invalid Access-Control-Request-Method: null",
            );
        };
        let requested: Vec<&str> = headers
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        if let Some(rules) = bucket.and_then(|b| self.buckets.cors(b)) {
            if let Some(rule) = rules::for_preflight(&rules, origin, method, &requested) {
                let mut resp = Response::new(B::from(String::new()));
                rule_headers(rule, origin, resp.headers_mut());
                let h = resp.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    joined(&rule.allowed_methods),
                );
                if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
                }
                if let Some(age) = rule.max_age_seconds {
                    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
                }
                return resp;
            }
        }
        let demo_method = method
            .parse::<Method>()
            .is_ok_and(|m| DEMO_METHODS.contains(&m));
        if demo_method {
            let demo = self.demo_headers(Method::OPTIONS, headers).await;
            if demo.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
                let mut resp = Response::new(B::from(String::new()));
                resp.headers_mut().extend(demo);
                return resp;
            }
        }
        xml_error(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        )
    }

    /// Adds CORS headers to an actual response when its origin is allowed.
    pub(crate) async fn decorate<B>(
        &self,
        bucket: Option<&str>,
        method: &Method,
        headers: &HeaderMap,
        resp: &mut Response<B>,
    ) {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            return;
        };
        if let Some(rules) = bucket.and_then(|b| self.buckets.cors(b)) {
            if let Some(rule) = rules::for_request(&rules, origin, method.as_str()) {
                rule_headers(rule, origin, resp.headers_mut());
                return;
            }
        }
        let demo = self.demo_headers(method.clone(), headers).await;
        if demo.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            let h = resp.headers_mut();
            for (name, value) in &demo {
                if name == header::VARY {
                    h.append(name, value.clone());
                } else {
                    h.insert(name, value.clone());
                }
            }
        }
    }

    /// The headers tower-http's `CorsLayer` gives this request for the configured origins.
    async fn demo_headers(&self, method: Method, headers: &HeaderMap) -> HeaderMap {
        let Some(layer) = self.demo_layer() else {
            return HeaderMap::new();
        };
        let service = layer.layer(tower::service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(()))
        }));
        let mut req = Request::new(());
        *req.method_mut() = method;
        *req.headers_mut() = headers.clone();
        let mut out = match service.oneshot(req).await {
            Ok(resp) => resp.into_parts().0.headers,
            Err(never) => match never {},
        };
        if out.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            out.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(DEMO_EXPOSED),
            );
        }
        out
    }

    fn demo_layer(&self) -> Option<CorsLayer> {
        let origins = self
            .origins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if origins.is_empty() {
            return None;
        }
        let layer = CorsLayer::new()
            .allow_methods(DEMO_METHODS)
            .allow_headers(AllowHeaders::mirror_request())
            .max_age(DEMO_MAX_AGE);
        Some(if origins.iter().any(|o| o == "*") {
            layer.allow_origin(AllowOrigin::any())
        } else {
            layer
                .allow_origin(AllowOrigin::predicate(move |origin, _| {
                    origin
                        .to_str()
                        .is_ok_and(|o| origins.iter().any(|x| x.eq_ignore_ascii_case(o)))
                }))
                .allow_credentials(true)
        })
    }
}

/// The headers a matching bucket rule puts on a preflight or actual response.
fn rule_headers(rule: &CorsRule, origin: &str, h: &mut HeaderMap) {
    if rule.any_origin() {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    } else if let Ok(o) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if !rule.expose_headers.is_empty() {
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            joined(&rule.expose_headers),
        );
    }
    h.append(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        ),
    );
}

fn joined(items: &[String]) -> HeaderValue {
    HeaderValue::from_str(&items.join(", ")).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn cors(origins: &[&str]) -> (Cors, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let buckets = Arc::new(Buckets::open(dir.path()).await.expect("open"));
        let origins = origins.iter().map(|o| (*o).to_owned()).collect();
        (Cors::new(origins, buckets), dir)
    }

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

    #[tokio::test]
    async fn configured_origin_allowed_other_refused() {
        let (p, _dir) = cors(&["http://127.0.0.1:8080/"]).await;
        let ok: Response<String> = p
            .preflight(
                Some("b"),
                &preflight_headers("http://127.0.0.1:8080", "POST"),
            )
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://127.0.0.1:8080"
        );
        let no: Response<String> = p
            .preflight(Some("b"), &preflight_headers("http://evil.example", "POST"))
            .await;
        assert_eq!(no.status(), StatusCode::FORBIDDEN);
        assert!(no
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        let patch: Response<String> = p
            .preflight(
                Some("b"),
                &preflight_headers("http://127.0.0.1:8080", "PATCH"),
            )
            .await;
        assert_eq!(patch.status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn star_allows_any_without_credentials() {
        let (p, _dir) = cors(&["*"]).await;
        let mut resp = Response::new(String::new());
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static("http://x.example"));
        p.decorate(Some("b"), &Method::GET, &h, &mut resp).await;
        assert_eq!(resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(resp
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none());
    }

    #[tokio::test]
    async fn bucket_rules_answer_for_their_bucket_only() {
        let (p, _dir) = cors(&[]).await;
        let rule = CorsRule {
            allowed_origins: vec!["http://app.example".into()],
            allowed_methods: vec!["PUT".into()],
            allowed_headers: vec!["*".into()],
            expose_headers: vec!["ETag".into()],
            ..CorsRule::default()
        };
        p.buckets.put_cors("b", vec![rule]).await.expect("put");
        let ok: Response<String> = p
            .preflight(Some("b"), &preflight_headers("http://app.example", "PUT"))
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_ALLOW_METHODS], "PUT");
        let other_bucket: Response<String> = p
            .preflight(Some("c"), &preflight_headers("http://app.example", "PUT"))
            .await;
        assert_eq!(other_bucket.status(), StatusCode::FORBIDDEN);
        let other_method: Response<String> = p
            .preflight(
                Some("b"),
                &preflight_headers("http://app.example", "DELETE"),
            )
            .await;
        assert_eq!(other_method.status(), StatusCode::FORBIDDEN);
    }
}
