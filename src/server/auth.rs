//! Who is calling: none (demo), static bearer tokens stored hashed, or JWTs (HS256 secret,
//! RS256/ES256 public key, or a JWKS file). The token comes from `Authorization: Bearer` or a
//! configured cookie.

use super::config::{AuthConfig, AuthMode, ConfigError, JwtKey, TokenEntry};
use http::HeaderMap;
use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's id; keys go under a prefix made from it.
    pub user: String,
    /// Roles or tiers.
    pub roles: Vec<String>,
    /// True in the demo mode, where every profile is open.
    pub all_roles: bool,
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
}

enum Verifier {
    None,
    Tokens(Vec<TokenEntry>),
    Jwt {
        keys: Vec<(Option<String>, DecodingKey, Algorithm)>,
        validation: Box<Validation>,
    },
}

/// Authenticates requests according to the config.
pub struct Authenticator {
    verifier: Verifier,
    cookie: Option<String>,
    user_claim: String,
    roles_claim: String,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cookie", &self.cookie)
            .finish_non_exhaustive()
    }
}

fn key_err(key: &str, e: impl std::fmt::Display) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: format!("is not a usable key: {e}"),
    }
}

impl Authenticator {
    /// Prepares the verifier; a key that does not parse is a config error.
    pub fn new(c: &AuthConfig) -> Result<Self, ConfigError> {
        let verifier = match &c.mode {
            AuthMode::None => Verifier::None,
            AuthMode::Tokens(t) => Verifier::Tokens(t.clone()),
            AuthMode::Jwt(j) => {
                let keys = match &j.key {
                    JwtKey::Hs256(s) => vec![(
                        None,
                        DecodingKey::from_secret(s.as_bytes()),
                        Algorithm::HS256,
                    )],
                    JwtKey::Rs256Pem(p) => {
                        vec![(
                            None,
                            DecodingKey::from_rsa_pem(p)
                                .map_err(|e| key_err("auth.jwt.rs256_public_key", e))?,
                            Algorithm::RS256,
                        )]
                    }
                    JwtKey::Es256Pem(p) => {
                        vec![(
                            None,
                            DecodingKey::from_ec_pem(p)
                                .map_err(|e| key_err("auth.jwt.es256_public_key", e))?,
                            Algorithm::ES256,
                        )]
                    }
                    JwtKey::Jwks(text) => {
                        let set: JwkSet =
                            serde_json::from_str(text).map_err(|e| key_err("auth.jwt.jwks", e))?;
                        let mut keys = Vec::new();
                        for k in &set.keys {
                            let alg = match &k.algorithm {
                                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => {
                                    Algorithm::ES256
                                }
                                _ => Algorithm::RS256,
                            };
                            keys.push((
                                k.common.key_id.clone(),
                                DecodingKey::from_jwk(k)
                                    .map_err(|e| key_err("auth.jwt.jwks", e))?,
                                alg,
                            ));
                        }
                        if keys.is_empty() {
                            return Err(key_err("auth.jwt.jwks", "it holds no keys"));
                        }
                        keys
                    }
                };
                let mut validation = Validation::new(keys[0].2);
                validation.algorithms = vec![keys[0].2];
                validation.leeway = 30;
                validation.validate_nbf = true;
                validation.validate_aud = j.audience.is_some();
                if let Some(a) = &j.audience {
                    validation.set_audience(&[a]);
                }
                if let Some(i) = &j.issuer {
                    validation.set_issuer(&[i]);
                }
                validation.set_required_spec_claims(&["exp"]);
                Verifier::Jwt {
                    keys,
                    validation: Box::new(validation),
                }
            }
        };
        Ok(Self {
            verifier,
            cookie: c.cookie.clone(),
            user_claim: c.user_claim.clone(),
            roles_claim: c.roles_claim.clone(),
        })
    }

    /// True when callers must present a token.
    pub fn required(&self) -> bool {
        !matches!(self.verifier, Verifier::None)
    }

    /// The token in the request, if any.
    fn token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        if let Some(v) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            if let Some(t) = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
            {
                return Some(t.trim());
            }
        }
        let name = self.cookie.as_deref()?;
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches('"'))
    }

    /// A stable key for rate limiting: the token's hash, if any.
    pub fn rate_key(&self, headers: &HeaderMap) -> Option<[u8; 32]> {
        self.token(headers)
            .map(|t| Sha256::digest(t.as_bytes()).into())
    }

    /// Authenticates the request.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        if let Verifier::None = self.verifier {
            return Ok(Caller {
                user: "demo".into(),
                roles: vec![],
                all_roles: true,
            });
        }
        let Some(token) = self.token(headers).filter(|t| !t.is_empty()) else {
            let cookie = self
                .cookie
                .as_ref()
                .map(|c| format!(" or the `{c}` cookie"))
                .unwrap_or_default();
            return Err(AuthError::Missing(cookie));
        };
        match &self.verifier {
            Verifier::None => unreachable!("handled above"),
            Verifier::Tokens(entries) => {
                let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                entries
                    .iter()
                    .find(|e| e.sha256 == digest)
                    .map(|e| Caller {
                        user: e.user.clone(),
                        roles: e.roles.clone(),
                        all_roles: false,
                    })
                    .ok_or_else(|| AuthError::Invalid("unknown token".into()))
            }
            Verifier::Jwt { keys, validation } => {
                let header = decode_header(token)
                    .map_err(|e| AuthError::Invalid(format!("not a JWT: {e}")))?;
                let key = match &header.kid {
                    Some(kid) if keys.len() > 1 => keys
                        .iter()
                        .find(|(k, _, _)| k.as_deref() == Some(kid.as_str())),
                    _ => keys.first(),
                }
                .ok_or_else(|| AuthError::Invalid("no key matches the token's kid".into()))?;
                let data = decode::<Value>(token, &key.1, validation)
                    .map_err(|e| AuthError::Invalid(jwt_reason(&e)))?;
                let claims = data.claims;
                let user = match claims.get(&self.user_claim) {
                    Some(Value::String(s)) if !s.is_empty() => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => {
                        return Err(AuthError::Invalid(format!(
                            "it has no `{}` claim",
                            self.user_claim
                        )))
                    }
                };
                let roles = match claims.get(&self.roles_claim) {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Number(n)) => vec![n.to_string()],
                    _ => vec![],
                };
                Ok(Caller {
                    user,
                    roles,
                    all_roles: false,
                })
            }
        }
    }
}

fn jwt_reason(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind::*;
    match e.kind() {
        ExpiredSignature => "it has expired".into(),
        InvalidSignature => "its signature is wrong".into(),
        InvalidIssuer => "wrong issuer".into(),
        InvalidAudience => "wrong audience".into(),
        ImmatureSignature => "it is not valid yet".into(),
        InvalidAlgorithm => "wrong algorithm".into(),
        MissingRequiredClaim(c) => format!("it has no `{c}` claim"),
        _ => "it could not be verified".into(),
    }
}
