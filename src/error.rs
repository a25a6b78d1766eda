//! The library's one error type. Every message says what was wrong and what to do.

use std::time::Duration;
use time::OffsetDateTime;

/// Everything that can go wrong while building, linting or signing a policy or URL.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `starts-with` was asked for on a field where S3 forbids it.
    #[error("S3 does not allow starts-with on field `{0}`; use an exact value, or starts-with only on acl, key, Cache-Control, Content-Type, Content-Disposition, Content-Encoding, Expires, success_action_redirect or x-amz-meta-*")]
    StartsWithNotAllowed(String),
    /// A field name that S3 POST does not know.
    #[error("unknown POST form field `{0}`; use a field S3 accepts (key, acl, Content-Type, x-amz-meta-…, …)")]
    UnknownField(String),
    /// The same field was given twice.
    #[error("field `{0}` is given twice; give each form field once (names are compared case-insensitively)")]
    DuplicateField(String),
    /// No key, key template or key prefix was given.
    #[error("the policy has no key; give an exact key, a key template with ${{filename}}, or a key prefix")]
    MissingKey,
    /// An empty bucket name.
    #[error("the bucket name is empty; give the bucket the form uploads to")]
    MissingBucket,
    /// success_action_status other than 200, 201 or 204.
    #[error("success_action_status must be 200, 201 or 204, not {0}")]
    BadStatus(u16),
    /// Lint found errors; the policy would be refused or unsafe. The report holds every
    /// finding (warnings too); the message lists the errors.
    #[error("the policy was not issued: {0}")]
    Lint(crate::lint::Report),
    /// Expiry of a presigned URL out of range.
    #[error("presigned URLs may last between 1 second and 7 days, not {}s; pick a shorter expiry", .0.as_secs())]
    BadUrlExpiry(Duration),
    /// An absolute expiry that is not after now.
    #[error("the URL would expire at {}, which is not after now ({}); give a later time, or a duration such as 1h", crate::wire::iso8601(*.at), crate::wire::iso8601(*.now))]
    ExpiresInPast {
        /// The end asked for.
        at: OffsetDateTime,
        /// The signing time.
        now: OffsetDateTime,
    },
    /// An absolute expiry more than 7 days away.
    #[error("the URL would expire at {}, more than 7 days after now ({}); S3 refuses longer-lived signatures, so give an earlier time", crate::wire::iso8601(*.at), crate::wire::iso8601(*.now))]
    ExpiresTooLate {
        /// The end asked for.
        at: OffsetDateTime,
        /// The signing time.
        now: OffsetDateTime,
    },
    /// A malformed endpoint URL.
    #[error("endpoint `{0}` is not a valid URL; give scheme and host, e.g. http://127.0.0.1:9000 or https://s3.example.com")]
    BadEndpoint(String),
    /// Credentials could not be found or are incomplete.
    #[error("{0}")]
    Credentials(String),
    /// aws-sigv4 refused to sign the request.
    #[error("could not sign the request: {0}")]
    Signing(String),
    /// A size or duration that does not parse.
    #[error("{0}")]
    Parse(String),
}

/// Shorthand for results with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
