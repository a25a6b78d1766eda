//! The server's TOML config, with environment overrides, typed and checked at start. An error
//! names the offending key and says how to fix it.

mod raw;

use crate::server::profile::Profile;
use raw::{duration, size, RawAuth, RawConfig, RawS3};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A config problem: the key and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The offending key, e.g. `profile[1].max_size`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config key `{}`: {}", self.key, self.message)
    }
}
impl std::error::Error for ConfigError {}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

/// Where the signing credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given in the config or SIGNPOST_S3_* variables.
    Static {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
    Env,
    /// The AWS provider chain.
    AwsChain,
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Static { access_key_id, .. } => {
                write!(f, "Static({access_key_id}, secret redacted)")
            }
            Self::Env => write!(f, "Env"),
            Self::AwsChain => write!(f, "AwsChain"),
        }
    }
}

/// The S3 side: endpoint, region, addressing, credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// Custom endpoint; `None` for AWS.
    pub endpoint: Option<String>,
    /// Region.
    pub region: String,
    /// Path-style addressing.
    pub path_style: bool,
    /// Credentials.
    pub credentials: CredentialSource,
}

/// A static bearer token, stored as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// Hex SHA-256 of the token.
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

/// A rate limit per caller on the signing routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// One request is replenished every `1/per_second` seconds.
    pub per_second: u64,
    /// Requests allowed at once.
    pub burst: u32,
}

/// The whole, checked config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL people reach the server at (redirects come back here); default from `listen`.
    pub public_url: Option<String>,
    /// Origins allowed to call the API and to receive redirects, besides the public URL.
    pub allowed_origins: Vec<String>,
    /// Key for the signed upload state; random per start if absent.
    pub state_secret: Option<String>,
    /// Rate limit on signing routes, if any.
    pub rate_limit: Option<RateLimit>,
    /// Largest request body accepted.
    pub max_body: u64,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// How long presigned download links work.
    pub download_expires: Duration,
    /// S3 settings; `None` means the embedded store.
    pub s3: Option<S3Config>,
    /// Auth settings.
    pub auth: AuthConfig,
    /// Upload profiles.
    pub profiles: Vec<Profile>,
}

/// The address `signpost serve` listens on by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

fn origin_of(key: &str, url: &str) -> Result<String, ConfigError> {
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

/// The demo profiles served with no config: `avatar` and `document`.
pub fn demo_profiles(bucket: &str) -> Vec<Profile> {
    vec![
        Profile {
            name: "avatar".into(),
            title: "Avatar".into(),
            bucket: bucket.into(),
            key_template: "avatars/{user}/{uuid}/${filename}".into(),
            min_size: 1,
            max_size: 5 << 20,
            content_types: vec![],
            content_type_prefixes: vec!["image/".into()],
            expires: Duration::from_secs(15 * 60),
            metadata: vec![("profile".into(), "avatar".into())],
            acl: None,
            storage_class: None,
            sse: None,
            roles: vec![],
            multiple: false,
        },
        Profile {
            name: "document".into(),
            title: "Document".into(),
            bucket: bucket.into(),
            key_template: "documents/{user}/{date}/{uuid}/${filename}".into(),
            min_size: 1,
            max_size: 20 << 20,
            content_types: vec![
                "application/pdf".into(),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document".into(),
            ],
            content_type_prefixes: vec![],
            expires: Duration::from_secs(15 * 60),
            metadata: vec![("profile".into(), "document".into())],
            acl: None,
            storage_class: None,
            sse: None,
            roles: vec![],
            multiple: true,
        },
    ]
}

impl Config {
    /// The no-config demo: embedded store, no auth, no rate limit, the two demo profiles.
    pub fn demo(listen: SocketAddr) -> Self {
        Self {
            listen,
            public_url: None,
            allowed_origins: vec![],
            state_secret: None,
            rate_limit: None,
            max_body: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            download_expires: Duration::from_secs(15 * 60),
            s3: None,
            auth: AuthConfig {
                mode: AuthMode::None,
                cookie: None,
                user_claim: "sub".into(),
                roles_claim: "roles".into(),
            },
            profiles: demo_profiles("signpost-demo"),
        }
    }

    /// Reads and checks a config file; relative key-file paths are taken from its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(
                "(file)",
                format!(
                    "cannot read {}: {e}; check the path given to --config",
                    path.display()
                ),
            )
        })?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")), &|k| {
            std::env::var(k).ok()
        })
    }

    /// Parses config text; `env` looks up overrides (SIGNPOST_S3_ENDPOINT, …).
    pub fn parse(
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            let key = msg
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "(syntax)".into());
            let line = e.span().map(|s| text[..s.start].lines().count().max(1));
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            err(key, format!("{msg}{at}"))
        })?;
        let env = |k: &str| env(k).filter(|v| !v.is_empty());

        let listen_text = env("SIGNPOST_LISTEN")
            .or(raw.server.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen = listen_text.parse().map_err(|_| {
            err(
                "server.listen",
                format!("`{listen_text}` is not an address; write e.g. 127.0.0.1:8080"),
            )
        })?;
        let public_url = env("SIGNPOST_PUBLIC_URL").or(raw.server.public_url);
        if let Some(u) = &public_url {
            origin_of("server.public_url", u)?;
        }
        let mut allowed_origins = Vec::new();
        for (i, o) in raw.server.allowed_origins.iter().enumerate() {
            allowed_origins.push(origin_of(&format!("server.allowed_origins[{i}]"), o)?);
        }
        let state_secret = env("SIGNPOST_STATE_SECRET").or(raw.server.state_secret);
        if let Some(s) = &state_secret {
            if s.len() < 32 {
                return Err(err(
                    "server.state_secret",
                    "must be at least 32 characters; generate one with `openssl rand -hex 32`",
                ));
            }
        }
        let rate_limit = match raw.server.rate_limit {
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
        let max_body = match &raw.server.max_body {
            Some(s) => size("server.max_body", s)?,
            None => 64 * 1024,
        };
        let request_timeout = match &raw.server.request_timeout {
            Some(d) => duration("server.request_timeout", d)?,
            None => Duration::from_secs(30),
        };
        let download_expires = match &raw.server.download_expires {
            Some(d) => duration("server.download_expires", d)?,
            None => Duration::from_secs(15 * 60),
        };
        if download_expires.is_zero() || download_expires > crate::lint::MAX_EXPIRY {
            return Err(err("server.download_expires", "must be between 1s and 7d"));
        }

        let s3 = match raw.s3 {
            None => None,
            Some(s) => Some(Self::s3(s, &env)?),
        };
        let auth = Self::auth(raw.auth, base, &env)?;

        if raw.profile.is_empty() {
            return Err(err("profile", "no [[profile]] given; add at least one, e.g. name = \"avatar\" (see signpost.example.toml)"));
        }
        let mut profiles: Vec<Profile> = Vec::new();
        for (i, p) in raw.profile.into_iter().enumerate() {
            let k = |f: &str| format!("profile[{i}].{f}");
            if profiles.iter().any(|q| q.name == p.name) {
                return Err(err(
                    k("name"),
                    format!("`{}` is used twice; give each profile its own name", p.name),
                ));
            }
            let profile = Profile {
                title: p.title.unwrap_or_else(|| p.name.clone()),
                name: p.name,
                bucket: p.bucket,
                key_template: p.key,
                min_size: match &p.min_size {
                    Some(s) => size(&k("min_size"), s)?,
                    None => 0,
                },
                max_size: size(&k("max_size"), &p.max_size)?,
                content_types: p
                    .content_types
                    .iter()
                    .map(|t| t.trim().to_ascii_lowercase())
                    .collect(),
                content_type_prefixes: p.content_type_prefix.into_iter().collect(),
                expires: match &p.expires {
                    Some(d) => duration(&k("expires"), d)?,
                    None => Duration::from_secs(15 * 60),
                },
                metadata: p.metadata.into_iter().collect(),
                acl: p.acl,
                storage_class: p.storage_class,
                sse: p.sse,
                roles: p.roles,
                multiple: p.multiple,
            };
            profile.validate().map_err(|m| {
                let field = if m.starts_with("key") {
                    "key"
                } else if m.starts_with("name") {
                    "name"
                } else if m.starts_with("bucket") {
                    "bucket"
                } else if m.starts_with("expires") {
                    "expires"
                } else {
                    "max_size"
                };
                err(k(field), m)
            })?;
            if auth.mode != AuthMode::None && !profile.key_template.contains("{user}") {
                return Err(err(k("key"), "with auth on, the key must contain {user} so each caller stays under its own prefix"));
            }
            for (m, _) in &profile.metadata {
                crate::Field::parse(&format!("x-amz-meta-{m}")).map_err(|_| {
                    err(
                        k("metadata"),
                        format!("`{m}` is not a valid metadata name; use letters, digits, - and _"),
                    )
                })?;
            }
            profiles.push(profile);
        }

        Ok(Self {
            listen,
            public_url,
            allowed_origins,
            state_secret,
            rate_limit,
            max_body,
            request_timeout,
            download_expires,
            s3,
            auth,
            profiles,
        })
    }

    fn s3(s: RawS3, env: &dyn Fn(&str) -> Option<String>) -> Result<S3Config, ConfigError> {
        let endpoint = env("SIGNPOST_S3_ENDPOINT").or(s.endpoint);
        if let Some(e) = &endpoint {
            crate::Endpoint::custom(e, true).map_err(|x| err("s3.endpoint", x.to_string()))?;
        }
        let region = env("SIGNPOST_S3_REGION")
            .or(s.region)
            .or_else(|| env("AWS_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let ak = env("SIGNPOST_S3_ACCESS_KEY_ID").or(s.access_key_id);
        let sk = env("SIGNPOST_S3_SECRET_ACCESS_KEY").or(s.secret_access_key);
        let token = env("SIGNPOST_S3_SESSION_TOKEN").or(s.session_token);
        let credentials = match (s.credentials.as_deref(), ak, sk) {
            (None | Some("static"), Some(a), Some(k)) => {
                CredentialSource::Static { access_key_id: a, secret_access_key: k, session_token: token }
            }
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
            path_style: s.path_style.unwrap_or(endpoint.is_some()),
            endpoint,
            region,
            credentials,
        })
    }

    fn auth(
        a: RawAuth,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AuthConfig, ConfigError> {
        let mode = match a.mode.as_deref().unwrap_or("none") {
            "none" => AuthMode::None,
            "tokens" => {
                if a.tokens.is_empty() {
                    return Err(err("auth.tokens", "mode is \"tokens\" but no [[auth.tokens]] are given; add sha256, user and roles"));
                }
                let mut out = Vec::new();
                for (i, t) in a.tokens.into_iter().enumerate() {
                    let mut sha = [0u8; 32];
                    hex::decode_to_slice(t.sha256.trim(), &mut sha).map_err(|_| {
                        err(format!("auth.tokens[{i}].sha256"), "must be 64 hex characters: the SHA-256 of the token (`printf %s TOKEN | sha256sum`)")
                    })?;
                    out.push(TokenEntry {
                        sha256: sha,
                        user: t.user,
                        roles: t.roles,
                    });
                }
                AuthMode::Tokens(out)
            }
            "jwt" => {
                let j = a.jwt.ok_or_else(|| err("auth.jwt", "mode is \"jwt\" but [auth.jwt] is missing; give hs256_secret, rs256_public_key, es256_public_key or jwks"))?;
                let read = |key: &str, p: &Path| {
                    let full = base.join(p);
                    std::fs::read(&full)
                        .map_err(|e| err(key, format!("cannot read {}: {e}", full.display())))
                };
                let hs = env("SIGNPOST_JWT_HS256_SECRET").or(j.hs256_secret);
                let key = match (hs, &j.rs256_public_key, &j.es256_public_key, &j.jwks) {
                    (Some(s), None, None, None) => {
                        if s.len() < 32 {
                            return Err(err("auth.jwt.hs256_secret", "must be at least 32 characters"));
                        }
                        JwtKey::Hs256(s)
                    }
                    (None, Some(p), None, None) => JwtKey::Rs256Pem(read("auth.jwt.rs256_public_key", p)?),
                    (None, None, Some(p), None) => JwtKey::Es256Pem(read("auth.jwt.es256_public_key", p)?),
                    (None, None, None, Some(p)) => {
                        let bytes = read("auth.jwt.jwks", p)?;
                        JwtKey::Jwks(String::from_utf8(bytes).map_err(|_| err("auth.jwt.jwks", "is not UTF-8 JSON"))?)
                    }
                    _ => return Err(err("auth.jwt", "give exactly one of hs256_secret, rs256_public_key, es256_public_key or jwks")),
                };
                AuthMode::Jwt(JwtConfig {
                    key,
                    issuer: j.issuer,
                    audience: j.audience,
                })
            }
            other => {
                return Err(err(
                    "auth.mode",
                    format!("`{other}` is not an auth mode; use \"none\", \"tokens\" or \"jwt\""),
                ))
            }
        };
        Ok(AuthConfig {
            mode,
            cookie: a.cookie,
            user_claim: a.user_claim.unwrap_or_else(|| "sub".into()),
            roles_claim: a.roles_claim.unwrap_or_else(|| "roles".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("."), &|_| None)
    }

    const MIN: &str = r#"
[s3]
endpoint = "http://127.0.0.1:9000"
access_key_id = "AK"
secret_access_key = "SK"
[[profile]]
name = "avatar"
bucket = "b"
key = "avatars/{user}/{uuid}/${filename}"
max_size = "5MiB"
content_type_prefix = "image/"
"#;

    #[test]
    fn a_minimal_config_parses() {
        let c = parse(MIN).unwrap();
        assert_eq!(c.profiles[0].max_size, 5 << 20);
        assert!(c.s3.unwrap().path_style);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse(&MIN.replace("\"5MiB\"", "\"5 parsecs\"")).unwrap_err();
        assert_eq!(e.key, "profile[0].max_size");
        let e = parse(&MIN.replace("${filename}", "{nope}/${filename}")).unwrap_err();
        assert_eq!(e.key, "profile[0].key");
        let e = parse(&format!("{MIN}\nfoo = 1\n")).unwrap_err();
        assert!(e.to_string().contains("foo"), "{e}");
        let e = parse(&MIN.replace("secret_access_key = \"SK\"", "")).unwrap_err();
        assert_eq!(e.key, "s3.secret_access_key");
        let e = parse(&format!("{MIN}\n[auth]\nmode = \"magic\"\n")).unwrap_err();
        assert_eq!(e.key, "auth.mode");
        let e = parse(&MIN.replace(
            "endpoint = \"http://127.0.0.1:9000\"",
            "endpoint = \"127.0.0.1:9000\"",
        ))
        .unwrap_err();
        assert_eq!(e.key, "s3.endpoint");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let c = parse(MIN).unwrap();
        assert!(!format!("{c:?}").contains("\"SK\""));
    }

    #[test]
    fn the_shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("signpost.example.toml");
        let c = Config::parse(
            &std::fs::read_to_string(&path).unwrap(),
            Path::new("."),
            &|_| None,
        )
        .unwrap();
        let names: Vec<_> = c.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["avatar", "document"]);
        assert!(
            c.rate_limit.is_some(),
            "the example config turns the rate limit on"
        );
        assert_eq!(c.profiles[0].max_size, 5 << 20);
        assert_eq!(c.profiles[1].max_size, 20 << 20);
        assert!(matches!(c.auth.mode, AuthMode::Tokens(ref t) if t.len() == 2));
        // The no-config demo serves the same two names.
        let demo: Vec<_> = demo_profiles("b").into_iter().map(|p| p.name).collect();
        assert_eq!(demo, names);
    }

    #[test]
    fn env_overrides() {
        let c = Config::parse(MIN, Path::new("."), &|k| {
            (k == "SIGNPOST_S3_REGION").then(|| "eu-west-1".to_string())
        })
        .unwrap();
        assert_eq!(c.s3.unwrap().region, "eu-west-1");
    }
}
