//! Who is calling: none (demo), static bearer tokens stored hashed, JWTs (HS256 secret,
//! RS256/ES256 public key, or a JWKS file), or people signed in through an OpenID provider
//! ([`oidc`]) with a sealed session cookie ([`session`]), whose API clients send the
//! provider's access tokens. A token comes from `Authorization: Bearer`, or from a configured
//! cookie.

mod claims;
mod jwt;
pub(crate) use jwt::configured_keys;
pub mod oidc;
pub mod session;

use super::config::{AuthConfig, AuthMode, ConfigError, TokenEntry};
use http::HeaderMap;
use oidc::OidcProvider;
use session::{Session, SESSION_COOKIE};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's id; keys go under a prefix made from it.
    pub user: String,
    /// Roles or tiers.
    pub roles: Vec<String>,
    /// True in the demo mode, where every profile is open.
    pub all_roles: bool,
    /// A name to show people (`name`, `preferred_username` or `email`), when the token has one.
    pub name: Option<String>,
}

impl Caller {
    /// What the pages call this caller.
    pub fn shown_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.user)
    }
}

/// Why a caller was not let in (always a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token was sent.
    #[error("sign in first: send `Authorization: Bearer <token>`{0}")]
    Missing(String),
    /// The token was refused.
    #[error("the token was refused ({0}); sign in again to get a fresh one")]
    Invalid(String),
    /// The session cookie was altered or has expired.
    #[error("your sign-in has ended; sign in again")]
    SessionEnded,
}

enum Verifier {
    None,
    Tokens(Vec<TokenEntry>),
    Jwt {
        keys: Vec<jwt::Key>,
        issuer: Option<String>,
        audience: Option<String>,
    },
    Oidc(Box<OidcProvider>),
}

/// Authenticates requests according to the config.
pub struct Authenticator {
    verifier: Verifier,
    cookie: Option<String>,
    user_claim: String,
    roles_claim: String,
    /// Seals and opens session cookies (the state secret).
    session_key: Vec<u8>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cookie", &self.cookie)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Prepares the verifier for `none`, `tokens` and `jwt`; a key that does not parse is a
    /// config error. `oidc` needs discovery: use [`Authenticator::connect`].
    pub fn new(c: &AuthConfig) -> Result<Self, ConfigError> {
        let verifier = match &c.mode {
            AuthMode::None => Verifier::None,
            AuthMode::Tokens(t) => Verifier::Tokens(t.clone()),
            AuthMode::Jwt(j) => Verifier::Jwt {
                keys: jwt::configured_keys(j)?,
                issuer: j.issuer.clone(),
                audience: j.audience.clone(),
            },
            AuthMode::Oidc(_) => {
                return Err(ConfigError {
                    key: "auth.mode".into(),
                    message: "\"oidc\" needs the provider's discovery document first".into(),
                })
            }
        };
        Ok(Self {
            verifier,
            cookie: c.cookie.clone(),
            user_claim: c.user_claim.clone(),
            roles_claim: c.roles_claim.clone(),
            session_key: Vec::new(),
        })
    }

    /// Prepares the verifier for any mode: for `oidc`, reads the provider's discovery
    /// document (an unreachable provider is an error naming `auth.oidc.issuer`). Sessions are
    /// sealed with `session_key`; the provider sends people back to `public_url`.
    pub async fn connect(
        c: &AuthConfig,
        session_key: &[u8],
        public_url: &str,
    ) -> Result<Self, ConfigError> {
        let mut a = match &c.mode {
            AuthMode::Oidc(o) => Self {
                verifier: Verifier::Oidc(Box::new(OidcProvider::discover(o, public_url).await?)),
                cookie: c.cookie.clone(),
                user_claim: c.user_claim.clone(),
                roles_claim: c.roles_claim.clone(),
                session_key: Vec::new(),
            },
            _ => Self::new(c)?,
        };
        a.session_key = session_key.to_vec();
        Ok(a)
    }

    /// True when callers must present a token.
    pub fn required(&self) -> bool {
        !matches!(self.verifier, Verifier::None)
    }

    /// The OpenID provider, in `oidc` mode.
    pub fn oidc(&self) -> Option<&OidcProvider> {
        match &self.verifier {
            Verifier::Oidc(p) => Some(p),
            _ => None,
        }
    }

    /// The claim naming the user.
    pub fn user_claim(&self) -> &str {
        &self.user_claim
    }

    /// The claim holding roles.
    pub fn roles_claim(&self) -> &str {
        &self.roles_claim
    }

    /// The bearer token in the request's `Authorization` header, if any.
    fn bearer(headers: &HeaderMap) -> Option<&str> {
        let v = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())?;
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(str::trim)
    }

    /// The session cookie, in `oidc` mode.
    fn session<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        self.oidc()?;
        session::cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty())
    }

    /// The token in the request, if any: the bearer token, else the configured cookie.
    fn token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        Self::bearer(headers).or_else(|| session::cookie(headers, self.cookie.as_deref()?))
    }

    /// The session cookie's caller, without looking at any token: for the page header.
    pub fn session_caller(&self, headers: &HeaderMap, now: OffsetDateTime) -> Option<Caller> {
        Session::open(self.session(headers)?, &self.session_key, now)
    }

    /// Authenticates the request as of `now`: a bearer token first, else the session (in
    /// `oidc` mode) or the configured cookie.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        now: OffsetDateTime,
    ) -> Result<Caller, AuthError> {
        if let Verifier::None = self.verifier {
            return Ok(Caller {
                user: "demo".into(),
                roles: vec![],
                all_roles: true,
                name: None,
            });
        }
        let token = self.token(headers).filter(|t| !t.is_empty());
        if token.is_none() {
            if let Some(sealed) = self.session(headers) {
                return Session::open(sealed, &self.session_key, now)
                    .ok_or(AuthError::SessionEnded);
            }
        }
        let Some(token) = token else {
            let hint = match (&self.verifier, &self.cookie) {
                (Verifier::Oidc(_), _) => " or sign in at /login".to_string(),
                (_, Some(c)) => format!(" or the `{c}` cookie"),
                _ => String::new(),
            };
            return Err(AuthError::Missing(hint));
        };
        let claims = match &self.verifier {
            Verifier::None => unreachable!("handled above"),
            Verifier::Tokens(entries) => {
                let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                return entries
                    .iter()
                    .find(|e| e.sha256 == digest)
                    .map(|e| Caller {
                        user: e.user.clone(),
                        roles: e.roles.clone(),
                        all_roles: false,
                        name: None,
                    })
                    .ok_or_else(|| AuthError::Invalid("unknown token".into()));
            }
            Verifier::Jwt {
                keys,
                issuer,
                audience,
            } => {
                let kid = jwt::kid_of(token)?;
                let key = jwt::pick(keys, kid.as_deref())
                    .ok_or_else(|| AuthError::Invalid("no key matches the token's kid".into()))?;
                jwt::verify(
                    token,
                    key,
                    &jwt::Expect {
                        issuer: issuer.as_deref(),
                        audience: audience.as_deref(),
                    },
                )?
            }
            Verifier::Oidc(p) => p.verify_access_token(token, now).await?,
        };
        claims::caller(&claims, &self.user_claim, &self.roles_claim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::{JwtConfig, JwtKey};
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/jwt/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn auth(key: JwtKey) -> Authenticator {
        Authenticator::new(&AuthConfig {
            mode: AuthMode::Jwt(JwtConfig {
                key,
                issuer: None,
                audience: None,
            }),
            cookie: None,
            user_claim: "sub".into(),
            roles_claim: "roles".into(),
        })
        .unwrap()
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    fn token(alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
        let claims = serde_json::json!({"sub": "carol", "roles": "tier2", "exp": exp});
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        encode(&header, &claims, key).unwrap()
    }

    #[tokio::test]
    async fn rs256_es256_and_jwks_keys_verify_tokens() {
        let rsa = EncodingKey::from_rsa_pem(&fixture("rs256.pem")).unwrap();
        let ec = EncodingKey::from_ec_pem(&fixture("es256.pem")).unwrap();
        let jwks = String::from_utf8(fixture("jwks.json")).unwrap();
        let cases = [
            (
                auth(JwtKey::Rs256Pem(fixture("rs256.pub.pem"))),
                token(Algorithm::RS256, None, &rsa),
            ),
            (
                auth(JwtKey::Es256Pem(fixture("es256.pub.pem"))),
                token(Algorithm::ES256, None, &ec),
            ),
            (
                auth(JwtKey::Jwks(jwks)),
                token(Algorithm::RS256, Some("test-rsa"), &rsa),
            ),
        ];
        for (a, t) in &cases {
            let caller = a.authenticate(&bearer(t), now()).await.unwrap();
            assert_eq!(
                (caller.user.as_str(), caller.roles.as_slice()),
                ("carol", &["tier2".to_string()][..])
            );
        }
        // A token signed by another key, or with another algorithm, is refused.
        let es_for_rsa = token(Algorithm::ES256, None, &ec);
        assert!(matches!(
            cases[0].0.authenticate(&bearer(&es_for_rsa), now()).await,
            Err(AuthError::Invalid(_))
        ));
        let wrong_kid = token(Algorithm::RS256, Some("other"), &rsa);
        assert!(matches!(
            cases[2].0.authenticate(&bearer(&wrong_kid), now()).await,
            Err(AuthError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_configured_issuer_or_audience_is_required_in_the_token() {
        let secret = "an-hs256-secret-of-at-least-32-chars!";
        let a = Authenticator::new(&AuthConfig {
            mode: AuthMode::Jwt(JwtConfig {
                key: JwtKey::Hs256(secret.into()),
                issuer: Some("https://login.example.com".into()),
                audience: Some("signpost".into()),
            }),
            cookie: None,
            user_claim: "sub".into(),
            roles_claim: "roles".into(),
        })
        .unwrap();
        let key = EncodingKey::from_secret(secret.as_bytes());
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
        let make = |claims: serde_json::Value| encode(&Header::default(), &claims, &key).unwrap();
        let full = make(serde_json::json!({"sub": "carol", "exp": exp,
            "iss": "https://login.example.com", "aud": "signpost"}));
        assert_eq!(
            a.authenticate(&bearer(&full), now()).await.unwrap().user,
            "carol"
        );
        for (claims, missing) in [
            (
                serde_json::json!({"sub": "carol", "exp": exp, "aud": "signpost"}),
                "iss",
            ),
            (
                serde_json::json!({"sub": "carol", "exp": exp, "iss": "https://login.example.com"}),
                "aud",
            ),
        ] {
            match a.authenticate(&bearer(&make(claims)), now()).await {
                Err(AuthError::Invalid(m)) => assert!(m.contains(missing), "{missing}: {m}"),
                other => panic!("a token without `{missing}` was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn a_bad_public_key_is_a_config_error_naming_the_key() {
        let cfg = AuthConfig {
            mode: AuthMode::Jwt(JwtConfig {
                key: JwtKey::Es256Pem(b"not a pem".to_vec()),
                issuer: None,
                audience: None,
            }),
            cookie: None,
            user_claim: "sub".into(),
            roles_claim: "roles".into(),
        };
        let e = Authenticator::new(&cfg).unwrap_err();
        assert_eq!(e.key, "auth.jwt.es256_public_key");
    }
}
