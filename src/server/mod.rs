//! The upload server (`signpost serve`), in layers:
//!
//! - [`state`]: what every request shares ([`AppState`]) and the [`state::Clock`];
//! - [`config`], [`profile`], [`auth`]: the checked config, upload profiles, who is calling;
//! - [`service`]: what the server does, with no HTTP (authorize, issue forms, verify, presign);
//! - [`handlers`]: thin HTTP handlers per resource, with [`extract`]ors and [`error`]s;
//! - [`security`], [`assets`], [`s3`]: headers and limits, static files, the server's own S3 calls;
//! - [`doctor`]: `signpost doctor`, a config checked against its real S3 (no HTTP server).
//! - [`listen`]: the accept loop, with header-read and idle timeouts and a connection cap.
//!
//! `app(state)` is kept apart from [`start`] so tests drive the router without a socket.

pub mod access;
pub mod assets;
pub mod auth;
pub mod config;
pub mod content_type;
pub mod doctor;
pub mod error;
pub mod extract;
pub(crate) mod filename;
pub mod handlers;
pub mod listen;
pub mod nav;
pub mod profile;
mod run;
pub mod s3;
pub(crate) mod seal;
pub mod security;
pub mod service;
pub mod state;
pub mod testing;
pub(crate) mod upload_state;
pub(crate) mod upload_token;
pub mod verify_cmd;

pub use run::{serve, shutdown_signal, start, start_with, Running, StartOptions};
pub use state::AppState;

use axum::Router;
use config::ConfigError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// `signpost serve` options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Config file (TOML). Without one, demo profiles run on an embedded S3 store.
    #[arg(long, env = "SIGNPOST_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides the config).
    #[arg(long, env = "SIGNPOST_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where the embedded store keeps files.
    #[arg(long, env = "SIGNPOST_DATA_DIR", default_value = "signpost-data")]
    pub data_dir: PathBuf,
    /// Serve the static files (app.js, style.css) from this folder instead of the copies
    /// compiled into the binary (for working on them).
    #[arg(long, env = "SIGNPOST_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// The embedded store's access key (without `[s3]`); generated when not given.
    #[arg(long, env = "SIGNPOST_STORE_ACCESS_KEY", requires = "store_secret_key")]
    pub store_access_key: Option<String>,
    /// The embedded store's secret key (without `[s3]`); generated when not given.
    #[arg(
        long,
        env = "SIGNPOST_STORE_SECRET_KEY",
        requires = "store_access_key",
        hide_env_values = true
    )]
    pub store_secret_key: Option<String>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A config problem (names the key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Binding the address failed.
    #[error("cannot listen on {0}: {1}; pick another address with --listen")]
    Bind(SocketAddr, std::io::Error),
    /// The embedded store failed to start.
    #[error("the embedded S3 store did not start: {0}")]
    Embedded(String),
    /// Credentials could not be loaded.
    #[error("{0}")]
    Credentials(String),
}

/// The router: pages, API, the compiled-in static files, with security headers, limits and
/// request logs.
pub fn app(state: Arc<AppState>) -> Router {
    app_with_static(state, None)
}

/// The router, serving static files from `static_dir` when one is given.
pub fn app_with_static(state: Arc<AppState>, static_dir: Option<PathBuf>) -> Router {
    let limit = security::rate_limit(&state);
    let server = &state.config.server;
    let router = Router::new()
        .merge(handlers::pages::router(limit.clone()))
        .merge(handlers::uploaded::router(limit.clone()))
        .merge(handlers::files::router(limit.clone()))
        .merge(handlers::session::router())
        .merge(handlers::api::router(&state, limit))
        .merge(assets::router(static_dir))
        .fallback(handlers::pages::not_found);
    // Completing a multipart upload takes a longer body (up to 10 000 parts) and may wait
    // for S3 to assemble a large object.
    let complete = security::api_cors(handlers::companion::complete_route(), &state);
    let router =
        security::limits(router, server.max_body, server.request_timeout).merge(security::limits(
            complete,
            handlers::companion::COMPLETE_MAX_BODY as u64,
            server
                .request_timeout
                .max(s3::multipart::COMPLETE_WAIT + std::time::Duration::from_secs(10)),
        ));
    security::apply(router, &state).with_state(state)
}
