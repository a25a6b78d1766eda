//! Runs the embedded S3-compatible store on its own, for poking at it with
//! any S3 client (boto3, the AWS CLI, curl with a presigned URL).
//!
//! ```text
//! cargo run --example embedded_s3 -- [DATA_DIR] [LISTEN_ADDR]
//! ```
//!
//! Defaults: a `signpost-embedded-s3` directory in the system temp dir and
//! `127.0.0.1:0` (a free port). It prints one JSON line with the endpoint,
//! region, bucket and demo credentials, then serves until Ctrl-C.
//! `EMBEDDED_S3_CORS` may list allowed origins, comma-separated.

#[cfg(feature = "server")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use signpost::embedded::{EmbeddedConfig, EmbeddedS3};

    let mut args = std::env::args().skip(1);
    let data_dir = args.next().map_or_else(
        || std::env::temp_dir().join("signpost-embedded-s3"),
        Into::into,
    );
    let listen = args.next().as_deref().unwrap_or("127.0.0.1:0").parse()?;
    let cors_origins = std::env::var("EMBEDDED_S3_CORS")
        .map(|v| v.split(',').map(|o| o.trim().to_owned()).collect())
        .unwrap_or_default();

    let cfg = EmbeddedConfig {
        data_dir,
        listen,
        access_key: "AKIDSIGNPOSTDEMO".into(),
        secret_key: "signpost-demo-secret-not-for-production".into(),
        region: "us-east-1".into(),
        buckets: vec!["uploads".into()],
        cors_origins,
    };
    let store = EmbeddedS3::start(cfg.clone()).await?;
    let line = serde_json::json!({
        "endpoint": store.endpoint(),
        "region": cfg.region,
        "bucket": cfg.buckets[0],
        "access_key": cfg.access_key,
        "secret_key": cfg.secret_key,
        "data_dir": cfg.data_dir,
    });
    println!("{line}");

    tokio::signal::ctrl_c().await?;
    store.shutdown().await;
    Ok(())
}

#[cfg(not(feature = "server"))]
fn main() {
    eprintln!("this example needs the `server` feature");
}
