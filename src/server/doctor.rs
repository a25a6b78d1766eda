//! `signpost doctor`: checks a config against the real S3 it names before going live, one
//! line per check (`ok`, `warn` or `fail`, what was found, and the fix):
//!
//! 1. the credentials work: a signed HeadBucket on every bucket of a profile or access rule,
//!    in the configured region;
//! 2. each profile bucket's CORS lets `public_url`'s origin (and `allowed_origins`) POST, and
//!    PUT for multipart, with `ETag` exposed: real preflights, then the rules themselves;
//! 3. the local clock against S3's `Date` header;
//! 4. temporary credentials' remaining life against the longest form or link lifetime;
//! 5. a lifecycle rule that aborts abandoned multipart uploads on each profile bucket;
//! 6. `state_secret` is set when `public_url` is not loopback.
//!
//! The S3 calls go through short presigned URLs, like the server's own ([`super::s3`]). No
//! secret is ever printed. The pure parts (XML, preflight answers, the clock) are in
//! [`parse`].

mod calls;
pub mod parse;
mod verdicts;

use super::config::{Config, CredentialSource};
use super::s3::tag;
use super::state::AppState;
use crate::presign::{Method, UrlRequest};
use crate::Signer;
use calls::{Hints, S3};
use parse::{clock_skew, lifecycle_rule_xml, lifecycle_xml, preflight_allows};
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;
use verdicts::*;

/// `signpost doctor` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// The config file `signpost serve` runs with (TOML).
    #[arg(long, env = "SIGNPOST_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Why doctor checked nothing.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// No `--config`.
    #[error("doctor checks the S3 store a config names: pass the file `signpost serve` runs with, `signpost doctor --config signpost.toml` (or set SIGNPOST_CONFIG); the demo's embedded store (serve with no config, or no [s3]) needs no doctor")]
    NoConfig,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// Works, with a cost or a risk worth fixing.
    Warn,
    /// Will break uploads or links: fix before going live.
    Fail,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How it came out.
    pub level: Level,
    /// The check: `credentials`, `cors`, `clock`, `lifetimes`, `lifecycle`, `state_secret`.
    pub check: &'static str,
    /// What was found, and the fix.
    pub text: String,
    /// Something to paste (XML), printed indented under the line.
    pub paste: Option<String>,
}

impl Finding {
    fn new(level: Level, check: &'static str, text: impl Into<String>) -> Self {
        Self {
            level,
            check,
            text: text.into(),
            paste: None,
        }
    }

    fn paste(mut self, text: String) -> Self {
        self.paste = Some(text);
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<4}  {:<12} {}", self.level, self.check, self.text)?;
        if let Some(p) = &self.paste {
            write!(f, "\n        {p}")?;
        }
        Ok(())
    }
}

/// The findings, each written out as it comes.
pub struct Report<'a> {
    /// Every line so far.
    pub findings: Vec<Finding>,
    out: Option<&'a mut dyn Write>,
}

impl<'a> Report<'a> {
    /// A report that writes each line to `out` as it is found.
    pub fn new(out: Option<&'a mut dyn Write>) -> Self {
        Self {
            findings: Vec::new(),
            out,
        }
    }

    fn push(&mut self, f: Finding) {
        if let Some(out) = self.out.as_mut() {
            let _ = writeln!(out, "{f}");
        }
        self.findings.push(f);
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Fail)
    }

    /// `N ok, N warn, N fail`, and what that means.
    pub fn summary(&self) -> String {
        let n = |l| self.findings.iter().filter(|f| f.level == l).count();
        let verdict = if self.failed() {
            "fix the fail lines before going live"
        } else if n(Level::Warn) > 0 {
            "ready; the warn lines are worth a look"
        } else {
            "ready"
        };
        format!(
            "{} ok, {} warn, {} fail: {verdict}",
            n(Level::Ok),
            n(Level::Warn),
            n(Level::Fail)
        )
    }
}

/// Runs every check for `--config`, writing each line to `out` as it is found.
pub async fn run<'a>(
    args: &DoctorArgs,
    out: Option<&'a mut dyn Write>,
) -> Result<Report<'a>, DoctorError> {
    let path = args.config.as_ref().ok_or(DoctorError::NoConfig)?;
    let mut report = Report::new(out);
    match Config::load(path) {
        Ok(config) => check(config, &mut report).await,
        Err(e) => report.push(Finding::new(
            Level::Fail,
            "config",
            format!("{e} (in {})", path.display()),
        )),
    }
    Ok(report)
}

/// What a bucket is used for.
#[derive(Debug, Default)]
struct Bucket {
    name: String,
    /// Profiles uploading to it.
    profiles: Vec<String>,
    /// The fixed starts of those profiles' keys.
    key_prefixes: Vec<String>,
    /// Access rules over it.
    rules: Vec<String>,
    /// Whether an access rule issues PUT URLs for it.
    rule_put: bool,
}

impl Bucket {
    fn users(&self) -> String {
        let p = self.profiles.iter().map(|n| format!("profile `{n}`"));
        let r = self.rules.iter().map(|n| format!("access rule `{n}`"));
        p.chain(r).collect::<Vec<_>>().join(", ")
    }
}

fn buckets(config: &Config) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    fn entry<'b>(out: &'b mut Vec<Bucket>, name: &str) -> &'b mut Bucket {
        if let Some(i) = out.iter().position(|b| b.name == name) {
            return &mut out[i];
        }
        out.push(Bucket {
            name: name.into(),
            ..Bucket::default()
        });
        out.last_mut().expect("just pushed")
    }
    for p in &config.profiles {
        let b = entry(&mut out, &p.bucket);
        b.profiles.push(p.name.clone());
        let fixed = p
            .key_template
            .find(['{', '$'])
            .unwrap_or(p.key_template.len());
        b.key_prefixes.push(p.key_template[..fixed].to_string());
    }
    for r in &config.access {
        let b = entry(&mut out, &r.bucket);
        b.rules.push(r.name.clone());
        b.rule_put |= r.allow.contains(&super::access::Verb::Put);
    }
    out
}

/// Runs every check on a loaded config.
pub async fn check(config: Config, report: &mut Report<'_>) {
    let public_url = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    let secret_line = state_secret(&public_url, config.server.state_secret.is_some());
    let Some(s3) = config.s3.clone() else {
        report.push(Finding::new(
            Level::Ok,
            "store",
            "no [s3] section: `signpost serve` runs the embedded store, which needs no doctor; add [s3] to check a real store",
        ));
        report.push(secret_line);
        return;
    };
    let hints = Hints::of(&s3.credentials);
    let mut origins = vec![super::security::origin(&public_url)];
    for o in &config.server.allowed_origins {
        if !origins.contains(o) {
            origins.push(o.clone());
        }
    }
    let lifetimes = longest_lifetime(&config);
    let buckets = buckets(&config);
    let state = match AppState::new(config, public_url, None).await {
        Ok(s) => s,
        Err(e) => {
            report.push(Finding::new(
                Level::Fail,
                "credentials",
                format!("could not be loaded: {e}"),
            ));
            report.push(secret_line);
            return;
        }
    };
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            report.push(Finding::new(
                Level::Fail,
                "credentials",
                format!("no HTTP client: {e}"),
            ));
            return;
        }
    };
    let s3 = S3 {
        http,
        signer: &state.signer,
        hints,
    };

    // 1. Credentials and region, bucket by bucket; the answers' Date headers feed the clock.
    let mut usable = Vec::new();
    let mut clock = None;
    for b in &buckets {
        let (finding, date) = s3.head_bucket(b).await;
        clock = clock.or(date);
        if finding.level == Level::Ok {
            usable.push(b);
        }
        report.push(finding);
    }
    // 2. CORS on the buckets that forms (or PUT links) upload to.
    for b in buckets
        .iter()
        .filter(|b| !b.profiles.is_empty() || b.rule_put)
    {
        if !usable.iter().any(|u| u.name == b.name) {
            report.push(Finding::new(
                Level::Warn,
                "cors",
                format!(
                    "bucket {}: CORS and lifecycle not checked until its credentials line is ok",
                    b.name
                ),
            ));
            continue;
        }
        for origin in &origins {
            report.push(s3.cors(b, origin).await);
        }
    }
    // 3. The clock.
    report.push(match clock {
        Some((sent, received, date)) => clock_line(clock_skew(sent, received, date)),
        None => Finding::new(
            Level::Warn,
            "clock",
            "S3 sent no Date header to compare with; make sure this machine's clock is synced (chrony, `timedatectl set-ntp true`)",
        ),
    });
    // 4. Temporary credentials against the longest lifetime.
    let creds = state.signer.credentials();
    report.push(credential_life(
        creds.expires_at(),
        creds.session_token().is_some(),
        state.now(),
        &lifetimes,
    ));
    // 5. Lifecycle on profile buckets.
    for b in &usable {
        if !b.profiles.is_empty() {
            report.push(s3.lifecycle(b).await);
        }
    }
    // 6. state_secret.
    report.push(secret_line);
}

#[cfg(test)]
mod tests;
