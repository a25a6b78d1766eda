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

#[path = "support/browser.rs"]
mod browser;
#[path = "support/node.rs"]
mod node;
#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::Duration;

use browser::{Browser, Driver, Js};
use node::{harness_bytes, uppy_bundle, uppy_result, UppyMode, UppyPage};
use serde_json::{json, Value};
use signpost::server::config::Config;
use signpost::server::s3::{list_objects, ListQuery};
use signpost::server::{start, Running};
use signpost::{GetOptions, Method, UrlRequest};
use support::{unique_prefix, S3Env};
use tempfile::TempDir;
use time::OffsetDateTime;

const MIB: u64 = 1024 * 1024;
const STATE_SECRET: &str = "uppy-test-state-secret-0123456789abcdef";
const UPLOAD_WAIT: Duration = Duration::from_secs(90);

fn sha256_hex(t: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(t.as_bytes()))
}

/// Auth by token (header or cookie), and two profiles under `prefix`: `video` (any
/// application/* up to 20 MiB) and `small` (up to 12 MiB).
fn rest(bucket: &str, prefix: &str) -> String {
    format!(
        r#"
[auth]
mode = "tokens"
cookie = "signpost_token"

[[auth.tokens]]
sha256 = "{alice}"
user = "alice"

[[auth.tokens]]
sha256 = "{bob}"
user = "bob"

[[profile]]
name = "video"
bucket = "{bucket}"
key = "{prefix}video/{{user}}/{{uuid}}/${{filename}}"
max_size = "20MiB"
content_type_prefix = "application/"
metadata = {{ kind = "uppy-test" }}

[[profile]]
name = "small"
bucket = "{bucket}"
key = "{prefix}small/{{user}}/{{uuid}}/${{filename}}"
max_size = "12MiB"
content_type_prefix = "application/"
"#,
        alice = sha256_hex("alice-token"),
        bob = sha256_hex("bob-token"),
    )
}

struct Server {
    running: Running,
    bucket: String,
    prefix: String,
    _data: TempDir,
}

impl Server {
    async fn start(text: &str, bucket: &str, prefix: &str) -> Server {
        let config = Config::parse(text, Path::new("."), &|_| None)
            .unwrap_or_else(|e| panic!("test config refused: {e}\n{text}"));
        let data = TempDir::new().expect("data dir");
        let running = start(config, data.path().to_path_buf(), Some(uppy_bundle()))
            .await
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        Server {
            running,
            bucket: bucket.into(),
            prefix: prefix.into(),
            _data: data,
        }
    }

    async fn ceph(s3: &S3Env) -> Server {
        let prefix = unique_prefix("uppy");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstate_secret = \"{STATE_SECRET}\"\n\n[s3]\n\
             endpoint = \"{}\"\nregion = \"{}\"\npath_style = true\naccess_key_id = \"{}\"\n\
             secret_access_key = \"{}\"\n{}",
            s3.endpoint,
            s3.region,
            s3.access_key,
            s3.secret_key,
            rest(&s3.bucket_a, &prefix)
        );
        Server::start(&text, &s3.bucket_a, &prefix).await
    }

    async fn embedded() -> Server {
        let prefix = unique_prefix("uppy");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstate_secret = \"{STATE_SECRET}\"\n{}",
            rest("uppy-embedded", &prefix)
        );
        Server::start(&text, "uppy-embedded", &prefix).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    /// The object's bytes, or None when there is none (signed by the server's own signer).
    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let url = self
            .running
            .state
            .signer
            .presign_get(
                &self.bucket,
                key,
                Duration::from_secs(60),
                OffsetDateTime::now_utc(),
                &GetOptions::default(),
            )
            .expect("presign GET");
        let resp = reqwest::get(&url).await.expect("GET");
        match resp.status().as_u16() {
            200 => Some(resp.bytes().await.expect("body").to_vec()),
            404 => None,
            s => panic!("GET {key}: {s} {}", resp.text().await.unwrap_or_default()),
        }
    }

    /// Every key stored under `folder` (below the test's prefix).
    async fn keys(&self, folder: &str) -> Vec<String> {
        let prefix = format!("{}{folder}", self.prefix);
        let page = list_objects(
            &reqwest::Client::new(),
            &self.running.state.signer,
            OffsetDateTime::now_utc(),
            &ListQuery {
                bucket: &self.bucket,
                prefix: &prefix,
                delimiter: None,
                continuation: None,
                max_keys: 1000,
            },
        )
        .await
        .expect("list objects");
        page.contents.into_iter().map(|o| o.key).collect()
    }

    /// The body of ListMultipartUploads under `folder`.
    async fn open_uploads(&self, folder: &str) -> String {
        let prefix = format!("{}{folder}", self.prefix);
        let mut req = UrlRequest::new(Method::Get, &self.bucket, "", Duration::from_secs(60));
        req.query.push(("uploads", ""));
        req.query.push(("prefix", &prefix));
        let url = self
            .running
            .state
            .signer
            .presign(&req, OffsetDateTime::now_utc())
            .expect("presign list uploads");
        let resp = reqwest::get(&url).await.expect("list uploads");
        let status = resp.status();
        let body = resp.text().await.expect("body");
        assert!(status.is_success(), "ListMultipartUploads: {status} {body}");
        body
    }
}

/// Signs the browser in as `user` with the cookie (Uppy 6 sends no header of its own).
async fn sign_in(b: &Browser, server: &Server, token: &str) {
    b.goto(&server.url("/healthz")).await;
    let cookie = fantoccini::cookies::Cookie::parse(format!(
        "signpost_token={token}; Path=/; Domain=127.0.0.1; SameSite=Lax"
    ))
    .expect("cookie");
    b.client.add_cookie(cookie).await.expect("add cookie");
}

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
    let http = reqwest::Client::new();
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

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uppy_against_ceph() {
    let s3 = S3Env::from_env();
    let server = Server::ceph(&s3).await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("uppy-ceph", scenarios(&b, &server)).await;
    b.close().await;
    server.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uppy_against_the_embedded_store() {
    let server = Server::embedded().await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("uppy-embedded", scenarios(&b, &server)).await;
    b.close().await;
    server.running.shutdown().await;
}
