//! The command line: `signpost sign`, `signpost presign`, `signpost serve`, `signpost store`,
//! `signpost doctor`.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use signpost::units::{parse_duration, parse_lifetime, parse_size, Lifetime};
use signpost::wire::iso8601;
use signpost::{
    Credentials, Endpoint, LintContext, Method, PostPolicy, PresignedUrl, Signer, UrlRequest,
};
use std::io::Write;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Browser uploads straight to S3 with signed POST policies, and presigned URLs.
#[derive(Debug, Parser)]
#[command(name = "signpost", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a POST policy and print the form (JSON, a curl line or an HTML page).
    Sign(SignArgs),
    /// Print a presigned GET, HEAD, PUT or DELETE URL for one object.
    Presign(PresignArgs),
    /// Run the upload server (with no config: demo profiles on an embedded S3 store).
    #[cfg(feature = "server")]
    Serve(signpost::server::ServeArgs),
    /// Run the embedded S3-compatible store on its own, printing its endpoint and keys (for tests; not for production).
    #[cfg(feature = "server")]
    Store(crate::store_cmd::StoreArgs),
    /// Check a config against its real S3 before going live: credentials, region, CORS, clock,
    /// credential lifetime, lifecycle, state_secret (one line each; exit 1 on any fail).
    #[cfg(feature = "server")]
    Doctor(signpost::server::doctor::DoctorArgs),
    /// Check uploads already in S3 as `/uploaded` does (type, size, real type from the first
    /// bytes) and remove any that breaks its profile; for bucket notification handlers, whose
    /// uploaders never came back to confirm (exit 1 when one was removed).
    #[cfg(feature = "server")]
    Verify(signpost::server::verify_cmd::VerifyArgs),
}

/// Where and how to sign: shared by `sign` and `presign`.
#[derive(Debug, Args)]
pub struct Target {
    /// S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: AWS S3).
    #[arg(long, env = "AWS_ENDPOINT_URL_S3")]
    endpoint: Option<String>,
    /// Region the signature is scoped to (default: AWS_REGION, the AWS profile, or us-east-1).
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,
    /// Put the bucket in the path (http://host/bucket) rather than the host name.
    /// On by default for custom endpoints; use --virtual-host to turn it off.
    #[arg(long, conflicts_with = "virtual_host")]
    path_style: bool,
    /// Put the bucket in the host name even on a custom endpoint.
    #[arg(long)]
    virtual_host: bool,
    /// Sign as of this instant (RFC 3339, e.g. 2026-03-14T15:09:26Z) for reproducible output.
    #[arg(long, value_parser = parse_instant)]
    at: Option<OffsetDateTime>,
}

/// Output formats of `sign`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// boto3's {"url": …, "fields": {…}}
    Json,
    /// a ready curl command
    Curl,
    /// a standalone HTML page with the form
    Html,
}

/// `signpost sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The bucket the form uploads to.
    #[arg(long)]
    bucket: String,
    /// The exact key, or a template with ${filename}.
    #[arg(
        long,
        required_unless_present = "key_prefix",
        conflicts_with = "key_prefix"
    )]
    key: Option<String>,
    /// Uploads land at this prefix plus the file's name; end it with `/`.
    #[arg(long)]
    key_prefix: Option<String>,
    /// Largest file accepted (5MiB, 20MB, or bytes).
    #[arg(long, value_parser = size, default_value = "5GiB")]
    max_size: u64,
    /// Smallest file accepted.
    #[arg(long, value_parser = size, default_value = "0")]
    min_size: u64,
    /// The exact Content-Type the upload must have.
    #[arg(long, conflicts_with = "content_type_prefix")]
    content_type: Option<String>,
    /// The uploader sets Content-Type, starting with this (e.g. image/).
    #[arg(long)]
    content_type_prefix: Option<String>,
    /// How long the form works (30s, 15m, 1h, 7d, or seconds).
    #[arg(long, value_parser = duration, default_value = "1h")]
    expires: Duration,
    /// Where S3 sends the browser (303) after the upload.
    #[arg(long, conflicts_with = "status")]
    redirect: Option<String>,
    /// The status S3 answers with: 200, 201 (with XML) or 204.
    #[arg(long)]
    status: Option<u16>,
    /// Metadata stored with the object, as name=value; repeatable.
    #[arg(long = "meta", value_parser = meta_pair)]
    meta: Vec<(String, String)>,
    /// The canned ACL (private, public-read, …).
    #[arg(long)]
    acl: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// The file named in the curl line (default: FILE, to replace).
    #[arg(long, default_value = "FILE")]
    file: String,
    #[command(flatten)]
    target: Target,
}

/// What a presigned URL lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UrlMethod {
    /// download
    Get,
    /// read the metadata only
    Head,
    /// upload with PUT
    Put,
    /// remove the object
    Delete,
}

/// Output formats of `presign`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UrlFormat {
    /// the URL alone
    Url,
    /// {"url", "method", "headers", "expires_at"}
    Json,
}

/// `signpost presign`
#[derive(Debug, Args)]
pub struct PresignArgs {
    /// get, head, put or delete.
    #[arg(value_enum)]
    method: UrlMethod,
    /// The object, as s3://BUCKET/KEY.
    object: String,
    /// How long the URL works (30s, 15m, 1h, 7d, or seconds; at most 7d), or when it stops
    /// (2026-12-25 for midnight UTC, 2026-12-25T12:00:00Z, or RFC 3339 with an offset).
    #[arg(long, value_parser = lifetime, default_value = "1h")]
    expires: Lifetime,
    /// Refuse (exit 1) instead of warning when the credentials expire before the URL would.
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "url")]
    format: UrlFormat,
    /// PUT only: the Content-Type the upload must send (signed).
    #[arg(long)]
    content_type: Option<String>,
    /// PUT only: the exact size in bytes the upload must have (signed; 5MiB, or bytes).
    #[arg(long, value_parser = size)]
    content_length: Option<u64>,
    /// GET only: make S3 answer with this Content-Type.
    #[arg(long)]
    response_content_type: Option<String>,
    /// GET only: make S3 answer with this Content-Disposition.
    #[arg(long)]
    response_content_disposition: Option<String>,
    #[command(flatten)]
    target: Target,
}

fn size(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}
fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}
fn lifetime(s: &str) -> Result<Lifetime, String> {
    parse_lifetime(s).map_err(|e| e.to_string())
}
fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| format!("`{s}` is not an RFC 3339 instant; write e.g. 2026-03-14T15:09:26Z"))
}
fn meta_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}` is not name=value; write e.g. --meta owner=alice"
        )),
    }
}

async fn credentials_and_region(t: &Target) -> Result<(Credentials, String)> {
    match Credentials::from_env() {
        Ok(c) => Ok((c, t.region.clone().unwrap_or_else(|| "us-east-1".into()))),
        #[cfg(feature = "aws-chain")]
        Err(_) => {
            let chain = signpost::credentials::chain::ChainProvider::load().await?;
            let creds = chain.credentials().await?;
            let region = t
                .region
                .clone()
                .or_else(|| chain.region().map(str::to_string))
                .unwrap_or_else(|| "us-east-1".into());
            Ok((creds, region))
        }
        #[cfg(not(feature = "aws-chain"))]
        Err(e) => Err(e.into()),
    }
}

async fn signer(t: &Target) -> Result<(Signer, OffsetDateTime)> {
    let (creds, region) = credentials_and_region(t).await?;
    let endpoint = match &t.endpoint {
        Some(url) => Endpoint::custom(url, !t.virtual_host)?,
        None => Endpoint::aws().with_path_style(t.path_style),
    };
    Ok((
        Signer::new(creds, region, endpoint),
        t.at.unwrap_or_else(OffsetDateTime::now_utc),
    ))
}

/// Runs `sign`.
pub async fn sign(a: SignArgs) -> Result<()> {
    let (signer, now) = signer(&a.target).await?;
    let mut b = PostPolicy::builder(&a.bucket)
        .expires_in(a.expires)
        .content_length_range(a.min_size, a.max_size);
    b = match (&a.key, &a.key_prefix) {
        (Some(k), _) => b.key(k),
        (None, Some(p)) => b.key_prefix(p),
        (None, None) => bail!("give --key or --key-prefix"),
    };
    if let Some(t) = &a.content_type {
        b = b.content_type(t);
    }
    if let Some(p) = &a.content_type_prefix {
        b = b.content_type_prefix(p);
    }
    if let Some(r) = &a.redirect {
        b = b.success_action_redirect(r);
    }
    if let Some(s) = a.status {
        b = b.success_action_status(s);
    }
    if let Some(acl) = &a.acl {
        b = b.acl(acl);
    }
    for (k, v) in &a.meta {
        b = b.meta(k, v);
    }
    let ctx = LintContext {
        now,
        credentials_expire_at: signer.credentials().expires_at(),
    };
    let report = b.lint(&ctx);
    for w in report.warnings() {
        eprintln!("warning: {w}");
    }
    if report.has_errors() {
        for e in report.errors() {
            eprintln!("error: {e}");
        }
        bail!("the policy was not signed");
    }
    let policy = b.build_with(&ctx)?;
    let post = signer.sign_post(&policy, now)?;
    let out = match a.format {
        Format::Json => serde_json::to_string_pretty(&post)?,
        Format::Curl => signpost::render::curl(&post, &policy, &a.file),
        Format::Html => signpost::render::html(&post, &policy),
    };
    writeln!(std::io::stdout(), "{out}").context("writing to stdout")?;
    Ok(())
}

/// Runs `presign`.
pub async fn presign(a: PresignArgs) -> Result<()> {
    let rest = a
        .object
        .strip_prefix("s3://")
        .with_context(|| format!("`{}` is not an s3://BUCKET/KEY address", a.object))?;
    let (bucket, key) = rest
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .with_context(|| {
            format!(
                "`{}` needs both a bucket and a key: s3://BUCKET/KEY",
                a.object
            )
        })?;
    let method = match a.method {
        UrlMethod::Get => Method::Get,
        UrlMethod::Head => Method::Head,
        UrlMethod::Put => Method::Put,
        UrlMethod::Delete => Method::Delete,
    };
    if method != Method::Put && (a.content_type.is_some() || a.content_length.is_some()) {
        bail!(
            "--content-type and --content-length fix what a PUT uploads; leave them out for {} (for GET, --response-content-type sets the answer's type)",
            method.as_str()
        );
    }
    if method != Method::Get
        && (a.response_content_type.is_some() || a.response_content_disposition.is_some())
    {
        bail!(
            "--response-content-* shape what a GET answers; leave them out for {} (for PUT, --content-type fixes the upload's type)",
            method.as_str()
        );
    }
    let (signer, now) = signer(&a.target).await?;
    let expires_in = a.expires.from(now)?;
    let mut req = UrlRequest::new(method, bucket, key, expires_in);
    if let Some(d) = &a.response_content_disposition {
        req = req.with_query("response-content-disposition", d);
    }
    if let Some(t) = &a.response_content_type {
        req = req.with_query("response-content-type", t);
    }
    if let Some(t) = &a.content_type {
        req = req.with_content_type(t);
    }
    if let Some(n) = a.content_length {
        req = req.with_content_length(n);
    }
    let url = signer.presign_url(&req, now)?;
    check_credentials(&signer.credentials(), &url, a.strict)?;
    let out = match a.format {
        UrlFormat::Url => url.url,
        UrlFormat::Json => serde_json::to_string_pretty(&url)?,
    };
    writeln!(std::io::stdout(), "{out}").context("writing to stdout")?;
    Ok(())
}

/// Warns (or with `strict`, fails) when the credentials expire before `url` would.
fn check_credentials(creds: &Credentials, url: &PresignedUrl, strict: bool) -> Result<()> {
    let Some(creds_end) = creds.expires_at().filter(|c| *c < url.expires_at) else {
        return Ok(());
    };
    let (creds_end, url_end) = (iso8601(creds_end), iso8601(url.expires_at));
    if strict {
        bail!(
            "the credentials expire at {creds_end}, before the URL would ({url_end}); give an --expires that ends by {creds_end}, or refresh the credentials first"
        );
    }
    eprintln!(
        "warning: the credentials expire at {creds_end}, before the URL would ({url_end}), so it stops working at {creds_end}; give a shorter --expires, or --strict to refuse"
    );
    Ok(())
}
