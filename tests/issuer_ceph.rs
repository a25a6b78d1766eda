//! The issuer against a real S3 (Ceph RGW): the tiered issuer of the source documents, share
//! links with a chosen lifetime, presigned PUT with a signed type and size, DELETE, and
//! listing across pages. An administrator puts the objects with the S3 API; each test works
//! under its own root so they run in parallel.

#![cfg(feature = "integration")]

mod support;

use serde_json::{json, Value};
use signpost::server::Running;
use support::http::*;
use support::s3::{unique_prefix, S3Env};
use support::server::*;
use tempfile::TempDir;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

struct Issuer {
    running: Running,
    s3: S3Env,
    root: String,
    _data: TempDir,
}

impl Issuer {
    /// signpost on Ceph with JWT auth and the documents' two tiers under a fresh root.
    async fn start(test: &str, extra_rules: &str) -> Issuer {
        let s3 = S3Env::from_env();
        let root = unique_prefix(test);
        let toml = format!(
            r#"
[server]
listen = "127.0.0.1:0"
state_secret = "{STATE_SECRET}"

{s3_section}
[auth]
mode = "jwt"
[auth.jwt]
hs256_secret = "{JWT_SECRET}"

[[access]]
name = "tier-1"
bucket = "{bucket}"
prefix = "{root}tier 1/"
pattern = '\.jpg$'
roles = ["tier1", "tier2"]
allow = ["get", "head", "list"]
expires = "1h"
max_expires = "1d"

[[access]]
name = "tier-2"
bucket = "{bucket}"
prefix = "{root}tier 2/"
pattern = '\.jpg$'
roles = ["tier2"]
allow = ["get", "head", "list"]
expires = "1h"
max_expires = "1d"
{extra_rules}
"#,
            s3_section = s3.s3_section(),
            bucket = s3.bucket_a,
            extra_rules = extra_rules
                .replace("{root}", &root)
                .replace("{bucket}", &s3.bucket_a),
        );
        let data = TempDir::new().expect("temp dir");
        let running = signpost::server::start(config(&toml), data.path().to_path_buf(), None)
            .await
            .expect("server starts");
        Issuer {
            running,
            s3,
            root,
            _data: data,
        }
    }

    /// The administrator's PUT, straight to S3.
    async fn admin_put(&self, key: &str, bytes: &[u8]) {
        let t = "application/octet-stream";
        self.s3.put_object(&self.s3.bucket_a, key, t, bytes).await;
    }

    async fn stored(&self, key: &str) -> Option<Vec<u8>> {
        self.s3.object_bytes(&self.s3.bucket_a, key).await
    }

    /// `GET /api/v1/presign?key=…` as the documents' clients call it.
    async fn presign_get(&self, token: Option<&str>, key: &str, extra: &str) -> (u16, Value) {
        let url = format!("{}/api/v1/presign?key={}{extra}", self.running.url, q(key));
        let (status, body) = fetch(&url, token).await;
        (
            status,
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON: {body}")),
        )
    }

    async fn presign_post(&self, token: &str, body: Value) -> (u16, Value) {
        let r = client()
            .post(format!("{}/api/v1/presign", self.running.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("presign sent");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}")),
        )
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url.split_once('?')?.1.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn expires_at(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v["expires_at"].as_str().expect("expires_at"), &Rfc3339)
        .expect("RFC 3339")
}

/// The scenario of the source documents, as a test.
#[tokio::test]
async fn the_tiered_issuer_of_the_documents() {
    let t = Issuer::start("tiers", "").await;
    let cat = format!("{}tier 1/cute-cat.jpg", t.root);
    let super_cat = format!("{}tier 2/super-cute-cat.jpg", t.root);
    let notes = format!("{}tier 2/notes.txt", t.root);
    t.admin_put(&cat, b"a cute cat").await;
    t.admin_put(&super_cat, b"a super cute cat").await;
    t.admin_put(&notes, b"notes").await;
    let one = jwt("user-one", &["tier1"]);
    let two = jwt("user-two", &["tier2"]);

    // User one: tier 1 yes, with the documents' 3600 s, and the same bytes.
    let (status, v) = t.presign_get(Some(&one), &cat, "").await;
    assert_eq!(status, 200, "{v}");
    let url = v["url"].as_str().unwrap();
    assert_eq!(query_param(url, "X-Amz-Expires").as_deref(), Some("3600"));
    assert_eq!(fetch_bytes(url).await, b"a cute cat");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["bucket"], t.s3.bucket_a.as_str());
    // Tier 2: 403 JSON that says why.
    let (status, v) = t.presign_get(Some(&one), &super_cat, "").await;
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"], "forbidden");
    assert!(v["message"].as_str().unwrap().contains("tier2"), "{v}");
    // User two: both.
    for (key, bytes) in [
        (&cat, &b"a cute cat"[..]),
        (&super_cat, &b"a super cute cat"[..]),
    ] {
        let (status, v) = t.presign_get(Some(&two), key, "").await;
        assert_eq!(status, 200, "{key}: {v}");
        assert_eq!(fetch_bytes(v["url"].as_str().unwrap()).await, bytes);
    }
    // Not a .jpg: refused for both, by the pattern.
    for token in [&one, &two] {
        let (status, v) = t.presign_get(Some(token), &notes, "").await;
        assert_eq!(status, 403, "{v}");
        let m = v["message"].as_str().unwrap();
        assert!(m.contains("pattern") || m.contains("tier2"), "{m}");
    }
    let (status, v) = t.presign_get(Some(&two), &notes, "").await;
    assert!(
        v["message"].as_str().unwrap().contains("pattern"),
        "{status} {v}"
    );
    // No token: 401.
    let (status, v) = t.presign_get(None, &cat, "").await;
    assert_eq!(status, 401, "{v}");
    // Nor may anyone write or delete here.
    let (status, v) = t
        .presign_post(&two, json!({"method": "DELETE", "key": super_cat}))
        .await;
    assert_eq!(status, 403, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("DELETE is not allowed"),
        "{v}"
    );
    assert!(t.stored(&super_cat).await.is_some());
    t.running.shutdown().await;
}

#[tokio::test]
async fn share_links_last_what_was_asked_within_the_rule() {
    let t = Issuer::start("share", "").await;
    let cat = format!("{}tier 1/cat.jpg", t.root);
    t.admin_put(&cat, b"cat").await;
    let two = jwt("sharer", &["tier2"]);
    // A duration.
    let (_, v) = t.presign_get(Some(&two), &cat, "&expires=15m").await;
    assert_eq!(
        query_param(v["url"].as_str().unwrap(), "X-Amz-Expires").as_deref(),
        Some("900")
    );
    assert!(v.get("capped_by").is_none(), "{v}");
    // An absolute end: X-Amz-Expires is the time left until then.
    let end = (OffsetDateTime::now_utc() + time::Duration::hours(5))
        .replace_nanosecond(0)
        .unwrap();
    let (status, v) = t
        .presign_post(
            &two,
            json!({"key": cat, "expires_at": end.format(&Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let secs: i64 = query_param(v["url"].as_str().unwrap(), "X-Amz-Expires")
        .unwrap()
        .parse()
        .unwrap();
    assert!((5 * 3600 - 5..=5 * 3600).contains(&secs), "{secs}");
    assert_eq!(expires_at(&v), end);
    assert_eq!(fetch_bytes(v["url"].as_str().unwrap()).await, b"cat");
    // Beyond the rule's 1 day: capped, and the answer says so.
    let (_, v) = t
        .presign_post(&two, json!({"key": cat, "expires": "7d"}))
        .await;
    assert_eq!(v["capped_by"], "rule", "{v}");
    assert_eq!(
        query_param(v["url"].as_str().unwrap(), "X-Amz-Expires").as_deref(),
        Some("86400")
    );
    // Nonsense is a 400 that says what to write.
    let (status, v) = t
        .presign_post(&two, json!({"key": cat, "expires": "soon"}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("15m"), "{v}");
    t.running.shutdown().await;
}

const INBOX: &str = r#"
[[access]]
name = "inbox"
bucket = "{bucket}"
prefix = "{root}inbox/{user}/"
allow = ["get", "put", "delete", "list"]
content_types = ["text/csv", "application/pdf"]
max_size = 100
"#;

#[tokio::test]
async fn put_urls_sign_type_and_size_so_s3_refuses_others() {
    let t = Issuer::start("put", INBOX).await;
    let alice = jwt("alice", &[]);
    let key = format!("{}inbox/alice/report.csv", t.root);
    let body = b"a,b\n1,2\n";
    let (status, v) = t
        .presign_post(
            &alice,
            json!({"method": "PUT", "key": key, "content_type": "text/csv", "size": body.len()}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["headers"]["Content-Type"], "text/csv");
    assert_eq!(v["headers"]["Content-Length"], body.len().to_string());
    let url = v["url"].as_str().unwrap().to_string();
    // One byte more: refused by S3, nothing stored.
    let mut longer = body.to_vec();
    longer.push(b'\n');
    let r = client()
        .put(&url)
        .header("content-type", "text/csv")
        .body(longer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        403,
        "{}",
        r.text().await.unwrap_or_default()
    );
    assert!(t.stored(&key).await.is_none());
    // Another type: refused by S3, nothing stored.
    let r = client()
        .put(&url)
        .header("content-type", "text/html")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(t.stored(&key).await.is_none());
    // Exactly what was signed: stored.
    let r = client()
        .put(&url)
        .header("content-type", "text/csv")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    assert_eq!(t.stored(&key).await.as_deref(), Some(&body[..]));
    // The rule's limits are checked before signing.
    let (status, v) = t
        .presign_post(
            &alice,
            json!({"method": "PUT", "key": key, "content_type": "text/csv", "size": 101}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = t
        .presign_post(
            &alice,
            json!({"method": "PUT", "key": key, "content_type": "text/html", "size": 5}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // Not in someone else's inbox.
    let (status, _) = t
        .presign_post(&alice, json!({"method": "PUT", "key": format!("{}inbox/bob/x.csv", t.root), "content_type": "text/csv", "size": 5}))
        .await;
    assert_eq!(status, 403);
    t.running.shutdown().await;
}

#[tokio::test]
async fn delete_where_a_rule_allows_it_and_nowhere_else() {
    let t = Issuer::start("delete", INBOX).await;
    let alice = jwt("alice", &[]);
    let mine = format!("{}inbox/alice/old.pdf", t.root);
    let cat = format!("{}tier 1/cat.jpg", t.root);
    t.admin_put(&mine, b"%PDF-1.4").await;
    t.admin_put(&cat, b"cat").await;
    let (status, v) = t
        .presign_post(&alice, json!({"method": "DELETE", "key": mine}))
        .await;
    assert_eq!(status, 200, "{v}");
    let r = client()
        .delete(v["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(t.stored(&mine).await.is_none(), "really gone");
    let tier1 = jwt("reader", &["tier1"]);
    let (status, v) = t
        .presign_post(&tier1, json!({"method": "DELETE", "key": cat}))
        .await;
    assert_eq!(status, 403, "{v}");
    assert!(t.stored(&cat).await.is_some(), "really still there");
    t.running.shutdown().await;
}

#[tokio::test]
async fn listing_shows_only_what_the_rules_allow_across_pages() {
    let t = Issuer::start("list", "").await;
    for i in 0..5 {
        t.admin_put(&format!("{}tier 1/cat-{i}.jpg", t.root), b"c")
            .await;
    }
    t.admin_put(&format!("{}tier 1/readme.txt", t.root), b"r")
        .await;
    t.admin_put(&format!("{}tier 1/sub/kitten.jpg", t.root), b"k")
        .await;
    t.admin_put(&format!("{}tier 2/secret.jpg", t.root), b"s")
        .await;
    let one = jwt("lister", &["tier1"]);
    let mut keys = Vec::new();
    let mut folders = Vec::new();
    let mut continuation = String::new();
    let mut pages = 0;
    loop {
        let url = format!(
            "{}/api/v1/objects?prefix={}&delimiter=/&max_keys=2{}",
            t.running.url,
            q(&format!("{}tier 1/", t.root)),
            if continuation.is_empty() {
                String::new()
            } else {
                format!("&continuation={}", q(&continuation))
            }
        );
        let (status, body) = fetch(&url, Some(&one)).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        pages += 1;
        for o in v["objects"].as_array().unwrap() {
            keys.push(
                o["key"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(&t.root)
                    .to_string(),
            );
            assert!(
                o["size"].as_u64().is_some() && o["last_modified"].as_str().is_some(),
                "{o}"
            );
        }
        for f in v["folders"].as_array().unwrap() {
            folders.push(f.as_str().unwrap().trim_start_matches(&t.root).to_string());
        }
        match v["continuation"].as_str() {
            Some(c) => continuation = c.to_string(),
            None => break,
        }
    }
    assert!(pages >= 3, "more than one page: {pages}");
    keys.sort();
    assert_eq!(
        keys,
        (0..5)
            .map(|i| format!("tier 1/cat-{i}.jpg"))
            .collect::<Vec<_>>(),
        "no readme.txt (pattern)"
    );
    assert_eq!(folders, ["tier 1/sub/"]);
    // Tier 2 is not theirs to list.
    let url = format!(
        "{}/api/v1/objects?prefix={}",
        t.running.url,
        q(&format!("{}tier 2/", t.root))
    );
    let (status, body) = fetch(&url, Some(&one)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("tier 1/"), "says where they may list: {body}");
    t.running.shutdown().await;
}
