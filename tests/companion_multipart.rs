//! Uppy Companion's multipart routes through the router (`oneshot`), with no S3: part URLs
//! that sign each part's exact length, part numbers in range, refusals in words (another
//! caller's upload, another key), and the checks on create and complete before S3 is asked.
//! The real uploads against Ceph and the embedded store are in `tests/uppy.rs`.

#![cfg(feature = "server")]

mod support;

use serde_json::{json, Value};
use support::companion::*;
use support::server::*;

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
