//! Sign-in through an OpenID provider, with the `openidconnect` crate: discovery from the
//! issuer at start, the authorization-code flow with PKCE and a nonce, ID tokens checked
//! against the provider's keys. The same keys verify the provider's JWT access tokens on the
//! API. The keys (JWKS) are cached and fetched again when a token names a key the cache does
//! not hold, at most once per [`REFETCH_AFTER`].

use super::claims;
use super::jwt::{self, Expect, Key};
use super::session::Login;
use super::{AuthError, Caller};
use crate::server::config::{ConfigError, OidcConfig};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// The client once discovery has found the token endpoint.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
>;

/// The shortest time between two fetches of the provider's keys.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// How long the server waits for the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The provider's keys, and the client that checks ID tokens with them.
struct Keys {
    client: Client,
    decoding: Vec<Key>,
    fetched: OffsetDateTime,
}

/// Why signing in did not work (said to the person in plain words; the cause is logged).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The provider did not answer as expected.
    #[error("the sign-in service did not answer as expected")]
    Provider(String),
    /// The answer did not check out (wrong nonce, signature, issuer…).
    #[error("the sign-in could not be checked")]
    Rejected(String),
    /// The ID token lacks the user claim.
    #[error("the sign-in service did not say who you are")]
    NoUser(String),
}

impl LoginError {
    /// What went wrong, for the log.
    pub fn cause(&self) -> &str {
        match self {
            Self::Provider(c) | Self::Rejected(c) | Self::NoUser(c) => c,
        }
    }
}

/// A discovered OpenID provider and this server's client there.
pub struct OidcProvider {
    issuer: String,
    client_id: String,
    audience: Option<String>,
    scopes: Vec<String>,
    metadata: ProviderMetadataWithLogout,
    redirect: RedirectUrl,
    secret: ClientSecret,
    keys: RwLock<Arc<Keys>>,
    refetch: tokio::sync::Mutex<()>,
    http: reqwest::Client,
    /// How long a browser session lasts.
    pub session_expires: Duration,
    /// Where the provider sends the browser after signing out, if it can.
    signed_out_url: String,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn issuer_err(message: String) -> ConfigError {
    ConfigError {
        key: "auth.oidc.issuer".into(),
        message,
    }
}

impl OidcProvider {
    /// Reads the provider's discovery document and keys; an unreachable provider or a
    /// document that does not fit is a config error naming `auth.oidc.issuer`.
    pub async fn discover(c: &OidcConfig, public_url: &str) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            // Never follow a redirect to somewhere else with a code or a secret.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| issuer_err(format!("no HTTP client: {e}")))?;
        let issuer = IssuerUrl::new(c.issuer.clone())
            .map_err(|e| issuer_err(format!("`{}` is not a URL: {e}", c.issuer)))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http)
            .await
            .map_err(|e| {
                issuer_err(format!(
                    "could not read the provider's discovery document at {}/.well-known/openid-configuration ({}); check the URL and that the provider is reachable from this server",
                    c.issuer,
                    error_chain(&e)
                ))
            })?;
        let redirect =
            RedirectUrl::new(format!("{public_url}/auth/callback")).map_err(|e| ConfigError {
                key: "server.public_url".into(),
                message: format!("does not make a callback URL: {e}"),
            })?;
        let secret = ClientSecret::new(c.client_secret.clone());
        let client = build_client(&metadata, &c.client_id, &secret, &redirect)?;
        let decoding = decoding_keys(metadata.jwks());
        let keys = Keys {
            client,
            decoding,
            fetched: OffsetDateTime::UNIX_EPOCH,
        };
        Ok(Self {
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            audience: c.audience.clone(),
            scopes: c.scopes.clone(),
            metadata,
            redirect,
            secret,
            keys: RwLock::new(Arc::new(keys)),
            refetch: tokio::sync::Mutex::new(()),
            http,
            session_expires: c.session_expires,
            signed_out_url: format!("{public_url}/signed-out"),
        })
    }

    fn current(&self) -> Arc<Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys, fetched again first when `kid` is not among them (at most once per
    /// [`REFETCH_AFTER`], so tokens with made-up kids cannot make the server hammer the
    /// provider).
    async fn keys_for(&self, kid: Option<&str>, now: OffsetDateTime) -> Arc<Keys> {
        let known = |k: &Keys| {
            kid.is_none_or(|kid| k.decoding.iter().any(|d| d.kid.as_deref() == Some(kid)))
        };
        let current = self.current();
        if known(&current) {
            return current;
        }
        let _one_at_a_time = self.refetch.lock().await;
        let current = self.current();
        if known(&current) || now - current.fetched < REFETCH_AFTER {
            return current;
        }
        let fresh = match CoreJsonWebKeySet::fetch_async(self.metadata.jwks_uri(), &self.http).await
        {
            Ok(set) => {
                let md = self.metadata.clone().set_jwks(set);
                match build_client(&md, &self.client_id, &self.secret, &self.redirect) {
                    Ok(client) => Keys {
                        decoding: decoding_keys(md.jwks()),
                        client,
                        fetched: now,
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "the provider's keys could not be used");
                        return current;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "could not fetch the provider's keys (JWKS); keeping the ones held");
                Keys {
                    client: current.client.clone(),
                    decoding: current.decoding.clone(),
                    fetched: now,
                }
            }
        };
        let fresh = Arc::new(fresh);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        fresh
    }

    /// Verifies a bearer access token from this provider (a JWT signed with its keys, from its
    /// issuer, for this server) and returns its claims.
    pub async fn verify_access_token(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Value, AuthError> {
        let kid = jwt::kid_of(token)?;
        let keys = self.keys_for(kid.as_deref(), now).await;
        let key = jwt::pick(&keys.decoding, kid.as_deref()).ok_or_else(|| {
            AuthError::Invalid("no key of the sign-in service matches the token's kid".into())
        })?;
        let claims = jwt::verify(
            token,
            key,
            &Expect {
                issuer: Some(&self.issuer),
                audience: self.audience.as_deref(),
            },
        )?;
        if self.audience.is_none() && !self.for_this_client(&claims) {
            return Err(AuthError::Invalid(
                "it was not issued for this server (its aud, client_id or azp is another client)"
                    .into(),
            ));
        }
        Ok(claims)
    }

    /// True when a token names this server's client in `aud`, `client_id` or `azp`.
    fn for_this_client(&self, claims: &Value) -> bool {
        let id = Value::String(self.client_id.clone());
        let aud = match claims.get("aud") {
            Some(Value::Array(a)) => a.contains(&id),
            Some(v) => *v == id,
            None => false,
        };
        aud || claims.get("client_id") == Some(&id) || claims.get("azp") == Some(&id)
    }

    /// Starts a sign-in: the provider's authorization URL, and what the login cookie keeps.
    pub fn begin(&self, key: &[u8], next: String, now: OffsetDateTime) -> (String, Login) {
        let seed = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut login = Login {
            s: String::new(),
            n: String::new(),
            v: seed,
            next,
            e: (now + super::session::LOGIN_EXPIRES).unix_timestamp(),
        };
        let verifier = PkceCodeVerifier::new(login.pkce_verifier(key));
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let keys = self.current();
        let mut request = keys
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        // The client adds `openid` itself.
        for s in self.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = request.url();
        login.s = state.secret().clone();
        login.n = nonce.secret().clone();
        (url.to_string(), login)
    }

    /// Finishes a sign-in: redeems the code with the PKCE verifier, checks the ID token (its
    /// signature, issuer, audience, expiry and nonce) and reads the caller from its claims.
    pub async fn finish(
        &self,
        key: &[u8],
        login: &Login,
        code: &str,
        user_claim: &str,
        roles_claim: &str,
        now: OffsetDateTime,
    ) -> Result<Caller, LoginError> {
        let client = self.current().client.clone();
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier(key)))
            .request_async(&self.http)
            .await
            .map_err(|e| LoginError::Provider(format!("token request: {}", error_chain(&e))))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| LoginError::Provider("the token response has no id_token".into()))?;
        let jwt_text = id_token.to_string();
        let kid = jwt::kid_of(&jwt_text).map_err(|e| LoginError::Rejected(e.to_string()))?;
        let keys = self.keys_for(kid.as_deref(), now).await;
        id_token
            .claims(
                &keys.client.id_token_verifier(),
                &Nonce::new(login.n.clone()),
            )
            .map_err(|e| LoginError::Rejected(format!("ID token: {}", error_chain(&e))))?;
        let claims = payload(&jwt_text)
            .ok_or_else(|| LoginError::Rejected("the ID token's claims are not JSON".into()))?;
        claims::caller(&claims, user_claim, roles_claim)
            .map_err(|e| LoginError::NoUser(e.to_string()))
    }

    /// The provider's origins a page may send a form to (signing out redirects there).
    pub fn origins(&self) -> Vec<String> {
        let mut out = vec![crate::server::security::origin(&self.issuer)];
        if let Some(end) = &self.metadata.additional_metadata().end_session_endpoint {
            out.push(crate::server::security::origin(end.url().as_str()));
        }
        out.sort();
        out.dedup();
        out
    }

    /// Where to send the browser to sign out at the provider too, when it offers that
    /// (RP-initiated logout); it comes back to `/signed-out`.
    pub fn logout_url(&self) -> Option<String> {
        let end = self
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let back = PostLogoutRedirectUrl::new(self.signed_out_url.clone()).ok()?;
        Some(
            LogoutRequest::from(end)
                .set_client_id(ClientId::new(self.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

fn build_client(
    md: &ProviderMetadataWithLogout,
    client_id: &str,
    secret: &ClientSecret,
    redirect: &RedirectUrl,
) -> Result<Client, ConfigError> {
    let token_url = md.token_endpoint().cloned().ok_or_else(|| {
        issuer_err(
            "the provider's discovery document names no token_endpoint; the code flow needs one"
                .into(),
        )
    })?;
    Ok(CoreClient::from_provider_metadata(
        md.clone(),
        ClientId::new(client_id.to_string()),
        Some(secret.clone()),
    )
    .set_token_uri(token_url)
    .set_redirect_uri(redirect.clone()))
}

/// The provider's keys as `jsonwebtoken` keys, for access tokens.
fn decoding_keys(set: &CoreJsonWebKeySet) -> Vec<Key> {
    serde_json::to_value(set)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .map(|s| jwt::keys_from_jwks(&s))
        .unwrap_or_default()
}

/// The claims of a JWT whose signature has been checked.
fn payload(jwt: &str) -> Option<Value> {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An error and its sources in one line, for logs and config messages.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
