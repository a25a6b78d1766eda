//! Presigned URLs (GET, PUT, HEAD, DELETE, POST) with SigV4 query signing from `aws-sigv4`:
//! for one object, or for the bucket itself (ListObjectsV2), with signed query parameters (a
//! multipart upload's `?uploads`, `partNumber`, `uploadId`) and signed headers (a PUT that
//! S3 refuses at any other Content-Type or Content-Length).

use crate::error::{Error, Result};
use crate::signing::Signer;
use crate::wire::{iso8601, utc_seconds, MAX_EXPIRY, QUERY};
use aws_sigv4::http_request::{
    sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use percent_encoding::utf8_percent_encode;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use std::time::Duration;
use time::OffsetDateTime;

/// The HTTP method a presigned URL is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Download.
    Get,
    /// Upload with a body.
    Put,
    /// Metadata only.
    Head,
    /// Remove.
    Delete,
    /// Create or complete a multipart upload.
    Post,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Head => "HEAD",
            Method::Delete => "DELETE",
            Method::Post => "POST",
        }
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One URL to presign.
#[derive(Debug, Clone)]
pub struct UrlRequest<'a> {
    /// The method the URL is for.
    pub method: Method,
    /// The bucket.
    pub bucket: &'a str,
    /// The object key, unencoded; empty for the bucket itself.
    pub key: &'a str,
    /// How long the URL works: 1 s to 7 days.
    pub expires_in: Duration,
    /// Extra query parameters, unencoded (signed). An empty value is written as the bare
    /// name, as in `?uploads`.
    pub query: Vec<(&'a str, &'a str)>,
    /// Headers the client must send with exactly these values (signed).
    pub headers: Vec<(&'a str, &'a str)>,
    /// The exact body size the client must send as Content-Length (signed).
    pub content_length: Option<u64>,
}

impl<'a> UrlRequest<'a> {
    /// A request for `method` on `bucket`/`key`, valid for `expires_in`.
    pub fn new(method: Method, bucket: &'a str, key: &'a str, expires_in: Duration) -> Self {
        Self {
            method,
            bucket,
            key,
            expires_in,
            query: Vec::new(),
            headers: Vec::new(),
            content_length: None,
        }
    }

    /// Adds the query parameter `name=value` (signed; `value` may be empty).
    #[must_use]
    pub fn with_query(mut self, name: &'a str, value: &'a str) -> Self {
        self.query.push((name, value));
        self
    }

    /// Adds a header the client must send with exactly `value` (signed).
    #[must_use]
    pub fn with_header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The client must send exactly this Content-Type (signed).
    #[must_use]
    pub fn with_content_type(self, content_type: &'a str) -> Self {
        self.with_header("content-type", content_type)
    }

    /// The client must send exactly this many bytes (Content-Length, signed), so S3 refuses
    /// a body of any other size.
    #[must_use]
    pub fn with_content_length(mut self, bytes: u64) -> Self {
        self.content_length = Some(bytes);
        self
    }

    /// The headers the client must send, with their values: those given and Content-Length.
    pub fn signed_headers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .collect();
        if let Some(n) = self.content_length {
            out.push(("content-length".into(), n.to_string()));
        }
        out
    }
}

/// A presigned URL with what the client must send along. Serializes as
/// `{"url", "method", "headers": {name: value}, "expires_at"}` (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    /// The URL, signature included.
    pub url: String,
    /// The method it is good for.
    pub method: Method,
    /// Headers to send with exactly these values (lowercase names).
    pub headers: Vec<(String, String)>,
    /// When S3 stops accepting it.
    pub expires_at: OffsetDateTime,
}

struct HeaderMap<'a>(&'a [(String, String)]);

impl Serialize for HeaderMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for PresignedUrl {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PresignedUrl", 4)?;
        st.serialize_field("url", &self.url)?;
        st.serialize_field("method", &self.method)?;
        st.serialize_field("headers", &HeaderMap(&self.headers))?;
        st.serialize_field("expires_at", &iso8601(self.expires_at))?;
        st.end()
    }
}

/// Options for a presigned GET.
#[derive(Debug, Clone, Default)]
pub struct GetOptions<'a> {
    /// Makes S3 answer with this Content-Type.
    pub response_content_type: Option<&'a str>,
    /// Makes S3 answer with this Content-Disposition (e.g. `attachment; filename="a.pdf"`).
    pub response_content_disposition: Option<&'a str>,
}

impl Signer {
    /// Presigns `req` as of `now`, with the headers to send and the moment it expires.
    pub fn presign_url(&self, req: &UrlRequest<'_>, now: OffsetDateTime) -> Result<PresignedUrl> {
        Ok(PresignedUrl {
            url: self.presign(req, now)?,
            method: req.method,
            headers: req.signed_headers(),
            expires_at: utc_seconds(now) + req.expires_in,
        })
    }

    /// Presigns any request as of `now`: an object's URL, or the bucket's when `req.key` is
    /// empty.
    pub fn presign(&self, req: &UrlRequest<'_>, now: OffsetDateTime) -> Result<String> {
        if req.expires_in.is_zero() || req.expires_in > MAX_EXPIRY {
            return Err(Error::BadUrlExpiry(req.expires_in));
        }
        let mut url = if req.key.is_empty() {
            self.endpoint().bucket_url(req.bucket, self.region())
        } else {
            self.endpoint()
                .object_url(req.bucket, req.key, self.region())
        };
        let mut sep = '?';
        for (k, v) in &req.query {
            let _ = write!(url, "{sep}{}", utf8_percent_encode(k, QUERY));
            if !v.is_empty() {
                let _ = write!(url, "={}", utf8_percent_encode(v, QUERY));
            }
            sep = '&';
        }
        let content_length = req.content_length.map(|n| n.to_string());
        let headers = req
            .headers
            .iter()
            .copied()
            .chain(content_length.as_deref().map(|n| ("content-length", n)));

        let creds = self.creds();
        let identity = aws_credential_types::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token().map(str::to_string),
            None,
            "signpost",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(req.expires_in);
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region())
            .name("s3")
            .time(utc_seconds(now).into())
            .settings(settings)
            .build()
            .map_err(|e| Error::Signing(e.to_string()))?
            .into();
        let signable = SignableRequest::new(
            req.method.as_str(),
            url.as_str(),
            headers,
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| Error::Signing(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| Error::Signing(e.to_string()))?
            .into_parts();
        for (name, value) in instructions.params() {
            let _ = write!(url, "{sep}{name}={}", utf8_percent_encode(value, QUERY));
            sep = '&';
        }
        Ok(url)
    }

    /// A URL that downloads `bucket`/`key` until `now + expires_in`.
    pub fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
        now: OffsetDateTime,
        opts: &GetOptions<'_>,
    ) -> Result<String> {
        let mut req = UrlRequest::new(Method::Get, bucket, key, expires_in);
        if let Some(d) = opts.response_content_disposition {
            req.query.push(("response-content-disposition", d));
        }
        if let Some(t) = opts.response_content_type {
            req.query.push(("response-content-type", t));
        }
        self.presign(&req, now)
    }

    /// A URL that uploads `bucket`/`key` with PUT until `now + expires_in`; with
    /// `content_type`, the upload must send exactly that Content-Type.
    pub fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
        now: OffsetDateTime,
        content_type: Option<&str>,
    ) -> Result<String> {
        let mut req = UrlRequest::new(Method::Put, bucket, key, expires_in);
        if let Some(t) = content_type {
            req = req.with_content_type(t);
        }
        self.presign(&req, now)
    }
}

#[cfg(test)]
mod tests {
    //! Each expected URL is botocore 1.43.11's `generate_presigned_url` for the same operation
    //! at the same clock (path-style, http://127.0.0.1:9000, us-east-1, 3600 s).
    use super::*;
    use crate::{Credentials, Endpoint};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-14 15:09:26 UTC);
    const HOUR: Duration = Duration::from_secs(3600);
    const CREDENTIAL: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260314%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260314T150926Z&X-Amz-Expires=3600";

    fn signer() -> Signer {
        Signer::new(
            Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            "us-east-1",
            Endpoint::custom("http://127.0.0.1:9000", true).unwrap(),
        )
    }

    fn presign(req: UrlRequest<'_>) -> String {
        signer().presign(&req, NOW).unwrap()
    }

    #[test]
    fn bucket_level_list_objects_v2() {
        let req = UrlRequest::new(Method::Get, "uploads", "", HOUR)
            .with_query("list-type", "2")
            .with_query("prefix", "avatars/42/")
            .with_query("delimiter", "/")
            .with_query("continuation-token", "1/tok+en==")
            .with_query("encoding-type", "url");
        assert_eq!(
            presign(req),
            format!("http://127.0.0.1:9000/uploads?list-type=2&prefix=avatars%2F42%2F&delimiter=%2F&continuation-token=1%2Ftok%2Ben%3D%3D&encoding-type=url&{CREDENTIAL}&X-Amz-SignedHeaders=host&X-Amz-Signature=6ca6d0a0866a7e46e270a49dcf1c290e1e49196472464b2b8268602db276d4d1")
        );
    }

    #[test]
    fn empty_query_values_are_bare_names() {
        // botocore writes `uploads=`; S3 reads both alike, and the signature is the same.
        let req = UrlRequest::new(Method::Post, "uploads", "big/file.bin", HOUR)
            .with_query("uploads", "");
        assert_eq!(
            presign(req),
            format!("http://127.0.0.1:9000/uploads/big/file.bin?uploads&{CREDENTIAL}&X-Amz-SignedHeaders=host&X-Amz-Signature=1e95a804c1f318e825cf142e45d4f74ca69decc1b65d26d1b2f7dbe18692b392")
        );
    }

    #[test]
    fn multipart_part_and_completion() {
        let part = UrlRequest::new(Method::Put, "uploads", "big/file.bin", HOUR)
            .with_query("partNumber", "3")
            .with_query("uploadId", "2~abc/DEF+g");
        assert_eq!(
            presign(part),
            format!("http://127.0.0.1:9000/uploads/big/file.bin?partNumber=3&uploadId=2~abc%2FDEF%2Bg&{CREDENTIAL}&X-Amz-SignedHeaders=host&X-Amz-Signature=fda10309ec7fe16eb497b220db04bdf78ea7add811b37ac0120838831e62f825")
        );
        let complete = UrlRequest::new(Method::Post, "uploads", "big/file.bin", HOUR)
            .with_query("uploadId", "2~abc/DEF+g");
        assert_eq!(
            presign(complete),
            format!("http://127.0.0.1:9000/uploads/big/file.bin?uploadId=2~abc%2FDEF%2Bg&{CREDENTIAL}&X-Amz-SignedHeaders=host&X-Amz-Signature=eda5ce8e5f9ae82fb9958b1bbbbab9bcf96a41ab782e8f7b2e5b241689ad14c6")
        );
    }

    #[test]
    fn put_signs_content_type_and_length() {
        let req = UrlRequest::new(Method::Put, "uploads", "reports/q1.csv", HOUR)
            .with_content_type("text/csv")
            .with_content_length(1234);
        let signed = signer().presign_url(&req, NOW).unwrap();
        assert_eq!(
            signed.url,
            format!("http://127.0.0.1:9000/uploads/reports/q1.csv?{CREDENTIAL}&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Signature=2189e5091e5758f49cc03006ff882ddebbab25a55028bcbd408c76b4be1d0d6c")
        );
        assert_eq!(
            serde_json::to_value(&signed).unwrap(),
            serde_json::json!({
                "url": signed.url,
                "method": "PUT",
                "headers": {"content-type": "text/csv", "content-length": "1234"},
                "expires_at": "2026-03-14T16:09:26Z",
            })
        );
    }

    #[test]
    fn expiry_out_of_range_is_refused() {
        for d in [Duration::ZERO, MAX_EXPIRY + Duration::from_secs(1)] {
            let req = UrlRequest::new(Method::Get, "b", "k", d);
            let err = signer().presign(&req, NOW).unwrap_err();
            assert!(err.to_string().contains("7 days"), "{err}");
        }
    }
}
