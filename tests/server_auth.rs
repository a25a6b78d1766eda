//! Who may do what on the upload server, through its router (oneshot): no token, a bad or
//! expired JWT, or an unknown static token is a 401 that says how to sign in; a caller of the
//! wrong tier gets a 403 naming the tier needed (as a page and as JSON); download links only
//! for the caller's own keys; static tokens are stored hashed; the cookie carries the token.

#![cfg(feature = "server")]

mod support;

use signpost::server::testing::UploadState;
use support::server::*;
use time::OffsetDateTime;

const COOKIE: &str = "signpost_token";

/// JWT auth (HS256) with a cookie; `avatar` for tier1 and tier2, `premium` for tier2 only.
fn jwt_config(extra_auth: &str) -> String {
    format!(
        r#"
[server]
state_secret = "{STATE_SECRET}"

[auth]
mode = "jwt"
cookie = "{COOKIE}"
{extra_auth}

[auth.jwt]
hs256_secret = "{JWT_SECRET}"

[[profile]]
name = "avatar"
title = "Avatar"
bucket = "pics"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
roles = ["tier1", "tier2"]

[[profile]]
name = "premium"
title = "Premium video"
bucket = "pics"
key = "premium/{{user}}/{{uuid}}/${{filename}}"
max_size = "1GiB"
content_types = ["video/mp4", "video/webm"]
roles = ["tier2"]
"#
    )
}

/// Static tokens (stored as SHA-256), with the same cookie.
fn tokens_config() -> String {
    format!(
        r#"
{auth}
[[profile]]
name = "avatar"
bucket = "pics"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
"#,
        auth = tokens_auth(
            Some(COOKIE),
            &[("carol-static-token-1", "carol", &["tier1"])]
        ),
    )
}

fn png_body() -> serde_json::Value {
    sign_body("me.png", "image/png", 1000)
}

fn with_cookie(
    mut req: http::Request<axum::body::Body>,
    cookie: &str,
) -> http::Request<axum::body::Body> {
    req.headers_mut()
        .insert("cookie", cookie.parse().expect("cookie header"));
    req
}

#[tokio::test]
async fn without_a_token_every_route_but_health_is_401_and_says_how_to_sign_in() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    for uri in ["/", "/upload/avatar", "/upload/premium", "/upload/nope"] {
        // Pages speak to people: plain words, no header or cookie names (issue 12).
        let m = call(&app, get(uri, None)).await.page_error(401);
        assert!(
            m.contains("not signed in") && !m.contains("Authorization") && !m.contains('`'),
            "{uri}: {m}"
        );
    }
    let m = call(&app, post_json("/api/v1/sign/avatar", None, &png_body()))
        .await
        .json_error(401, "unauthorized");
    assert!(
        m.contains("sign in first") && m.contains("Authorization: Bearer") && m.contains(COOKIE),
        "{m}"
    );
    call(&app, get("/api/v1/download-url?key=avatars/x/y", None))
        .await
        .json_error(401, "unauthorized");
    // An empty bearer or cookie is no token either.
    call(&app, get("/upload/avatar", Some("")))
        .await
        .page_error(401);
    call(
        &app,
        with_cookie(get("/upload/avatar", None), &format!("{COOKIE}=")),
    )
    .await
    .page_error(401);
    call(&app, get("/healthz", None)).await.expect(200);
}

#[tokio::test]
async fn a_jwt_that_does_not_verify_is_401_with_the_reason() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let hs = |alg: jsonwebtoken::Algorithm, claims: serde_json::Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    // `alg: none`, hand-made.
    let none = {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let c = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"sub": "alice", "roles": ["tier2"], "exp": now + 600}).to_string(),
        );
        format!("{h}.{c}.")
    };
    // A valid token with its payload swapped for one granting more.
    let swapped = {
        let good = jwt("alice", &["tier1"]);
        let more = jwt("alice", &["tier2"]);
        let g: Vec<&str> = good.split('.').collect();
        let m: Vec<&str> = more.split('.').collect();
        format!("{}.{}.{}", g[0], m[1], g[2])
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another secret",
            jwt_with(
                "some-other-secret-0123456789abcdefghij",
                "alice",
                &["tier1"],
                600,
            ),
            "signature is wrong",
        ),
        ("swapped payload", swapped, "signature is wrong"),
        ("garbage", "not-a-jwt".into(), "not a JWT"),
        ("three garbage parts", "a.b.c".into(), "not a JWT"),
        ("alg none", none, "refused"),
        (
            "another algorithm",
            hs(
                jsonwebtoken::Algorithm::HS512,
                serde_json::json!({"sub": "alice", "exp": now + 600}),
            ),
            "wrong algorithm",
        ),
        (
            "no exp",
            hs(
                jsonwebtoken::Algorithm::HS256,
                serde_json::json!({"sub": "alice"}),
            ),
            "`exp`",
        ),
        (
            "no sub",
            hs(
                jsonwebtoken::Algorithm::HS256,
                serde_json::json!({"roles": ["tier1"], "exp": now + 600}),
            ),
            "`sub`",
        ),
        (
            "empty sub",
            hs(
                jsonwebtoken::Algorithm::HS256,
                serde_json::json!({"sub": "", "exp": now + 600}),
            ),
            "`sub`",
        ),
        (
            "not yet valid",
            hs(
                jsonwebtoken::Algorithm::HS256,
                serde_json::json!({"sub": "alice", "roles": ["tier1"], "exp": now + 7200, "nbf": now + 3600}),
            ),
            "not valid yet",
        ),
    ];
    for (what, token, reason) in cases {
        let r = call(
            &app,
            post_json("/api/v1/sign/avatar", Some(&token), &png_body()),
        )
        .await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        let m = r.json_error(401, "unauthorized");
        assert!(m.contains("refused") && m.contains(reason), "{what}: {m}");
        // Pages give the same reason in plain words, without backticks (issue 12).
        let m = call(&app, get("/upload/avatar", Some(&token)))
            .await
            .page_error(401);
        assert!(m.contains(&reason.replace('`', "")), "{what}: {m}");
        assert!(!m.contains('`'), "{what}: {m}");
    }
}

#[tokio::test]
async fn an_expired_jwt_is_401_and_says_so() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    // Past the 30 s leeway.
    let old = jwt_with(JWT_SECRET, "alice", &["tier1"], -120);
    let m = call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&old), &png_body()),
    )
    .await
    .json_error(401, "unauthorized");
    assert!(m.contains("expired") && m.contains("sign in again"), "{m}");
    let m = call(&app, get("/", Some(&old))).await.page_error(401);
    assert!(m.contains("expired"), "{m}");
    // Within the leeway it still works (clock skew between issuer and server).
    let just = jwt_with(JWT_SECRET, "alice", &["tier1"], -5);
    call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&just), &png_body()),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn a_tier1_caller_on_a_tier2_profile_is_403_in_words() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    let alice = jwt("alice", &["tier1"]);
    let bob = jwt("bob", &["tier2"]);
    let nobody = jwt("nobody", &[]);
    // The page: "403 Forbidden" and what is needed.
    let r = call(&app, get("/upload/premium", Some(&alice))).await;
    let m = r.page_error(403);
    assert!(
        m.contains("tier1") && m.contains("tier2") && m.contains("Premium video"),
        "{m}"
    );
    assert!(r.body.contains("403 Forbidden"));
    assert_security_headers(&r.headers, "403 page");
    // The API: JSON.
    let m = call(
        &app,
        post_json(
            "/api/v1/sign/premium",
            Some(&alice),
            &sign_body("a.mp4", "video/mp4", 10),
        ),
    )
    .await
    .json_error(403, "forbidden");
    assert!(m.contains("needs one of: tier2"), "{m}");
    let m = call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&nobody), &png_body()),
    )
    .await
    .json_error(403, "forbidden");
    assert!(m.contains("no role"), "{m}");
    // The right tier gets in; the index lists only what each may use.
    call(
        &app,
        post_json(
            "/api/v1/sign/premium",
            Some(&bob),
            &sign_body("a.mp4", "video/mp4", 10),
        ),
    )
    .await
    .expect(200);
    call(&app, get("/upload/premium", Some(&bob)))
        .await
        .expect(200);
    let idx = call(&app, get("/", Some(&alice))).await;
    assert!(idx.body.contains("/upload/avatar") && !idx.body.contains("/upload/premium"));
    assert!(idx.body.contains("Signed in as <strong>alice</strong>"));
    let idx = call(&app, get("/", Some(&nobody))).await;
    idx.expect(200);
    assert!(idx.body.contains("may not use any upload"), "{}", idx.body);
    // A download link for a tier2 profile's key is refused to tier1 even under its own name.
    call(
        &app,
        get(
            &format!("/api/v1/download-url?key={}", q("premium/alice/u/a.mp4")),
            Some(&alice),
        ),
    )
    .await
    .json_error(403, "forbidden");
}

#[tokio::test]
async fn roles_and_user_may_come_from_configured_claims() {
    let (_, app) = oneshot_app(config(&jwt_config(
        "user_claim = \"email\"\nroles_claim = \"tier\"",
    )))
    .await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({"sub": "123", "email": "dana@example.com", "tier": "tier2", "exp": now + 600}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let r = call(
        &app,
        post_json(
            "/api/v1/sign/premium",
            Some(&token),
            &sign_body("a.mp4", "video/mp4", 10),
        ),
    )
    .await;
    r.expect(200);
    let s = Signed::parse(&r.body);
    assert!(s.key.starts_with("premium/dana@example.com/"), "{}", s.key);
    // The standard claim names are then not used.
    let plain = jwt("erin", &["tier2"]);
    let m = call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&plain), &png_body()),
    )
    .await
    .json_error(401, "unauthorized");
    assert!(m.contains("`email`"), "{m}");
}

#[tokio::test]
async fn download_links_for_ones_own_keys_only() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    let alice = jwt("alice", &["tier1"]);
    let bob = jwt("bob", &["tier2"]);
    let r = call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&alice), &png_body()),
    )
    .await;
    let key = Signed::parse(&r.body).key;
    assert!(key.starts_with("avatars/alice/"), "{key}");
    let uri = format!("/api/v1/download-url?key={}", q(&key));
    let r = call(&app, get(&uri, Some(&alice))).await;
    r.expect(200);
    let url = r.json()["url"].as_str().unwrap().to_string();
    assert!(
        url.contains(&format!("/pics/{key}?")) && url.contains("X-Amz-Signature="),
        "{url}"
    );
    // Bob may not; nor a name that merely starts like alice's.
    let m = call(&app, get(&uri, Some(&bob)))
        .await
        .json_error(403, "forbidden");
    assert!(m.contains("outside your areas"), "{m}");
    let alice2 = jwt("alice2", &["tier1"]);
    call(&app, get(&uri, Some(&alice2)))
        .await
        .json_error(403, "forbidden");
    call(
        &app,
        get(
            &format!("/api/v1/download-url?key={}", q("avatars/alice2/u/x.png")),
            Some(&alice),
        ),
    )
    .await
    .json_error(403, "forbidden");
    // Nor can alice climb out of her folder.
    call(
        &app,
        get(
            &format!(
                "/api/v1/download-url?key={}",
                q("avatars/alice/../bob/u/x.png")
            ),
            Some(&alice),
        ),
    )
    .await
    .json_error(403, "forbidden");
}

#[tokio::test]
async fn a_users_id_cannot_climb_out_of_the_key_prefix() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    for sub in ["../bob", "bob/../../x", "..", "/etc", "a\\b", "bob\u{0}x"] {
        let t = jwt(sub, &["tier1"]);
        let r = call(
            &app,
            post_json("/api/v1/sign/avatar", Some(&t), &png_body()),
        )
        .await;
        r.expect(200);
        let key = Signed::parse(&r.body).key;
        let segs: Vec<&str> = key.split('/').collect();
        assert_eq!(segs.len(), 4, "{sub:?} → {key}");
        assert_eq!(segs[0], "avatars");
        assert!(
            !segs[1].is_empty() && segs[1] != "." && segs[1] != ".." && segs[1] != "bob",
            "{sub:?} → {key}"
        );
        assert!(
            !key.contains('\\') && !key.chars().any(char::is_control),
            "{key:?}"
        );
    }
}

#[tokio::test]
async fn distinct_users_never_share_a_prefix() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    let bob = jwt("bob", &["tier1"]);
    let r = call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&bob), &png_body()),
    )
    .await;
    let key = Signed::parse(&r.body).key;
    for other in ["bob.", " bob", "bob ", "bob\u{200B}", ".bob"] {
        let t = jwt(other, &["tier1"]);
        let uri = format!("/api/v1/download-url?key={}", q(&key));
        call(&app, get(&uri, Some(&t)))
            .await
            .json_error(403, "forbidden");
    }
}

#[tokio::test]
async fn static_tokens_are_checked_by_their_hash() {
    let cfg = config(&tokens_config());
    assert!(
        !format!("{cfg:?}").contains("carol-static-token-1"),
        "the token itself is not in the config"
    );
    let (_, app) = oneshot_app(cfg).await;
    let r = call(
        &app,
        post_json(
            "/api/v1/sign/avatar",
            Some("carol-static-token-1"),
            &png_body(),
        ),
    )
    .await;
    r.expect(200);
    assert!(Signed::parse(&r.body).key.starts_with("avatars/carol/"));
    // Lower-case scheme, as some clients send it.
    let req = http::Request::get("/upload/avatar")
        .header("authorization", "bearer carol-static-token-1")
        .body(axum::body::Body::empty())
        .unwrap();
    call(&app, req).await.expect(200);
    // Wrong token, a near miss, the stored hash itself, another scheme: 401.
    for bad in [
        "carol-static-token-2",
        "carol-static-token-",
        "CAROL-STATIC-TOKEN-1",
    ] {
        let m = call(
            &app,
            post_json("/api/v1/sign/avatar", Some(bad), &png_body()),
        )
        .await
        .json_error(401, "unauthorized");
        assert!(m.contains("unknown token"), "{bad}: {m}");
    }
    let hash = sha256_hex("carol-static-token-1");
    call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&hash), &png_body()),
    )
    .await
    .json_error(401, "unauthorized");
    let req = http::Request::get("/upload/avatar")
        .header("authorization", "Basic Y2Fyb2w6eA==")
        .body(axum::body::Body::empty())
        .unwrap();
    call(&app, req).await.page_error(401);
    // The cookie works for static tokens as well.
    let req = with_cookie(get("/", None), &format!("{COOKIE}=carol-static-token-1"));
    let r = call(&app, req).await;
    r.expect(200);
    assert!(r.body.contains("carol"));
}

#[tokio::test]
async fn the_cookie_carries_the_token_for_pages_and_the_api() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    let alice = jwt("alice", &["tier1"]);
    // Among other cookies, in any position, quoted or not.
    for cookie in [
        format!("{COOKIE}={alice}"),
        format!("theme=dark; {COOKIE}={alice}; lang=en"),
        format!("{COOKIE}=\"{alice}\""),
    ] {
        call(&app, with_cookie(get("/upload/avatar", None), &cookie))
            .await
            .expect(200);
        let r = call(
            &app,
            with_cookie(post_json("/api/v1/sign/avatar", None, &png_body()), &cookie),
        )
        .await;
        r.expect(200);
        assert!(Signed::parse(&r.body).key.starts_with("avatars/alice/"));
    }
    // Another cookie's name does not count; a bad token in the cookie is refused.
    call(
        &app,
        with_cookie(get("/upload/avatar", None), &format!("x{COOKIE}={alice}")),
    )
    .await
    .page_error(401);
    call(
        &app,
        with_cookie(get("/upload/avatar", None), &format!("{COOKIE}=nope")),
    )
    .await
    .page_error(401);
    let old = jwt_with(JWT_SECRET, "alice", &["tier1"], -120);
    let m = call(
        &app,
        with_cookie(get("/", None), &format!("{COOKIE}={old}")),
    )
    .await
    .page_error(401);
    assert!(m.contains("expired"), "{m}");
    // The header wins over the cookie.
    let bob = jwt("bob", &["tier2"]);
    let r = call(
        &app,
        with_cookie(
            post_json("/api/v1/sign/avatar", Some(&bob), &png_body()),
            &format!("{COOKIE}={alice}"),
        ),
    )
    .await;
    assert!(Signed::parse(&r.body).key.starts_with("avatars/bob/"));
    // Without a configured cookie, cookies are ignored.
    let (_, plain) = oneshot_app(config(
        &jwt_config("").replace(&format!("cookie = \"{COOKIE}\"\n"), ""),
    ))
    .await;
    let m = call(
        &plain,
        with_cookie(get("/", None), &format!("{COOKIE}={alice}")),
    )
    .await
    .page_error(401);
    assert!(!m.contains(COOKIE), "{m}");
}

#[tokio::test]
async fn an_upload_link_is_only_confirmed_for_its_own_account() {
    let (_, app) = oneshot_app(config(&jwt_config(""))).await;
    let alice = jwt("alice", &["tier1"]);
    let bob = jwt("bob", &["tier2"]);
    let r = call(
        &app,
        post_json("/api/v1/sign/avatar", Some(&alice), &png_body()),
    )
    .await;
    let s = Signed::parse(&r.body);
    let path = s.uploaded_url.strip_prefix(ONESHOT_URL).unwrap();
    let uri = format!("{path}?key={}", q(&s.key));
    let m = call(&app, get(&uri, Some(&bob))).await.page_error(403);
    assert!(m.contains("another account"), "{m}");
    // Alice herself passes every check and reaches the storage lookup (dead here: 502).
    call(&app, get(&uri, Some(&alice))).await.page_error(502);
    // A state naming alice but sealed by someone else is refused before anything.
    let forged = UploadState {
        p: "avatar".into(),
        u: "alice".into(),
        k: "avatars/".into(),
        e: OffsetDateTime::now_utc().unix_timestamp() + 600,
    }
    .seal(b"not the server's secret");
    call(
        &app,
        get(
            &format!("/uploaded/{forged}?key={}", q(&s.key)),
            Some(&alice),
        ),
    )
    .await
    .page_error(403);
}
