//! The config file's shapes exactly as written in TOML, before any checking: sizes and
//! durations may be numbers or strings, and unknown keys are refused by name. Environment
//! overrides are laid over these shapes before they are checked, so every value is checked
//! in one place whatever its source.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// A size written as a number of bytes or a string like "5MiB".
#[derive(Debug, Clone)]
pub(super) enum RawSize {
    Bytes(u64),
    Text(String),
}

/// A duration written as seconds or a string like "15m".
#[derive(Debug, Clone)]
pub(super) enum RawDuration {
    Secs(u64),
    Text(String),
}

/// Deserializes a number (not negative) or a string, with a message that says what to write.
macro_rules! number_or_text {
    ($ty:ident, $num:ident, $what:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        Ok($ty::$num(v))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        u64::try_from(v)
                            .map($ty::$num)
                            .map_err(|_| E::custom(format!("{v} is negative; write {}", $what)))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        Ok($ty::Text(v.to_string()))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

number_or_text!(
    RawSize,
    Bytes,
    "a size: bytes like 1048576, or 5MiB, 20MB, 512KiB"
);
number_or_text!(
    RawDuration,
    Secs,
    "a duration: seconds like 900, or 30s, 15m, 1h, 7d"
);

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
    #[serde(default)]
    pub(super) access: Vec<RawAccess>,
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
    pub(super) companion_profile: Option<String>,
    pub(super) multipart_threshold: Option<RawSize>,
    pub(super) header_timeout: Option<RawDuration>,
    pub(super) idle_timeout: Option<RawDuration>,
    pub(super) max_connections: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(super) per_second: u64,
    pub(super) burst: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawS3 {
    pub(super) endpoint: Option<String>,
    pub(super) region: Option<String>,
    pub(super) path_style: Option<bool>,
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
    pub(super) oidc: Option<RawOidc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    pub(super) sha256: String,
    pub(super) user: String,
    #[serde(default)]
    pub(super) roles: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJwt {
    pub(super) hs256_secret: Option<String>,
    pub(super) rs256_public_key: Option<PathBuf>,
    pub(super) es256_public_key: Option<PathBuf>,
    pub(super) jwks: Option<PathBuf>,
    pub(super) issuer: Option<String>,
    pub(super) audience: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOidc {
    pub(super) issuer: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) audience: Option<String>,
    pub(super) session_expires: Option<RawDuration>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    pub(super) name: String,
    pub(super) bucket: String,
    #[serde(default)]
    pub(super) prefix: String,
    pub(super) pattern: Option<String>,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    pub(super) allow: Vec<String>,
    pub(super) expires: Option<RawDuration>,
    pub(super) max_expires: Option<RawDuration>,
    #[serde(default)]
    pub(super) content_types: Vec<String>,
    pub(super) content_type_prefix: Option<String>,
    pub(super) max_size: Option<RawSize>,
}

impl RawConfig {
    /// Lays the `SIGNPOST_*` environment overrides over the file's values.
    pub(super) fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let set = |slot: &mut Option<String>, var: &str| {
            if let Some(v) = env(var) {
                *slot = Some(v);
            }
        };
        set(&mut self.server.listen, "SIGNPOST_LISTEN");
        set(&mut self.server.public_url, "SIGNPOST_PUBLIC_URL");
        set(&mut self.server.state_secret, "SIGNPOST_STATE_SECRET");
        if let Some(s3) = &mut self.s3 {
            set(&mut s3.endpoint, "SIGNPOST_S3_ENDPOINT");
            set(&mut s3.region, "SIGNPOST_S3_REGION");
            if s3.region.is_none() {
                s3.region = env("AWS_REGION");
            }
            set(&mut s3.access_key_id, "SIGNPOST_S3_ACCESS_KEY_ID");
            set(&mut s3.secret_access_key, "SIGNPOST_S3_SECRET_ACCESS_KEY");
            set(&mut s3.session_token, "SIGNPOST_S3_SESSION_TOKEN");
        }
        if let Some(jwt) = &mut self.auth.jwt {
            set(&mut jwt.hs256_secret, "SIGNPOST_JWT_HS256_SECRET");
        }
        if let Some(secret) = env("SIGNPOST_OIDC_CLIENT_SECRET") {
            self.auth
                .oidc
                .get_or_insert_with(RawOidc::default)
                .client_secret = Some(secret);
        }
    }
}
