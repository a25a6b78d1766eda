//! Presigned URLs (GET, PUT, HEAD, DELETE, POST) with SigV4 query signing from `aws-sigv4`.

use crate::endpoint::QUERY;
use crate::error::{Error, Result};
use crate::lint::MAX_EXPIRY;
use crate::signing::{utc_seconds, Signer};
use aws_sigv4::http_request::{
    sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use percent_encoding::utf8_percent_encode;
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
    /// Start or complete a multipart upload.
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
    /// Extra query parameters, unencoded (signed).
    pub query: Vec<(&'a str, &'a str)>,
    /// Headers the client must send with exactly these values (signed).
    pub headers: Vec<(&'a str, &'a str)>,
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
        }
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
    /// Presigns any request as of `now`.
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
            let _ = write!(
                url,
                "{sep}{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            );
            sep = '&';
        }

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
            req.headers.iter().copied(),
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
            req.headers.push(("content-type", t));
        }
        self.presign(&req, now)
    }
}
