//! Helpers for the upload-server tests (`server_*`, `hostile_filenames`, ...): configs,
//! JWTs, a oneshot router and its answers, sign answers and policies, and the headers every
//! response must carry.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use signpost::server::config::Config;
use signpost::server::AppState;
use signpost::Credentials;
use time::OffsetDateTime;
use tower::ServiceExt as _;

use super::html::{text_of, text_with_id};

/// The state secret every test config uses (so tests can seal their own states).
pub const STATE_SECRET: &str = "test-state-secret-0123456789abcdef-0123";
/// The HS256 secret every JWT config uses.
pub const JWT_SECRET: &str = "test-jwt-hs256-secret-0123456789abcdef-XYZ";
/// The public URL of oneshot apps.
pub const ONESHOT_URL: &str = "http://127.0.0.1:8080";
/// An endpoint nothing listens on (the discard port): oneshot apps never reach it.
pub const DEAD_S3: &str = "http://127.0.0.1:9";

/// Parses config text with no environment overrides; panics with the error.
pub fn config(toml: &str) -> Config {
    Config::parse(toml, Path::new("."), &|_| None)
        .unwrap_or_else(|e| panic!("test config does not parse: {e}\n{toml}"))
}

/// The error a config gives.
pub fn config_error(toml: &str) -> signpost::server::config::ConfigError {
    match Config::parse(toml, Path::new("."), &|_| None) {
        Ok(_) => panic!("config should have been refused:\n{toml}"),
        Err(e) => e,
    }
}

/// SHA-256 hex of a token, as `[[auth.tokens]] sha256` wants it.
pub fn sha256_hex(token: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// An `[auth]` section of static tokens: `(token, user, roles)` each, stored as SHA-256, and
/// the cookie that may carry a token, when given.
pub fn tokens_auth(cookie: Option<&str>, tokens: &[(&str, &str, &[&str])]) -> String {
    let mut s = String::from("[auth]\nmode = \"tokens\"\n");
    if let Some(c) = cookie {
        s += &format!("cookie = \"{c}\"\n");
    }
    for (token, user, roles) in tokens {
        s += &format!(
            "\n[[auth.tokens]]\nsha256 = \"{}\"\nuser = \"{user}\"\nroles = {roles:?}\n",
            sha256_hex(token)
        );
    }
    s
}

/// An HS256 JWT for `sub` with `roles`, expiring `exp_in_secs` from now (negative: expired).
pub fn jwt_with(secret: &str, sub: &str, roles: &[&str], exp_in_secs: i64) -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "sub": sub,
        "roles": roles,
        "iat": now,
        "exp": now + exp_in_secs,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("JWT encodes")
}

/// A valid JWT (signed with [`JWT_SECRET`], one hour left).
pub fn jwt(sub: &str, roles: &[&str]) -> String {
    jwt_with(JWT_SECRET, sub, roles, 3600)
}

/// The app for oneshot tests: signs for a dead endpoint it never contacts.
pub async fn oneshot_app(config: Config) -> (Arc<AppState>, Router) {
    let state = AppState::new(
        config,
        ONESHOT_URL.into(),
        Some((
            DEAD_S3,
            Credentials::new("AKIDONESHOTTEST", "oneshot-test-secret-0123456789"),
        )),
    )
    .await
    .expect("app state builds");
    let state = Arc::new(state);
    let app = signpost::server::app(state.clone());
    (state, app)
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body on failure.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a JSON error `{error, message}` with `code`, returning the message.
    #[track_caller]
    pub fn json_error(&self, status: u16, code: &str) -> String {
        self.expect(status);
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "an API error is JSON: {:?}",
            self.headers
        );
        let j = self.json();
        assert_eq!(j["error"], code, "{}", self.body);
        let m = j["message"].as_str().expect("message is text").to_string();
        assert!(m.len() > 10, "the message says something: {m}");
        m
    }

    /// Asserts an HTML error page with `status` in words, returning the message shown.
    #[track_caller]
    pub fn page_error(&self, status: u16) -> String {
        self.expect(status);
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "a page error is HTML: {:?}",
            self.headers
        );
        let reason = StatusCode::from_u16(status)
            .expect("status")
            .canonical_reason()
            .expect("reason");
        let h1 = text_of(&self.body, "h1").expect("the page has a heading");
        assert_eq!(h1, format!("{status} {reason}"), "{}", self.body);
        text_with_id(&self.body, "error-message").expect("the page shows the reason")
    }
}

/// Sends one request through the router.
pub async fn call(app: &Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.expect("router answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .expect("body reads");
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A GET, with a bearer token when given.
pub fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::empty()).expect("request")
}

/// A DELETE, with a bearer token when given.
pub fn delete(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::delete(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::empty()).expect("request")
}

/// A JSON POST, with a bearer token when given.
pub fn post_json(uri: &str, token: Option<&str>, body: &serde_json::Value) -> Request<Body> {
    let mut b = Request::post(uri).header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_string())).expect("request")
}

/// The sign request body.
pub fn sign_body(filename: &str, content_type: &str, size: u64) -> serde_json::Value {
    serde_json::json!({"filename": filename, "content_type": content_type, "size": size})
}

/// Asserts the headers every response carries: a strict CSP, nosniff, a Referrer-Policy and
/// no framing.
#[track_caller]
pub fn assert_security_headers(headers: &HeaderMap, what: &str) {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {n} header in {headers:?}"))
            .to_string()
    };
    let csp = h("content-security-policy");
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{what}: CSP has no {name}: {csp}"))
            .to_string()
    };
    assert!(
        !csp.contains("unsafe-inline"),
        "{what}: CSP allows inline code: {csp}"
    );
    assert!(
        !csp.contains("unsafe-eval"),
        "{what}: CSP allows eval: {csp}"
    );
    assert!(
        directive("script-src")
            .split_whitespace()
            .any(|s| s == "'self'"),
        "{what}: {csp}"
    );
    assert_eq!(
        directive("frame-ancestors"),
        "frame-ancestors 'none'",
        "{what}"
    );
    assert!(directive("default-src").contains("'none'"), "{what}: {csp}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    let referrer = h("referrer-policy");
    assert!(
        [
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin"
        ]
        .contains(&referrer.as_str()),
        "{what}: Referrer-Policy {referrer} leaks URLs (presigned links carry signatures)"
    );
}

/// Percent-encodes a query value.
pub fn q(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The query value `name` in `url`, percent-decoded.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split(['&', '?']).find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// Swaps one character in the middle of the state's payload (keeps it base64url).
pub fn tamper(sealed: &str) -> String {
    let (payload, tag) = sealed.split_once('.').expect("state has a tag");
    let mut p: Vec<char> = payload.chars().collect();
    let i = p.len() / 2;
    p[i] = if p[i] == 'A' { 'B' } else { 'A' };
    format!("{}.{tag}", p.into_iter().collect::<String>())
}

/// The sealed state in an `/uploaded/{state}` URL.
pub fn state_of(uploaded_url: &str) -> String {
    let path = uploaded_url.split('?').next().expect("url");
    path.rsplit_once("/uploaded/")
        .expect("an /uploaded/ URL")
        .1
        .to_string()
}

/// `fields` as sent: a JSON object read in document order.
#[derive(Debug, Clone, Default)]
pub struct OrderedFields(pub Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for OrderedFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(OrderedFields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A `POST /api/v1/sign/{profile}` answer.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    pub method: String,
    pub url: String,
    pub fields: OrderedFields,
    pub key: String,
    pub expires_at: String,
    pub uploaded_url: String,
}

impl Signed {
    /// Parses a sign answer; panics with the body when it is not one.
    pub fn parse(body: &str) -> Signed {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not a sign answer ({e}): {body}"))
    }

    /// The value of form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The decoded policy document.
    pub fn policy(&self) -> serde_json::Value {
        decode_policy(self.field("policy").expect("a policy field"))
    }
}

/// Decodes a base64 policy document.
pub fn decode_policy(b64: &str) -> serde_json::Value {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("policy is base64");
    serde_json::from_slice(&bytes).expect("policy is JSON")
}

/// The policy's conditions, each as compact JSON text (for `contains` checks).
pub fn conditions(policy: &serde_json::Value) -> Vec<String> {
    policy["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| c.to_string())
        .collect()
}

/// A state this server would have issued for `user` on `profile` under `prefix`, expiring at
/// `e` (Unix seconds), sealed with [`STATE_SECRET`].
pub fn sealed(profile: &str, user: &str, prefix: &str, e: i64) -> String {
    signpost::server::testing::UploadState {
        p: profile.into(),
        u: user.into(),
        k: prefix.into(),
        e,
    }
    .seal(STATE_SECRET.as_bytes())
}
