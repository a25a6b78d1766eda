//! The signpost server the browser tests upload through, with its Uppy page: config with two
//! token users (alice, bob; cookie `signpost_token`) and two profiles under a unique prefix,
//! on Ceph or on the embedded store, and what a test reads back from the store (objects,
//! keys, open multipart uploads) through the server's own signer.

use std::path::Path;
use std::time::Duration;

use super::browser::Browser;
use super::http::client;
use super::node::uppy_bundle;
use super::s3::{unique_prefix, S3Env};
use super::server::tokens_auth;
use signpost::server::config::Config;
use signpost::server::s3::{list_objects, ListQuery, S3Http};
use signpost::server::{start, Running};
use signpost::{GetOptions, Method, UrlRequest};
use tempfile::TempDir;
use time::OffsetDateTime;

pub const MIB: u64 = 1024 * 1024;
pub const STATE_SECRET: &str = "uppy-test-state-secret-0123456789abcdef";

/// Auth by token (header or cookie), and two profiles under `prefix`: `video` (any
/// application/octet-stream or text/plain up to 20 MiB) and `small` (up to 12 MiB).
fn rest(bucket: &str, prefix: &str) -> String {
    format!(
        r#"
{auth}
[[profile]]
name = "video"
bucket = "{bucket}"
key = "{prefix}video/{{user}}/{{uuid}}/${{filename}}"
max_size = "20MiB"
content_types = ["application/octet-stream", "text/plain"]
metadata = {{ kind = "uppy-test" }}

[[profile]]
name = "small"
bucket = "{bucket}"
key = "{prefix}small/{{user}}/{{uuid}}/${{filename}}"
max_size = "12MiB"
content_types = ["application/octet-stream", "text/plain"]
"#,
        auth = tokens_auth(
            Some("signpost_token"),
            &[("alice-token", "alice", &[]), ("bob-token", "bob", &[])],
        ),
    )
}

pub struct Server {
    pub running: Running,
    pub bucket: String,
    pub prefix: String,
    _data: TempDir,
}

impl Server {
    pub async fn start(text: &str, bucket: &str, prefix: &str) -> Server {
        let config = Config::parse(text, Path::new("."), &|_| None)
            .unwrap_or_else(|e| panic!("test config refused: {e}\n{text}"));
        let data = TempDir::new().expect("data dir");
        // /static/ serves the pages' own files and the Uppy page, side by side.
        let statics = data.path().join("static");
        std::fs::create_dir_all(&statics).expect("static dir");
        let repo_static = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        for dir in [repo_static, uppy_bundle()] {
            for entry in std::fs::read_dir(&dir).expect("read static files") {
                let entry = entry.expect("static file");
                if entry.path().is_file() {
                    std::fs::copy(entry.path(), statics.join(entry.file_name()))
                        .expect("copy static file");
                }
            }
        }
        let running = start(config, data.path().join("store"), Some(statics))
            .await
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        Server {
            running,
            bucket: bucket.into(),
            prefix: prefix.into(),
            _data: data,
        }
    }

    pub async fn ceph(s3: &S3Env, extra_server: &str) -> Server {
        let prefix = unique_prefix("uppy");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstate_secret = \"{STATE_SECRET}\"\n{extra_server}\n\n[s3]\n\
             endpoint = \"{}\"\nregion = \"{}\"\npath_style = true\naccess_key_id = \"{}\"\n\
             secret_access_key = \"{}\"\n{}",
            s3.endpoint,
            s3.region,
            s3.access_key,
            s3.secret_key,
            rest(&s3.bucket_a, &prefix)
        );
        Server::start(&text, &s3.bucket_a, &prefix).await
    }

    pub async fn embedded(extra_server: &str) -> Server {
        let prefix = unique_prefix("uppy");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstate_secret = \"{STATE_SECRET}\"\n{extra_server}\n{}",
            rest("uppy-embedded", &prefix)
        );
        Server::start(&text, "uppy-embedded", &prefix).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    /// The object's bytes, or None when there is none (signed by the server's own signer).
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let url = self
            .running
            .state
            .signer
            .presign_get(
                &self.bucket,
                key,
                Duration::from_secs(60),
                OffsetDateTime::now_utc(),
                &GetOptions::default(),
            )
            .expect("presign GET");
        let resp = client().get(&url).send().await.expect("GET");
        match resp.status().as_u16() {
            200 => Some(resp.bytes().await.expect("body").to_vec()),
            404 => None,
            s => panic!("GET {key}: {s} {}", resp.text().await.unwrap_or_default()),
        }
    }

    /// Every key stored under `folder` (below the test's prefix).
    pub async fn keys(&self, folder: &str) -> Vec<String> {
        let prefix = format!("{}{folder}", self.prefix);
        let page = list_objects(
            &S3Http::new(Duration::from_secs(30)).expect("S3 client"),
            &self.running.state.signer,
            OffsetDateTime::now_utc(),
            &ListQuery {
                bucket: &self.bucket,
                prefix: &prefix,
                delimiter: None,
                continuation: None,
                max_keys: 1000,
            },
        )
        .await
        .expect("list objects");
        page.contents.into_iter().map(|o| o.key).collect()
    }

    /// The body of ListMultipartUploads under `folder`.
    pub async fn open_uploads(&self, folder: &str) -> String {
        let prefix = format!("{}{folder}", self.prefix);
        let mut req = UrlRequest::new(Method::Get, &self.bucket, "", Duration::from_secs(60));
        req.query.push(("uploads", ""));
        req.query.push(("prefix", &prefix));
        let url = self
            .running
            .state
            .signer
            .presign(&req, OffsetDateTime::now_utc())
            .expect("presign list uploads");
        let resp = client().get(&url).send().await.expect("list uploads");
        let status = resp.status();
        let body = resp.text().await.expect("body");
        assert!(status.is_success(), "ListMultipartUploads: {status} {body}");
        body
    }
}

/// Signs the browser in as `user` with the cookie (Uppy 6 sends no header of its own).
pub async fn sign_in(b: &Browser, server: &Server, token: &str) {
    b.goto(&server.url("/healthz")).await;
    let cookie = fantoccini::cookies::Cookie::parse(format!(
        "signpost_token={token}; Path=/; Domain=127.0.0.1; SameSite=Lax"
    ))
    .expect("cookie");
    b.client.add_cookie(cookie).await.expect("add cookie");
}

/// `s` percent-encoded for a query value.
pub fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
