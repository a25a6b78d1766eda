//! Presigned requests beyond one GET or PUT, against Ceph: a PUT whose signed Content-Type
//! and Content-Length S3 enforces, ListObjectsV2 on the bucket, and a whole multipart upload.

use std::time::Duration;

use reqwest::StatusCode;
use signpost::{Method, UrlRequest};
use time::OffsetDateTime;

use crate::support::http::client;
use crate::support::s3::{unique_prefix, S3Env};

const MINUTE: Duration = Duration::from_secs(60);

fn presign(env: &S3Env, req: &UrlRequest<'_>) -> String {
    env.signer()
        .presign(req, OffsetDateTime::now_utc())
        .expect("request presigns")
}

/// Sends `method` to `url` with `body` and headers, returning status and body.
async fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = client().request(method, url).body(body);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = req.send().await.expect("request sent");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.expect("response body"))
}

/// The text of every `<tag>…</tag>` in `xml`, in order.
fn tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once(close.as_str()).map(|(v, _)| v))
        .collect()
}

#[tokio::test]
async fn put_with_signed_type_and_length_takes_exactly_those() {
    let env = S3Env::from_env();
    let key = format!("{}sized.txt", unique_prefix("put-signed-headers"));
    let body = b"exactly these bytes".to_vec();
    let len = body.len() as u64;
    let url = presign(
        &env,
        &UrlRequest::new(Method::Put, &env.bucket_a, &key, MINUTE)
            .with_content_type("text/plain")
            .with_content_length(len),
    );
    assert!(
        url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"),
        "{url}"
    );

    let mut longer = body.clone();
    longer.push(b'!');
    let (status, _, text) = send(
        reqwest::Method::PUT,
        &url,
        &[("content-type", "text/plain")],
        longer,
    )
    .await;
    assert!(status.is_client_error(), "one byte more: {status}: {text}");
    assert!(
        !env.object_exists(&env.bucket_a, &key).await,
        "stored one byte more"
    );

    let (status, _, text) = send(
        reqwest::Method::PUT,
        &url,
        &[("content-type", "text/html")],
        body.clone(),
    )
    .await;
    assert!(status.is_client_error(), "another type: {status}: {text}");
    assert!(
        !env.object_exists(&env.bucket_a, &key).await,
        "stored another type"
    );

    let (status, _, text) = send(
        reqwest::Method::PUT,
        &url,
        &[("content-type", "text/plain")],
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the signed type and size: {text}");
    assert_eq!(
        env.object_bytes(&env.bucket_a, &key).await.as_deref(),
        Some(&body[..])
    );
}

#[tokio::test]
async fn list_objects_v2_on_the_bucket_pages_through_a_prefix() {
    let env = S3Env::from_env();
    let prefix = unique_prefix("list-v2");
    let keys = [format!("{prefix}a.txt"), format!("{prefix}b.txt")];
    for key in &keys {
        let put = presign(
            &env,
            &UrlRequest::new(Method::Put, &env.bucket_a, key, MINUTE),
        );
        let (status, _, text) = send(reqwest::Method::PUT, &put, &[], b"x".to_vec()).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    // Something beside the prefix, which the listing must leave out.
    let outside = format!("{}z.txt", prefix.trim_end_matches('/'));
    let put = presign(
        &env,
        &UrlRequest::new(Method::Put, &env.bucket_a, &outside, MINUTE),
    );
    send(reqwest::Method::PUT, &put, &[], b"x".to_vec()).await;

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for page in 0.. {
        assert!(page < 5, "no end to the listing: {seen:?}");
        let mut req = UrlRequest::new(Method::Get, &env.bucket_a, "", MINUTE)
            .with_query("list-type", "2")
            .with_query("prefix", &prefix)
            .with_query("delimiter", "/")
            .with_query("max-keys", "1");
        if let Some(t) = &token {
            req = req.with_query("continuation-token", t);
        }
        let url = presign(&env, &req);
        let (status, _, xml) = send(reqwest::Method::GET, &url, &[], Vec::new()).await;
        assert_eq!(status, StatusCode::OK, "{url}: {xml}");
        seen.extend(tags(&xml, "Key").into_iter().map(str::to_string));
        match tags(&xml, "NextContinuationToken").first() {
            Some(t) => token = Some(t.replace("&amp;", "&")),
            None => break,
        }
    }
    assert_eq!(seen, keys, "two pages of one key each, in order");
}

#[tokio::test]
async fn multipart_upload_through_presigned_urls() {
    let env = S3Env::from_env();
    let key = format!("{}big.bin", unique_prefix("multipart"));
    let bucket = env.bucket_a.as_str();

    let create = presign(
        &env,
        &UrlRequest::new(Method::Post, bucket, &key, MINUTE).with_query("uploads", ""),
    );
    assert!(create.contains("?uploads&"), "{create}");
    let (status, _, xml) = send(reqwest::Method::POST, &create, &[], Vec::new()).await;
    assert_eq!(status, StatusCode::OK, "create: {xml}");
    let upload_id = tags(&xml, "UploadId")
        .first()
        .expect("an UploadId")
        .to_string();

    // S3's smallest part (all but the last must be at least 5 MiB), then a short last one.
    let parts: [Vec<u8>; 2] = [
        (0..signpost::wire::MIN_PART_SIZE)
            .map(|i| (i % 251) as u8)
            .collect(),
        b"the last part may be short".to_vec(),
    ];
    let mut etags = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let number = (i + 1).to_string();
        let url = presign(
            &env,
            &UrlRequest::new(Method::Put, bucket, &key, MINUTE)
                .with_query("partNumber", &number)
                .with_query("uploadId", &upload_id),
        );
        let (status, headers, text) = send(reqwest::Method::PUT, &url, &[], part.clone()).await;
        assert_eq!(status, StatusCode::OK, "part {number}: {text}");
        let etag = headers["etag"].to_str().expect("ETag").to_string();
        etags.push((number, etag));
    }
    assert!(
        !env.object_exists(bucket, &key).await,
        "the object exists before the upload is completed"
    );

    let mut xml = String::from("<CompleteMultipartUpload>");
    for (number, etag) in &etags {
        xml.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            signpost::wire::xml_escape(etag)
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let complete = presign(
        &env,
        &UrlRequest::new(Method::Post, bucket, &key, MINUTE).with_query("uploadId", &upload_id),
    );
    let (status, _, text) = send(reqwest::Method::POST, &complete, &[], xml.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "complete: {text}");
    assert!(text.contains("<CompleteMultipartUploadResult"), "{text}");

    let stored = env.object_bytes(bucket, &key).await.expect("object stored");
    assert_eq!(stored.len(), parts[0].len() + parts[1].len());
    assert!(
        stored == [&parts[0][..], &parts[1][..]].concat(),
        "bytes differ"
    );
}
