//! `signpost verify`: the checks `/uploaded` makes (declared type, size, real type from the
//! first bytes, dot segments), run on objects named on the command line or in an S3 event
//! notification, for uploads whose uploader never came back to confirm. An object that breaks
//! its profile is removed.
//!
//! ```text
//! signpost verify --config signpost.toml s3://uploads/avatars/alice/0b…/cat.png
//! signpost verify --config signpost.toml --event event.json     # or --event - (stdin)
//! ```
//!
//! Exit status: 0 when every object named is fine (or belongs to no profile), 1 when one was
//! removed, 2 when one could not be checked.

use super::config::{AuthMode, Config};
use super::error::ServiceError;
use super::profile::Profile;
use super::service::verify;
use super::state::AppState;
use crate::units::format_size;
use std::io::Read;
use std::path::PathBuf;

/// `signpost verify` arguments.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The config file `signpost serve` runs with (TOML): its profiles say what each upload may be.
    #[arg(long, env = "SIGNPOST_CONFIG")]
    pub config: Option<PathBuf>,
    /// An S3 event notification (JSON, as S3, Ceph or MinIO send it) naming the objects; `-`
    /// reads it from standard input.
    #[arg(long)]
    pub event: Option<PathBuf>,
    /// Objects to check, as `s3://bucket/key`.
    pub objects: Vec<String>,
}

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It fits its profile.
    Kept(String),
    /// It broke its profile and was removed.
    Removed(String),
    /// No profile covers it; left alone.
    NotCovered,
    /// It is not there (already removed, or never arrived).
    Missing,
    /// It could not be checked.
    Failed(String),
}

/// Runs the command, printing one line per object; returns the exit status.
pub async fn run(args: &VerifyArgs) -> anyhow::Result<u8> {
    let path = args.config.as_ref().ok_or_else(|| {
        anyhow::anyhow!("verify checks uploads against a config's profiles: pass the file `signpost serve` runs with, `signpost verify --config signpost.toml s3://bucket/key` (or set SIGNPOST_CONFIG)")
    })?;
    let mut config = Config::load(path)?;
    if config.s3.is_none() {
        anyhow::bail!("{} has no [s3] section: verify checks objects in a real S3 store (the embedded store's uploads are checked when they are confirmed)", path.display());
    }
    let mut objects = Vec::new();
    for o in &args.objects {
        objects.push(parse_s3_uri(o)?);
    }
    if let Some(e) = &args.event {
        let mut text = String::new();
        if e.as_os_str() == "-" {
            std::io::stdin().read_to_string(&mut text)?;
        } else {
            text = std::fs::read_to_string(e)
                .map_err(|x| anyhow::anyhow!("could not read {}: {x}", e.display()))?;
        }
        objects.extend(parse_event(&text)?);
    }
    if objects.is_empty() {
        anyhow::bail!("name the objects to check: `s3://bucket/key` arguments, or --event FILE");
    }
    // Verify signs its own S3 calls; nobody signs in, so the auth section is not needed.
    config.auth.mode = AuthMode::None;
    let public_url = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    let state = AppState::new(config, public_url, None).await?;
    let mut status = 0;
    for (bucket, key) in &objects {
        let uri = format!("s3://{bucket}/{key}");
        let line = match check(&state, bucket, key).await {
            Outcome::Kept(what) => format!("ok       {uri}: {what}"),
            Outcome::Removed(why) => {
                status = status.max(1);
                format!("removed  {uri}: {why}")
            }
            Outcome::NotCovered => {
                format!("skipped  {uri}: no profile of this config uploads there; left alone")
            }
            Outcome::Missing => format!("missing  {uri}: no such object (already removed?)"),
            Outcome::Failed(why) => {
                status = 2;
                format!("error    {uri}: {why}")
            }
        };
        println!("{line}");
    }
    Ok(status)
}

/// Checks one object against the profile whose key template it fits.
pub async fn check(state: &AppState, bucket: &str, key: &str) -> Outcome {
    let Some(profile) = profile_for(&state.config.profiles, bucket, key) else {
        return Outcome::NotCovered;
    };
    match verify::inspect(state, profile, key).await {
        Ok(info) => Outcome::Kept(format!(
            "{}, {}, fits “{}”",
            info.content_type,
            format_size(info.size),
            profile.name
        )),
        Err(ServiceError::BadRequest(why) | ServiceError::Forbidden(why)) => Outcome::Removed(why),
        Err(ServiceError::NotFound(_)) => Outcome::Missing,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The profile whose bucket is `bucket` and whose key template `key` fits (each placeholder
/// one or more characters; `{user}`, `{uuid}` and `{date}` within one segment).
pub fn profile_for<'a>(profiles: &'a [Profile], bucket: &str, key: &str) -> Option<&'a Profile> {
    profiles
        .iter()
        .filter(|p| p.bucket == bucket)
        .find(|p| template_regex(&p.key_template).is_some_and(|r| r.is_match(key)))
}

fn template_regex(template: &str) -> Option<regex::Regex> {
    let mut pattern = String::from("^");
    let mut rest = template;
    while !rest.is_empty() {
        let next = super::profile::PLACEHOLDERS
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min();
        match next {
            Some((i, p)) => {
                pattern.push_str(&regex::escape(&rest[..i]));
                pattern.push_str(if p == crate::policy::FILENAME_PLACEHOLDER {
                    ".+"
                } else {
                    "[^/]+"
                });
                rest = &rest[i + p.len()..];
            }
            None => {
                pattern.push_str(&regex::escape(rest));
                rest = "";
            }
        }
    }
    pattern.push('$');
    regex::Regex::new(&pattern).ok()
}

/// `s3://bucket/key` into its bucket and key (the key as written, not decoded).
pub fn parse_s3_uri(uri: &str) -> anyhow::Result<(String, String)> {
    uri.strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .map(|(b, k)| (b.to_string(), k.to_string()))
        .ok_or_else(|| anyhow::anyhow!("`{uri}` is not s3://bucket/key"))
}

/// The objects an S3 event notification names (`Records[].s3.bucket.name` and
/// `.object.key`, whose key is URL-encoded with `+` for spaces, as S3 sends it).
pub fn parse_event(json: &str) -> anyhow::Result<Vec<(String, String)>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Event {
        records: Vec<Record>,
    }
    #[derive(serde::Deserialize)]
    struct Record {
        s3: Entity,
    }
    #[derive(serde::Deserialize)]
    struct Entity {
        bucket: Named,
        object: Object,
    }
    #[derive(serde::Deserialize)]
    struct Named {
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct Object {
        key: String,
    }
    let e: Event = serde_json::from_str(json).map_err(|e| {
        anyhow::anyhow!("the event is not an S3 event notification ({{\"Records\": [{{\"s3\": {{\"bucket\": {{\"name\"}}, \"object\": {{\"key\"}}}}}}]}}): {e}")
    })?;
    e.records
        .into_iter()
        .map(|r| {
            let key = r.s3.object.key.replace('+', " ");
            let key = percent_encoding::percent_decode_str(&key)
                .decode_utf8()
                .map_err(|_| {
                    anyhow::anyhow!(
                        "the event's key `{}` is not UTF-8 once decoded",
                        r.s3.object.key
                    )
                })?;
            Ok((r.s3.bucket.name, key.into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_find_their_profile_by_template() {
        let profiles = crate::server::config::demo_profiles("b");
        let find = |k: &str| profile_for(&profiles, "b", k).map(|p| p.name.as_str());
        assert_eq!(find("avatars/alice/0b1c/cat.png"), Some("avatar"));
        assert_eq!(find("avatars/alice/0b1c/../../x.png"), Some("avatar"));
        assert_eq!(
            find("documents/bob/2026-12-03/0b1c/a b.pdf"),
            Some("document")
        );
        assert_eq!(find("avatars/alice/cat.png"), None);
        assert_eq!(find("elsewhere/x"), None);
        assert_eq!(profile_for(&profiles, "other", "avatars/a/u/c.png"), None);
    }

    #[test]
    fn uris_and_events_name_objects() {
        assert_eq!(
            parse_s3_uri("s3://b/avatars/a b/c.png").unwrap(),
            ("b".into(), "avatars/a b/c.png".into())
        );
        assert!(parse_s3_uri("b/k").is_err());
        assert!(parse_s3_uri("s3://b/").is_err());
        let event = r#"{"Records":[{"eventName":"ObjectCreated:Post","s3":{"bucket":{"name":"uploads"},"object":{"key":"avatars/alice/u/my+cat%21.png","size":3}}}]}"#;
        assert_eq!(
            parse_event(event).unwrap(),
            [(
                "uploads".to_string(),
                "avatars/alice/u/my cat!.png".to_string()
            )]
        );
        let e = parse_event("{}").unwrap_err().to_string();
        assert!(e.contains("Records"), "{e}");
    }
}
