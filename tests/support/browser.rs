//! Headless Chromium driven through chromedriver, for the end-to-end journeys in `tests/e2e.rs`.
//!
//! Each test starts its own chromedriver (`--port=0`, the port read from its stdout) in a
//! process group of its own; dropping the [`Driver`] kills the whole group, so a failed or
//! panicking test leaves no browser behind. Every browser gets a fresh profile directory.
//! Waits poll with a deadline; nothing sleeps for a fixed time.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/install-test-deps.sh`).

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;

/// How long one condition may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long a whole journey may take before it fails (and its screenshot is saved).
pub const JOURNEY_LIMIT: Duration = Duration::from_secs(120);
/// Desktop and phone viewports.
pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";

/// A running chromedriver, in its own process group (which its browsers join).
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on a free port; panics with what to do when it cannot.
    pub fn start() -> Driver {
        let mut child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {CHROMEDRIVER}: {e}; install it with scripts/install-test-deps.sh \
                     (apt-get install chromium chromium-driver)"
                )
            });
        let stdout = child.stdout.take().expect("chromedriver stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Reads the port, then keeps draining stdout so chromedriver never blocks on it.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let mut driver = Driver {
            child,
            url: String::new(),
        };
        match rx.recv_timeout(WAIT) {
            Ok(port) if !port.is_empty() => driver.url = format!("http://127.0.0.1:{port}"),
            _ => panic!("chromedriver did not say which port it listens on within {WAIT:?}"),
        }
        driver
    }

    /// A new browser session (a fresh Chromium with its own profile) at the desktop size.
    pub async fn browser(&self, js: Js) -> Browser {
        let profile = TempDir::new().expect("temp dir for the Chromium profile");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-quic".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut prefs = json!({});
        if js == Js::Off {
            prefs = json!({ "profile.managed_default_content_settings.javascript": 2 });
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args, "prefs": prefs }),
        );
        let mut last = None;
        // Chromium's first start on a cold machine can be slow; a second try covers a
        // session request that timed out while the browser was still coming up.
        for _ in 0..2 {
            // chromedriver speaks plain HTTP on loopback: no TLS stack (and so no rustls
            // crypto-provider choice) is needed.
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        js,
                        _profile: profile,
                    }
                }
                Err(e) => last = Some(e),
            }
        }
        panic!("chromedriver could not start Chromium ({CHROMIUM}): {last:?}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group holds chromedriver and the Chromium processes it started.
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the page's JavaScript runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Js {
    On,
    Off,
}

/// One browser session.
pub struct Browser {
    pub client: Client,
    pub js: Js,
    _profile: TempDir,
}

/// `target/e2e/`, next to the test binary's profile folder.
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/e2e-HASH -> target
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    let dir = target.join("e2e");
    std::fs::create_dir_all(&dir).expect("create target/e2e");
    dir
}

impl Browser {
    /// Opens `url` (waits for the page to load).
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The current URL.
    pub async fn url(&self) -> reqwest::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// Waits until an element matches `css`.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element `{css}` appeared within {WAIT:?}: {e}"))
    }

    /// How many elements match `css` right now.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .len()
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something other than null, false, "" or 0, and
    /// returns that; panics naming `what` after [`WAIT`].
    pub async fn wait_js(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let last = match self.client.execute(script, vec![]).await {
                Ok(v) => {
                    let truthy = match &v {
                        Value::Null | Value::Bool(false) => false,
                        Value::String(s) => !s.is_empty(),
                        Value::Number(n) => n.as_f64() != Some(0.0),
                        _ => true,
                    };
                    if truthy {
                        return v;
                    }
                    v
                }
                // A navigation in progress can make a script fail; poll again.
                Err(e) => Value::String(format!("error: {e}")),
            };
            if Instant::now() > deadline {
                panic!("waited {WAIT:?} for {what}; last answer: {last}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's path starts with `prefix`; returns the URL.
    pub async fn wait_path(&self, prefix: &str) -> reqwest::Url {
        let deadline = Instant::now() + WAIT;
        loop {
            let u = self.url().await;
            if u.path().starts_with(prefix) {
                // Also wait for the new page to be loaded.
                if self.js == Js::Off
                    || self.js("return document.readyState", vec![]).await == "complete"
                {
                    return u;
                }
            }
            if Instant::now() > deadline {
                panic!("waited {WAIT:?} for a page under {prefix}; still on {u}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Chooses files in the file input `css` as a person would (absolute paths).
    pub async fn choose_files(&self, css: &str, files: &[&Path]) {
        let paths: Vec<String> = files
            .iter()
            .map(|p| p.canonicalize().expect("file exists").display().to_string())
            .collect();
        self.find(css)
            .await
            .send_keys(&paths.join("\n"))
            .await
            .unwrap_or_else(|e| panic!("choosing {paths:?}: {e}"));
    }

    /// Resizes the window so that the viewport is `w`×`h` CSS pixels (the headless window
    /// still counts some browser frame, so the difference is measured and added).
    pub async fn resize(&self, (w, h): (u32, u32)) {
        let set = |w: u32, h: u32| async move {
            self.client
                .set_window_size(w, h)
                .await
                .unwrap_or_else(|e| panic!("resizing to {w}x{h}: {e}"));
        };
        set(w, h).await;
        if let Ok(v) = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
        {
            let (iw, ih) = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0));
            if iw > 0 && ih > 0 && (iw, ih) != (u64::from(w), u64::from(h)) {
                let grow = |want: u32, got: u64| (u64::from(want) * 2).saturating_sub(got) as u32;
                set(grow(w, iw), grow(h, ih)).await;
            }
        }
    }

    /// Saves a screenshot of the viewport as `target/e2e/NAME.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = screenshot_dir().join(format!("{name}.png"));
        match self.client.screenshot().await {
            Ok(png) => {
                std::fs::write(&path, png).expect("write screenshot");
            }
            Err(e) => eprintln!("could not take screenshot {name}: {e}"),
        }
        path
    }

    /// Screenshots at desktop and phone widths (`NAME.png`, `NAME-phone.png`), then back to
    /// the desktop size.
    pub async fn screenshot_both_widths(&self, name: &str) {
        self.screenshot(name).await;
        self.resize(PHONE).await;
        self.screenshot(&format!("{name}-phone")).await;
        self.resize(DESKTOP).await;
    }

    /// Runs a journey: on success saves the final page as `NAME.png`; on a panic or after
    /// [`JOURNEY_LIMIT`], saves `NAME-FAILED.png` and fails the test with the cause.
    pub async fn journey(&self, name: &str, body: impl Future<Output = ()>) {
        let started = Instant::now();
        let _ = std::fs::remove_file(screenshot_dir().join(format!("{name}-FAILED.png")));
        self.resize(DESKTOP).await;
        let outcome =
            tokio::time::timeout(JOURNEY_LIMIT, AssertUnwindSafe(body).catch_unwind()).await;
        match outcome {
            Ok(Ok(())) => {
                self.screenshot(name).await;
                eprintln!("journey {name}: passed in {:.1?}", started.elapsed());
            }
            Ok(Err(panic)) => {
                let shot = self.screenshot(&format!("{name}-FAILED")).await;
                eprintln!(
                    "journey {name} failed; screenshot: {}\n{}",
                    shot.display(),
                    self.describe().await
                );
                std::panic::resume_unwind(panic);
            }
            Err(_) => {
                let shot = self.screenshot(&format!("{name}-FAILED")).await;
                panic!(
                    "journey {name} did not finish within {JOURNEY_LIMIT:?}; screenshot: {}\n{}",
                    shot.display(),
                    self.describe().await
                );
            }
        }
    }

    /// The current URL and the start of the page's text, for failure reports.
    async fn describe(&self) -> String {
        let url = match self.client.current_url().await {
            Ok(u) => u.to_string(),
            Err(e) => format!("(no URL: {e})"),
        };
        let text = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let text: String = text.chars().take(800).collect();
        format!("page: {url}\ntext: {text}")
    }

    /// Ends the session (Chromium quits); the driver's Drop cleans up if this is skipped.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
