//! The server's own S3 calls (a SigV4-presigned HEAD to verify an upload, DELETE to remove a
//! refused one, a listing, and the [`multipart`] calls) and S3's XML errors turned into plain
//! words.

mod http;
pub mod multipart;

pub use http::{http_date, S3Http, SKEW_LIMIT};

use crate::presign::{Method, UrlRequest};
use crate::units::format_size;
use crate::Signer;
use std::time::Duration;
use time::OffsetDateTime;

/// What HEAD tells about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// Stored Content-Type.
    pub content_type: String,
}

/// A failed S3 call, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3Error {
    /// No such object.
    #[error("no object was found at `{0}`; the upload did not arrive, so try again")]
    NotFound(String),
    /// S3 could not be reached or answered oddly.
    #[error("the storage did not answer as expected ({0}); try again shortly")]
    Unavailable(String),
}

/// How long the URL of one of the server's own calls works.
const CALL_EXPIRY: Duration = Duration::from_secs(60);

/// Sends `method` on `bucket`/`key` through a short-lived presigned URL.
async fn call(
    http: &S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    method: Method,
    bucket: &str,
    key: &str,
) -> Result<reqwest::Response, S3Error> {
    let url = signer
        .presign(&UrlRequest::new(method, bucket, key, CALL_EXPIRY), now)
        .map_err(|e| S3Error::Unavailable(e.to_string()))?;
    let verb = reqwest::Method::from_bytes(method.as_str().as_bytes())
        .map_err(|e| S3Error::Unavailable(e.to_string()))?;
    http.send(http.request(verb, &url), now)
        .await
        .map_err(|e| S3Error::Unavailable(e.without_url().to_string()))
}

/// Sends `call` and reads the answer's status and body.
async fn send_for_text(
    http: &S3Http,
    call: reqwest::RequestBuilder,
    now: OffsetDateTime,
) -> Result<(reqwest::StatusCode, String), S3Error> {
    let unavailable = |e: reqwest::Error| S3Error::Unavailable(e.without_url().to_string());
    let resp = http.send(call, now).await.map_err(unavailable)?;
    let status = resp.status();
    Ok((status, resp.text().await.map_err(unavailable)?))
}

/// HEADs `bucket` for the answer's `Date` only (see [`S3Http::observe`]); any status will do.
pub async fn probe(http: &S3Http, signer: &Signer, now: OffsetDateTime, bucket: &str) {
    let _ = call(http, signer, now, Method::Head, bucket, "").await;
}

/// HEADs `bucket`/`key` with a presigned URL.
pub async fn head_object(
    http: &S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    bucket: &str,
    key: &str,
) -> Result<ObjectInfo, S3Error> {
    let resp = call(http, signer, now, Method::Head, bucket, key).await?;
    match resp.status().as_u16() {
        200 => {
            let h = resp.headers();
            let text = |n: &str| {
                h.get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            Ok(ObjectInfo {
                size: text("content-length").parse().unwrap_or(0),
                content_type: text("content-type"),
            })
        }
        404 => Err(S3Error::NotFound(key.to_string())),
        s => Err(S3Error::Unavailable(format!("HEAD answered {s}"))),
    }
}

/// Deletes `bucket`/`key` with a presigned URL (a key with dot segments: see
/// [`delete_dotted`]).
pub async fn delete_object(
    http: &S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    bucket: &str,
    key: &str,
) -> Result<(), S3Error> {
    if crate::wire::has_dot_segment(key) {
        return delete_dotted(http, signer, now, bucket, key).await;
    }
    let resp = call(http, signer, now, Method::Delete, bucket, key).await?;
    if resp.status().is_success() || resp.status().as_u16() == 404 {
        Ok(())
    } else {
        Err(S3Error::Unavailable(format!(
            "DELETE answered {}",
            resp.status()
        )))
    }
}

/// Reads the first `n` bytes of `bucket`/`key` (a ranged GET): enough to tell its real type.
pub async fn first_bytes(
    http: &S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    bucket: &str,
    key: &str,
    n: u64,
) -> Result<Vec<u8>, S3Error> {
    let url = signer
        .presign(&UrlRequest::new(Method::Get, bucket, key, CALL_EXPIRY), now)
        .map_err(|e| S3Error::Unavailable(e.to_string()))?;
    let req = http
        .request(reqwest::Method::GET, &url)
        .header(reqwest::header::RANGE, format!("bytes=0-{}", n.max(1) - 1));
    let resp = http
        .send(req, now)
        .await
        .map_err(|e| S3Error::Unavailable(e.without_url().to_string()))?;
    match resp.status().as_u16() {
        200 | 206 => {}
        // An empty object has no byte 0.
        416 => return Ok(Vec::new()),
        404 => return Err(S3Error::NotFound(key.to_string())),
        s => return Err(S3Error::Unavailable(format!("GET answered {s}"))),
    }
    let mut bytes = resp
        .bytes()
        .await
        .map_err(|e| S3Error::Unavailable(e.without_url().to_string()))?
        .to_vec();
    bytes.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    Ok(bytes)
}

/// Deletes a key with a `.` or `..` segment. Such a key cannot go in a URL's path: every HTTP
/// client removes the segments (`%2E%2E` too), so the request would reach, and be signed
/// for, another key. A multi-object delete carries the key in its XML body instead.
pub async fn delete_dotted(
    http: &S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    bucket: &str,
    key: &str,
) -> Result<(), S3Error> {
    use base64::Engine as _;
    use md5::Digest as _;
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>{}</Key></Object><Quiet>true</Quiet></Delete>",
        quick_xml::escape::escape(key)
    );
    let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body.as_bytes()));
    let mut req = UrlRequest::new(Method::Post, bucket, "", CALL_EXPIRY);
    req.query.push(("delete", ""));
    req.headers.push(("content-md5", &md5));
    let url = signer
        .presign(&req, now)
        .map_err(|e| S3Error::Unavailable(e.to_string()))?;
    let call = http
        .request(reqwest::Method::POST, &url)
        .header("content-md5", &md5)
        .header(reqwest::header::CONTENT_TYPE, "application/xml")
        .body(body);
    let (status, text) = send_for_text(http, call, now).await?;
    // A quiet multi-object delete lists only the keys it could not delete.
    if !status.is_success() || text.contains("<Error>") {
        let code = tag(&text, "Code").unwrap_or_default();
        return Err(S3Error::Unavailable(format!(
            "the multi-object DELETE answered {status} {code}"
        )));
    }
    Ok(())
}

/// True when `bucket` holds exactly `key` (a listing, so keys with dot segments can be asked
/// about too).
pub async fn key_listed(
    http: &S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    bucket: &str,
    key: &str,
) -> Result<bool, S3Error> {
    let page = list_objects(
        http,
        signer,
        now,
        &ListQuery {
            bucket,
            prefix: key,
            delimiter: None,
            continuation: None,
            max_keys: 1,
        },
    )
    .await?;
    Ok(page.contents.iter().any(|o| o.key == key))
}

/// One page of a ListObjectsV2 answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListPage {
    /// The objects on this page.
    pub contents: Vec<Listed>,
    /// The folders (keys up to the delimiter) on this page.
    pub common_prefixes: Vec<CommonPrefix>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// The token for the next page.
    pub next_continuation_token: Option<String>,
}

/// An object in a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written (as S3 wrote it, RFC 3339).
    pub last_modified: String,
}

/// A folder in a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CommonPrefix {
    /// The folder's prefix, ending in the delimiter.
    pub prefix: String,
}

/// What to list.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// Keys starting with this.
    pub prefix: &'a str,
    /// Group keys into folders at this (usually `/`).
    pub delimiter: Option<&'a str>,
    /// The token from the previous page.
    pub continuation: Option<&'a str>,
    /// At most this many keys (1 to 1000).
    pub max_keys: u32,
}

/// Lists a bucket (ListObjectsV2) through a short-lived presigned URL.
pub async fn list_objects(
    http: &S3Http,
    signer: &Signer,
    now: OffsetDateTime,
    q: &ListQuery<'_>,
) -> Result<ListPage, S3Error> {
    let max_keys = q.max_keys.clamp(1, 1000).to_string();
    let mut req = UrlRequest::new(Method::Get, q.bucket, "", CALL_EXPIRY);
    req.query.push(("list-type", "2"));
    req.query.push(("max-keys", &max_keys));
    req.query.push(("prefix", q.prefix));
    if let Some(d) = q.delimiter {
        req.query.push(("delimiter", d));
    }
    if let Some(c) = q.continuation {
        req.query.push(("continuation-token", c));
    }
    let url = signer
        .presign(&req, now)
        .map_err(|e| S3Error::Unavailable(e.to_string()))?;
    let (status, body) = send_for_text(http, http.request(reqwest::Method::GET, &url), now).await?;
    if !status.is_success() {
        let (code, _) = explain(&body);
        return Err(S3Error::Unavailable(format!(
            "listing answered {status} {code}"
        )));
    }
    quick_xml::de::from_str(&body)
        .map_err(|e| S3Error::Unavailable(format!("the listing could not be read: {e}")))
}

/// The text of the first `<name>` element, unescaped (quick-xml reads the XML).
pub(crate) fn tag(xml: &str, name: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.name().as_ref() == name.as_bytes() => inside = true,
            Event::Text(t) if inside => text.push_str(&t.decode().ok()?),
            Event::GeneralRef(r) if inside => {
                let r = r.decode().ok()?;
                let entity = format!("&{r};");
                text.push_str(&quick_xml::escape::unescape(&entity).ok()?);
            }
            Event::CData(c) if inside => text.push_str(&String::from_utf8_lossy(&c)),
            Event::End(e) if inside && e.name().as_ref() == name.as_bytes() => return Some(text),
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn size_of(xml: &str, name: &str) -> Option<String> {
    tag(xml, name)?.trim().parse::<u64>().ok().map(format_size)
}

/// Turns S3's XML error into a code and plain words: which condition failed, or the proposed
/// versus the allowed size.
pub fn explain(xml: &str) -> (String, String) {
    let code = tag(xml, "Code").unwrap_or_else(|| "Unknown".into());
    let message = tag(xml, "Message").unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let words = match code.as_str() {
        "EntityTooLarge" => match (size_of(xml, "ProposedSize"), size_of(xml, "MaxSizeAllowed")) {
            (Some(p), Some(m)) => {
                format!("The file is too large: {p}, but at most {m} is allowed.")
            }
            (_, Some(m)) => format!("The file is too large: at most {m} is allowed."),
            _ => "The file is too large for this upload.".into(),
        },
        "EntityTooSmall" => match (size_of(xml, "ProposedSize"), size_of(xml, "MinSizeAllowed")) {
            (Some(p), Some(m)) => {
                format!("The file is too small: {p}, but at least {m} is needed.")
            }
            _ => "The file is too small for this upload.".into(),
        },
        "AccessDenied" if lower.contains("expired") => {
            "The upload form has expired. Reload the page and try again.".into()
        }
        "AccessDenied" if lower.contains("condition failed") || lower.contains("policy") => {
            let cond = message
                .split_once("failed:")
                // Ceph RGW: "Policy check failed, variable not met condition: Content-Type".
                .or_else(|| message.split_once("condition:"))
                .map(|(_, c)| c.trim().to_string());
            match cond {
                Some(c) if c.to_ascii_lowercase().contains("content-type") => {
                    format!("The file's type is not accepted here (condition {c}).")
                }
                Some(c) if c.contains("$key") || c.eq_ignore_ascii_case("key") => {
                    format!("The file name or location is not allowed (condition {c}).")
                }
                Some(c) => format!("The upload broke a rule of the form: {c}."),
                None => format!("The upload was refused by the storage's policy check: {message}"),
            }
        }
        "SignatureDoesNotMatch" => {
            "The form's signature was not accepted. Reload the page and try again.".into()
        }
        "InvalidPolicyDocument" => {
            format!("The upload form is malformed: {message}. Reload the page and try again.")
        }
        "NoSuchBucket" => {
            "The storage bucket for this upload does not exist; tell the operator.".into()
        }
        "InvalidArgument" => format!("The storage refused a form field: {message}"),
        _ if message.is_empty() => format!("The storage refused the upload ({code})."),
        _ => format!("The storage refused the upload: {message} ({code})."),
    };
    (code, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_words() {
        let xml = "<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message><ProposedSize>6291456</ProposedSize><MaxSizeAllowed>5242880</MaxSizeAllowed></Error>";
        assert_eq!(
            explain(xml).1,
            "The file is too large: 6 MiB, but at most 5 MiB is allowed."
        );
    }

    #[test]
    fn failed_conditions_in_words() {
        let xml = r#"<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "image/"]</Message></Error>"#;
        let (code, words) = explain(xml);
        assert_eq!(code, "AccessDenied");
        assert!(
            words.starts_with("The file's type is not accepted"),
            "{words}"
        );
        let xml = "<Error><Code>AccessDenied</Code><Message>Policy check failed, variable not met condition: Content-Type</Message></Error>";
        assert!(explain(xml)
            .1
            .starts_with("The file's type is not accepted"));
        let xml = "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>";
        assert!(explain(xml).1.contains("expired"));
        assert_eq!(explain("not xml").0, "Unknown");
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>tier 1/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>tier 1/a &amp; b.jpg</Key><LastModified>2026-12-03T12:00:00.000Z</LastModified><ETag>"x"</ETag><Size>12</Size></Contents><CommonPrefixes><Prefix>tier 1/sub/</Prefix></CommonPrefixes></ListBucketResult>"#;
        let page: ListPage = quick_xml::de::from_str(xml).unwrap();
        assert_eq!(page.contents[0].key, "tier 1/a & b.jpg");
        assert_eq!(page.contents[0].size, 12);
        assert_eq!(page.common_prefixes[0].prefix, "tier 1/sub/");
        assert!(page.is_truncated);
        assert_eq!(page.next_continuation_token.as_deref(), Some("tok"));
        let xml = "<Error><Code>InvalidArgument</Code><Message>a &lt;b&gt; &amp; &quot;c&quot;</Message></Error>";
        assert_eq!(tag(xml, "Message").as_deref(), Some("a <b> & \"c\""));
    }
}
