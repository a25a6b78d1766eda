//! The upload server for real: `signpost::server::start` on 127.0.0.1:0, backed by a Ceph
//! radosgw (from `scripts/test.sh`, or `scripts/ceph.sh` + `source DIR/env`). A browser's two
//! paths are followed end to end — the no-JS form scraped from `/upload/avatar` and the JSON
//! API — up to the verified `/uploaded` page and the object's bytes; S3's refusals are turned
//! into words; forged confirmation links and disallowed types are refused, the latter deleted.
//!
//! Without the `SIGNPOST_TEST_*` variables these tests fail loudly (they never skip).

#![cfg(feature = "integration")]

mod support;

use signpost::server::Running;
use signpost::units::format_size;
use support::html::*;
use support::http::*;
use support::png::png;
use support::s3::S3Env;
use support::server::*;
use tempfile::TempDir;

const COOKIE: &str = "signpost_token";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// The avatar profile's limit here: small, so oversize files are quick to send.
const AVATAR_MAX: u64 = 64 * 1024;

struct Server {
    running: Running,
    s3: S3Env,
    _data: TempDir,
}

impl Server {
    /// A server with JWT auth (cookie or bearer) and two profiles on the Ceph buckets.
    async fn start() -> Server {
        let s3 = S3Env::from_env();
        let toml = format!(
            r#"
[server]
listen = "127.0.0.1:0"
state_secret = "{STATE_SECRET}"

{s3_section}
[auth]
mode = "jwt"
cookie = "{COOKIE}"

[auth.jwt]
hs256_secret = "{JWT_SECRET}"

[[profile]]
name = "avatar"
title = "Avatar"
bucket = "{bucket_a}"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
min_size = 1
max_size = {AVATAR_MAX}
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
expires = "10m"

[[profile]]
name = "document"
title = "Document"
bucket = "{bucket_b}"
key = "documents/{{user}}/{{date}}/{{uuid}}/${{filename}}"
min_size = 1
max_size = "1MiB"
content_types = ["application/pdf", "{DOCX}"]
multiple = true
"#,
            s3_section = s3.s3_section(),
            bucket_a = s3.bucket_a,
            bucket_b = s3.bucket_b,
        );
        let data = TempDir::new().expect("temp dir");
        let running = signpost::server::start(config(&toml), data.path().to_path_buf(), None)
            .await
            .expect("server starts");
        assert!(running.embedded.is_none(), "[s3] given: no embedded store");
        Server {
            running,
            s3,
            _data: data,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    /// GET as a signed-in browser: the token rides in the cookie.
    async fn browse(&self, url: &str, token: &str) -> Reply {
        let resp = client()
            .get(url)
            .header("cookie", format!("{COOKIE}={token}"))
            .send()
            .await
            .expect("GET sent");
        to_reply(resp).await
    }

    /// `POST /api/v1/sign/{profile}` with a bearer token.
    async fn sign(&self, profile: &str, token: &str, body: &serde_json::Value) -> Reply {
        let resp = client()
            .post(self.url(&format!("/api/v1/sign/{profile}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("sign sent");
        to_reply(resp).await
    }

    /// The no-JS path up to S3's answer: scrape the form, pick `content_type` as the select
    /// (or text field) would, post it with the file last.
    async fn post_page_form(
        &self,
        profile: &str,
        token: &str,
        content_type: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> reqwest::Response {
        let page = self
            .browse(&self.url(&format!("/upload/{profile}")), token)
            .await;
        page.expect(200);
        let form = upload_form(&page.body);
        let mut fields = form.hidden.clone();
        fields.push(("Content-Type".into(), content_type.into()));
        post_multipart(&form.action, &fields, file_name, bytes, Some(content_type)).await
    }

    /// `POST /api/v1/s3-error` with S3's answer: (code, words).
    async fn explain(&self, xml: &str) -> (String, String) {
        let r = to_reply(
            client()
                .post(self.url("/api/v1/s3-error"))
                .header("content-type", "text/plain")
                .body(xml.to_string())
                .send()
                .await
                .expect("explain sent"),
        )
        .await;
        r.expect(200);
        let j = r.json();
        (
            j["error"].as_str().expect("error").to_string(),
            j["message"].as_str().expect("message").to_string(),
        )
    }
}

async fn to_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

/// The text of `<name>` in S3's XML.
fn xml_tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].to_string())
}

/// Checks the verified page against what was uploaded, and fetches the bytes through its links.
async fn assert_verified(page: &Reply, bucket: &str, key: &str, bytes: &[u8], content_type: &str) {
    page.expect(200);
    assert_security_headers(&page.headers, "/uploaded");
    assert_no_injected_markup(&page.body, "/uploaded");
    let f = uploaded_file(&page.body);
    assert_eq!(f.key, key);
    assert_eq!(f.size, format_size(bytes.len() as u64));
    assert_eq!(f.content_type, content_type);
    // The bucket is in the "Where it is stored" section (issue 12).
    assert_eq!(
        text_with_class(&page.body, "bucket").as_deref(),
        Some(bucket),
        "bucket shown"
    );
    if content_type.starts_with("image/") {
        assert_eq!(
            f.preview.as_deref(),
            Some(f.view.as_str()),
            "an image gets a preview"
        );
    } else {
        assert!(f.preview.is_none());
    }
    assert_eq!(
        fetch_bytes(&f.view).await,
        bytes,
        "the Open link serves the file"
    );
    let resp = client().get(&f.download).send().await.expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    let disposition = resp
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), bytes);
}

#[tokio::test]
async fn the_no_js_form_from_the_page_uploads_a_png_and_the_redirect_shows_it_verified() {
    let srv = Server::start().await;
    let alice = jwt("alice", &[]);
    // The page's CSP lets its form post to (and its scripts and previews reach) the storage.
    let page = srv.browse(&srv.url("/upload/avatar"), &alice).await;
    page.expect(200);
    let form = upload_form(&page.body);
    assert_eq!(
        form.action,
        format!("{}/{}", srv.s3.endpoint, srv.s3.bucket_a)
    );
    assert!(form.type_options.contains(&"image/png".to_string()));
    assert_eq!(form.control_names.last().map(String::as_str), Some("file"));
    let csp = page.header("content-security-policy").unwrap().to_string();
    for d in ["form-action", "connect-src", "img-src"] {
        let directive = csp
            .split(';')
            .map(str::trim)
            .find(|x| x.starts_with(d))
            .unwrap_or_else(|| panic!("no {d} in {csp}"));
        assert!(
            directive.contains(&srv.s3.endpoint),
            "{d} must allow S3: {csp}"
        );
    }

    let bytes = png(1, 1, 3000);
    let resp = srv
        .post_page_form("avatar", &alice, "image/png", "pixel.png", &bytes)
        .await;
    let location = expect_303(resp).await;
    assert!(
        location.starts_with(&srv.url("/uploaded/")),
        "S3 sends the browser back to this server: {location}"
    );
    let key = query_value(&location, "key").expect("S3 names the key");
    assert_eq!(
        query_value(&location, "bucket").as_deref(),
        Some(srv.s3.bucket_a.as_str())
    );
    let rest = key.strip_prefix("avatars/alice/").expect("alice's prefix");
    let (uuid, name) = rest.split_once('/').expect("uuid folder");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{key}");
    assert_eq!(name, "pixel.png", "S3 filled ${{filename}}");

    let page = srv.browse(&location, &alice).await;
    assert_verified(&page, &srv.s3.bucket_a, &key, &bytes, "image/png").await;
    assert_eq!(
        srv.s3.object_bytes(&srv.s3.bucket_a, &key).await.as_deref(),
        Some(bytes.as_slice())
    );
    srv.running.shutdown().await;
}

#[tokio::test]
async fn the_json_api_form_uploads_and_the_uploaded_link_verifies_it() {
    let srv = Server::start().await;
    let alice = jwt("alice", &[]);
    let bytes = png(1, 1, 12_000);
    let r = srv
        .sign(
            "avatar",
            &alice,
            &sign_body("Holiday photo.png", "image/png", bytes.len() as u64),
        )
        .await;
    r.expect(200);
    let s = Signed::parse(&r.body);
    assert!(s.key.starts_with("avatars/alice/") && s.key.ends_with("/Holiday photo.png"));
    let resp = post_multipart(
        &s.url,
        &s.fields.0,
        "Holiday photo.png",
        &bytes,
        Some("image/png"),
    )
    .await;
    let status = resp.status().as_u16();
    let xml = resp.text().await.expect("body");
    assert_eq!(status, 201, "{xml}");
    assert_eq!(
        xml_tag(&xml, "Key").as_deref(),
        Some(s.key.as_str()),
        "{xml}"
    );
    assert_eq!(
        xml_tag(&xml, "Bucket").as_deref(),
        Some(srv.s3.bucket_a.as_str())
    );
    assert!(xml_tag(&xml, "ETag").is_some(), "{xml}");

    // What app.js does next: go to uploaded_url?key=….
    let url = format!("{}?key={}", s.uploaded_url, q(&s.key));
    let page = srv.browse(&url, &alice).await;
    assert_verified(&page, &srv.s3.bucket_a, &s.key, &bytes, "image/png").await;
    assert!(page.body.contains("Upload verified"));
    // And a download link from the API for the same key.
    let r = to_reply(
        client()
            .get(srv.url(&format!("/api/v1/download-url?key={}", q(&s.key))))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.expect(200);
    assert_eq!(fetch_bytes(r.json()["url"].as_str().unwrap()).await, bytes);
    srv.running.shutdown().await;
}

#[tokio::test]
async fn s3_refuses_oversize_and_wrong_type_files_and_the_server_says_why_in_words() {
    let srv = Server::start().await;
    let alice = jwt("alice", &[]);

    // Declared small, sent large: S3 enforces the profile's limit.
    let r = srv
        .sign("avatar", &alice, &sign_body("big.png", "image/png", 1000))
        .await;
    let s = Signed::parse(&r.body);
    let big = png(1, 1, AVATAR_MAX as usize);
    let resp = post_multipart(&s.url, &s.fields.0, "big.png", &big, Some("image/png")).await;
    let status = resp.status().as_u16();
    let xml = resp.text().await.unwrap();
    assert_eq!(status, 400, "{xml}");
    let (code, words) = srv.explain(&xml).await;
    assert_eq!(code, "EntityTooLarge", "{xml}");
    assert!(words.starts_with("The file is too large"), "{words}");
    // AWS says how large; radosgw sends only the code, and then the words can only say "too
    // large" (the page and app.js state the limit before the upload starts).
    if xml.contains("<MaxSizeAllowed>") {
        assert!(
            words.contains(&format_size(AVATAR_MAX)),
            "the limit is named: {words} ({xml})"
        );
    }
    assert!(!srv.s3.object_exists(&srv.s3.bucket_a, &s.key).await);

    // Signed for a PNG, sent as HTML.
    let r = srv
        .sign("avatar", &alice, &sign_body("x.png", "image/png", 100))
        .await;
    let s = Signed::parse(&r.body);
    let fields: Vec<(String, String)> = s
        .fields
        .0
        .iter()
        .map(|(k, v)| {
            let v = if k == "Content-Type" {
                "text/html".to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    let resp = post_multipart(
        &s.url,
        &fields,
        "x.png",
        b"<script>alert(1)</script>",
        Some("text/html"),
    )
    .await;
    let status = resp.status().as_u16();
    let xml = resp.text().await.unwrap();
    assert_eq!(status, 403, "{xml}");
    let (code, words) = srv.explain(&xml).await;
    assert_eq!(code, "AccessDenied", "{xml}");
    assert!(
        words.starts_with("The file's type is not accepted"),
        "{words} ({xml})"
    );
    assert!(!srv.s3.object_exists(&srv.s3.bucket_a, &s.key).await);

    // The no-JS form typed outside image/*.
    let resp = srv
        .post_page_form("avatar", &alice, "text/html", "page.html", b"<html></html>")
        .await;
    let status = resp.status().as_u16();
    let xml = resp.text().await.unwrap();
    assert_eq!(status, 403, "{xml}");
    let (_, words) = srv.explain(&xml).await;
    assert!(
        words.starts_with("The file's type is not accepted"),
        "{words} ({xml})"
    );

    // An empty file is below min_size.
    let r = srv
        .sign("avatar", &alice, &sign_body("e.png", "image/png", 1))
        .await;
    let s = Signed::parse(&r.body);
    let resp = post_multipart(&s.url, &s.fields.0, "e.png", b"", Some("image/png")).await;
    let status = resp.status().as_u16();
    let xml = resp.text().await.unwrap();
    assert_eq!(status, 400, "{xml}");
    let (_, words) = srv.explain(&xml).await;
    assert!(words.contains("too small"), "{words} ({xml})");
    srv.running.shutdown().await;
}

#[tokio::test]
async fn forged_confirmation_links_are_refused_and_disallowed_types_are_deleted() {
    let srv = Server::start().await;
    let alice = jwt("alice", &[]);
    let bob = jwt("bob", &[]);

    // Bob has a real object.
    let bob_bytes = png(1, 1, 500);
    let loc = expect_303(
        srv.post_page_form("avatar", &bob, "image/png", "bob.png", &bob_bytes)
            .await,
    )
    .await;
    let bob_loc = loc.clone();
    let bob_key = query_value(&loc, "key").unwrap();
    assert!(srv.s3.object_exists(&srv.s3.bucket_a, &bob_key).await);

    // Alice uploads, then edits her confirmation link.
    let loc = expect_303(
        srv.post_page_form("avatar", &alice, "image/png", "alice.png", &png(1, 1, 10))
            .await,
    )
    .await;
    let alice_key = query_value(&loc, "key").unwrap();
    srv.browse(&loc, &alice).await.expect(200);
    // A tampered state.
    let st = state_of(&loc);
    let forged = loc.replacen(&st, &tamper(&st), 1);
    let m = srv.browse(&forged, &alice).await.page_error(403);
    assert!(m.contains("not valid"), "{m}");
    // Her state, bob's key: refused, and nothing of bob's object is shown.
    let onto_bob = srv.url(&format!(
        "/uploaded/{st}?bucket={}&key={}",
        srv.s3.bucket_a,
        q(&bob_key)
    ));
    let r = srv.browse(&onto_bob, &alice).await;
    let m = r.page_error(403);
    assert!(m.contains("outside your upload folder"), "{m}");
    assert!(
        !r.body.contains("X-Amz-Signature"),
        "no link to bob's object"
    );
    // With her own key first and bob's second, still refused.
    let both = srv.url(&format!(
        "/uploaded/{st}?key={}&key={}",
        q(&alice_key),
        q(&bob_key)
    ));
    srv.browse(&both, &alice).await.page_error(403);
    // Bob's own, genuine link, opened while signed in as alice.
    let m = srv.browse(&bob_loc, &alice).await.page_error(403);
    assert!(m.contains("another account"), "{m}");
    srv.browse(&bob_loc, &bob).await.expect(200);
    // A key under her prefix that was never uploaded.
    let missing = srv.url(&format!(
        "/uploaded/{st}?key={}",
        q("avatars/alice/none/ghost.png")
    ));
    let m = srv.browse(&missing, &alice).await.page_error(404);
    assert!(m.contains("No object was found"), "{m}");
    assert!(
        srv.s3.object_exists(&srv.s3.bucket_a, &bob_key).await,
        "bob's object untouched"
    );

    // Without JavaScript the form can only hold S3 to the types' common prefix: a ZIP under
    // application/ is stored by S3, then refused and removed by the confirmation.
    let loc = expect_303(
        srv.post_page_form(
            "document",
            &alice,
            "application/zip",
            "archive.zip",
            b"PK\x03\x04zip",
        )
        .await,
    )
    .await;
    let key = query_value(&loc, "key").unwrap();
    assert!(key.starts_with("documents/alice/"), "{key}");
    assert!(
        srv.s3.object_exists(&srv.s3.bucket_b, &key).await,
        "S3 kept it until the server checked"
    );
    let r = srv.browse(&loc, &alice).await;
    let m = r.page_error(400);
    assert!(
        m.contains("application/zip") && m.contains("PDF") && m.contains("removed"),
        "{m}"
    );
    assert!(
        !srv.s3.object_exists(&srv.s3.bucket_b, &key).await,
        "the refused upload was deleted"
    );
    // An allowed type through the same form is kept.
    let pdf = b"%PDF-1.4\n%test\n".to_vec();
    let loc = expect_303(
        srv.post_page_form("document", &alice, "application/pdf", "report.pdf", &pdf)
            .await,
    )
    .await;
    let key = query_value(&loc, "key").unwrap();
    let page = srv.browse(&loc, &alice).await;
    assert_verified(&page, &srv.s3.bucket_b, &key, &pdf, "application/pdf").await;
    srv.running.shutdown().await;
}
