//! SigV4 for POST policies: credential scope, the signing-key cache, and [`PresignedPost`].
//!
//! The signing key comes from `aws_sigv4::sign::v4::generate_signing_key` and is cached per
//! (access key, date, region), so it is derived once a day rather than once per form; each
//! signature is `aws_sigv4::sign::v4::calculate_signature` over the base64 policy.

use crate::condition::{Condition, Field};
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::lint::{Code, Report, Severity};
use crate::policy::PostPolicy;
use crate::wire::{self, utc_seconds, ALGORITHM, SERVICE};
use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use std::sync::{RwLock, RwLockReadGuard};
use time::{Date, OffsetDateTime};

/// Kept importable here for the server until it takes them from [`wire`].
pub use crate::wire::write_iso8601;

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

struct CachedKey {
    access_key_id: String,
    date: Date,
    key: [u8; 32],
}

impl std::fmt::Debug for CachedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedKey")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .finish_non_exhaustive()
    }
}

/// Signs POST policies and presigned URLs for one region and endpoint.
#[derive(Debug)]
pub struct Signer {
    credentials: RwLock<Credentials>,
    region: String,
    endpoint: Endpoint,
    cache: RwLock<Option<CachedKey>>,
    /// The last bucket a form was signed for, and its URL.
    bucket_url: RwLock<Option<(String, String)>>,
}

impl Signer {
    /// A signer for `region` at `endpoint`.
    pub fn new(credentials: Credentials, region: impl Into<String>, endpoint: Endpoint) -> Self {
        Self {
            credentials: RwLock::new(credentials),
            region: region.into(),
            endpoint,
            cache: RwLock::new(None),
            bucket_url: RwLock::new(None),
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
    fn signing_key(&self, creds: &Credentials, now: OffsetDateTime) -> [u8; 32] {
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

    /// The URL forms for `bucket` post to, remembered for the last bucket.
    fn bucket_url(&self, bucket: &str) -> String {
        if let Some((b, url)) = self
            .bucket_url
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if b == bucket {
                return url.clone();
            }
        }
        let url = self.endpoint.bucket_url(bucket, &self.region);
        *self.bucket_url.write().unwrap_or_else(|e| e.into_inner()) =
            Some((bucket.to_string(), url.clone()));
        url
    }

    /// Signs `policy` as of `now`: adds bucket, key, algorithm, credential, date and token
    /// conditions and fields, and the base64 policy with its signature.
    pub fn sign_post(&self, policy: &PostPolicy, now: OffsetDateTime) -> Result<PresignedPost> {
        let now = utc_seconds(now);
        let creds = self.creds();
        if let Some(exp) = creds.expires_at() {
            if policy.expiration > exp {
                return Err(Error::Lint(Report::of(
                    Severity::Error,
                    Code::OutlivesCredentials,
                    format!(
                        "the policy expires at {}, after the signing credentials do ({exp}); shorten the expiry or refresh the credentials",
                        policy.expiration
                    ),
                )));
            }
        }
        let amz_date = wire::amz_date(now);
        let day = amz_date.split('T').next().unwrap_or_default();
        let credential = wire::credential_for_day(creds.access_key_id(), day, &self.region);
        let expiration = wire::iso8601(policy.expiration);
        let doc = PolicyDocument {
            expiration: &expiration,
            policy,
            credential: &credential,
            date: &amz_date,
            token: creds.session_token(),
        };
        let encoded = encode_policy(&doc)?;
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
            url: self.bucket_url(&policy.bucket),
            fields,
        })
    }

    /// Signs an already-encoded base64 policy, as S3 verifies it (for tests and tooling).
    pub fn sign_encoded_policy(&self, policy_base64: &str, now: OffsetDateTime) -> String {
        let creds = self.creds();
        calculate_signature(self.signing_key(&creds, now), policy_base64.as_bytes())
    }
}

fn derive_key(secret: &str, now: OffsetDateTime, region: &str) -> [u8; 32] {
    let key = generate_signing_key(secret, now.into(), region, SERVICE);
    let mut out = [0u8; 32];
    out.copy_from_slice(key.as_ref());
    out
}

/// The document as JSON, base64-encoded. The JSON and its base64 go into buffers kept per
/// thread, so signing allocates only the string it returns. (`Engine::encode` would `calloc` it,
/// which skips glibc's thread cache: freeing such strings in a loop cost 5% in
/// `malloc_consolidate`.)
fn encode_policy(doc: &PolicyDocument<'_>) -> Result<String> {
    #[derive(Default)]
    struct Buffers {
        json: Vec<u8>,
        base64: Vec<u8>,
    }
    thread_local! {
        static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::default();
    }
    fn encode(bufs: &mut Buffers, doc: &PolicyDocument<'_>) -> Result<String> {
        let err = |e: &dyn std::fmt::Display| Error::Signing(e.to_string());
        bufs.json.clear();
        bufs.json.reserve(doc.size_hint());
        serde_json::to_writer(&mut bufs.json, doc).map_err(|e| err(&e))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let len = base64::encoded_len(bufs.json.len(), true).ok_or_else(|| err(&"too long"))?;
        if bufs.base64.len() < len {
            bufs.base64.resize(len, 0);
        }
        let n = b64
            .encode_slice(&bufs.json, &mut bufs.base64)
            .map_err(|e| err(&e))?;
        let encoded = std::str::from_utf8(&bufs.base64[..n]).map_err(|e| err(&e))?;
        Ok(encoded.to_owned())
    }
    BUFFERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bufs) => {
            let encoded = encode(&mut bufs, doc);
            if bufs.json.capacity() > 64 << 10 {
                *bufs = Buffers::default();
            }
            encoded
        }
        Err(_) => encode(&mut Buffers::default(), doc),
    })
}

/// The policy document: the caller's conditions, then bucket, key and the signing conditions.
struct PolicyDocument<'a> {
    expiration: &'a str,
    policy: &'a PostPolicy,
    credential: &'a str,
    date: &'a str,
    token: Option<&'a str>,
}

impl PolicyDocument<'_> {
    /// About the length of the JSON, a little over unless values need escaping.
    fn size_hint(&self) -> usize {
        let p = self.policy;
        let conditions: usize = p
            .conditions
            .iter()
            .chain([&p.key_condition])
            .map(|c| match c {
                Condition::Eq(f, v) | Condition::EqExplicit(f, v) => f.name().len() + v.len() + 24,
                Condition::StartsWith(f, v) => f.name().len() + v.len() + 24,
                Condition::ContentLengthRange { .. } => 72,
            })
            .sum();
        let signing = p.bucket.len()
            + self.credential.len()
            + self.date.len()
            + self.token.map_or(0, |t| t.len() + 32)
            + 128;
        48 + self.expiration.len() + conditions + signing
    }
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
