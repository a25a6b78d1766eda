//! Pages for people (issue 12), through the router (oneshot): every unknown path and a bare
//! `/uploaded` get a styled 404 page (the API's unknown paths get JSON), error pages show who
//! is signed in, page messages use plain words, the no-JS upload input takes what S3 takes,
//! `/uploaded` answers JSON when asked, links meet 4.5:1 contrast, and `[auth.oidc]` config
//! errors name their key.

#![cfg(feature = "server")]

mod support;

use signpost::server::AppState;
use std::path::Path;
use support::html::*;
use support::server::*;

/// JWT auth; `avatar` for tier1, `premium` for tier2, `document` (several files) for all.
fn jwt_site() -> String {
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
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
roles = ["tier1"]

[[profile]]
name = "premium"
title = "Premium video"
bucket = "pics"
key = "premium/{{user}}/{{uuid}}/${{filename}}"
max_size = "1GiB"
content_types = ["video/mp4", "video/webm"]
roles = ["tier2"]

[[profile]]
name = "document"
title = "Document"
bucket = "docs"
key = "documents/{{user}}/{{uuid}}/${{filename}}"
max_size = "20MiB"
content_types = ["application/pdf"]
multiple = true
"#
    )
}

#[tokio::test]
async fn every_unknown_path_gets_a_styled_page_and_the_api_gets_json() {
    let (_, app) = oneshot_app(config(&jwt_site())).await;
    for uri in [
        "/nope",
        "/upload",
        "/static",
        "/a/b/c?x=1",
        "/uploaded",
        "/uploaded/",
    ] {
        let r = call(&app, get(uri, None)).await;
        let m = r.page_error(404);
        assert!(!m.contains('`'), "{uri}: {m}");
        assert!(
            r.body.contains("/static/style.css") && r.body.contains("class=\"top\""),
            "{uri}: the 404 page is styled like the others"
        );
        assert_security_headers(&r.headers, uri);
    }
    let m = call(&app, get("/uploaded", None)).await.page_error(404);
    assert!(m.contains("upload a file first"), "{m}");
    let m = call(&app, get("/api/v1/nope", None))
        .await
        .json_error(404, "not_found");
    assert!(m.contains("/api/v1/nope"), "{m}");
    // A bare /uploaded asked for JSON answers JSON.
    let mut req = get("/uploaded", None);
    req.headers_mut()
        .insert("accept", "application/json".parse().unwrap());
    call(&app, req).await.json_error(404, "not_found");
}

#[tokio::test]
async fn error_pages_show_who_is_signed_in_and_speak_plainly() {
    let (_, app) = oneshot_app(config(&jwt_site())).await;
    let alice = jwt("alice", &["tier1"]);
    let r = call(&app, get("/upload/premium", Some(&alice))).await;
    let m = r.page_error(403);
    assert!(m.contains("Premium video") && !m.contains('`'), "{m}");
    assert!(
        r.body.contains("Signed in as <strong>alice</strong>"),
        "the 403 page's header shows who is signed in: {}",
        r.body
    );
    let r = call(&app, get("/upload/nope", Some(&alice))).await;
    let m = r.page_error(404);
    assert!(m.contains("“nope”") && !m.contains('`'), "{m}");
    assert!(r.body.contains("Signed in as"), "{}", r.body);
    // Nobody signed in: no name in the header.
    let r = call(&app, get("/nope", None)).await;
    r.page_error(404);
    assert!(text_with_id(&r.body, "signed-in-as").is_none());
    // A forged confirmation link, as a page and as JSON (to a signed-in caller; without
    // signing in, the link alone gets nothing).
    let m = call(&app, get("/uploaded/x.y?key=a", Some(&alice)))
        .await
        .page_error(403);
    assert!(!m.contains('`'), "{m}");
    call(&app, get("/uploaded/x.y?key=a", None))
        .await
        .page_error(401);
    let mut req = get("/uploaded/x.y?key=a", Some(&alice));
    req.headers_mut()
        .insert("accept", "application/json".parse().unwrap());
    call(&app, req).await.json_error(403, "forbidden");
}

#[tokio::test]
async fn the_no_js_input_takes_one_file_because_s3_stores_one_per_post() {
    let (_, app) = oneshot_app(config(&jwt_site())).await;
    let alice = jwt("alice", &["tier1"]);
    let r = call(&app, get("/upload/document", Some(&alice))).await;
    r.expect(200);
    let input = first(&r.body, "input#file").expect("the file input");
    assert!(
        input.attr("multiple").is_none(),
        "an S3 POST form stores only its first file, so the no-JS input must not offer several"
    );
    assert_eq!(
        text_with_id(&r.body, "choose-label").as_deref(),
        Some("Choose a file")
    );
    assert!(
        text_with_id(&r.body, "one-at-a-time").is_some_and(|t| t.contains("one file at a time")),
        "{}",
        r.body
    );
    // app.js offers several files once it runs.
    let r = call(&app, get("/static/app.js", None)).await;
    assert!(r.body.contains("input.multiple = true") && r.body.contains("Choose files"));
    assert!(
        r.body.contains(r#"bar.setAttribute("aria-label""#),
        "progress bars get an accessible name"
    );
}

/// The WCAG contrast ratio of two `#rrggbb` colours.
fn contrast(a: &str, b: &str) -> f64 {
    let lum = |hex: &str| {
        let c: Vec<f64> = (0..3)
            .map(|i| u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap() as f64 / 255.0)
            .map(|c| {
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            })
            .collect();
        0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[test]
fn links_have_at_least_4_5_to_1_contrast_on_every_background() {
    let css =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("static/style.css"))
            .unwrap();
    let var = |name: &str| {
        let at = css
            .find(&format!("--{name}: "))
            .unwrap_or_else(|| panic!("--{name}"));
        css[at + name.len() + 4..at + name.len() + 11].to_string()
    };
    let accent = var("accent");
    for bg in [var("bg"), "#ffffff".into()] {
        let r = contrast(&accent, &bg);
        assert!(r >= 4.5, "links {accent} on {bg}: {r:.2}:1");
    }
    // White text on the accent (buttons) too.
    assert!(contrast("#ffffff", &accent) >= 4.5);
    assert!(contrast(&var("muted"), &var("bg")) >= 4.5);
}

fn oidc_site(oidc: &str) -> String {
    format!(
        "[server]\nstate_secret = \"{STATE_SECRET}\"\n[auth]\nmode = \"oidc\"\n{oidc}\n\
         [[profile]]\nname = \"a\"\nbucket = \"b\"\nkey = \"a/{{user}}/${{filename}}\"\nmax_size = 10\n"
    )
}

#[test]
fn oidc_config_errors_name_the_key() {
    let full = "[auth.oidc]\nissuer = \"https://login.example.com/realms/main\"\n\
                client_id = \"signpost\"\nclient_secret = \"s3cret-value\"";
    let c = config(&oidc_site(full));
    assert!(
        !format!("{c:?}").contains("s3cret-value"),
        "the client secret stays out of Debug"
    );
    let cases = [
        ("", "auth.oidc"),
        (
            &full.replace("https://login", "http://login") as &str,
            "auth.oidc.issuer",
        ),
        (
            &full.replace("issuer = \"https://login.example.com/realms/main\"\n", ""),
            "auth.oidc.issuer",
        ),
        (
            &full.replace("client_id = \"signpost\"\n", ""),
            "auth.oidc.client_id",
        ),
        (
            &full.replace("client_secret = \"s3cret-value\"", ""),
            "auth.oidc.client_secret",
        ),
        (
            &format!("{full}\nscopes = [\"profile\"]"),
            "auth.oidc.scopes",
        ),
        (&format!("{full}\nscopes = [\"a b\"]"), "auth.oidc.scopes"),
        (
            &format!("{full}\nsession_expires = \"5s\""),
            "auth.oidc.session_expires",
        ),
        (&format!("{full}\nflavour = 1"), "auth.oidc.flavour"),
    ];
    for (oidc, key) in cases {
        let e = config_error(&oidc_site(oidc));
        assert_eq!(e.key, key, "{e}");
        assert!(!e.to_string().contains("s3cret-value"), "{e}");
    }
    // The secret may come from the environment instead.
    let text = oidc_site(&full.replace("client_secret = \"s3cret-value\"", ""));
    let c = signpost::server::config::Config::parse(&text, Path::new("."), &|k| {
        (k == "SIGNPOST_OIDC_CLIENT_SECRET").then(|| "from-env".to_string())
    })
    .unwrap();
    match c.auth.mode {
        signpost::server::config::AuthMode::Oidc(o) => assert_eq!(o.client_secret, "from-env"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_provider_stops_the_start_naming_the_issuer() {
    // A port that was free a moment ago: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = oidc_site(&format!(
        "[auth.oidc]\nissuer = \"http://127.0.0.1:{port}\"\nclient_id = \"signpost\"\nclient_secret = \"s\""
    ));
    let e = AppState::new(
        config(&text),
        ONESHOT_URL.into(),
        Some((
            DEAD_S3,
            signpost::Credentials::new("AKIDONESHOTTEST", "oneshot-test-secret-0123456789"),
        )),
    )
    .await
    .err()
    .expect("the server must not start without its provider");
    let m = e.to_string();
    assert!(
        m.contains("auth.oidc.issuer") && m.contains(".well-known/openid-configuration"),
        "{m}"
    );
}
