//! The `[auth]` table: how callers are recognised (none, static tokens, JWTs, or sign-in
//! through an OpenID provider), its checked types and their conversion from the raw shapes.

use super::convert::duration;
use super::defaults;
use super::raw::{RawAuth, RawJwt, RawOidc, RawToken};
use super::{err, ConfigError};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// A static bearer token, stored as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// The caller's id.
    pub user: String,
    /// The caller's roles or tiers.
    pub roles: Vec<String>,
}

/// How JWTs are verified.
#[derive(Clone, PartialEq, Eq)]
pub enum JwtKey {
    /// Shared HS256 secret.
    Hs256(String),
    /// RS256 public key (PEM).
    Rs256Pem(Vec<u8>),
    /// ES256 public key (PEM).
    Es256Pem(Vec<u8>),
    /// A JWKS document (JSON), keys picked by `kid`.
    Jwks(String),
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JwtKey::Hs256(_) => "Hs256(redacted)",
            JwtKey::Rs256Pem(_) => "Rs256Pem",
            JwtKey::Es256Pem(_) => "Es256Pem",
            JwtKey::Jwks(_) => "Jwks",
        })
    }
}

/// JWT settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// The verification key.
    pub key: JwtKey,
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required `aud`, if any.
    pub audience: Option<String>,
}

/// The auth mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Everyone is the user `demo` with every role (demo only).
    None,
    /// Static bearer tokens.
    Tokens(Vec<TokenEntry>),
    /// JWTs.
    Jwt(JwtConfig),
    /// Sign-in with an OpenID provider; its access tokens on the API.
    Oidc(OidcConfig),
}

/// Auth settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The mode.
    pub mode: AuthMode,
    /// A cookie that may carry the token, besides `Authorization: Bearer`.
    pub cookie: Option<String>,
    /// The claim naming the user (`sub`).
    pub user_claim: String,
    /// The claim holding roles or the tier (`roles`).
    pub roles_claim: String,
}

/// `[auth.oidc]`: sign-in through an OpenID provider.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The provider's issuer URL; discovery reads `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// This server's client id at the provider.
    pub client_id: String,
    /// Its client secret (never shown).
    pub client_secret: String,
    /// Scopes asked for at sign-in; always holds `openid`.
    pub scopes: Vec<String>,
    /// The `aud` an access token must carry on the API; without one, a token must be for
    /// `client_id` (`aud`, `client_id` or `azp`).
    pub audience: Option<String>,
    /// How long a browser session lasts before the person signs in again.
    pub session_expires: Duration,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"redacted")
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("session_expires", &self.session_expires)
            .finish()
    }
}

fn token(i: usize, t: RawToken) -> Result<TokenEntry, ConfigError> {
    let mut sha256 = [0u8; 32];
    hex::decode_to_slice(t.sha256.trim(), &mut sha256).map_err(|_| {
        err(
            format!("auth.tokens[{i}].sha256"),
            "must be 64 hex characters: the SHA-256 of the token (`printf %s TOKEN | sha256sum`)",
        )
    })?;
    Ok(TokenEntry {
        sha256,
        user: t.user,
        roles: t.roles,
    })
}

fn jwt(j: RawJwt, base: &Path) -> Result<JwtConfig, ConfigError> {
    let read = |key: &str, p: &Path| {
        let full = base.join(p);
        std::fs::read(&full).map_err(|e| err(key, format!("cannot read {}: {e}", full.display())))
    };
    let key = match (
        j.hs256_secret,
        &j.rs256_public_key,
        &j.es256_public_key,
        &j.jwks,
    ) {
        (Some(s), None, None, None) => {
            if s.len() < 32 {
                return Err(err(
                    "auth.jwt.hs256_secret",
                    "must be at least 32 characters",
                ));
            }
            JwtKey::Hs256(s)
        }
        (None, Some(p), None, None) => JwtKey::Rs256Pem(read("auth.jwt.rs256_public_key", p)?),
        (None, None, Some(p), None) => JwtKey::Es256Pem(read("auth.jwt.es256_public_key", p)?),
        (None, None, None, Some(p)) => {
            let bytes = read("auth.jwt.jwks", p)?;
            JwtKey::Jwks(
                String::from_utf8(bytes).map_err(|_| err("auth.jwt.jwks", "is not UTF-8 JSON"))?,
            )
        }
        _ => {
            return Err(err(
                "auth.jwt",
                "give exactly one of hs256_secret, rs256_public_key, es256_public_key or jwks",
            ))
        }
    };
    let config = JwtConfig {
        key,
        issuer: j.issuer,
        audience: j.audience,
    };
    // A key file that does not parse stops the start here, before anything is started.
    crate::server::auth::configured_keys(&config)?;
    Ok(config)
}

impl TryFrom<(RawAuth, &Path)> for AuthConfig {
    type Error = ConfigError;

    /// `base` is the folder key files are read from (the config file's).
    fn try_from((a, base): (RawAuth, &Path)) -> Result<Self, ConfigError> {
        let mode = match a.mode.as_deref().unwrap_or("none") {
            "none" => AuthMode::None,
            "tokens" => {
                if a.tokens.is_empty() {
                    return Err(err("auth.tokens", "mode is \"tokens\" but no [[auth.tokens]] are given; add sha256, user and roles"));
                }
                AuthMode::Tokens(
                    a.tokens
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| token(i, t))
                        .collect::<Result<_, _>>()?,
                )
            }
            "jwt" => {
                let j = a.jwt.ok_or_else(|| err("auth.jwt", "mode is \"jwt\" but [auth.jwt] is missing; give hs256_secret, rs256_public_key, es256_public_key or jwks"))?;
                AuthMode::Jwt(jwt(j, base)?)
            }
            "oidc" => {
                let o = a.oidc.ok_or_else(|| err("auth.oidc", "mode is \"oidc\" but [auth.oidc] is missing; give issuer, client_id and client_secret"))?;
                AuthMode::Oidc(oidc(o)?)
            }
            other => {
                return Err(err(
                    "auth.mode",
                    format!(
                    "`{other}` is not an auth mode; use \"none\", \"tokens\", \"jwt\" or \"oidc\""
                ),
                ))
            }
        };
        Ok(AuthConfig {
            mode,
            cookie: a.cookie,
            user_claim: a.user_claim.unwrap_or_else(|| defaults::USER_CLAIM.into()),
            roles_claim: a
                .roles_claim
                .unwrap_or_else(|| defaults::ROLES_CLAIM.into()),
        })
    }
}

/// True for a host that only this machine reaches (plain http is allowed there, for tests).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn oidc(o: RawOidc) -> Result<OidcConfig, ConfigError> {
    let issuer = o.issuer.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        err(
            "auth.oidc.issuer",
            "is missing; give the provider's issuer URL, e.g. https://login.example.com/realms/main",
        )
    })?;
    let issuer = issuer.trim().trim_end_matches('/').to_string();
    let uri: http::Uri = issuer
        .parse()
        .map_err(|_| err("auth.oidc.issuer", format!("`{issuer}` is not a URL")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(_)) => {}
        (Some("http"), Some(h)) if is_loopback(h) => {}
        _ => {
            return Err(err(
                "auth.oidc.issuer",
                format!(
                    "`{issuer}` must be an https URL (plain http only on this machine, for tests)"
                ),
            ))
        }
    }
    if uri.query().is_some() {
        return Err(err(
            "auth.oidc.issuer",
            format!("`{issuer}` must not have a query"),
        ));
    }
    let client_id = o
        .client_id
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            err(
                "auth.oidc.client_id",
                "is missing; give the client id this server has at the provider",
            )
        })?;
    let client_secret = o.client_secret.filter(|s| !s.is_empty()).ok_or_else(|| {
        err(
            "auth.oidc.client_secret",
            "is missing; give the client secret here or in SIGNPOST_OIDC_CLIENT_SECRET",
        )
    })?;
    let scopes = o.scopes.unwrap_or_else(|| {
        defaults::OIDC_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    if let Some(bad) = scopes
        .iter()
        .find(|s| s.is_empty() || s.contains(|c: char| c.is_whitespace() || c.is_control()))
    {
        return Err(err(
            "auth.oidc.scopes",
            format!(
                "{bad:?} is not a scope; write one scope per string, e.g. [\"openid\", \"email\"]"
            ),
        ));
    }
    if !scopes.iter().any(|s| s == "openid") {
        return Err(err(
            "auth.oidc.scopes",
            "must include \"openid\" (OpenID Connect sign-in needs it)",
        ));
    }
    let session_expires = match &o.session_expires {
        Some(v) => duration("auth.oidc.session_expires", v)?,
        None => defaults::SESSION_EXPIRES,
    };
    if session_expires < Duration::from_secs(60)
        || session_expires > Duration::from_secs(30 * 86400)
    {
        return Err(err(
            "auth.oidc.session_expires",
            "must be between 1m and 30d",
        ));
    }
    Ok(OidcConfig {
        issuer,
        client_id,
        client_secret,
        scopes,
        audience: o.audience.filter(|a| !a.is_empty()),
        session_expires,
    })
}
