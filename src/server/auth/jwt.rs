//! Verifying JWTs against a set of keys: the configured ones (`mode = "jwt"`: an HS256 secret,
//! an RS256/ES256 public key, or a JWKS file) and the OpenID provider's JWKS. A token naming a
//! key (`kid`) must name one of the set.

use super::AuthError;
use crate::server::config::{ConfigError, JwtConfig, JwtKey};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// One verification key: its `kid` (none for a PEM key), the key and its algorithm.
#[derive(Clone)]
pub(crate) struct Key {
    pub(super) kid: Option<String>,
    key: DecodingKey,
    alg: Algorithm,
}

/// How long a token may be past `exp` (clock skew), in seconds.
const LEEWAY: u64 = 30;

fn key_err(key: &str, e: impl std::fmt::Display) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: format!("is not a usable key: {e}"),
    }
}

/// A PEM key that does not parse, in words.
fn pem_err(key: &str, kind: &str, e: jsonwebtoken::errors::Error) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: format!(
            "is not a usable {kind} public key ({:?}); give the file holding the PEM public key, starting with -----BEGIN PUBLIC KEY-----",
            e.kind()
        ),
    }
}

/// The algorithm a JWK is used with: its own `alg`, else the usual one for its key type.
fn algorithm(k: &Jwk) -> Option<Algorithm> {
    if let Some(a) = k.common.key_algorithm {
        return Some(match a {
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::RS384 => Algorithm::RS384,
            KeyAlgorithm::RS512 => Algorithm::RS512,
            KeyAlgorithm::PS256 => Algorithm::PS256,
            KeyAlgorithm::PS384 => Algorithm::PS384,
            KeyAlgorithm::PS512 => Algorithm::PS512,
            KeyAlgorithm::ES256 => Algorithm::ES256,
            KeyAlgorithm::ES384 => Algorithm::ES384,
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
            _ => return None,
        });
    }
    Some(match &k.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => Algorithm::ES384,
        AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => return None,
    })
}

/// The signing keys of a JWKS; keys for encryption, or that cannot verify, are left out.
pub(super) fn keys_from_jwks(set: &JwkSet) -> Vec<Key> {
    set.keys
        .iter()
        .filter(|k| {
            !matches!(
                k.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
        })
        .filter_map(|k| {
            Some(Key {
                kid: k.common.key_id.clone(),
                alg: algorithm(k)?,
                key: DecodingKey::from_jwk(k).ok()?,
            })
        })
        .collect()
}

/// The keys of `mode = "jwt"`; a key that does not parse is a config error naming its key.
pub(crate) fn configured_keys(j: &JwtConfig) -> Result<Vec<Key>, ConfigError> {
    let one = |key, alg| {
        Ok(vec![Key {
            kid: None,
            key,
            alg,
        }])
    };
    match &j.key {
        JwtKey::Hs256(s) => one(DecodingKey::from_secret(s.as_bytes()), Algorithm::HS256),
        JwtKey::Rs256Pem(p) => one(
            DecodingKey::from_rsa_pem(p)
                .map_err(|e| pem_err("auth.jwt.rs256_public_key", "RSA", e))?,
            Algorithm::RS256,
        ),
        JwtKey::Es256Pem(p) => one(
            DecodingKey::from_ec_pem(p)
                .map_err(|e| pem_err("auth.jwt.es256_public_key", "EC P-256", e))?,
            Algorithm::ES256,
        ),
        JwtKey::Jwks(text) => {
            let set: JwkSet =
                serde_json::from_str(text).map_err(|e| key_err("auth.jwt.jwks", e))?;
            for k in &set.keys {
                DecodingKey::from_jwk(k).map_err(|e| key_err("auth.jwt.jwks", e))?;
            }
            let keys = keys_from_jwks(&set);
            if keys.is_empty() {
                return Err(key_err("auth.jwt.jwks", "it holds no keys"));
            }
            Ok(keys)
        }
    }
}

/// What a token must carry besides a good signature.
#[derive(Debug, Clone, Default)]
pub(super) struct Expect<'a> {
    /// Required `iss`.
    pub(super) issuer: Option<&'a str>,
    /// Required `aud`.
    pub(super) audience: Option<&'a str>,
}

/// The key a token's header asks for: a token naming a key must name one we have (keys
/// without a kid, from a PEM file, take any); a token naming none uses the first key.
pub(super) fn pick<'k>(keys: &'k [Key], kid: Option<&str>) -> Option<&'k Key> {
    match kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.kid.as_deref().is_none_or(|k| k == kid)),
        None => keys.first(),
    }
}

/// The `kid` a token names, or why it is not a JWT.
pub(super) fn kid_of(token: &str) -> Result<Option<String>, AuthError> {
    decode_header(token)
        .map(|h| h.kid)
        .map_err(|e| AuthError::Invalid(format!("not a JWT: {e}")))
}

/// Verifies `token` with `key` and returns its claims. A configured issuer or audience is
/// required in the token, not only checked when present; `exp` always is.
pub(super) fn verify(token: &str, key: &Key, expect: &Expect<'_>) -> Result<Value, AuthError> {
    let mut v = Validation::new(key.alg);
    v.algorithms = vec![key.alg];
    v.leeway = LEEWAY;
    v.validate_nbf = true;
    v.validate_aud = expect.audience.is_some();
    let mut required = vec!["exp"];
    if let Some(i) = expect.issuer {
        v.set_issuer(&[i]);
        required.push("iss");
    }
    if let Some(a) = expect.audience {
        v.set_audience(&[a]);
        required.push("aud");
    }
    v.set_required_spec_claims(&required);
    decode::<Value>(token, &key.key, &v)
        .map(|d| d.claims)
        .map_err(|e| AuthError::Invalid(reason(&e)))
}

fn reason(e: &jsonwebtoken::errors::Error) -> String {
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
