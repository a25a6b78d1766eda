//! `signpost doctor --config FILE`, the real binary against a real S3 (Ceph radosgw), as an
//! operator runs it before going live:
//!
//! - a fresh bucket with no CORS and no lifecycle: the CORS line fails and the lifecycle line
//!   warns, each with the XML to add; once that XML (taken from doctor's own output) is put
//!   on the bucket, every line is ok and the exit code is 0;
//! - a profile on a bucket without CORS: the CORS line fails naming the missing rule, exit 1;
//! - a wrong secret: the credentials line fails, exit 1, and no secret is printed.
//!
//! Needs `SIGNPOST_TEST_*` (see `scripts/test.sh`).

#![cfg(feature = "integration")]

mod support;

use signpost::{Method, UrlRequest};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::http::client;
use support::s3::S3Env;
use tempfile::TempDir;
use time::OffsetDateTime;

/// The origin the configs serve at (not loopback, so `state_secret` is required).
const PUBLIC_URL: &str = "https://uploads.example.test";

/// One printed line: level, check, text, and the XML under it if any.
#[derive(Debug)]
struct Line {
    level: String,
    check: String,
    text: String,
    paste: Option<String>,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    lines: Vec<Line>,
}

impl Run {
    fn only(&self, check: &str) -> &Line {
        let mut it = self.lines.iter().filter(|l| l.check == check);
        let line = it
            .next()
            .unwrap_or_else(|| panic!("no {check} line in:\n{}", self.stdout));
        assert!(
            it.next().is_none(),
            "one {check} line expected:\n{}",
            self.stdout
        );
        line
    }
}

/// Runs `signpost doctor --config FILE` with an empty environment (the config holds all).
fn doctor(config: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(["doctor", "--config"])
        .arg(config)
        .env_clear()
        .output()
        .expect("signpost runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("signpost doctor: {}\n{stdout}{stderr}", out.status);
    let mut lines: Vec<Line> = Vec::new();
    for raw in stdout.lines() {
        if let Some(paste) = raw.strip_prefix("        ") {
            let last = lines.last_mut().expect("a pasted block follows a line");
            last.paste = Some(paste.to_string());
            continue;
        }
        let Some((level, rest)) = raw.split_once(' ') else {
            continue;
        };
        if !["ok", "warn", "fail"].contains(&level) {
            continue; // the summary
        }
        let rest = rest.trim_start();
        let (check, text) = rest.split_once(' ').expect("a check name and a text");
        lines.push(Line {
            level: level.into(),
            check: check.into(),
            text: text.trim_start().into(),
            paste: None,
        });
    }
    assert!(!lines.is_empty(), "doctor printed no check lines");
    Run {
        code: out.status.code(),
        stdout,
        lines,
    }
}

/// A config with one profile on `bucket` and a read-only access rule on `rule_bucket`.
fn write_config(
    dir: &TempDir,
    env: &S3Env,
    secret: &str,
    bucket: &str,
    rule_bucket: &str,
) -> std::path::PathBuf {
    let text = format!(
        r#"
[server]
public_url = "{PUBLIC_URL}"
state_secret = "0123456789abcdef0123456789abcdef0123456789abcdef"
download_expires = "1h"

[s3]
endpoint = "{endpoint}"
region = "{region}"
access_key_id = "{access}"
secret_access_key = "{secret}"

[[profile]]
name = "avatar"
bucket = "{bucket}"
key = "avatars/{{uuid}}/${{filename}}"
max_size = "5MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
expires = "15m"

[[access]]
name = "shared"
bucket = "{rule_bucket}"
prefix = "shared/"
allow = ["get", "list"]
max_expires = "1d"
"#,
        endpoint = env.endpoint,
        region = env.region,
        access = env.access_key,
    );
    let path = dir.path().join("signpost.toml");
    std::fs::write(&path, text).expect("config written");
    path
}

/// Sends a presigned `method` on `bucket` (with `?sub` when given) carrying `body`.
async fn bucket_call(
    env: &S3Env,
    method: Method,
    bucket: &str,
    sub: Option<&str>,
    body: String,
) -> (u16, String) {
    let mut req = UrlRequest::new(method, bucket, "", Duration::from_secs(60));
    if let Some(s) = sub {
        req = req.with_query(s, "");
    }
    let url = env
        .signer()
        .presign(&req, OffsetDateTime::now_utc())
        .expect("presigned");
    let verb = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
    let resp = client()
        .request(verb, &url)
        .body(body)
        .send()
        .await
        .expect("S3 answers");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

fn fresh_bucket_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("signpost-doctor-{nanos:x}")
}

#[tokio::test]
async fn the_fixes_doctor_prints_make_a_fresh_bucket_healthy() {
    let env = S3Env::from_env();
    let bucket = fresh_bucket_name();
    let (status, body) = bucket_call(&env, Method::Put, &bucket, None, String::new()).await;
    assert_eq!(status, 200, "create bucket {bucket}: {body}");
    let dir = TempDir::new().unwrap();
    let config = write_config(&dir, &env, &env.secret_key, &bucket, &env.bucket_a);

    // Before: no CORS (fail, with the rule) and no lifecycle (warn, with the configuration).
    let before = doctor(&config);
    assert_eq!(before.code, Some(1), "a failed check exits 1");
    let cors = before.only("cors");
    assert_eq!(cors.level, "fail", "{cors:?}");
    assert!(
        cors.text.contains(&format!(
            "no CORS rule allows POST or PUT from {PUBLIC_URL}"
        )),
        "{cors:?}"
    );
    let rule = cors.paste.clone().expect("the CORS rule to add");
    let lifecycle = before.only("lifecycle");
    assert_eq!(lifecycle.level, "warn", "{lifecycle:?}");
    assert!(
        lifecycle.text.contains("NoSuchLifecycleConfiguration"),
        "{lifecycle:?}"
    );
    let lifecycle_xml = lifecycle
        .paste
        .clone()
        .expect("the lifecycle configuration to put");

    // The operator pastes what doctor printed.
    let cors_xml = format!("<CORSConfiguration>{rule}</CORSConfiguration>");
    let (status, body) = bucket_call(&env, Method::Put, &bucket, Some("cors"), cors_xml).await;
    assert_eq!(status, 200, "PUT ?cors: {body}");
    let (status, body) =
        bucket_call(&env, Method::Put, &bucket, Some("lifecycle"), lifecycle_xml).await;
    assert_eq!(status, 200, "PUT ?lifecycle: {body}");

    // After: every line ok, exit 0.
    let after = doctor(&config);
    for l in &after.lines {
        assert_eq!(l.level, "ok", "every line ok after the fixes, not {l:?}");
    }
    assert_eq!(after.code, Some(0));
    let checks: Vec<&str> = after.lines.iter().map(|l| l.check.as_str()).collect();
    assert_eq!(
        checks,
        [
            "credentials",
            "credentials",
            "cors",
            "clock",
            "lifetimes",
            "lifecycle",
            "state_secret"
        ],
        "{}",
        after.stdout
    );
    assert!(
        after.only("cors").text.contains("ETag exposed"),
        "{}",
        after.stdout
    );
    assert!(
        after
            .only("lifecycle")
            .text
            .contains("abort-incomplete-multipart-uploads"),
        "{}",
        after.stdout
    );
    assert!(
        after
            .stdout
            .trim_end()
            .ends_with("7 ok, 0 warn, 0 fail: ready"),
        "{}",
        after.stdout
    );

    for sub in [Some("lifecycle"), Some("cors"), None] {
        let (status, body) = bucket_call(&env, Method::Delete, &bucket, sub, String::new()).await;
        assert_eq!(status, 204, "cleanup DELETE {sub:?}: {body}");
    }
}

#[tokio::test]
async fn a_bucket_without_cors_fails_naming_the_missing_rule() {
    let env = S3Env::from_env();
    let dir = TempDir::new().unwrap();
    let config = write_config(
        &dir,
        &env,
        &env.secret_key,
        &env.bucket_nocors,
        &env.bucket_a,
    );
    let run = doctor(&config);
    assert_eq!(run.code, Some(1));
    let cors = run.only("cors");
    assert_eq!(cors.level, "fail", "{cors:?}");
    for words in [
        "bucket signpost-nocors",
        "no CORS rule allows POST or PUT from https://uploads.example.test",
        "add AllowedOrigin https://uploads.example.test, AllowedMethod POST, AllowedMethod PUT, ExposeHeader ETag",
    ] {
        assert!(cors.text.contains(words), "{words:?} in {cors:?}");
    }
    let paste = cors.paste.as_deref().expect("the rule to add");
    assert!(
        paste.contains("<AllowedOrigin>https://uploads.example.test</AllowedOrigin>"),
        "{paste}"
    );
    // The credentials are fine: only CORS fails (the lifecycle warns).
    for l in run
        .lines
        .iter()
        .filter(|l| l.check != "cors" && l.check != "lifecycle")
    {
        assert_eq!(l.level, "ok", "{l:?}");
    }
}

#[tokio::test]
async fn a_wrong_secret_fails_the_credentials_line_without_printing_secrets() {
    let env = S3Env::from_env();
    let dir = TempDir::new().unwrap();
    let wrong = "wrongSecretKey0123456789abcdefghijklmnop";
    let config = write_config(&dir, &env, wrong, &env.bucket_a, &env.bucket_a);
    let run = doctor(&config);
    assert_eq!(run.code, Some(1));
    let cred = run.only("credentials");
    assert_eq!(cred.level, "fail", "{cred:?}");
    for words in [
        "bucket signpost-a",
        "the credentials were refused",
        "SignatureDoesNotMatch",
        "check s3.secret_access_key",
    ] {
        assert!(cred.text.contains(words), "{words:?} in {cred:?}");
    }
    assert!(
        !run.stdout.contains(wrong) && !run.stdout.contains(&env.secret_key),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("0123456789abcdef0123"),
        "the state secret is not printed"
    );
    // What needs the credentials says it was not checked.
    let cors = run.only("cors");
    assert_eq!(cors.level, "warn");
    assert!(
        cors.text
            .contains("not checked until its credentials line is ok"),
        "{cors:?}"
    );
}

#[test]
fn without_a_config_doctor_says_what_to_pass() {
    let out = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .arg("doctor")
        .env_clear()
        .output()
        .expect("signpost runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--config"), "{stderr}");
    assert!(stderr.contains("embedded store"), "{stderr}");
}

#[test]
fn a_config_without_s3_is_the_embedded_store() {
    let dir = TempDir::new().unwrap();
    let config = dir.path().join("demo.toml");
    let text = "[[profile]]\nname = \"avatar\"\nbucket = \"b\"\nkey = \"a/{uuid}/${filename}\"\nmax_size = \"5MiB\"\n";
    std::fs::write(&config, text).unwrap();
    let run = doctor(&config);
    assert_eq!(run.code, Some(0));
    assert!(
        run.only("store")
            .text
            .contains("embedded store, which needs no doctor"),
        "{}",
        run.stdout
    );
    assert_eq!(run.only("state_secret").level, "ok", "loopback by default");
}
