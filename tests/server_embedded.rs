//! `signpost serve` with no config: `Config::demo` through `start`, which runs the embedded S3
//! store beside the pages. The same journeys as on Ceph — the no-JS form from the page and
//! the JSON API, up to a verified `/uploaded` page and the bytes back — and the store refuses
//! forged, expired and out-of-policy posts with nothing stored. Needs no outside services.

#![cfg(feature = "server")]

mod support;

use std::time::Duration;

use signpost::server::config::Config;
use signpost::server::Running;
use signpost::units::format_size;
use signpost::{Credentials, Endpoint, GetOptions, PostPolicy, Signer};
use support::html::*;
use support::http::*;
use support::png::png;
use support::server::*;
use tempfile::TempDir;
use time::OffsetDateTime;

const BUCKET: &str = "signpost-demo";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

struct Demo {
    running: Running,
    dir: TempDir,
}

impl Demo {
    async fn start() -> Demo {
        let dir = TempDir::new().expect("temp dir");
        let config = Config::demo("127.0.0.1:0".parse().expect("address"));
        let running = signpost::server::start(config, dir.path().join("data"), None)
            .await
            .expect("the demo starts");
        assert!(
            running.embedded.is_some(),
            "no [s3]: the embedded store runs"
        );
        assert_ne!(running.addr.port(), 0);
        Demo { running, dir }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    fn endpoint(&self) -> String {
        self.running.embedded.as_ref().expect("embedded").endpoint()
    }

    /// The object's bytes via the server's own signer, or None on 404.
    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let url = self
            .running
            .state
            .signer
            .presign_get(
                BUCKET,
                key,
                Duration::from_secs(60),
                OffsetDateTime::now_utc(),
                &GetOptions::default(),
            )
            .expect("presign");
        let resp = client().get(&url).send().await.expect("GET");
        match resp.status().as_u16() {
            200 => Some(resp.bytes().await.unwrap().to_vec()),
            404 => None,
            s => panic!("GET {key}: {s} {}", resp.text().await.unwrap_or_default()),
        }
    }

    /// Regular files under the data dir (what the store has kept).
    fn stored_files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.path().join("data"), &mut out);
        out.sort();
        out
    }

    async fn page_form(&self, profile: &str) -> UploadForm {
        let (status, html) = fetch(&self.url(&format!("/upload/{profile}")), None).await;
        assert_eq!(status, 200, "{html}");
        upload_form(&html)
    }

    async fn sign(&self, profile: &str, filename: &str, ct: &str, size: u64) -> Signed {
        let resp = client()
            .post(self.url(&format!("/api/v1/sign/{profile}")))
            .json(&sign_body(filename, ct, size))
            .send()
            .await
            .expect("sign");
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        Signed::parse(&body)
    }
}

#[tokio::test]
async fn the_demo_page_form_uploads_to_the_embedded_store_and_is_verified() {
    let demo = Demo::start().await;
    let (status, index) = fetch(&demo.url("/"), None).await;
    assert_eq!(status, 200);
    assert!(index.contains("Demo mode") && index.contains("/upload/avatar"));

    let resp = client()
        .get(demo.url("/upload/avatar"))
        .send()
        .await
        .unwrap();
    let csp = resp
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&format!("form-action 'self' {}", demo.endpoint())),
        "{csp}"
    );
    let form = demo.page_form("avatar").await;
    assert_eq!(form.action, format!("{}/{BUCKET}", demo.endpoint()));
    assert_eq!(form.control_names.last().map(String::as_str), Some("file"));
    assert!(form.type_options.contains(&"image/png".to_string()));

    let bytes = png(1, 1, 4000);
    let mut fields = form.hidden.clone();
    fields.push(("Content-Type".into(), "image/png".into()));
    let loc = expect_303(
        post_multipart(
            &form.action,
            &fields,
            "pixel.png",
            &bytes,
            Some("image/png"),
        )
        .await,
    )
    .await;
    assert!(loc.starts_with(&demo.url("/uploaded/")), "{loc}");
    let key = query_value(&loc, "key").expect("key");
    let rest = key.strip_prefix("avatars/demo/").expect("demo prefix");
    assert!(rest.ends_with("/pixel.png"), "{key}");

    let (status, page) = fetch(&loc, None).await;
    assert_eq!(status, 200, "{page}");
    assert_no_injected_markup(&page, "/uploaded");
    let f = uploaded_file(&page);
    assert_eq!(f.key, key);
    assert_eq!(f.size, format_size(bytes.len() as u64));
    assert_eq!(f.content_type, "image/png");
    assert_eq!(f.preview.as_deref(), Some(f.view.as_str()));
    assert_eq!(fetch_bytes(&f.view).await, bytes);
    assert_eq!(fetch_bytes(&f.download).await, bytes);
    assert_eq!(demo.object(&key).await, Some(bytes));
    demo.running.shutdown().await;
}

#[tokio::test]
async fn the_demo_json_api_uploads_and_the_uploaded_link_verifies_it() {
    let demo = Demo::start().await;
    let bytes = b"%PDF-1.7\n% a small test document\n".to_vec();
    let s = demo
        .sign(
            "document",
            "Report 2026.pdf",
            "application/pdf",
            bytes.len() as u64,
        )
        .await;
    assert_eq!(s.url, format!("{}/{BUCKET}", demo.endpoint()));
    assert!(s.key.starts_with("documents/demo/") && s.key.ends_with("/Report 2026.pdf"));
    let resp = post_multipart(
        &s.url,
        &s.fields.0,
        "Report 2026.pdf",
        &bytes,
        Some("application/pdf"),
    )
    .await;
    let status = resp.status().as_u16();
    let xml = resp.text().await.unwrap();
    assert_eq!(status, 201, "{xml}");
    assert!(
        xml.contains(&format!("<Key>{}</Key>", s.key)),
        "S3's answer names the key: {xml}"
    );
    let (status, page) = fetch(&format!("{}?key={}", s.uploaded_url, q(&s.key)), None).await;
    assert_eq!(status, 200, "{page}");
    let f = uploaded_file(&page);
    assert_eq!(f.key, s.key);
    assert_eq!(f.content_type, "application/pdf");
    assert_eq!(f.size, format_size(bytes.len() as u64));
    assert!(f.preview.is_none(), "no preview for a PDF");
    assert_eq!(fetch_bytes(&f.view).await, bytes);
    // Several files confirmed at once (the document profile takes many).
    let bytes2 = b"PK\x03\x04 a docx".to_vec();
    let s2 = demo
        .sign("document", "b.docx", DOCX, bytes2.len() as u64)
        .await;
    let resp = post_multipart(&s2.url, &s2.fields.0, "b.docx", &bytes2, Some(DOCX)).await;
    assert_eq!(resp.status().as_u16(), 201);
    let (status, page) = fetch(
        &format!("{}?key={}&key={}", s2.uploaded_url, q(&s.key), q(&s2.key)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your 2 files are stored"), "{page}");
    demo.running.shutdown().await;
}

#[tokio::test]
async fn the_embedded_store_refuses_forged_and_expired_posts_and_keeps_nothing() {
    let demo = Demo::start().await;
    let before = demo.stored_files();
    let bytes = png(1, 1, 100);
    let refused = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert!(
            status == 403 || status == 400,
            "refused, not {status}: {body}"
        );
        body
    };

    // A genuine form with its key moved elsewhere (out of the user's folder).
    let s = demo
        .sign("avatar", "a.png", "image/png", bytes.len() as u64)
        .await;
    let moved: Vec<(String, String)> = s
        .fields
        .0
        .iter()
        .map(|(k, v)| {
            let v = if k == "key" {
                "avatars/someone-else/x.png".to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    refused(post_multipart(&s.url, &moved, "a.png", &bytes, Some("image/png")).await).await;
    // Its signature altered.
    let mut bad_sig = s.fields.0.clone();
    for (k, v) in bad_sig.iter_mut() {
        if k == "x-amz-signature" {
            let flipped = if v.ends_with('0') { '1' } else { '0' };
            *v = format!("{}{flipped}", &v[..v.len() - 1]);
        }
    }
    assert_ne!(bad_sig, s.fields.0);
    refused(post_multipart(&s.url, &bad_sig, "a.png", &bytes, Some("image/png")).await).await;
    // Its policy swapped for a wider one that was never signed.
    let wider = {
        use base64::Engine as _;
        let mut p = s.policy();
        p["conditions"]
            .as_array_mut()
            .unwrap()
            .retain(|c| !c.to_string().contains("content-length-range"));
        base64::engine::general_purpose::STANDARD.encode(p.to_string())
    };
    let swapped: Vec<(String, String)> = s
        .fields
        .0
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "policy" {
                    wider.clone()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    refused(post_multipart(&s.url, &swapped, "a.png", &bytes, Some("image/png")).await).await;
    // A form signed with a guessed secret.
    let creds = demo.running.state.signer.credentials();
    let guessed = Signer::new(
        Credentials::new(creds.access_key_id(), "guessed-secret-0123456789"),
        "us-east-1",
        Endpoint::custom(&demo.endpoint(), true).unwrap(),
    );
    let now = OffsetDateTime::now_utc();
    let policy = PostPolicy::builder(BUCKET)
        .key("avatars/demo/guessed/x.png")
        .content_length_range(1, 1000)
        .content_type("image/png")
        .expires_in(Duration::from_secs(600))
        .build(now)
        .unwrap();
    let form = guessed.sign_post(&policy, now).unwrap();
    refused(post_multipart(&form.url, &form.fields, "x.png", &bytes, Some("image/png")).await)
        .await;
    // A form the server itself signed an hour ago, valid for ten minutes: expired.
    let past = now - time::Duration::hours(1);
    let policy = PostPolicy::builder(BUCKET)
        .key("avatars/demo/expired/x.png")
        .content_length_range(1, 1000)
        .content_type("image/png")
        .expires_in(Duration::from_secs(600))
        .build(past)
        .unwrap();
    let form = demo.running.state.signer.sign_post(&policy, past).unwrap();
    let body =
        refused(post_multipart(&form.url, &form.fields, "x.png", &bytes, Some("image/png")).await)
            .await;
    assert!(body.to_ascii_lowercase().contains("expired"), "{body}");
    // Out of policy: the wrong type, and a file over the profile's 5 MiB.
    let s = demo.sign("avatar", "b.png", "image/png", 10).await;
    let as_html: Vec<(String, String)> = s
        .fields
        .0
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "Content-Type" {
                    "text/html".into()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    refused(post_multipart(&s.url, &as_html, "b.png", b"<html>", Some("text/html")).await).await;
    let big = png(1, 1, 5 << 20);
    let body =
        refused(post_multipart(&s.url, &s.fields.0, "b.png", &big, Some("image/png")).await).await;
    assert!(body.contains("EntityTooLarge"), "{body}");
    assert!(demo.object(&s.key).await.is_none());

    assert_eq!(demo.stored_files(), before, "nothing was stored");
    demo.running.shutdown().await;
}

#[tokio::test]
async fn a_disallowed_type_from_the_plain_form_is_removed_from_the_embedded_store() {
    let demo = Demo::start().await;
    let form = demo.page_form("document").await;
    assert_eq!(form.type_options, ["application/pdf", DOCX]);
    let mut fields = form.hidden.clone();
    fields.push(("Content-Type".into(), "application/zip".into()));
    let loc = expect_303(
        post_multipart(
            &form.action,
            &fields,
            "a.zip",
            b"PK\x03\x04",
            Some("application/zip"),
        )
        .await,
    )
    .await;
    let key = query_value(&loc, "key").unwrap();
    assert!(demo.object(&key).await.is_some(), "stored until checked");
    let (status, page) = fetch(&loc, None).await;
    assert_eq!(status, 400, "{page}");
    let m = text_with_id(&page, "error-message").unwrap();
    assert!(
        m.contains("application/zip") && m.contains("removed"),
        "{m}"
    );
    assert!(demo.object(&key).await.is_none(), "deleted");
    // A forged confirmation link is refused before any lookup.
    let forged = loc.replacen(&state_of(&loc), &tamper(&state_of(&loc)), 1);
    let (status, _) = fetch(&forged, None).await;
    assert_eq!(status, 403);
    demo.running.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_the_pages_and_the_store() {
    let demo = Demo::start().await;
    let endpoint = demo.endpoint();
    let url = demo.url("/healthz");
    assert_eq!(fetch(&url, None).await.0, 200);
    demo.running.shutdown().await;
    assert!(client().get(&url).send().await.is_err(), "pages stopped");
    assert!(
        client()
            .get(format!("{endpoint}/{BUCKET}"))
            .send()
            .await
            .is_err(),
        "store stopped"
    );
}
