//! Form fields and the policy conditions on them, typed, and their AWS JSON form.
//!
//! A [`Field`] names one POST form field. A [`PrefixField`] is the subset on which S3
//! allows `starts-with`, so a [`Condition::StartsWith`] on any other field cannot be built.

use crate::error::{Error, Result};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// One POST form field that a policy can constrain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `bucket`
    Bucket,
    /// `key`
    Key,
    /// `acl`
    Acl,
    /// `Cache-Control`
    CacheControl,
    /// `Content-Type`
    ContentType,
    /// `Content-Disposition`
    ContentDisposition,
    /// `Content-Encoding`
    ContentEncoding,
    /// `Expires`
    Expires,
    /// `success_action_redirect`
    SuccessActionRedirect,
    /// `success_action_status`
    SuccessActionStatus,
    /// `x-amz-meta-*`; holds the whole lowercase field name.
    Meta(String),
    /// `x-amz-server-side-encryption`
    ServerSideEncryption,
    /// `x-amz-server-side-encryption-aws-kms-key-id`
    SseKmsKeyId,
    /// `x-amz-storage-class`
    StorageClass,
    /// `x-amz-website-redirect-location`
    WebsiteRedirectLocation,
    /// `tagging`
    Tagging,
    /// `x-amz-checksum-algorithm`
    ChecksumAlgorithm,
    /// `x-amz-checksum-*` (crc32, crc32c, sha1, sha256…); holds the whole lowercase name.
    Checksum(String),
    /// `x-amz-security-token`
    SecurityToken,
    /// `x-amz-algorithm`
    Algorithm,
    /// `x-amz-credential`
    Credential,
    /// `x-amz-date`
    Date,
}

const FIXED: &[(&str, Field)] = &[
    ("bucket", Field::Bucket),
    ("key", Field::Key),
    ("acl", Field::Acl),
    ("Cache-Control", Field::CacheControl),
    ("Content-Type", Field::ContentType),
    ("Content-Disposition", Field::ContentDisposition),
    ("Content-Encoding", Field::ContentEncoding),
    ("Expires", Field::Expires),
    ("success_action_redirect", Field::SuccessActionRedirect),
    ("success_action_status", Field::SuccessActionStatus),
    ("x-amz-server-side-encryption", Field::ServerSideEncryption),
    (
        "x-amz-server-side-encryption-aws-kms-key-id",
        Field::SseKmsKeyId,
    ),
    ("x-amz-storage-class", Field::StorageClass),
    (
        "x-amz-website-redirect-location",
        Field::WebsiteRedirectLocation,
    ),
    ("tagging", Field::Tagging),
    ("x-amz-checksum-algorithm", Field::ChecksumAlgorithm),
    ("x-amz-security-token", Field::SecurityToken),
    ("x-amz-algorithm", Field::Algorithm),
    ("x-amz-credential", Field::Credential),
    ("x-amz-date", Field::Date),
];

impl Field {
    /// A metadata field `x-amz-meta-{name}`.
    pub fn meta(name: &str) -> Field {
        Field::Meta(format!("x-amz-meta-{}", name.to_ascii_lowercase()))
    }

    /// Parses a form field name, case-insensitively.
    pub fn parse(name: &str) -> Result<Field> {
        if let Some((_, f)) = FIXED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Ok(f.clone());
        }
        let lower = name.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("x-amz-meta-") {
            if !rest.is_empty() && rest.bytes().all(is_token_byte) {
                return Ok(Field::Meta(lower));
            }
        }
        if let Some(alg) = lower.strip_prefix("x-amz-checksum-") {
            if matches!(alg, "crc32" | "crc32c" | "crc64nvme" | "sha1" | "sha256") {
                return Ok(Field::Checksum(lower));
            }
        }
        Err(Error::UnknownField(name.to_string()))
    }

    /// The form field name as S3 spells it.
    pub fn name(&self) -> &str {
        match self {
            Field::Meta(n) | Field::Checksum(n) => n,
            other => FIXED
                .iter()
                .find(|(_, f)| f == other)
                .map(|(n, _)| *n)
                .unwrap_or_default(),
        }
    }

    /// This field as one that takes `starts-with`, if S3 allows that on it.
    pub fn prefixable(&self) -> Result<PrefixField> {
        Ok(match self {
            Field::Acl => PrefixField::Acl,
            Field::Key => PrefixField::Key,
            Field::CacheControl => PrefixField::CacheControl,
            Field::ContentType => PrefixField::ContentType,
            Field::ContentDisposition => PrefixField::ContentDisposition,
            Field::ContentEncoding => PrefixField::ContentEncoding,
            Field::Expires => PrefixField::Expires,
            Field::SuccessActionRedirect => PrefixField::SuccessActionRedirect,
            Field::Meta(n) => PrefixField::Meta(n.clone()),
            other => return Err(Error::StartsWithNotAllowed(other.name().to_string())),
        })
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// The fields on which S3 allows `starts-with`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrefixField {
    /// `acl`
    Acl,
    /// `key`
    Key,
    /// `Cache-Control`
    CacheControl,
    /// `Content-Type`
    ContentType,
    /// `Content-Disposition`
    ContentDisposition,
    /// `Content-Encoding`
    ContentEncoding,
    /// `Expires`
    Expires,
    /// `success_action_redirect`
    SuccessActionRedirect,
    /// `x-amz-meta-*`, the whole lowercase name.
    Meta(String),
}

impl From<PrefixField> for Field {
    fn from(p: PrefixField) -> Field {
        match p {
            PrefixField::Acl => Field::Acl,
            PrefixField::Key => Field::Key,
            PrefixField::CacheControl => Field::CacheControl,
            PrefixField::ContentType => Field::ContentType,
            PrefixField::ContentDisposition => Field::ContentDisposition,
            PrefixField::ContentEncoding => Field::ContentEncoding,
            PrefixField::Expires => Field::Expires,
            PrefixField::SuccessActionRedirect => Field::SuccessActionRedirect,
            PrefixField::Meta(n) => Field::Meta(n),
        }
    }
}

impl PrefixField {
    /// The form field name as S3 spells it.
    pub fn name(&self) -> &str {
        match self {
            PrefixField::Acl => "acl",
            PrefixField::Key => "key",
            PrefixField::CacheControl => "Cache-Control",
            PrefixField::ContentType => "Content-Type",
            PrefixField::ContentDisposition => "Content-Disposition",
            PrefixField::ContentEncoding => "Content-Encoding",
            PrefixField::Expires => "Expires",
            PrefixField::SuccessActionRedirect => "success_action_redirect",
            PrefixField::Meta(n) => n,
        }
    }
}

/// One policy condition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Condition {
    /// Exact match, written `{"field": "value"}`.
    Eq(Field, String),
    /// Exact match, written `["eq", "$field", "value"]`.
    EqExplicit(Field, String),
    /// Prefix match, `["starts-with", "$field", "prefix"]`; an empty prefix allows any value.
    StartsWith(PrefixField, String),
    /// `["content-length-range", min, max]`, in bytes, inclusive.
    ContentLengthRange {
        /// Smallest allowed size in bytes.
        min: u64,
        /// Largest allowed size in bytes.
        max: u64,
    },
}

/// `$name`, written without going through `fmt` or the heap for names up to 63 bytes.
struct Dollar<'a>(&'a str);

impl Serialize for Dollar<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let name = self.0.as_bytes();
        let mut buf = [b'$'; 64];
        match buf.get_mut(1..=name.len()) {
            Some(rest) => {
                rest.copy_from_slice(name);
                // `$` followed by a whole `&str` is UTF-8.
                let dollar = std::str::from_utf8(&buf[..=name.len()]).map_err(S::Error::custom)?;
                s.serialize_str(dollar)
            }
            None => s.collect_str(&format_args!("${}", self.0)),
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Condition::Eq(f, v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(f.name(), v)?;
                m.end()
            }
            Condition::EqExplicit(f, v) => {
                let mut q = s.serialize_seq(Some(3))?;
                q.serialize_element("eq")?;
                q.serialize_element(&Dollar(f.name()))?;
                q.serialize_element(v)?;
                q.end()
            }
            Condition::StartsWith(f, v) => {
                let mut q = s.serialize_seq(Some(3))?;
                q.serialize_element("starts-with")?;
                q.serialize_element(&Dollar(f.name()))?;
                q.serialize_element(v)?;
                q.end()
            }
            Condition::ContentLengthRange { min, max } => {
                let mut q = s.serialize_seq(Some(3))?;
                q.serialize_element("content-length-range")?;
                q.serialize_element(min)?;
                q.serialize_element(max)?;
                q.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_case_insensitively() {
        assert_eq!(Field::parse("content-type").unwrap(), Field::ContentType);
        assert_eq!(
            Field::parse("X-Amz-Meta-UUID").unwrap(),
            Field::meta("uuid")
        );
        assert_eq!(
            Field::parse("X-AMZ-CHECKSUM-SHA256").unwrap().name(),
            "x-amz-checksum-sha256"
        );
        assert!(matches!(
            Field::parse("x-amz-meta-"),
            Err(Error::UnknownField(_))
        ));
        assert!(matches!(Field::parse("file"), Err(Error::UnknownField(_))));
    }

    #[test]
    fn starts_with_is_refused_where_s3_forbids_it() {
        assert!(Field::ContentType.prefixable().is_ok());
        assert!(Field::meta("tag").prefixable().is_ok());
        for f in [
            Field::Bucket,
            Field::SuccessActionStatus,
            Field::StorageClass,
            Field::Tagging,
        ] {
            let err = f.prefixable().unwrap_err();
            assert!(err.to_string().contains(f.name()), "{err}");
        }
    }

    #[test]
    fn conditions_serialize_in_aws_form() {
        let c = vec![
            Condition::Eq(Field::Bucket, "b".into()),
            Condition::EqExplicit(Field::ContentDisposition, "a\"b".into()),
            Condition::StartsWith(PrefixField::Key, "u/".into()),
            Condition::ContentLengthRange { min: 1, max: 10 },
        ];
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"[{"bucket":"b"},["eq","$Content-Disposition","a\"b"],["starts-with","$key","u/"],["content-length-range",1,10]]"#
        );
    }
}
