//! Where a bucket lives: AWS regional virtual-host URLs, path-style URLs for custom endpoints
//! (MinIO, Ceph, the embedded store), or virtual-host on a custom domain. No network calls.

use crate::error::{Error, Result};
use crate::wire::PATH;
use percent_encoding::utf8_percent_encode;

/// An S3 endpoint and its addressing style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: String,
    /// Host, with `:port` when not the default.
    host: String,
    aws: bool,
    path_style: bool,
}

impl Endpoint {
    /// AWS S3: `https://BUCKET.s3.REGION.amazonaws.com/` (`BUCKET.s3.amazonaws.com` in us-east-1).
    pub fn aws() -> Self {
        Self {
            scheme: "https".into(),
            host: String::new(),
            aws: true,
            path_style: false,
        }
    }

    /// A custom endpoint such as `http://127.0.0.1:9000` (MinIO, Ceph) or
    /// `https://ACCOUNT.r2.cloudflarestorage.com`. With `path_style` the bucket goes in the path;
    /// without it, in front of the host.
    pub fn custom(url: &str, path_style: bool) -> Result<Self> {
        let bad = || Error::BadEndpoint(url.to_string());
        let uri: http::Uri = url.parse().map_err(|_| bad())?;
        let scheme = uri
            .scheme_str()
            .filter(|s| *s == "http" || *s == "https")
            .ok_or_else(bad)?;
        let authority = uri.authority().ok_or_else(bad)?;
        if !uri.path().trim_end_matches('/').is_empty()
            || uri.query().is_some()
            || authority.as_str().contains('@')
        {
            return Err(bad());
        }
        Ok(Self {
            scheme: scheme.into(),
            host: authority.as_str().to_ascii_lowercase(),
            aws: false,
            path_style,
        })
    }

    /// AWS with path-style addressing: `https://s3.REGION.amazonaws.com/BUCKET`.
    #[must_use]
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.path_style = path_style;
        self
    }

    /// True when buckets go in the path.
    pub fn path_style(&self) -> bool {
        self.path_style
    }

    fn host_for(&self, bucket: &str, region: &str) -> String {
        // us-east-1 answers on the global name, as botocore addresses it.
        let s3 = if region == "us-east-1" {
            "s3".to_string()
        } else {
            format!("s3.{region}")
        };
        match (self.aws, self.path_style) {
            (true, false) => format!("{bucket}.{s3}.amazonaws.com"),
            (true, true) => format!("{s3}.amazonaws.com"),
            (false, false) => format!("{bucket}.{}", self.host),
            (false, true) => self.host.clone(),
        }
    }

    /// The URL a POST form for `bucket` is sent to.
    pub fn bucket_url(&self, bucket: &str, region: &str) -> String {
        let host = self.host_for(bucket, region);
        if self.path_style {
            format!("{}://{host}/{bucket}", self.scheme)
        } else {
            format!("{}://{host}/", self.scheme)
        }
    }

    /// The URL of an object, its key percent-encoded as S3 expects (no query).
    pub fn object_url(&self, bucket: &str, key: &str, region: &str) -> String {
        let host = self.host_for(bucket, region);
        let key = utf8_percent_encode(key, PATH);
        if self.path_style {
            format!("{}://{host}/{bucket}/{key}", self.scheme)
        } else {
            format!("{}://{host}/{key}", self.scheme)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_endpoint() {
        assert_eq!(
            Endpoint::aws().bucket_url("b", "eu-west-1"),
            "https://b.s3.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            Endpoint::aws()
                .with_path_style(true)
                .bucket_url("b", "eu-west-1"),
            "https://s3.eu-west-1.amazonaws.com/b"
        );
        let minio = Endpoint::custom("http://127.0.0.1:9000", true).unwrap();
        assert_eq!(
            minio.bucket_url("b", "us-east-1"),
            "http://127.0.0.1:9000/b"
        );
        assert_eq!(
            minio.object_url("b", "a b/c+d.png", "us-east-1"),
            "http://127.0.0.1:9000/b/a%20b/c%2Bd.png"
        );
        let domain = Endpoint::custom("https://files.example.com/", false).unwrap();
        assert_eq!(
            domain.bucket_url("b", "auto"),
            "https://b.files.example.com/"
        );
    }

    #[test]
    fn bad_endpoints_are_refused() {
        for url in [
            "127.0.0.1:9000",
            "ftp://x",
            "http://x/path",
            "not a url",
            "http://u:p@x",
        ] {
            assert!(Endpoint::custom(url, true).is_err(), "{url}");
        }
    }
}
