//! `signpost store`: the embedded S3-compatible store on its own, like
//! `minio server`, for test suites and tools in any language.
//!
//! It prints its endpoint, region and keys (and `export` lines to paste) at
//! start. Keys come from the flags or the environment, else are generated.
//! Generated keys are only safe on loopback, so listening anywhere else
//! needs keys given explicitly.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use signpost::embedded::{EmbeddedConfig, EmbeddedS3};

/// `signpost store`
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Address to listen on; port 0 picks a free port (read it from the printed endpoint).
    /// Only loopback addresses, unless --access-key and --secret-key are given.
    #[arg(long, default_value = "127.0.0.1:9000", env = "SIGNPOST_STORE_LISTEN")]
    listen: SocketAddr,
    /// Folder holding the buckets and objects, as files (created if missing).
    #[arg(long, default_value = "signpost-data", env = "SIGNPOST_STORE_DATA_DIR")]
    data_dir: PathBuf,
    /// Region that requests must be signed for.
    #[arg(long, default_value = "us-east-1", env = "SIGNPOST_STORE_REGION")]
    region: String,
    /// A bucket to create at start if missing; repeat for several.
    #[arg(long = "bucket", value_name = "NAME")]
    buckets: Vec<String>,
    /// Access key id clients sign with (default: generated at each start).
    #[arg(long, env = "SIGNPOST_STORE_ACCESS_KEY", requires = "secret_key")]
    access_key: Option<String>,
    /// Its secret key (default: generated at each start).
    #[arg(
        long,
        env = "SIGNPOST_STORE_SECRET_KEY",
        requires = "access_key",
        hide_env_values = true
    )]
    secret_key: Option<String>,
    /// A browser origin allowed on every bucket (besides each bucket's own CORS rules); repeatable, or "*".
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
}

/// Runs the store until Ctrl-C or SIGTERM.
pub async fn run(args: StoreArgs) -> Result<()> {
    use tracing_subscriber::EnvFilter;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .try_init();
    let (access_key, secret_key) = match (args.access_key, args.secret_key) {
        (Some(a), Some(s)) => (a, s),
        _ if !args.listen.ip().is_loopback() => bail!(
            "refusing to listen on {} with generated keys: that address is reachable from \
             other machines. To listen beyond loopback, choose the keys yourself with \
             --access-key and --secret-key (or SIGNPOST_STORE_ACCESS_KEY and \
             SIGNPOST_STORE_SECRET_KEY); otherwise listen on 127.0.0.1:{}",
            args.listen,
            args.listen.port()
        ),
        _ => generated_keys(),
    };
    let store = EmbeddedS3::start(EmbeddedConfig {
        data_dir: args.data_dir.clone(),
        listen: args.listen,
        access_key,
        secret_key,
        region: args.region,
        buckets: args.buckets,
        cors_origins: args.cors_origins,
    })
    .await
    .with_context(|| {
        format!(
            "the store did not start (listen {}, data dir {})",
            args.listen,
            args.data_dir.display()
        )
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(store.banner().as_bytes())
        .and_then(|()| out.flush())
        .context("cannot print the store's banner to stdout")?;
    drop(out);
    signpost::server::shutdown_signal().await;
    eprintln!("signpost store: stopping (finishing requests in flight)");
    store.shutdown().await;
    Ok(())
}

/// A fresh key pair: an AWS-looking access key id and a 40-character secret.
fn generated_keys() -> (String, String) {
    let hex = |n: usize| {
        let mut s = String::new();
        while s.len() < n {
            s.push_str(&uuid::Uuid::new_v4().simple().to_string());
        }
        s.truncate(n);
        s
    };
    (format!("SIGNPOST{}", hex(12).to_ascii_uppercase()), hex(40))
}
