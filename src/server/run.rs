//! Running the server: bind, start the embedded store when there is no `[s3]`, serve until
//! Ctrl-C or SIGTERM, and shut down gracefully.

use super::config::{self, Config};
use super::state::{self, AppState, Clock, EMBEDDED_REGION};
use super::{app_with_static, listen, security, ServeArgs, ServeError};
use crate::embedded::{EmbeddedConfig, EmbeddedS3};
use crate::Credentials;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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

/// Starts the embedded store for a config without `[s3]`: the profiles' buckets, CORS for the
/// server's own origins.
async fn start_embedded(
    config: &Config,
    data_dir: PathBuf,
    keys: Option<(String, String)>,
    addr: SocketAddr,
    public_url: &str,
) -> Result<(EmbeddedS3, Credentials), ServeError> {
    let (access_key, secret_key) = keys.unwrap_or_else(|| {
        (
            format!(
                "signpost-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
            uuid::Uuid::new_v4().simple().to_string(),
        )
    });
    let mut buckets: Vec<String> = config.profiles.iter().map(|p| p.bucket.clone()).collect();
    buckets.sort();
    buckets.dedup();
    let mut origins = vec![security::origin(public_url)];
    // A page opened at localhost is another origin than 127.0.0.1: allow both.
    if config.server.public_url.is_none() && addr.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", addr.port()));
    }
    origins.extend(config.server.allowed_origins.iter().cloned());
    let store = EmbeddedS3::start(EmbeddedConfig {
        data_dir,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        access_key: access_key.clone(),
        secret_key: secret_key.clone(),
        region: EMBEDDED_REGION.into(),
        buckets,
        cors_origins: origins,
    })
    .await
    .map_err(|e| ServeError::Embedded(e.to_string()))?;
    Ok((store, Credentials::new(access_key, secret_key)))
}

/// How to start, beyond the config.
#[derive(Clone, Default)]
pub struct StartOptions {
    /// Where the embedded store keeps files (without `[s3]`).
    pub data_dir: PathBuf,
    /// Serve static files from here instead of the compiled-in copies.
    pub static_dir: Option<PathBuf>,
    /// The embedded store's access and secret key; generated when `None`.
    pub store_keys: Option<(String, String)>,
    /// The server's clock (tests: a clock that is off); the system's when `None`.
    pub clock: Option<Arc<dyn Clock>>,
}

impl std::fmt::Debug for StartOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartOptions")
            .field("data_dir", &self.data_dir)
            .field("static_dir", &self.static_dir)
            .field("store_keys", &self.store_keys.as_ref().map(|_| "redacted"))
            .field("clock", &self.clock.as_ref().map(|c| c.now()))
            .finish()
    }
}

/// Binds, starts the embedded store if needed, and serves in the background.
pub async fn start(
    config: Config,
    data_dir: PathBuf,
    static_dir: Option<PathBuf>,
) -> Result<Running, ServeError> {
    start_with(
        config,
        StartOptions {
            data_dir,
            static_dir,
            store_keys: None,
            clock: None,
        },
    )
    .await
}

/// [`start`], with every option.
pub async fn start_with(config: Config, opts: StartOptions) -> Result<Running, ServeError> {
    let StartOptions {
        data_dir,
        static_dir,
        store_keys,
        clock,
    } = opts;
    let listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| ServeError::Bind(config.server.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(config.server.listen, e))?;
    let public_url = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));

    let mut embedded = None;
    let state = if config.s3.is_none() {
        let (store, creds) =
            start_embedded(&config, data_dir, store_keys, addr, &public_url).await?;
        let endpoint = store.endpoint();
        let st = AppState::new(config, public_url.clone(), Some((&endpoint, creds))).await?;
        embedded = Some(store);
        st
    } else {
        AppState::new(config, public_url.clone(), None).await?
    };
    let state = match clock {
        Some(c) => state.with_clock(c),
        None => state,
    };
    let state = Arc::new(state);
    let refresh = state::spawn_refresh(&state);
    // Learn S3's clock now, so a server whose clock is off says so before the first upload.
    if state.config.s3.is_some() {
        let st = state.clone();
        tokio::spawn(async move { st.check_clock().await });
    }
    let router = app_with_static(state.clone(), static_dir);
    let (stop, stopped) = oneshot::channel::<()>();
    let limits = state.config.server.connections;
    // Raises the open-file limit now, before anyone is told the server is up.
    let cap = listen::effective_cap(limits.max_connections);
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        listen::serve(listener, router, limits, cap, shutdown).await;
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

/// Waits for Ctrl-C or SIGTERM (for `serve` and `store`).
pub async fn shutdown_signal() {
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
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,signpost=info")),
        )
        .try_init();
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::demo_with_env(
            config::DEFAULT_LISTEN
                .parse()
                .expect("valid default address"),
            &|k| std::env::var(k).ok(),
        )?,
    };
    if let Some(l) = args.listen {
        config.server.listen = l;
    }
    let demo = config.s3.is_none();
    let store_keys = args
        .store_access_key
        .clone()
        .zip(args.store_secret_key.clone());
    let running = start_with(
        config,
        StartOptions {
            data_dir: args.data_dir.clone(),
            static_dir: args.static_dir.clone(),
            store_keys,
            clock: None,
        },
    )
    .await?;
    if let Some(store) = &running.embedded {
        println!(
            "No [s3] section in the config, so signpost runs its embedded S3-compatible store (for trying signpost and for tests; not for production).\n{}",
            store.banner()
        );
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
