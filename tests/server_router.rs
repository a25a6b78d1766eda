//! The upload server's router without a socket (`tower::ServiceExt::oneshot`): every route and
//! error path as a browser or API client sees it — pages, the signing API's answers and
//! refusals in words, the `/uploaded` link's checks, security headers on every response, the
//! rate and body limits, and config errors that name the key. S3 is never contacted (the
//! signer points at a dead port), except where the test says so.

#![cfg(feature = "server")]

mod support;

use std::time::Duration;

use axum::body::Body;
use http::Request;
use signpost::server::testing::UploadState;
use support::html::*;
use support::server::*;
use time::OffsetDateTime;

/// Two profiles like the demo's, a video profile typed by prefix only, no auth.
const BASE: &str = r#"
[server]
state_secret = "STATE_SECRET"

[[profile]]
name = "avatar"
title = "Avatar"
bucket = "pics"
key = "avatars/{user}/{uuid}/${filename}"
min_size = 1
max_size = "5MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
expires = "15m"

[[profile]]
name = "document"
title = "Document"
bucket = "docs"
key = "documents/{user}/{date}/{uuid}/${filename}"
min_size = 1
max_size = "20MiB"
content_types = ["application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]
multiple = true

[[profile]]
name = "clip"
title = "Clip"
bucket = "pics"
key = "clips/{user}/{uuid}/${filename}"
max_size = "100MiB"
content_types = ["video/mp4", "video/webm"]
expires = "1h"
"#;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

fn base() -> String {
    BASE.replace("STATE_SECRET", STATE_SECRET)
}

/// Static tokens: alice (tier1), bob (tier2); avatar needs tier1 or tier2, vault tier2.
fn with_tokens(extra_server: &str) -> String {
    format!(
        r#"
[server]
state_secret = "{STATE_SECRET}"
{extra_server}

{auth}
[[profile]]
name = "avatar"
title = "Avatar"
bucket = "pics"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]

[[profile]]
name = "vault"
title = "Vault"
bucket = "pics"
key = "vault/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
roles = ["tier2"]
"#,
        auth = tokens_auth(
            None,
            &[
                ("alice-token", "alice", &["tier1"]),
                ("bob-token", "bob", &["tier2"])
            ],
        ),
    )
}

#[tokio::test]
async fn index_lists_every_profile_with_its_limits_in_words() {
    let (_, app) = oneshot_app(config(&base())).await;
    let r = call(&app, get("/", None)).await;
    r.expect(200);
    assert_security_headers(&r.headers, "GET /");
    assert_no_injected_markup(&r.body, "GET /");
    let links: Vec<String> = select(&r.body, "a[href]")
        .iter()
        .filter_map(|a| a.attr("href").map(str::to_string))
        .collect();
    for p in ["avatar", "document", "clip"] {
        assert!(links.contains(&format!("/upload/{p}")), "{links:?}");
    }
    assert!(
        r.body
            .contains("PNG image, JPEG image, GIF image, WebP image, up to 5 MiB"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("PDF, Word document (.docx), up to 20 MiB"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Demo mode"), "no auth is said plainly");
}

#[tokio::test]
async fn the_upload_page_is_a_plain_form_that_posts_to_s3_with_the_file_last() {
    let (_, app) = oneshot_app(config(&base())).await;
    let r = call(&app, get("/upload/avatar", None)).await;
    r.expect(200);
    assert_security_headers(&r.headers, "GET /upload/avatar");
    assert_no_injected_markup(&r.body, "GET /upload/avatar");
    let form = upload_form(&r.body);
    assert_eq!(form.action, format!("{DEAD_S3}/pics"));
    assert_eq!(
        form.control_names.last().map(String::as_str),
        Some("file"),
        "file must be the form's last control: {:?}",
        form.control_names
    );
    assert_eq!(
        form.file.attr("accept"),
        Some("image/png,image/jpeg,image/gif,image/webp")
    );
    assert!(form.file.attr("required").is_some());
    assert_eq!(
        form.type_options,
        ["image/png", "image/jpeg", "image/gif", "image/webp"]
    );
    let field = |n: &str| {
        form.hidden
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no hidden {n}: {:?}", form.hidden))
    };
    let key = field("key");
    assert!(
        key.starts_with("avatars/demo/") && key.ends_with("/${filename}"),
        "{key}"
    );
    let redirect = field("success_action_redirect");
    assert!(
        redirect.starts_with(&format!("{ONESHOT_URL}/uploaded/")),
        "{redirect}"
    );
    for n in [
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
    ] {
        assert!(!field(n).is_empty());
    }
    let policy = decode_policy(&field("policy"));
    let conds = conditions(&policy).join(" ");
    assert!(
        conds.contains(r#"["starts-with","$Content-Type","image/"]"#),
        "{conds}"
    );
    assert!(
        conds.contains(r#"["content-length-range",1,5242880]"#),
        "{conds}"
    );
    assert!(conds.contains(&redirect), "the redirect is signed: {conds}");
    // The limits, in words, before the person picks a file.
    let limits = text_with_id(&r.body, "limits").expect("limits");
    assert_eq!(
        limits,
        "Accepted: PNG image, JPEG image, GIF image, WebP image, up to 5 MiB. This form works for 15 minutes."
    );
    // No inline script: the only script is app.js, by src.
    let scripts = select(&r.body, "script");
    assert_eq!(scripts.len(), 1);
    assert_eq!(scripts[0].attr("src"), Some("/static/app.js"));
    assert!(
        scripts[0].html.ends_with("></script>"),
        "the script element is empty: {}",
        scripts[0].html
    );

    // A profile's exact types are a select (even one type: S3 checks it exactly).
    let doc = call(&app, get("/upload/document", None)).await;
    doc.expect(200);
    let f = upload_form(&doc.body);
    assert_eq!(f.type_options, ["application/pdf", DOCX]);
    assert_eq!(
        f.file.attr("accept"),
        Some(format!("application/pdf,{DOCX}").as_str())
    );
    assert_eq!(f.control_names.last().map(String::as_str), Some("file"));
    assert!(doc.body.contains("up to 20 MiB"));
    let clip = call(&app, get("/upload/clip", None)).await;
    clip.expect(200);
    let f = upload_form(&clip.body);
    assert_eq!(f.type_options, ["video/mp4", "video/webm"]);
    assert_eq!(f.type_text, None);
    assert!(clip.body.contains("This form works for 1 hour."));
}

#[tokio::test]
async fn each_page_load_signs_a_fresh_form() {
    let (_, app) = oneshot_app(config(&base())).await;
    let a = upload_form(&call(&app, get("/upload/avatar", None)).await.body);
    let b = upload_form(&call(&app, get("/upload/avatar", None)).await.body);
    let key = |f: &UploadForm| f.hidden.iter().find(|(k, _)| k == "key").unwrap().1.clone();
    assert_ne!(key(&a), key(&b), "every form gets its own uuid folder");
}

#[tokio::test]
async fn an_unknown_profile_is_404_on_the_page_and_in_the_api() {
    let (_, app) = oneshot_app(config(&base())).await;
    let r = call(&app, get("/upload/nope", None)).await;
    let m = r.page_error(404);
    assert!(m.contains("nope"), "{m}");
    assert_security_headers(&r.headers, "404 page");
    let r = call(
        &app,
        post_json(
            "/api/v1/sign/nope",
            None,
            &sign_body("a.png", "image/png", 10),
        ),
    )
    .await;
    let m = r.json_error(404, "not_found");
    assert!(m.contains("“nope”"), "{m}");
    assert_security_headers(&r.headers, "404 API");
}

#[tokio::test]
async fn signing_answers_an_exact_form_for_the_file() {
    let (state, app) = oneshot_app(config(&base())).await;
    let before = OffsetDateTime::now_utc();
    let r = call(
        &app,
        post_json(
            "/api/v1/sign/avatar",
            None,
            &sign_body("me.PNG", "Image/PNG", 12_345),
        ),
    )
    .await;
    r.expect(200);
    assert_security_headers(&r.headers, "sign");
    let s = Signed::parse(&r.body);
    assert_eq!(s.method, "POST");
    assert_eq!(s.url, format!("{DEAD_S3}/pics"));
    let rest = s.key.strip_prefix("avatars/demo/").expect("caller prefix");
    let (uuid, name) = rest.split_once('/').expect("uuid folder");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{uuid}");
    assert_eq!(name, "me.PNG");
    assert_eq!(s.field("key"), Some(s.key.as_str()));
    assert_eq!(
        s.field("Content-Type"),
        Some("image/png"),
        "type normalised"
    );
    assert_eq!(s.field("success_action_status"), Some("201"));
    assert!(s.field("success_action_redirect").is_none());
    assert!(s.fields.0.iter().all(|(k, _)| k != "file"));
    assert_eq!(
        s.fields.0.last().map(|(k, _)| k.as_str()),
        Some("x-amz-signature"),
        "{:?}",
        s.fields
    );
    let conds = conditions(&s.policy()).join(" ");
    assert!(
        conds.contains(&format!(r#"{{"key":"{}"}}"#, s.key))
            || conds.contains(&format!(r#"["eq","$key","{}"]"#, s.key)),
        "the key is exact: {conds}"
    );
    assert!(
        conds.contains(r#"["content-length-range",1,5242880]"#),
        "{conds}"
    );
    let exp = OffsetDateTime::parse(
        &s.expires_at,
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339 expiry");
    let d = exp - before;
    assert!(
        d >= time::Duration::seconds(899) && d <= time::Duration::seconds(905),
        "{d}"
    );
    let st = state_of(&s.uploaded_url);
    assert!(s
        .uploaded_url
        .starts_with(&format!("{ONESHOT_URL}/uploaded/")));
    let opened = UploadState::open(
        &st,
        signpost::server::testing::state_key(&state),
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .expect("the uploaded link's state is ours");
    assert_eq!(opened.p, "avatar");
    assert_eq!(opened.u, "demo");
    assert_eq!(opened.k, "avatars/demo/");
}

#[tokio::test]
async fn signing_refusals_are_400_with_the_reason() {
    let (_, app) = oneshot_app(config(&base())).await;
    let sign = |body: serde_json::Value| {
        let app = app.clone();
        async move { call(&app, post_json("/api/v1/sign/avatar", None, &body)).await }
    };
    // Too large, in words with both sizes.
    let m = sign(sign_body("big.png", "image/png", 6 << 20))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("6 MiB") && m.contains("5 MiB"), "{m}");
    // Too small (the profile needs at least a byte).
    let m = sign(sign_body("empty.png", "image/png", 0))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("smaller"), "{m}");
    // Wrong type, naming what is allowed.
    let m = sign(sign_body("page.html", "text/html", 100))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("text/html") && m.contains("PNG image"), "{m}");
    let m = call(
        &app,
        post_json(
            "/api/v1/sign/document",
            None,
            &sign_body("a.zip", "application/zip", 100),
        ),
    )
    .await
    .json_error(400, "bad_request");
    assert!(m.contains("application/zip") && m.contains("PDF"), "{m}");
    // Empty name or type.
    let m = sign(sign_body("   ", "image/png", 10))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("filename"), "{m}");
    let m = sign(sign_body("a.png", " ", 10))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("content_type"), "{m}");
    let m = sign(sign_body("a.png", "image/png\r\nX-Evil: 1", 10))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("content_type"), "{m}");
    // Not the JSON asked for: the message shows an example.
    for bad in [
        serde_json::json!({"filename": "a.png", "content_type": "image/png"}),
        serde_json::json!({"filename": "a.png", "content_type": "image/png", "size": -1}),
        serde_json::json!({"filename": "a.png", "content_type": "image/png", "size": 1, "acl": "public-read"}),
        serde_json::json!(["a.png"]),
    ] {
        let m = sign(bad.clone()).await.json_error(400, "bad_request");
        assert!(m.contains("\"filename\": \"me.png\""), "{bad}: {m}");
    }
    let r = call(
        &app,
        Request::post("/api/v1/sign/avatar")
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap(),
    )
    .await;
    let m = r.json_error(400, "bad_request");
    assert!(m.contains("must be JSON"), "{m}");
    // Not declared as JSON at all.
    let r = call(
        &app,
        Request::post("/api/v1/sign/avatar")
            .header("content-type", "text/plain")
            .body(Body::from(sign_body("a.png", "image/png", 1).to_string()))
            .unwrap(),
    )
    .await;
    let m = r.json_error(400, "bad_request");
    assert!(m.to_ascii_lowercase().contains("content-type"), "{m}");
    // The sign route takes POST only.
    let r = call(&app, get("/api/v1/sign/avatar", None)).await;
    r.expect(405);
    assert_security_headers(&r.headers, "405");
}

#[tokio::test]
async fn download_links_only_for_keys_under_the_callers_prefix() {
    let (_, app) = oneshot_app(config(&base())).await;
    let r = call(
        &app,
        get(
            &format!("/api/v1/download-url?key={}", q("avatars/demo/u1/me.png")),
            None,
        ),
    )
    .await;
    r.expect(200);
    let j = r.json();
    let url = j["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{DEAD_S3}/pics/avatars/demo/u1/me.png?")),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    assert!(j["expires_at"].as_str().is_some());
    // A document key is in the document profile's bucket.
    let r = call(
        &app,
        get(
            &format!(
                "/api/v1/download-url?key={}",
                q("documents/demo/2026-01-01/u/a.pdf")
            ),
            None,
        ),
    )
    .await;
    r.expect(200);
    assert!(r.json()["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{DEAD_S3}/docs/")));

    for key in [
        "avatars/bob/u1/me.png",
        "avatars/demo/../bob/me.png",
        "avatars/demo/./x",
        "avatars/demox/u/me.png",
        "secrets/config.toml",
        "/avatars/demo/u/x.png",
    ] {
        let r = call(
            &app,
            get(&format!("/api/v1/download-url?key={}", q(key)), None),
        )
        .await;
        let m = r.json_error(403, "forbidden");
        assert!(
            m.contains("outside your areas")
                || m.contains("never allowed")
                || m.contains("leading slash"),
            "{key}: {m}"
        );
        assert_security_headers(&r.headers, "403 API");
    }
    for uri in ["/api/v1/download-url", "/api/v1/download-url?key="] {
        let m = call(&app, get(uri, None))
            .await
            .json_error(400, "bad_request");
        assert!(m.contains("key"), "{m}");
    }
}

#[tokio::test]
async fn the_uploaded_link_refuses_forged_expired_and_foreign_keys() {
    let (_, app) = oneshot_app(config(&base())).await;
    let later = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let good = sealed("avatar", "demo", "avatars/demo/", later);
    let key = q("avatars/demo/u1/me.png");

    // Forged: altered, not ours, not even the right shape.
    let other_secret = UploadState {
        p: "avatar".into(),
        u: "demo".into(),
        k: "avatars/".into(),
        e: later,
    }
    .seal(b"some other server's secret 0123456789");
    for st in [
        tamper(&good),
        other_secret,
        "garbage".into(),
        "a.b".into(),
        format!("{good}x"),
    ] {
        let r = call(
            &app,
            get(&format!("/uploaded/{st}?bucket=pics&key={key}"), None),
        )
        .await;
        let m = r.page_error(403);
        assert!(m.contains("not valid"), "{st}: {m}");
        assert_security_headers(&r.headers, "forged /uploaded");
    }
    // A widened prefix with the old tag is a forgery too.
    let widened = sealed("avatar", "demo", "avatars/", later);
    let spliced = format!(
        "{}.{}",
        widened.split('.').next().unwrap(),
        good.split('.').nth(1).unwrap()
    );
    let r = call(
        &app,
        get(
            &format!("/uploaded/{spliced}?key={}", q("avatars/bob/u/x.png")),
            None,
        ),
    )
    .await;
    assert!(r.page_error(403).contains("not valid"));

    // Expired.
    let old = sealed(
        "avatar",
        "demo",
        "avatars/demo/",
        OffsetDateTime::now_utc().unix_timestamp() - 1,
    );
    let r = call(&app, get(&format!("/uploaded/{old}?key={key}"), None)).await;
    assert!(r.page_error(403).contains("expired"));

    // Keys outside the state's prefix, or climbing out of it.
    for k in [
        "avatars/bob/u1/me.png",
        "avatars/demo/../bob/me.png",
        "avatars/demo/./me.png",
        "documents/demo/x.pdf",
    ] {
        let r = call(&app, get(&format!("/uploaded/{good}?key={}", q(k)), None)).await;
        let m = r.page_error(403);
        assert!(
            m.contains("outside your upload folder") || m.contains("segment, which is not allowed"),
            "{k}: {m}"
        );
    }
    // One bad key among good ones spoils the link: every key is checked before any S3 call.
    let r = call(
        &app,
        get(
            &format!("/uploaded/{good}?key={key}&key={}", q("avatars/bob/x")),
            None,
        ),
    )
    .await;
    r.page_error(403);
    // Another bucket than the profile's.
    let r = call(
        &app,
        get(&format!("/uploaded/{good}?bucket=docs&key={key}"), None),
    )
    .await;
    assert!(r.page_error(403).contains("docs"));
    // No key at all.
    for q in ["", "?bucket=pics", "?etag=abc"] {
        let r = call(&app, get(&format!("/uploaded/{good}{q}"), None)).await;
        assert!(r.page_error(400).contains("names no uploaded file"), "{q}");
    }
    // An empty key is refused too (it is not under the folder).
    let r = call(&app, get(&format!("/uploaded/{good}?key="), None)).await;
    assert!(r.status == 400 || r.status == 403, "{}", r.status);
    // Too many keys.
    let many: Vec<String> = (0..21)
        .map(|i| format!("key=avatars%2Fdemo%2Fu%2F{i}.png"))
        .collect();
    let r = call(
        &app,
        get(&format!("/uploaded/{good}?{}", many.join("&")), None),
    )
    .await;
    assert!(r.page_error(400).contains("At most 20"));
    // A state for a profile that is gone.
    let gone = sealed("retired", "demo", "retired/demo/", later);
    let r = call(
        &app,
        get(
            &format!("/uploaded/{gone}?key={}", q("retired/demo/x")),
            None,
        ),
    )
    .await;
    assert!(r.page_error(404).contains("retired"));
    // All checks pass, but the storage cannot be reached: 502 in words, not a crash.
    let r = call(
        &app,
        get(
            &format!("/uploaded/{good}?bucket=pics&key={key}&etag=%22abc%22"),
            None,
        ),
    )
    .await;
    let m = r.page_error(502);
    assert!(m.contains("storage did not answer"), "{m}");
}

#[tokio::test]
async fn s3_errors_are_explained_in_words() {
    let (_, app) = oneshot_app(config(&base())).await;
    let explain = |xml: &'static str| {
        let app = app.clone();
        async move {
            let r = call(
                &app,
                Request::post("/api/v1/s3-error")
                    .header("content-type", "text/plain")
                    .body(Body::from(xml))
                    .unwrap(),
            )
            .await;
            r.expect(200);
            assert_security_headers(&r.headers, "s3-error");
            let j = r.json();
            (
                j["error"].as_str().unwrap().to_string(),
                j["message"].as_str().unwrap().to_string(),
            )
        }
    };
    let (code, m) = explain(
        "<?xml version=\"1.0\"?><Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message><ProposedSize>6291456</ProposedSize><MaxSizeAllowed>5242880</MaxSizeAllowed></Error>",
    )
    .await;
    assert_eq!(code, "EntityTooLarge");
    assert_eq!(
        m,
        "The file is too large: 6 MiB, but at most 5 MiB is allowed."
    );
    let (_, m) = explain("<Error><Code>EntityTooSmall</Code><ProposedSize>0</ProposedSize><MinSizeAllowed>1</MinSizeAllowed></Error>").await;
    assert!(
        m.contains("too small") && m.contains("0 bytes") && m.contains("1 byte"),
        "{m}"
    );
    let (code, m) = explain(r#"<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "image/"]</Message></Error>"#).await;
    assert_eq!(code, "AccessDenied");
    assert!(
        m.contains("type is not accepted") && m.contains("image/"),
        "{m}"
    );
    let (_, m) = explain(r#"<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "avatars/demo/"]</Message></Error>"#).await;
    assert!(m.contains("name or location"), "{m}");
    let (_, m) = explain("<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>").await;
    assert!(m.contains("expired") && m.contains("Reload"), "{m}");
    let (_, m) = explain("<Error><Code>SignatureDoesNotMatch</Code></Error>").await;
    assert!(m.contains("signature"), "{m}");
    let (_, m) = explain("<Error><Code>NoSuchBucket</Code></Error>").await;
    assert!(m.contains("bucket") && m.contains("operator"), "{m}");
    let (code, m) = explain("<html>proxy error</html>").await;
    assert_eq!(code, "Unknown");
    assert!(m.contains("refused"), "{m}");
    // Escaped XML comes back as text, not markup.
    let (_, m) = explain("<Error><Code>InvalidArgument</Code><Message>bad &lt;field&gt; &amp; more</Message></Error>").await;
    assert_eq!(m, "The storage refused a form field: bad <field> & more");
}

#[tokio::test]
async fn health_static_files_and_unknown_routes() {
    let (_, app) = oneshot_app(config(&base())).await;
    let r = call(&app, get("/healthz", None)).await;
    r.expect(200);
    assert_eq!(r.json()["status"], "ok");
    assert_security_headers(&r.headers, "healthz");
    let r = call(&app, get("/static/app.js", None)).await;
    r.expect(200);
    assert!(r.header("content-type").unwrap().contains("javascript"));
    assert!(r.body.contains("upload-form"));
    assert_security_headers(&r.headers, "app.js");
    let r = call(&app, get("/static/style.css", None)).await;
    r.expect(200);
    assert!(r.header("content-type").unwrap().starts_with("text/css"));
    for uri in [
        "/static/nope.js",
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/nope",
        "/upload",
        "/uploaded/",
    ] {
        let r = call(&app, get(uri, None)).await;
        assert!(
            r.status == 404 || r.status == 400,
            "{uri}: {} {}",
            r.status,
            r.body
        );
        assert!(!r.body.contains("[package]"), "{uri} must not leak files");
        assert_security_headers(&r.headers, uri);
    }
}

/// A DNS-rebinding page reaches a local demo under another host name: the demo (no sign-in)
/// answers 421 to any host but its own.
#[tokio::test]
async fn the_demo_answers_only_for_its_own_host() {
    let (_, app) = oneshot_app(config(&base())).await;
    let with_host = |host: &str| {
        Request::builder()
            .uri("/")
            .header("host", host)
            .body(Body::empty())
            .unwrap()
    };
    for host in ["evil.example", "evil.example:8080", "127.0.0.2:8080"] {
        let r = call(&app, with_host(host)).await;
        assert_eq!(r.status, 421, "{host}: {}", r.body);
        assert!(r.body.contains("127.0.0.1:8080"), "{}", r.body);
    }
    for host in ["127.0.0.1:8080", "localhost:8080"] {
        call(&app, with_host(host)).await.expect(200);
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (_, app) = oneshot_app(config(&with_tokens(""))).await;
    let reqs: Vec<(&str, Request<Body>)> = vec![
        ("index 401", get("/", None)),
        ("index 200", get("/", Some("alice-token"))),
        ("upload 200", get("/upload/avatar", Some("alice-token"))),
        ("upload 403", get("/upload/vault", Some("alice-token"))),
        ("upload 401", get("/upload/avatar", Some("wrong"))),
        (
            "sign 200",
            post_json(
                "/api/v1/sign/avatar",
                Some("alice-token"),
                &sign_body("a.png", "image/png", 1),
            ),
        ),
        (
            "sign 401",
            post_json(
                "/api/v1/sign/avatar",
                None,
                &sign_body("a.png", "image/png", 1),
            ),
        ),
        (
            "sign 403",
            post_json(
                "/api/v1/sign/vault",
                Some("alice-token"),
                &sign_body("a.png", "image/png", 1),
            ),
        ),
        (
            "download 403",
            get("/api/v1/download-url?key=x", Some("alice-token")),
        ),
        ("uploaded 403", get("/uploaded/x.y?key=x", None)),
        ("healthz", get("/healthz", None)),
        ("fallback 404", get("/no/such/page", None)),
    ];
    for (what, req) in reqs {
        let r = call(&app, req).await;
        assert_security_headers(&r.headers, what);
        if r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
        {
            assert_no_injected_markup(&r.body, what);
        }
    }
}

#[tokio::test]
async fn the_signing_rate_limit_answers_429_with_retry_after_per_caller() {
    let (_, app) = oneshot_app(config(&with_tokens(
        "rate_limit = { per_second = 1, burst = 2 }",
    )))
    .await;
    let sign = |token: Option<&'static str>| {
        let app = app.clone();
        async move {
            call(
                &app,
                post_json(
                    "/api/v1/sign/avatar",
                    token,
                    &sign_body("a.png", "image/png", 1),
                ),
            )
            .await
        }
    };
    // The burst is served; then, well within the second a token takes to come back, 429.
    sign(Some("alice-token")).await.expect(200);
    sign(Some("alice-token")).await.expect(200);
    let mut limited = None;
    for _ in 0..5 {
        let r = sign(Some("alice-token")).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        r.expect(200);
    }
    let r = limited.expect("alice is limited once her burst is used");
    let m = r.json_error(429, "rate_limited");
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(m.contains(&format!("wait {wait} s")), "{m}");
    assert_security_headers(&r.headers, "429");
    // Another caller has a bucket of their own.
    sign(Some("bob-token")).await.expect(200);
    // Every route that signs shares the limit: the upload page (each load signs a form)
    // and presigned links are refused too while alice waits. Health is never limited.
    for uri in [
        "/upload/avatar",
        "/api/v1/download-url?key=avatars/alice/u/a.png",
        "/api/v1/presign?key=avatars/alice/u/a.png",
    ] {
        let r = call(&app, get(uri, Some("alice-token"))).await;
        assert_eq!(r.status, 429, "{uri}: {}", r.body);
    }
    for _ in 0..4 {
        call(&app, get("/healthz", None)).await.expect(200);
    }
    // Without a token (and without a peer address in a oneshot) callers share one bucket:
    // the limit still holds, and the unauthenticated are told to sign in, not to wait.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(sign(None).await.status.as_u16());
    }
    assert_eq!(&statuses[..2], [401, 401], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // Made-up tokens do not get buckets of their own: they share the address's, which is
    // used up, so each fresh token is refused at once.
    for i in 0..5 {
        let token: &'static str = Box::leak(format!("made-up-{i}").into_boxed_str());
        assert_eq!(sign(Some(token)).await.status, 429, "made-up token {i}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let toml = base().replace("[server]\n", "[server]\nmax_body = \"1KiB\"\n");
    let c = config(&toml);
    assert_eq!(c.server.max_body, 1024);
    let (_, app) = oneshot_app(c).await;
    let big_name = "a".repeat(4096);
    let body = sign_body(&big_name, "image/png", 1).to_string();
    let r = call(
        &app,
        Request::post("/api/v1/sign/avatar")
            .header("content-type", "application/json")
            .header("content-length", body.len().to_string())
            .body(Body::from(body.clone()))
            .unwrap(),
    )
    .await;
    r.expect(413);
    assert_security_headers(&r.headers, "413");
    let xml = format!(
        "<Error><Code>X</Code><Message>{}</Message></Error>",
        "m".repeat(4096)
    );
    let r = call(
        &app,
        Request::post("/api/v1/s3-error")
            .header("content-length", xml.len().to_string())
            .body(Body::from(xml.clone()))
            .unwrap(),
    )
    .await;
    r.expect(413);
    // Without a Content-Length (a chunked upload) the limit holds while reading.
    let r = call(
        &app,
        Request::post("/api/v1/s3-error")
            .body(Body::from_stream(futures_util::stream::iter(
                xml.into_bytes()
                    .chunks(512)
                    .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                    .collect::<Vec<_>>(),
            )))
            .unwrap(),
    )
    .await;
    r.expect(413);
    let r = call(
        &app,
        Request::post("/api/v1/sign/avatar")
            .header("content-type", "application/json")
            .body(Body::from_stream(futures_util::stream::iter(
                body.into_bytes()
                    .chunks(512)
                    .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                    .collect::<Vec<_>>(),
            )))
            .unwrap(),
    )
    .await;
    r.expect(413);
    // A body under the limit is fine.
    call(
        &app,
        post_json(
            "/api/v1/sign/avatar",
            None,
            &sign_body("a.png", "image/png", 1),
        ),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn auth_is_required_and_roles_are_enforced() {
    let (_, app) = oneshot_app(config(&with_tokens(""))).await;
    // No token: 401 page and 401 JSON, saying how to sign in.
    let m = call(&app, get("/", None)).await.page_error(401);
    assert!(m.contains("not signed in"), "the page speaks plainly: {m}");
    call(&app, get("/upload/avatar", None))
        .await
        .page_error(401);
    let m = call(
        &app,
        post_json(
            "/api/v1/sign/avatar",
            None,
            &sign_body("a.png", "image/png", 1),
        ),
    )
    .await
    .json_error(401, "unauthorized");
    assert!(m.contains("sign in"), "{m}");
    call(&app, get("/api/v1/download-url?key=avatars/alice/x", None))
        .await
        .json_error(401, "unauthorized");
    // An unknown token.
    let m = call(&app, get("/upload/avatar", Some("alice-token-x")))
        .await
        .page_error(401);
    assert!(m.contains("refused"), "{m}");
    // The index shows only what the caller may use.
    let r = call(&app, get("/", Some("alice-token"))).await;
    r.expect(200);
    assert!(r.body.contains("/upload/avatar") && !r.body.contains("/upload/vault"));
    assert!(r.body.contains("Signed in as <strong>alice</strong>"));
    let r = call(&app, get("/", Some("bob-token"))).await;
    assert!(r.body.contains("/upload/vault"));
    // A profile for another tier: 403, naming the tier needed.
    let m = call(&app, get("/upload/vault", Some("alice-token")))
        .await
        .page_error(403);
    assert!(
        m.contains("tier1") && m.contains("tier2") && m.contains("Vault"),
        "{m}"
    );
    let m = call(
        &app,
        post_json(
            "/api/v1/sign/vault",
            Some("alice-token"),
            &sign_body("a.png", "image/png", 1),
        ),
    )
    .await
    .json_error(403, "forbidden");
    assert!(m.contains("tier2"), "{m}");
    call(
        &app,
        post_json(
            "/api/v1/sign/vault",
            Some("bob-token"),
            &sign_body("a.bin", "application/octet-stream", 1),
        ),
    )
    .await
    .expect(200);
    // Keys follow the caller.
    let r = call(
        &app,
        post_json(
            "/api/v1/sign/avatar",
            Some("bob-token"),
            &sign_body("a.png", "image/png", 1),
        ),
    )
    .await;
    assert!(Signed::parse(&r.body).key.starts_with("avatars/bob/"));
}

#[tokio::test]
async fn the_uploaded_link_of_one_account_is_refused_to_another() {
    let (_, app) = oneshot_app(config(&with_tokens(""))).await;
    let later = OffsetDateTime::now_utc().unix_timestamp() + 600;
    let st = sealed("avatar", "alice", "avatars/alice/", later);
    let key = q("avatars/alice/u/a.png");
    let m = call(
        &app,
        get(&format!("/uploaded/{st}?key={key}"), Some("bob-token")),
    )
    .await
    .page_error(403);
    assert!(m.contains("another account"), "{m}");
    // Holding the link is not enough: without signing in, the page asks to sign in.
    let r = call(&app, get(&format!("/uploaded/{st}?key={key}"), None)).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[test]
fn config_errors_name_the_key_and_the_fix() {
    let ok = base();
    config(&ok);
    let cases: Vec<(String, &str, &str)> = vec![
        (ok.replace("\"5MiB\"", "\"5 parsecs\""), "profile[0].max_size", "5MiB"),
        (ok.replace("expires = \"15m\"", "expires = \"soon\""), "profile[0].expires", "15m"),
        (ok.replace("expires = \"15m\"", "expires = \"30d\""), "profile[0].expires", "7d"),
        (
            ok.replace("key = \"avatars/{user}/{uuid}/${filename}\"", "key = \"avatars/{user}/{oops}/${filename}\""),
            "profile[0].key",
            "placeholder",
        ),
        (
            ok.replace("key = \"avatars/{user}/{uuid}/${filename}\"", "key = \"avatars/{user}/{uuid}\""),
            "profile[0].key",
            "${filename}",
        ),
        (ok.replace("name = \"document\"", "name = \"avatar\""), "profile[1].name", "twice"),
        (ok.replace("name = \"clip\"", "name = \"a clip\""), "profile[2].name", "letters"),
        (ok.replace("min_size = 1\nmax_size = \"5MiB\"", "min_size = \"6MiB\"\nmax_size = \"5MiB\""), "profile[0].min_size", "max_size"),
        (format!("{ok}\n[auth]\nmode = \"magic\"\n"), "auth.mode", "\"tokens\""),
        (format!("{ok}\n[auth]\nmode = \"tokens\"\n"), "auth.tokens", "sha256"),
        (
            format!("{ok}\n[auth]\nmode = \"tokens\"\n[[auth.tokens]]\nsha256 = \"abc\"\nuser = \"a\"\n"),
            "auth.tokens[0].sha256",
            "64 hex",
        ),
        (format!("{ok}\n[auth]\nmode = \"jwt\"\n"), "auth.jwt", "hs256_secret"),
        (format!("{ok}\n[auth]\nmode = \"jwt\"\n[auth.jwt]\nhs256_secret = \"short\"\n"), "auth.jwt.hs256_secret", "32"),
        (ok.replace(&format!("state_secret = \"{STATE_SECRET}\""), "state_secret = \"short\""), "server.state_secret", "openssl rand"),
        (ok.replace("[server]\n", "[server]\nrate_limit = { per_second = 0, burst = 5 }\n"), "server.rate_limit", "at least 1"),
        (ok.replace("[server]\n", "[server]\npublic_url = \"uploads.example.com\"\n"), "server.public_url", "http"),
        (ok.replace("[server]\n", "[server]\nallowed_origins = [\"https://ok.example\", \"ftp://x\"]\n"), "server.allowed_origins[1]", "http"),
        (ok.replace("[server]\n", "[server]\nlisten = \"localhost\"\n"), "server.listen", "127.0.0.1:8080"),
        (ok.replace("[server]\n", "[server]\nmax_body = \"lots\"\n"), "server.max_body", "5MiB"),
        (format!("{ok}\n[s3]\nendpoint = \"http://127.0.0.1:9000\"\naccess_key_id = \"AK\"\n"), "s3.secret_access_key", "both"),
        (format!("{ok}\n[s3]\ncredentials = \"magic\"\n"), "s3.credentials", "aws-chain"),
        ("[server]\n".to_string(), "profile", "[[profile]]"),
    ];
    for (text, key, hint) in cases {
        let e = config_error(&text);
        assert_eq!(e.key, key, "{e}");
        let shown = e.to_string();
        assert!(shown.starts_with(&format!("config key `{key}`")), "{shown}");
        assert!(shown.contains(hint), "`{key}` should say {hint:?}: {shown}");
    }
    // With auth on, keys must keep callers apart.
    let e = config_error(&format!(
        "{}\n[auth]\nmode = \"jwt\"\n[auth.jwt]\nhs256_secret = \"{JWT_SECRET}\"\n",
        ok.replace("avatars/{user}/{uuid}", "avatars/{uuid}")
    ));
    assert_eq!(e.key, "profile[0].key");
    assert!(e.message.contains("{user}"), "{e}");
    // A misspelt key is named with its line.
    let e = config_error(&ok.replace("max_size = \"100MiB\"", "max_sise = \"100MiB\""));
    assert!(
        e.to_string().contains("max_sise") && e.to_string().contains("line"),
        "{e}"
    );
    // A sane duration comes out right.
    let c = config(&ok);
    assert_eq!(c.profiles[2].expires, Duration::from_secs(3600));
}
