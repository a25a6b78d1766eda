//! The test site for sign-in with OpenID Connect (`tests/oidc.rs`): signpost on Ceph in
//! `oidc` mode against its own `oidc-provider`, a sign-in without a browser (the provider's
//! form posted by hand) for API tokens, and axe-core on pages as they are without JavaScript.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use signpost::server::config::Config;
use signpost::server::{start, Running};
use tempfile::TempDir;

use super::browser::{Browser, Driver, Js};
use super::http::client;
use super::node::{assert_accessible, OidcOptions, OidcProvider};
use super::s3::{unique_prefix, S3Env};

pub const CLIENT_ID: &str = "signpost";
pub const CLIENT_SECRET: &str = "oidc-test-client-secret-0123456789";
pub const STATE_SECRET: &str = "oidc-test-state-secret-0123456789abcdef";

/// signpost on Ceph with `[auth] mode = "oidc"` against its own provider: `avatar` for group
/// tier1 (alice), `document` (several files) for tier2 (bob).
pub struct Site {
    pub running: Running,
    pub op: OidcProvider,
    pub prefix: String,
    _data: TempDir,
}

/// A port that was free a moment ago: the provider must know signpost's callback URL before
/// signpost can start (it reads the provider's discovery document at start).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Site {
    pub async fn start(s3: &S3Env, test: &str) -> Site {
        let port = free_port();
        let origin = format!("http://127.0.0.1:{port}");
        let mut opts =
            OidcOptions::new(CLIENT_ID, CLIENT_SECRET, &format!("{origin}/auth/callback"));
        opts.post_logout_redirect_uris = vec![format!("{origin}/signed-out")];
        let op = OidcProvider::start_with(&opts);
        let prefix = unique_prefix(test);
        let text = format!(
            r#"
[server]
listen = "127.0.0.1:{port}"
state_secret = "{STATE_SECRET}"

{s3_section}
[auth]
mode = "oidc"
roles_claim = "groups"

[auth.oidc]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"

[[profile]]
name = "avatar"
title = "Avatar"
bucket = "{bucket}"
key = "{prefix}avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
min_size = 1
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
roles = ["tier1"]

[[profile]]
name = "document"
title = "Document"
bucket = "{bucket}"
key = "{prefix}documents/{{user}}/{{uuid}}/${{filename}}"
max_size = "20MiB"
min_size = 1
content_types = ["application/pdf"]
roles = ["tier2"]
multiple = true
"#,
            s3_section = s3.s3_section(),
            issuer = op.issuer,
            bucket = s3.bucket_a,
        );
        let config = Config::parse(&text, Path::new("."), &|_| None)
            .unwrap_or_else(|e| panic!("test config refused: {e}\n{text}"));
        let data = TempDir::new().expect("temp dir");
        let running = start(config, data.path().to_path_buf(), None)
            .await
            .unwrap_or_else(|e| panic!("signpost did not start: {e}\nprovider: {}", op.log()));
        assert_eq!(running.url, origin);
        Site {
            running,
            op,
            prefix,
            _data: data,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `user` in at `op` without a browser (its login form, posted by hand, cookies kept by
/// hand) and redeems the code: the provider's token response. `resource` asks for a JWT
/// access token for that audience.
pub async fn tokens_from(
    op: &OidcProvider,
    redirect_uri: &str,
    user: &str,
    resource: Option<&str>,
) -> Value {
    let http = client();
    let meta: Value = http
        .get(op.discovery_url())
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("discovery JSON");
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut url =
        reqwest::Url::parse(meta["authorization_endpoint"].as_str().expect("authz")).expect("URL");
    url.query_pairs_mut()
        .append_pair("client_id", &op.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid api")
        .append_pair("state", "s")
        .append_pair("nonce", "n")
        .append_pair("code_challenge", &b64url(&sha2::Sha256::digest(&verifier)))
        .append_pair("code_challenge_method", "S256");
    if let Some(r) = resource {
        url.query_pairs_mut().append_pair("resource", r);
    }
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let password = op.user(user).password.clone();
    let mut posted = false;
    let code = 'flow: {
        for _ in 0..12 {
            let jar = cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let login_form = !posted && url.path().starts_with("/interaction/");
            let req = if login_form {
                posted = true;
                let action = url.join(&format!("{}/login", url.path())).expect("URL");
                http.post(action)
                    .form(&[("username", user), ("password", &password)])
            } else {
                http.get(url.clone())
            };
            let resp = req
                .header("cookie", jar)
                .send()
                .await
                .expect("provider request");
            for c in resp.headers().get_all("set-cookie") {
                let c = c.to_str().unwrap_or_default();
                if let Some((k, v)) = c.split(';').next().and_then(|p| p.split_once('=')) {
                    cookies.insert(k.trim().to_string(), v.to_string());
                }
            }
            let Some(loc) = resp.headers().get("location").and_then(|l| l.to_str().ok()) else {
                panic!(
                    "the provider stopped at {url} ({}): {}",
                    resp.status(),
                    resp.text().await.unwrap_or_default()
                );
            };
            let next = url.join(loc).expect("Location");
            if next.as_str().starts_with(redirect_uri) {
                let code = next
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned());
                break 'flow code.unwrap_or_else(|| panic!("no code: {next}"));
            }
            url = next;
        }
        panic!("the provider did not send a code back");
    };
    let resp = http
        .post(meta["token_endpoint"].as_str().expect("token endpoint"))
        .basic_auth(&op.client_id, Some(&op.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200, "token endpoint");
    resp.json().await.expect("token JSON")
}

/// A chromedriver command that runs a Chrome DevTools Protocol method.
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &reqwest::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.0, "params": self.1 });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// axe-core needs script to run, and a browser with JavaScript off runs none. The pages
/// without JavaScript are checked in a second browser that never loads the page's one script
/// (`/static/app.js` is blocked), carrying the same session cookie: the same DOM and styles a
/// person without JavaScript gets.
pub struct NoJsAxe {
    pub b: Browser,
    signed_in: bool,
}

impl NoJsAxe {
    pub async fn new(driver: &Driver, site: &Site, session: Option<&str>) -> NoJsAxe {
        let b = driver.browser(Js::On).await;
        b.client
            .issue_cmd(Cdp("Network.enable", serde_json::json!({})))
            .await
            .expect("CDP Network.enable");
        b.client
            .issue_cmd(Cdp(
                "Network.setBlockedURLs",
                serde_json::json!({ "urls": ["*/static/app.js"] }),
            ))
            .await
            .expect("CDP Network.setBlockedURLs");
        b.goto(&site.url("/signed-out")).await;
        if let Some(value) = session {
            b.client
                .issue_cmd(Cdp(
                    "Network.setCookie",
                    serde_json::json!({ "name": "signpost_session", "value": value,
                        "url": site.url("/"), "httpOnly": true, "sameSite": "Lax" }),
                ))
                .await
                .expect("CDP Network.setCookie");
        }
        NoJsAxe {
            b,
            signed_in: session.is_some(),
        }
    }

    pub async fn check(&self, url: &str, what: &str) {
        self.b.goto(url).await;
        self.b.find("main").await;
        assert_eq!(self.b.count("html.js").await, 0, "app.js ran for {what}");
        assert_eq!(
            self.b.count("#signed-in-as").await,
            usize::from(self.signed_in),
            "{what}: signed in or not as the journey is"
        );
        assert_accessible(&self.b.client, &format!("{what} (no JS)")).await;
    }
}
