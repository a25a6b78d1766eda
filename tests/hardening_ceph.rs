//! What the attack battery broke, each against Ceph: declared types are one exact type at
//! every signing route; the links signpost hands out show only safe types; an upload whose
//! bytes are not what it declared is removed after `/uploaded`, a PUT and a multipart
//! complete, and by `signpost verify` for uploaders who never come back; keys with dot
//! segments are really deleted; and a server whose clock is off says so.

#![cfg(feature = "integration")]

mod support;

use signpost::server::state::{Clock, FixedClock};
use signpost::server::{Running, StartOptions};
use signpost::{Method, UrlRequest};
use std::sync::Arc;
use std::time::Duration;
use support::html::{upload_form, uploaded_file};
use support::http::{client, expect_303, fetch, post_multipart};
use support::png::png;
use support::s3::{unique_prefix, S3Env};
use support::server::{config, q, query_value, sign_body, Signed, STATE_SECRET};
use tempfile::TempDir;
use time::OffsetDateTime;

const PDF: &[u8] =
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n";
const HTML: &[u8] = b"<html><body><script>document.title='pwned'</script></body></html>";

struct Srv {
    running: Running,
    s3: S3Env,
    root: String,
    _dir: TempDir,
}

fn toml(s3: &S3Env, root: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
state_secret = "{STATE_SECRET}"
{s3_section}
[[profile]]
name = "avatar"
bucket = "{bucket}"
key = "{root}avatars/{{user}}/{{uuid}}/${{filename}}"
min_size = 1
max_size = "64KiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
[[profile]]
name = "document"
bucket = "{bucket}"
key = "{root}documents/{{user}}/{{uuid}}/${{filename}}"
min_size = 1
max_size = "64KiB"
content_types = ["application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]
"#,
        s3_section = s3.s3_section(),
        bucket = s3.bucket_a,
    )
}

async fn start(test: &str, clock: Option<Arc<dyn Clock>>) -> Srv {
    let s3 = S3Env::from_env();
    let root = unique_prefix(test);
    let dir = TempDir::new().unwrap();
    let running = signpost::server::start_with(
        config(&toml(&s3, &root)),
        StartOptions {
            data_dir: dir.path().to_path_buf(),
            clock,
            ..StartOptions::default()
        },
    )
    .await
    .expect("server starts");
    Srv {
        running,
        s3,
        root,
        _dir: dir,
    }
}

impl Srv {
    async fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let r = client()
            .post(format!("{}{path}", self.running.url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// Signs an avatar form for `name` declared as `declared` and posts `bytes` to Ceph.
    async fn upload(&self, name: &str, declared: &str, bytes: &[u8]) -> Signed {
        let (status, body) = self
            .post_json(
                "/api/v1/sign/avatar",
                &sign_body(name, declared, bytes.len() as u64),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let s = Signed::parse(&body.to_string());
        let resp = post_multipart(&s.url, &s.fields.0, name, bytes, Some(declared)).await;
        assert_eq!(
            resp.status().as_u16(),
            201,
            "{}",
            resp.text().await.unwrap()
        );
        s
    }

    /// Whether a listing of the bucket shows exactly `key` (works for keys with `..`).
    async fn listed(&self, key: &str) -> bool {
        let mut req = UrlRequest::new(Method::Get, &self.s3.bucket_a, "", Duration::from_secs(60));
        req.query.push(("list-type", "2"));
        req.query.push(("prefix", key));
        let url = self
            .s3
            .signer()
            .presign(&req, OffsetDateTime::now_utc())
            .unwrap();
        let body = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let escaped = key
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        body.contains(&format!("<Key>{escaped}</Key>"))
    }

    /// Stores `bytes` at `key` as `content_type` directly (as any S3 client could).
    async fn plant(&self, key: &str, content_type: &str, bytes: &[u8]) {
        self.s3
            .put_object(&self.s3.bucket_a, key, content_type, bytes)
            .await;
    }
}

#[tokio::test]
async fn declared_types_are_one_exact_type_at_every_signing_route() {
    let srv = start("exact-types", None).await;
    for (t, says) in [
        ("image/png,text/html", "not one plain MIME type"),
        ("image/png; charset=utf-8", "not one plain MIME type"),
        ("image/*", "not one plain MIME type"),
        ("image/svg+xml", "not accepted here"),
        ("text/html", "not accepted here"),
    ] {
        let (status, body) = srv
            .post_json("/api/v1/sign/avatar", &sign_body("a.png", t, 10))
            .await;
        assert_eq!(status, 400, "{t}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{t}: {body}"
        );
        let (status, body) = srv
            .post_json(
                "/api/v1/presign",
                &serde_json::json!({"method": "PUT", "profile": "avatar", "filename": "a.png", "content_type": t, "size": 10}),
            )
            .await;
        assert_eq!(status, 400, "PUT {t}: {body}");
        let (status, body) = srv
            .post_json(
                "/s3/multipart",
                &serde_json::json!({"filename": "a.png", "type": t, "metadata": {"profile": "avatar"}}),
            )
            .await;
        assert_eq!(status, 400, "multipart {t}: {body}");
        let (status, page) = fetch(
            &format!(
                "{}/s3/params?filename=a.png&type={}&metadata[profile]=avatar",
                srv.running.url,
                q(t)
            ),
            None,
        )
        .await;
        assert_eq!(status, 400, "params {t}: {page}");
    }
    // Written in capitals, with spaces around: the same one type.
    let (status, body) = srv
        .post_json(
            "/api/v1/sign/avatar",
            &sign_body("a.png", " Image/PNG ", 10),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    srv.running.shutdown().await;
}

#[tokio::test]
async fn links_show_only_safe_types_and_force_them() {
    let srv = start("safe-links", None).await;
    let bytes = png(1, 1, 100);
    let s = srv.upload("cat.png", "image/png", &bytes).await;
    let (status, page) = fetch(&format!("{}?key={}", s.uploaded_url, q(&s.key)), None).await;
    assert_eq!(status, 200, "{page}");
    let f = uploaded_file(&page);
    assert_eq!(
        query_value(&f.view, "response-content-type").as_deref(),
        Some("image/png")
    );
    assert_eq!(query_value(&f.view, "response-content-disposition"), None);
    let shown = client().get(&f.view).send().await.unwrap();
    assert_eq!(shown.headers()["content-type"], "image/png");
    assert_eq!(shown.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(
        query_value(&f.download, "response-content-disposition").as_deref(),
        Some("attachment; filename=\"cat.png\"")
    );

    // Files stored by other means: the issuer's links never show them inline.
    let svg = format!("{}avatars/demo/x/evil.svg", srv.root);
    srv.plant(
        &svg,
        "image/svg+xml",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    )
    .await;
    let html_png = format!("{}avatars/demo/x/evil.png", srv.root);
    srv.plant(&html_png, "image/png,text/html", HTML).await;
    for (key, asked, served) in [
        (&svg, None, "application/octet-stream"),
        (&svg, Some("image/svg+xml"), "application/octet-stream"),
        (&html_png, None, "image/png"),
        (&html_png, Some("text/html"), "application/octet-stream"),
    ] {
        let mut body = serde_json::json!({"method": "GET", "key": key});
        if let Some(t) = asked {
            body["response_content_type"] = t.into();
        }
        let (status, j) = srv.post_json("/api/v1/presign", &body).await;
        assert_eq!(status, 200, "{j}");
        let r = client()
            .get(j["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{key}");
        assert_eq!(r.headers()["content-type"], served, "{key} {asked:?}");
        if served == "application/octet-stream" {
            let d = r.headers()["content-disposition"].to_str().unwrap();
            assert!(d.starts_with("attachment"), "{key}: {d}");
        }
    }
    srv.running.shutdown().await;
}

#[tokio::test]
async fn uploads_that_are_not_what_they_declare_are_removed() {
    let srv = start("real-types", None).await;
    // A PDF declared as a PNG, through the API and the JavaScript form.
    let s = srv.upload("doc.png", "image/png", PDF).await;
    assert!(srv.s3.object_exists(&srv.s3.bucket_a, &s.key).await);
    let (status, page) = fetch(&format!("{}?key={}", s.uploaded_url, q(&s.key)), None).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("its content is a PDF (application/pdf), not a PNG image"),
        "{page}"
    );
    assert!(page.contains("it was removed"), "{page}");
    assert!(!srv.s3.object_exists(&srv.s3.bucket_a, &s.key).await);

    // The document form without JavaScript lets the browser pick any application/* type;
    // /uploaded removes what the profile does not list.
    let (_, html) = fetch(&format!("{}/upload/document", srv.running.url), None).await;
    let form = upload_form(&html);
    let mut fields = form.hidden.clone();
    fields.push(("Content-Type".into(), "application/xhtml+xml".into()));
    let loc = expect_303(
        post_multipart(
            &form.action,
            &fields,
            "page.xhtml",
            HTML,
            Some("application/xhtml+xml"),
        )
        .await,
    )
    .await;
    let key = query_value(&loc, "key").unwrap();
    assert!(srv.s3.object_exists(&srv.s3.bucket_a, &key).await);
    let (status, page) = fetch(&loc, None).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("application/xhtml+xml, which this upload does not accept"),
        "{page}"
    );
    assert!(!srv.s3.object_exists(&srv.s3.bucket_a, &key).await);

    // A PUT of an HTML page as image/png: its confirmation link removes it.
    let (status, j) = srv
        .post_json(
            "/api/v1/presign",
            &serde_json::json!({"method": "PUT", "profile": "avatar", "filename": "x.png", "content_type": "image/png", "size": HTML.len()}),
        )
        .await;
    assert_eq!(status, 200, "{j}");
    let mut put = client().put(j["url"].as_str().unwrap()).body(HTML.to_vec());
    for (k, v) in j["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    assert!(put.send().await.unwrap().status().is_success());
    let key = j["key"].as_str().unwrap();
    assert!(srv.s3.object_exists(&srv.s3.bucket_a, key).await);
    let (status, page) = fetch(j["uploaded_url"].as_str().unwrap(), None).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("an HTML page (text/html), not a PNG image"),
        "{page}"
    );
    assert!(!srv.s3.object_exists(&srv.s3.bucket_a, key).await);

    // A multipart upload of a PDF declared as a PNG: complete refuses and removes it.
    let (status, j) = srv
        .post_json(
            "/s3/multipart",
            &serde_json::json!({"filename": "big.png", "type": "image/png", "metadata": {"profile": "avatar", "size": PDF.len()}}),
        )
        .await;
    assert_eq!(status, 200, "{j}");
    let (id, key) = (j["uploadId"].as_str().unwrap(), j["key"].as_str().unwrap());
    let (_, part) = fetch(
        &format!(
            "{}/s3/multipart/{}/1?key={}",
            srv.running.url,
            q(id),
            q(key)
        ),
        None,
    )
    .await;
    let part: serde_json::Value = serde_json::from_str(&part).unwrap();
    let r = client()
        .put(part["url"].as_str().unwrap())
        .body(PDF.to_vec())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let (status, j) = srv
        .post_json(
            &format!("/s3/multipart/{}/complete?key={}", q(id), q(key)),
            &serde_json::json!({"parts": [{"PartNumber": 1, "ETag": etag}]}),
        )
        .await;
    assert_eq!(status, 400, "{j}");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("its content is a PDF"),
        "{j}"
    );
    assert!(!srv.s3.object_exists(&srv.s3.bucket_a, key).await);
    srv.running.shutdown().await;
}

#[tokio::test]
async fn keys_with_dot_segments_are_really_deleted() {
    let srv = start("dot-segments", None).await;
    let (_, html) = fetch(&format!("{}/upload/avatar", srv.running.url), None).await;
    let form = upload_form(&html);
    let mut fields = form.hidden.clone();
    fields.push(("Content-Type".into(), "image/png".into()));
    let raw = "../../../bob/evil.png";
    let loc = expect_303(
        post_multipart(
            &form.action,
            &fields,
            raw,
            &png(1, 1, 10),
            Some("image/png"),
        )
        .await,
    )
    .await;
    let key = query_value(&loc, "key").unwrap();
    assert!(
        key.ends_with("/../../../bob/evil.png"),
        "Ceph stores the raw name: {key}"
    );
    assert!(
        srv.listed(&key).await,
        "the object is there before /uploaded"
    );
    let (status, page) = fetch(&loc, None).await;
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("segment, which is not allowed; the file was removed"),
        "{page}"
    );
    assert!(!srv.listed(&key).await, "{key} is still stored");
    srv.running.shutdown().await;
}

#[tokio::test]
async fn signpost_verify_removes_what_a_notification_names_and_keeps_the_rest() {
    let srv = start("verify-cmd", None).await;
    let evil = format!("{}avatars/alice/u1/evil.png", srv.root);
    let cat = format!("{}avatars/alice/u2/my cat.png", srv.root);
    let stray = format!("{}elsewhere/notes.txt", srv.root);
    srv.plant(&evil, "image/png", HTML).await;
    srv.plant(&cat, "image/png", &png(1, 1, 10)).await;
    srv.plant(&stray, "text/plain", b"notes").await;
    let dir = TempDir::new().unwrap();
    let cfg = dir.path().join("signpost.toml");
    std::fs::write(&cfg, toml(&srv.s3, &srv.root)).unwrap();
    let bucket = &srv.s3.bucket_a;
    let run = |args: Vec<String>, stdin: Option<String>| {
        let cfg = cfg.clone();
        async move {
            let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_signpost"));
            cmd.arg("verify").arg("--config").arg(&cfg).args(&args);
            cmd.stdin(std::process::Stdio::piped());
            cmd.stdout(std::process::Stdio::piped());
            cmd.stderr(std::process::Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let mut input = child.stdin.take().unwrap();
            use tokio::io::AsyncWriteExt as _;
            input
                .write_all(stdin.unwrap_or_default().as_bytes())
                .await
                .unwrap();
            drop(input);
            let out = child.wait_with_output().await.unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            (out.status.code(), text)
        }
    };
    let (code, out) = run(
        vec![
            format!("s3://{bucket}/{evil}"),
            format!("s3://{bucket}/{cat}"),
        ],
        None,
    )
    .await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("removed  s3://{bucket}/{evil}")),
        "{out}"
    );
    assert!(
        out.contains("an HTML page (text/html), not a PNG image"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ok       s3://{bucket}/{cat}")),
        "{out}"
    );
    assert!(!srv.s3.object_exists(bucket, &evil).await);
    assert!(srv.s3.object_exists(bucket, &cat).await);

    // The same from an S3 event notification on standard input (keys URL-encoded, + for space).
    let record = |key: &str| serde_json::json!({"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": bucket}, "object": {"key": q(key).replace("%20", "+")}}});
    let event = serde_json::json!({"Records": [record(&cat), record(&stray)]}).to_string();
    let (code, out) = run(vec!["--event".into(), "-".into()], Some(event)).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("ok       s3://{bucket}/{cat}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("skipped  s3://{bucket}/{stray}")),
        "{out}"
    );
    assert!(srv.s3.object_exists(bucket, &stray).await);
    srv.running.shutdown().await;
}

#[tokio::test]
async fn a_server_clock_two_hours_slow_is_named_as_the_cause() {
    let slow = OffsetDateTime::now_utc() - Duration::from_secs(2 * 3600);
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(slow));
    let srv = start("clock-skew", Some(clock)).await;
    // The upload page says so once the server has seen S3's clock (asked at start).
    let mut page = String::new();
    for _ in 0..50 {
        page = fetch(&format!("{}/upload/avatar", srv.running.url), None)
            .await
            .1;
        if page.contains("id=\"clock-problem\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        page.contains("the clock on this server is behind by 2 hours"),
        "{page}"
    );
    // An upload fails at S3, and the explanation blames the clock, not the form.
    let (status, body) = srv
        .post_json("/api/v1/sign/avatar", &sign_body("a.png", "image/png", 110))
        .await;
    assert_eq!(status, 200, "{body}");
    let s = Signed::parse(&body.to_string());
    let resp = post_multipart(
        &s.url,
        &s.fields.0,
        "a.png",
        &png(1, 1, 43),
        Some("image/png"),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 403);
    let xml = resp.text().await.unwrap();
    let r = client()
        .post(format!(
            "{}/api/v1/s3-error?profile=avatar",
            srv.running.url
        ))
        .body(xml.clone())
        .send()
        .await
        .unwrap();
    let j: serde_json::Value = r.json().await.unwrap();
    let m = j["message"].as_str().unwrap();
    assert!(
        m.contains("the clock on this server is behind by 2 hours"),
        "{m} ({xml})"
    );
    assert!(!m.contains("Reload the page"), "{m}");
    srv.running.shutdown().await;
}
