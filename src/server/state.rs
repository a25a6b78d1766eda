//! What every request shares: the checked config, the signer, the authenticator, the key that
//! seals upload states, the HTTP client for the server's own S3 calls, and the [`Clock`].
//! Only this module reads the wall clock; tests fix the time through [`FixedClock`].

use super::access::AccessRule;
use super::auth::Authenticator;
use super::config::{Config, ConfigError, CredentialSource};
use super::profile::Profile;
use super::s3::S3Http;
use super::{security, ServeError};
use crate::{Credentials, Endpoint, Signer};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

/// Where the server gets the time. Handlers and services ask the state's clock, never the
/// system, so a test can fix the time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until moved (for tests).
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The region the embedded store answers to, and the server signs for.
pub(crate) const EMBEDDED_REGION: &str = "us-east-1";

/// Everything a request handler needs.
pub struct AppState {
    /// The checked config.
    pub config: Config,
    /// Signs forms and URLs (shared with the credential refresh).
    pub signer: Arc<Signer>,
    /// Where temporary credentials are renewed from, if they are.
    #[cfg_attr(not(feature = "aws-chain"), allow(dead_code))]
    refresher: Option<Refresher>,
    /// Authenticates callers.
    pub auth: Authenticator,
    /// The key sealing upload states.
    pub(crate) state_key: Vec<u8>,
    /// The server's public base URL, no trailing slash.
    pub public_url: String,
    /// Client for the server's own S3 calls.
    pub(crate) http: S3Http,
    /// The Content-Security-Policy header value.
    pub(crate) csp: String,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// The access rules: `[[access]]`, then each profile's area over its callers' uploads.
    pub rules: Vec<AccessRule>,
}

impl AppState {
    /// Looks up a profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.config.profiles.iter().find(|p| p.name == name)
    }

    /// True when cookies must be `Secure` (the server is reached over https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Now, by the state's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Builds the state: credentials, signer, authenticator. `embedded` is the embedded
    /// store's endpoint and keys when the config has no `[s3]`.
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
        let state_key = match &config.server.state_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => uuid::Uuid::new_v4()
                .as_bytes()
                .iter()
                .chain(uuid::Uuid::new_v4().as_bytes())
                .copied()
                .collect(),
        };
        let public_url = public_url.trim_end_matches('/').to_string();
        let auth = Authenticator::connect(&config.auth, &state_key, &public_url).await?;
        if auth.oidc().is_some() && config.server.state_secret.is_none() {
            tracing::warn!("no server.state_secret: sign-in sessions end when the server restarts, and replicas cannot share them; set SIGNPOST_STATE_SECRET");
        }
        let sign_in = auth.oidc().map(|o| o.origins()).unwrap_or_default();
        let csp = security::csp(&config, &signer, &sign_in);
        let http = S3Http::new(Duration::from_secs(15))
            .map_err(|e| ServeError::Embedded(e.to_string()))?;
        let mut rules = config.access.clone();
        rules.extend(
            config
                .profiles
                .iter()
                .map(|p| AccessRule::for_profile(p, config.server.download_expires)),
        );
        Ok(Self {
            rules,
            config,
            signer: Arc::new(signer),
            refresher,
            auth,
            state_key,
            public_url,
            http,
            csp,
            clock: Arc::new(SystemClock),
        })
    }

    /// Compares the server's clock with S3's (a HEAD of a bucket the config names; the answer's
    /// `Date` is what counts); [`S3Http::clock_problem`] then says if it is off.
    pub async fn check_clock(&self) {
        let bucket = self
            .config
            .profiles
            .first()
            .map(|p| p.bucket.as_str())
            .or_else(|| self.rules.first().map(|r| r.bucket.as_str()));
        if let Some(b) = bucket {
            super::s3::probe(&self.http, &self.signer, self.now(), b).await;
        }
    }

    /// The same state on another clock (for tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
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
const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// Keeps the signer's credentials fresh while the server runs: the chain caches them and
/// renews them before they expire, so asking it once a minute is cheap.
#[cfg(feature = "aws-chain")]
pub(crate) fn spawn_refresh(state: &Arc<AppState>) -> Option<JoinHandle<()>> {
    let chain = state.refresher.clone()?;
    let weak = Arc::downgrade(state);
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            let Some(state) = weak.upgrade() else { return };
            refresh_once(&state.signer, &chain).await;
        }
    }))
}

/// Asks the chain once and swaps in renewed credentials.
#[cfg(feature = "aws-chain")]
async fn refresh_once(signer: &Signer, chain: &Refresher) {
    match chain.credentials().await {
        Ok(fresh) if fresh != signer.credentials() => {
            tracing::info!(
                access_key_id = fresh.access_key_id(),
                "signing credentials renewed"
            );
            signer.set_credentials(fresh);
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "could not renew the signing credentials; keeping the current ones")
        }
    }
}

impl AppState {
    /// Starts a renewal of the credentials now, in the background (they are about to run
    /// out). Without a refreshable source, does nothing.
    pub(crate) fn refresh_soon(&self) {
        #[cfg(feature = "aws-chain")]
        if let Some(chain) = self.refresher.clone() {
            let signer = self.signer.clone();
            tokio::spawn(async move { refresh_once(&signer, &chain).await });
        }
    }
}

#[cfg(not(feature = "aws-chain"))]
pub(crate) fn spawn_refresh(_: &Arc<AppState>) -> Option<JoinHandle<()>> {
    None
}
