//! Security around every response: a strict CSP (no inline script or style), nosniff,
//! Referrer-Policy and frame-ancestors; body limits, timeouts, request logs, and the
//! per-caller rate limit on signing routes.

use super::auth::{AuthError, Caller};
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
use tower_http::trace::TraceLayer;

/// The origin (`scheme://host[:port]`) of a URL, or the URL itself when it has none.
pub fn origin(url: &str) -> String {
    crate::wire::origin(url).unwrap_or_else(|| url.to_string())
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
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: {s3}; connect-src 'self' {s3}; \
         form-action 'self' {forms}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// What authenticating a request gave, kept in its extensions so the rate limit and the
/// handlers authenticate each request once.
#[derive(Clone, Debug)]
pub(crate) struct Authenticated(pub(crate) Result<Caller, AuthError>);

/// Authenticates every request once, before the rate limit and the handlers.
async fn authenticate_once(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let result = state.auth.authenticate(req.headers(), state.now()).await;
    req.extensions_mut().insert(Authenticated(result));
    next.run(req).await
}

/// Rate-limit key: a signed-in caller's own bucket; anyone else (no token, or a token that
/// does not verify) shares its IP address's, so made-up tokens cannot add entries.
#[derive(Clone)]
struct CallerKey;

impl KeyExtractor for CallerKey {
    type Key = String;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        if let Some(Authenticated(Ok(caller))) = req.extensions().get::<Authenticated>() {
            if !caller.all_roles {
                return Ok(format!("u:{}", caller.user));
            }
        }
        Ok(req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| format!("ip:{}", c.0.ip()))
            .unwrap_or_else(|| "ip:local".into()))
    }
}

/// How often stale rate-limit entries are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The per-caller rate limit on every route that signs: one limiter shared by all of them,
/// applied to a router by the returned function (which leaves it as it is when the config
/// has no limit). Entries of callers who have been quiet are dropped every minute.
pub fn rate_limit(
    state: &AppState,
) -> impl Fn(Router<Arc<AppState>>) -> Router<Arc<AppState>> + Clone {
    let layer = state.config.server.rate_limit.and_then(|limit| {
        let period = Duration::from_nanos(1_000_000_000 / limit.per_second.max(1));
        let conf = GovernorConfigBuilder::default()
            .period(period)
            .burst_size(limit.burst)
            .key_extractor(CallerKey)
            .finish()?;
        let limiter = Arc::downgrade(conf.limiter());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                loop {
                    tokio::time::sleep(FORGET_EVERY).await;
                    let Some(l) = limiter.upgrade() else { return };
                    l.retain_recent();
                    l.shrink_to_fit();
                }
            });
        }
        Some(GovernorLayer::new(conf).error_handler(too_many))
    });
    move |router| match &layer {
        Some(l) => router.layer(l.clone()),
        None => router,
    }
}

/// The 429 answer, with a Retry-After that never invites an immediate, refused retry.
fn too_many(e: GovernorError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let wait = match &e {
        // governor truncates the wait to whole seconds (0 for any wait under 1 s).
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
            .allow_methods([http::Method::GET, http::Method::POST, http::Method::DELETE])
            .allow_headers([http::header::CONTENT_TYPE, http::header::AUTHORIZATION])
            .allow_credentials(true),
    )
}

/// The `Host` values a demo (no sign-in) answers to: its public URL's, and the loopback
/// names for the same port when it listens on loopback.
fn demo_hosts(public_url: &str) -> Vec<String> {
    let Ok(uri) = public_url.parse::<http::Uri>() else {
        return vec![];
    };
    let Some(a) = uri.authority() else {
        return vec![];
    };
    let mut hosts = vec![a.as_str().to_ascii_lowercase()];
    let loopback = matches!(a.host(), "127.0.0.1" | "localhost" | "[::1]");
    if let (true, Some(port)) = (loopback, a.port_u16()) {
        for h in ["127.0.0.1", "localhost", "[::1]"] {
            hosts.push(format!("{h}:{port}"));
            // A loopback name with no port can only come from this machine's own clients.
            hosts.push(h.to_string());
        }
    }
    hosts
}

/// In the demo (no sign-in), answers only requests for its own host: a page on another
/// site that rebinds its DNS name to 127.0.0.1 gets 421, not the demo.
async fn demo_host_only(
    axum::extract::State(allowed): axum::extract::State<Arc<Vec<String>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    match host {
        // Health checks come from load balancers under any name; they reveal nothing.
        Some(h) if !allowed.contains(&h) && req.uri().path() != "/healthz" => (
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this signpost demo answers only for {}; open it at that address",
                allowed
                    .first()
                    .map(String::as_str)
                    .unwrap_or("its own address")
            ),
        )
            .into_response(),
        _ => next.run(req).await,
    }
}

/// A body limit and a timeout on `router`'s routes.
pub fn limits(
    router: Router<Arc<AppState>>,
    max_body: u64,
    timeout: Duration,
) -> Router<Arc<AppState>> {
    router
        .layer(RequestBodyLimitLayer::new(
            usize::try_from(max_body).unwrap_or(usize::MAX),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
}

/// Wraps the whole router in headers and logs (body limits and timeouts are set per route
/// group with [`limits`]).
pub fn apply(router: Router<Arc<AppState>>, state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        authenticate_once,
    ));
    let router = if state.auth.required() {
        router
    } else {
        router.layer(axum::middleware::from_fn_with_state(
            Arc::new(demo_hosts(&state.public_url)),
            demo_host_only,
        ))
    };
    let csp = HeaderValue::from_str(&state.csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::error::error_pages,
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
                .make_span_with(route_span)
                .on_request(())
                .on_response(
                    |resp: &http::Response<_>, latency: std::time::Duration, _: &tracing::Span| {
                        tracing::debug!(
                            target: "signpost::access",
                            status = resp.status().as_u16(),
                            latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
                            "request"
                        );
                    },
                ),
        )
}

/// A request's span names its route (`/uploaded/{state}`), never its path or query, so
/// sealed states, keys and tokens in URLs stay out of the logs. Routine requests log at
/// debug, as the access log (`RUST_LOG=info,signpost::access=debug`); refusals and failures
/// are logged by [`log_errors`].
fn route_span<B>(req: &Request<B>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", |m| m.as_str());
    tracing::debug_span!(target: "signpost::access", "request", method = %req.method(), route)
}
