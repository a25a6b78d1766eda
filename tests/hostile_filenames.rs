//! Hostile file names and titles. Through `POST /api/v1/sign/avatar`, every name — traversal,
//! absolute paths, control and bidi characters, markup, placeholders, huge or empty-after-
//! cleaning names — yields a key inside the caller's own `avatars/<user>/<uuid>/` folder, in
//! one clean segment. Against Ceph, a few go through for real (via the API, and via the no-JS
//! form where S3 fills `${filename}` with the raw name) and the `/uploaded` page shows them as
//! text, never as markup. A hostile profile title from the config is escaped on every page.

#![cfg(feature = "integration")]

mod support;

use signpost::server::testing::MAX_FILENAME_BYTES;
use support::html::*;
use support::http::*;
use support::png::png;
use support::s3::S3Env;
use support::server::*;
use tempfile::TempDir;

/// A title (and a content type) that would run script if a page printed it raw.
const EVIL_TITLE: &str = r#"<script>alert(1)</script>"'&<img src=x onerror=alert(2)>"#;

fn jwt_config() -> String {
    format!(
        r#"
[server]
state_secret = "{STATE_SECRET}"

[auth]
mode = "jwt"

[auth.jwt]
hs256_secret = "{JWT_SECRET}"

[[profile]]
name = "avatar"
title = "Avatar"
bucket = "pics"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
"#
    )
}

/// Names an attacker (or an unlucky user) might send, and what must hold for each.
fn hostile_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "../../etc/passwd",
        "..\\..\\x",
        "..\\..\\windows\\win.ini",
        "/etc/x",
        "/",
        "C:\\fakepath\\photo.png",
        "a\u{0}b.png",
        "\u{0}",
        "\u{1}\u{2}\u{1b}[31mred\u{7f}.png",
        "tab\tname.png",
        "line\nbreak.png",
        "crlf\r\nX-Amz-Meta-Evil: 1.png",
        "\u{85}nel.png",
        "<script>alert(1)</script>.png",
        "\"><img src=x onerror=alert(1)>.png",
        "'><svg onload=alert(1)>.png",
        "javascript:alert(1).png",
        "evil\u{202E}gnp.exe",
        "\u{202E}gnp.exe",
        "zero\u{200B}width\u{200D}\u{FEFF}\u{2060}.png",
        "\u{200B}\u{200C}\u{200D}",
        "\u{2066}isolate\u{2069}.png",
        "....",
        ".",
        "..",
        "...png",
        ".htaccess",
        "~/.ssh/id_rsa",
        "a/./b/../c.png",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "%00.png",
        "${filename}",
        "${filename}.png",
        "{user}",
        "{uuid}/../{user}.png",
        "q?x=1#frag&y=2=z.png",
        "trailing dots...",
        "trailing spaces.png   ",
        "trailing. . .",
        "   leading.png",
        "CON.png",
        "NUL",
        "LPT1.txt",
        "back`tick`$(id).png",
        "file:///etc/passwd",
        "🦀🎉.png",
        "emoji👨\u{200D}👩\u{200D}👧.png",
        "写真 2026.jpg",
        "\u{2028}\u{2029}sep.png",
        "e\u{301}\u{301}\u{301}.png",
        "a\\b/c\\d.png",
        "\u{FFFD}\u{FFFF}.png",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    v.push(format!("{}.png", "a".repeat(1000)));
    v.push("b".repeat(1000));
    v.push(format!("{}.jpeg", "é".repeat(600)));
    v.push(format!("{}.png", "写".repeat(400)));
    v.push(format!("{}.png", "🦀".repeat(300)));
    v.push(format!("{}.{}", "x", "y".repeat(300)));
    v.push("../".repeat(300) + "etc/passwd");
    v
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
        | '\u{061C}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The key is `avatars/<user>/<uuid>/<name>` with one clean `<name>`.
#[track_caller]
fn assert_confined(raw: &str, key: &str, user: &str) {
    let prefix = format!("avatars/{user}/");
    let rest = key
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{raw:?}: {key:?} is outside {prefix}"));
    let (uuid, name) = rest
        .split_once('/')
        .unwrap_or_else(|| panic!("{raw:?}: {key:?} has no uuid folder"));
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{raw:?}: {key:?}");
    assert!(!name.is_empty(), "{raw:?}: empty name in {key:?}");
    assert!(
        !name.contains('/'),
        "{raw:?}: `/` after the uuid in {key:?}"
    );
    assert!(!name.contains('\\'), "{raw:?}: `\\` in {key:?}");
    assert!(
        !name.starts_with('.'),
        "{raw:?}: hidden or dot name in {key:?}"
    );
    assert!(
        !name.ends_with(['.', ' ']),
        "{raw:?}: trailing dot/space in {key:?}"
    );
    assert!(
        !key.split('/')
            .any(|s| s == ".." || s == "." || s.is_empty()),
        "{raw:?}: dot or empty segment in {key:?}"
    );
    assert!(
        !key.chars().any(|c| c.is_control() || is_invisible(c)),
        "{raw:?}: control or invisible character in {key:?}"
    );
    assert!(
        !key.chars().any(|c| c != ' ' && c.is_whitespace()),
        "{raw:?}: odd whitespace in {key:?}"
    );
    assert!(
        !name.contains(['<', '>', '"', '$', '{', '}', '%', '?', '#']),
        "{raw:?}: markup, placeholder or URL syntax left in {key:?}"
    );
    assert!(
        name.len() <= MAX_FILENAME_BYTES,
        "{raw:?}: name of {} bytes in {key:?}",
        name.len()
    );
    assert!(key.len() <= 1024, "S3 keys are at most 1024 bytes");
}

#[tokio::test]
async fn every_hostile_name_signs_a_key_confined_to_the_callers_folder() {
    let (_, app) = oneshot_app(config(&jwt_config())).await;
    let alice = jwt("alice", &[]);
    let names = hostile_names();
    assert!(names.len() >= 30, "{}", names.len());
    let mut keys = std::collections::HashSet::new();
    for raw in &names {
        let r = call(
            &app,
            post_json(
                "/api/v1/sign/avatar",
                Some(&alice),
                &sign_body(raw, "image/png", 10),
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{raw:?}: {}", r.body);
        let s = Signed::parse(&r.body);
        assert_confined(raw, &s.key, "alice");
        assert!(keys.insert(s.key.clone()), "keys are unique");
        // The form holds S3 to that exact key, and the key is alice's to read.
        assert_eq!(s.field("key"), Some(s.key.as_str()), "{raw:?}");
        let conds = conditions(&s.policy()).join(" ");
        assert!(
            conds.contains(&serde_json::json!({ "key": s.key }).to_string()),
            "{raw:?}: the key is not exact in {conds}"
        );
        let link = call(
            &app,
            get(
                &format!("/api/v1/download-url?key={}", q(&s.key)),
                Some(&alice),
            ),
        )
        .await;
        assert_eq!(link.status, 200, "{raw:?}: {}", link.body);
    }
    // Readable names stay readable.
    let name_of = |raw: &str| {
        let app = app.clone();
        let alice = alice.clone();
        let raw = raw.to_string();
        async move {
            let r = call(
                &app,
                post_json(
                    "/api/v1/sign/avatar",
                    Some(&alice),
                    &sign_body(&raw, "image/png", 10),
                ),
            )
            .await;
            Signed::parse(&r.body)
                .key
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(name_of("写真 2026.jpg").await, "写真 2026.jpg");
    assert_eq!(name_of("🦀🎉.png").await, "🦀🎉.png");
    assert_eq!(name_of("../../etc/passwd").await, "passwd");
    assert_eq!(name_of("C:\\fakepath\\photo.png").await, "photo.png");
    assert_eq!(name_of("....").await, "file");
    assert!(name_of(&format!("{}.jpeg", "é".repeat(600)))
        .await
        .ends_with(".jpeg"));
}

#[tokio::test]
async fn names_that_are_only_blank_are_refused_in_words() {
    let (_, app) = oneshot_app(config(&jwt_config())).await;
    let alice = jwt("alice", &[]);
    for raw in ["", " ", "   ", "\t\n", "\u{3000}"] {
        let m = call(
            &app,
            post_json(
                "/api/v1/sign/avatar",
                Some(&alice),
                &sign_body(raw, "image/png", 10),
            ),
        )
        .await
        .json_error(400, "bad_request");
        assert!(m.contains("filename is empty"), "{raw:?}: {m}");
    }
}

/// A config whose title tries to break out of the page (its types are plain: hostile ones
/// are refused when the config is read, see below).
fn evil_config(extra: &str) -> String {
    format!(
        r#"
[server]
state_secret = "{STATE_SECRET}"
{extra}

[[profile]]
name = "evil"
title = "{title}"
bucket = "pics"
key = "evil/{{user}}/{{uuid}}/${{filename}}"
max_size = "1MiB"
content_types = ["image/png", "text/plain"]
"#,
        title = EVIL_TITLE.replace('"', "\\\""),
    )
}

#[tokio::test]
async fn a_hostile_profile_title_is_escaped_on_every_page() {
    let c = config(&evil_config(""));
    assert_eq!(c.profiles[0].title, EVIL_TITLE);
    let (_, app) = oneshot_app(c).await;
    for uri in ["/", "/upload/evil"] {
        let r = call(&app, get(uri, None)).await;
        r.expect(200);
        assert_no_injected_markup(&r.body, uri);
        assert!(
            !r.body.contains(EVIL_TITLE),
            "{uri}: the title is printed raw"
        );
        assert!(
            !r.body.contains("<img") && !r.body.contains("alert(3)</script>"),
            "{uri}"
        );
        // It is still there, as text.
        let h = if uri == "/" {
            text_of(&r.body, r#"a[href="/upload/evil"]"#)
        } else {
            text_of(&r.body, "h1")
        };
        assert!(h.unwrap().contains(EVIL_TITLE), "{uri}: the title is shown");
    }
    // Types that try to break out never reach a page: they are not MIME types, and the
    // config is refused, naming the key.
    for evil in [
        "image/png\\\"><script>alert(3)</script>",
        "text/x-'onmouseover='alert(4)",
    ] {
        let e = config_error(&evil_config("").replace("\"text/plain\"", &format!("\"{evil}\"")));
        assert_eq!(e.key, "profile[0].content_types", "{evil}");
    }
    // An error page quoting the title escapes it too.
    let (_, app) = oneshot_app(config(
        &evil_config("")
            .replace("[server]", &format!("[auth]\nmode = \"jwt\"\n[auth.jwt]\nhs256_secret = \"{JWT_SECRET}\"\n\n[server]"))
            .replace("max_size = \"1MiB\"", "max_size = \"1MiB\"\nroles = [\"gold\"]"),
    ))
    .await;
    let r = call(&app, get("/upload/evil", Some(&jwt("mallory", &["tin"])))).await;
    let m = r.page_error(403);
    assert!(m.contains(EVIL_TITLE), "{m}");
    assert_no_injected_markup(&r.body, "403 page");
    // Profile names are URL parts: markup there is a config error naming the key.
    let e = config_error(&evil_config("").replace("name = \"evil\"", "name = \"<b>evil</b>\""));
    assert_eq!(e.key, "profile[0].name");
}

/// A Ceph-backed server without auth (user `demo`), with the hostile title.
async fn ceph_server() -> (signpost::server::Running, S3Env, TempDir) {
    let s3 = S3Env::from_env();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
state_secret = "{STATE_SECRET}"

{s3_section}
[[profile]]
name = "avatar"
title = "{title}"
bucket = "{bucket}"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
min_size = 1
max_size = "64KiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
"#,
        s3_section = s3.s3_section(),
        bucket = s3.bucket_a,
        title = EVIL_TITLE.replace('"', "\\\""),
    );
    let dir = TempDir::new().expect("temp dir");
    let running = signpost::server::start(config(&toml), dir.path().to_path_buf(), None)
        .await
        .expect("server starts");
    (running, s3, dir)
}

#[tokio::test]
async fn hostile_names_uploaded_for_real_are_shown_as_text() {
    let (running, s3, _dir) = ceph_server().await;
    let bytes = png(1, 1, 64);
    // Through the JSON API: the server's sanitized key.
    for raw in [
        "<script>alert(1)</script>.png",
        "\"><img src=x onerror=alert(1)>.png",
        "evil\u{202E}gnp.exe.png",
        "q?x=1#frag&y=2=z.png",
        "写真 🦀 2026.png",
        "../../etc/passwd.png",
    ] {
        let resp = client()
            .post(format!("{}/api/v1/sign/avatar", running.url))
            .json(&sign_body(raw, "image/png", bytes.len() as u64))
            .send()
            .await
            .expect("sign");
        assert_eq!(resp.status().as_u16(), 200, "{raw:?}");
        let s = Signed::parse(&resp.text().await.unwrap());
        assert_confined(raw, &s.key, "demo");
        let resp = post_multipart(&s.url, &s.fields.0, "f.png", &bytes, Some("image/png")).await;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 201, "{raw:?}: {body}");
        let (status, page) = fetch(&format!("{}?key={}", s.uploaded_url, q(&s.key)), None).await;
        assert_eq!(status, 200, "{raw:?}: {page}");
        assert_no_injected_markup(&page, raw);
        let f = uploaded_file(&page);
        assert_eq!(f.key, s.key, "{raw:?}");
        assert_eq!(fetch_bytes(&f.view).await, bytes, "{raw:?}");
        assert!(
            !page.contains(EVIL_TITLE),
            "the title is escaped on /uploaded"
        );
    }

    // Without JavaScript S3 fills ${filename} with the raw name: the page still shows text.
    for raw in [
        "<img src=x onerror=alert(1)>.png",
        "<script>alert(1)</script>.png",
        "'><svg onload=alert(1)>.png",
        "${filename}.png",
    ] {
        let (_, html) = fetch(&format!("{}/upload/avatar", running.url), None).await;
        let form = upload_form(&html);
        let mut fields = form.hidden.clone();
        fields.push(("Content-Type".into(), "image/png".into()));
        let loc =
            expect_303(post_multipart(&form.action, &fields, raw, &bytes, Some("image/png")).await)
                .await;
        let key = query_value(&loc, "key").expect("key");
        assert!(key.starts_with("avatars/demo/"), "{key}");
        let (status, page) = fetch(&loc, None).await;
        assert_eq!(status, 200, "{raw:?}: {page}");
        assert_no_injected_markup(&page, raw);
        assert_eq!(uploaded_file(&page).key, key, "shown as text, intact");
        assert!(s3.object_exists(&s3.bucket_a, &key).await);
    }
    // A raw name that climbs out is refused, and the refusal quotes it as text.
    let (_, html) = fetch(&format!("{}/upload/avatar", running.url), None).await;
    let form = upload_form(&html);
    let mut fields = form.hidden.clone();
    fields.push(("Content-Type".into(), "image/png".into()));
    let raw = "../../<script>alert(1)</script>.png";
    let loc =
        expect_303(post_multipart(&form.action, &fields, raw, &bytes, Some("image/png")).await)
            .await;
    let (status, page) = fetch(&loc, None).await;
    assert_eq!(status, 403, "{page}");
    assert_no_injected_markup(&page, "403 with a hostile key");
    assert!(
        text_with_id(&page, "error-message")
            .unwrap()
            .contains("<script>alert(1)</script>"),
        "the key is quoted as text"
    );
    running.shutdown().await;
}
