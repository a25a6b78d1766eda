//! Uppy Companion's routes through the oneshot router: the config both companion test
//! files use (alice and bob, three profiles) and the upload ids signpost seals.

use signpost::server::testing::UploadToken;

use super::server::{tokens_auth, STATE_SECRET};

pub const MIB: u64 = 1024 * 1024;

/// alice (tier1) and bob (tier1): a video profile up to 20 MiB, an avatar profile.
pub fn conf(extra_server: &str) -> String {
    format!(
        r#"
[server]
state_secret = "{STATE_SECRET}"
{extra_server}

{auth}
[[profile]]
name = "video"
title = "Video"
bucket = "clips"
key = "videos/{{user}}/{{uuid}}/${{filename}}"
min_size = 1
max_size = "20MiB"
content_types = ["video/mp4", "video/webm"]
metadata = {{ kind = "video" }}

[[profile]]
name = "avatar"
title = "Avatar"
bucket = "pics"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]

[[profile]]
name = "vault"
title = "Vault"
bucket = "pics"
key = "vault/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
roles = ["tier2"]
"#,
        auth = tokens_auth(
            None,
            &[
                ("alice-token", "alice", &["tier1"]),
                ("bob-token", "bob", &["tier1"])
            ],
        ),
    )
}

pub const ALICE: Option<&str> = Some("alice-token");
pub const BOB: Option<&str> = Some("bob-token");

pub fn query_of(url: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(url)
        .expect("URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn q_value(url: &str, name: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// An upload id as signpost seals it, for `user` and `key` (the test knows the state secret).
pub fn token(user: &str, key: &str, size: Option<u64>, part: Option<u64>) -> String {
    UploadToken {
        i: "2~s3-upload-id".into(),
        p: "video".into(),
        s: size,
        c: part,
        e: time::OffsetDateTime::now_utc().unix_timestamp() + 3600,
    }
    .seal(STATE_SECRET.as_bytes(), user, key)
}

pub const KEY: &str = "videos/alice/u-1/clip.mp4";
