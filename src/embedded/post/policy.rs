//! Whether a POST form may upload, decided from its fields alone, as S3 does
//! before it reads the file: SigV4 only, the signature (keys derived with
//! aws-sigv4's own functions), the policy's expiration and every condition,
//! with `${filename}` expanded before the key's conditions are checked.
//!
//! Pure: the clock and the store's keys are parameters.

use std::time::SystemTime;

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use s3s::post_policy::{PostPolicy, PostPolicyCondition};
use time::macros::format_description;
use time::OffsetDateTime;

use super::fields::{expand, FormFields};
use crate::embedded::keys::check_key;
use crate::embedded::respond::Refusal;

/// The one SigV4 algorithm S3 takes for POST forms.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Largest object a single POST may upload (S3's 5 GiB).
pub(crate) const MAX_POST_OBJECT: u64 = 5 * 1024 * 1024 * 1024;

/// The store's one key pair and its region.
#[derive(Clone, Copy)]
pub(crate) struct StoreKeys<'a> {
    /// The access key id.
    pub access_key: &'a str,
    /// Its secret (never logged).
    pub secret_key: &'a str,
    /// The region requests must be scoped to.
    pub region: &'a str,
}

/// What an authorized form may store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The key, `${filename}` expanded.
    pub key: String,
    /// Smallest file the policy allows, in bytes.
    pub min: u64,
    /// Largest file the policy allows, in bytes.
    pub max: u64,
}

/// Checks a form's signature and policy against the store's keys, the URL's
/// bucket and the time `now`; returns the key and size limits for the file.
pub(crate) fn authorize(
    form: &FormFields,
    keys: StoreKeys<'_>,
    bucket: &str,
    now: SystemTime,
) -> Result<Grant, Refusal> {
    let policy_b64 = authenticate(form, keys)?;
    let policy = parse_policy(policy_b64)?;
    if OffsetDateTime::from(policy.expiration.clone()) <= OffsetDateTime::from(now) {
        return Err(Refusal::policy("Policy expired."));
    }
    let raw_key = form.field("key").ok_or_else(|| missing_field("key"))?;
    let key = expand(raw_key, form.filename())
        .map_err(|e| Refusal::bad_request("InvalidArgument", e.to_string()))?;
    check_key(&key).map_err(Refusal::from)?;

    let value = |field: &str| -> Option<&str> {
        match field {
            "bucket" => Some(bucket),
            "key" => Some(key.as_str()),
            other => form.field(other),
        }
    };
    if form.field("bucket").is_some_and(|b| b != bucket) {
        return Err(Refusal::policy(format!(
            "Policy Condition failed: [\"eq\", \"$bucket\", \"{bucket}\"]"
        )));
    }
    let (mut min, mut max) = (0, MAX_POST_OBJECT);
    for cond in &policy.conditions {
        match cond {
            PostPolicyCondition::Eq { field, value: want } => {
                if value(field) != Some(want.as_str()) {
                    return Err(condition_failed("eq", field, want));
                }
            }
            PostPolicyCondition::StartsWith { field, prefix } => {
                if !value(field)
                    .unwrap_or_default()
                    .starts_with(prefix.as_str())
                {
                    return Err(condition_failed("starts-with", field, prefix));
                }
            }
            PostPolicyCondition::ContentLengthRange { min: lo, max: hi } => {
                min = min.max(*lo);
                max = max.min(*hi);
            }
        }
    }
    if let Some(extra) = form
        .names()
        .find(|n| !exempt(n) && !has_condition(&policy, n))
    {
        return Err(Refusal::policy(format!("Extra input fields: {extra}")));
    }
    Ok(Grant { key, min, max })
}

/// Checks that the form is SigV4, by this store's key, for its region, and
/// signed; returns the (now authenticated) base64 policy.
fn authenticate<'f>(form: &'f FormFields, keys: StoreKeys<'_>) -> Result<&'f str, Refusal> {
    let Some(algorithm) = form.field("x-amz-algorithm") else {
        if form.field("awsaccesskeyid").is_some() || form.field("signature").is_some() {
            return Err(Refusal::bad_request(
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. Please use \
                 AWS4-HMAC-SHA256: this store takes only SigV4 POST forms (x-amz-algorithm, \
                 x-amz-credential, x-amz-date, x-amz-signature), not SigV2's AWSAccessKeyId \
                 and signature.",
            ));
        }
        if form.field("policy").is_none() {
            return Err(Refusal::access_denied(
                "Access Denied: this store takes only signed POST uploads; sign a POST policy with SigV4",
            ));
        }
        return Err(missing_field("x-amz-algorithm"));
    };
    if algorithm != ALGORITHM {
        return Err(Refusal::bad_request(
            "InvalidArgument",
            format!("x-amz-algorithm must be {ALGORITHM}, not {algorithm:?}"),
        ));
    }
    let credential = form
        .field("x-amz-credential")
        .ok_or_else(|| missing_field("x-amz-credential"))?;
    let signature = form
        .field("x-amz-signature")
        .ok_or_else(|| missing_field("x-amz-signature"))?;
    let amz_date = form
        .field("x-amz-date")
        .ok_or_else(|| missing_field("x-amz-date"))?;
    let policy = form
        .field("policy")
        .ok_or_else(|| missing_field("policy"))?;

    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(Refusal::bad_request(
            "InvalidArgument",
            format!("x-amz-credential {credential:?} is not KEYID/YYYYMMDD/REGION/s3/aws4_request"),
        ));
    };
    if *key_id != keys.access_key {
        return Err(Refusal::new(
            http::StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ));
    }
    if *region != keys.region || *service != "s3" {
        return Err(Refusal::bad_request(
            "AuthorizationHeaderMalformed",
            format!(
                "the credential scope '{region}/{service}' is wrong; expecting '{}/s3'",
                keys.region
            ),
        ));
    }
    let day = time::Date::parse(date, format_description!("[year][month][day]"));
    let stamp = time::PrimitiveDateTime::parse(
        amz_date,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    );
    let (Ok(day), Ok(stamp)) = (day, stamp) else {
        return Err(Refusal::bad_request(
            "InvalidArgument",
            format!("x-amz-date {amz_date:?} and the credential's date must look like 20260314T150926Z and 20260314"),
        ));
    };
    if stamp.date() != day {
        return Err(Refusal::bad_request(
            "InvalidArgument",
            "x-amz-date is not on the day of the x-amz-credential scope",
        ));
    }
    let key = generate_signing_key(
        keys.secret_key,
        SystemTime::from(day.midnight().assume_utc()),
        region,
        service,
    );
    let expected = calculate_signature(key, policy.as_bytes());
    if !same(&expected, signature) {
        return Err(Refusal::new(
            http::StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        ));
    }
    Ok(policy)
}

/// Reads the (authenticated) base64 policy; its expiration must be an ISO 8601
/// UTC time such as `2026-03-14T15:09:26Z` (s3s alone also takes other forms).
fn parse_policy(policy_b64: &str) -> Result<PostPolicy, Refusal> {
    use base64::Engine as _;
    let invalid = |why: String| {
        Refusal::bad_request(
            "InvalidPolicyDocument",
            format!("Invalid Policy: {why}; the policy must be base64 JSON with \"expiration\" (like 2026-03-14T15:09:26Z) and \"conditions\""),
        )
    };
    let json = base64::engine::general_purpose::STANDARD
        .decode(policy_b64)
        .map_err(|e| invalid(format!("not base64 ({e})")))?;
    let json = String::from_utf8(json).map_err(|_| invalid("not UTF-8".into()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| invalid(format!("not JSON ({e})")))?;
    let expiration = doc
        .get("expiration")
        .and_then(|e| e.as_str())
        .unwrap_or_default();
    let iso_utc = expiration.ends_with('Z')
        && OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
            .is_ok_and(|_| expiration.as_bytes().get(10) == Some(&b'T'));
    if !iso_utc {
        return Err(invalid(format!(
            "expiration {expiration:?} is not an ISO 8601 UTC time"
        )));
    }
    PostPolicy::from_json(&json).map_err(|e| invalid(e.to_string()))
}

/// S3's answer to a form without a field it needs.
fn missing_field(name: &str) -> Refusal {
    Refusal::bad_request(
        "InvalidArgument",
        format!(
            "Bucket POST must contain a field named '{name}'. If it is specified, please check the order of the fields."
        ),
    )
}

fn condition_failed(op: &str, field: &str, value: &str) -> Refusal {
    Refusal::policy(format!(
        "Policy Condition failed: [\"{op}\", \"${field}\", \"{value}\"]"
    ))
}

/// Fields that need no condition (S3's list, plus a form's `submit` button).
fn exempt(name: &str) -> bool {
    matches!(name, "x-amz-signature" | "file" | "policy" | "submit")
        || name.starts_with("x-ignore-")
}

fn has_condition(policy: &PostPolicy, name: &str) -> bool {
    policy.conditions.iter().any(|c| match c {
        PostPolicyCondition::Eq { field, .. } | PostPolicyCondition::StartsWith { field, .. } => {
            field == name
        }
        PostPolicyCondition::ContentLengthRange { .. } => false,
    })
}

/// Compares two signatures in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use std::time::{Duration, UNIX_EPOCH};

    const KEYS: StoreKeys<'static> = StoreKeys {
        access_key: "AKIDTEST",
        secret_key: "secret",
        region: "us-east-1",
    };
    /// 2026-03-14T15:09:26Z
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_773_500_966)
    }

    fn form(policy_json: &str, extra: &[(&str, &str)], secret: &str) -> FormFields {
        let policy = base64::engine::general_purpose::STANDARD.encode(policy_json);
        let key = generate_signing_key(secret, now(), "us-east-1", "s3");
        let signature = calculate_signature(key, policy.as_bytes());
        let mut f = FormFields::default();
        for (n, v) in [
            ("key", "up/${filename}"),
            ("x-amz-algorithm", ALGORITHM),
            (
                "x-amz-credential",
                "AKIDTEST/20260314/us-east-1/s3/aws4_request",
            ),
            ("x-amz-date", "20260314T150926Z"),
            ("policy", policy.as_str()),
            ("x-amz-signature", signature.as_str()),
        ] {
            f.push(n, v);
        }
        for (n, v) in extra {
            f.push(n, v);
        }
        f
    }

    const POLICY: &str = r#"{"expiration":"2026-03-14T16:00:00Z","conditions":[
        {"bucket":"b"},["starts-with","$key","up/"],["content-length-range",1,10],
        {"x-amz-algorithm":"AWS4-HMAC-SHA256"},
        {"x-amz-credential":"AKIDTEST/20260314/us-east-1/s3/aws4_request"},
        {"x-amz-date":"20260314T150926Z"}]}"#;

    fn code(r: Result<Grant, Refusal>) -> String {
        r.expect_err("refused").code.into_owned()
    }

    #[test]
    fn refusals_use_s3s_codes() {
        let mut named = form(POLICY, &[], "secret");
        named.set_filename("a.txt");
        let g = authorize(&named, KEYS, "b", now()).expect("allowed");
        assert_eq!((g.key.as_str(), g.min, g.max), ("up/a.txt", 1, 10));
        let mut wrong = form(POLICY, &[], "other");
        wrong.set_filename("a.txt");
        assert_eq!(
            code(authorize(&wrong, KEYS, "b", now())),
            "SignatureDoesNotMatch"
        );
        let other_key = StoreKeys {
            access_key: "AKIDOTHER",
            ..KEYS
        };
        assert_eq!(
            code(authorize(&named, other_key, "b", now())),
            "InvalidAccessKeyId"
        );
        assert_eq!(code(authorize(&named, KEYS, "c", now())), "AccessDenied");
        let later = now() + Duration::from_secs(3600);
        assert_eq!(code(authorize(&named, KEYS, "b", later)), "AccessDenied");
        let mut extra = form(POLICY, &[("x-amz-meta-a", "1")], "secret");
        extra.set_filename("a.txt");
        let r = authorize(&extra, KEYS, "b", now()).expect_err("extra field");
        assert!(
            r.message.contains("Extra input fields: x-amz-meta-a"),
            "{r:?}"
        );
        // ${filename} is expanded before starts-with is checked.
        let mut escaping = form(POLICY, &[], "secret");
        escaping.set_filename("../../x");
        assert_eq!(
            authorize(&escaping, KEYS, "b", now())
                .expect("base name")
                .key,
            "up/x"
        );
    }

    #[test]
    fn sigv2_is_refused_with_advice() {
        let mut f = FormFields::default();
        f.push("AWSAccessKeyId", "AKIDTEST");
        f.push("signature", "abc");
        f.push("policy", "e30=");
        let r = authorize(&f, KEYS, "b", now()).expect_err("sigv2");
        assert_eq!(r.code, "InvalidRequest");
        assert!(r.message.contains("AWS4-HMAC-SHA256"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
