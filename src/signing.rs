//! SigV4 for POST policies: credential scope, the signing-key cache, and [`PresignedPost`].
//!
//! The signing key comes from `aws_sigv4::sign::v4::generate_signing_key` and is cached per
//! (access key, date, region), so it is derived once a day rather than once per form.

use crate::condition::{Condition, Field};
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::policy::PostPolicy;
use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use std::sync::{RwLock, RwLockReadGuard};
use time::{Date, OffsetDateTime};

/// The SigV4 algorithm name.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "s3";

/// A signed browser form: where to POST and the fields to send, `file` last.
/// Serializes as boto3's `{"url": …, "fields": {…}}`, fields in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPost {
    /// The URL the form posts to.
    pub url: String,
    /// The form fields, in the order they must be sent (before `file`).
    pub fields: Vec<(String, String)>,
}

impl PresignedPost {
    /// The value of field `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct OrderedFields<'a>(&'a [(String, String)]);

impl Serialize for OrderedFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for PresignedPost {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PresignedPost", 2)?;
        st.serialize_field("url", &self.url)?;
        st.serialize_field("fields", &OrderedFields(&self.fields))?;
        st.end()
    }
}

#[derive(Debug)]
struct CachedKey {
    access_key_id: String,
    date: Date,
    key: [u8; 32],
}

/// Signs POST policies and presigned URLs for one region and endpoint.
#[derive(Debug)]
pub struct Signer {
    credentials: RwLock<Credentials>,
    region: String,
    endpoint: Endpoint,
    cache: RwLock<Option<CachedKey>>,
}

impl Signer {
    /// A signer for `region` at `endpoint`.
    pub fn new(credentials: Credentials, region: impl Into<String>, endpoint: Endpoint) -> Self {
        Self {
            credentials: RwLock::new(credentials),
            region: region.into(),
            endpoint,
            cache: RwLock::new(None),
        }
    }

    /// The region signatures are scoped to.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The endpoint URLs are built for.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    /// Replaces the credentials (after a refresh from the AWS chain).
    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.write().unwrap_or_else(|e| e.into_inner()) = credentials;
    }
    /// A copy of the current credentials.
    pub fn credentials(&self) -> Credentials {
        self.creds().clone()
    }
    pub(crate) fn creds(&self) -> RwLockReadGuard<'_, Credentials> {
        self.credentials.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The SigV4 signing key for `creds` on `now`'s date, derived at most once a day.
    pub(crate) fn signing_key(&self, creds: &Credentials, now: OffsetDateTime) -> [u8; 32] {
        let date = now.date();
        if let Some(c) = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if c.date == date && c.access_key_id == creds.access_key_id() {
                return c.key;
            }
        }
        let key = derive_key(creds.secret_access_key(), now, &self.region);
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Some(CachedKey {
            access_key_id: creds.access_key_id().to_string(),
            date,
            key,
        });
        key
    }

    /// Signs `policy` as of `now`: adds bucket, key, algorithm, credential, date and token
    /// conditions and fields, and the base64 policy with its signature.
    pub fn sign_post(&self, policy: &PostPolicy, now: OffsetDateTime) -> Result<PresignedPost> {
        let now = utc_seconds(now);
        let creds = self.creds();
        if let Some(exp) = creds.expires_at() {
            if policy.expiration > exp {
                return Err(Error::Lint(vec![format!(
                    "the policy expires at {}, after the signing credentials do ({exp}); shorten the expiry or refresh the credentials",
                    policy.expiration
                )]));
            }
        }
        let amz_date = amz_date(now);
        let credential = credential_scope(creds.access_key_id(), now, &self.region);
        let mut expiration = String::with_capacity(20);
        write_iso8601(&mut expiration, utc_seconds(policy.expiration));
        let doc = PolicyDocument {
            expiration: &expiration,
            policy,
            credential: &credential,
            date: &amz_date,
            token: creds.session_token(),
        };
        let json = serde_json::to_vec(&doc).map_err(|e| Error::Signing(e.to_string()))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        let signature = calculate_signature(self.signing_key(&creds, now), encoded.as_bytes());

        let mut fields = Vec::with_capacity(policy.fields.len() + 7);
        fields.extend(
            policy
                .fields
                .iter()
                .map(|(f, v)| (f.name().to_string(), v.clone())),
        );
        fields.push(("key".into(), policy.key.clone()));
        fields.push(("x-amz-algorithm".into(), ALGORITHM.into()));
        fields.push(("x-amz-credential".into(), credential));
        fields.push(("x-amz-date".into(), amz_date));
        if let Some(token) = creds.session_token() {
            fields.push(("x-amz-security-token".into(), token.to_string()));
        }
        fields.push(("policy".into(), encoded));
        fields.push(("x-amz-signature".into(), signature));
        Ok(PresignedPost {
            url: self.endpoint.bucket_url(&policy.bucket, &self.region),
            fields,
        })
    }

    /// Signs an already-encoded base64 policy, as S3 verifies it (for tests and tooling).
    pub fn sign_encoded_policy(&self, policy_base64: &str, now: OffsetDateTime) -> String {
        let creds = self.creds();
        calculate_signature(self.signing_key(&creds, now), policy_base64.as_bytes())
    }
}

/// `t` in UTC, without fractions of a second.
pub(crate) fn utc_seconds(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

fn derive_key(secret: &str, now: OffsetDateTime, region: &str) -> [u8; 32] {
    let key = generate_signing_key(secret, now.into(), region, SERVICE);
    let mut out = [0u8; 32];
    out.copy_from_slice(key.as_ref());
    out
}

/// The policy document: the caller's conditions, then bucket, key and the signing conditions.
struct PolicyDocument<'a> {
    expiration: &'a str,
    policy: &'a PostPolicy,
    credential: &'a str,
    date: &'a str,
    token: Option<&'a str>,
}

struct Conditions<'a>(&'a PolicyDocument<'a>);

struct Pair<'a>(&'a str, &'a str);

impl Serialize for Pair<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

impl Serialize for Conditions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let d = self.0;
        let mut q = s.serialize_seq(None)?;
        for c in &d.policy.conditions {
            q.serialize_element(c)?;
        }
        q.serialize_element(&Pair(Field::Bucket.name(), &d.policy.bucket))?;
        q.serialize_element::<Condition>(&d.policy.key_condition)?;
        q.serialize_element(&Pair("x-amz-algorithm", ALGORITHM))?;
        q.serialize_element(&Pair("x-amz-credential", d.credential))?;
        q.serialize_element(&Pair("x-amz-date", d.date))?;
        if let Some(t) = d.token {
            q.serialize_element(&Pair("x-amz-security-token", t))?;
        }
        q.end()
    }
}

impl Serialize for PolicyDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PolicyDocument", 2)?;
        st.serialize_field("expiration", self.expiration)?;
        st.serialize_field("conditions", &Conditions(self))?;
        st.end()
    }
}

/// `20260314T150926Z`
pub(crate) fn amz_date(t: OffsetDateTime) -> String {
    let mut s = String::with_capacity(16);
    let _ = write!(
        s,
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    s
}

/// `AKID/20260314/us-east-1/s3/aws4_request`
pub(crate) fn credential_scope(access_key_id: &str, t: OffsetDateTime, region: &str) -> String {
    let mut s = String::with_capacity(access_key_id.len() + region.len() + 32);
    let _ = write!(
        s,
        "{access_key_id}/{:04}{:02}{:02}/{region}/{SERVICE}/aws4_request",
        t.year(),
        u8::from(t.month()),
        t.day()
    );
    s
}

/// `2026-03-14T16:09:26Z`, UTC, as S3 expects the policy expiration.
pub(crate) fn write_iso8601(s: &mut String, t: OffsetDateTime) {
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}
