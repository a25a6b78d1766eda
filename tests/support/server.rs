//! Helpers for the upload-server tests (`server_*`, `hostile_filenames`): configs, JWTs, a
//! oneshot router, a tiny HTML scraper for the pages' forms, and the checks every response
//! must pass (security headers, no injected markup).
//!
//! Included with `#[path = "support/server.rs"] mod server_support;` so it stays independent
//! of `support/mod.rs` (the S3 helpers).

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use reqwest::multipart::{Form, Part};
use signpost::server::config::Config;
use signpost::server::AppState;
use signpost::Credentials;
use time::OffsetDateTime;
use tower::ServiceExt as _;

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
        let h1 = text_of_tag(&self.body, "h1").expect("the page has a heading");
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

// ---------------------------------------------------------------------------------------------
// A tiny HTML scraper: enough for the server's own templates (askama escapes `<`, `>` and
// quotes inside values, so the next unquoted `>` ends a tag).

/// One start or end tag.
#[derive(Debug, Clone)]
pub struct Tag {
    /// Lower-case element name; end tags start with `/`.
    pub name: String,
    /// Attributes in order, values unescaped.
    pub attrs: Vec<(String, Option<String>)>,
    /// Byte offset of `<`.
    pub start: usize,
    /// Byte offset just past `>`.
    pub end: usize,
    /// The raw source of the tag.
    pub raw: String,
}

impl Tag {
    /// An attribute's value (`Some("")` for a bare attribute).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// True when `class` lists `c`.
    pub fn has_class(&self, c: &str) -> bool {
        self.attr("class")
            .is_some_and(|v| v.split_whitespace().any(|x| x == c))
    }
}

/// Every tag in `html`, in order (comments and doctype skipped).
pub fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        let mut j = start + 1;
        if html[j..].starts_with("!--") {
            i = html[j..].find("-->").map_or(b.len(), |e| j + e + 3);
            continue;
        }
        if j < b.len() && b[j] == b'!' {
            i = html[j..].find('>').map_or(b.len(), |e| j + e + 1);
            continue;
        }
        let closing = j < b.len() && b[j] == b'/';
        if closing {
            j += 1;
        }
        let name_end = html[j..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(b.len(), |e| j + e);
        let name = html[j..name_end].to_ascii_lowercase();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            // A stray `<` in text (only possible if something was not escaped).
            i = start + 1;
            continue;
        }
        let mut attrs = Vec::new();
        let mut k = name_end;
        loop {
            while k < b.len() && (b[k] as char).is_whitespace() || (k < b.len() && b[k] == b'/') {
                k += 1;
            }
            if k >= b.len() || b[k] == b'>' {
                break;
            }
            let an_end = html[k..]
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                .map_or(b.len(), |e| k + e);
            let an = html[k..an_end].to_ascii_lowercase();
            k = an_end;
            if k < b.len() && b[k] == b'=' {
                k += 1;
                let (v, next) = if k < b.len() && (b[k] == b'"' || b[k] == b'\'') {
                    let q = b[k] as char;
                    let e = html[k + 1..].find(q).map_or(b.len(), |e| k + 1 + e);
                    (&html[k + 1..e], (e + 1).min(b.len()))
                } else {
                    let e = html[k..]
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .map_or(b.len(), |e| k + e);
                    (&html[k..e], e)
                };
                attrs.push((an, Some(unescape(v))));
                k = next;
            } else {
                attrs.push((an, None));
            }
        }
        let end = (k + 1).min(b.len());
        out.push(Tag {
            name: if closing { format!("/{name}") } else { name },
            attrs,
            start,
            end,
            raw: html[start..end].to_string(),
        });
        i = end;
    }
    out
}

/// Decodes HTML character references (named basics, decimal and hex).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|&p| p <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..semi];
        let c = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text right after the first tag matching `pred`, up to the next tag, unescaped and
/// trimmed.
pub fn text_after(html: &str, pred: impl Fn(&Tag) -> bool) -> Option<String> {
    let t = tags(html).into_iter().find(|t| pred(t))?;
    let rest = &html[t.end..];
    let end = rest.find('<').unwrap_or(rest.len());
    Some(unescape(rest[..end].trim()))
}

/// The text of the first `<name>` element.
pub fn text_of_tag(html: &str, name: &str) -> Option<String> {
    text_after(html, |t| t.name == name)
}

/// The text of the element with `id`.
pub fn text_with_id(html: &str, id: &str) -> Option<String> {
    text_after(html, |t| t.attr("id") == Some(id))
}

/// The text of the first element with class `class`.
pub fn text_with_class(html: &str, class: &str) -> Option<String> {
    text_after(html, |t| t.has_class(class))
}

/// The upload form on `/upload/{profile}`, as a browser without JavaScript sees it.
#[derive(Debug, Clone)]
pub struct UploadForm {
    /// `action`: where the form posts (S3).
    pub action: String,
    /// Hidden inputs in document order.
    pub hidden: Vec<(String, String)>,
    /// The options of the `Content-Type` select, if it is a select.
    pub type_options: Vec<String>,
    /// The prefilled `Content-Type` text input, if it is one.
    pub type_text: Option<String>,
    /// The file input.
    pub file: Tag,
    /// Names of every form control, in order (`input`, `select`, `textarea`).
    pub control_names: Vec<String>,
}

/// Scrapes the upload form; panics with the page when it is not there.
pub fn upload_form(html: &str) -> UploadForm {
    let all = tags(html);
    let open = all
        .iter()
        .position(|t| t.name == "form" && t.attr("id") == Some("upload-form"))
        .unwrap_or_else(|| panic!("no upload form in:\n{html}"));
    let close = all[open..]
        .iter()
        .position(|t| t.name == "/form")
        .map(|p| open + p)
        .expect("the form is closed");
    let inner = &all[open + 1..close];
    let action = all[open].attr("action").expect("form action").to_string();
    assert_eq!(all[open].attr("method"), Some("post"));
    assert_eq!(all[open].attr("enctype"), Some("multipart/form-data"));
    let mut hidden = Vec::new();
    let mut type_options = Vec::new();
    let mut type_text = None;
    let mut file = None;
    let mut control_names = Vec::new();
    let mut in_type_select = false;
    for t in inner {
        match t.name.as_str() {
            "input" => {
                let name = t.attr("name").unwrap_or("").to_string();
                control_names.push(name.clone());
                match t.attr("type").unwrap_or("text") {
                    "hidden" => hidden.push((name, t.attr("value").unwrap_or("").to_string())),
                    "file" => file = Some(t.clone()),
                    _ if name == "Content-Type" => {
                        type_text = Some(t.attr("value").unwrap_or("").to_string())
                    }
                    _ => {}
                }
            }
            "select" | "textarea" => {
                let name = t.attr("name").unwrap_or("").to_string();
                in_type_select = t.name == "select" && name == "Content-Type";
                control_names.push(name);
            }
            "/select" => in_type_select = false,
            "option" if in_type_select => {
                type_options.push(t.attr("value").expect("option value").to_string())
            }
            _ => {}
        }
    }
    UploadForm {
        action,
        hidden,
        type_options,
        type_text,
        file: file.expect("the form has a file input"),
        control_names,
    }
}

/// Asserts that no tag carries script: the only `<script>` is the external app.js, and no
/// element has an event handler or a `javascript:` URL. Names and titles shown on the page
/// must therefore have been escaped.
#[track_caller]
pub fn assert_no_injected_markup(html: &str, what: &str) {
    for t in tags(html) {
        if t.name == "script" {
            assert!(
                t.attr("src").is_some_and(|s| s.starts_with("/static/")),
                "{what}: a script without a same-origin src: {}",
                t.raw
            );
        }
        for (n, v) in &t.attrs {
            assert!(!n.starts_with("on"), "{what}: event handler in {}", t.raw);
            if let Some(v) = v {
                assert!(
                    !v.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("javascript:"),
                    "{what}: javascript: URL in {}",
                    t.raw
                );
            }
        }
        assert!(
            !["img", "iframe", "svg", "object", "embed", "style"].contains(&t.name.as_str())
                || t.has_class("preview"),
            "{what}: unexpected <{}> element: {}",
            t.name,
            t.raw
        );
    }
    let lower = html.to_ascii_lowercase();
    assert_eq!(
        lower.matches("<script").count(),
        1,
        "{what}: exactly one script tag (app.js)"
    );
}

/// Percent-encodes a query value.
pub fn q(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A small valid PNG (1×1) followed by `extra` bytes of filler, so sizes are easy to choose.
pub fn png(extra: usize) -> Vec<u8> {
    use base64::Engine as _;
    let mut v = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        .expect("PNG");
    v.extend((0..extra).map(|i| (i % 251) as u8));
    v
}

/// A client that keeps redirects visible and sends `cookie` (name=value) when given.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// POSTs `fields` in order and then the file (as a browser does: file last) to `url`.
pub async fn post_multipart(
    url: &str,
    fields: &[(String, String)],
    file_name: &str,
    bytes: &[u8],
    part_type: &str,
) -> reqwest::Response {
    let mut form = Form::new().percent_encode_noop();
    for (n, v) in fields {
        form = form.text(n.clone(), v.clone());
    }
    let part = Part::bytes(bytes.to_vec())
        .file_name(file_name.to_string())
        .mime_str(part_type)
        .expect("MIME type");
    client()
        .post(url)
        .multipart(form.part("file", part))
        .send()
        .await
        .expect("POST to S3 sent")
}

/// The `Location` of a redirect, panicking with the body when the answer is not 303.
pub async fn expect_303(resp: reqwest::Response) -> String {
    let status = resp.status();
    let loc = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status.as_u16(), 303, "S3 should redirect: {body}");
    loc.expect("a 303 has a Location")
}

/// GETs `url` (optionally with a bearer token) and returns status and body.
pub async fn fetch(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("GET sent");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// GETs `url` and returns the bytes (panics unless 200).
pub async fn fetch_bytes(url: &str) -> Vec<u8> {
    let resp = client().get(url).send().await.expect("GET sent");
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body").to_vec();
    assert_eq!(
        status.as_u16(),
        200,
        "GET {url}: {}",
        String::from_utf8_lossy(&bytes)
    );
    bytes
}

/// What `/uploaded` shows for its first file.
#[derive(Debug)]
pub struct UploadedFile {
    pub key: String,
    pub size: String,
    pub content_type: String,
    pub view: String,
    pub download: String,
    pub preview: Option<String>,
}

/// Scrapes a verified `/uploaded` page; panics with the page when it is not one.
pub fn uploaded_file(html: &str) -> UploadedFile {
    assert_eq!(
        text_with_id(html, "done").as_deref(),
        Some("Upload verified"),
        "not a verified upload page:\n{html}"
    );
    let all = tags(html);
    let href = |class: &str| {
        all.iter()
            .find(|t| t.name == "a" && t.has_class(class))
            .and_then(|t| t.attr("href"))
            .unwrap_or_else(|| panic!("no a.{class} in:\n{html}"))
            .to_string()
    };
    UploadedFile {
        key: text_with_class(html, "key").expect("dd.key"),
        size: text_with_class(html, "size").expect("dd.size"),
        content_type: text_with_class(html, "type").expect("dd.type"),
        view: href("view"),
        download: href("download"),
        preview: all
            .iter()
            .find(|t| t.name == "img" && t.has_class("preview"))
            .and_then(|t| t.attr("src"))
            .map(str::to_string),
    }
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
