//! The upload journeys in a real browser: headless Chromium, driven through chromedriver,
//! against the real server started in-process, backed by the Ceph harness (and once by the
//! embedded store). Each journey has its own server, chromedriver, browser and key prefix, so
//! they run in parallel. Screenshots go to `target/e2e/`: the final page on success,
//! `NAME-FAILED.png` on failure.
//!
//! Run with Ceph up: `scripts/test.sh`, or `scripts/ceph.sh start DIR && source DIR/env` and
//! `cargo test --test e2e`. Needs `chromium` and `chromium-driver`
//! (`scripts/install-test-deps.sh`).

#![cfg(feature = "integration")]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use signpost::server::config::Config;
use signpost::server::{start, Running};
use signpost::{Method, UrlRequest};
use support::browser::{Browser, Driver, Js};
use support::png::png;
use support::s3::{unique_prefix, S3Env};
use tempfile::TempDir;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------------
// Servers

/// The server under test, with its own data dir.
struct Server {
    running: Running,
    _data: TempDir,
}

impl Server {
    async fn start(config: Config) -> Server {
        let data = TempDir::new().expect("temp data dir");
        let running = start(config, data.path().to_path_buf(), None)
            .await
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        Server {
            running,
            _data: data,
        }
    }

    /// A server on Ceph with the given `[auth]` and `[[profile]]` TOML.
    async fn ceph(s3: &S3Env, rest: &str) -> Server {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[s3]\nendpoint = \"{}\"\nregion = \"{}\"\n\
             path_style = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n\n{rest}",
            s3.endpoint, s3.region, s3.access_key, s3.secret_key
        );
        // No environment overrides: the test says everything.
        let config = Config::parse(&text, Path::new("."), &|_| None)
            .unwrap_or_else(|e| panic!("test config refused: {e}\n{text}"));
        Server::start(config).await
    }

    /// The no-config demo: embedded store, no auth.
    async fn demo() -> Server {
        Server::start(Config::demo("127.0.0.1:0".parse().expect("address"))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    async fn stop(self) {
        self.running.shutdown().await;
    }
}

/// A `[[profile]]` whose keys go under `prefix` (then the user, a uuid and the file name).
fn profile(name: &str, bucket: &str, prefix: &str, rest: &str) -> String {
    format!(
        "[[profile]]\nname = \"{name}\"\nbucket = \"{bucket}\"\n\
         key = \"{prefix}{{user}}/{{uuid}}/${{filename}}\"\n{rest}\n\n"
    )
}

/// Every key under `prefix` in `bucket` (ListObjectsV2 through a presigned GET).
async fn list_keys(s3: &S3Env, bucket: &str, prefix: &str) -> Vec<String> {
    let mut req = UrlRequest::new(Method::Get, bucket, "", Duration::from_secs(60));
    req.query = vec![("list-type", "2"), ("prefix", prefix)];
    let url = s3
        .signer()
        .presign(&req, OffsetDateTime::now_utc())
        .expect("presign ListObjectsV2");
    let resp = reqwest::get(&url).await.expect("list request sent");
    let status = resp.status();
    let body = resp.text().await.expect("list body");
    assert!(
        status.is_success(),
        "listing {bucket}/{prefix}: {status}: {body}"
    );
    body.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

/// GETs `url` (a presigned link from the page) and returns the body.
async fn download(url: &str) -> Vec<u8> {
    let resp = reqwest::get(url).await.expect("download sent");
    assert!(
        resp.status().is_success(),
        "the page's link answered {}",
        resp.status()
    );
    resp.bytes().await.expect("download body").to_vec()
}

// ---------------------------------------------------------------------------------------------
// Files

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// A small valid one-page PDF.
fn pdf() -> Vec<u8> {
    let text = "BT /F1 18 Tf 20 40 Td (signpost e2e) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 240 100] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .into(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Page instrumentation (kept in sessionStorage, so it survives the move to /uploaded)

/// Records every upload `progress` event and, on every change to the progress list, each
/// row's name, bar value and percentage text.
const RECORD_PROGRESS: &str = r#"
sessionStorage.setItem('e2e.events', '[]');
sessionStorage.setItem('e2e.rows', '[]');
const add = (k, v) => {
  const a = JSON.parse(sessionStorage.getItem(k) || '[]');
  a.push(v);
  sessionStorage.setItem(k, JSON.stringify(a));
};
const orig = XMLHttpRequestUpload.prototype.addEventListener;
XMLHttpRequestUpload.prototype.addEventListener = function (type, fn, opts) {
  if (type === 'progress') {
    const inner = fn;
    fn = function (e) {
      add('e2e.events', [e.loaded, e.total, e.lengthComputable]);
      return inner.call(this, e);
    };
  }
  return orig.call(this, type, fn, opts);
};
const list = document.getElementById('progress');
new MutationObserver(() => {
  add('e2e.rows', Array.from(list.querySelectorAll('li.item')).map((li) => [
    li.querySelector('.name').textContent,
    li.querySelector('progress') ? li.querySelector('progress').value : null,
    li.querySelector('.pct').textContent,
  ]));
}).observe(list, { subtree: true, childList: true, attributes: true, characterData: true });
"#;

/// `[[loaded, total, computable]…]`, `[[[name, value, pct]…]…]` as recorded.
async fn recorded(b: &Browser) -> (Vec<Value>, Vec<Vec<Value>>) {
    let v = b
        .js(
            "return [JSON.parse(sessionStorage.getItem('e2e.events') || '[]'), \
             JSON.parse(sessionStorage.getItem('e2e.rows') || '[]')];",
            vec![],
        )
        .await;
    let events = v[0].as_array().cloned().unwrap_or_default();
    let rows = v[1]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.as_array().cloned().unwrap_or_default())
        .collect();
    (events, rows)
}

/// Waits for the page's message box to show text; returns it.
async fn wait_message(b: &Browser) -> String {
    b.wait_js(
        "the page's message",
        "const m = document.getElementById('message'); return m && !m.hidden && m.textContent;",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Every request the page made after it loaded (Resource Timing).
async fn requests_made(b: &Browser) -> Vec<String> {
    let v = b
        .js(
            "return performance.getEntriesByType('resource').map((e) => e.name);",
            vec![],
        )
        .await;
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .filter(|s| !s.contains("/static/") && !s.ends_with("/favicon.ico"))
        .collect()
}

/// The uploaded page's files: (key, type, href of Download).
async fn uploaded_files(b: &Browser) -> Vec<(String, String, String)> {
    let v = b
        .js(
            "return Array.from(document.querySelectorAll('li.file')).map((li) => [\
             li.querySelector('.key').textContent, li.querySelector('.type').textContent, \
             li.querySelector('a.download').href]);",
            vec![],
        )
        .await;
    v.as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let s = |i: usize| f[i].as_str().unwrap_or_default().to_string();
            (s(0), s(1), s(2))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Journey 1: an avatar with JavaScript

/// Chooses a PNG on `/upload/avatar`, watches the bar reach 100%, lands on `/uploaded`, sees
/// the preview load from a presigned GET, and checks the stored bytes through the page's
/// Download link (and through the library when `s3` is given). Returns the stored key.
async fn avatar_journey(name: &str, server: &Server, s3: Option<(&S3Env, &str)>) -> String {
    let files = TempDir::new().expect("temp dir");
    let bytes = png(64, 40, 0);
    let file = write(files.path(), "avatar.png", &bytes);
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let mut stored_key = String::new();
    b.journey(name, async {
        b.goto(&server.url("/upload/avatar")).await;
        b.find("html.js").await; // app.js ran
        b.screenshot_both_widths(&format!("{name}-form")).await;
        b.js(RECORD_PROGRESS, vec![]).await;

        b.choose_files("#file", &[&file]).await;
        b.wait_path("/uploaded/").await;
        assert_eq!(b.text("#done").await, "Upload verified");

        // The bar moved with real progress events and reached 100%.
        let (events, rows) = recorded(&b).await;
        assert!(!events.is_empty(), "no upload progress event fired");
        let last = events.last().expect("an event");
        assert_eq!(
            last[0], last[1],
            "the last progress event is complete: {last}"
        );
        assert!(
            last[1].as_u64().unwrap_or(0) >= bytes.len() as u64,
            "the upload carried the whole file: {events:?}"
        );
        let values: Vec<f64> = rows
            .iter()
            .filter_map(|r| r.first())
            .filter_map(|row| row[1].as_f64())
            .collect();
        assert_eq!(values.first(), Some(&0.0), "the bar starts at 0: {rows:?}");
        assert_eq!(values.last(), Some(&100.0), "the bar reaches 100: {rows:?}");
        assert!(
            values.windows(2).all(|w| w[0] <= w[1]),
            "the bar only moves forward: {values:?}"
        );
        assert_eq!(rows.last().expect("rows")[0][2], "100%");

        // The preview really loaded, from a presigned GET on the storage.
        let width = b
            .wait_js(
                "the preview image to load",
                "const i = document.querySelector('img.preview'); \
                 return i && i.complete && i.naturalWidth;",
            )
            .await;
        assert_eq!(width, 64, "the preview shows the uploaded 64×40 image");
        let src = b
            .find("img.preview")
            .await
            .attr("src")
            .await
            .expect("src")
            .expect("the preview has a src");
        assert!(
            src.contains("X-Amz-Signature=") && src.contains("X-Amz-Expires="),
            "the preview is a presigned GET: {src}"
        );

        // The stored bytes are the file's.
        let listed = uploaded_files(&b).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        let (key, content_type, href) = listed[0].clone();
        assert!(key.ends_with("/avatar.png"), "{key}");
        assert_eq!(content_type, "image/png");
        assert_eq!(download(&href).await, bytes, "Download gives back the file");
        if let Some((s3, bucket)) = s3 {
            assert_eq!(
                s3.object_bytes(bucket, &key).await.as_deref(),
                Some(&bytes[..]),
                "S3 holds the file's bytes"
            );
        }
        b.screenshot_both_widths(name).await;
        stored_key = key;
    })
    .await;
    b.close().await;
    stored_key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j1_avatar_with_javascript_on_ceph() {
    let s3 = S3Env::from_env();
    let prefix = unique_prefix("e2e-avatar");
    let server = Server::ceph(
        &s3,
        &profile(
            "avatar",
            &s3.bucket_a,
            &prefix,
            "title = \"Avatar\"\nmax_size = \"5MiB\"\nmin_size = 1\ncontent_types = [\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\"]",
        ),
    )
    .await;
    let key = avatar_journey("j1-avatar-ceph", &server, Some((&s3, &s3.bucket_a))).await;
    assert!(key.starts_with(&prefix), "{key} is under {prefix}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j1_avatar_with_javascript_on_the_embedded_store() {
    let server = Server::demo().await;
    let key = avatar_journey("j1-avatar-embedded", &server, None).await;
    assert!(key.starts_with("avatars/demo/"), "{key}");
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Journey 2: a document without JavaScript

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j2_document_without_javascript() {
    let s3 = S3Env::from_env();
    let prefix = unique_prefix("e2e-document");
    let server = Server::ceph(
        &s3,
        &profile(
            "document",
            &s3.bucket_a,
            &prefix,
            "title = \"Document\"\nmax_size = \"20MiB\"\nmin_size = 1\n\
             content_types = [\"application/pdf\", \
             \"application/vnd.openxmlformats-officedocument.wordprocessingml.document\"]",
        ),
    )
    .await;
    let files = TempDir::new().expect("temp dir");
    let bytes = pdf();
    let file = write(files.path(), "report.pdf", &bytes);
    let driver = Driver::start();
    let b = driver.browser(Js::Off).await;
    let name = "j2-document-nojs";
    b.journey(name, async {
        b.goto(&server.url("/upload/document")).await;
        b.find("#upload-form").await;
        // JavaScript really is off: app.js would have marked <html class="js">.
        assert_eq!(
            b.count("html.js").await,
            0,
            "JavaScript ran in the no-JS browser"
        );
        let select = b.find("select[name='Content-Type']").await;
        assert!(
            select.is_displayed().await.expect("displayed"),
            "the type choice shows without JS"
        );
        let chosen = b.find("select[name='Content-Type'] option:checked").await;
        assert_eq!(
            chosen.text().await.expect("text"),
            "PDF",
            "PDF is the default type"
        );
        assert_eq!(
            chosen.attr("value").await.expect("value").as_deref(),
            Some("application/pdf"),
            "the PDF option posts application/pdf"
        );
        b.screenshot_both_widths(&format!("{name}-form")).await;

        b.choose_files("#file", &[&file]).await;
        b.find("#submit").await.click().await.expect("click Upload");

        // The form went to S3, which redirected (303) back with bucket, key and etag.
        let landed = b.wait_path("/uploaded/").await;
        let query: Vec<(String, String)> = landed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |n: &str| {
            query
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("S3's redirect adds `{n}`: {landed}"))
        };
        assert_eq!(get("bucket"), s3.bucket_a);
        assert!(!get("etag").is_empty());
        let key = get("key");
        assert!(
            key.starts_with(&prefix) && key.ends_with("/report.pdf"),
            "{key}"
        );

        assert_eq!(b.text("#done").await, "Upload verified");
        // The key sits in a closed "Where it is stored" section (issue 12): read its text.
        let shown = b
            .js(
                "return [document.querySelector('dd.key').textContent, \
                 document.querySelector('.type').textContent, \
                 document.querySelector('dd.name').textContent];",
                vec![],
            )
            .await;
        assert_eq!(
            shown,
            serde_json::json!([key, "application/pdf", "report.pdf"])
        );
        let href = b
            .find("a.download")
            .await
            .attr("href")
            .await
            .expect("href")
            .expect("a Download link");
        assert_eq!(download(&href).await, bytes, "Download gives back the PDF");
        assert_eq!(
            s3.object_bytes(&s3.bucket_a, &key).await.as_deref(),
            Some(&bytes[..]),
            "S3 holds the PDF's bytes"
        );
        b.screenshot_both_widths(name).await;
    })
    .await;
    b.close().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Journey 3: refused in the page, before any request

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j3_client_side_refusal() {
    let s3 = S3Env::from_env();
    let prefix = unique_prefix("e2e-refused");
    let server = Server::ceph(
        &s3,
        &profile(
            "avatar",
            &s3.bucket_a,
            &prefix,
            "title = \"Avatar\"\nmax_size = \"5MiB\"\nmin_size = 1\ncontent_types = [\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\"]",
        ),
    )
    .await;
    let files = TempDir::new().expect("temp dir");
    let big = write(files.path(), "holiday.png", &vec![0u8; 6 << 20]);
    let text = write(files.path(), "notes.txt", b"not a picture\n");
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let name = "j3-refused-in-page";
    b.journey(name, async {
        b.goto(&server.url("/upload/avatar")).await;
        b.find("html.js").await;

        b.choose_files("#file", &[&big]).await;
        let said = wait_message(&b).await;
        assert!(
            said.contains("the limit is 5 MiB")
                && said.contains("holiday.png")
                && said.contains("6 MiB"),
            "the message names the file, its size and the limit: {said}"
        );
        b.screenshot_both_widths(&format!("{name}-size")).await;

        b.choose_files("#file", &[&text]).await;
        let said = b
            .wait_js(
                "the type message",
                "const m = document.getElementById('message'); \
                 return m.textContent.includes('notes.txt') && m.textContent;",
            )
            .await;
        let said = said.as_str().unwrap_or_default();
        assert!(
            said.contains("text/plain")
                && said.contains("accepted: PNG image, JPEG image, GIF image, WebP image"),
            "the message names the type and what is accepted: {said}"
        );

        // Nothing left the page: no signing request, no upload, no progress row.
        let made = requests_made(&b).await;
        assert!(made.is_empty(), "requests were made: {made:?}");
        assert_eq!(b.count("#progress li").await, 0);
        let stored = list_keys(&s3, &s3.bucket_a, &prefix).await;
        assert!(stored.is_empty(), "S3 holds {stored:?}");
        b.screenshot_both_widths(name).await;
    })
    .await;
    b.close().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Journey 4: the page's checks bypassed; the server and S3 still refuse

/// Makes the page lie to the signing API about the file's size (as a hostile client could).
const LIE_ABOUT_SIZE: &str = r#"
const orig = window.fetch;
window.fetch = function (url, opts) {
  if (String(url).includes('/api/v1/sign/') && opts && opts.body) {
    const body = JSON.parse(opts.body);
    body.size = 1;
    opts = Object.assign({}, opts, { body: JSON.stringify(body) });
  }
  return orig.call(this, url, opts);
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j4_server_side_refusal() {
    let s3 = S3Env::from_env();
    let prefix = unique_prefix("e2e-toolarge");
    let server = Server::ceph(
        &s3,
        &profile(
            "tiny",
            &s3.bucket_a,
            &prefix,
            "title = \"Tiny icon\"\nmax_size = \"1KiB\"\nmin_size = 1\ncontent_types = [\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\"]",
        ),
    )
    .await;
    let files = TempDir::new().expect("temp dir");
    // A real image over the 1 KiB limit: padded in a tEXt chunk.
    let bytes = png(28, 24, 2200);
    assert!(bytes.len() > 2000 && bytes.len() < 3000, "{}", bytes.len());
    let file = write(files.path(), "icon.png", &bytes);
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let name = "j4-refused-by-storage";
    b.journey(name, async {
        b.goto(&server.url("/upload/tiny")).await;
        b.find("html.js").await;

        // The page's size check is lifted: signpost's signing API still refuses.
        b.js(
            "document.getElementById('upload-form').dataset.maxSize = String(1 << 30);",
            vec![],
        )
        .await;
        b.choose_files("#file", &[&file]).await;
        let said = wait_message(&b).await;
        assert!(
            said.contains("larger than the 1 KiB this upload allows"),
            "the signing API refuses in words: {said}"
        );
        assert!(list_keys(&s3, &s3.bucket_a, &prefix).await.is_empty());

        // The signing API is lied to as well: S3 enforces the policy's size range.
        b.js(LIE_ABOUT_SIZE, vec![]).await;
        b.js("document.getElementById('message').hidden = true;", vec![])
            .await;
        b.find("#submit").await.click().await.expect("click Upload");
        let said = b
            .wait_js(
                "S3's refusal in words",
                "const m = document.getElementById('message'); \
                 return !m.hidden && /too large/i.test(m.textContent) && m.textContent;",
            )
            .await;
        let said = said.as_str().unwrap_or_default();
        assert!(
            !said.contains('<') && !said.contains("EntityTooLarge"),
            "plain words, not S3's XML: {said}"
        );
        assert_eq!(b.text("#progress li.failed .status").await, "Failed");
        assert!(
            b.url().await.path().starts_with("/upload/"),
            "the page stays put after a refusal"
        );
        let stored = list_keys(&s3, &s3.bucket_a, &prefix).await;
        assert!(stored.is_empty(), "S3 stored the oversize file: {stored:?}");
    })
    .await;
    b.close().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Journey 5: several files at once

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j5_several_files() {
    let s3 = S3Env::from_env();
    let prefix = unique_prefix("e2e-several");
    let server = Server::ceph(
        &s3,
        &profile(
            "notes",
            &s3.bucket_a,
            &prefix,
            "title = \"Notes\"\nmax_size = \"1MiB\"\nmin_size = 1\n\
             content_types = [\"text/plain\"]\nmultiple = true",
        ),
    )
    .await;
    let files = TempDir::new().expect("temp dir");
    let contents: Vec<(String, Vec<u8>)> = (1..=3)
        .map(|i| {
            let body = format!("note {i}\n").repeat(400 * i);
            (format!("note-{i}.txt"), body.into_bytes())
        })
        .collect();
    let paths: Vec<PathBuf> = contents
        .iter()
        .map(|(n, c)| write(files.path(), n, c))
        .collect();
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let name = "j5-several-files";
    b.journey(name, async {
        b.goto(&server.url("/upload/notes")).await;
        b.find("html.js").await;
        assert_eq!(
            b.js("return document.getElementById('file').multiple;", vec![])
                .await,
            true
        );
        b.js(RECORD_PROGRESS, vec![]).await;
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        b.choose_files("#file", &refs).await;
        b.wait_path("/uploaded/").await;
        assert_eq!(b.text("#done").await, "Upload verified");

        // One row with its own bar per file; each reached 100%.
        let (events, rows) = recorded(&b).await;
        assert!(
            events.len() >= 3,
            "progress events for each file: {events:?}"
        );
        let most = rows.iter().map(Vec::len).max().unwrap_or(0);
        assert_eq!(most, 3, "three progress rows: {rows:?}");
        let last = rows.last().expect("rows");
        let names: BTreeSet<&str> = last.iter().filter_map(|r| r[0].as_str()).collect();
        let expected: BTreeSet<&str> = contents.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, expected);
        for r in last {
            assert_eq!(r[1], 100.0, "each bar ends at 100: {last:?}");
            assert_eq!(r[2], "100%");
        }

        // All three are listed, verified and stored as chosen.
        let listed = uploaded_files(&b).await;
        assert_eq!(listed.len(), 3, "{listed:?}");
        for (file_name, body) in &contents {
            let (key, content_type, href) = listed
                .iter()
                .find(|(k, _, _)| k.ends_with(&format!("/{file_name}")))
                .unwrap_or_else(|| panic!("{file_name} is not listed: {listed:?}"));
            assert!(key.starts_with(&prefix), "{key}");
            assert_eq!(content_type, "text/plain");
            assert_eq!(&download(href).await, body, "{file_name}'s bytes");
        }
        assert_eq!(list_keys(&s3, &s3.bucket_a, &prefix).await.len(), 3);
    })
    .await;
    b.close().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Journey 6: a bucket without CORS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j6_cors_misconfigured() {
    let s3 = S3Env::from_env();
    let prefix = unique_prefix("e2e-nocors");
    let server = Server::ceph(
        &s3,
        &profile(
            "avatar",
            &s3.bucket_nocors,
            &prefix,
            "title = \"Avatar\"\nmax_size = \"5MiB\"\nmin_size = 1\ncontent_types = [\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\"]",
        ),
    )
    .await;
    let files = TempDir::new().expect("temp dir");
    let file = write(files.path(), "avatar.png", &png(32, 32, 0));
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let name = "j6-cors-misconfigured";
    b.journey(name, async {
        b.goto(&server.url("/upload/avatar")).await;
        b.find("html.js").await;
        b.choose_files("#file", &[&file]).await;
        // Fails within the wait, not hanging, and says what to change.
        let said = wait_message(&b).await;
        let origin = server.url("");
        assert!(
            said.contains("CORS") && said.contains(&origin) && said.contains(&s3.endpoint),
            "the message names CORS, this site and the storage: {said}"
        );
        assert_eq!(b.text("#progress li.failed .status").await, "Failed");
        assert_eq!(
            b.js("return document.getElementById('submit').disabled;", vec![])
                .await,
            false,
            "the form can be used again"
        );
    })
    .await;
    b.close().await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Journey 7: sign-in with a JWT cookie, tiers

const JWT_SECRET: &str = "e2e-hs256-secret-0123456789abcdefghijklmnop";

fn jwt(user: &str, roles: &[&str]) -> String {
    let exp = OffsetDateTime::now_utc().unix_timestamp() + 600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": user, "roles": roles, "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("sign JWT")
}

async fn set_token(b: &Browser, token: String) {
    let _ = b.client.delete_cookie("signpost_token").await;
    // Domain and SameSite spelled out: chromedriver refuses a cookie without a domain on an
    // IP-address origin, and fantoccini would otherwise send SameSite=None.
    let cookie = fantoccini::cookies::Cookie::parse(format!(
        "signpost_token={token}; Path=/; Domain=127.0.0.1; SameSite=Lax"
    ))
    .expect("cookie");
    b.client.add_cookie(cookie).await.expect("add cookie");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j7_jwt_cookie_and_tiers() {
    let s3 = S3Env::from_env();
    let prefix = unique_prefix("e2e-auth");
    let user = format!("e2e-{}", prefix.split('/').nth(1).unwrap_or("user"));
    let server = Server::ceph(
        &s3,
        &format!(
            "[auth]\nmode = \"jwt\"\ncookie = \"signpost_token\"\n\n[auth.jwt]\n\
             hs256_secret = \"{JWT_SECRET}\"\n\n{}{}",
            profile(
                "basic",
                &s3.bucket_a,
                &prefix,
                "title = \"Basic avatar\"\nmax_size = \"1MiB\"\ncontent_types = [\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\"]\n\
                 roles = [\"tier1\", \"tier2\"]",
            ),
            profile(
                "hires",
                &s3.bucket_a,
                &prefix,
                "title = \"High-resolution photo\"\nmax_size = \"5MiB\"\n\
                 content_types = [\"image/png\", \"image/jpeg\", \"image/gif\", \"image/webp\"]\nroles = [\"tier2\"]",
            ),
        ),
    )
    .await;
    let files = TempDir::new().expect("temp dir");
    let bytes = png(48, 48, 0);
    let file = write(files.path(), "photo.png", &bytes);
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let name = "j7-auth";
    b.journey(name, async {
        // Cookies belong to an origin: visit it first.
        b.goto(&server.url("/")).await;
        assert_eq!(
            b.text("h1").await,
            "401 Unauthorized",
            "signing in is required"
        );
        set_token(&b, jwt(&user, &["tier1"])).await;

        b.goto(&server.url("/")).await;
        // Who is signed in is shown in the page header (issue 12).
        assert!(
            b.text("#signed-in-as").await.contains(&user),
            "signed in as the token's user"
        );
        assert_eq!(
            b.count("a[href='/upload/hires']").await,
            0,
            "tier 1 is not offered tier 2"
        );
        assert_eq!(b.count("a[href='/upload/basic']").await, 1);

        b.goto(&server.url("/upload/hires")).await;
        assert_eq!(b.text("h1").await, "403 Forbidden");
        let said = b.text("#error-message").await;
        assert!(
            said.contains("may not use") && said.contains("tier2") && said.contains("tier1"),
            "the refusal says who may: {said}"
        );
        assert_eq!(b.count("#upload-form").await, 0);
        b.screenshot_both_widths(&format!("{name}-403")).await;

        // With a tier-2 token the same page uploads end to end.
        set_token(&b, jwt(&user, &["tier2"])).await;
        b.goto(&server.url("/upload/hires")).await;
        b.find("html.js").await;
        b.choose_files("#file", &[&file]).await;
        b.wait_path("/uploaded/").await;
        assert_eq!(b.text("#done").await, "Upload verified");
        let listed = uploaded_files(&b).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        let (key, _, href) = &listed[0];
        assert!(
            key.starts_with(&format!("{prefix}{user}/")) && key.ends_with("/photo.png"),
            "{key} is under the user's prefix"
        );
        assert_eq!(download(href).await, bytes);
        assert_eq!(
            s3.object_bytes(&s3.bucket_a, key).await.as_deref(),
            Some(&bytes[..])
        );
    })
    .await;
    b.close().await;
    server.stop().await;
}
