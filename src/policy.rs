//! `PostPolicy`: the expiration and conditions of a browser POST upload, built from typed parts.
//!
//! One builder produces both the form fields and the conditions, so a posted field can never
//! lack its condition. Signing (credential, date, signature) is added later by
//! [`Signer`](crate::Signer).

use crate::condition::{Condition, Field, PrefixField};
use crate::error::{Error, Result};
use crate::lint::{Finding, LintContext, Report, Severity};
use crate::wire::xml_escape;
use std::time::Duration;
use time::OffsetDateTime;

pub use crate::wire::FILENAME_PLACEHOLDER;

/// A POST policy, checked and ready to sign: the bucket, the key, the form fields, the
/// conditions and the expiration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicy {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) key_condition: Condition,
    pub(crate) fields: Vec<(Field, String)>,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) expiration: OffsetDateTime,
    pub(crate) warnings: Vec<Finding>,
}

impl PostPolicy {
    /// Starts a policy for uploads into `bucket`.
    pub fn builder(bucket: impl Into<String>) -> PostPolicyBuilder {
        PostPolicyBuilder::new(bucket)
    }
    /// The bucket the form posts to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
    /// The `key` form field, possibly holding `${filename}`.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// The fixed part of the key: everything before `${filename}`, or the whole key.
    pub fn key_prefix(&self) -> &str {
        key_prefix(&self.key)
    }
    /// The form fields the policy posts (besides key and the signing fields), in order.
    pub fn fields(&self) -> &[(Field, String)] {
        &self.fields
    }
    /// The caller's conditions, in order (bucket and key conditions are added when signing).
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    /// When the policy stops being accepted.
    pub fn expiration(&self) -> OffsetDateTime {
        self.expiration
    }
    /// Lint warnings found when the policy was built.
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }
    /// Fields with a `starts-with` condition but no value in the form: the uploader supplies
    /// them (for example `Content-Type` under `image/`).
    pub fn open_fields(&self) -> impl Iterator<Item = (&PrefixField, &str)> {
        self.conditions.iter().filter_map(|c| match c {
            Condition::StartsWith(f, p) => {
                let name = f.name();
                let posted = self.fields.iter().any(|(pf, _)| pf.name() == name);
                (!posted).then_some((f, p.as_str()))
            }
            _ => None,
        })
    }
    /// The content-length-range, if the policy has one.
    pub fn size_range(&self) -> Option<(u64, u64)> {
        self.conditions.iter().find_map(|c| match c {
            Condition::ContentLengthRange { min, max } => Some((*min, *max)),
            _ => None,
        })
    }
}

/// The part of a key template before `${filename}` (the whole key if it has none).
pub(crate) fn key_prefix(key: &str) -> &str {
    key.find(FILENAME_PLACEHOLDER).map_or(key, |i| &key[..i])
}

#[derive(Debug, Clone)]
enum Expiry {
    In(Duration),
    At(OffsetDateTime),
}

/// Builds a [`PostPolicy`]. Every method that posts a field also adds its condition.
#[derive(Debug, Clone)]
#[must_use]
pub struct PostPolicyBuilder {
    pub(crate) bucket: String,
    pub(crate) key: Option<String>,
    pub(crate) fields: Vec<(Field, String)>,
    pub(crate) conditions: Vec<Condition>,
    expiry: Expiry,
    pub(crate) problems: Vec<Error>,
}

impl PostPolicyBuilder {
    /// Starts a policy for `bucket`, expiring one hour after `now` unless told otherwise.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            key: None,
            fields: Vec::new(),
            conditions: Vec::new(),
            expiry: Expiry::In(Duration::from_secs(3600)),
            problems: Vec::new(),
        }
    }

    /// The exact key, or a template with `${filename}`: then the key must start with the part
    /// before it, and S3 puts the file's name in its place.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        if self.key.is_some() {
            self.problems.push(Error::DuplicateField("key".into()));
        }
        self.key = Some(key.into());
        self
    }

    /// Uploads land at `prefix` followed by the file's name.
    pub fn key_prefix(self, prefix: &str) -> Self {
        self.key(format!("{prefix}{FILENAME_PLACEHOLDER}"))
    }

    /// Posts `field` with exactly `value`: `{"field": "value"}`.
    pub fn field(mut self, field: Field, value: impl Into<String>) -> Self {
        let value = value.into();
        if field == Field::Key {
            return self.key(value);
        }
        self.conditions
            .push(Condition::Eq(field.clone(), value.clone()));
        self.fields.push((field, value));
        self
    }

    /// Posts `field` with exactly `value`, written `["eq", "$field", "value"]`.
    pub fn field_eq(mut self, field: Field, value: impl Into<String>) -> Self {
        let value = value.into();
        self.conditions
            .push(Condition::EqExplicit(field.clone(), value.clone()));
        self.fields.push((field, value));
        self
    }

    /// Posts `field` with `value`, accepting any value that starts with `prefix`.
    pub fn field_with_prefix(
        mut self,
        field: Field,
        prefix: &str,
        value: impl Into<String>,
    ) -> Self {
        match field.prefixable() {
            Ok(pf) => {
                self.conditions
                    .push(Condition::StartsWith(pf, prefix.to_string()));
                self.fields.push((field, value.into()));
            }
            Err(e) => self.problems.push(e),
        }
        self
    }

    /// Lets the uploader supply `field`, as long as it starts with `prefix` ("" allows anything).
    /// On `key` it adds a condition beside the one [`key`](Self::key) makes.
    pub fn starts_with(mut self, field: Field, prefix: impl Into<String>) -> Self {
        match field.prefixable() {
            Ok(pf) => self
                .conditions
                .push(Condition::StartsWith(pf, prefix.into())),
            Err(e) => self.problems.push(e),
        }
        self
    }

    /// Accepts files of `min..=max` bytes.
    pub fn content_length_range(mut self, min: u64, max: u64) -> Self {
        self.conditions
            .push(Condition::ContentLengthRange { min, max });
        self
    }
    /// The stored object's Content-Type, exactly.
    pub fn content_type(self, value: impl Into<String>) -> Self {
        self.field(Field::ContentType, value)
    }
    /// The uploader sets Content-Type, which must start with `prefix` (e.g. `image/`).
    pub fn content_type_prefix(self, prefix: impl Into<String>) -> Self {
        self.starts_with(Field::ContentType, prefix)
    }
    /// The canned ACL (`private`, `public-read`, …).
    pub fn acl(self, value: impl Into<String>) -> Self {
        self.field(Field::Acl, value)
    }
    /// The stored object's Cache-Control.
    pub fn cache_control(self, value: impl Into<String>) -> Self {
        self.field(Field::CacheControl, value)
    }
    /// The stored object's Content-Disposition.
    pub fn content_disposition(self, value: impl Into<String>) -> Self {
        self.field(Field::ContentDisposition, value)
    }
    /// The stored object's Content-Encoding.
    pub fn content_encoding(self, value: impl Into<String>) -> Self {
        self.field(Field::ContentEncoding, value)
    }
    /// Where S3 sends the browser (303) after a successful upload.
    pub fn success_action_redirect(self, url: impl Into<String>) -> Self {
        self.field(Field::SuccessActionRedirect, url)
    }
    /// The status S3 answers a successful upload with: 200, 201 (with XML) or 204.
    pub fn success_action_status(mut self, status: u16) -> Self {
        if !matches!(status, 200 | 201 | 204) {
            self.problems.push(Error::BadStatus(status));
            return self;
        }
        self.field(Field::SuccessActionStatus, status.to_string())
    }
    /// User metadata `x-amz-meta-{name}`.
    pub fn meta(self, name: &str, value: impl Into<String>) -> Self {
        self.field(Field::meta(name), value)
    }
    /// Server-side encryption (`AES256`, `aws:kms`).
    pub fn server_side_encryption(self, value: impl Into<String>) -> Self {
        self.field(Field::ServerSideEncryption, value)
    }
    /// The KMS key for `aws:kms` encryption.
    pub fn sse_kms_key_id(self, value: impl Into<String>) -> Self {
        self.field(Field::SseKmsKeyId, value)
    }
    /// The storage class (`STANDARD`, `STANDARD_IA`, …).
    pub fn storage_class(self, value: impl Into<String>) -> Self {
        self.field(Field::StorageClass, value)
    }
    /// The website redirect location of the stored object.
    pub fn website_redirect_location(self, value: impl Into<String>) -> Self {
        self.field(Field::WebsiteRedirectLocation, value)
    }
    /// Object tags, as S3's `<Tagging>` XML built and escaped from the pairs.
    pub fn tagging<K: AsRef<str>, V: AsRef<str>>(self, tags: &[(K, V)]) -> Self {
        let mut xml = String::from("<Tagging><TagSet>");
        for (k, v) in tags {
            xml.push_str("<Tag><Key>");
            xml.push_str(&xml_escape(k.as_ref()));
            xml.push_str("</Key><Value>");
            xml.push_str(&xml_escape(v.as_ref()));
            xml.push_str("</Value></Tag>");
        }
        xml.push_str("</TagSet></Tagging>");
        self.field(Field::Tagging, xml)
    }
    /// A checksum S3 verifies: `algorithm` is crc32, crc32c, crc64nvme, sha1 or sha256, and
    /// `value` the base64 digest of the file.
    pub fn checksum(mut self, algorithm: &str, value: impl Into<String>) -> Self {
        match Field::parse(&format!("x-amz-checksum-{algorithm}")) {
            Ok(f) => {
                self = self.field(Field::ChecksumAlgorithm, algorithm.to_ascii_uppercase());
                self.field(f, value)
            }
            Err(_) => {
                self.problems.push(Error::Parse(format!(
                    "unknown checksum algorithm `{algorithm}`; use crc32, crc32c, crc64nvme, sha1 or sha256"
                )));
                self
            }
        }
    }
    /// The policy stops being accepted this long after `now`.
    pub fn expires_in(mut self, d: Duration) -> Self {
        self.expiry = Expiry::In(d);
        self
    }
    /// The policy stops being accepted at `at`.
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.expiry = Expiry::At(at);
        self
    }

    /// The expiration this builder gives, counted from `now`.
    pub fn expiration(&self, now: OffsetDateTime) -> OffsetDateTime {
        match self.expiry {
            Expiry::In(d) => now + d,
            Expiry::At(at) => at,
        }
    }

    /// Lints the policy as of `ctx.now`: errors stop it, warnings are worth reading.
    pub fn lint(&self, ctx: &LintContext) -> Report {
        crate::lint::lint(self, ctx)
    }

    /// Checks the policy as of `now` and builds it; lint errors are returned as [`Error::Lint`]
    /// (or the precise error when there is only one structural problem).
    pub fn build(self, now: OffsetDateTime) -> Result<PostPolicy> {
        self.build_with(&LintContext::new(now))
    }

    /// Like [`build`](Self::build), with a full lint context (for example the credentials'
    /// expiry).
    pub fn build_with(mut self, ctx: &LintContext) -> Result<PostPolicy> {
        if self.problems.len() == 1 && self.problems[0] != Error::MissingKey {
            return Err(self.problems.remove(0));
        }
        let report = self.lint(ctx);
        if report.has_errors() {
            return Err(Error::Lint(report));
        }
        let expiration = self.expiration(ctx.now);
        let key = self.key.ok_or(Error::MissingKey)?;
        let prefix = key_prefix(&key);
        let key_condition = if prefix.len() == key.len() {
            Condition::Eq(Field::Key, key.clone())
        } else {
            Condition::StartsWith(PrefixField::Key, prefix.to_string())
        };
        Ok(PostPolicy {
            expiration,
            bucket: self.bucket,
            key,
            key_condition,
            fields: self.fields,
            conditions: self.conditions,
            warnings: report
                .findings
                .into_iter()
                .filter(|f| f.severity == Severity::Warning)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-14 15:09:26 UTC);

    #[test]
    fn filename_template_gives_starts_with_on_the_prefix() {
        let p = PostPolicy::builder("b")
            .key("users/42/${filename}")
            .build(NOW)
            .unwrap();
        assert_eq!(
            p.key_condition,
            Condition::StartsWith(PrefixField::Key, "users/42/".into())
        );
        assert_eq!(p.key_prefix(), "users/42/");
        let p = PostPolicy::builder("b").key("a/b.png").build(NOW).unwrap();
        assert_eq!(p.key_condition, Condition::Eq(Field::Key, "a/b.png".into()));
    }

    #[test]
    fn every_posted_field_has_its_condition() {
        let p = PostPolicy::builder("b")
            .key_prefix("u/")
            .content_type("image/png")
            .meta("Owner", "alice")
            .tagging(&[("team", "a&b<c>")])
            .success_action_status(201)
            .build(NOW)
            .unwrap();
        for (f, v) in p.fields() {
            assert!(
                p.conditions()
                    .contains(&Condition::Eq(f.clone(), v.clone())),
                "{} has no condition",
                f.name()
            );
        }
        let tagging = &p
            .fields()
            .iter()
            .find(|(f, _)| *f == Field::Tagging)
            .unwrap()
            .1;
        assert_eq!(
            tagging,
            "<Tagging><TagSet><Tag><Key>team</Key><Value>a&amp;b&lt;c&gt;</Value></Tag></TagSet></Tagging>"
        );
    }

    #[test]
    fn forbidden_starts_with_fails_at_build_time() {
        let err = PostPolicy::builder("b")
            .key("k")
            .starts_with(Field::SuccessActionStatus, "2")
            .build(NOW)
            .unwrap_err();
        assert_eq!(
            err,
            Error::StartsWithNotAllowed("success_action_status".into())
        );
    }

    #[test]
    fn duplicate_fields_are_refused_case_insensitively() {
        let err = PostPolicy::builder("b")
            .key("k")
            .field(Field::parse("content-type").unwrap(), "a/b")
            .field(Field::parse("Content-Type").unwrap(), "a/c")
            .build(NOW)
            .unwrap_err();
        assert!(err.to_string().contains("Content-Type"), "{err}");
    }

    #[test]
    fn open_fields_are_those_without_a_value() {
        let p = PostPolicy::builder("b")
            .key("k")
            .content_type_prefix("image/")
            .build(NOW)
            .unwrap();
        let open: Vec<_> = p
            .open_fields()
            .map(|(f, v)| (f.name().to_string(), v.to_string()))
            .collect();
        assert_eq!(
            open,
            vec![("Content-Type".to_string(), "image/".to_string())]
        );
    }

    #[test]
    fn missing_key_is_an_error() {
        let err = PostPolicy::builder("b").build(NOW).unwrap_err();
        assert!(err.to_string().contains("no key"), "{err}");
    }
}
