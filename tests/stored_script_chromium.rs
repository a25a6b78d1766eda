//! Stored script on the storage's origin, in headless Chromium against signpost and Ceph: an
//! SVG with a script and an HTML page stored as `image/png,text/html` are uploaded through
//! the form without JavaScript (which S3 can only check by prefix) and also planted straight
//! in the bucket. Every link signpost hands out for them is opened; no script runs. A raw
//! presigned GET of the same objects does run the script, so the beacon that counts script
//! runs is shown to work.

#![cfg(feature = "integration")]

mod support;

use signpost::GetOptions;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::browser::{Browser, Driver, Js};
use support::html::upload_form;
use support::http::{client, expect_303, fetch, post_multipart};
use support::s3::{unique_prefix, S3Env};
use support::server::{config, q, STATE_SECRET};
use tempfile::TempDir;
use time::OffsetDateTime;

/// A server on loopback counting requests to `/pwned`: each is a script that ran.
async fn beacon() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/pwned",
        axum::routing::get(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                "seen"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

/// Opens `url` and gives any script a moment to run. A download ends the navigation without
/// a page, which is fine: nothing ran.
async fn open(b: &Browser, url: &str) {
    let _ = tokio::time::timeout(Duration::from_secs(10), b.client.goto(url)).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
}

#[tokio::test]
async fn no_link_signpost_hands_out_runs_a_stored_script() {
    let s3 = S3Env::from_env();
    let root = unique_prefix("stored-script");
    let (beacon_url, hits) = beacon().await;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>fetch('{beacon_url}/pwned?svg',{{mode:'no-cors'}})</script></svg>"
    );
    let html = format!(
        "<html><body><script>fetch('{beacon_url}/pwned?html',{{mode:'no-cors'}})</script></body></html>"
    );
    let toml = format!(
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
"#,
        s3_section = s3.s3_section(),
        bucket = s3.bucket_a,
    );
    let dir = TempDir::new().unwrap();
    let running = signpost::server::start(config(&toml), dir.path().to_path_buf(), None)
        .await
        .unwrap();
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;

    // Planted straight in the caller's own folder: objects signpost did not check.
    let planted = [
        (
            format!("{root}avatars/demo/p/evil.svg"),
            "image/svg+xml",
            svg.as_str(),
        ),
        (
            format!("{root}avatars/demo/p/evil.png"),
            "image/png,text/html",
            html.as_str(),
        ),
    ];
    for (key, t, body) in &planted {
        s3.put_object(&s3.bucket_a, key, t, body.as_bytes()).await;
    }

    // The beacon works: a plain presigned GET of each shows it, and its script runs.
    for (key, _, _) in &planted {
        let raw = s3
            .signer()
            .presign_get(
                &s3.bucket_a,
                key,
                Duration::from_secs(300),
                OffsetDateTime::now_utc(),
                &GetOptions::default(),
            )
            .unwrap();
        let before = hits.load(Ordering::SeqCst);
        open(&b, &raw).await;
        assert!(
            hits.load(Ordering::SeqCst) > before,
            "the control did not run its script: {key}"
        );
    }
    hits.store(0, Ordering::SeqCst);

    // Every link signpost hands out for them.
    let mut links = Vec::new();
    for (key, _, _) in &planted {
        let (status, body) = fetch(
            &format!("{}/api/v1/download-url?key={}", running.url, q(key)),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let j: serde_json::Value = serde_json::from_str(&body).unwrap();
        links.push(j["url"].as_str().unwrap().to_string());
        for asked in ["text/html", "image/svg+xml", "image/png"] {
            let r = client()
                .post(format!("{}/api/v1/presign", running.url))
                .json(&serde_json::json!({"method": "GET", "key": key, "response_content_type": asked, "response_content_disposition": "inline"}))
                .send()
                .await
                .unwrap();
            let j: serde_json::Value = r.json().await.unwrap();
            links.push(
                j["url"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{j}"))
                    .to_string(),
            );
        }
        // The share page's link, as a person gets it.
        b.goto(&format!(
            "{}/files/share?bucket={}&key={}&expires=1h",
            running.url,
            q(&s3.bucket_a),
            q(key)
        ))
        .await;
        let shown = b
            .find("#share-link")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        links.push(shown);
    }
    // The same files through the form without JavaScript: /uploaded refuses them and
    // removes them, and shows no link to them.
    for (name, t, body) in [
        ("evil.svg", "image/svg+xml", &svg),
        ("evil.png", "image/png,text/html", &html),
    ] {
        let (_, page) = fetch(&format!("{}/upload/avatar", running.url), None).await;
        let form = upload_form(&page);
        let mut fields = form.hidden.clone();
        fields.push(("Content-Type".into(), t.into()));
        // The form field carries the type S3 stores; the file part's own type is a plain one.
        let part = t.split(',').next().unwrap();
        let loc = expect_303(
            post_multipart(&form.action, &fields, name, body.as_bytes(), Some(part)).await,
        )
        .await;
        b.goto(&loc).await;
        let text = b.text("#error-message").await;
        assert!(text.contains("it was removed"), "{name}: {text}");
        assert_eq!(
            b.count("a[href*='X-Amz-Signature']").await,
            0,
            "{name}: a link to the file"
        );
    }
    assert!(links.len() >= 10, "{links:?}");
    for link in &links {
        open(&b, link).await;
        assert_eq!(hits.load(Ordering::SeqCst), 0, "a script ran from {link}");
    }
    b.close().await;
    running.shutdown().await;
}
