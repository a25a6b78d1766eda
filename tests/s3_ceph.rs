//! The library against a real S3 (Ceph radosgw): forms signed by signpost are accepted and
//! stored byte for byte; forged, expired or out-of-policy forms are refused with nothing
//! stored; presigned PUT, GET, HEAD and DELETE URLs work, and expired ones do not; and
//! (in `s3_ceph/requests.rs`) signed PUT headers, ListObjectsV2 and multipart uploads.
//!
//! Every refusal test first shows that the untampered form is accepted, so a refusal can
//! only come from the one thing the test changed. Each test works under its own key
//! prefix, so they run in parallel. Needs `SIGNPOST_TEST_*` (see `scripts/test.sh`).

#![cfg(feature = "integration")]

mod support;

#[path = "s3_ceph/requests.rs"]
mod requests;

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use signpost::{GetOptions, Method, PostPolicy, PostPolicyBuilder, PresignedPost, UrlRequest};
use support::http::{client, post_fields, post_form, post_multipart};
use support::s3::{unique_prefix, S3Env};
use time::OffsetDateTime;

/// Not valid UTF-8 and not text, so any re-encoding on the way shows.
const BYTES: &[u8] = b"signpost \x00\x01\xfe\xff \r\n end";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Builds and signs `builder` as of now.
fn sign(env: &S3Env, builder: PostPolicyBuilder) -> PresignedPost {
    let now = now();
    let policy = builder.build(now).expect("policy builds");
    env.signer().sign_post(&policy, now).expect("policy signs")
}

/// `fields` with `name`'s value replaced (the field must be there).
fn replace_field(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    assert!(
        fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)),
        "the form has no {name} field: {fields:?}"
    );
    fields
        .iter()
        .map(|(n, v)| {
            let v = if n.eq_ignore_ascii_case(name) {
                value.to_string()
            } else {
                v.clone()
            };
            (n.clone(), v)
        })
        .collect()
}

/// `fields` followed by `name=value`.
fn add_field(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out = fields.to_vec();
    out.push((name.to_string(), value.to_string()));
    out
}

/// Posts and asserts a 2xx/3xx answer and `bytes` stored at `bucket`/`key`; returns the
/// status and body.
async fn assert_stored(
    env: &S3Env,
    url: &str,
    fields: &[(String, String)],
    file_name: &str,
    bytes: &[u8],
    at: (&str, &str),
) -> (StatusCode, String) {
    let (status, body) = post_fields(url, fields, file_name, bytes, None).await;
    assert!(
        status.is_success() || status.is_redirection(),
        "expected the upload to be accepted, got {status}: {body}"
    );
    let (bucket, key) = at;
    assert_eq!(
        env.object_bytes(bucket, key).await.as_deref(),
        Some(bytes),
        "{bucket}/{key} after an accepted upload ({status}: {body})"
    );
    (status, body)
}

/// Posts and asserts a 4xx/5xx answer and nothing at `bucket`/`key`.
async fn assert_refused(
    env: &S3Env,
    url: &str,
    fields: &[(String, String)],
    file_name: &str,
    bytes: &[u8],
    at: (&str, &str),
) {
    let (status, body) = post_fields(url, fields, file_name, bytes, None).await;
    // Shown with --nocapture: which refusal the server chose.
    eprintln!("refused {file_name}: {status}: {body}");
    assert!(
        status.is_client_error() || status.is_server_error(),
        "expected the upload to be refused, got {status}: {body}"
    );
    let (bucket, key) = at;
    assert!(
        !env.object_exists(bucket, key).await,
        "{bucket}/{key} was stored although the upload was refused ({status}: {body})"
    );
}

/// The response header `name`, as text.
fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

// ---------------------------------------------------------------------------------------
// Accepted
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_signed_form_uploads_and_reads_back_byte_for_byte() {
    let env = S3Env::from_env();
    let key = format!("{}exact.bin", unique_prefix("valid"));
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key(&key)
            .content_length_range(1, 1024)
            .expires_in(Duration::from_secs(300)),
    );
    let (status, body) = post_form(&post, "whatever.bin", BYTES, None).await;
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &key).await.as_deref(),
        Some(BYTES)
    );
}

#[tokio::test]
async fn filename_placeholder_stores_under_prefix_and_file_name() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("filename");
    let post = sign(&env, PostPolicy::builder(&env.bucket_a).key_prefix(&prefix));
    assert_eq!(
        post.field("key"),
        Some(format!("{prefix}${{filename}}").as_str())
    );
    let name = "quarterly report (final).pdf";
    assert_stored(
        &env,
        &post.url,
        &post.fields,
        name,
        BYTES,
        (&env.bucket_a, &format!("{prefix}{name}")),
    )
    .await;
    assert!(!env.object_exists(&env.bucket_a, &prefix).await);
}

#[tokio::test]
async fn metadata_is_stored_and_returned() {
    let env = S3Env::from_env();
    let key = format!("{}meta.txt", unique_prefix("meta"));
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key(&key)
            .meta("owner", "alice")
            .meta("Purpose", "signpost test")
            .content_type("text/plain"),
    );
    assert_stored(
        &env,
        &post.url,
        &post.fields,
        "m.txt",
        BYTES,
        (&env.bucket_a, &key),
    )
    .await;

    let url = env
        .signer()
        .presign(
            &UrlRequest::new(Method::Head, &env.bucket_a, &key, Duration::from_secs(60)),
            now(),
        )
        .expect("presign HEAD");
    let resp = client().head(&url).send().await.expect("HEAD sent");
    assert_eq!(resp.status(), StatusCode::OK, "HEAD {url}");
    assert_eq!(header(&resp, "x-amz-meta-owner"), Some("alice"));
    assert_eq!(header(&resp, "x-amz-meta-purpose"), Some("signpost test"));
    assert_eq!(header(&resp, "content-type"), Some("text/plain"));
    assert_eq!(
        header(&resp, "content-length"),
        Some(BYTES.len().to_string().as_str())
    );
}

#[tokio::test]
async fn status_201_answers_with_post_response_xml() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("status201");
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key_prefix(&prefix)
            .success_action_status(201),
    );
    let key = format!("{prefix}doc.txt");
    let (status, body) = assert_stored(
        &env,
        &post.url,
        &post.fields,
        "doc.txt",
        BYTES,
        (&env.bucket_a, &key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.contains("<PostResponse"), "{body}");
    assert!(body.contains(&format!("<Key>{key}</Key>")), "{body}");
    assert!(
        body.contains(&format!("<Bucket>{}</Bucket>", env.bucket_a)),
        "{body}"
    );
    assert!(body.contains("<ETag>"), "{body}");
}

#[tokio::test]
async fn redirect_sends_the_browser_on_with_bucket_and_key() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("redirect");
    let done = "http://127.0.0.1:9/uploaded";
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key_prefix(&prefix)
            .success_action_redirect(done),
    );
    let resp = post_multipart(&post.url, &post.fields, "r.txt", BYTES, None).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = header(&resp, "location").expect("a Location header");
    assert!(location.starts_with(done), "{location}");
    assert!(location.contains("bucket="), "{location}");
    assert!(location.contains("key="), "{location}");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &format!("{prefix}r.txt"))
            .await
            .as_deref(),
        Some(BYTES)
    );
}

// ---------------------------------------------------------------------------------------
// Refused, with nothing stored
// ---------------------------------------------------------------------------------------

/// A plain form under a fresh prefix of bucket A, and that prefix.
fn plain_form(env: &S3Env, test: &str) -> (PresignedPost, String) {
    let prefix = unique_prefix(test);
    let post = sign(
        env,
        PostPolicy::builder(&env.bucket_a)
            .key_prefix(&prefix)
            .content_length_range(1, 1024),
    );
    (post, prefix)
}

/// Shows `post` itself is accepted (as `control.bin`).
async fn control(env: &S3Env, post: &PresignedPost, prefix: &str) {
    assert_stored(
        env,
        &post.url,
        &post.fields,
        "control.bin",
        BYTES,
        (&env.bucket_a, &format!("{prefix}control.bin")),
    )
    .await;
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let env = S3Env::from_env();
    let (post, prefix) = plain_form(&env, "bad-signature");
    control(&env, &post, &prefix).await;
    let sig = post.field("x-amz-signature").unwrap();
    let flipped = match sig.as_bytes()[0] {
        b'0' => format!("1{}", &sig[1..]),
        _ => format!("0{}", &sig[1..]),
    };
    let fields = replace_field(&post.fields, "x-amz-signature", &flipped);
    let at = format!("{prefix}forged.bin");
    assert_refused(
        &env,
        &post.url,
        &fields,
        "forged.bin",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn tampered_policy_is_refused() {
    let env = S3Env::from_env();
    let (post, prefix) = plain_form(&env, "bad-policy");
    control(&env, &post, &prefix).await;

    // Raise the size limit in the policy and keep the old signature: a file within the new
    // limit but over the signed one must still be refused.
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut doc: serde_json::Value =
        serde_json::from_slice(&b64.decode(post.field("policy").unwrap()).unwrap()).unwrap();
    let range = doc["conditions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c[0] == "content-length-range")
        .expect("a content-length-range condition");
    range[2] = serde_json::json!(1 << 20);
    let forged = b64.encode(serde_json::to_vec(&doc).unwrap());
    let fields = replace_field(&post.fields, "policy", &forged);
    let big = vec![b'x'; 4096];
    let at = format!("{prefix}big.bin");
    assert_refused(
        &env,
        &post.url,
        &fields,
        "big.bin",
        &big,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn form_signed_with_the_wrong_secret_is_refused() {
    let env = S3Env::from_env();
    let (post, prefix) = plain_form(&env, "wrong-secret");
    control(&env, &post, &prefix).await;
    let now = now();
    let policy = PostPolicy::builder(&env.bucket_a)
        .key_prefix(&prefix)
        .content_length_range(1, 1024)
        .build(now)
        .unwrap();
    let forged = env
        .signer_with_secret("not-the-secret-key-0123456789abcdefghijk")
        .sign_post(&policy, now)
        .unwrap();
    let at = format!("{prefix}w.bin");
    assert_refused(
        &env,
        &forged.url,
        &forged.fields,
        "w.bin",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn expired_form_is_refused() {
    let env = S3Env::from_env();
    let (post, prefix) = plain_form(&env, "expired");
    control(&env, &post, &prefix).await;
    // Issued two hours ago for one hour: the lint only refuses expirations before the `now`
    // it is given, so build and sign as of then.
    let then = now() - Duration::from_secs(2 * 3600);
    let policy = PostPolicy::builder(&env.bucket_a)
        .key_prefix(&prefix)
        .content_length_range(1, 1024)
        .expires_in(Duration::from_secs(3600))
        .build(then)
        .unwrap();
    let old = env.signer().sign_post(&policy, then).unwrap();
    let at = format!("{prefix}late.bin");
    assert_refused(
        &env,
        &old.url,
        &old.fields,
        "late.bin",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn one_byte_over_the_max_is_refused() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("over-max");
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key_prefix(&prefix)
            .content_length_range(1, 64),
    );
    let at = format!("{prefix}max.bin");
    let max = vec![b'm'; 64];
    assert_stored(
        &env,
        &post.url,
        &post.fields,
        "max.bin",
        &max,
        (&env.bucket_a, &at),
    )
    .await;
    let at = format!("{prefix}over.bin");
    let over = vec![b'o'; 65];
    assert_refused(
        &env,
        &post.url,
        &post.fields,
        "over.bin",
        &over,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn under_the_min_is_refused() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("under-min");
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key_prefix(&prefix)
            .content_length_range(16, 1024),
    );
    let at = format!("{prefix}min.bin");
    let min = vec![b'm'; 16];
    assert_stored(
        &env,
        &post.url,
        &post.fields,
        "min.bin",
        &min,
        (&env.bucket_a, &at),
    )
    .await;
    let at = format!("{prefix}under.bin");
    let under = vec![b'u'; 15];
    assert_refused(
        &env,
        &post.url,
        &post.fields,
        "under.bin",
        &under,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn key_outside_the_prefix_is_refused() {
    let env = S3Env::from_env();
    let (post, prefix) = plain_form(&env, "outside-prefix");
    control(&env, &post, &prefix).await;
    // The sibling of the signed prefix: `…/N/` → `…/N-evil/x.bin`.
    let outside = format!("{}-evil/x.bin", prefix.trim_end_matches('/'));
    let fields = replace_field(&post.fields, "key", &outside);
    assert_refused(
        &env,
        &post.url,
        &fields,
        "x.bin",
        BYTES,
        (&env.bucket_a, &outside),
    )
    .await;
}

#[tokio::test]
async fn content_type_other_than_the_signed_one_is_refused() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("content-type-eq");
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key_prefix(&prefix)
            .content_type("image/png"),
    );
    control(&env, &post, &prefix).await;
    let fields = replace_field(&post.fields, "Content-Type", "text/html");
    let at = format!("{prefix}page.html");
    assert_refused(
        &env,
        &post.url,
        &fields,
        "page.html",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn content_type_outside_the_signed_prefix_is_refused() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("content-type-prefix");
    let post = sign(
        &env,
        PostPolicy::builder(&env.bucket_a)
            .key_prefix(&prefix)
            .content_type_prefix("image/"),
    );
    // The uploader picks the type: image/webp is fine and is what gets stored.
    let fields = add_field(&post.fields, "Content-Type", "image/webp");
    let at = format!("{prefix}pic.webp");
    assert_stored(
        &env,
        &post.url,
        &fields,
        "pic.webp",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;
    let url = env
        .signer()
        .presign_get(
            &env.bucket_a,
            &at,
            Duration::from_secs(60),
            now(),
            &GetOptions::default(),
        )
        .unwrap();
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(header(&resp, "content-type"), Some("image/webp"));

    // Leaving the field out does not dodge the condition.
    let at = format!("{prefix}untyped.html");
    assert_refused(
        &env,
        &post.url,
        &post.fields,
        "untyped.html",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;

    let fields = add_field(&post.fields, "Content-Type", "text/html");
    let at = format!("{prefix}page.html");
    assert_refused(
        &env,
        &post.url,
        &fields,
        "page.html",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn extra_unsigned_field_is_refused() {
    let env = S3Env::from_env();
    let (post, prefix) = plain_form(&env, "extra-field");
    control(&env, &post, &prefix).await;
    let fields = add_field(&post.fields, "x-amz-meta-sneaky", "1");
    let at = format!("{prefix}extra.bin");
    assert_refused(
        &env,
        &post.url,
        &fields,
        "extra.bin",
        BYTES,
        (&env.bucket_a, &at),
    )
    .await;
}

#[tokio::test]
async fn form_for_one_bucket_is_refused_by_another() {
    let env = S3Env::from_env();
    let (post, prefix) = plain_form(&env, "other-bucket");
    control(&env, &post, &prefix).await;
    let url_b = env
        .signer()
        .endpoint()
        .bucket_url(&env.bucket_b, &env.region);
    assert_ne!(url_b, post.url);
    let key = format!("{prefix}moved.bin");
    assert_refused(
        &env,
        &url_b,
        &post.fields,
        "moved.bin",
        BYTES,
        (&env.bucket_b, &key),
    )
    .await;
    assert!(!env.object_exists(&env.bucket_a, &key).await);
}

// ---------------------------------------------------------------------------------------
// Presigned URLs
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn presigned_put_uploads_and_presigned_get_downloads() {
    let env = S3Env::from_env();
    let key = format!("{}put.txt", unique_prefix("put-get"));
    let signer = env.signer();
    let put = signer
        .presign_put(
            &env.bucket_a,
            &key,
            Duration::from_secs(60),
            now(),
            Some("text/plain"),
        )
        .unwrap();

    // The Content-Type is signed: another one is refused.
    let resp = client()
        .put(&put)
        .header("content-type", "text/html")
        .body(BYTES.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_client_error(),
        "{status}: {}",
        resp.text().await.unwrap()
    );
    assert!(!env.object_exists(&env.bucket_a, &key).await);

    let resp = client()
        .put(&put)
        .header("content-type", "text/plain")
        .body(BYTES.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        resp.text().await.unwrap()
    );

    let get = signer
        .presign_get(
            &env.bucket_a,
            &key,
            Duration::from_secs(60),
            now(),
            &GetOptions::default(),
        )
        .unwrap();
    let resp = client().get(&get).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-type"), Some("text/plain"));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), BYTES);
}

#[tokio::test]
async fn expired_presigned_get_is_refused() {
    let env = S3Env::from_env();
    let key = format!("{}old.txt", unique_prefix("expired-get"));
    let put = env
        .signer()
        .presign_put(&env.bucket_a, &key, Duration::from_secs(60), now(), None)
        .unwrap();
    let resp = client()
        .put(&put)
        .body(BYTES.to_vec())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert!(env.object_exists(&env.bucket_a, &key).await);

    let then = now() - Duration::from_secs(2 * 3600);
    let get = env
        .signer()
        .presign_get(
            &env.bucket_a,
            &key,
            Duration::from_secs(60),
            then,
            &GetOptions::default(),
        )
        .unwrap();
    let resp = client().get(&get).send().await.unwrap();
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.as_bytes().windows(BYTES.len()).any(|w| w == BYTES));
}

#[tokio::test]
async fn response_overrides_set_the_download_headers() {
    let env = S3Env::from_env();
    let key = format!("{}report.bin", unique_prefix("disposition"));
    let put = env
        .signer()
        .presign_put(&env.bucket_a, &key, Duration::from_secs(60), now(), None)
        .unwrap();
    let resp = client()
        .put(&put)
        .body(BYTES.to_vec())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());

    let disposition = r#"attachment; filename="Q1 report; final.pdf""#;
    let opts = GetOptions {
        response_content_type: Some("application/pdf"),
        response_content_disposition: Some(disposition),
    };
    let get = env
        .signer()
        .presign_get(&env.bucket_a, &key, Duration::from_secs(60), now(), &opts)
        .unwrap();
    let resp = client().get(&get).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-disposition"), Some(disposition));
    assert_eq!(header(&resp, "content-type"), Some("application/pdf"));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), BYTES);
}

#[tokio::test]
async fn presigned_head_and_delete_work() {
    let env = S3Env::from_env();
    let key = format!("{}gone soon+1.txt", unique_prefix("head-delete"));
    let signer = env.signer();
    let put = signer
        .presign_put(&env.bucket_a, &key, Duration::from_secs(60), now(), None)
        .unwrap();
    let resp = client()
        .put(&put)
        .body(BYTES.to_vec())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());

    let url = |method| {
        signer
            .presign(
                &UrlRequest::new(method, &env.bucket_a, &key, Duration::from_secs(60)),
                now(),
            )
            .unwrap()
    };
    let resp = client().head(url(Method::Head)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(&resp, "content-length"),
        Some(BYTES.len().to_string().as_str())
    );
    let resp = client().delete(url(Method::Delete)).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert!(!env.object_exists(&env.bucket_a, &key).await);
}
