//! Real Uppy (`@uppy/aws-s3` 6.3.1, bundled from `tests/js`) in headless Chromium against
//! signpost's Companion routes, backed by Ceph and once by the embedded store: POST mode
//! through `/s3/params`, PUT mode through `POST /api/v1/presign`, multipart in parts of
//! 5 MiB with and without the size in the file's metadata, and the refusals a user would
//! notice: over the profile's limit (nothing stored), a part with more bytes than signed
//! (refused by S3), a complete over `max_size` (aborted, nothing left in
//! ListMultipartUploads), another caller's upload id (403).
//!
//! The Uppy page is served from signpost's own origin (its static dir), and the browser signs
//! in with a cookie: Uppy 6 sends no auth header of its own.

#![cfg(feature = "integration")]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::browser::{Browser, Driver, Js};
use support::http::client;
use support::node::{harness_bytes, uppy_result, UppyMode, UppyPage};
use support::s3::S3Env;
use support::uppy_server::{sign_in, url_escape, Server, MIB};

const UPLOAD_WAIT: Duration = Duration::from_secs(90);

/// Runs the page and returns `window.__uppyResult`.
async fn upload(b: &Browser, server: &Server, page: UppyPage) -> Value {
    b.goto(&server.url(&format!("/static/{}", page.path())))
        .await;
    uppy_result(&b.client, UPLOAD_WAIT).await
}

fn key_of(r: &Value) -> String {
    r["success"]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("no key in the success: {r:#}"))
        .to_string()
}

fn statuses(r: &Value, needle: &str) -> Vec<u64> {
    r["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|q| q["url"].as_str().unwrap_or("").contains(needle))
        .filter_map(|q| q["status"].as_u64())
        .collect()
}

/// Every scenario, in one browser, against `server`.
async fn scenarios(b: &Browser, server: &Server) {
    sign_in(b, server, "alice-token").await;

    // POST mode: GET /s3/params, then the form.
    let size = MIB + 5;
    let r = upload(
        b,
        server,
        UppyPage::new(UppyMode::Post, size).profile("video"),
    )
    .await;
    assert_eq!(r["state"], "success", "POST mode: {r:#}");
    let key = key_of(&r);
    assert!(
        key.starts_with(&format!("{}video/alice/", server.prefix)),
        "{key}"
    );
    assert!(
        server.object(&key).await == Some(harness_bytes(size as usize)),
        "POST bytes"
    );

    // PUT mode: signRequest → POST /api/v1/presign with the profile.
    let size = 300 * 1024 + 7;
    let r = upload(
        b,
        server,
        UppyPage::new(UppyMode::Put, size).profile("video"),
    )
    .await;
    assert_eq!(r["state"], "success", "PUT mode: {r:#}");
    let key = key_of(&r);
    assert!(
        key.starts_with(&format!("{}video/alice/", server.prefix)),
        "{key}"
    );
    assert!(
        server.object(&key).await == Some(harness_bytes(size as usize)),
        "PUT bytes"
    );

    // Multipart with the size in the metadata: 3 parts of 5 MiB and a last one of 3 bytes.
    let size = 15 * MIB + 3;
    let r = upload(
        b,
        server,
        UppyPage::new(UppyMode::Multipart, size)
            .profile("video")
            .chunk(5 * MIB),
    )
    .await;
    assert_eq!(r["state"], "success", "multipart: {r:#}");
    assert_eq!(r["parts"].as_array().map(Vec::len), Some(4), "{r:#}");
    assert_eq!(r["progress"]["bytesUploaded"], json!(size));
    let key = key_of(&r);
    assert!(
        server.object(&key).await == Some(harness_bytes(size as usize)),
        "multipart bytes"
    );

    // Without the size: still uploads; the last part is shorter.
    let size = 11 * MIB + 3;
    let r = upload(
        b,
        server,
        UppyPage::new(UppyMode::Multipart, size)
            .profile("video")
            .without_size_meta()
            .name("no-size.bin"),
    )
    .await;
    assert_eq!(r["state"], "success", "multipart without size: {r:#}");
    let key = key_of(&r);
    assert!(
        server.object(&key).await == Some(harness_bytes(size as usize)),
        "bytes"
    );

    // The size in the metadata is one byte short: the last part has more bytes than its URL
    // signs, and S3 refuses it.
    let size = 11 * MIB + 3;
    let r = upload(
        b,
        server,
        UppyPage::new(UppyMode::Multipart, size)
            .profile("video")
            .without_size_meta()
            .meta(json!({ "size": size - 1 }))
            .name("one-byte-more.bin"),
    )
    .await;
    assert_eq!(r["state"], "error", "a part longer than signed: {r:#}");
    // S3 refuses the part; Ceph answers without CORS headers, so the browser sees status 0.
    let part3 = statuses(&r, "partNumber=3");
    assert!(
        !part3.is_empty() && part3.iter().all(|s| !(200..300).contains(s)),
        "{r:#}"
    );
    assert_eq!(statuses(&r, "partNumber=1"), vec![200], "{r:#}");
    assert!(
        !server
            .keys("video/")
            .await
            .iter()
            .any(|k| k.ends_with("one-byte-more.bin")),
        "nothing stored"
    );

    // Over the profile's limit: a POST without the size is refused by S3 (the policy's
    // content-length-range); a multipart with the size is refused at create.
    let r = upload(
        b,
        server,
        UppyPage::new(UppyMode::Post, 13 * MIB)
            .profile("small")
            .without_size_meta()
            .name("too-big-post.bin"),
    )
    .await;
    assert_eq!(r["state"], "error", "POST over the limit: {r:#}");
    let r2 = upload(
        b,
        server,
        UppyPage::new(UppyMode::Multipart, 13 * MIB)
            .profile("small")
            .name("too-big-multipart.bin"),
    )
    .await;
    assert_eq!(r2["state"], "error", "multipart over the limit: {r2:#}");
    assert_eq!(statuses(&r2, "/s3/multipart"), vec![400], "{r2:#}");
    assert!(server.keys("small/").await.is_empty(), "nothing stored");

    // Without the size, a multipart over max_size is refused at complete and aborted.
    let r = upload(
        b,
        server,
        UppyPage::new(UppyMode::Multipart, 14 * MIB)
            .profile("small")
            .without_size_meta()
            .name("over-at-complete.bin"),
    )
    .await;
    assert_eq!(r["state"], "error", "complete over max_size: {r:#}");
    assert_eq!(statuses(&r, "/complete"), vec![400], "{r:#}");
    assert!(server.keys("small/").await.is_empty(), "nothing stored");
    let open = server.open_uploads("small/").await;
    assert!(!open.contains("<Upload>"), "the upload was aborted: {open}");

    another_callers_upload_is_403(server).await;
}

/// Alice starts an upload; Bob may not continue, complete or abort it.
async fn another_callers_upload_is_403(server: &Server) {
    let http = client();
    let resp = http
        .post(server.url("/s3/multipart"))
        .bearer_auth("alice-token")
        .json(
            &json!({"filename": "mine.bin", "type": "application/octet-stream",
                      "metadata": {"profile": "video", "size": 6 * MIB}}),
        )
        .send()
        .await
        .expect("create");
    let status = resp.status();
    let created: Value = resp.json().await.expect("create JSON");
    assert_eq!(status, 200, "create: {created}");
    let id = created["uploadId"].as_str().expect("uploadId");
    let key = created["key"].as_str().expect("key");
    let q = |extra: &str| format!("key={}{extra}", url_escape(key));
    let bob = [
        http.get(server.url(&format!("/s3/multipart/{id}/1?{}", q("")))),
        http.get(server.url(&format!("/s3/multipart/{id}?{}", q("")))),
        http.delete(server.url(&format!("/s3/multipart/{id}?{}", q("")))),
        http.post(server.url(&format!("/s3/multipart/{id}/complete?{}", q(""))))
            .json(&json!({"parts": [{"PartNumber": 1, "ETag": "\"x\""}]})),
    ];
    for req in bob {
        let resp = req
            .bearer_auth("bob-token")
            .send()
            .await
            .expect("bob's request");
        assert_eq!(
            resp.status(),
            403,
            "{}",
            resp.text().await.unwrap_or_default()
        );
    }
    let resp = http
        .get(server.url(&format!("/s3/multipart/{id}/1?{}", q(""))))
        .bearer_auth("alice-token")
        .send()
        .await
        .expect("alice's part URL");
    assert_eq!(resp.status(), 200);
    // Part 2 of a 6 MiB file is 1 MiB: its URL takes exactly that many bytes.
    let part2: Value = http
        .get(server.url(&format!("/s3/multipart/{id}/2?{}", q(""))))
        .bearer_auth("alice-token")
        .send()
        .await
        .expect("part 2 URL")
        .json()
        .await
        .expect("part 2 JSON");
    let part2 = part2["url"].as_str().expect("url");
    let resp = http
        .put(part2)
        .body(vec![7u8; MIB as usize + 1])
        .send()
        .await
        .expect("PUT one byte more");
    assert!(
        resp.status().is_client_error(),
        "one byte more: {}",
        resp.status()
    );
    let resp = http
        .put(part2)
        .body(vec![7u8; MIB as usize])
        .send()
        .await
        .expect("PUT the signed length");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let resp = http
        .delete(server.url(&format!("/s3/multipart/{id}?{}", q(""))))
        .bearer_auth("alice-token")
        .send()
        .await
        .expect("alice aborts");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uppy_against_ceph() {
    let s3 = S3Env::from_env();
    let server = Server::ceph(&s3, "").await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("uppy-ceph", scenarios(&b, &server)).await;
    b.close().await;
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uppy_against_the_embedded_store() {
    let server = Server::embedded("").await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("uppy-embedded", scenarios(&b, &server)).await;
    b.close().await;
    server.running.shutdown().await;
}
