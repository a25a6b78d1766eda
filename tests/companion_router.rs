//! Uppy Companion's S3 routes and PUT mode through the router (`oneshot`), with no S3: the
//! refusals in words (no profile named, wrong type, too large, another caller's upload, a part
//! out of range), and the signed shapes (a POST form for `/s3/params`, a PUT URL that signs
//! Content-Length, part URLs that sign each part's exact length). The real uploads against
//! Ceph and the embedded store are in `tests/uppy.rs`.

#![cfg(feature = "server")]

mod support;

use axum::body::Body;
use http::Request;
use serde_json::{json, Value};
use signpost::server::testing::UploadToken;
use support::server::*;

const MIB: u64 = 1024 * 1024;

/// alice (tier1) and bob (tier1): a video profile up to 20 MiB, an avatar profile.
fn conf(extra_server: &str) -> String {
    format!(
        r#"
[server]
state_secret = "{STATE_SECRET}"
{extra_server}

[auth]
mode = "tokens"

[[auth.tokens]]
sha256 = "{alice}"
user = "alice"
roles = ["tier1"]

[[auth.tokens]]
sha256 = "{bob}"
user = "bob"
roles = ["tier1"]

[[profile]]
name = "video"
title = "Video"
bucket = "clips"
key = "videos/{{user}}/{{uuid}}/${{filename}}"
min_size = 1
max_size = "20MiB"
content_types = ["video/mp4", "video/webm"]
metadata = {{ kind = "video" }}

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
        alice = sha256_hex("alice-token"),
        bob = sha256_hex("bob-token"),
    )
}

const ALICE: Option<&str> = Some("alice-token");
const BOB: Option<&str> = Some("bob-token");

fn delete(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::delete(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::empty()).expect("request")
}

fn query_of(url: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(url)
        .expect("URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn q_value(url: &str, name: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// An upload id as signpost seals it, for `user` and `key` (the test knows the state secret).
fn token(user: &str, key: &str, size: Option<u64>, part: Option<u64>) -> String {
    UploadToken {
        i: "2~s3-upload-id".into(),
        p: "video".into(),
        s: size,
        c: part,
        e: time::OffsetDateTime::now_utc().unix_timestamp() + 3600,
    }
    .seal(STATE_SECRET.as_bytes(), user, key)
}

const KEY: &str = "videos/alice/u-1/clip.mp4";

#[tokio::test]
async fn params_without_a_profile_names_both_ways_to_give_one() {
    let (_, app) = oneshot_app(config(&conf(""))).await;
    let m = call(
        &app,
        get("/s3/params?filename=a.mp4&type=video%2Fmp4", ALICE),
    )
    .await
    .json_error(400, "bad_request");
    assert!(
        m.contains("metadata") && m.contains("companion_profile"),
        "{m}"
    );
    // Not signed in: 401 before anything else.
    call(
        &app,
        get("/s3/params?filename=a.mp4&type=video%2Fmp4", None),
    )
    .await
    .json_error(401, "unauthorized");
    // A profile the caller's roles do not allow, and one that does not exist.
    call(
        &app,
        get(
            "/s3/params?filename=a&type=image%2Fpng&metadata[profile]=vault",
            ALICE,
        ),
    )
    .await
    .json_error(403, "forbidden");
    call(
        &app,
        get(
            "/s3/params?filename=a&type=image%2Fpng&metadata[profile]=nope",
            ALICE,
        ),
    )
    .await
    .json_error(404, "not_found");
}

#[tokio::test]
async fn params_is_a_post_form_with_the_profiles_key_type_and_size_range() {
    let (_, app) = oneshot_app(config(&conf(r#"companion_profile = "video""#))).await;
    let r = call(
        &app,
        get(
            "/s3/params?filename=..%2F..%2Fclip.mp4&type=video%2Fmp4&metadata[name]=clip.mp4&metadata[size]=1000",
            ALICE,
        ),
    )
    .await;
    r.expect(200);
    let j = r.json();
    assert_eq!(j["method"], "POST");
    assert_eq!(j["url"], format!("{DEAD_S3}/clips"));
    let fields = j["fields"].as_object().expect("fields");
    let key = fields["key"].as_str().expect("key");
    assert!(
        key.starts_with("videos/alice/") && key.ends_with("/clip.mp4"),
        "{key}"
    );
    assert_eq!(j["key"], key);
    assert_eq!(fields["Content-Type"], "video/mp4");
    assert_eq!(fields["success_action_status"], "201");
    assert_eq!(fields["x-amz-meta-kind"], "video");
    let policy = decode_policy(fields["policy"].as_str().expect("policy"));
    let conds = conditions(&policy);
    assert!(
        conds
            .iter()
            .any(|c| c == &format!(r#"["content-length-range",1,{}]"#, 20 * MIB)),
        "{conds:?}"
    );
    assert!(j["expires"].as_i64().expect("expires") > 0);

    // The type and the declared size are checked against the profile first.
    let m = call(
        &app,
        get("/s3/params?filename=a.png&type=image%2Fpng", ALICE),
    )
    .await
    .json_error(400, "bad_request");
    assert!(m.contains("video/mp4"), "{m}");
    let m = call(
        &app,
        get(
            &format!(
                "/s3/params?filename=a.mp4&type=video%2Fmp4&metadata[size]={}",
                21 * MIB
            ),
            ALICE,
        ),
    )
    .await
    .json_error(400, "bad_request");
    assert!(m.contains("larger than the 20 MiB"), "{m}");
    let m = call(
        &app,
        get(
            "/s3/params?filename=a.mp4&type=video%2Fmp4&metadata[size]=lots",
            ALICE,
        ),
    )
    .await
    .json_error(400, "bad_request");
    assert!(m.contains("size"), "{m}");
    call(&app, get("/s3/params?type=video%2Fmp4", ALICE))
        .await
        .json_error(400, "bad_request");
}

#[tokio::test]
async fn put_mode_signs_type_and_length_for_a_key_from_the_template() {
    let (_, app) = oneshot_app(config(&conf(""))).await;
    let body = json!({"method": "PUT", "profile": "video", "filename": "my clip.mp4",
                      "content_type": "video/mp4", "size": 12345});
    let r = call(&app, post_json("/api/v1/presign", ALICE, &body)).await;
    r.expect(200);
    let j = r.json();
    assert_eq!(j["method"], "PUT");
    let key = j["key"].as_str().expect("key");
    assert!(
        key.starts_with("videos/alice/") && key.ends_with("/my clip.mp4"),
        "{key}"
    );
    assert_eq!(j["bucket"], "clips");
    let url = j["url"].as_str().expect("url");
    let signed = q_value(url, "X-Amz-SignedHeaders").expect("signed headers");
    assert!(
        signed.contains("content-length")
            && signed.contains("content-type")
            && signed.contains("x-amz-meta-kind"),
        "{signed}"
    );
    assert_eq!(j["headers"]["Content-Type"], "video/mp4");
    assert_eq!(j["headers"]["x-amz-meta-kind"], "video");
    assert!(
        j["headers"].get("Content-Length").is_none(),
        "browsers may not set it"
    );

    for (body, words) in [
        (
            json!({"method": "PUT", "profile": "video", "filename": "a.mp4", "content_type": "video/mp4"}),
            "size",
        ),
        (
            json!({"method": "PUT", "profile": "video", "filename": "a.mp4", "content_type": "video/mp4", "size": 21 * MIB}),
            "larger than",
        ),
        (
            json!({"method": "PUT", "profile": "video", "filename": "a.png", "content_type": "image/png", "size": 5}),
            "video/mp4",
        ),
        (
            json!({"method": "PUT", "profile": "video", "key": "videos/alice/x", "filename": "a.mp4", "content_type": "video/mp4", "size": 5}),
            "template",
        ),
        (
            json!({"method": "GET", "profile": "video", "filename": "a.mp4", "content_type": "video/mp4", "size": 5}),
            "PUT",
        ),
        (
            json!({"method": "PUT", "profile": "video", "content_type": "video/mp4", "size": 5}),
            "filename",
        ),
    ] {
        let m = call(&app, post_json("/api/v1/presign", ALICE, &body))
            .await
            .json_error(400, "bad_request");
        assert!(m.contains(words), "{body}: {m}");
    }
    call(
        &app,
        post_json(
            "/api/v1/presign",
            ALICE,
            &json!({"method": "PUT", "profile": "vault", "filename": "a", "content_type": "x/y", "size": 5}),
        ),
    )
    .await
    .json_error(403, "forbidden");
}

#[tokio::test]
async fn part_urls_sign_each_parts_exact_length_when_the_size_is_known() {
    let (_, app) = oneshot_app(config(&conf(""))).await;
    let size = 11 * MIB + 3;
    let id = token("alice", KEY, Some(size), Some(5 * MIB));
    let key = q(KEY);
    for (n, len) in [(1, 5 * MIB), (2, 5 * MIB), (3, MIB + 3)] {
        let r = call(
            &app,
            get(&format!("/s3/multipart/{id}/{n}?key={key}"), ALICE),
        )
        .await;
        r.expect(200);
        let j = r.json();
        let url = j["url"].as_str().expect("url");
        assert!(
            url.starts_with(&format!("{DEAD_S3}/clips/videos/alice/u-1/clip.mp4?")),
            "{url}"
        );
        assert_eq!(
            q_value(url, "partNumber").as_deref(),
            Some(n.to_string().as_str())
        );
        assert_eq!(q_value(url, "uploadId").as_deref(), Some("2~s3-upload-id"));
        let signed = q_value(url, "X-Amz-SignedHeaders").expect("signed");
        assert!(
            signed.contains("content-length"),
            "part {n} ({len} bytes): {signed}"
        );
        assert!(j["expires"].as_u64().expect("expires") > 0);
    }
    let m = call(&app, get(&format!("/s3/multipart/{id}/4?key={key}"), ALICE))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("has 3 parts"), "{m}");
    for bad in ["0", "x", "10001"] {
        call(
            &app,
            get(&format!("/s3/multipart/{id}/{bad}?key={key}"), ALICE),
        )
        .await
        .json_error(400, "bad_request");
    }
    let r = call(
        &app,
        get(
            &format!("/s3/multipart/{id}/batch?key={key}&partNumbers=1,3"),
            ALICE,
        ),
    )
    .await;
    r.expect(200);
    let urls = r.json()["presignedUrls"].clone();
    assert_eq!(urls.as_object().expect("object").len(), 2, "{urls}");
    assert!(urls["3"].as_str().expect("url 3").contains("partNumber=3"));
    call(
        &app,
        get(
            &format!("/s3/multipart/{id}/batch?key={key}&partNumbers=1,9"),
            ALICE,
        ),
    )
    .await
    .json_error(400, "bad_request");
    call(
        &app,
        get(&format!("/s3/multipart/{id}/batch?key={key}"), ALICE),
    )
    .await
    .json_error(400, "bad_request");
}

#[tokio::test]
async fn without_a_size_part_numbers_are_bounded_by_max_size_and_lengths_are_free() {
    let (_, app) = oneshot_app(config(&conf(""))).await;
    let id = token("alice", KEY, None, None);
    let key = q(KEY);
    let r = call(&app, get(&format!("/s3/multipart/{id}/4?key={key}"), ALICE)).await;
    r.expect(200);
    let url = r.json()["url"].as_str().expect("url").to_string();
    let signed = q_value(&url, "X-Amz-SignedHeaders").expect("signed");
    assert!(!signed.contains("content-length"), "{signed}");
    // 20 MiB over 5 MiB parts: at most 4.
    let m = call(&app, get(&format!("/s3/multipart/{id}/5?key={key}"), ALICE))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("at most 4 parts"), "{m}");
}

#[tokio::test]
async fn another_callers_upload_or_another_key_is_403() {
    let (_, app) = oneshot_app(config(&conf(""))).await;
    let id = token("alice", KEY, Some(11 * MIB), Some(5 * MIB));
    let key = q(KEY);
    let other_key = q("videos/bob/u-2/clip.mp4");
    let parts = json!({"parts": [{"PartNumber": 1, "ETag": "\"e\""}]});
    let requests = [
        get(&format!("/s3/multipart/{id}/1?key={key}"), BOB),
        get(
            &format!("/s3/multipart/{id}/batch?key={key}&partNumbers=1"),
            BOB,
        ),
        get(&format!("/s3/multipart/{id}?key={key}"), BOB),
        delete(&format!("/s3/multipart/{id}?key={key}"), BOB),
        post_json(
            &format!("/s3/multipart/{id}/complete?key={key}"),
            BOB,
            &parts,
        ),
        get(&format!("/s3/multipart/{id}/1?key={other_key}"), ALICE),
        get(&format!("/s3/multipart/{}/1?key={key}", tamper(&id)), ALICE),
        get(&format!("/s3/multipart/not-a-token/1?key={key}"), ALICE),
    ];
    for req in requests {
        let what = format!("{} {}", req.method(), req.uri());
        let m = call(&app, req).await.json_error(403, "forbidden");
        assert!(m.contains("not started by you"), "{what}: {m}");
    }
    // Without the key, a 400 that says how to give it.
    let m = call(&app, get(&format!("/s3/multipart/{id}/1"), ALICE))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("?key="), "{m}");
}

#[tokio::test]
async fn complete_checks_its_body_before_asking_s3() {
    let (_, app) = oneshot_app(config(&conf(""))).await;
    let id = token("alice", KEY, Some(11 * MIB), Some(5 * MIB));
    let uri = format!("/s3/multipart/{id}/complete?key={}", q(KEY));
    for (body, words) in [
        (json!({"parts": []}), "empty"),
        (
            json!({"parts": [{"PartNumber": 2, "ETag": "a"}, {"PartNumber": 1, "ETag": "b"}]}),
            "ascending",
        ),
        (
            json!({"parts": [{"PartNumber": 7, "ETag": "a"}]}),
            "out of range",
        ),
        (json!({"parts": "all of them"}), "JSON like"),
    ] {
        let m = call(&app, post_json(&uri, ALICE, &body))
            .await
            .json_error(400, "bad_request");
        assert!(m.contains(words), "{body}: {m}");
    }
    // With valid parts, the server asks S3 for the parts; a dead S3 is a 502, not a 500.
    let m = call(
        &app,
        post_json(
            &uri,
            ALICE,
            &json!({"parts": [{"PartNumber": 1, "ETag": "\"a\""}]}),
        ),
    )
    .await
    .json_error(502, "storage_unavailable");
    assert!(!m.contains("X-Amz-Signature"), "{m}");
    // A complete body may hold 10 000 parts, beyond server.max_body (64 KiB).
    let many: Vec<Value> = (1..=3000)
        .map(|n| json!({"PartNumber": n, "ETag": "\"0123456789abcdef0123456789abcdef\""}))
        .collect();
    let big = json!({ "parts": many });
    assert!(big.to_string().len() > 64 * 1024);
    let m = call(&app, post_json(&uri, ALICE, &big))
        .await
        .json_error(400, "bad_request");
    assert!(m.contains("out of range"), "{m}");
}

#[tokio::test]
async fn create_checks_the_file_before_asking_s3() {
    let (_, app) = oneshot_app(config(&conf(""))).await;
    for (body, status, words) in [
        (
            json!({"filename": "a.mp4", "type": "video/mp4", "metadata": {}}),
            400,
            "companion_profile",
        ),
        (
            json!({"filename": "a.png", "type": "image/png", "metadata": {"profile": "video"}}),
            400,
            "video/mp4",
        ),
        (
            json!({"filename": "a.mp4", "type": "video/mp4", "metadata": {"profile": "video", "size": 21 * MIB}}),
            400,
            "larger than",
        ),
        (
            json!({"filename": "a.mp4", "type": "video/mp4", "metadata": {"profile": "video", "size": "12", "partSize": 1024}}),
            200,
            "",
        ),
        (
            json!({"filename": "a.mp4", "type": "video/mp4", "metadata": {"profile": "video", "size": 11 * MIB, "partSize": 1024}}),
            400,
            "at least 5 MiB",
        ),
        (
            json!({"filename": "", "type": "video/mp4", "metadata": {"profile": "video"}}),
            400,
            "filename",
        ),
        (
            json!({"filename": "a.mp4", "metadata": {"profile": "video"}}),
            400,
            "type",
        ),
        (
            json!({"filename": "a.mp4", "type": "video/mp4", "metadata": {"profile": 3}}),
            400,
            "profile",
        ),
    ] {
        let r = call(&app, post_json("/s3/multipart", ALICE, &body)).await;
        if status == 200 {
            // Checks passed: the dead S3 answers next.
            r.json_error(502, "storage_unavailable");
        } else {
            let m = r.json_error(status, "bad_request");
            assert!(m.contains(words), "{body}: {m}");
        }
    }
}

#[tokio::test]
async fn config_names_the_companion_keys_and_the_csp_allows_local_previews() {
    let e = config_error(&conf(r#"companion_profile = "movies""#));
    assert_eq!(e.key, "server.companion_profile");
    assert!(e.message.contains("video, avatar, vault"), "{e}");
    for bad in ["1MiB", "6GiB"] {
        let e = config_error(&conf(&format!(r#"multipart_threshold = "{bad}""#)));
        assert_eq!(e.key, "server.multipart_threshold", "{bad}");
    }
    let c = config(&conf(r#"multipart_threshold = "8MiB""#));
    assert_eq!(c.server.multipart_threshold, 8 * MIB);
    assert_eq!(config(&conf("")).server.multipart_threshold, 100 * MIB);

    let (_, app) = oneshot_app(config(&conf(""))).await;
    let r = call(&app, get("/healthz", None)).await;
    let csp = r.header("content-security-policy").expect("csp");
    assert!(csp.contains("img-src 'self' data: blob:"), "{csp}");
}
