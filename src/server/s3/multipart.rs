//! The server's own multipart calls to S3, each through a short-lived presigned URL:
//! CreateMultipartUpload (`POST ?uploads`), ListParts, CompleteMultipartUpload
//! (`POST ?uploadId` with the parts as XML) and AbortMultipartUpload. The browser uploads the
//! parts itself, with URLs from [`part_url`]. S3's XML answers are read with quick-xml's serde,
//! and its XML errors become the plain sentences of [`super::explain`].

use super::{explain, CALL_EXPIRY};
use crate::presign::{Method, UrlRequest};
use crate::Signer;
use std::fmt::Write as _;
use std::time::Duration;
use time::OffsetDateTime;

/// A failed multipart call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// S3 answered with an error: its code and the error in plain words.
    #[error("{words}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// S3's error code, e.g. `NoSuchUpload`, `EntityTooSmall`.
        code: String,
        /// What went wrong, in words.
        words: String,
    },
    /// S3 could not be reached or answered oddly.
    #[error("the storage did not answer as expected ({0}); try again shortly")]
    Unavailable(String),
}

/// What a new multipart upload is created with: the profile's settings, signed as headers.
#[derive(Debug, Clone, Default)]
pub struct CreateParams<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// The object's Content-Type.
    pub content_type: &'a str,
    /// `x-amz-meta-*` metadata.
    pub metadata: &'a [(String, String)],
    /// Canned ACL.
    pub acl: Option<&'a str>,
    /// Storage class.
    pub storage_class: Option<&'a str>,
    /// Server-side encryption.
    pub sse: Option<&'a str>,
}

/// One uploaded part, as ListParts tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Part {
    /// 1 to 10 000.
    pub part_number: u32,
    /// The part's ETag, quoted as S3 writes it.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ListPartsPage {
    #[serde(rename = "Part")]
    parts: Vec<Part>,
    is_truncated: bool,
    next_part_number_marker: Option<u32>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Initiated {
    upload_id: String,
}

/// What CompleteMultipartUpload answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Completed {
    /// The object's URL, as S3 gives it (may be empty on some stores).
    pub location: String,
    /// The object's ETag.
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// How long the server waits for CompleteMultipartUpload: S3 may take minutes to assemble a
/// large object.
pub const COMPLETE_WAIT: Duration = Duration::from_secs(300);

fn unavailable(e: impl std::fmt::Display) -> MultipartError {
    MultipartError::Unavailable(e.to_string())
}

/// Sends a signed request and returns the body of a 2xx answer; an S3 error in words otherwise.
async fn send(
    http: &super::S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    req: &UrlRequest<'_>,
    body: Option<String>,
    wait: Option<Duration>,
) -> Result<String, MultipartError> {
    let url = signer.presign(req, now).map_err(unavailable)?;
    let verb = reqwest::Method::from_bytes(req.method.as_str().as_bytes()).map_err(unavailable)?;
    let mut call = http.request(verb, &url);
    for (name, value) in &req.headers {
        call = call.header(*name, *value);
    }
    if let Some(b) = body {
        call = call.body(b);
    }
    if let Some(w) = wait {
        call = call.timeout(w);
    }
    let resp = http
        .send(call, now)
        .await
        .map_err(|e| unavailable(e.without_url()))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| unavailable(e.without_url()))?;
    // CompleteMultipartUpload may answer 200 with an <Error> body.
    if !status.is_success() || text.trim_start_matches("<?xml").contains("<Error>") {
        let (code, words) = explain(&text);
        return Err(MultipartError::Refused {
            status: status.as_u16(),
            code,
            words,
        });
    }
    Ok(text)
}

/// Starts a multipart upload with the profile's type, metadata and storage settings; returns
/// S3's upload id.
pub async fn create(
    http: &super::S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    p: &CreateParams<'_>,
) -> Result<String, MultipartError> {
    let meta_names: Vec<String> = p
        .metadata
        .iter()
        .map(|(k, _)| format!("x-amz-meta-{}", k.to_ascii_lowercase()))
        .collect();
    let mut req = UrlRequest::new(Method::Post, p.bucket, p.key, CALL_EXPIRY);
    req.query.push(("uploads", ""));
    req.headers.push(("content-type", p.content_type));
    for (name, (_, value)) in meta_names.iter().zip(p.metadata) {
        req.headers.push((name, value));
    }
    if let Some(acl) = p.acl {
        req.headers.push(("x-amz-acl", acl));
    }
    if let Some(sc) = p.storage_class {
        req.headers.push(("x-amz-storage-class", sc));
    }
    if let Some(sse) = p.sse {
        req.headers.push(("x-amz-server-side-encryption", sse));
    }
    let body = send(http, signer, now, &req, None, None).await?;
    let init: Initiated = quick_xml::de::from_str(&body)
        .map_err(|e| unavailable(format!("the new upload could not be read: {e}")))?;
    if init.upload_id.is_empty() {
        return Err(unavailable("the storage gave no upload id"));
    }
    Ok(init.upload_id)
}

/// A presigned URL for the browser to PUT part `part_number`; with `length`, S3 takes a body
/// of exactly that many bytes and no other.
pub fn part_url(
    signer: &Signer,
    now: OffsetDateTime,
    target: &Target<'_>,
    part_number: u32,
    length: Option<u64>,
    expires_in: Duration,
) -> crate::Result<String> {
    let n = part_number.to_string();
    let len = length.map(|l| l.to_string());
    let mut req = UrlRequest::new(Method::Put, target.bucket, target.key, expires_in);
    req.query.push(("partNumber", &n));
    req.query.push(("uploadId", target.upload_id));
    if let Some(l) = &len {
        req.headers.push(("content-length", l));
    }
    signer.presign(&req, now)
}

/// One multipart upload: where it goes and S3's id for it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// S3's upload id.
    pub upload_id: &'a str,
}

/// Every part uploaded so far, in order (all pages of ListParts).
pub async fn list_parts(
    http: &super::S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    t: &Target<'_>,
) -> Result<Vec<Part>, MultipartError> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    // 10 000 parts at 1 000 a page: at most 10 pages; one more guards against a store that
    // never stops saying "truncated".
    for _ in 0..11 {
        let mut req = UrlRequest::new(Method::Get, t.bucket, t.key, CALL_EXPIRY);
        req.query.push(("uploadId", t.upload_id));
        if let Some(m) = &marker {
            req.query.push(("part-number-marker", m));
        }
        let body = send(http, signer, now, &req, None, None).await?;
        let page: ListPartsPage = quick_xml::de::from_str(&body)
            .map_err(|e| unavailable(format!("the list of parts could not be read: {e}")))?;
        all.extend(page.parts);
        match (page.is_truncated, page.next_part_number_marker) {
            (true, Some(next)) => marker = Some(next.to_string()),
            _ => return Ok(all),
        }
    }
    Err(unavailable("the list of parts did not end"))
}

/// The CompleteMultipartUpload body for `parts` (number and ETag, in order).
pub fn complete_xml(parts: &[(u32, &str)]) -> String {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        let _ = write!(
            xml,
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
            quick_xml::escape::escape(*etag)
        );
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

/// Joins the parts into the object.
pub async fn complete(
    http: &super::S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    t: &Target<'_>,
    parts: &[(u32, &str)],
) -> Result<Completed, MultipartError> {
    let mut req = UrlRequest::new(Method::Post, t.bucket, t.key, CALL_EXPIRY);
    req.query.push(("uploadId", t.upload_id));
    let body = send(
        http,
        signer,
        now,
        &req,
        Some(complete_xml(parts)),
        Some(COMPLETE_WAIT),
    )
    .await?;
    quick_xml::de::from_str(&body)
        .map_err(|e| unavailable(format!("the completed upload could not be read: {e}")))
}

/// Abandons the upload and removes its parts; an upload that is already gone is fine.
pub async fn abort(
    http: &super::S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    t: &Target<'_>,
) -> Result<(), MultipartError> {
    let mut req = UrlRequest::new(Method::Delete, t.bucket, t.key, CALL_EXPIRY);
    req.query.push(("uploadId", t.upload_id));
    match send(http, signer, now, &req, None, None).await {
        Ok(_) => Ok(()),
        Err(MultipartError::Refused { code, .. }) if code == "NoSuchUpload" => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>a/b.bin</Key><UploadId>2~abc</UploadId></InitiateMultipartUploadResult>"#;
        let i: Initiated = quick_xml::de::from_str(xml).unwrap();
        assert_eq!(i.upload_id, "2~abc");
        let xml = r#"<ListPartsResult><Bucket>b</Bucket><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker><Part><PartNumber>1</PartNumber><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>5242880</Size></Part><Part><PartNumber>2</PartNumber><ETag>"e2"</ETag><Size>3</Size></Part></ListPartsResult>"#;
        let p: ListPartsPage = quick_xml::de::from_str(xml).unwrap();
        assert_eq!(p.parts.len(), 2);
        assert_eq!(p.parts[0].etag, "\"e1\"");
        assert_eq!(p.parts[1].size, 3);
        assert!(p.is_truncated);
        assert_eq!(p.next_part_number_marker, Some(2));
        let empty: ListPartsPage = quick_xml::de::from_str(
            "<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>",
        )
        .unwrap();
        assert!(empty.parts.is_empty());
        let c: Completed = quick_xml::de::from_str("<CompleteMultipartUploadResult><Location>http://s/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>").unwrap();
        assert_eq!(c.location, "http://s/b/k");
        assert_eq!(c.etag, "\"x-2\"");
    }

    #[test]
    fn complete_body_escapes_etags() {
        assert_eq!(
            complete_xml(&[(1, "\"a\""), (2, "<b>")]),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&lt;b&gt;</ETag></Part></CompleteMultipartUpload>"
        );
    }
}
