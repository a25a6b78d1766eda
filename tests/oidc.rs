//! Sign-in with a real OpenID provider (`oidc-provider`, started from `tests/js/oidc/`), a real
//! browser and a real S3 (Ceph), as issue 12 asks: Chromium signs in through the provider's own
//! form, comes back signed in, uploads, sees a 403 page for the other group's profile, signs
//! out and is sent to sign in again; axe-core checks every page signed in and out, with and
//! without JavaScript; `/uploaded` answers JSON after the real upload; a tampered or expired
//! session cookie is signed out; the API takes the provider's access token and refuses one
//! from another issuer.
//!
//! Needs Ceph (`scripts/ceph.sh`, `SIGNPOST_TEST_*`), node with `tests/js/node_modules`,
//! Chromium and chromedriver: `scripts/test.sh` provides them all.

#![cfg(feature = "integration")]

mod support;

use base64::Engine as _;
use serde_json::Value;
use signpost::server::auth::session::Session;
use support::browser::{Browser, Driver, Js};
use support::http::client;
use support::node::{assert_accessible, OidcProvider};
use support::oidc_site::{tokens_from, NoJsAxe, Site, CLIENT_ID, CLIENT_SECRET};
use support::png::png;
use support::s3::S3Env;
use tempfile::TempDir;
use time::OffsetDateTime;

async fn sign_with(site: &Site, profile: &str, token: &str) -> (u16, Value) {
    let resp = client()
        .post(site.url(&format!("/api/v1/sign/{profile}")))
        .bearer_auth(token)
        .json(&serde_json::json!({"filename": "a.png", "content_type": "image/png", "size": 10}))
        .send()
        .await
        .expect("sign request");
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_the_providers_access_tokens_and_refuses_another_issuers() {
    let s3 = S3Env::from_env();
    let site = Site::start(&s3, "oidc-api").await;
    let callback = site.url("/auth/callback");
    let alice = tokens_from(&site.op, &callback, "alice", Some(&site.op.resource)).await;
    let at = alice["access_token"].as_str().expect("access token");
    assert_eq!(at.split('.').count(), 3, "a JWT access token: {at}");
    let (status, body) = sign_with(&site, "avatar", at).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["key"]
            .as_str()
            .is_some_and(|k| k.starts_with(&format!("{}avatars/alice/", site.prefix))),
        "{body}"
    );
    // Roles come from the token's groups: alice (tier1) may not use bob's profile.
    let (status, body) = sign_with(&site, "document", at).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    // An opaque access token is not one signpost can check.
    let opaque = tokens_from(&site.op, &callback, "bob", None).await;
    let (status, body) =
        sign_with(&site, "document", opaque["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "{body}");

    // Another provider, same client id and secret, same key id: its token is refused.
    let other = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &callback);
    let foreign = tokens_from(&other, &callback, "alice", Some(&other.resource)).await;
    let (status, body) =
        sign_with(&site, "avatar", foreign["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    // Its ID token for the same client is refused too (another issuer's signature).
    let (status, _) = sign_with(&site, "avatar", foreign["id_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    // No token at all: 401 JSON that says how to sign in, never a redirect.
    let resp = client()
        .post(site.url("/api/v1/sign/avatar"))
        .json(&serde_json::json!({"filename": "a.png", "content_type": "image/png", "size": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("/login"),
        "{body}"
    );
    site.running.shutdown().await;
}

fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("signpost_session="))
        .map(str::to_string)
}

/// With a session cookie `value`: the answer to `GET /` and to the API.
async fn with_session(site: &Site, value: &str) -> (reqwest::Response, u16) {
    let page = client()
        .get(site.url("/"))
        .header("cookie", format!("signpost_session={value}"))
        .send()
        .await
        .expect("GET /");
    let api = client()
        .get(site.url("/api/v1/presign?key=x"))
        .header("cookie", format!("signpost_session={value}"))
        .send()
        .await
        .expect("GET presign");
    (page, api.status().as_u16())
}

/// A tampered or expired session is signed out: the page sends the browser to sign in and
/// removes the cookie; the API answers 401.
async fn check_sessions(site: &Site, genuine: &str) {
    let (page, _) = with_session(site, genuine).await;
    assert_eq!(page.status(), 200, "the genuine session works");
    let mut tampered = genuine.to_string();
    let flip = if tampered.as_bytes()[3] == b'A' {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(3..4, flip);
    let key = signpost::server::testing::state_key(&site.running.state);
    let mut expired: Session = {
        let payload = genuine.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    expired.e = OffsetDateTime::now_utc().unix_timestamp() - 1;
    let expired = expired.seal(key);
    for (what, value) in [("tampered", tampered), ("expired", expired)] {
        let (page, api) = with_session(site, &value).await;
        assert_eq!(page.status(), 303, "{what}");
        assert_eq!(
            page.headers().get("location").and_then(|l| l.to_str().ok()),
            Some("/login?next=%2F"),
            "{what}"
        );
        let cleared = session_cookie(page.headers()).unwrap_or_default();
        assert!(
            cleared.starts_with("signpost_session=;") && cleared.contains("Max-Age=0"),
            "{what}: the cookie is removed: {cleared}"
        );
        assert_eq!(api, 401, "{what}: the API keeps answering 401");
    }
}

/// Types `user`'s password into the provider's own login form.
async fn sign_in_at_provider(b: &Browser, op: &OidcProvider, user: &str) {
    b.find("#username").await;
    assert!(
        b.url().await.as_str().starts_with(&op.issuer),
        "the login form is the provider's: {}",
        b.url().await
    );
    b.find("#username")
        .await
        .send_keys(user)
        .await
        .expect("type");
    b.find("#password")
        .await
        .send_keys(&op.user(user).password)
        .await
        .expect("type");
    b.find("#sign-in").await.click().await.expect("click");
}

/// Signs out through the header's button and the provider's confirmation.
async fn sign_out(b: &Browser, site: &Site) {
    b.find("#sign-out")
        .await
        .click()
        .await
        .expect("click Sign out");
    b.find("#logout-yes")
        .await
        .click()
        .await
        .expect("confirm at the provider");
    b.wait_path("/signed-out").await;
    assert!(b.url().await.as_str().starts_with(&site.running.url));
    assert_eq!(b.text("h1").await, "You are signed out");
    assert_eq!(b.count("#signed-in-as").await, 0);
}

/// Signed out: the 404 page, `/logout` and a bare `/uploaded` pass axe.
async fn signed_out_pages_are_accessible(b: &Browser, site: &Site, how: &str) {
    assert_accessible(&b.client, &format!("signed-out page ({how})")).await;
    for path in ["/no-such-page", "/uploaded", "/logout"] {
        b.goto(&site.url(path)).await;
        b.find("main").await;
        assert_accessible(&b.client, &format!("{path} signed out ({how})")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_signs_in_uploads_is_refused_the_other_groups_upload_and_signs_out() {
    let s3 = S3Env::from_env();
    let site = Site::start(&s3, "oidc-js").await;
    let files = TempDir::new().expect("temp dir");
    let bytes = png(1, 1, 300);
    let file = files.path().join("avatar.png");
    std::fs::write(&file, &bytes).expect("write");
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("oidc-alice-js", async {
        // A page that needs sign-in sends the browser to the provider's form, then back.
        b.goto(&site.url("/upload/avatar")).await;
        sign_in_at_provider(&b, &site.op, "alice").await;
        b.wait_path("/upload/avatar").await;
        b.find("html.js").await;
        assert_eq!(b.text("#signed-in-as").await, "Signed in as Alice Example");
        assert_accessible(&b.client, "upload page (signed in, JS)").await;

        b.choose_files("#file", &[&file]).await;
        b.wait_path("/uploaded/").await;
        assert_eq!(b.text("#done").await, "Upload verified");
        assert_eq!(b.text("dd.name").await, "avatar.png");
        assert_accessible(&b.client, "uploaded page (signed in, JS)").await;
        b.screenshot_both_widths("oidc-alice-uploaded").await;

        // The same confirmation as JSON, after the real upload.
        // Only the uploader may confirm, so the request carries her session cookie.
        let uploaded = b.url().await;
        let session = b
            .client
            .get_named_cookie("signpost_session")
            .await
            .expect("the session cookie");
        let json: Value = client()
            .get(uploaded.as_str())
            .header("accept", "application/json")
            .header("cookie", format!("signpost_session={}", session.value()))
            .send()
            .await
            .expect("GET /uploaded as JSON")
            .json()
            .await
            .expect("JSON");
        assert_eq!(json["verified"], true, "{json}");
        let f = &json["files"][0];
        assert_eq!(f["bucket"], s3.bucket_a.as_str(), "{json}");
        assert_eq!(f["size"], bytes.len(), "{json}");
        assert_eq!(f["type"], "image/png", "{json}");
        assert_eq!(f["name"], "avatar.png", "{json}");
        let key = f["key"].as_str().expect("key");
        assert!(
            key.starts_with(&format!("{}avatars/alice/", site.prefix)),
            "{key}"
        );
        assert_eq!(
            s3.object_bytes(&s3.bucket_a, key).await.as_deref(),
            Some(&bytes[..])
        );
        for link in ["view_url", "download_url"] {
            let got = reqwest::get(f[link].as_str().expect(link))
                .await
                .expect(link);
            assert_eq!(got.bytes().await.expect("bytes"), &bytes[..], "{link}");
        }

        // The other group's upload: a 403 page, still signed in.
        b.goto(&site.url("/upload/document")).await;
        assert_eq!(b.text("h1").await, "403 Forbidden");
        assert!(b.text("#error-message").await.contains("Document"));
        assert_eq!(b.text("#signed-in-as").await, "Signed in as Alice Example");
        assert_accessible(&b.client, "403 page (signed in, JS)").await;
        b.screenshot("oidc-alice-403").await;
        for path in ["/", "/no-such-page", "/logout"] {
            b.goto(&site.url(path)).await;
            b.find("main").await;
            assert_accessible(&b.client, &format!("{path} (signed in, JS)")).await;
        }

        // The session cookie: HttpOnly, and a tampered or expired copy is signed out.
        let cookie = b
            .client
            .get_named_cookie("signpost_session")
            .await
            .expect("the session cookie");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(format!("{:?}", cookie.same_site()), "Some(Lax)");
        check_sessions(&site, cookie.value()).await;

        b.goto(&site.url("/")).await;
        sign_out(&b, &site).await;
        signed_out_pages_are_accessible(&b, &site, "JS").await;
        // The next page that needs sign-in sends the browser to sign in again.
        b.goto(&site.url("/upload/avatar")).await;
        b.find("#username").await;
        assert!(b.url().await.as_str().starts_with(&site.op.issuer));
    })
    .await;
    b.close().await;
    site.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_signs_in_and_uploads_without_javascript() {
    let s3 = S3Env::from_env();
    let site = Site::start(&s3, "oidc-nojs").await;
    let files = TempDir::new().expect("temp dir");
    let bytes =
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
            .to_vec();
    let file = files.path().join("report.pdf");
    std::fs::write(&file, &bytes).expect("write");
    let driver = Driver::start();
    let b = driver.browser(Js::Off).await;
    b.journey("oidc-bob-nojs", async {
        b.goto(&site.url("/upload/document")).await;
        sign_in_at_provider(&b, &site.op, "bob").await;
        b.wait_path("/upload/document").await;
        assert_eq!(b.count("html.js").await, 0, "JavaScript is off");
        assert_eq!(b.text("#signed-in-as").await, "Signed in as Bob Example");
        assert_eq!(b.text("#choose-label").await, "Choose a file");
        let session = b
            .client
            .get_named_cookie("signpost_session")
            .await
            .expect("the session cookie");
        let axe = NoJsAxe::new(&driver, &site, Some(session.value())).await;
        axe.check(&site.url("/upload/document"), "upload page, signed in")
            .await;

        b.choose_files("#file", &[&file]).await;
        b.find("#submit").await.click().await.expect("click Upload");
        let uploaded = b.wait_path("/uploaded/").await;
        assert_eq!(b.text("#done").await, "Upload verified");
        assert_eq!(b.text("dd.name").await, "report.pdf");
        axe.check(uploaded.as_str(), "uploaded page, signed in")
            .await;

        b.goto(&site.url("/upload/avatar")).await;
        assert_eq!(b.text("h1").await, "403 Forbidden");
        for path in ["/upload/avatar", "/", "/no-such-page", "/logout"] {
            axe.check(&site.url(path), &format!("{path}, signed in"))
                .await;
        }

        b.goto(&site.url("/")).await;
        sign_out(&b, &site).await;
        let axe_out = NoJsAxe::new(&driver, &site, None).await;
        for path in ["/signed-out", "/no-such-page", "/uploaded", "/logout"] {
            axe_out
                .check(&site.url(path), &format!("{path}, signed out"))
                .await;
        }
        b.goto(&site.url("/upload/document")).await;
        b.find("#username").await;
        assert!(b.url().await.as_str().starts_with(&site.op.issuer));
        axe.b.close().await;
        axe_out.b.close().await;
    })
    .await;
    b.close().await;
    site.running.shutdown().await;
}
