//! The upload server: pages, the signing API, profiles, access control, and the embedded S3
//! store so `signpost serve` works with no setup. `app(state)` is kept apart from `serve` so
//! tests drive the router without a socket.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod pages;
pub mod s3;
pub mod security;
pub mod upload_state;

use crate::embedded::{EmbeddedConfig, EmbeddedS3};
use crate::profile::Profile;
use crate::{Credentials, Endpoint, Signer};
use auth::Authenticator;
use axum::Router;
use config::{Config, ConfigError, CredentialSource};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The region the embedded store answers to, and the server signs for.
const EMBEDDED_REGION: &str = "us-east-1";

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
    /// Folder of the static files (app.js, style.css).
    #[arg(long, env = "SIGNPOST_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A config problem (names the key).
    #[error("{0}")]
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

/// Everything a request handler needs.
pub struct AppState {
    /// The checked config.
    pub config: Config,
    /// Signs forms and URLs.
    pub signer: Signer,
    /// Where temporary credentials are renewed from, if they are.
    #[cfg_attr(not(feature = "aws-chain"), allow(dead_code))]
    refresher: Option<Refresher>,
    /// Authenticates callers.
    pub auth: Authenticator,
    /// The key sealing upload states.
    pub state_key: Vec<u8>,
    /// The server's public base URL, no trailing slash.
    pub public_url: String,
    /// Client for the server's own S3 calls.
    pub http: reqwest::Client,
    /// The Content-Security-Policy header value.
    pub csp: String,
}

impl AppState {
    /// Looks up a profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.config.profiles.iter().find(|p| p.name == name)
    }

    /// Builds the state: credentials, signer, authenticator.
    pub async fn new(
        config: Config,
        public_url: String,
        embedded: Option<(&str, Credentials)>,
    ) -> Result<Self, ServeError> {
        let mut refresher = None;
        let signer = match (&config.s3, embedded) {
            (_, Some((endpoint, creds))) => {
                let ep = Endpoint::custom(endpoint, true)
                    .map_err(|e| ServeError::Embedded(e.to_string()))?;
                Signer::new(creds, EMBEDDED_REGION, ep)
            }
            (Some(s3), None) => {
                let (creds, chain) = load_credentials(&s3.credentials).await?;
                refresher = chain;
                let ep = match &s3.endpoint {
                    Some(e) => Endpoint::custom(e, s3.path_style).map_err(|e| ConfigError {
                        key: "s3.endpoint".into(),
                        message: e.to_string(),
                    })?,
                    None => Endpoint::aws().with_path_style(s3.path_style),
                };
                Signer::new(creds, &s3.region, ep)
            }
            (None, None) => {
                return Err(ServeError::Embedded(
                    "no [s3] section and no embedded store".into(),
                ))
            }
        };
        let auth = Authenticator::new(&config.auth)?;
        let state_key = match &config.state_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => uuid::Uuid::new_v4()
                .as_bytes()
                .iter()
                .chain(uuid::Uuid::new_v4().as_bytes())
                .copied()
                .collect(),
        };
        let csp = security::csp(&config, &signer);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| ServeError::Embedded(e.to_string()))?;
        let public_url = public_url.trim_end_matches('/').to_string();
        Ok(Self {
            config,
            signer,
            refresher,
            auth,
            state_key,
            public_url,
            http,
            csp,
        })
    }
}

/// A source to refresh temporary credentials from (the AWS chain).
#[cfg(feature = "aws-chain")]
type Refresher = crate::credentials::chain::ChainProvider;
/// No refreshing without the AWS chain.
#[cfg(not(feature = "aws-chain"))]
type Refresher = ();

async fn load_credentials(
    source: &CredentialSource,
) -> Result<(Credentials, Option<Refresher>), ServeError> {
    match source {
        CredentialSource::Static { access_key_id, secret_access_key, session_token } => Ok((
            Credentials::new(access_key_id, secret_access_key).with_session_token(session_token.clone()),
            None,
        )),
        CredentialSource::Env => Credentials::from_env()
            .map(|c| (c, None))
            .map_err(|e| ServeError::Credentials(format!("s3.credentials = \"env\": {e}"))),
        #[cfg(feature = "aws-chain")]
        CredentialSource::AwsChain => {
            let chain = crate::credentials::chain::ChainProvider::load().await.map_err(|e| ServeError::Credentials(e.to_string()))?;
            let creds = chain.credentials().await.map_err(|e| ServeError::Credentials(format!("s3: {e}")))?;
            Ok((creds, Some(chain)))
        }
        #[cfg(not(feature = "aws-chain"))]
        CredentialSource::AwsChain => Err(ServeError::Credentials(
            "config key `s3.credentials`: the AWS provider chain needs the aws-chain feature; give access_key_id and secret_access_key instead".into(),
        )),
    }
}

/// How often temporary credentials from the AWS chain are checked for renewal.
#[cfg(feature = "aws-chain")]
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Keeps the signer's credentials fresh while the server runs: the chain caches them and
/// renews them before they expire, so asking it once a minute is cheap.
#[cfg(feature = "aws-chain")]
fn spawn_refresh(state: &Arc<AppState>) -> Option<JoinHandle<()>> {
    let chain = state.refresher.clone()?;
    let weak = Arc::downgrade(state);
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            let Some(state) = weak.upgrade() else { return };
            match chain.credentials().await {
                Ok(fresh) if fresh != state.signer.credentials() => {
                    tracing::info!(
                        access_key_id = fresh.access_key_id(),
                        "signing credentials renewed"
                    );
                    state.signer.set_credentials(fresh);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not renew the signing credentials; keeping the current ones")
                }
            }
        }
    }))
}

#[cfg(not(feature = "aws-chain"))]
fn spawn_refresh(_: &Arc<AppState>) -> Option<JoinHandle<()>> {
    None
}

/// The router: pages, API, static files, with security headers, limits and request logs.
pub fn app(state: Arc<AppState>) -> Router {
    let static_dir = std::env::var_os("SIGNPOST_STATIC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static")));
    app_with_static(state, static_dir)
}

/// The router, serving static files from `static_dir`.
pub fn app_with_static(state: Arc<AppState>, static_dir: PathBuf) -> Router {
    use tower_http::services::ServeDir;
    let router = Router::new()
        .merge(pages::router())
        .merge(api::router(&state))
        .nest_service("/static", ServeDir::new(static_dir));
    security::apply(router, &state).with_state(state)
}

/// A running server (for `serve` and for tests).
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The public URL.
    pub url: String,
    /// The shared state.
    pub state: Arc<AppState>,
    /// The embedded store, when running without `[s3]`.
    pub embedded: Option<EmbeddedS3>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    refresh: Option<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, then stops the embedded store.
    pub async fn shutdown(self) {
        if let Some(r) = &self.refresh {
            r.abort();
        }
        let _ = self.stop.send(());
        let _ = self.task.await;
        if let Some(e) = self.embedded {
            e.shutdown().await;
        }
    }
}

/// Binds, starts the embedded store if needed, and serves in the background.
pub async fn start(
    config: Config,
    data_dir: PathBuf,
    static_dir: Option<PathBuf>,
) -> Result<Running, ServeError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Bind(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(config.listen, e))?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let own_origin = security::origin(&public_url);

    let mut embedded = None;
    let state = if config.s3.is_none() {
        let access_key = format!(
            "signpost-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let secret_key = uuid::Uuid::new_v4().simple().to_string();
        let mut buckets: Vec<String> = config.profiles.iter().map(|p| p.bucket.clone()).collect();
        buckets.dedup();
        let mut origins = vec![own_origin.clone()];
        // A page opened at localhost is another origin than 127.0.0.1: allow both.
        if config.public_url.is_none() && addr.ip().is_loopback() {
            origins.push(format!("http://localhost:{}", addr.port()));
        }
        origins.extend(config.allowed_origins.iter().cloned());
        let store = EmbeddedS3::start(EmbeddedConfig {
            data_dir: data_dir.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
            region: EMBEDDED_REGION.into(),
            buckets,
            cors_origins: origins,
        })
        .await
        .map_err(|e| ServeError::Embedded(e.to_string()))?;
        let endpoint = store.endpoint();
        let st = AppState::new(
            config,
            public_url.clone(),
            Some((&endpoint, Credentials::new(access_key, secret_key))),
        )
        .await?;
        embedded = Some(store);
        st
    } else {
        AppState::new(config, public_url.clone(), None).await?
    };
    let state = Arc::new(state);
    let refresh = spawn_refresh(&state);
    let router = match static_dir {
        Some(d) => app_with_static(state.clone(), d),
        None => app(state.clone()),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    Ok(Running {
        addr,
        url: public_url,
        state,
        embedded,
        stop,
        task,
        refresh,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Runs `signpost serve` until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,signpost=info")),
        )
        .try_init();
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::demo(
            config::DEFAULT_LISTEN
                .parse()
                .expect("valid default address"),
        ),
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    let demo = config.s3.is_none();
    let running = start(config, args.data_dir.clone(), args.static_dir.clone()).await?;
    if let Some(store) = &running.embedded {
        let dir = std::fs::canonicalize(&args.data_dir).unwrap_or(args.data_dir.clone());
        tracing::info!(endpoint = %store.endpoint(), data_dir = %dir.display(), "embedded S3 store running (for trying signpost and for tests; not for production)");
    }
    println!(
        "signpost is running: open {}/ in a browser{}",
        running.url,
        if demo {
            " (demo profiles on the embedded store)"
        } else {
            ""
        }
    );
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.shutdown().await;
    Ok(())
}
