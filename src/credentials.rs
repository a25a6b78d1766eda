//! Credentials for signing: explicit values, the standard environment variables, or (with the
//! `aws-chain` feature) the AWS provider chain. Secrets never appear in `Debug` output.

use crate::error::{Error, Result};
use std::fmt;
use time::OffsetDateTime;

/// An access key pair, with an optional session token and expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expires_at: Option<OffsetDateTime>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Credentials {
    /// Long-lived credentials from an access key id and its secret.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
            expires_at: None,
        }
    }
    /// Adds a session token (temporary credentials); it is posted as `x-amz-security-token`.
    #[must_use]
    pub fn with_session_token(mut self, token: Option<String>) -> Self {
        self.session_token = token.filter(|t| !t.is_empty());
        self
    }
    /// Records when temporary credentials expire, so policies never outlive them.
    #[must_use]
    pub fn with_expiry(mut self, at: Option<OffsetDateTime>) -> Self {
        self.expires_at = at;
        self
    }
    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Result<Self> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(ak), Some(sk)) => Ok(Self::new(ak, sk).with_session_token(get("AWS_SESSION_TOKEN"))),
            (Some(_), None) => Err(Error::Credentials(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both".into(),
            )),
            (None, Some(_)) => Err(Error::Credentials(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both".into(),
            )),
            (None, None) => Err(Error::Credentials(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give them in the config".into(),
            )),
        }
    }
    /// The access key id (public).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The secret key. Only the signer should read it; never log or render it.
    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }
    /// The session token, if these are temporary credentials.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
    /// When these credentials expire, if they do.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }
}

/// The standard AWS provider chain: environment, profiles, SSO, web identity, container and
/// instance metadata.
#[cfg(feature = "aws-chain")]
pub mod chain {
    use super::Credentials;
    use crate::error::{Error, Result};
    use aws_config::BehaviorVersion;
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

    /// A handle on the chain, to fetch (and later refresh) credentials.
    #[derive(Debug, Clone)]
    pub struct ChainProvider {
        provider: SharedCredentialsProvider,
        region: Option<String>,
    }

    impl ChainProvider {
        /// Loads the chain the way the AWS SDKs do.
        pub async fn load() -> Result<Self> {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let provider = config.credentials_provider().ok_or_else(|| {
                Error::Credentials("the AWS provider chain found no credentials provider; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or configure a profile".into())
            })?;
            Ok(Self {
                provider,
                region: config.region().map(|r| r.to_string()),
            })
        }
        /// The region the chain found (AWS_REGION, profile), if any.
        pub fn region(&self) -> Option<&str> {
            self.region.as_deref()
        }
        /// Fetches current credentials.
        pub async fn credentials(&self) -> Result<Credentials> {
            let c = self.provider.provide_credentials().await.map_err(|e| {
                Error::Credentials(format!(
                    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure a profile (AWS_PROFILE, ~/.aws/credentials) or an SSO login (the AWS provider chain said: {e})"
                ))
            })?;
            let expiry = c.expiry().map(time::OffsetDateTime::from);
            Ok(Credentials::new(c.access_key_id(), c.secret_access_key())
                .with_session_token(c.session_token().map(str::to_string))
                .with_expiry(expiry))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::new("AKIDEXAMPLE", "s3cr3t-value")
            .with_session_token(Some("tok3n-value".into()));
        let dbg = format!("{c:?}");
        assert!(dbg.contains("AKIDEXAMPLE"));
        assert!(
            !dbg.contains("s3cr3t-value") && !dbg.contains("tok3n-value"),
            "{dbg}"
        );
    }
}
