//! The embedded S3 store over real HTTP: forms signed by signpost are accepted and
//! answered as S3 answers them; anything unsigned, forged, expired or outside its
//! policy is refused with nothing stored; presigned and header-signed requests work;
//! CORS answers only the configured origins.

#![cfg(feature = "server")]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use reqwest::{Response, StatusCode};
use signpost::embedded::{EmbeddedConfig, EmbeddedS3};
use signpost::{
    Credentials, Endpoint, GetOptions, Method, PostPolicy, PostPolicyBuilder, PresignedPost,
    Signer, UrlRequest,
};
use support::http::{client, multipart_request};
use tempfile::TempDir;
use time::OffsetDateTime;

const ACCESS: &str = "AKIDEMBEDDEDTEST";
const SECRET: &str = "embedded-test-secret-0123456789";
const REGION: &str = "us-east-1";
const BUCKET: &str = "uploads";
const OTHER_BUCKET: &str = "other";
const ORIGIN: &str = "http://127.0.0.1:8080";

struct Store {
    s3: EmbeddedS3,
    dir: TempDir,
    http: reqwest::Client,
}

impl Store {
    async fn start() -> Store {
        Self::start_with_origins(vec![ORIGIN.to_string()]).await
    }

    async fn start_with_origins(cors_origins: Vec<String>) -> Store {
        let dir = TempDir::new().expect("temp dir");
        let s3 = EmbeddedS3::start(EmbeddedConfig {
            data_dir: dir.path().join("data"),
            listen: "127.0.0.1:0".parse().expect("addr"),
            access_key: ACCESS.into(),
            secret_key: SECRET.into(),
            region: REGION.into(),
            buckets: vec![BUCKET.into(), OTHER_BUCKET.into()],
            cors_origins,
        })
        .await
        .expect("store starts");
        let http = client();
        Store { s3, dir, http }
    }

    fn signer(&self) -> Signer {
        self.signer_with_secret(SECRET)
    }

    fn signer_with_secret(&self, secret: &str) -> Signer {
        let endpoint = Endpoint::custom(&self.s3.endpoint(), true).expect("endpoint");
        Signer::new(Credentials::new(ACCESS, secret), REGION, endpoint)
    }

    /// Every regular file under the data directory (objects and their metadata).
    fn stored(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    let rel = path.strip_prefix(root).expect("under root");
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        let root: PathBuf = self.dir.path().join("data");
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out.sort();
        out
    }

    /// POSTs `fields` then the file, as a browser on [`ORIGIN`] does.
    async fn post(
        &self,
        url: &str,
        fields: &[(String, String)],
        file_name: &str,
        data: &[u8],
    ) -> Response {
        multipart_request(url, fields, file_name, data, None)
            .header("Origin", ORIGIN)
            .send()
            .await
            .expect("POST sent")
    }

    async fn post_form(&self, form: &PresignedPost, file_name: &str, data: &[u8]) -> Response {
        self.post(&form.url, &form.fields, file_name, data).await
    }

    /// Downloads through a presigned GET.
    async fn get(&self, key: &str) -> (StatusCode, Vec<u8>) {
        let url = self
            .signer()
            .presign_get(
                BUCKET,
                key,
                Duration::from_secs(60),
                OffsetDateTime::now_utc(),
                &GetOptions::default(),
            )
            .expect("presign get");
        let resp = self.http.get(url).send().await.expect("GET sent");
        let status = resp.status();
        (status, resp.bytes().await.expect("body").to_vec())
    }

    /// Refused with `status` and S3 error `code`, and nothing at all stored; returns the body.
    async fn assert_refused(&self, resp: Response, status: StatusCode, code: &str) -> String {
        let got = resp.status();
        let body = resp.text().await.expect("body");
        assert_eq!(got, status, "body: {body}");
        assert!(
            body.contains(&format!("<Code>{code}</Code>")),
            "expected {code}, got {body}"
        );
        assert_eq!(self.stored(), Vec::<String>::new(), "something was stored");
        body
    }
}

fn sign_at(signer: &Signer, policy: PostPolicyBuilder, now: OffsetDateTime) -> PresignedPost {
    let policy = policy.build(now).expect("policy builds");
    signer.sign_post(&policy, now).expect("policy signs")
}

fn sign_now(signer: &Signer, policy: PostPolicyBuilder) -> PresignedPost {
    sign_at(signer, policy, OffsetDateTime::now_utc())
}

/// The form's fields with `name` set to `value` (replaced in place, or appended).
fn with_field(form: &PresignedPost, name: &str, value: &str) -> Vec<(String, String)> {
    let mut fields = form.fields.clone();
    match fields
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(field) => field.1 = value.to_string(),
        None => fields.push((name.to_string(), value.to_string())),
    }
    fields
}

fn uploads() -> PostPolicyBuilder {
    PostPolicy::builder(BUCKET)
        .key_prefix("uploads/")
        .content_length_range(1, 16)
}

#[tokio::test]
async fn valid_post_is_stored_and_reads_back_through_a_presigned_get() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads().content_type_prefix("image/"));
    let fields = with_field(&form, "Content-Type", "image/png");
    let data = b"\x89PNG bytes";
    let resp = store.post(&form.url, &fields, "pic.png", data).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers().contains_key("etag"));

    let (status, body) = store.get("uploads/pic.png").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, data);
}

#[tokio::test]
async fn filename_in_key_is_expanded_to_the_files_base_name() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    assert_eq!(form.field("key"), Some("uploads/${filename}"));
    let resp = store
        .post_form(&form, "C:\\Users\\me\\résumé 2.txt", b"cv")
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(store.get("uploads/résumé 2.txt").await.1, b"cv");
    assert_eq!(
        store.get("uploads/${filename}").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn status_201_answers_post_response_xml_with_the_expanded_key() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads().success_action_status(201));
    let resp = store.post_form(&form, "report.pdf", b"%PDF").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let xml = resp.text().await.expect("body");
    assert!(xml.contains("<PostResponse>"), "{xml}");
    assert!(xml.contains("<Bucket>uploads</Bucket>"), "{xml}");
    assert!(xml.contains("<Key>uploads/report.pdf</Key>"), "{xml}");
    assert!(
        xml.contains(&format!(
            "<Location>{}/uploads/uploads/report.pdf</Location>",
            store.s3.endpoint()
        )),
        "{xml}"
    );
    assert!(xml.contains("<ETag>\""), "{xml}");
}

#[tokio::test]
async fn redirect_is_a_303_to_the_url_with_bucket_key_and_etag() {
    let store = Store::start().await;
    let target = "http://127.0.0.1:8080/done?from=form";
    let form = sign_now(&store.signer(), uploads().success_action_redirect(target));
    let resp = store.post_form(&form, "a b.txt", b"hello").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()["location"].to_str().expect("ascii");
    let expected_start = format!("{target}&bucket=uploads&key=uploads%2Fa%20b.txt&etag=%22");
    assert!(location.starts_with(&expected_start), "{location}");
    assert!(location.ends_with("%22"), "{location}");

    // The ETag in the redirect is the stored object's.
    let head = store
        .signer()
        .presign(
            &UrlRequest::new(
                Method::Head,
                BUCKET,
                "uploads/a b.txt",
                Duration::from_secs(60),
            ),
            OffsetDateTime::now_utc(),
        )
        .expect("presign head");
    let resp = store.http.head(head).send().await.expect("HEAD sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let etag = resp.headers()["etag"]
        .to_str()
        .expect("ascii")
        .trim_matches('"');
    assert_eq!(&location[expected_start.len()..location.len() - 3], etag);
}

#[tokio::test]
async fn form_signed_hours_ago_is_accepted_until_its_policy_expires() {
    let store = Store::start().await;
    let two_hours_ago = OffsetDateTime::now_utc() - Duration::from_secs(2 * 3600);
    let form = sign_at(
        &store.signer(),
        uploads().expires_in(Duration::from_secs(3 * 3600)),
        two_hours_ago,
    );
    let resp = store.post_form(&form, "late.txt", b"late").await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let sig = form.field("x-amz-signature").expect("signature");
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );
    let fields = with_field(&form, "x-amz-signature", &flipped);
    let resp = store.post(&form.url, &fields, "a.txt", b"data").await;
    store
        .assert_refused(resp, StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
        .await;
}

#[tokio::test]
async fn tampered_policy_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let b64 = base64::engine::general_purpose::STANDARD;
    let policy = b64
        .decode(form.field("policy").expect("policy"))
        .expect("base64");
    let widened = String::from_utf8(policy).expect("utf-8").replace(
        "[\"content-length-range\",1,16]",
        "[\"content-length-range\",1,1000000]",
    );
    assert!(
        widened.contains("1000000"),
        "policy not rewritten: {widened}"
    );
    let fields = with_field(&form, "policy", &b64.encode(widened));
    let resp = store.post(&form.url, &fields, "a.txt", &[b'x'; 100]).await;
    store
        .assert_refused(resp, StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
        .await;
}

#[tokio::test]
async fn form_signed_with_the_wrong_secret_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer_with_secret("not-the-secret"), uploads());
    let resp = store.post_form(&form, "a.txt", b"data").await;
    store
        .assert_refused(resp, StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
        .await;
}

#[tokio::test]
async fn unsigned_form_is_refused() {
    let store = Store::start().await;
    let fields = vec![("key".to_string(), "uploads/a.txt".to_string())];
    let url = format!("{}/{BUCKET}", store.s3.endpoint());
    let resp = store.post(&url, &fields, "a.txt", b"data").await;
    store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
}

#[tokio::test]
async fn expired_policy_is_refused() {
    let store = Store::start().await;
    let an_hour_ago = OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let form = sign_at(
        &store.signer(),
        uploads().expires_in(Duration::from_secs(600)),
        an_hour_ago,
    );
    let resp = store.post_form(&form, "a.txt", b"data").await;
    let body = store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
    assert!(body.contains("expired"), "{body}");
}

#[tokio::test]
async fn one_byte_over_the_maximum_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let resp = store.post_form(&form, "big.bin", &[0; 17]).await;
    store
        .assert_refused(resp, StatusCode::BAD_REQUEST, "EntityTooLarge")
        .await;
}

#[tokio::test]
async fn exactly_the_maximum_is_accepted() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let resp = store.post_form(&form, "max.bin", &[7; 16]).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(store.get("uploads/max.bin").await.1, [7; 16]);
}

#[tokio::test]
async fn under_the_minimum_is_refused() {
    let store = Store::start().await;
    let form = sign_now(
        &store.signer(),
        PostPolicy::builder(BUCKET)
            .key_prefix("uploads/")
            .content_length_range(4, 16),
    );
    let resp = store.post_form(&form, "small.bin", b"abc").await;
    store
        .assert_refused(resp, StatusCode::BAD_REQUEST, "EntityTooSmall")
        .await;
}

#[tokio::test]
async fn key_outside_the_signed_prefix_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let fields = with_field(&form, "key", "elsewhere/${filename}");
    let resp = store.post(&form.url, &fields, "a.txt", b"data").await;
    let body = store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
    assert!(body.contains("Invalid according to Policy"), "{body}");
}

#[tokio::test]
async fn key_escaping_its_prefix_with_dot_dot_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let fields = with_field(&form, "key", "uploads/../../other/evil.txt");
    let resp = store.post(&form.url, &fields, "a.txt", b"data").await;
    store
        .assert_refused(resp, StatusCode::BAD_REQUEST, "InvalidArgument")
        .await;
}

#[tokio::test]
async fn content_type_other_than_the_signed_one_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads().content_type("image/png"));
    let fields = with_field(&form, "Content-Type", "text/html");
    let resp = store.post(&form.url, &fields, "a.png", b"data").await;
    let body = store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
    assert!(body.contains("Invalid according to Policy"), "{body}");
}

#[tokio::test]
async fn content_type_outside_the_signed_prefix_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads().content_type_prefix("image/"));
    let fields = with_field(&form, "Content-Type", "text/html");
    let resp = store.post(&form.url, &fields, "a.html", b"<p>").await;
    let body = store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
    assert!(body.contains("Invalid according to Policy"), "{body}");
}

#[tokio::test]
async fn extra_unsigned_field_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let fields = with_field(&form, "x-amz-meta-owner", "mallory");
    let resp = store.post(&form.url, &fields, "a.txt", b"data").await;
    store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
}

#[tokio::test]
async fn extra_unsigned_encryption_field_is_refused() {
    // s3s exempts x-amz-server-side-encryption* from the policy; S3 does not.
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let fields = with_field(&form, "x-amz-server-side-encryption", "AES256");
    let resp = store.post(&form.url, &fields, "a.txt", b"data").await;
    store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
}

#[tokio::test]
async fn form_for_one_bucket_posted_to_another_is_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    let url = format!("{}/{OTHER_BUCKET}", store.s3.endpoint());
    let resp = store.post(&url, &form.fields, "a.txt", b"data").await;
    let body = store
        .assert_refused(resp, StatusCode::FORBIDDEN, "AccessDenied")
        .await;
    assert!(body.contains("Invalid according to Policy"), "{body}");
}

#[tokio::test]
async fn form_signed_for_another_region_is_refused() {
    let store = Store::start().await;
    let endpoint = Endpoint::custom(&store.s3.endpoint(), true).expect("endpoint");
    let signer = Signer::new(Credentials::new(ACCESS, SECRET), "eu-west-1", endpoint);
    let form = sign_now(&signer, uploads());
    let resp = store.post_form(&form, "a.txt", b"data").await;
    store
        .assert_refused(
            resp,
            StatusCode::BAD_REQUEST,
            "AuthorizationHeaderMalformed",
        )
        .await;
}

fn sha256_b64(data: &[u8]) -> String {
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(data))
}

#[tokio::test]
async fn post_with_a_signed_checksum_is_verified_before_storing() {
    let store = Store::start().await;
    let form = sign_now(
        &store.signer(),
        uploads().checksum("sha256", sha256_b64(b"expected")),
    );
    let resp = store.post_form(&form, "c.txt", b"tampered").await;
    store
        .assert_refused(resp, StatusCode::BAD_REQUEST, "BadDigest")
        .await;

    let resp = store.post_form(&form, "c.txt", b"expected").await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(store.get("uploads/c.txt").await.1, b"expected");
}

#[tokio::test]
async fn put_with_a_wrong_content_md5_stores_nothing() {
    let store = Store::start().await;
    let put = store
        .signer()
        .presign_put(
            BUCKET,
            "md5.txt",
            Duration::from_secs(60),
            OffsetDateTime::now_utc(),
            None,
        )
        .expect("presign put");
    // Content-MD5 of "other", not of the body.
    let resp = store
        .http
        .put(put)
        .header("content-md5", "eV8yArF8trw9S3cdjGyerw==")
        .body("data")
        .send()
        .await
        .expect("PUT sent");
    store
        .assert_refused(resp, StatusCode::BAD_REQUEST, "BadDigest")
        .await;
}

#[tokio::test]
async fn oversized_form_fields_before_the_file_are_refused() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads());
    // x-ignore-* fields need no condition; 70 KiB of them is still too much.
    let fields = with_field(&form, "x-ignore-padding", &"p".repeat(70 * 1024));
    let resp = store.post(&form.url, &fields, "a.txt", b"data").await;
    store
        .assert_refused(
            resp,
            StatusCode::BAD_REQUEST,
            "MaxPostPreDataLengthExceededError",
        )
        .await;
}

#[tokio::test]
async fn presigned_put_then_head_and_get() {
    let store = Store::start().await;
    let signer = store.signer();
    let now = OffsetDateTime::now_utc();
    let put = signer
        .presign_put(
            BUCKET,
            "put/x.json",
            Duration::from_secs(60),
            now,
            Some("application/json"),
        )
        .expect("presign put");
    let resp = store
        .http
        .put(put.clone())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("PUT sent");
    assert_eq!(resp.status(), StatusCode::OK);

    // The signed Content-Type is part of the signature.
    let resp = store
        .http
        .put(put)
        .header("content-type", "text/html")
        .body("<p>")
        .send()
        .await
        .expect("PUT sent");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let head = signer
        .presign(
            &UrlRequest::new(Method::Head, BUCKET, "put/x.json", Duration::from_secs(60)),
            now,
        )
        .expect("presign head");
    let resp = store.http.head(head).send().await.expect("HEAD sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(store.get("put/x.json").await.1, b"{}");
}

#[tokio::test]
async fn presigned_url_signed_with_the_wrong_secret_or_expired_is_refused() {
    let store = Store::start().await;
    let wrong = store
        .signer_with_secret("not-the-secret")
        .presign_put(
            BUCKET,
            "k",
            Duration::from_secs(60),
            OffsetDateTime::now_utc(),
            None,
        )
        .expect("presign");
    let resp = store
        .http
        .put(wrong)
        .body("x")
        .send()
        .await
        .expect("PUT sent");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let expired = store
        .signer()
        .presign_put(
            BUCKET,
            "k",
            Duration::from_secs(60),
            OffsetDateTime::now_utc() - Duration::from_secs(600),
            None,
        )
        .expect("presign");
    let resp = store
        .http
        .put(expired)
        .body("x")
        .send()
        .await
        .expect("PUT sent");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(store.stored(), Vec::<String>::new());
}

/// Signs a request in the Authorization header, as an SDK does.
fn header_signed(method: &str, url: &str, body: &[u8], secret: &str) -> Vec<(String, String)> {
    let identity =
        aws_credential_types::Credentials::new(ACCESS, secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .expect("params")
        .into();
    let signable = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(body))
        .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
    instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn header_signed_put_and_head_work_and_a_bad_signature_does_not() {
    let store = Store::start().await;
    let url = format!("{}/{BUCKET}/signed/h.txt", store.s3.endpoint());

    let mut put = store.http.put(&url).body("header-signed");
    for (n, v) in header_signed("PUT", &url, b"header-signed", SECRET) {
        put = put.header(n, v);
    }
    assert_eq!(put.send().await.expect("PUT sent").status(), StatusCode::OK);

    let mut head = store.http.head(&url);
    for (n, v) in header_signed("HEAD", &url, b"", SECRET) {
        head = head.header(n, v);
    }
    let resp = head.send().await.expect("HEAD sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-length"], "13");

    let mut forged = store.http.head(&url);
    for (n, v) in header_signed("HEAD", &url, b"", "not-the-secret") {
        forged = forged.header(n, v);
    }
    let resp = forged.send().await.expect("HEAD sent");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

async fn preflight(store: &Store, origin: &str) -> Response {
    store
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/{BUCKET}", store.s3.endpoint()),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .expect("OPTIONS sent")
}

#[tokio::test]
async fn preflight_from_an_allowed_origin_gets_cors_headers_and_another_does_not() {
    let store = Store::start().await;
    let ok = preflight(&store, ORIGIN).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    let methods = h["access-control-allow-methods"].to_str().expect("ascii");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    assert_eq!(h["access-control-allow-headers"], "content-type");
    let exposed = h["access-control-expose-headers"].to_str().expect("ascii");
    assert!(
        exposed.contains("ETag") && exposed.contains("Location"),
        "{exposed}"
    );

    let other = preflight(&store, "http://evil.example").await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn actual_responses_carry_cors_headers_for_allowed_origins() {
    let store = Store::start().await;
    let form = sign_now(&store.signer(), uploads().success_action_status(201));
    let resp = store.post_form(&form, "c.txt", b"cors").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["access-control-allow-origin"], ORIGIN);
    let exposed = resp.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(
        exposed.contains("ETag") && exposed.contains("Location"),
        "{exposed}"
    );

    // A refusal is answered with CORS headers too, so the page can read the error.
    let resp = store.post_form(&form, "big.bin", &[0; 17]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["access-control-allow-origin"], ORIGIN);
}

#[tokio::test]
async fn cors_origins_can_be_set_after_start() {
    let store = Store::start_with_origins(Vec::new()).await;
    assert_eq!(
        preflight(&store, ORIGIN).await.status(),
        StatusCode::FORBIDDEN
    );
    store.s3.set_cors_origins(vec![ORIGIN.to_string()]);
    let resp = preflight(&store, ORIGIN).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["access-control-allow-origin"], ORIGIN);
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let store = Store::start().await;
    let addr = store.s3.local_addr();
    let Store {
        s3,
        dir: _dir,
        http,
    } = store;
    s3.shutdown().await;
    let err = http
        .get(format!("http://{addr}/{BUCKET}"))
        .send()
        .await
        .expect_err("nothing listens after shutdown");
    assert!(err.is_connect(), "{err}");
}
