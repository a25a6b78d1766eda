//! `signpost presign` as a user runs it: HEAD and DELETE URLs that curl can use, absolute
//! `--expires`, PUT URLs that fix the upload's type and size, and the warning (or with
//! `--strict`, the refusal) when the credentials expire before the URL would.

use std::process::{Command, Output};

use signpost::{Method, UrlRequest};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{run_ok, signpost, stdout_of, write_file, BYTES};
use crate::support::http::client;
use crate::support::s3::{unique_prefix, S3Env};

/// Now, in whole seconds, as `--at` takes it.
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// Stores `BYTES` at `bucket_a`/`key` through the library.
async fn put_object(env: &S3Env, key: &str) {
    let url = env
        .signer()
        .presign(
            &UrlRequest::new(
                Method::Put,
                &env.bucket_a,
                key,
                std::time::Duration::from_secs(60),
            ),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let resp = client().put(&url).body(BYTES).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// curl's HTTP status for `args` (the body goes nowhere).
fn curl_status(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8(out.stdout).unwrap()
}

/// The value of query parameter `name` in `url`.
fn param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

#[tokio::test]
async fn head_and_delete_urls_work_with_curl_and_the_object_is_gone() {
    let env = S3Env::from_env();
    let key = format!("{}doomed file.txt", unique_prefix("cli-delete"));
    let object = format!("s3://{}/{key}", env.bucket_a);
    put_object(&env, &key).await;

    let head = stdout_of(&signpost(&env, &["presign", "head", &object]));
    let out = run_ok(Command::new("curl").args(["-sS", "--fail", "-I", head.trim()]));
    let headers = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        headers.contains(&format!("content-length: {}", BYTES.len())),
        "{headers}"
    );

    // A HEAD URL is only good for HEAD: it cannot delete.
    assert_eq!(curl_status(&["-X", "DELETE", head.trim()]), "403");
    assert!(env.object_exists(&env.bucket_a, &key).await);

    let delete = stdout_of(&signpost(
        &env,
        &["presign", "delete", &object, "--expires", "5m"],
    ));
    assert_eq!(curl_status(&["-X", "DELETE", delete.trim()]), "204");
    assert!(!env.object_exists(&env.bucket_a, &key).await, "still there");
    assert_eq!(curl_status(&["-I", head.trim()]), "404");
}

#[tokio::test]
async fn absolute_expires_gives_the_matching_x_amz_expires() {
    let env = S3Env::from_env();
    let key = format!("{}dated.txt", unique_prefix("cli-expires-at"));
    let object = format!("s3://{}/{key}", env.bucket_a);
    put_object(&env, &key).await;
    let at = now();

    let end = at + Duration::hours(2);
    let url = stdout_of(&signpost(
        &env,
        &[
            "presign",
            "get",
            &object,
            "--at",
            &rfc3339(at),
            "--expires",
            &rfc3339(end),
        ],
    ));
    assert_eq!(param(&url, "X-Amz-Expires"), Some("7200"), "{url}");
    let out = run_ok(Command::new("curl").args(["-sS", "--fail", url.trim()]));
    assert_eq!(out.stdout, BYTES);

    // The same end written with an offset, and a date alone meaning midnight UTC.
    let plus_one = end.to_offset(time::macros::offset!(+1));
    let url = stdout_of(&signpost(
        &env,
        &[
            "presign",
            "get",
            &object,
            "--at",
            &rfc3339(at),
            "--expires",
            &rfc3339(plus_one),
        ],
    ));
    assert_eq!(param(&url, "X-Amz-Expires"), Some("7200"), "{url}");
    let tomorrow = at.date().next_day().unwrap();
    let midnight = tomorrow.midnight().assume_utc();
    let url = stdout_of(&signpost(
        &env,
        &[
            "presign",
            "get",
            &object,
            "--at",
            &rfc3339(at),
            "--expires",
            &tomorrow.to_string(),
        ],
    ));
    let want = (midnight - at).whole_seconds().to_string();
    assert_eq!(param(&url, "X-Amz-Expires"), Some(want.as_str()), "{url}");

    // Past, and beyond 7 days: exit 1, nothing on stdout, both times named.
    for (end, says) in [
        (at - Duration::minutes(1), "not after now"),
        (at + Duration::days(8), "more than 7 days"),
    ] {
        let out = signpost(
            &env,
            &[
                "presign",
                "get",
                &object,
                "--at",
                &rfc3339(at),
                "--expires",
                &rfc3339(end),
            ],
        );
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            stderr.contains(&rfc3339(end)) && stderr.contains(&rfc3339(at)),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn put_url_fixes_type_and_size_and_json_says_what_to_send() {
    let env = S3Env::from_env();
    let key = format!("{}exact.txt", unique_prefix("cli-put-length"));
    let object = format!("s3://{}/{key}", env.bucket_a);
    let dir = tempfile::tempdir().unwrap();
    let exact = write_file(dir.path(), "exact.txt", BYTES);
    let longer = write_file(dir.path(), "longer.txt", &[BYTES, b"!"].concat());
    let at = now();

    let out = signpost(
        &env,
        &[
            "presign",
            "put",
            &object,
            "--content-type",
            "text/plain",
            "--content-length",
            &BYTES.len().to_string(),
            "--expires",
            "10m",
            "--at",
            &rfc3339(at),
            "--format",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(json["method"], "PUT");
    assert_eq!(json["headers"]["content-type"], "text/plain");
    assert_eq!(json["headers"]["content-length"], BYTES.len().to_string());
    assert_eq!(json["expires_at"], rfc3339(at + Duration::minutes(10)));
    let url = json["url"].as_str().unwrap();

    let put = |file: &str, content_type: &str| {
        curl_status(&[
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {content_type}"),
            "--data-binary",
            &format!("@{file}"),
            url,
        ])
    };
    assert_eq!(put(&longer, "text/plain"), "403", "one byte more");
    assert_eq!(put(&exact, "text/html"), "403", "another type");
    assert!(!env.object_exists(&env.bucket_a, &key).await);
    assert_eq!(put(&exact, "text/plain"), "200");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &key).await.as_deref(),
        Some(BYTES)
    );
}

/// Runs `signpost ARGS` with credentials from an AWS `credential_process` profile that
/// expire at `expires`, and no AWS_ACCESS_KEY_ID in the environment.
fn signpost_with_expiring_credentials(
    env: &S3Env,
    dir: &std::path::Path,
    expires: OffsetDateTime,
    args: &[&str],
) -> Output {
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": env.access_key,
        "SecretAccessKey": env.secret_key,
        "Expiration": rfc3339(expires),
    });
    let script = write_file(
        dir,
        "creds.sh",
        format!("#!/bin/sh\ncat <<'JSON'\n{json}\nJSON\n").as_bytes(),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let config = write_file(
        dir,
        "config",
        format!(
            "[profile expiring]\ncredential_process = {script}\nregion = {}\n",
            env.region
        )
        .as_bytes(),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(args)
        .args(["--endpoint", &env.endpoint])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_PROFILE", "expiring")
        .env("AWS_EC2_METADATA_DISABLED", "true")
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

#[tokio::test]
async fn credentials_expiring_first_warn_and_strict_refuses() {
    let env = S3Env::from_env();
    let key = format!("{}short-lived.txt", unique_prefix("cli-creds-expiry"));
    let object = format!("s3://{}/{key}", env.bucket_a);
    put_object(&env, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let at = now();
    let creds_end = at + Duration::minutes(10);
    let url_end = at + Duration::hours(1);
    let run = |extra: &[&str]| {
        let mut args = vec!["presign", "get", &object];
        args.extend_from_slice(extra);
        signpost_with_expiring_credentials(&env, dir.path(), creds_end, &args)
    };
    let at_s = rfc3339(at);

    // Within the credentials' life: no warning.
    let out = run(&["--expires", "5m", "--at", &at_s]);
    assert!(stdout_of(&out).contains("X-Amz-Expires=300"));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Past it: the URL, and a warning naming both times.
    let out = run(&["--expires", "1h", "--at", &at_s]);
    let url = stdout_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("warning: "), "{stderr}");
    assert!(
        stderr.contains(&rfc3339(creds_end)) && stderr.contains(&rfc3339(url_end)),
        "{stderr}"
    );
    let got = run_ok(Command::new("curl").args(["-sS", "--fail", url.trim()]));
    assert_eq!(got.stdout, BYTES, "the URL works while the credentials do");

    // --strict: exit 1, no URL.
    let out = run(&["--expires", "1h", "--at", &at_s, "--strict"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains(&rfc3339(creds_end))
            && stderr.contains(&rfc3339(url_end)),
        "{stderr}"
    );
}
