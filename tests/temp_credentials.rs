//! Temporary credentials: signpost runs on an AWS `credential_process` profile whose
//! credentials (the Ceph user's keys) expire 10 minutes after each call. Every form and URL it
//! hands out must end at or before that time, with no 500 anywhere; with under a minute left,
//! it answers 503 and says why.

#![cfg(feature = "integration")]

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use support::http::*;
use support::s3::S3Env;
use support::server::*;
use tempfile::TempDir;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `signpost serve` as a process on a credential_process profile whose credentials live
/// `lifetime` (a GNU `date -d` offset such as "+10 minutes").
struct Served {
    child: Child,
    url: String,
    dir: TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(lifetime: &str) -> Served {
        let s3 = S3Env::from_env();
        let dir = TempDir::new().unwrap();
        let d = dir.path();
        let script = d.join("creds.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nexp=$(date -u -d '{lifetime}' +%Y-%m-%dT%H:%M:%SZ)\necho \"$exp\" > '{last}'\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\", \"Expiration\": \"%s\"}}' '{ak}' '{sk}' \"$exp\"\n",
                last = d.join("last-expiration").display(),
                ak = s3.access_key,
                sk = s3.secret_key,
            ),
        )
        .unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        std::fs::write(
            d.join("aws-config"),
            format!(
                "[default]\ncredential_process = {}\nregion = {}\n",
                script.display(),
                s3.region
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("signpost.toml"),
            format!(
                r#"
[server]
state_secret = "{STATE_SECRET}"
[s3]
endpoint = "{endpoint}"
region = "{region}"
credentials = "aws-chain"
[auth]
mode = "jwt"
[auth.jwt]
hs256_secret = "{JWT_SECRET}"
[[profile]]
name = "avatar"
bucket = "{bucket}"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "1MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
expires = "15m"
[[access]]
name = "all"
bucket = "{bucket}"
prefix = "shared/"
allow = ["get"]
max_expires = "7d"
"#,
                endpoint = s3.endpoint,
                region = s3.region,
                bucket = s3.bucket_a,
            ),
        )
        .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_signpost"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(d.join("signpost.toml"))
            .arg("--data-dir")
            .arg(d.join("data"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("SIGNPOST_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .env("AWS_CONFIG_FILE", d.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", d.join("no-credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("signpost starts");
        let stdout = child.stdout.take().unwrap();
        let mut url = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("open ").nth(1) {
                url = Some(rest.split('/').take(3).collect::<Vec<_>>().join("/"));
                break;
            }
        }
        let url = url.expect("signpost printed its URL");
        Served { child, url, dir }
    }

    fn credentials_expire_at(&self) -> OffsetDateTime {
        let text = std::fs::read_to_string(self.dir.path().join("last-expiration")).unwrap();
        OffsetDateTime::parse(text.trim(), &Rfc3339).unwrap()
    }
}

fn at(v: &Value, field: &str) -> OffsetDateTime {
    OffsetDateTime::parse(
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} in {v}")),
        &Rfc3339,
    )
    .unwrap()
}

#[tokio::test]
async fn nothing_outlives_credentials_that_expire_in_ten_minutes() {
    let s = Served::start("+10 minutes");
    let token = jwt("alice", &[]);
    let creds_end = s.credentials_expire_at();
    // The sign API: a 15-minute profile, shortened to the credentials.
    let r = client()
        .post(format!("{}/api/v1/sign/avatar", s.url))
        .bearer_auth(&token)
        .json(&json!({"filename": "me.png", "content_type": "image/png", "size": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(at(&v, "expires_at") <= creds_end, "{v} vs {creds_end}");
    let policy = decode_policy(v["fields"]["policy"].as_str().unwrap());
    assert!(at(&policy, "expiration") <= creds_end, "{policy}");
    // The upload page signs too: 200, not 500.
    let (status, html) = fetch(&format!("{}/upload/avatar", s.url), Some(&token)).await;
    assert_eq!(status, 200, "{html}");
    // A link asked for an hour ends with the credentials, and says so.
    let r = client()
        .post(format!("{}/api/v1/presign", s.url))
        .bearer_auth(&token)
        .json(&json!({"key": "shared/a.txt", "expires": "1h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["capped_by"], "credentials", "{v}");
    assert!(at(&v, "expires_at") <= creds_end, "{v}");
    let (status, body) = fetch(
        &format!("{}/api/v1/download-url?key=shared/a.txt", s.url),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(at(&v, "expires_at") <= creds_end, "{v}");
}

#[tokio::test]
async fn with_under_a_minute_left_the_answer_is_503_with_the_reason() {
    let s = Served::start("+30 seconds");
    let token = jwt("alice", &[]);
    let r = client()
        .post(format!("{}/api/v1/presign", s.url))
        .bearer_auth(&token)
        .json(&json!({"key": "shared/a.txt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("credentials expire"),
        "{v}"
    );
    let (status, html) = fetch(&format!("{}/upload/avatar", s.url), Some(&token)).await;
    assert_eq!(status, 503, "{html}");
    assert!(html.contains("credentials expire"), "{html}");
    assert!(Path::new(&s.dir.path().join("last-expiration")).exists());
}
