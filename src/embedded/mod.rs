//! An embedded S3-compatible store, so `signpost serve` works with no AWS account.
//!
//! It keeps objects as files under a data directory (s3s-fs) and speaks S3
//! through s3s, on a listener of its own. It is meant to be as strict as S3
//! about what it accepts, so that a demo or a test against it proves the
//! signing is right:
//!
//! What s3s 0.14.1 verifies by itself: SigV4 header signatures (with the
//! payload hash), presigned URL signatures and their expiry, and for POST
//! object the policy signature (HMAC of the base64 policy), that the policy
//! has `eq` conditions matching `x-amz-date`, `x-amz-credential` and
//! `x-amz-algorithm`, the policy expiration, every `eq`/`starts-with`
//! condition, `content-length-range` (min and max), the `bucket` condition
//! against the URL's bucket, and that every form field appears in the policy
//! (except `x-amz-signature`, `file`, `policy`, `submit`, `x-ignore-*`, and,
//! too leniently, `x-amz-server-side-encryption*`, `signature` and
//! `awsaccesskeyid`). Unsigned requests are refused by its default access
//! check.
//!
//! What this module adds (see the `store` and `frontend` submodules): region
//! and SigV4 only, a 7-day cap on presigned URLs, existing buckets only, keys
//! that stay inside their bucket directory, digests checked before writing,
//! `${filename}` expansion with the key prefix checked again after it, every
//! form field but S3's own exemptions in the policy, S3's POST success
//! responses with the expanded key, POST forms signed days before use (s3s
//! holds their `x-amz-date` to 15 minutes; the policy expiration is what
//! counts), and CORS.

mod banner;
mod bucket_ops;
mod buckets;
mod cors;
mod digest;
mod frontend;
mod keys;
mod post;
mod respond;
mod serve;
mod store;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use s3s::auth::SimpleAuth;
use s3s::config::{S3Config, StaticConfigProvider};
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::buckets::Buckets;
use self::cors::Cors;
use self::frontend::Frontend;
use self::post::PostObject;
use self::store::GuardedStore;

/// Clock skew allowed for header-signed and presigned requests (S3's 15 minutes).
const REQUEST_SKEW_SECS: u32 = 15 * 60;

/// How to run the embedded store.
#[derive(Clone)]
pub struct EmbeddedConfig {
    /// Directory holding the objects, as files (created if missing).
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The one access key the store accepts.
    pub access_key: String,
    /// Its secret key (never logged).
    pub secret_key: String,
    /// Region requests must be signed for, e.g. "us-east-1".
    pub region: String,
    /// Buckets created (as directories) at start if missing.
    pub buckets: Vec<String>,
    /// Browser origins allowed by CORS, exact (e.g. "http://127.0.0.1:8080") or "*".
    pub cors_origins: Vec<String>,
}

impl fmt::Debug for EmbeddedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedConfig")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("region", &self.region)
            .field("buckets", &self.buckets)
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

/// Why the embedded store could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The configuration is unusable.
    #[error("invalid embedded store configuration: {0}")]
    InvalidConfig(String),
    /// The data directory or a bucket directory could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file store could not open the data directory.
    #[error("cannot open the store at {path}: {message}")]
    Store {
        /// The data directory.
        path: PathBuf,
        /// What s3s-fs said.
        message: String,
    },
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running embedded store; dropping it stops the server too.
pub struct EmbeddedS3 {
    addr: SocketAddr,
    endpoint: String,
    cfg: EmbeddedConfig,
    cors: Arc<Cors>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl fmt::Debug for EmbeddedS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedS3")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl EmbeddedS3 {
    /// Creates the buckets, binds the listener, spawns the server and returns once listening.
    pub async fn start(cfg: EmbeddedConfig) -> Result<EmbeddedS3, EmbeddedError> {
        validate(&cfg)?;
        create_dir(&cfg.data_dir).await?;
        for bucket in &cfg.buckets {
            create_dir(&cfg.data_dir.join(bucket)).await?;
        }
        let root = tokio::fs::canonicalize(&cfg.data_dir)
            .await
            .map_err(|source| EmbeddedError::CreateDir {
                path: cfg.data_dir.clone(),
                source,
            })?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| EmbeddedError::Store {
            path: root.clone(),
            message: format!("{e:?}"),
        })?;
        let buckets =
            Buckets::open(&root)
                .await
                .map(Arc::new)
                .map_err(|e| EmbeddedError::Store {
                    path: root.clone(),
                    message: e.to_string(),
                })?;
        let store = GuardedStore::new(fs, root, cfg.region.clone(), Arc::clone(&buckets));

        let listener =
            TcpListener::bind(cfg.listen)
                .await
                .map_err(|source| EmbeddedError::Bind {
                    addr: cfg.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmbeddedError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let endpoint = format!("http://{}", reachable(addr));

        let cors = Arc::new(Cors::new(cfg.cors_origins.clone(), buckets));
        let frontend = Arc::new(Frontend {
            s3: s3_service(&store, &cfg),
            post: PostObject {
                store,
                access_key: cfg.access_key.clone(),
                secret_key: cfg.secret_key.clone(),
                region: cfg.region.clone(),
            },
            cors: Arc::clone(&cors),
            fallback_host: reachable(addr).to_string(),
        });
        let (shutdown, stop) = watch::channel(false);
        let task = tokio::spawn(serve::serve(listener, frontend, stop));
        tracing::info!(%endpoint, data_dir = %cfg.data_dir.display(), "embedded S3 store listening");
        Ok(EmbeddedS3 {
            addr,
            endpoint,
            cfg,
            cors,
            shutdown,
            task,
        })
    }

    /// Base URL for path-style requests, e.g. "http://127.0.0.1:PORT".
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The region requests must be signed for.
    pub fn region(&self) -> &str {
        &self.cfg.region
    }

    /// The access key the store accepts.
    pub fn access_key(&self) -> &str {
        &self.cfg.access_key
    }

    /// What to print at start: endpoint, region, keys (the secret too: that
    /// is the point), data directory, buckets, and `export` lines for the
    /// AWS CLI, the AWS SDKs and `signpost sign`/`presign`.
    pub fn banner(&self) -> String {
        banner::render(&self.endpoint, &self.cfg)
    }

    /// Replaces the CORS origins; takes effect for the next request.
    pub fn set_cors_origins(&self, origins: Vec<String>) {
        self.cors.set(origins);
    }

    /// Stops accepting, lets requests in flight finish (up to 10 s), then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "embedded S3 server task ended abnormally");
        }
    }
}

fn validate(cfg: &EmbeddedConfig) -> Result<(), EmbeddedError> {
    let bad = |m: String| Err(EmbeddedError::InvalidConfig(m));
    if cfg.access_key.is_empty() || cfg.secret_key.is_empty() {
        return bad("access_key and secret_key must not be empty".into());
    }
    let region_ok = !cfg.region.is_empty()
        && cfg
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return bad(format!(
            "region {:?} is not a region name like \"us-east-1\"",
            cfg.region
        ));
    }
    if let Some(b) = cfg
        .buckets
        .iter()
        .find(|b| !s3s::path::check_bucket_name(b))
    {
        return bad(format!("{b:?} is not a valid S3 bucket name"));
    }
    Ok(())
}

async fn create_dir(path: &std::path::Path) -> Result<(), EmbeddedError> {
    tokio::fs::create_dir_all(path)
        .await
        .map_err(|source| EmbeddedError::CreateDir {
            path: path.to_owned(),
            source,
        })
}

/// The address clients should use: a wildcard bind is reached through loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, a.port()))
        }
        SocketAddr::V6(a) if a.ip().is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, a.port()))
        }
        other => other,
    }
}

fn s3_service(store: &GuardedStore, cfg: &EmbeddedConfig) -> S3Service {
    let mut builder = S3ServiceBuilder::new(store.clone());
    builder.set_auth(SimpleAuth::from_single(
        cfg.access_key.clone(),
        cfg.secret_key.clone(),
    ));
    let mut config = S3Config::default();
    config.presigned_url_max_skew_time_secs = REQUEST_SKEW_SECS;
    builder.set_config(Arc::new(StaticConfigProvider::new(Arc::new(config))));
    builder.build()
}
