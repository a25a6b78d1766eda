//! The real S3 (Ceph) the integration tests run against, and key prefixes of their own.
//!
//! Signing can be exact and still be refused by a real server, so these tests post signed
//! forms and presigned URLs to a throwaway Ceph radosgw started by `scripts/test.sh` (or by
//! hand with `scripts/ceph.sh`), which exports `SIGNPOST_TEST_*`. Without those variables the
//! tests fail loudly: they never skip silently.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use signpost::{Credentials, Endpoint, GetOptions, Signer};
use time::OffsetDateTime;

use super::http::client;

/// The real S3 the tests talk to, as `scripts/ceph.sh` describes it in `DIR/env`.
pub struct S3Env {
    /// `http://127.0.0.1:PORT`, path-style.
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub bucket_a: String,
    pub bucket_b: String,
    pub bucket_nocors: String,
}

impl S3Env {
    /// Reads `SIGNPOST_TEST_*`; panics with what to do when any is missing.
    pub fn from_env() -> S3Env {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) if !v.is_empty() => v,
            _ => panic!(
                "{name} is not set: these tests need a real S3: run scripts/test.sh, which \
                 starts Ceph, or start it with `scripts/ceph.sh start DIR` and `source DIR/env`"
            ),
        };
        S3Env {
            endpoint: var("SIGNPOST_TEST_S3_ENDPOINT"),
            region: var("SIGNPOST_TEST_S3_REGION"),
            access_key: var("SIGNPOST_TEST_S3_ACCESS_KEY"),
            secret_key: var("SIGNPOST_TEST_S3_SECRET_KEY"),
            bucket_a: var("SIGNPOST_TEST_BUCKET_A"),
            bucket_b: var("SIGNPOST_TEST_BUCKET_B"),
            bucket_nocors: var("SIGNPOST_TEST_BUCKET_NOCORS"),
        }
    }

    /// A signer with the test user's credentials, path-style at the endpoint.
    pub fn signer(&self) -> Signer {
        self.signer_with_secret(&self.secret_key)
    }

    /// A signer with the test user's access key but `secret` as its secret.
    pub fn signer_with_secret(&self, secret: &str) -> Signer {
        let endpoint = Endpoint::custom(&self.endpoint, true).expect("test endpoint is a URL");
        Signer::new(
            Credentials::new(&self.access_key, secret),
            &self.region,
            endpoint,
        )
    }

    /// The object's bytes through a presigned GET, or None on 404. Any other failure panics,
    /// so a broken GET can never pass for "nothing stored".
    pub async fn object_bytes(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let url = self
            .signer()
            .presign_get(
                bucket,
                key,
                Duration::from_secs(60),
                OffsetDateTime::now_utc(),
                &GetOptions::default(),
            )
            .expect("presign GET");
        let resp = client().get(&url).send().await.expect("GET sent");
        let status = resp.status();
        let body = resp.bytes().await.expect("GET body").to_vec();
        match status {
            StatusCode::OK => Some(body),
            StatusCode::NOT_FOUND => None,
            s => panic!(
                "GET {bucket}/{key} answered {s}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// The config's `[s3]` section for this store (path-style, static keys).
    pub fn s3_section(&self) -> String {
        format!(
            "[s3]\nendpoint = \"{}\"\nregion = \"{}\"\npath_style = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            self.endpoint, self.region, self.access_key, self.secret_key
        )
    }

    /// Stores `bytes` at `bucket`/`key` as `content_type` with a presigned PUT, as any S3
    /// client could (an object signpost did not check).
    pub async fn put_object(&self, bucket: &str, key: &str, content_type: &str, bytes: &[u8]) {
        let mut req =
            signpost::UrlRequest::new(signpost::Method::Put, bucket, key, Duration::from_secs(60));
        req.headers.push(("content-type", content_type));
        let url = self
            .signer()
            .presign(&req, OffsetDateTime::now_utc())
            .expect("presign PUT");
        let r = client()
            .put(&url)
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("PUT sent");
        let status = r.status();
        assert!(
            status.is_success(),
            "PUT {key}: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// True when `bucket`/`key` exists.
    pub async fn object_exists(&self, bucket: &str, key: &str) -> bool {
        self.object_bytes(bucket, key).await.is_some()
    }
}

/// A key prefix no other test (or earlier run on the same cluster) uses: `test/TIME-PID-N/`.
pub fn unique_prefix(test_name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{test_name}/{nanos:x}-{}-{n}/", std::process::id())
}
