//! The config file's shapes exactly as written in TOML, before any checking: sizes and
//! durations may be numbers or strings, and unknown keys are refused by name.

use super::{err, ConfigError};
use crate::units::{parse_duration, parse_size};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// A size written as a number of bytes or a string like "5MiB".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawSize {
    Bytes(u64),
    Text(String),
}

/// A duration written as seconds or a string like "15m".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDuration {
    Secs(u64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) server: RawServer,
    pub(super) s3: Option<RawS3>,
    #[serde(default)]
    pub(super) auth: RawAuth,
    #[serde(default)]
    pub(super) profile: Vec<RawProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<String>,
    pub(super) public_url: Option<String>,
    #[serde(default)]
    pub(super) allowed_origins: Vec<String>,
    pub(super) state_secret: Option<String>,
    pub(super) rate_limit: Option<RawRateLimit>,
    pub(super) max_body: Option<RawSize>,
    pub(super) request_timeout: Option<RawDuration>,
    pub(super) download_expires: Option<RawDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(super) per_second: u64,
    pub(super) burst: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawS3 {
    pub(super) endpoint: Option<String>,
    pub(super) region: Option<String>,
    #[serde(default)]
    pub(super) path_style: Option<bool>,
    #[serde(default)]
    pub(super) credentials: Option<String>,
    pub(super) access_key_id: Option<String>,
    pub(super) secret_access_key: Option<String>,
    pub(super) session_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    pub(super) mode: Option<String>,
    pub(super) cookie: Option<String>,
    pub(super) user_claim: Option<String>,
    pub(super) roles_claim: Option<String>,
    #[serde(default)]
    pub(super) tokens: Vec<RawToken>,
    pub(super) jwt: Option<RawJwt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    pub(super) sha256: String,
    pub(super) user: String,
    #[serde(default)]
    pub(super) roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJwt {
    pub(super) hs256_secret: Option<String>,
    pub(super) rs256_public_key: Option<PathBuf>,
    pub(super) es256_public_key: Option<PathBuf>,
    pub(super) jwks: Option<PathBuf>,
    pub(super) issuer: Option<String>,
    pub(super) audience: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    pub(super) name: String,
    pub(super) title: Option<String>,
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) min_size: Option<RawSize>,
    pub(super) max_size: RawSize,
    #[serde(default)]
    pub(super) content_types: Vec<String>,
    pub(super) content_type_prefix: Option<String>,
    pub(super) expires: Option<RawDuration>,
    #[serde(default)]
    pub(super) metadata: std::collections::BTreeMap<String, String>,
    pub(super) acl: Option<String>,
    pub(super) storage_class: Option<String>,
    pub(super) sse: Option<String>,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    #[serde(default)]
    pub(super) multiple: bool,
}

pub(super) fn size(key: &str, v: &RawSize) -> Result<u64, ConfigError> {
    match v {
        RawSize::Bytes(b) => Ok(*b),
        RawSize::Text(t) => parse_size(t).map_err(|e| err(key, e.to_string())),
    }
}

pub(super) fn duration(key: &str, v: &RawDuration) -> Result<Duration, ConfigError> {
    match v {
        RawDuration::Secs(s) => Ok(Duration::from_secs(*s)),
        RawDuration::Text(t) => parse_duration(t).map_err(|e| err(key, e.to_string())),
    }
}
