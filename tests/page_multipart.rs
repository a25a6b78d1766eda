//! signpost's own upload page sends a file above `[server] multipart_threshold` in parts
//! (lowered to 5 MiB here), in headless Chromium against Ceph: the bar moves, the stored
//! bytes equal the file's, the object is a multipart one (its ETag ends in `-3`), and the
//! `/uploaded` page confirms it. Cancel aborts the upload: nothing stored, nothing left in
//! ListMultipartUploads.

#![cfg(feature = "integration")]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use signpost::{Method, UrlRequest};
use support::browser::{Browser, Driver, Js};
use support::http::client;
use support::node::harness_bytes;
use support::s3::S3Env;
use support::uppy_server::{sign_in, Server, MIB};
use tempfile::TempDir;
use time::OffsetDateTime;

/// Records every value the page's progress bars show into sessionStorage (which outlives the
/// navigation to /uploaded); with `cancel_at_first`, clicks Cancel as soon as a part has
/// moved the bar, as a person would.
const WATCH: &str = r#"
const cancelAtFirst = arguments[0];
sessionStorage.setItem('seen', '[]');
new MutationObserver(() => {
  for (const bar of document.querySelectorAll('#progress progress')) {
    const seen = JSON.parse(sessionStorage.getItem('seen'));
    if (seen[seen.length - 1] !== bar.value) {
      seen.push(bar.value);
      sessionStorage.setItem('seen', JSON.stringify(seen));
    }
    if (cancelAtFirst && bar.value > 0 && !window.__clicked) {
      window.__clicked = true;
      bar.parentElement.querySelector('.cancel').click();
    }
  }
}).observe(document.getElementById('progress'), { subtree: true, childList: true, attributes: true });
"#;

fn file(dir: &TempDir, name: &str, size: usize) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, harness_bytes(size)).expect("write the file");
    path
}

async fn seen(b: &Browser) -> Vec<u64> {
    let v = b
        .js(
            "return JSON.parse(sessionStorage.getItem('seen') || '[]');",
            vec![],
        )
        .await;
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

async fn journey(b: &Browser, server: &Server) {
    sign_in(b, server, "alice-token").await;
    let dir = TempDir::new().expect("temp dir");

    // 11 MiB + 3 over a 5 MiB threshold: three parts.
    let size = 11 * MIB as usize + 3;
    let path = file(&dir, "big.txt", size);
    b.goto(&server.url("/upload/video")).await;
    b.js(WATCH, vec![Value::Bool(false)]).await;
    b.choose_files("#file", &[&path]).await;
    let url = b.wait_path("/uploaded/").await;
    let key = url
        .query_pairs()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.into_owned())
        .expect("the key in /uploaded's query");
    assert!(key.ends_with("/big.txt"), "{key}");
    let text = b.text("main").await;
    assert!(text.contains("big.txt"), "the upload is confirmed: {text}");
    let bars = seen(b).await;
    assert!(
        bars.iter().any(|v| *v > 0 && *v < 100) && bars.last() == Some(&100),
        "one bar went from 0 to 100 through the parts: {bars:?}"
    );
    assert!(
        server.object(&key).await == Some(harness_bytes(size)),
        "bytes"
    );
    let head_url = server
        .running
        .state
        .signer
        .presign(
            &UrlRequest::new(Method::Head, &server.bucket, &key, Duration::from_secs(60)),
            OffsetDateTime::now_utc(),
        )
        .expect("presign HEAD");
    let head = client().head(head_url).send().await.expect("HEAD");
    assert_eq!(head.status(), 200);
    let etag = head
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        etag.trim_matches('"').ends_with("-3"),
        "a 3-part object: {etag}"
    );

    // Cancel as soon as the bar moves: the upload is aborted and nothing stays.
    let path = file(&dir, "cancelled.txt", 60 * MIB as usize);
    b.goto(&server.url("/upload/video")).await;
    b.js(WATCH, vec![Value::Bool(true)]).await;
    b.choose_files("#file", &[&path]).await;
    let message = b
        .wait_js(
            "the cancel message",
            "const m = document.getElementById('message'); return m && !m.hidden && m.textContent;",
        )
        .await;
    assert!(
        message.as_str().unwrap_or("").contains("cancelled"),
        "{message}"
    );
    assert!(
        !server
            .keys("video/")
            .await
            .iter()
            .any(|k| k.ends_with("cancelled.txt")),
        "nothing stored"
    );
    let open = server.open_uploads("video/").await;
    assert!(!open.contains("<Upload>"), "the upload was aborted: {open}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_page_sends_large_files_in_parts_with_progress_and_cancel() {
    let s3 = S3Env::from_env();
    let server = Server::ceph(&s3, r#"multipart_threshold = "5MiB""#).await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("page-multipart", journey(&b, &server)).await;
    b.close().await;
    server.running.shutdown().await;
}
