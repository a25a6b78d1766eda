//! Real S3 clients against `signpost store` (the binary, on 127.0.0.1:0, its
//! keys read from its banner): the AWS CLI and boto3 (PyPI, in the venv that
//! `scripts/install-test-deps.sh` makes) and aws-sdk-js v3 (`npm ci` in
//! tests/js). A missing client fails the test with what to run; nothing is
//! skipped.

#![cfg(feature = "integration")]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::http::client;
use support::store::StoreProcess;

fn venv() -> PathBuf {
    let dir = std::env::var_os("SIGNPOST_TEST_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/signpost-test-venv"))
        })
        .expect("HOME or SIGNPOST_TEST_VENV must be set to find the test venv");
    assert!(
        dir.join("bin/aws").is_file() && dir.join("bin/python").is_file(),
        "the AWS CLI and boto3 are not in {}: run scripts/install-test-deps.sh \
         (or point SIGNPOST_TEST_VENV at a venv with awscli and boto3)",
        dir.display()
    );
    dir
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A command with only the store's AWS settings (no profile, no stray
/// credentials; `work/no-config` is the AWS config file if a test writes one).
fn aws_command(program: &Path, store: &StoreProcess, work: &Path) -> Command {
    let mut cmd = Command::new(program);
    for var in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"] {
        cmd.env_remove(var);
    }
    cmd.envs(store.aws_env())
        .env("AWS_CONFIG_FILE", work.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", work.join("no-credentials"))
        .env("WORK_DIR", work)
        .current_dir(work);
    cmd
}

#[tokio::test]
async fn aws_cli_makes_a_bucket_sets_cors_copies_lists_presigns_downloads_and_removes() {
    let venv = venv();
    let store = StoreProcess::spawn(&[]);
    let work = tempfile::tempdir().expect("temp dir");
    // AWS CLI v1 presigns with SigV2 unless told otherwise; the store takes SigV4 only.
    std::fs::write(
        work.path().join("no-config"),
        "[default]\ns3 =\n    signature_version = s3v4\n",
    )
    .expect("write AWS config");
    let aws = |args: &[&str]| {
        let out = run(
            aws_command(&venv.join("bin/aws"), &store, work.path()).args(args),
            &format!("aws {}", args.join(" ")),
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    // 9 MiB: above the CLI's 8 MiB multipart threshold.
    let data: Vec<u8> = (0..9 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(work.path().join("in.bin"), &data).expect("write file");

    aws(&["s3", "mb", "s3://cli-bucket"]);
    aws(&[
        "s3api",
        "put-bucket-cors",
        "--bucket",
        "cli-bucket",
        "--cors-configuration",
        r#"{"CORSRules":[{"AllowedOrigins":["http://app.example"],"AllowedMethods":["POST","PUT"],"AllowedHeaders":["*"],"ExposeHeaders":["ETag"]}]}"#,
    ]);
    let cors = aws(&["s3api", "get-bucket-cors", "--bucket", "cli-bucket"]);
    assert!(cors.contains("http://app.example"), "{cors}");
    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/cli-bucket/dir/in.bin", store.endpoint),
        )
        .header("Origin", "http://app.example")
        .header("Access-Control-Request-Method", "PUT")
        .send()
        .await
        .expect("preflight sent");
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://app.example"
    );

    aws(&["s3", "cp", "in.bin", "s3://cli-bucket/dir/in.bin"]);
    let listing = aws(&["s3", "ls", "s3://cli-bucket/dir/"]);
    assert!(
        listing.contains(&format!("{} in.bin", data.len())),
        "{listing}"
    );
    let url = aws(&[
        "s3",
        "presign",
        "s3://cli-bucket/dir/in.bin",
        "--expires-in",
        "300",
    ]);
    let got = reqwest::get(url.trim()).await.expect("GET sent");
    assert_eq!(got.status(), 200, "presigned GET of {url}");
    assert!(
        got.bytes().await.expect("body") == data,
        "presigned GET returned other bytes"
    );
    aws(&["s3", "cp", "s3://cli-bucket/dir/in.bin", "out.bin"]);
    assert!(std::fs::read(work.path().join("out.bin")).expect("downloaded") == data);
    aws(&["s3", "rm", "s3://cli-bucket/dir/in.bin"]);
    aws(&["s3", "rb", "s3://cli-bucket"]);
    assert!(!aws(&["s3", "ls"]).contains("cli-bucket"));
}

#[test]
fn boto3_runs_bucket_object_multipart_cors_and_presign_calls() {
    let venv = venv();
    let store = StoreProcess::spawn(&[]);
    let work = tempfile::tempdir().expect("temp dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/store_boto3.py");
    let out = run(
        aws_command(&venv.join("bin/python"), &store, work.path()).arg(script),
        "tests/py/store_boto3.py",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("all steps passed"));
}

#[test]
fn aws_sdk_js_presigned_posts_are_judged_and_node_fetch_sees_the_403() {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        js.join("node_modules/@aws-sdk/s3-presigned-post").is_dir(),
        "aws-sdk-js is not installed: run `npm ci` in {}",
        js.display()
    );
    let store = StoreProcess::spawn(&["--bucket", "js-bucket"]);
    let work = tempfile::tempdir().expect("temp dir");
    let mut cmd = aws_command(Path::new("node"), &store, work.path());
    cmd.arg(js.join("store/presigned_post.mjs"))
        .env("BUCKET", "js-bucket");
    let out = run(
        &mut cmd,
        "node tests/js/store/presigned_post.mjs (is node installed?)",
    );
    let cases: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let case = |name: &str| {
        cases
            .iter()
            .find(|c| c["case"] == name)
            .unwrap_or_else(|| panic!("no result for {name}: {cases:?}"))
            .clone()
    };
    assert_eq!(case("valid")["status"], 204, "{cases:?}");
    assert_eq!(case("too-large")["status"], 400, "{cases:?}");
    assert_eq!(case("too-large")["code"], "EntityTooLarge");
    assert_eq!(case("wrong-content-type")["status"], 403, "{cases:?}");
    assert_eq!(case("wrong-content-type")["code"], "AccessDenied");
    // node's fetch gets the status, not EPIPE, though the body was still being sent.
    assert_eq!(case("forged")["status"], 403, "{cases:?}");
    assert_eq!(case("forged")["code"], "SignatureDoesNotMatch");
    assert_eq!(case("read-back")["body"], "hello from aws-sdk-js");
}
