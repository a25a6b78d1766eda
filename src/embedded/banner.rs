//! The text `signpost store` (and `signpost serve` without `[s3]`) prints at
//! start, so any S3 client can be pointed at the store by pasting it.

use std::fmt::Write as _;

use super::EmbeddedConfig;

/// The banner for a store listening at `endpoint`.
pub(crate) fn render(endpoint: &str, cfg: &EmbeddedConfig) -> String {
    let mut out = String::new();
    let buckets = if cfg.buckets.is_empty() {
        "(none yet: create one with any S3 client)".to_owned()
    } else {
        cfg.buckets.join(", ")
    };
    let _ = writeln!(
        out,
        "S3-compatible store (for trying signpost and for tests, not for production)"
    );
    for (name, value) in [
        ("endpoint", endpoint),
        ("region", cfg.region.as_str()),
        ("access key", cfg.access_key.as_str()),
        ("secret key", cfg.secret_key.as_str()),
        ("data dir", &cfg.data_dir.display().to_string()),
        ("buckets", &buckets),
    ] {
        let _ = writeln!(out, "  {name:<11} {value}");
    }
    let _ = writeln!(
        out,
        "Paste into a shell for the AWS CLI, boto3, aws-sdk-js and signpost sign/presign:"
    );
    for (var, value) in [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ENDPOINT_URL_S3", endpoint),
        ("AWS_ACCESS_KEY_ID", cfg.access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", cfg.secret_key.as_str()),
        ("AWS_REGION", cfg.region.as_str()),
    ] {
        let _ = writeln!(out, "export {var}={}", shell_quote(value));
    }
    out
}

/// `value` as one shell word.
fn shell_quote(value: &str) -> String {
    let plain = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./:+=@,".contains(&b));
    if plain && !value.is_empty() {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("AKID/x+y="), "AKID/x+y=");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn banner_has_the_export_block() {
        let cfg = EmbeddedConfig {
            data_dir: "/tmp/d".into(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            access_key: "AK".into(),
            secret_key: "SK".into(),
            region: "us-east-1".into(),
            buckets: vec![],
            cors_origins: vec![],
        };
        let text = render("http://127.0.0.1:9", &cfg);
        assert!(
            text.contains("export AWS_ENDPOINT_URL=http://127.0.0.1:9\n"),
            "{text}"
        );
        assert!(text.contains("export AWS_SECRET_ACCESS_KEY=SK\n"), "{text}");
        assert!(text.contains("export AWS_REGION=us-east-1\n"), "{text}");
    }
}
