//! Security around every response: a strict CSP (no inline script or style), nosniff,
//! Referrer-Policy and frame-ancestors; body limits, timeouts, request logs, and the
//! per-caller rate limit on signing routes.

use super::config::Config;
use super::error::{log_errors, ApiError, ServiceError};
use super::AppState;
use crate::Signer;
use axum::Router;
use http::{HeaderValue, Request, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The origin (`scheme://host[:port]`) of a URL.
pub fn origin(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(u) => match (u.scheme_str(), u.authority()) {
            (Some(s), Some(a)) => format!("{s}://{a}"),
            _ => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// The Content-Security-Policy: scripts and styles only from this server; forms, XHR and
/// images may also reach the profiles' S3 origins, and forms the sign-in service's origins
/// (signing out posts here, then redirects there, and `form-action` governs that redirect).
pub fn csp(config: &Config, signer: &Signer, sign_in: &[String]) -> String {
    let mut s3: Vec<String> = config
        .profiles
        .iter()
        .map(|p| origin(&signer.endpoint().bucket_url(&p.bucket, signer.region())))
        .collect();
    s3.sort();
    s3.dedup();
    let mut forms = s3.clone();
    forms.extend(sign_in.iter().cloned());
    forms.sort();
    forms.dedup();
    let s3 = s3.join(" ");
    let forms = forms.join(" ");
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: {s3}; connect-src 'self' {s3}; \
         form-action 'self' {forms}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Rate-limit key: the caller's token hash when there is one, else the peer address.
#[derive(Clone)]
struct CallerKey(Arc<AppState>);

impl KeyExtractor for CallerKey {
    type Key = String;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        if let Some(h) = self.0.auth.rate_key(req.headers()) {
            return Ok(hex::encode(h));
        }
        Ok(req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "local".into()))
    }
}

/// Adds the rate limit (if configured) to the signing routes.
pub fn rate_limited(router: Router<Arc<AppState>>, state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let Some(limit) = state.config.server.rate_limit else {
        return router;
    };
    let period = Duration::from_nanos(1_000_000_000 / limit.per_second.max(1));
    let Some(conf) = GovernorConfigBuilder::default()
        .period(period)
        .burst_size(limit.burst)
        .key_extractor(CallerKey(state.clone()))
        .finish()
    else {
        return router;
    };
    let layer = GovernorLayer::new(conf).error_handler(|e| {
        use axum::response::IntoResponse;
        let wait = match &e {
            // governor truncates the wait to whole seconds (0 for any wait under 1 s);
            // round up so Retry-After never invites an immediate, refused retry.
            GovernorError::TooManyRequests { wait_time, .. } => wait_time.saturating_add(1),
            _ => 1,
        };
        let mut resp = ApiError(ServiceError::TooMany(format!(
            "too many signing requests; wait {wait} s and try again"
        )))
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        resp
    });
    router.layer(layer)
}

/// Lets the configured other origins call the API from their pages (CORS); none by default.
pub fn api_cors(router: Router<Arc<AppState>>, state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let origins: Vec<HeaderValue> = state
        .config
        .server
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([http::Method::GET, http::Method::POST])
            .allow_headers([http::header::CONTENT_TYPE, http::header::AUTHORIZATION])
            .allow_credentials(true),
    )
}

/// Wraps the whole router in headers, limits, timeouts and logs.
pub fn apply(router: Router<Arc<AppState>>, state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let csp = HeaderValue::from_str(&state.csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::error::error_pages,
        ))
        .layer(RequestBodyLimitLayer::new(
            usize::try_from(state.config.server.max_body).unwrap_or(usize::MAX),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.server.request_timeout,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            http::header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            http::header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            http::header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(axum::middleware::map_response(log_errors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}
