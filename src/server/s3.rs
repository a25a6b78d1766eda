//! The server's own S3 calls (a SigV4-presigned HEAD to verify an upload, DELETE to remove a
//! refused one) and S3's XML errors turned into plain words.

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
    /// ETag, without quotes.
    pub etag: String,
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

const CALL_EXPIRY: Duration = Duration::from_secs(60);

/// Sends `method` on `bucket`/`key` through a short-lived presigned URL.
async fn call(
    http: &reqwest::Client,
    signer: &Signer,
    method: Method,
    bucket: &str,
    key: &str,
) -> Result<reqwest::Response, S3Error> {
    let url = signer
        .presign(
            &UrlRequest::new(method, bucket, key, CALL_EXPIRY),
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| S3Error::Unavailable(e.to_string()))?;
    let verb = match method {
        Method::Get => reqwest::Method::GET,
        Method::Put => reqwest::Method::PUT,
        Method::Head => reqwest::Method::HEAD,
        Method::Delete => reqwest::Method::DELETE,
        Method::Post => reqwest::Method::POST,
    };
    http.request(verb, &url)
        .send()
        .await
        .map_err(|e| S3Error::Unavailable(e.without_url().to_string()))
}

/// HEADs `bucket`/`key` with a presigned URL.
pub async fn head_object(
    http: &reqwest::Client,
    signer: &Signer,
    bucket: &str,
    key: &str,
) -> Result<ObjectInfo, S3Error> {
    let resp = call(http, signer, Method::Head, bucket, key).await?;
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
                etag: text("etag").trim_matches('"').to_string(),
            })
        }
        404 => Err(S3Error::NotFound(key.to_string())),
        s => Err(S3Error::Unavailable(format!("HEAD answered {s}"))),
    }
}

/// Deletes `bucket`/`key` with a presigned URL.
pub async fn delete_object(
    http: &reqwest::Client,
    signer: &Signer,
    bucket: &str,
    key: &str,
) -> Result<(), S3Error> {
    let resp = call(http, signer, Method::Delete, bucket, key).await?;
    if resp.status().is_success() || resp.status().as_u16() == 404 {
        Ok(())
    } else {
        Err(S3Error::Unavailable(format!(
            "DELETE answered {}",
            resp.status()
        )))
    }
}

/// The text of the first `<name>` element, unescaped.
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&#34;", "\"")
            .replace("&amp;", "&"),
    )
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
    }
}
