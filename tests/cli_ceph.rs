//! The `signpost` binary as a new user runs it against a real S3 (Ceph radosgw): the JSON,
//! curl and HTML forms it prints upload for real, its presigned URLs work with plain curl,
//! lint errors stop it with nothing on stdout, and lint warnings do not; and (in
//! `cli_ceph/presign.rs`) presign head/delete, absolute expiries, sized PUTs and credentials
//! that expire before the URL.
//!
//! The binary runs with a clean environment holding only the AWS variables a user would set.
//! Needs `SIGNPOST_TEST_*` (see `scripts/test.sh`) and curl.

#![cfg(all(feature = "cli", feature = "integration"))]

mod support;

#[path = "cli_ceph/presign.rs"]
mod presign;

use std::fmt;
use std::path::Path;
use std::process::{Command, Output};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use support::html::{first, select};
use support::http::{client, post_fields};
use support::s3::{unique_prefix, S3Env};

const BYTES: &[u8] = b"uploaded by the signpost CLI \x00\xff\r\n";

/// Runs `signpost ARGS --endpoint …` with only the AWS credentials and region set.
fn signpost(env: &S3Env, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(args)
        .args(["--endpoint", &env.endpoint])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", &env.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &env.secret_key)
        .env("AWS_REGION", &env.region)
        .output()
        .expect("signpost runs");
    eprintln!(
        "signpost {args:?}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The stdout of a successful run.
fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "signpost failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

/// Runs curl (or `sh -c`) and asserts it succeeds.
fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `sign --format json` output, its fields kept in printed order (a `serde_json::Value`
/// would sort them).
#[derive(Debug, Deserialize)]
struct JsonForm {
    url: String,
    fields: InOrder,
}

#[derive(Debug)]
struct InOrder(Vec<(String, String)>);

impl<'de> Deserialize<'de> for InOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InOrder;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InOrder, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(InOrder(fields))
            }
        }
        d.deserialize_map(V)
    }
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path.to_str().expect("UTF-8 path").to_string()
}

#[tokio::test]
async fn sign_json_fields_upload_in_any_order_with_file_last() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("cli-json");
    let out = signpost(
        &env,
        &[
            "sign",
            "--bucket",
            &env.bucket_a,
            "--key-prefix",
            &prefix,
            "--max-size",
            "1KiB",
            "--meta",
            "owner=cli",
            "--status",
            "201",
            "--expires",
            "5m",
        ],
    );
    let form: JsonForm = serde_json::from_str(&stdout_of(&out)).expect("JSON form");
    let fields = form.fields.0;
    assert_eq!(form.url, format!("{}/{}", env.endpoint, env.bucket_a));
    assert!(fields.iter().all(|(n, _)| n != "file"), "{fields:?}");

    // As printed (what a browser's FormData built from the object sends)…
    let key = format!("{prefix}printed.bin");
    let (status, body) = post_fields(&form.url, &fields, "printed.bin", BYTES, None).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    assert!(body.contains(&format!("<Key>{key}</Key>")), "{body}");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &key).await.as_deref(),
        Some(BYTES)
    );

    // …and reversed: S3 only needs `file` after the other fields.
    let reversed: Vec<_> = fields.iter().rev().cloned().collect();
    let key = format!("{prefix}reversed.bin");
    let (status, body) = post_fields(&form.url, &reversed, "reversed.bin", BYTES, None).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &key).await.as_deref(),
        Some(BYTES)
    );
}

#[tokio::test]
async fn sign_curl_line_uploads_when_run_by_a_shell() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("cli-curl");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(dir.path(), "my notes.txt", BYTES);
    let out = signpost(
        &env,
        &[
            "sign",
            "--bucket",
            &env.bucket_a,
            "--key-prefix",
            &prefix,
            "--content-type-prefix",
            "text/",
            "--format",
            "curl",
            "--file",
            &path,
        ],
    );
    let line = stdout_of(&out);
    let key = format!("{prefix}my notes.txt");

    // The uploader must pick the Content-Type: without it the shell stops before curl runs.
    let missing = Command::new("sh")
        .args(["-c", &line])
        .env_remove("CONTENT_TYPE")
        .output()
        .expect("sh runs");
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("CONTENT_TYPE"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(!env.object_exists(&env.bucket_a, &key).await);

    run_ok(
        Command::new("sh")
            .args(["-c", &line])
            .env("CONTENT_TYPE", "text/plain"),
    );
    assert_eq!(
        env.object_bytes(&env.bucket_a, &key).await.as_deref(),
        Some(BYTES)
    );
    let get = signpost(
        &env,
        &["presign", "get", &format!("s3://{}/{key}", env.bucket_a)],
    );
    let resp = client()
        .get(stdout_of(&get).trim())
        .send()
        .await
        .expect("GET sent");
    assert_eq!(
        resp.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/plain"[..])
    );
}

#[tokio::test]
async fn sign_html_page_is_a_working_form_with_file_last() {
    let env = S3Env::from_env();
    // Characters the page must escape, and S3 must get back unescaped.
    let prefix = unique_prefix("cli-html/it's <A&B>");
    let out = signpost(
        &env,
        &[
            "sign",
            "--bucket",
            &env.bucket_a,
            "--key-prefix",
            &prefix,
            "--max-size",
            "1MiB",
            "--format",
            "html",
        ],
    );
    let page = stdout_of(&out);
    assert!(!page.contains("<A&B>"), "unescaped key in the page");

    let form = first(&page, "form").expect("a <form>");
    let action = form.attr("action").expect("a form action").to_string();
    assert_eq!(action, format!("{}/{}", env.endpoint, env.bucket_a));
    assert_eq!(form.attr("method"), Some("post"));
    assert_eq!(form.attr("enctype"), Some("multipart/form-data"));

    let inputs = select(&page, "form input");
    let last = inputs.last().expect("inputs");
    assert_eq!(last.attr("type"), Some("file"), "{}", last.html);
    assert_eq!(last.attr("name"), Some("file"), "{}", last.html);

    // Submit it as a browser would: every other input in document order, then the file.
    let fields: Vec<(String, String)> = inputs[..inputs.len() - 1]
        .iter()
        .map(|input| {
            (
                input.attr("name").expect("input name").to_string(),
                input.attr("value").unwrap_or_default().to_string(),
            )
        })
        .collect();
    let (status, body) = post_fields(&action, &fields, "page.bin", BYTES, None).await;
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &format!("{prefix}page.bin"))
            .await
            .as_deref(),
        Some(BYTES)
    );
}

#[tokio::test]
async fn presigned_put_and_get_urls_work_with_curl() {
    let env = S3Env::from_env();
    let key = format!("{}a b+c.txt", unique_prefix("cli-presign"));
    let object = format!("s3://{}/{key}", env.bucket_a);
    let dir = tempfile::tempdir().expect("temp dir");
    let upload = write_file(dir.path(), "up.txt", BYTES);
    let download = dir.path().join("down.txt");

    let put = signpost(
        &env,
        &[
            "presign",
            "put",
            &object,
            "--expires",
            "5m",
            "--content-type",
            "text/plain",
        ],
    );
    let put_url = stdout_of(&put);
    assert_eq!(put_url.lines().count(), 1, "the URL alone: {put_url}");
    run_ok(Command::new("curl").args([
        "-sS",
        "--fail-with-body",
        "-H",
        "Content-Type: text/plain",
        "-T",
        &upload,
        put_url.trim(),
    ]));
    assert_eq!(
        env.object_bytes(&env.bucket_a, &key).await.as_deref(),
        Some(BYTES)
    );

    let get = signpost(&env, &["presign", "get", &object, "--expires", "5m"]);
    run_ok(Command::new("curl").args([
        "-sS",
        "--fail-with-body",
        "-o",
        download.to_str().unwrap(),
        stdout_of(&get).trim(),
    ]));
    assert_eq!(std::fs::read(&download).expect("downloaded"), BYTES);
}

#[test]
fn lint_error_exits_non_zero_with_nothing_on_stdout() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("cli-lint");
    let out = signpost(
        &env,
        &[
            "sign",
            "--bucket",
            &env.bucket_a,
            "--key-prefix",
            &prefix,
            "--expires",
            "8d",
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "stdout is not empty");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error"), "{stderr}");
    assert!(stderr.contains("7 days"), "{stderr}");
}

#[tokio::test]
async fn prefix_without_slash_warns_but_signs() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("cli-noslash");
    let prefix = prefix.trim_end_matches('/');
    let out = signpost(
        &env,
        &["sign", "--bucket", &env.bucket_a, "--key-prefix", prefix],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(stderr.contains("does not end in `/`"), "{stderr}");
    let form: JsonForm = serde_json::from_str(&stdout_of(&out)).expect("JSON form");
    let (status, body) = post_fields(&form.url, &form.fields.0, "-x.bin", BYTES, None).await;
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &format!("{prefix}-x.bin"))
            .await
            .as_deref(),
        Some(BYTES)
    );
}
