//! Lint a policy before it is issued: limits S3 enforces, expirations that cannot work, and
//! prefixes that match more than they seem to. The server and the CLI both call [`lint`], and
//! get a typed [`Report`]: each [`Finding`] has a severity, a [`Code`] to match on, and a
//! message for people.

use crate::condition::{Condition, Field};
use crate::error::Error;
use crate::policy::{key_prefix, PostPolicyBuilder};
use crate::wire::iso8601;
use std::fmt;
use time::OffsetDateTime;

pub use crate::wire::{
    MAX_EXPIRY, MAX_FIELDS_BYTES, MAX_OBJECT_SIZE, MAX_PARTS, MAX_PART_SIZE, MAX_POST_SIZE,
    MIN_PART_SIZE,
};

/// Room taken by the signing fields (algorithm, credential, date, signature) in the form.
const SIGNING_FIELDS_BYTES: usize = 400;

/// What lint needs to know besides the policy.
#[derive(Debug, Clone, Copy)]
pub struct LintContext {
    /// The instant the policy is issued.
    pub now: OffsetDateTime,
    /// When the signing credentials expire, if they do.
    pub credentials_expire_at: Option<OffsetDateTime>,
}

impl LintContext {
    /// A context at `now`, with credentials that do not expire.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            now,
            credentials_expire_at: None,
        }
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The policy must not be issued.
    Error,
    /// The policy works but probably not as meant.
    Warning,
}

/// What a finding is about, for code that reacts to one kind (the message is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `starts-with` on a field where S3 forbids it.
    StartsWithNotAllowed,
    /// A form field given twice.
    DuplicateField,
    /// A success_action_status other than 200, 201 or 204.
    BadStatus,
    /// A checksum algorithm S3 does not know.
    UnknownChecksum,
    /// Another problem found while the policy was built.
    Invalid,
    /// No bucket.
    MissingBucket,
    /// No key, key template or key prefix.
    MissingKey,
    /// A key prefix not ending in `/`, so it matches more keys than it seems (a warning).
    PrefixWithoutSlash,
    /// content-length-range with its minimum above its maximum.
    MinAboveMax,
    /// content-length-range above S3's 5 GiB POST limit.
    OverPostLimit,
    /// A posted value that breaks its own `starts-with` condition.
    ValueOutsidePrefix,
    /// More than one content-length-range.
    RangeRepeated,
    /// The expiration is not after now.
    ExpiresNotAfterNow,
    /// The expiration is more than 7 days away.
    ExpiresTooLate,
    /// The policy would outlive the signing credentials.
    OutlivesCredentials,
    /// The form fields before the file exceed S3's 20 KB.
    FieldsTooLarge,
}

impl Code {
    /// The code for a problem the builder recorded.
    fn of(e: &Error) -> Code {
        match e {
            Error::StartsWithNotAllowed(_) => Code::StartsWithNotAllowed,
            Error::DuplicateField(_) => Code::DuplicateField,
            Error::BadStatus(_) => Code::BadStatus,
            Error::MissingKey => Code::MissingKey,
            Error::MissingBucket => Code::MissingBucket,
            Error::Parse(_) => Code::UnknownChecksum,
            _ => Code::Invalid,
        }
    }
}

/// One lint finding with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem it is.
    pub code: Code,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// All findings for one policy. Displayed, it is its error messages joined by `; `.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Findings in the order found.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report of one finding.
    pub(crate) fn of(severity: Severity, code: Code, message: String) -> Self {
        let mut r = Report::default();
        r.push(severity, code, message);
        r
    }
    fn push(&mut self, severity: Severity, code: Code, message: String) {
        self.findings.push(Finding {
            severity,
            code,
            message,
        });
    }
    /// True when the policy must not be issued.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
    /// True when some finding has `code`.
    pub fn has(&self, code: Code) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
    /// The error messages.
    pub fn errors(&self) -> impl Iterator<Item = &str> {
        self.of_severity(Severity::Error)
    }
    /// The warning messages.
    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.of_severity(Severity::Warning)
    }
    fn of_severity(&self, s: Severity) -> impl Iterator<Item = &str> {
        self.findings
            .iter()
            .filter(move |f| f.severity == s)
            .map(|f| f.message.as_str())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(e)?;
        }
        Ok(())
    }
}

/// Lints a policy under construction as of `ctx.now`.
pub fn lint(p: &PostPolicyBuilder, ctx: &LintContext) -> Report {
    use Severity::{Error, Warning};
    let mut r = Report::default();
    for problem in &p.problems {
        r.push(Error, Code::of(problem), problem.to_string());
    }
    if p.bucket.is_empty() {
        r.push(
            Error,
            Code::MissingBucket,
            crate::Error::MissingBucket.to_string(),
        );
    }
    match &p.key {
        None => r.push(
            Error,
            Code::MissingKey,
            crate::Error::MissingKey.to_string(),
        ),
        Some(key) => {
            let prefix = key_prefix(key);
            if prefix.len() != key.len() && !prefix.is_empty() && !prefix.ends_with('/') {
                r.push(
                    Warning,
                    Code::PrefixWithoutSlash,
                    format!(
                        "key prefix `{prefix}` does not end in `/`, so it also matches keys such as `{prefix}X…`; end it with `/` to confine uploads to one folder"
                    ),
                );
            }
        }
    }

    for (i, (f, _)) in p.fields.iter().enumerate() {
        let dup = p.fields[..i]
            .iter()
            .any(|(g, _)| g.name().eq_ignore_ascii_case(f.name()))
            || (p.key.is_some() && *f == Field::Key);
        if dup {
            r.push(
                Error,
                Code::DuplicateField,
                crate::Error::DuplicateField(f.name().to_string()).to_string(),
            );
        }
    }

    let mut ranges = 0;
    for c in &p.conditions {
        match c {
            Condition::ContentLengthRange { min, max } => {
                ranges += 1;
                if min > max {
                    r.push(Error, Code::MinAboveMax, format!("content-length-range has min {min} above max {max}; swap them or lower the minimum"));
                }
                if *max > MAX_POST_SIZE {
                    r.push(Error, Code::OverPostLimit, format!("content-length-range max {max} bytes is above S3's 5 GiB POST limit; lower it, or use multipart uploads for larger files"));
                }
            }
            Condition::StartsWith(f, prefix) => {
                if let Some((_, v)) = p.fields.iter().find(|(g, _)| g.name() == f.name()) {
                    if !v.starts_with(prefix.as_str()) {
                        r.push(Error, Code::ValueOutsidePrefix, format!("field `{}` is `{v}`, which does not start with `{prefix}` as its own condition demands", f.name()));
                    }
                }
            }
            Condition::Eq(..) | Condition::EqExplicit(..) => {}
        }
    }
    if ranges > 1 {
        r.push(
            Error,
            Code::RangeRepeated,
            "content-length-range is given more than once; give one range".into(),
        );
    }

    let expiration = p.expiration(ctx.now);
    let (exp_s, now_s) = (iso8601(expiration), iso8601(ctx.now));
    if expiration <= ctx.now {
        r.push(Error, Code::ExpiresNotAfterNow, format!("the policy expires at {exp_s}, which is not after now ({now_s}); give a positive expiry"));
    } else if expiration - ctx.now > MAX_EXPIRY {
        r.push(Error, Code::ExpiresTooLate, format!("the policy expires at {exp_s}, more than 7 days from now; S3 refuses longer-lived signatures, so shorten the expiry"));
    }
    if let Some(creds) = ctx.credentials_expire_at {
        if expiration > creds {
            r.push(Error, Code::OutlivesCredentials, format!("the policy expires at {exp_s}, after the signing credentials do ({}); uploads after that would fail, so shorten the expiry or refresh the credentials", iso8601(creds)));
        }
    }

    let fields_bytes: usize = p
        .fields
        .iter()
        .map(|(f, v)| f.name().len() + v.len())
        .sum::<usize>()
        + p.key.as_ref().map_or(0, |k| k.len() + 3)
        + p.conditions.iter().map(json_len).sum::<usize>() * 4 / 3
        + SIGNING_FIELDS_BYTES;
    if fields_bytes > MAX_FIELDS_BYTES {
        r.push(Error, Code::FieldsTooLarge, format!("the form fields before the file take about {fields_bytes} bytes, above S3's 20 KB limit; shorten metadata, tags or conditions"));
    }
    r
}

/// About how many bytes `c` takes in the policy JSON (before base64), without serializing it.
fn json_len(c: &Condition) -> usize {
    match c {
        Condition::Eq(f, v) => f.name().len() + v.len() + 8,
        Condition::EqExplicit(f, v) => f.name().len() + v.len() + 14,
        Condition::StartsWith(f, v) => f.name().len() + v.len() + 23,
        Condition::ContentLengthRange { .. } => 64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PostPolicy;
    use std::time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-14 15:09:26 UTC);

    fn errors(b: PostPolicyBuilder, ctx: LintContext) -> Vec<String> {
        b.lint(&ctx).errors().map(str::to_string).collect()
    }

    #[test]
    fn a_sound_policy_has_no_findings() {
        let b = PostPolicy::builder("b")
            .key_prefix("u/42/")
            .content_length_range(1, 1 << 20);
        assert_eq!(b.lint(&LintContext::new(NOW)), Report::default());
    }

    #[test]
    fn size_limits() {
        let e = errors(
            PostPolicy::builder("b")
                .key("k")
                .content_length_range(10, 1),
            LintContext::new(NOW),
        );
        assert!(e[0].contains("min 10 above max 1"), "{e:?}");
        let e = errors(
            PostPolicy::builder("b")
                .key("k")
                .content_length_range(0, MAX_POST_SIZE + 1),
            LintContext::new(NOW),
        );
        assert!(e[0].contains("5 GiB"), "{e:?}");
    }

    #[test]
    fn expirations() {
        let past = PostPolicy::builder("b")
            .key("k")
            .expires_at(NOW - Duration::from_secs(1));
        assert!(errors(past, LintContext::new(NOW))[0].contains("not after now"));
        let far = PostPolicy::builder("b")
            .key("k")
            .expires_in(MAX_EXPIRY + Duration::from_secs(1));
        assert!(errors(far, LintContext::new(NOW))[0].contains("7 days"));
        let ok = PostPolicy::builder("b").key("k").expires_in(MAX_EXPIRY);
        assert!(errors(ok, LintContext::new(NOW)).is_empty());
        let ctx = LintContext {
            now: NOW,
            credentials_expire_at: Some(NOW + Duration::from_secs(60)),
        };
        let e = errors(
            PostPolicy::builder("b")
                .key("k")
                .expires_in(Duration::from_secs(600)),
            ctx,
        );
        assert!(e[0].contains("after the signing credentials"), "{e:?}");
    }

    #[test]
    fn prefix_without_slash_warns() {
        let r = PostPolicy::builder("b")
            .key("user/4${filename}")
            .lint(&LintContext::new(NOW));
        assert!(!r.has_errors());
        assert!(r.warnings().next().unwrap().contains("user/4X"));
    }

    #[test]
    fn forbidden_starts_with_and_duplicates_are_errors() {
        let b = PostPolicy::builder("b")
            .key("k")
            .starts_with(Field::StorageClass, "S")
            .meta("a", "1")
            .field(Field::parse("X-Amz-Meta-A").unwrap(), "2");
        let e = errors(b, LintContext::new(NOW));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("x-amz-storage-class"));
        assert!(e[1].contains("x-amz-meta-a"));
    }

    #[test]
    fn findings_carry_codes_and_the_error_shows_only_errors() {
        let err = PostPolicy::builder("b")
            .key("user/4${filename}")
            .content_length_range(10, 1)
            .expires_in(MAX_EXPIRY + Duration::from_secs(1))
            .build(NOW)
            .unwrap_err();
        let crate::Error::Lint(report) = &err else {
            panic!("not a lint error: {err:?}");
        };
        let codes: Vec<(Severity, Code)> = report
            .findings
            .iter()
            .map(|f| (f.severity, f.code))
            .collect();
        assert_eq!(
            codes,
            [
                (Severity::Warning, Code::PrefixWithoutSlash),
                (Severity::Error, Code::MinAboveMax),
                (Severity::Error, Code::ExpiresTooLate),
            ]
        );
        assert!(report.has(Code::ExpiresTooLate));
        let msg = err.to_string();
        assert!(
            msg.starts_with("the policy was not issued: content-length-range has min 10"),
            "{msg}"
        );
        assert!(msg.contains("; the policy expires at"), "{msg}");
        assert!(!msg.contains("does not end in"), "{msg}");
    }

    #[test]
    fn the_size_estimate_covers_the_real_json() {
        use crate::condition::PrefixField;
        let conds = [
            Condition::Eq(Field::meta("owner"), "alice".into()),
            Condition::EqExplicit(Field::ContentDisposition, "inline".into()),
            Condition::StartsWith(PrefixField::Key, "users/42/".into()),
            Condition::ContentLengthRange {
                min: 0,
                max: MAX_POST_SIZE,
            },
        ];
        for c in &conds {
            let real = serde_json::to_vec(c).unwrap().len() + 1; // and its comma
            assert!(
                json_len(c) >= real && json_len(c) <= real + 48,
                "{c:?}: {} vs {real}",
                json_len(c)
            );
        }
    }

    #[test]
    fn oversized_fields_are_errors() {
        let b = PostPolicy::builder("b")
            .key("k")
            .meta("big", "x".repeat(MAX_FIELDS_BYTES));
        assert!(errors(b, LintContext::new(NOW))[0].contains("20 KB"));
    }
}
