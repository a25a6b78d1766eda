//! Uppy Companion's S3 routes and PUT mode through the router (`oneshot`), with no S3: the
//! refusals in words (no profile named, wrong type, too large), and the signed shapes (a POST
//! form for `/s3/params`, a PUT URL that signs Content-Length), and the config and CSP the
//! page needs. Multipart uploads are in `tests/companion_multipart.rs`; the real uploads
//! against Ceph and the embedded store are in `tests/uppy.rs`.

#![cfg(feature = "server")]

mod support;

use serde_json::json;
use support::companion::*;
use support::server::*;

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
