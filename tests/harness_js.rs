//! Smoke tests of the JavaScript test harness (`tests/js/`, `tests/support/node.rs`), with no
//! signpost routes involved: the real OpenID provider signs a person in through its login
//! form in real Chromium, the real Uppy bundle uploads under a strict CSP (PUT and multipart,
//! against tiny stand-in routes in this file), and axe-core finds a broken page broken.
//! When these pass, a failure in the sign-in or Uppy tests is about signpost, not the harness.
//!
//! Needs Node.js and `npm ci` in tests/js, Chromium and chromedriver: all installed by
//! `scripts/install-test-deps.sh`.

#![cfg(feature = "integration")]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use sha2::Digest as _;
use support::browser::{Driver, Js};
use support::http::client;
use support::node::{
    all_axe_violations, assert_accessible, axe_violations, harness_bytes, uppy_bundle, uppy_result,
    OidcProvider, UppyMode, UppyPage,
};
use tokio::sync::mpsc;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The CSP signpost's pages have (without S3 origins): no inline script, no inline style.
const STRICT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                          img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                          base-uri 'none'; frame-ancestors 'none'";

const WAIT: Duration = Duration::from_secs(20);

/// Serves `make(origin)` on `127.0.0.1:0`; returns the origin.
async fn serve(make: impl FnOnce(&str) -> Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let origin = format!("http://{}", listener.local_addr().expect("local addr"));
    let router = make(&origin);
    tokio::spawn(async move { axum::serve(listener, router).await.expect("test server") });
    origin
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

async fn get_json(url: &str) -> Value {
    let resp = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.json().await.expect("JSON body")
}

// ---------------------------------------------------------------------------------------------
// OpenID provider

#[tokio::test]
async fn oidc_provider_serves_discovery_and_jwks() {
    let op = OidcProvider::start("signpost", "a-secret", "http://127.0.0.1:9/cb");
    assert!(op.issuer.starts_with("http://127.0.0.1:"), "{}", op.issuer);
    let meta = get_json(&op.discovery_url()).await;
    assert_eq!(meta["issuer"], json!(op.issuer));
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
    ] {
        let url = meta[endpoint].as_str().unwrap_or_default();
        assert!(url.starts_with(&op.issuer), "{endpoint} = {url}");
    }
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert!(
        meta["claims_supported"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("groups"))),
        "groups is not a supported claim: {meta}"
    );
    let jwks = get_json(meta["jwks_uri"].as_str().expect("jwks_uri")).await;
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("a JWK set");
    assert!(
        set.keys
            .iter()
            .any(|k| DecodingKey::from_jwk(k).is_ok() && k.common.key_id.is_some()),
        "no usable signing key with a kid: {jwks}"
    );
    let users: Vec<(&str, &[String])> = op
        .users
        .iter()
        .map(|u| (u.username.as_str(), u.groups.as_slice()))
        .collect();
    assert_eq!(
        users,
        [
            ("alice", &["tier1".to_string()][..]),
            ("bob", &["tier2".to_string()][..])
        ]
    );
}

/// What the callback needs to redeem a code: set by the test before each sign-in.
#[derive(Clone, Default)]
struct Pending {
    token_endpoint: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    state: String,
    verifier: String,
}

#[derive(Clone)]
struct Callback {
    pending: Arc<Mutex<Pending>>,
    tokens: mpsc::UnboundedSender<Value>,
}

/// `/cb?code=…&state=…`: redeems the code at the token endpoint with the client secret and
/// the PKCE verifier, hands the token response to the test and shows who signed in.
async fn callback(
    State(cb): State<Callback>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let p = cb.pending.lock().expect("pending").clone();
    if let Some(err) = q.get("error") {
        return (
            StatusCode::BAD_REQUEST,
            format!("provider error: {err} {q:?}"),
        )
            .into_response();
    }
    if q.get("state") != Some(&p.state) {
        return (StatusCode::BAD_REQUEST, format!("wrong state: {q:?}")).into_response();
    }
    let code = q.get("code").cloned().unwrap_or_default();
    let resp = client()
        .post(&p.token_endpoint)
        .basic_auth(&p.client_id, Some(&p.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &p.redirect_uri),
            ("code_verifier", &p.verifier),
        ])
        .send()
        .await
        .expect("token request sent");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let _ = cb
        .tokens
        .send(json!({ "status": status.as_u16(), "body": body }));
    let who = body["id_token"]
        .as_str()
        .and_then(|t| t.split('.').nth(1))
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
        .map(|c| c["sub"].as_str().unwrap_or("?").to_string())
        .unwrap_or_else(|| "nobody".into());
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><title>Signed in</title><main><h1 id=\"who\">Signed in as {who}</h1></main></html>"
    ))
    .into_response()
}

/// Checks a JWT's signature against the provider's JWKS, its issuer and audience.
fn verify(jwt: &str, jwks: &JwkSet, issuer: &str, audience: &str) -> Value {
    let kid = decode_header(jwt).expect("JWT header").kid.expect("a kid");
    let jwk = jwks.find(&kid).expect("the kid is in the JWKS");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).expect("JWK"), &v)
        .unwrap_or_else(|e| panic!("JWT does not verify ({e}): {jwt}"))
        .claims
}

#[tokio::test]
async fn chromium_signs_in_through_the_providers_login_form_with_pkce() {
    let (tx, mut tokens) = mpsc::unbounded_channel();
    let pending = Arc::new(Mutex::new(Pending::default()));
    let cb = Callback {
        pending: Arc::clone(&pending),
        tokens: tx,
    };
    let origin = serve(|_| Router::new().route("/cb", get(callback)).with_state(cb)).await;
    let redirect_uri = format!("{origin}/cb");
    let op = OidcProvider::start("signpost-test", "client-secret-0123456789", &redirect_uri);
    let meta = get_json(&op.discovery_url()).await;
    let endpoint = |k: &str| meta[k].as_str().expect(k).to_string();
    let jwks: JwkSet = serde_json::from_value(get_json(&endpoint("jwks_uri")).await).expect("JWKS");

    // An authorization URL with a fresh state, nonce and PKCE pair; the callback learns them.
    let authorize = |resource: Option<&str>, pkce: bool| {
        let (state, nonce, verifier) = (random_token(), random_token(), random_token());
        *pending.lock().expect("pending") = Pending {
            token_endpoint: endpoint("token_endpoint"),
            client_id: op.client_id.clone(),
            client_secret: op.client_secret.clone(),
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            verifier: verifier.clone(),
        };
        let mut url = reqwest::Url::parse(&endpoint("authorization_endpoint")).expect("URL");
        url.query_pairs_mut()
            .append_pair("client_id", &op.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", "openid profile email")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce);
        if pkce {
            url.query_pairs_mut()
                .append_pair("code_challenge", &b64url(&sha2::Sha256::digest(&verifier)))
                .append_pair("code_challenge_method", "S256");
        }
        if let Some(r) = resource {
            url.query_pairs_mut().append_pair("resource", r);
        }
        (url.to_string(), nonce)
    };

    // PKCE is required: without a challenge the provider sends the browser back with an error.
    let (no_pkce, _) = authorize(None, false);
    let resp = client()
        .get(&no_pkce)
        .send()
        .await
        .expect("authorize without PKCE");
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        location.starts_with(&redirect_uri) && location.contains("error=invalid_request"),
        "an authorization request without PKCE was not refused: {} {location}",
        resp.status()
    );

    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("harness-oidc-login", async {
        // First sign-in asks for the JWT access token of the resource.
        let (url, nonce) = authorize(Some(&op.resource), true);
        b.goto(&url).await;
        let alice = op.user("alice");
        b.find("#username")
            .await
            .send_keys("alice")
            .await
            .expect("type");
        b.find("#password")
            .await
            .send_keys("not-her-password")
            .await
            .expect("type");
        b.find("#sign-in").await.click().await.expect("click");
        let err = b.text("#login-error").await;
        assert!(err.contains("Wrong username or password"), "{err}");
        b.find("#password")
            .await
            .send_keys(&alice.password)
            .await
            .expect("type");
        b.find("#sign-in").await.click().await.expect("click");
        b.wait_path("/cb").await;
        assert_eq!(b.text("#who").await, "Signed in as alice");

        let got = tokio::time::timeout(WAIT, tokens.recv())
            .await
            .expect("the callback redeemed the code")
            .expect("token response");
        assert_eq!(got["status"], 200, "token endpoint: {got}");
        let t = &got["body"];
        let id = verify(
            t["id_token"].as_str().expect("id_token"),
            &jwks,
            &op.issuer,
            &op.client_id,
        );
        assert_eq!(id["sub"], "alice");
        assert_eq!(id["groups"], json!(["tier1"]));
        assert_eq!(id["nonce"], json!(nonce));
        let at = verify(
            t["access_token"].as_str().expect("access_token"),
            &jwks,
            &op.issuer,
            &op.resource,
        );
        assert_eq!(at["sub"], "alice");
        assert_eq!(at["groups"], json!(["tier1"]));
        assert_eq!(at["client_id"], json!(op.client_id));

        // Second sign-in in the same browser: the provider's session answers at once (no
        // form), and without a resource the access token is opaque and good for userinfo.
        let (url, _) = authorize(None, true);
        b.goto(&url).await;
        b.wait_path("/cb").await;
        assert_eq!(b.text("#who").await, "Signed in as alice");
        let got = tokio::time::timeout(WAIT, tokens.recv())
            .await
            .expect("the callback redeemed the second code")
            .expect("token response");
        let at = got["body"]["access_token"].as_str().expect("access_token");
        assert_eq!(at.split('.').count(), 1, "expected an opaque token: {at}");
        let info: Value = client()
            .get(endpoint("userinfo_endpoint"))
            .bearer_auth(at)
            .send()
            .await
            .expect("userinfo")
            .json()
            .await
            .expect("userinfo JSON");
        assert_eq!(info["sub"], "alice", "{info}");
        assert_eq!(info["groups"], json!(["tier1"]), "{info}");
    })
    .await;
    b.close().await;
}

// ---------------------------------------------------------------------------------------------
// Uppy, against stand-ins for signpost's future routes

/// What the stand-in routes saw and stored.
#[derive(Default)]
struct Seen {
    presigns: Vec<Value>,
    creates: Vec<Value>,
    /// The `Authorization` header of each create.
    create_auth: Vec<Option<String>>,
    part_urls: Vec<u32>,
    parts: BTreeMap<u32, Vec<u8>>,
    objects: HashMap<String, (Option<String>, Vec<u8>)>,
}

#[derive(Clone)]
struct Stand {
    origin: String,
    seen: Arc<Mutex<Seen>>,
}

/// `POST /api/v1/presign`: a PUT URL on this server.
async fn presign(State(s): State<Stand>, Json(body): Json<Value>) -> Json<Value> {
    let key = format!("put/{}", uuid::Uuid::new_v4().simple());
    s.seen.lock().expect("seen").presigns.push(body);
    Json(json!({ "method": "PUT", "url": format!("{}/{key}", s.origin), "key": key }))
}

/// `PUT /put/{id}`: stores the body.
async fn put_object(
    State(s): State<Stand>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    s.seen
        .lock()
        .expect("seen")
        .objects
        .insert(format!("put/{id}"), (ct, body.to_vec()));
    [(header::ETAG, "\"put-etag\"")]
}

/// `POST /s3/multipart`: Companion's create.
async fn create_multipart(
    State(s): State<Stand>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let key = format!("mp/{}", body["filename"].as_str().unwrap_or("file"));
    let mut seen = s.seen.lock().expect("seen");
    seen.creates.push(body);
    seen.create_auth.push(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    );
    Json(json!({ "key": key, "uploadId": "upload-1" }))
}

/// `GET /s3/multipart/{uploadId}/{partNumber}?key=`: a part URL on this server.
async fn part_url(State(s): State<Stand>, Path((id, n)): Path<(String, u32)>) -> Json<Value> {
    s.seen.lock().expect("seen").part_urls.push(n);
    Json(json!({ "url": format!("{}/part/{id}/{n}", s.origin), "expires": 300 }))
}

/// `PUT /part/{uploadId}/{n}`: stores one part.
async fn put_part(
    State(s): State<Stand>,
    Path((_id, n)): Path<(String, u32)>,
    body: Bytes,
) -> impl IntoResponse {
    s.seen.lock().expect("seen").parts.insert(n, body.to_vec());
    [(header::ETAG, format!("\"etag-{n}\""))]
}

/// `POST /s3/multipart/{uploadId}/complete?key=`: joins the listed parts in order.
async fn complete(
    State(s): State<Stand>,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let mut seen = s.seen.lock().expect("seen");
    let mut joined = Vec::new();
    for p in body["parts"].as_array().cloned().unwrap_or_default() {
        let n = p["PartNumber"].as_u64().unwrap_or(0) as u32;
        if p["ETag"] != json!(format!("etag-{n}")) && p["ETag"] != json!(format!("\"etag-{n}\"")) {
            return (StatusCode::BAD_REQUEST, format!("bad part {p}")).into_response();
        }
        joined.extend_from_slice(&seen.parts[&n]);
    }
    let key = q.get("key").cloned().unwrap_or_default();
    seen.objects.insert(key.clone(), (None, joined));
    Json(json!({ "location": format!("{}/{key}", s.origin) })).into_response()
}

/// The built Uppy page under [`STRICT_CSP`] plus the stand-in routes, all on one origin.
async fn uppy_server() -> Stand {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let seen2 = Arc::clone(&seen);
    let dir = uppy_bundle();
    let origin = serve(move |origin| {
        let stand = Stand {
            origin: origin.to_string(),
            seen: seen2,
        };
        Router::new()
            .route("/api/v1/presign", post(presign))
            .route("/put/{id}", put(put_object))
            .route("/s3/multipart", post(create_multipart))
            .route("/s3/multipart/{id}/complete", post(complete))
            .route("/s3/multipart/{id}/{n}", get(part_url))
            .route("/part/{id}/{n}", put(put_part))
            .with_state(stand)
            .nest_service("/uppy", ServeDir::new(dir))
            .layer(DefaultBodyLimit::max(64 << 20))
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(STRICT_CSP),
            ))
    })
    .await;
    Stand { origin, seen }
}

#[tokio::test]
async fn uppy_bundle_loads_under_the_csp_and_uploads_by_put() {
    let stand = uppy_server().await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let size = 123_457;
    b.journey("harness-uppy-put", async {
        let page = UppyPage::new(UppyMode::Put, size)
            .profile("avatar")
            .name("photo.png")
            .content_type("image/png");
        b.goto(&format!("{}/uppy/{}", stand.origin, page.path()))
            .await;
        let r = uppy_result(&b.client, WAIT).await;
        assert_eq!(r["state"], "success", "{r:#}");
        assert_eq!(r["versions"]["core"], "6.3.1", "{r:#}");
        assert_eq!(r["versions"]["awsS3"], "6.3.1", "{r:#}");
        assert_eq!(
            b.js("return typeof window.Uppy + typeof window.AwsS3;", vec![])
                .await,
            "functionfunction"
        );
        assert_eq!(r["progress"]["bytesUploaded"], json!(size), "{r:#}");
        assert_eq!(r["file"]["meta"]["profile"], "avatar");
        assert_eq!(r["file"]["meta"]["size"], json!(size));
        assert_eq!(b.text("#status").await, "Upload complete");
    })
    .await;
    b.close().await;

    let seen = stand.seen.lock().expect("seen");
    assert_eq!(seen.presigns.len(), 1, "{:?}", seen.presigns);
    let p = &seen.presigns[0];
    assert_eq!(p["method"], "PUT");
    assert_eq!(p["size"], json!(size));
    assert_eq!(p["content_type"], "image/png");
    assert_eq!(p["profile"], "avatar");
    assert_eq!(p["filename"], "photo.png");
    let (ct, bytes) = seen.objects.values().next().expect("an object was PUT");
    assert_eq!(ct.as_deref(), Some("image/png"));
    assert!(
        *bytes == harness_bytes(size as usize),
        "stored {} bytes that differ from the page's file",
        bytes.len()
    );
}

#[tokio::test]
async fn uppy_multipart_uploads_in_parts_of_the_configured_size() {
    let stand = uppy_server().await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let mib = 1024 * 1024;
    let size = 2 * 6 * mib + 12_345; // two 6 MiB parts and a short last one
    b.journey("harness-uppy-multipart", async {
        let page = UppyPage::new(UppyMode::Multipart, size)
            .profile("document")
            .chunk(6 * mib)
            .headers(json!({ "authorization": "Bearer uppy6-token" }));
        b.goto(&format!("{}/uppy/{}", stand.origin, page.path()))
            .await;
        let r = uppy_result(&b.client, Duration::from_secs(60)).await;
        assert_eq!(r["state"], "success", "{r:#}");
        assert_eq!(r["parts"].as_array().map(Vec::len), Some(3), "{r:#}");
        assert_eq!(
            r["success"]["location"],
            json!(format!("{}/mp/harness-{size}.bin", stand.origin)),
            "{r:#}"
        );
    })
    .await;
    b.close().await;

    let seen = stand.seen.lock().expect("seen");
    let create = &seen.creates[0];
    assert_eq!(create["metadata"]["profile"], "document", "{create}");
    assert_eq!(create["metadata"]["size"], json!(size), "{create}");
    // Uppy 6 has no Companion headers option: the harness adds them.
    assert_eq!(seen.create_auth, [Some("Bearer uppy6-token".to_string())]);
    assert_eq!(seen.part_urls, [1, 2, 3]);
    let sizes: Vec<usize> = seen.parts.values().map(Vec::len).collect();
    assert_eq!(sizes, [6 * mib as usize, 6 * mib as usize, 12_345]);
    let (_, joined) = seen
        .objects
        .get(&format!("mp/harness-{size}.bin"))
        .expect("the upload was completed");
    assert!(
        *joined == harness_bytes(size as usize),
        "joined parts differ"
    );
}

#[tokio::test]
async fn uppy5_uploads_in_parts_through_endpoint_with_its_own_headers() {
    let stand = uppy_server().await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    let mib = 1024 * 1024;
    let size = 5 * mib + 1; // one full 5 MiB part and a 1-byte last part
    b.journey("harness-uppy5-multipart", async {
        let page = UppyPage::new(UppyMode::Multipart, size)
            .uppy5()
            .profile("document")
            .without_size_meta()
            .headers(json!({ "authorization": "Bearer uppy5-token" }));
        b.goto(&format!("{}/uppy/{}", stand.origin, page.path()))
            .await;
        let r = uppy_result(&b.client, Duration::from_secs(60)).await;
        assert_eq!(r["state"], "success", "{r:#}");
        assert!(
            r["versions"]["core"]
                .as_str()
                .is_some_and(|v| v.starts_with("5.")),
            "{r:#}"
        );
        assert_eq!(r["parts"].as_array().map(Vec::len), Some(2), "{r:#}");
    })
    .await;
    b.close().await;

    let seen = stand.seen.lock().expect("seen");
    assert_eq!(seen.create_auth, [Some("Bearer uppy5-token".to_string())]);
    let create = &seen.creates[0];
    assert_eq!(create["metadata"]["profile"], "document", "{create}");
    assert_eq!(create["metadata"].get("size"), None, "{create}");
    let sizes: Vec<usize> = seen.parts.values().map(Vec::len).collect();
    assert_eq!(sizes, [5 * mib as usize, 1]);
    let (_, joined) = seen
        .objects
        .get(&format!("mp/harness-{size}.bin"))
        .expect("the upload was completed");
    assert!(
        *joined == harness_bytes(size as usize),
        "joined parts differ"
    );
}

// ---------------------------------------------------------------------------------------------
// axe-core

const CLEAN_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>Clean</title></head><body><main><h1>Clean</h1><p>Nothing wrong here.</p>\
    <button type=\"button\">Save</button></main></body></html>";
const BROKEN_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>Broken</title></head><body><main><h1>Broken</h1>\
    <img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\">\
    <button type=\"button\" id=\"nameless\"></button></main></body></html>";

#[tokio::test]
async fn axe_passes_a_clean_page_and_reports_a_broken_one_under_the_csp() {
    let origin = serve(|_| {
        Router::new()
            .route("/clean", get(|| async { Html(CLEAN_PAGE) }))
            .route("/broken", get(|| async { Html(BROKEN_PAGE) }))
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(STRICT_CSP),
            ))
    })
    .await;
    let driver = Driver::start();
    let b = driver.browser(Js::On).await;
    b.journey("harness-axe", async {
        b.goto(&format!("{origin}/clean")).await;
        assert_accessible(&b.client, "the clean page").await;
        assert!(all_axe_violations(&b.client).await.is_empty());

        b.goto(&format!("{origin}/broken")).await;
        let found = axe_violations(&b.client).await;
        let ids: Vec<&str> = found.iter().map(|v| v.id.as_str()).collect();
        assert!(ids.contains(&"image-alt"), "{found:#?}");
        assert!(ids.contains(&"button-name"), "{found:#?}");
        let button = found
            .iter()
            .find(|v| v.id == "button-name")
            .expect("button-name");
        assert_eq!(button.targets, ["#nameless"]);
        let failed = std::panic::AssertUnwindSafe(assert_accessible(&b.client, "the broken page"));
        let outcome = futures_util::FutureExt::catch_unwind(failed).await;
        assert!(outcome.is_err(), "assert_accessible passed a broken page");
    })
    .await;
    b.close().await;
}
