//! `signpost serve` without `[s3]` runs the embedded store, says so, prints its endpoint and
//! keys, and takes the keys from `SIGNPOST_STORE_ACCESS_KEY`/`SIGNPOST_STORE_SECRET_KEY`, so
//! other S3 clients can use the same store.

#![cfg(feature = "server")]

mod support;

use signpost::{Credentials, Endpoint, Method, Signer, UrlRequest};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::http::client;
use time::OffsetDateTime;

#[tokio::test]
async fn the_demo_store_takes_given_keys_and_prints_them() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("SIGNPOST_STORE_ACCESS_KEY", "demo-access-key")
        .env("SIGNPOST_STORE_SECRET_KEY", "demo-secret-key-0123456789")
        .env_remove("SIGNPOST_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("signpost starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("signpost is running");
        printed.push(line);
        if done {
            break;
        }
    }
    let text = printed.join("\n");
    assert!(text.contains("No [s3] section"), "{text}");
    assert!(
        text.contains("export AWS_ACCESS_KEY_ID=demo-access-key"),
        "{text}"
    );
    assert!(
        text.contains("export AWS_SECRET_ACCESS_KEY=demo-secret-key-0123456789"),
        "{text}"
    );
    let endpoint = printed
        .iter()
        .find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL="))
        .expect("the endpoint is printed")
        .to_string();
    // Any client with those keys can use the store: a presigned PUT, then a GET.
    let signer = Signer::new(
        Credentials::new("demo-access-key", "demo-secret-key-0123456789"),
        "us-east-1",
        Endpoint::custom(&endpoint, true).unwrap(),
    );
    let now = OffsetDateTime::now_utc();
    let put = signer
        .presign(
            &UrlRequest::new(
                Method::Put,
                "signpost-demo",
                "tools/hello.txt",
                Duration::from_secs(60),
            ),
            now,
        )
        .unwrap();
    let http = client();
    let r = http.put(&put).body("hello").send().await.unwrap();
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let get = signer
        .presign(
            &UrlRequest::new(
                Method::Get,
                "signpost-demo",
                "tools/hello.txt",
                Duration::from_secs(60),
            ),
            now,
        )
        .unwrap();
    assert_eq!(
        http.get(&get).send().await.unwrap().text().await.unwrap(),
        "hello"
    );
    // Another secret is refused.
    let wrong = Signer::new(
        Credentials::new("demo-access-key", "not-the-secret"),
        "us-east-1",
        Endpoint::custom(&endpoint, true).unwrap(),
    );
    let get = wrong
        .presign(
            &UrlRequest::new(
                Method::Get,
                "signpost-demo",
                "tools/hello.txt",
                Duration::from_secs(60),
            ),
            now,
        )
        .unwrap();
    assert_eq!(http.get(&get).send().await.unwrap().status().as_u16(), 403);
    let _ = child.kill();
    let _ = child.wait();
}
