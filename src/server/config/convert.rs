//! From the raw shapes to the checked config: each part with `TryFrom`, each error naming its
//! key. Defaults are the constants in [`super::defaults`], written once.

use super::defaults;
use super::raw::{RawAccess, RawDuration, RawProfile, RawS3, RawServer, RawSize};
use super::{
    err, ConfigError, ConnectionLimits, CredentialSource, RateLimit, S3Config, ServerConfig,
};
use crate::server::access::{AccessRule, PutLimits, Verb};
use crate::server::profile::{Profile, ProfileError};
use crate::units::{parse_duration, parse_size};
use std::time::Duration;

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

fn size_or(key: &str, v: Option<&RawSize>, default: u64) -> Result<u64, ConfigError> {
    v.map_or(Ok(default), |v| size(key, v))
}

pub(super) fn duration_or(
    key: &str,
    v: Option<&RawDuration>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    v.map_or(Ok(default), |v| duration(key, v))
}

/// The origin (`scheme://host[:port]`) of an http(s) URL, or an error naming `key`.
pub(super) fn origin_of(key: &str, url: &str) -> Result<String, ConfigError> {
    let uri: http::Uri = url.parse().map_err(|_| {
        err(
            key,
            format!("`{url}` is not a URL; write e.g. https://uploads.example.com"),
        )
    })?;
    match (uri.scheme_str(), uri.authority()) {
        (Some(s @ ("http" | "https")), Some(a)) => Ok(format!("{s}://{a}")),
        _ => Err(err(
            key,
            format!("`{url}` needs an http or https scheme and a host"),
        )),
    }
}

impl TryFrom<RawServer> for ServerConfig {
    type Error = ConfigError;

    fn try_from(s: RawServer) -> Result<Self, ConfigError> {
        let listen_text = s.listen.unwrap_or_else(|| defaults::LISTEN.into());
        let listen = listen_text.parse().map_err(|_| {
            err(
                "server.listen",
                format!("`{listen_text}` is not an address; write e.g. 127.0.0.1:8080"),
            )
        })?;
        if let Some(u) = &s.public_url {
            origin_of("server.public_url", u)?;
        }
        let allowed_origins = s
            .allowed_origins
            .iter()
            .enumerate()
            .map(|(i, o)| origin_of(&format!("server.allowed_origins[{i}]"), o))
            .collect::<Result<_, _>>()?;
        if let Some(secret) = &s.state_secret {
            if secret.len() < 32 {
                return Err(err(
                    "server.state_secret",
                    "must be at least 32 characters; generate one with `openssl rand -hex 32`",
                ));
            }
        }
        let rate_limit = match s.rate_limit {
            Some(r) if r.per_second == 0 || r.burst == 0 => return Err(err(
                "server.rate_limit",
                "per_second and burst must be at least 1; remove the table to turn the limit off",
            )),
            Some(r) => Some(RateLimit {
                per_second: r.per_second,
                burst: r.burst,
            }),
            None => None,
        };
        let download_expires = duration_or(
            "server.download_expires",
            s.download_expires.as_ref(),
            defaults::DOWNLOAD_EXPIRES,
        )?;
        if download_expires.is_zero() || download_expires > crate::lint::MAX_EXPIRY {
            return Err(err("server.download_expires", "must be between 1s and 7d"));
        }
        let multipart_threshold = size_or(
            "server.multipart_threshold",
            s.multipart_threshold.as_ref(),
            defaults::MULTIPART_THRESHOLD,
        )?;
        if !(crate::lint::MIN_PART_SIZE..=crate::lint::MAX_POST_SIZE).contains(&multipart_threshold)
        {
            return Err(err(
                "server.multipart_threshold",
                "must be between 5MiB (S3's smallest part) and 5GiB (the most one POST carries); e.g. 100MiB",
            ));
        }
        if s.companion_profile.as_deref() == Some("") {
            return Err(err(
                "server.companion_profile",
                "is empty; name a [[profile]] or remove the key",
            ));
        }
        let connections = ConnectionLimits::from_raw(
            s.header_timeout.as_ref(),
            s.idle_timeout.as_ref(),
            s.max_connections,
        )?;
        Ok(ServerConfig {
            listen,
            public_url: s.public_url,
            allowed_origins,
            state_secret: s.state_secret,
            rate_limit,
            max_body: size_or("server.max_body", s.max_body.as_ref(), defaults::MAX_BODY)?,
            request_timeout: duration_or(
                "server.request_timeout",
                s.request_timeout.as_ref(),
                defaults::REQUEST_TIMEOUT,
            )?,
            download_expires,
            companion_profile: s.companion_profile,
            multipart_threshold,
            connections,
        })
    }
}

impl TryFrom<RawS3> for S3Config {
    type Error = ConfigError;

    fn try_from(s: RawS3) -> Result<Self, ConfigError> {
        if let Some(e) = &s.endpoint {
            crate::Endpoint::custom(e, true).map_err(|x| err("s3.endpoint", x.to_string()))?;
        }
        let credentials = match (s.credentials.as_deref(), s.access_key_id, s.secret_access_key) {
            (None | Some("static"), Some(a), Some(k)) => CredentialSource::Static {
                access_key_id: a,
                secret_access_key: k,
                session_token: s.session_token,
            },
            (Some("static"), _, _) | (None, Some(_), None) | (None, None, Some(_)) => {
                return Err(err(
                    "s3.secret_access_key",
                    "static credentials need both s3.access_key_id and s3.secret_access_key (or SIGNPOST_S3_ACCESS_KEY_ID / SIGNPOST_S3_SECRET_ACCESS_KEY)",
                ))
            }
            (Some("env"), _, _) => CredentialSource::Env,
            (Some("aws-chain") | None, None, None) => CredentialSource::AwsChain,
            (Some("aws-chain"), _, _) => {
                return Err(err("s3.credentials", "is \"aws-chain\" but keys are also given; remove the keys or use \"static\""))
            }
            (Some(other), _, _) => {
                return Err(err("s3.credentials", format!("`{other}` is not a credential source; use \"static\", \"env\" or \"aws-chain\"")))
            }
        };
        Ok(S3Config {
            path_style: s.path_style.unwrap_or(s.endpoint.is_some()),
            endpoint: s.endpoint,
            region: s.region.unwrap_or_else(|| defaults::REGION.into()),
            credentials,
        })
    }
}

/// A profile conversion error: a config error for one field, or a profile check.
pub(super) enum ProfileProblem {
    /// A value that does not parse, under its key within the profile.
    Value(ConfigError),
    /// A profile check that failed.
    Check(ProfileError),
}

impl From<ProfileError> for ProfileProblem {
    fn from(e: ProfileError) -> Self {
        Self::Check(e)
    }
}

impl TryFrom<RawProfile> for Profile {
    type Error = ProfileProblem;

    /// Keys in value errors are relative (`max_size`); the caller puts `profile[i].` before.
    fn try_from(p: RawProfile) -> Result<Self, ProfileProblem> {
        let value = ProfileProblem::Value;
        let profile = Profile {
            title: p.title.unwrap_or_else(|| p.name.clone()),
            name: p.name,
            bucket: p.bucket,
            key_template: p.key,
            min_size: size_or("min_size", p.min_size.as_ref(), 0).map_err(value)?,
            max_size: size("max_size", &p.max_size).map_err(value)?,
            content_types: exact_types(&p.content_types, p.content_type_prefix.as_deref())
                .map_err(value)?,
            expires: duration_or("expires", p.expires.as_ref(), defaults::FORM_EXPIRES)
                .map_err(value)?,
            metadata: p.metadata.into_iter().collect(),
            acl: p.acl,
            storage_class: p.storage_class,
            sse: p.sse,
            roles: p.roles,
            multiple: p.multiple,
        };
        profile.validate()?;
        for (m, _) in &profile.metadata {
            crate::Field::parse(&format!("x-amz-meta-{m}")).map_err(|_| {
                value(err(
                    "metadata",
                    format!("`{m}` is not a valid metadata name; use letters, digits, - and _"),
                ))
            })?;
        }
        Ok(profile)
    }
}

/// `content_types` as exact types. A prefix (`content_type_prefix`, or `image/*` in the list)
/// is refused: `image/` also lets in SVG, which runs script on the storage's origin.
fn exact_types(types: &[String], prefix: Option<&str>) -> Result<Vec<String>, ConfigError> {
    const EXAMPLE: &str =
        "e.g. content_types = [\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\"]";
    if let Some(p) = prefix {
        return Err(err(
            "content_type_prefix",
            format!("`{p}` is a prefix, and a prefix lets in types that run script (image/ lets in image/svg+xml); list the exact types in content_types instead, {EXAMPLE}"),
        ));
    }
    types
        .iter()
        .map(|t| {
            crate::server::content_type::parse_exact(t)
                .map_err(|e| err("content_types", format!("{e}; list exact types, {EXAMPLE}")))
        })
        .collect()
}

/// Checks a key prefix written in config (`prefix` of an access rule).
fn check_prefix(p: &str) -> Result<(), String> {
    if p.starts_with('/') {
        return Err(format!(
            "`{p}` starts with /; write prefixes without a leading slash, e.g. \"tier 1/\""
        ));
    }
    if !p.is_empty() && !p.ends_with('/') {
        return Err(format!("`{p}` must end with / (or be empty for the whole bucket); otherwise `{p}` would also match `{p}x…`"));
    }
    if crate::wire::has_dot_segment(p.trim_end_matches('/')) {
        return Err(format!("`{p}` has a . or .. segment"));
    }
    let rest = p.replace("{user}", "");
    if rest.contains(['{', '}', '$']) {
        return Err(format!(
            "`{p}` has an unknown placeholder; only {{user}} may be used"
        ));
    }
    if p.match_indices("{user}")
        .any(|(i, _)| !p[i + 6..].starts_with('/') || (i > 0 && !p[..i].ends_with('/')))
    {
        return Err(format!(
            "`{p}`: {{user}} must be a whole folder, followed by /, e.g. \"home/{{user}}/\""
        ));
    }
    Ok(())
}

impl TryFrom<RawAccess> for AccessRule {
    type Error = ConfigError;

    /// Keys in errors are relative (`prefix`); the caller puts `access[i].` before.
    fn try_from(a: RawAccess) -> Result<Self, ConfigError> {
        if a.name.trim().is_empty() {
            return Err(err("name", "is empty; name the rule, e.g. \"tier-1\""));
        }
        if a.bucket.trim().is_empty() {
            return Err(err(
                "bucket",
                "is empty; name the bucket this rule is about",
            ));
        }
        check_prefix(&a.prefix).map_err(|m| err("prefix", m))?;
        let pattern = a
            .pattern
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .map_err(|e| err("pattern", format!("is not a valid regular expression: {e}")))?;
        if a.allow.is_empty() {
            return Err(err(
                "allow",
                "is empty; list what the rule allows: get, head, list, put, delete",
            ));
        }
        let mut allow = Vec::new();
        for (j, word) in a.allow.iter().enumerate() {
            let verb = Verb::parse(word).ok_or_else(|| {
                err(
                    format!("allow[{j}]"),
                    format!("`{word}` is not a method; use get, head, list, put or delete"),
                )
            })?;
            if !allow.contains(&verb) {
                allow.push(verb);
            }
        }
        let expires = duration_or("expires", a.expires.as_ref(), defaults::LINK_EXPIRES)?;
        let max_expires = duration_or(
            "max_expires",
            a.max_expires.as_ref(),
            crate::lint::MAX_EXPIRY,
        )?;
        if max_expires.is_zero() || max_expires > crate::lint::MAX_EXPIRY {
            return Err(err(
                "max_expires",
                "must be between 1s and 7d (S3 refuses longer links)",
            ));
        }
        if expires.is_zero() || expires > max_expires {
            return Err(err(
                "expires",
                "must be at least 1s and at most max_expires",
            ));
        }
        let max_size = a
            .max_size
            .as_ref()
            .map(|v| size("max_size", v))
            .transpose()?;
        Ok(AccessRule {
            name: a.name,
            bucket: a.bucket,
            prefix: a.prefix,
            pattern,
            roles: a.roles,
            allow,
            expires,
            max_expires,
            put: PutLimits {
                content_types: exact_types(&a.content_types, a.content_type_prefix.as_deref())?,
                max_size,
            },
        })
    }
}
