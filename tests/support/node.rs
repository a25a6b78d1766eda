//! The JavaScript parts of the test suite, started from Rust: a real OpenID provider
//! (`oidc-provider`), the Uppy test page (Uppy bundled with esbuild) and axe-core's
//! accessibility check. They live in `tests/js/` (see its README) and run on the Node.js
//! packages that `scripts/install-test-deps.sh` installs with `npm ci`.
//!
//! Nothing here skips: when `node` or `tests/js/node_modules` is missing, the test fails and
//! says what to run.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde::Deserialize;
use serde_json::{json, Value};

/// How long a Node.js process may take to start, and the default wait for the Uppy page.
pub const NODE_WAIT: Duration = Duration::from_secs(20);

/// `tests/js/` in this checkout.
pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Panics with what to do unless `node` runs and `tests/js/node_modules` holds `packages`.
fn require_node_modules(packages: &[&str]) {
    static NODE: OnceLock<Result<String, String>> = OnceLock::new();
    let node = NODE.get_or_init(|| match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into()),
        Ok(out) => Err(format!("`node --version` failed: {}", out.status)),
        Err(e) => Err(format!("cannot run `node`: {e}")),
    });
    if let Err(e) = node {
        panic!(
            "{e}: the JavaScript test clients need Node.js; run scripts/install-test-deps.sh \
             (it installs Debian's nodejs and npm when missing, then runs npm ci in tests/js)"
        );
    }
    let modules = js_dir().join("node_modules");
    for p in packages {
        let dir = modules.join(p);
        if !dir.join("package.json").is_file() {
            panic!(
                "{} is not installed: run scripts/install-test-deps.sh (it runs `npm ci` in \
                 tests/js and tests/js/uppy5)",
                dir.display()
            );
        }
    }
}

/// Collects a child's stderr in the background, for failure messages.
fn drain_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    if let Some(mut err) = child.stderr.take() {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log.lock()
                    .expect("stderr log")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    log
}

// ---------------------------------------------------------------------------------------------
// OpenID provider

/// One account at the test provider.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcUser {
    pub username: String,
    pub password: String,
    pub groups: Vec<String>,
}

/// What the provider should allow; [`OidcProvider::start`] fills in the usual.
#[derive(Debug, Clone)]
pub struct OidcOptions {
    pub client_id: String,
    pub client_secret: String,
    /// Where the provider may send the browser back with a code.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser afterwards.
    pub post_logout_redirect_uris: Vec<String>,
    /// Every access token a JWT for [`OidcProvider::resource`], even when the client does
    /// not ask for the resource (without this, only a request with `resource=` gets one).
    pub jwt_access_tokens: bool,
}

impl OidcOptions {
    /// A client with one redirect URI, opaque access tokens unless a resource is requested.
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> OidcOptions {
        OidcOptions {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
            post_logout_redirect_uris: Vec::new(),
            jwt_access_tokens: false,
        }
    }
}

/// The first line `tests/js/oidc/provider.mjs` prints.
#[derive(Deserialize)]
struct Hello {
    issuer: String,
    resource: String,
    users: Vec<OidcUser>,
}

/// A running `oidc-provider` on `http://127.0.0.1:PORT`, stopped on drop. Users: `alice`
/// (group `tier1`) and `bob` (group `tier2`); see [`OidcProvider::user`].
pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`, also the `iss` of its tokens.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The resource indicator whose access tokens are JWTs (`aud`): `urn:signpost:api`.
    pub resource: String,
    pub users: Vec<OidcUser>,
    child: Child,
    _stdin: ChildStdin,
    stderr: Arc<Mutex<String>>,
}

impl OidcProvider {
    /// Starts the provider with one confidential client that may redirect to `redirect_uri`.
    pub fn start(client_id: &str, client_secret: &str, redirect_uri: &str) -> OidcProvider {
        OidcProvider::start_with(&OidcOptions::new(client_id, client_secret, redirect_uri))
    }

    /// Starts the provider as `opts` says; panics with its output when it cannot.
    pub fn start_with(opts: &OidcOptions) -> OidcProvider {
        require_node_modules(&["oidc-provider"]);
        let script = js_dir().join("oidc/provider.mjs");
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .args(["--client-id", &opts.client_id])
            .args(["--client-secret", &opts.client_secret]);
        for uri in &opts.redirect_uris {
            cmd.args(["--redirect-uri", uri]);
        }
        for uri in &opts.post_logout_redirect_uris {
            cmd.args(["--post-logout-redirect-uri", uri]);
        }
        if opts.jwt_access_tokens {
            cmd.arg("--jwt-access-tokens");
        }
        let mut child = cmd
            .current_dir(js_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node {}: {e}", script.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stderr = drain_stderr(&mut child);
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep reading so the provider never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(NODE_WAIT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the OpenID provider did not print its issuer within {NODE_WAIT:?} ({other:?}); \
                     its stderr:\n{}",
                    stderr.lock().expect("stderr log")
                );
            }
        };
        let hello: Hello = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the OpenID provider printed {line:?}: {e}"));
        OidcProvider {
            issuer: hello.issuer,
            client_id: opts.client_id.clone(),
            client_secret: opts.client_secret.clone(),
            resource: hello.resource,
            users: hello.users,
            child,
            _stdin: stdin,
            stderr,
        }
    }

    /// `ISSUER/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// The account named `username` (`alice` or `bob`).
    pub fn user(&self, username: &str) -> &OidcUser {
        self.users
            .iter()
            .find(|u| u.username == username)
            .unwrap_or_else(|| panic!("the test provider has no user {username}"))
    }

    /// What the provider wrote on stderr so far (warnings, server errors).
    pub fn log(&self) -> String {
        self.stderr.lock().expect("stderr log").clone()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Uppy

/// The folder the Uppy page is built into: `<target>/js/uppy/`.
fn uppy_out_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/NAME-HASH -> target
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    target.join("js/uppy")
}

/// Builds the Uppy test page once per test process and returns its folder, which holds
/// `index.html` (the page), `harness.js` (its script), `uppy.js` (Uppy 6 as one IIFE
/// setting `window.Uppy`, `window.AwsS3`) and `uppy5.js` (the same for Uppy 5). Serve the
/// folder as it is, same-origin.
pub fn uppy_bundle() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        require_node_modules(&[
            "esbuild",
            "@uppy/core",
            "@uppy/aws-s3",
            "../uppy5/node_modules/@uppy/aws-s3",
        ]);
        let out = uppy_out_dir();
        let script = js_dir().join("uppy/build.mjs");
        let output = Command::new("node")
            .arg(&script)
            .arg(&out)
            .current_dir(js_dir())
            .output()
            .unwrap_or_else(|e| panic!("cannot run node {}: {e}", script.display()));
        if !output.status.success() {
            panic!(
                "building the Uppy bundle failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        for f in ["index.html", "harness.js", "uppy.js", "uppy5.js"] {
            assert!(out.join(f).is_file(), "the Uppy build made no {f}");
        }
        out
    })
    .clone()
}

/// The bytes of the harness's generated file of `size` bytes: byte `i` is `i % 251`, so the
/// parts of a multipart upload all differ.
pub fn harness_bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// How the Uppy page uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UppyMode {
    /// `@uppy/aws-s3` with Companion's `GET /s3/params`: one POST form upload.
    Post,
    /// `signRequest` calling the presign URL (`POST /api/v1/presign`): one PUT.
    Put,
    /// `@uppy/aws-s3` with Companion's `/s3/multipart` routes, in parts of `chunk` bytes.
    Multipart,
}

impl UppyMode {
    fn as_str(self) -> &'static str {
        match self {
            UppyMode::Post => "post",
            UppyMode::Put => "put",
            UppyMode::Multipart => "multipart",
        }
    }
}

/// One upload on the Uppy page, as the query string of `index.html`.
#[must_use]
#[derive(Debug, Clone)]
pub struct UppyPage {
    params: Vec<(&'static str, String)>,
}

impl UppyPage {
    /// Uploads a generated file of `size` bytes in `mode`, to the page's own origin.
    pub fn new(mode: UppyMode, size: u64) -> UppyPage {
        UppyPage {
            params: vec![("mode", mode.as_str().into()), ("size", size.to_string())],
        }
    }
    fn set(mut self, key: &'static str, value: impl Into<String>) -> UppyPage {
        self.params.retain(|(k, _)| *k != key);
        self.params.push((key, value.into()));
        self
    }
    /// Uppy 5 (`uppy5.js`: `endpoint`, `headers`, `getUploadParameters`) instead of Uppy 6.
    pub fn uppy5(self) -> UppyPage {
        self.set("uppy", "5")
    }
    /// Companion endpoint (default: the page's origin); PUT mode's default presign URL is
    /// `ENDPOINT/api/v1/presign`.
    pub fn endpoint(self, url: &str) -> UppyPage {
        self.set("endpoint", url)
    }
    /// PUT mode's presign URL.
    pub fn presign(self, url: &str) -> UppyPage {
        self.set("presign", url)
    }
    /// Fields merged into PUT mode's presign request body.
    pub fn presign_extra(self, fields: Value) -> UppyPage {
        self.set("presignExtra", fields.to_string())
    }
    /// Headers on every request to the endpoint and presign URL: Uppy 5 sends them itself
    /// (its `headers` option); for Uppy 6, which has no such option, the harness adds them.
    pub fn headers(self, headers: Value) -> UppyPage {
        self.set("headers", headers.to_string())
    }
    /// `fetch` credentials for those requests (`include` sends cookies cross-origin).
    pub fn credentials(self, mode: &str) -> UppyPage {
        self.set("credentials", mode)
    }
    /// The file's name (default `harness-SIZE.bin`).
    pub fn name(self, name: &str) -> UppyPage {
        self.set("name", name)
    }
    /// The file's MIME type (default `application/octet-stream`).
    pub fn content_type(self, mime: &str) -> UppyPage {
        self.set("type", mime)
    }
    /// `meta.profile`.
    pub fn profile(self, profile: &str) -> UppyPage {
        self.set("profile", profile)
    }
    /// Leaves `meta.size` out (it is in by default).
    pub fn without_size_meta(self) -> UppyPage {
        self.set("metaSize", "0")
    }
    /// More meta fields.
    pub fn meta(self, meta: Value) -> UppyPage {
        self.set("meta", meta.to_string())
    }
    /// Multipart part size in bytes (Uppy raises anything under 5 MiB to 5 MiB).
    pub fn chunk(self, bytes: u64) -> UppyPage {
        self.set("chunk", bytes.to_string())
    }
    /// Waits for `window.__uppyStart()` instead of uploading at once.
    pub fn manual_start(self) -> UppyPage {
        self.set("autostart", "0")
    }
    /// `index.html?…` relative to the folder [`uppy_bundle`] built.
    pub fn path(&self) -> String {
        let mut q = reqwest::Url::parse("http://x/index.html").expect("static URL");
        q.query_pairs_mut()
            .extend_pairs(self.params.iter().map(|(k, v)| (*k, v.as_str())));
        format!("index.html?{}", q.query().unwrap_or(""))
    }
}

/// Polls `window.__uppyResult` until `done` and returns it; panics with its last value after
/// `limit`.
pub async fn uppy_result(client: &Client, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let last = client
            .execute("return window.__uppyResult || null;", vec![])
            .await
            .unwrap_or_else(|e| json!({ "script_error": e.to_string() }));
        if last["done"] == json!(true) {
            return last;
        }
        if Instant::now() > deadline {
            panic!(
                "the Uppy page did not finish within {limit:?}; window.__uppyResult = {}",
                serde_json::to_string_pretty(&last).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// axe-core

/// One rule that axe-core found broken on the page.
#[derive(Debug, Clone, Deserialize)]
pub struct AxeViolation {
    /// The rule, e.g. `image-alt`, `button-name`, `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    pub help: String,
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    /// A CSS selector for each offending element.
    pub targets: Vec<String>,
}

/// `node_modules/axe-core/axe.min.js`, read once.
fn axe_source() -> &'static str {
    static SRC: OnceLock<String> = OnceLock::new();
    SRC.get_or_init(|| {
        require_node_modules(&["axe-core"]);
        let path = js_dir().join("node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    })
}

/// Runs axe-core on the current page (injected through WebDriver, which the page's CSP does
/// not govern) and returns its `serious` and `critical` violations.
pub async fn axe_violations(client: &Client) -> Vec<AxeViolation> {
    all_axe_violations(client)
        .await
        .into_iter()
        .filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical")))
        .collect()
}

/// Every violation axe-core reports on the current page, whatever its impact.
pub async fn all_axe_violations(client: &Client) -> Vec<AxeViolation> {
    let loaded = client
        .execute(
            &format!("{}\n;return typeof window.axe === 'object';", axe_source()),
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("injecting axe-core into the page failed: {e}"));
    assert_eq!(loaded, json!(true), "axe-core did not define window.axe");
    let out = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               window.axe.run(document, { resultTypes: ['violations'] })
                 .then((r) => done(r.violations.map((v) => ({
                   id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                   targets: v.nodes.map((n) => n.target.join(' ')),
                 }))))
                 .catch((e) => done({ error: String(e && e.stack || e) }));"#,
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("running axe-core failed: {e}"));
    if let Some(err) = out.get("error") {
        panic!("axe-core failed on the page: {err}");
    }
    serde_json::from_value(out.clone()).unwrap_or_else(|e| panic!("axe-core answered {out}: {e}"))
}

/// Panics listing every serious or critical violation on the current page, naming `page`.
pub async fn assert_accessible(client: &Client, page: &str) {
    let found = axe_violations(client).await;
    if !found.is_empty() {
        let list: Vec<String> = found
            .iter()
            .map(|v| {
                format!(
                    "- {} ({}): {} at {:?}; {}",
                    v.id,
                    v.impact.as_deref().unwrap_or("?"),
                    v.help,
                    v.targets,
                    v.help_url
                )
            })
            .collect();
        panic!(
            "{page}: {} serious or critical accessibility violations:\n{}",
            found.len(),
            list.join("\n")
        );
    }
}
