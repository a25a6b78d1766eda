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
                // A configured issuer or audience is required, not only checked when present.
                let mut required = vec!["exp"];
                if j.issuer.is_some() {
                    required.push("iss");
                }
                if j.audience.is_some() {
                    required.push("aud");
                }
                validation.set_required_spec_claims(&required);
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
                // A token naming a key must name one we have (keys without a kid, from a PEM
                // file, take any); a token naming none uses the first key.
                let key = match &header.kid {
                    Some(kid) => keys
                        .iter()
                        .find(|(k, _, _)| k.as_deref().is_none_or(|k| k == kid)),
                    None => keys.first(),
                }
                .ok_or_else(|| AuthError::Invalid("no key matches the token's kid".into()))?;
                let data = if validation.algorithms == [key.2] {
                    decode::<Value>(token, &key.1, validation)
                } else {
                    // A JWKS may mix RSA and EC keys: check against the chosen key's algorithm.
                    let mut v = (**validation).clone();
                    v.algorithms = vec![key.2];
                    decode::<Value>(token, &key.1, &v)
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::JwtConfig;
    use jsonwebtoken::{encode, EncodingKey, Header};

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

    #[test]
    fn rs256_es256_and_jwks_keys_verify_tokens() {
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
            let caller = a.authenticate(&bearer(t)).unwrap();
            assert_eq!(
                (caller.user.as_str(), caller.roles.as_slice()),
                ("carol", &["tier2".to_string()][..])
            );
        }
        // A token signed by another key, or with another algorithm, is refused.
        let es_for_rsa = token(Algorithm::ES256, None, &ec);
        assert!(matches!(
            cases[0].0.authenticate(&bearer(&es_for_rsa)),
            Err(AuthError::Invalid(_))
        ));
        let wrong_kid = token(Algorithm::RS256, Some("other"), &rsa);
        assert!(matches!(
            cases[2].0.authenticate(&bearer(&wrong_kid)),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn a_configured_issuer_or_audience_is_required_in_the_token() {
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
        assert_eq!(a.authenticate(&bearer(&full)).unwrap().user, "carol");
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
            match a.authenticate(&bearer(&make(claims))) {
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
