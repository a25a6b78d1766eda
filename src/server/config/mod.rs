//! The server's TOML config, with environment overrides, typed and checked at start. An error
//! names the offending key and says how to fix it.
//!
//! The file is read into the raw shapes of [`raw`] (with the key path of any value that does
//! not fit), environment overrides are laid over them, and each part becomes its checked type
//! through `TryFrom` in [`convert`].

mod auth;
mod connections;
mod convert;
mod raw;

pub use auth::{AuthConfig, AuthMode, JwtConfig, JwtKey, OidcConfig, TokenEntry};
pub use connections::ConnectionLimits;

use crate::server::access::AccessRule;
use crate::server::profile::Profile;
use convert::ProfileProblem;
use raw::RawConfig;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Every default, written once.
pub mod defaults {
    use std::time::Duration;

    /// The address `signpost serve` listens on.
    pub const LISTEN: &str = "127.0.0.1:8080";
    /// The largest request body.
    pub const MAX_BODY: u64 = 64 * 1024;
    /// The per-request timeout.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// How long download links work.
    pub const DOWNLOAD_EXPIRES: Duration = Duration::from_secs(15 * 60);
    /// How long a signed form works.
    pub const FORM_EXPIRES: Duration = Duration::from_secs(15 * 60);
    /// The region when none is given.
    pub const REGION: &str = "us-east-1";
    /// The claim naming the user.
    pub const USER_CLAIM: &str = "sub";
    /// The claim holding roles or the tier.
    pub const ROLES_CLAIM: &str = "roles";
    /// A link's lifetime under an access rule that gives none.
    pub const LINK_EXPIRES: Duration = Duration::from_secs(3600);
    /// signpost's own page uploads files larger than this in parts (Uppy's default too).
    pub const MULTIPART_THRESHOLD: u64 = 100 * 1024 * 1024;
    /// Scopes asked for at OpenID sign-in.
    pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email"];
    /// How long a browser session lasts after signing in.
    pub const SESSION_EXPIRES: Duration = Duration::from_secs(8 * 3600);
    /// The embedded store's bucket in the demo.
    pub const DEMO_BUCKET: &str = "signpost-demo";
    /// How long a client has to send a request's head, from its first byte.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long a connection may wait for its next request (after connecting, between requests).
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
    /// Connections served at once (lowered if the process's file limit cannot fit them).
    pub const MAX_CONNECTIONS: usize = 1024;
}

/// The address `signpost serve` listens on by default.
pub const DEFAULT_LISTEN: &str = defaults::LISTEN;

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
        /// The access key id.
        access_key_id: String,
        /// The secret (never shown).
        secret_access_key: String,
        /// The session token of temporary credentials.
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

/// A rate limit per caller on the signing routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// One request is replenished every `1/per_second` seconds.
    pub per_second: u64,
    /// Requests allowed at once.
    pub burst: u32,
}

/// The `[server]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
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
    /// The profile Uppy's Companion routes use when a file's metadata names none.
    pub companion_profile: Option<String>,
    /// Files larger than this are uploaded in parts by signpost's own page.
    pub multipart_threshold: u64,
    /// Header-read and idle timeouts, and the connection cap.
    pub connections: ConnectionLimits,
}

/// The whole, checked config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `[server]` table.
    pub server: ServerConfig,
    /// S3 settings; `None` means the embedded store.
    pub s3: Option<S3Config>,
    /// Auth settings.
    pub auth: AuthConfig,
    /// Upload profiles.
    pub profiles: Vec<Profile>,
    /// Access rules for existing objects (`[[access]]`).
    pub access: Vec<AccessRule>,
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
            content_types: ["image/png", "image/jpeg", "image/gif", "image/webp"]
                .map(String::from)
                .to_vec(),
            expires: defaults::FORM_EXPIRES,
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
            expires: defaults::FORM_EXPIRES,
            metadata: vec![("profile".into(), "document".into())],
            acl: None,
            storage_class: None,
            sse: None,
            roles: vec![],
            multiple: true,
        },
    ]
}

/// Reads TOML into the raw shapes; an error names the key path and the line.
fn read_raw(text: &str) -> Result<RawConfig, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.message().to_string();
        // The path names the key, an unknown one included; a syntax error has none.
        let key = if path == "." {
            "(syntax)".to_string()
        } else {
            path
        };
        let line = inner.span().map(|s| text[..s.start].lines().count().max(1));
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        err(key, format!("{msg}{at}"))
    })
}

impl Config {
    /// The no-config demo: embedded store, no auth, no rate limit, the two demo profiles.
    pub fn demo(listen: SocketAddr) -> Self {
        Self {
            server: ServerConfig {
                listen,
                public_url: None,
                allowed_origins: vec![],
                state_secret: None,
                rate_limit: None,
                max_body: defaults::MAX_BODY,
                request_timeout: defaults::REQUEST_TIMEOUT,
                download_expires: defaults::DOWNLOAD_EXPIRES,
                companion_profile: None,
                multipart_threshold: defaults::MULTIPART_THRESHOLD,
                connections: ConnectionLimits::default(),
            },
            s3: None,
            auth: AuthConfig {
                mode: AuthMode::None,
                cookie: None,
                user_claim: defaults::USER_CLAIM.into(),
                roles_claim: defaults::ROLES_CLAIM.into(),
            },
            profiles: demo_profiles(defaults::DEMO_BUCKET),
            access: vec![],
        }
    }

    /// The demo with the environment's `SIGNPOST_*` server overrides (listen, public URL,
    /// state secret), checked like a file's.
    pub fn demo_with_env(
        listen: SocketAddr,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::default();
        raw.server.listen = Some(listen.to_string());
        raw.apply_env(env);
        let mut c = Self::demo(listen);
        c.server = ServerConfig::try_from(raw.server)?;
        Ok(c)
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
        let mut raw = read_raw(text)?;
        raw.apply_env(env);
        let server = ServerConfig::try_from(raw.server)?;
        let s3 = raw.s3.map(S3Config::try_from).transpose()?;
        let auth = AuthConfig::try_from((raw.auth, base))?;

        if raw.profile.is_empty() && raw.access.is_empty() {
            return Err(err("profile", "no [[profile]] and no [[access]] given; add at least one, e.g. name = \"avatar\" (see signpost.example.toml)"));
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
            let profile = Profile::try_from(p).map_err(|e| match e {
                ProfileProblem::Value(e) => err(k(&e.key), e.message),
                ProfileProblem::Check(e) => err(k(e.field.as_str()), e.message),
            })?;
            if auth.mode != AuthMode::None && !profile.key_template.contains("{user}") {
                return Err(err(k("key"), "with auth on, the key must contain {user} so each caller stays under its own prefix"));
            }
            profiles.push(profile);
        }

        if let Some(name) = &server.companion_profile {
            if !profiles.iter().any(|p| &p.name == name) {
                let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
                return Err(err(
                    "server.companion_profile",
                    format!(
                        "there is no [[profile]] named `{name}`; use one of: {}",
                        if names.is_empty() {
                            "(none defined)".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
        }

        let mut access: Vec<AccessRule> = Vec::new();
        for (i, a) in raw.access.into_iter().enumerate() {
            if access.iter().any(|r| r.name == a.name) {
                return Err(err(
                    format!("access[{i}].name"),
                    format!("`{}` is used twice; give each rule its own name", a.name),
                ));
            }
            let rule = AccessRule::try_from(a)
                .map_err(|e| err(format!("access[{i}].{}", e.key), e.message))?;
            access.push(rule);
        }

        Ok(Self {
            server,
            s3,
            auth,
            profiles,
            access,
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
content_types = ["image/png"]
"#;

    #[test]
    fn a_bad_key_file_stops_the_start_once_in_words() {
        let dir = std::env::temp_dir().join(format!("signpost-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bad.pem"), "not a key\n").unwrap();
        let text =
            format!("{MIN}\n[auth]\nmode = \"jwt\"\n[auth.jwt]\nrs256_public_key = \"bad.pem\"\n");
        let e = Config::parse(&text, &dir, &|_| None).unwrap_err();
        assert_eq!(e.key, "auth.jwt.rs256_public_key");
        assert!(e.message.contains("-----BEGIN PUBLIC KEY-----"), "{e}");
        // As `serve` prints it (anyhow's chain): said once.
        let shown = format!(
            "{:#}",
            anyhow::Error::from(crate::server::ServeError::from(e))
        );
        assert_eq!(shown.matches("is not a usable").count(), 1, "{shown}");
        let _ = std::fs::remove_dir_all(&dir);
    }

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
    fn values_of_the_wrong_shape_name_their_key() {
        let cases = [
            (
                MIN.replace("\"5MiB\"", "-5"),
                "profile[0].max_size",
                "negative",
            ),
            (
                MIN.replace("content_types", "roles = \"tier1\"\ncontent_types"),
                "profile[0].roles",
                "sequence",
            ),
            (
                MIN.replace(
                    "secret_access_key = \"SK\"",
                    "secret_access_key = \"SK\"\npath_style = \"yes\"",
                ),
                "s3.path_style",
                "bool",
            ),
            (
                MIN.replace("max_size", "max_sise"),
                "profile[0].max_sise",
                "line",
            ),
        ];
        for (text, key, hint) in cases {
            let e = parse(&text).unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(e.message.contains(hint), "{key} should say {hint}: {e}");
        }
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
            c.server.rate_limit.is_some(),
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
    fn the_demo_takes_its_state_secret_from_the_environment() {
        let secret = "0123456789abcdef0123456789abcdef-demo";
        let listen = "127.0.0.1:0".parse().unwrap();
        let c = Config::demo_with_env(listen, &|k| {
            (k == "SIGNPOST_STATE_SECRET").then(|| secret.to_string())
        })
        .unwrap();
        assert_eq!(c.server.state_secret.as_deref(), Some(secret));
        let e = Config::demo_with_env(listen, &|k| {
            (k == "SIGNPOST_STATE_SECRET").then(|| "short".to_string())
        })
        .unwrap_err();
        assert_eq!(e.key, "server.state_secret");
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
