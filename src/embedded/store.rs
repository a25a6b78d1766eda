//! The S3 implementation behind the embedded store: s3s-fs plus the checks
//! s3s and s3s-fs leave out.
//!
//! s3s verifies signatures, POST policy signature, expiration and conditions
//! (see the module docs of `super`). What this wrapper adds, for every
//! operation it lets through:
//! - the credential scope's region must be the store's region (s3s accepts
//!   any region a client signs for) and only SigV4 is accepted;
//! - a presigned URL may not live longer than 7 days (`X-Amz-Expires`
//!   ≤ 604800, as S3 enforces; s3s accepts any `u32`);
//! - the bucket must exist (s3s-fs would create its directory on PUT);
//! - keys with `.`/`..` segments, a leading `/` or a backslash are refused:
//!   s3s-fs maps keys to paths, so `up/../other-bucket/x` would escape.
//!
//! - a declared Content-MD5 or `x-amz-checksum-*` is checked before s3s-fs
//!   writes anything (see `digest`);
//!
//! and for POST object (s3s drops the policy before `post_object`, so the
//! frontend reads the form's fields as well, see `form`):
//! - the form as the frontend read it must have the key s3s read, and its
//!   policy signature is verified again, so the policy used below is signed;
//! - `${filename}` in the key is expanded, and every `starts-with $key`
//!   condition is checked again against the expanded key;
//! - server-side-encryption fields (and SigV2's `signature`/`awsaccesskeyid`),
//!   which s3s exempts from the "every field must be in the policy" rule,
//!   must be in the policy as S3 requires;
//! - a `success_action_redirect` that is not an absolute http(s) URL is
//!   refused before anything is stored (s3s would store, then fail);
//! - the outcome (expanded key, ETag, redirect, status) is handed to the
//!   frontend in the response extensions so it can answer as S3 does.
//!
//! Operations not delegated below answer `NotImplemented`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use s3s::dto::*;
use s3s::post_policy::{PostPolicy, PostPolicyCondition};
use s3s::region::Region;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use sha2::Sha256;

use super::digest::{too_large, Declared, MAX_VERIFIED_BODY};
use super::form::{expand, FormView};
use super::respond::{redirect_is_usable, PostOutcome};

/// Longest lifetime S3 accepts for a presigned URL, in seconds.
const MAX_PRESIGN_SECS: u64 = 604_800;
/// Longest key S3 accepts, in bytes.
const MAX_KEY_LEN: usize = 1024;

/// s3s-fs guarded by the checks S3 makes and s3s/s3s-fs do not; clones share the store.
#[derive(Clone)]
pub(crate) struct GuardedStore {
    inner: Arc<s3s_fs::FileSystem>,
    root: PathBuf,
    region: String,
}

impl GuardedStore {
    /// Wraps an s3s-fs store rooted at `root`, answering for `region`.
    pub(crate) fn new(inner: s3s_fs::FileSystem, root: PathBuf, region: String) -> Self {
        Self {
            inner: Arc::new(inner),
            root,
            region,
        }
    }

    /// The checks shared by every operation.
    async fn admit<T: Target>(&self, req: &S3Request<T>) -> S3Result<()> {
        self.check_region(req.region.as_ref())?;
        check_presign_lifetime(req.uri.query())?;
        if let Some(bucket) = req.input.bucket() {
            self.check_bucket(bucket).await?;
        }
        for key in req.input.keys() {
            check_key(key)?;
        }
        Ok(())
    }

    fn check_region(&self, region: Option<&Region>) -> S3Result<()> {
        match region {
            Some(r) if r.as_str() == self.region => Ok(()),
            Some(r) => Err(s3_error!(
                AuthorizationHeaderMalformed,
                "the region '{}' is wrong; expecting '{}'",
                r.as_str(),
                self.region
            )),
            None => Err(s3_error!(
                AccessDenied,
                "this store accepts only AWS Signature Version 4 requests scoped to region '{}'",
                self.region
            )),
        }
    }

    async fn check_bucket(&self, bucket: &str) -> S3Result<()> {
        let exists = s3s::path::check_bucket_name(bucket)
            && tokio::fs::metadata(self.root.join(bucket))
                .await
                .is_ok_and(|m| m.is_dir());
        if exists {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ))
        }
    }

    async fn put(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.admit(&req).await?;
        let declared = Declared::from(&req.input);
        if !declared.is_empty() {
            let length = req.input.content_length.and_then(|l| u64::try_from(l).ok());
            if length.is_some_and(|l| l > MAX_VERIFIED_BODY) {
                return Err(too_large());
            }
            req.input.body = declared.verify(req.input.body.take()).await?;
        }
        self.inner.put_object(req).await
    }

    async fn post(
        &self,
        mut req: S3Request<PostObjectInput>,
    ) -> S3Result<S3Response<PostObjectOutput>> {
        self.admit(&req).await?;
        let key = {
            let form = req.extensions.get::<FormView>().ok_or_else(|| {
                s3_error!(
                    MalformedPOSTRequest,
                    "the form's fields could not be read before its file"
                )
            })?;
            // s3s parsed the form too: refuse rather than guess if we disagree.
            if form.field("key") != Some(req.input.key.as_str()) {
                return Err(s3_error!(
                    MalformedPOSTRequest,
                    "the form's key field is ambiguous"
                ));
            }
            let creds = req
                .credentials
                .as_ref()
                .ok_or_else(|| s3_error!(AccessDenied, "a POST upload must be signed"))?;
            let policy_b64 =
                verify_form_signature(form, &creds.access_key, creds.secret_key.expose())?;
            let policy = PostPolicy::from_base64(policy_b64)
                .map_err(|e| s3_error!(InvalidPolicyDocument, "invalid policy: {e}"))?;

            let key = expand(&req.input.key, form.filename())
                .map_err(|e| s3_error!(InvalidArgument, "{e}"))?;
            check_key(&key)?;
            check_key_prefixes(&policy, &key)?;
            check_exempt_fields_signed(&policy, form.names())?;
            key
        };
        if let Some(redirect) = req.input.success_action_redirect.as_deref() {
            if !redirect_is_usable(redirect) {
                return Err(s3_error!(
                    InvalidArgument,
                    "success_action_redirect must be an absolute http(s) URL"
                ));
            }
        }

        let declared = Declared::from(&req.input);
        req.input.body = declared.verify(req.input.body.take()).await?;
        req.input.key.clone_from(&key);
        let bucket = req.input.bucket.clone();
        let redirect = req.input.success_action_redirect.clone();
        let status = req.input.success_action_status;

        let mut resp = self.inner.post_object(req).await?;
        let etag = resp
            .output
            .e_tag
            .as_ref()
            .map(|e| format!("\"{}\"", e.value()))
            .unwrap_or_default();
        resp.extensions.insert(PostOutcome {
            bucket,
            key,
            etag,
            redirect,
            status,
        });
        Ok(resp)
    }
}

/// Checks the SigV4 POST signature of the form as *we* read it and returns
/// its (now authenticated) base64 policy.
///
/// s3s already verified the form as it read it; verifying again here means
/// the policy applied below is one the key holder signed, whatever the
/// differences between the two multipart parsers.
fn verify_form_signature<'f>(
    form: &'f FormView,
    access_key: &str,
    secret: &str,
) -> S3Result<&'f str> {
    let mismatch = || {
        s3_error!(
            SignatureDoesNotMatch,
            "the form's signature does not match its policy"
        )
    };
    let policy = form
        .field("policy")
        .ok_or_else(|| s3_error!(AccessDenied, "a POST upload needs a signed policy"))?;
    let credential = form.field("x-amz-credential").ok_or_else(mismatch)?;
    let signature = form.field("x-amz-signature").ok_or_else(mismatch)?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(mismatch());
    };
    if *key_id != access_key {
        return Err(mismatch());
    }
    let signature = hex::decode(signature).map_err(|_| mismatch())?;
    let mut k = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [*region, *service, "aws4_request"] {
        k = hmac_sha256(&k, part.as_bytes());
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k).map_err(|_| mismatch())?;
    mac.update(policy.as_bytes());
    mac.verify_slice(&signature).map_err(|_| mismatch())?;
    Ok(policy)
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC accepts keys of any length: this arm is never taken.
        Err(_) => Vec::new(),
    }
}

/// `X-Amz-Expires` (if present) must not exceed a week.
fn check_presign_lifetime(query: Option<&str>) -> S3Result<()> {
    let Some(query) = query else { return Ok(()) };
    for pair in query.split('&') {
        let Some(("X-Amz-Expires", value)) = pair.split_once('=') else {
            continue;
        };
        match value.parse::<u64>() {
            Ok(secs) if secs <= MAX_PRESIGN_SECS => {}
            _ => {
                return Err(s3_error!(
                    AuthorizationQueryParametersError,
                    "X-Amz-Expires must be less than a week (in seconds) that is; 604800"
                ))
            }
        }
    }
    Ok(())
}

/// Refuses keys that would not map to a file inside their bucket's directory.
fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() {
        return Err(s3_error!(InvalidArgument, "empty object key"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(s3_error!(KeyTooLongError));
    }
    let unsafe_key = key.starts_with('/')
        || key.contains('\\')
        || key.contains('\0')
        || key.split('/').any(|seg| seg == "." || seg == "..");
    if unsafe_key {
        return Err(s3_error!(
            InvalidArgument,
            "this store keeps objects as files and refuses keys with '.' or '..' segments, a leading '/' or '\\'"
        ));
    }
    Ok(())
}

/// Every `starts-with $key` condition must hold for the key actually stored.
fn check_key_prefixes(policy: &PostPolicy, key: &str) -> S3Result<()> {
    for cond in &policy.conditions {
        if let PostPolicyCondition::StartsWith { field, prefix } = cond {
            if field == "key" && !key.starts_with(prefix.as_str()) {
                return Err(s3_error!(
                    AccessDenied,
                    "Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$key\", \"{prefix}\"]"
                ));
            }
        }
    }
    Ok(())
}

/// Fields s3s lets through without a policy condition but S3 does not:
/// `x-amz-server-side-encryption*`, and SigV2's `signature` and
/// `awsaccesskeyid` in a SigV4 form. (S3 exempts `x-amz-signature`, `file`,
/// `policy`, `x-ignore-*` and, in practice, the `submit` button.)
fn check_exempt_fields_signed<'a>(
    policy: &PostPolicy,
    mut names: impl Iterator<Item = &'a str>,
) -> S3Result<()> {
    let unsigned = names.find(|name| {
        (name.starts_with("x-amz-server-side-encryption")
            || *name == "signature"
            || *name == "awsaccesskeyid")
            && !policy.conditions.iter().any(|c| match c {
                PostPolicyCondition::Eq { field, .. }
                | PostPolicyCondition::StartsWith { field, .. } => field == name,
                PostPolicyCondition::ContentLengthRange { .. } => false,
            })
    });
    match unsigned {
        Some(name) => Err(s3_error!(
            AccessDenied,
            "Invalid according to Policy: Extra input fields: {name}"
        )),
        None => Ok(()),
    }
}

/// The bucket and keys an operation touches.
trait Target {
    /// The bucket named by the request, if any.
    fn bucket(&self) -> Option<&str>;
    /// The object keys named by the request.
    fn keys(&self) -> Vec<&str>;
}

macro_rules! target {
    (object: $($t:ty),* $(,)?) => {$(
        impl Target for $t {
            fn bucket(&self) -> Option<&str> { Some(&self.bucket) }
            fn keys(&self) -> Vec<&str> { vec![&self.key] }
        }
    )*};
    (bucket: $($t:ty),* $(,)?) => {$(
        impl Target for $t {
            fn bucket(&self) -> Option<&str> { Some(&self.bucket) }
            fn keys(&self) -> Vec<&str> { Vec::new() }
        }
    )*};
}

target!(object:
    GetObjectInput, HeadObjectInput, PutObjectInput, DeleteObjectInput,
    CreateMultipartUploadInput, UploadPartInput, CompleteMultipartUploadInput,
    AbortMultipartUploadInput, ListPartsInput,
);
target!(bucket: HeadBucketInput, GetBucketLocationInput, ListObjectsInput, ListObjectsV2Input);

// POST keys are checked after `${filename}` expansion, in `post`.
impl Target for PostObjectInput {
    fn bucket(&self) -> Option<&str> {
        Some(&self.bucket)
    }
    fn keys(&self) -> Vec<&str> {
        Vec::new()
    }
}

impl Target for ListBucketsInput {
    fn bucket(&self) -> Option<&str> {
        None
    }
    fn keys(&self) -> Vec<&str> {
        Vec::new()
    }
}

impl Target for DeleteObjectsInput {
    fn bucket(&self) -> Option<&str> {
        Some(&self.bucket)
    }
    fn keys(&self) -> Vec<&str> {
        self.delete.objects.iter().map(|o| o.key.as_str()).collect()
    }
}

/// The future type `#[async_trait]` gives every `S3` method.
type S3Future<'a, T> = Pin<Box<dyn Future<Output = S3Result<S3Response<T>>> + Send + 'a>>;

/// Implements `S3` methods (written out as `#[async_trait]` expands them, the
/// crate does not depend on it) as "admit, then delegate to s3s-fs".
macro_rules! delegate {
    ($($op:ident: $input:ty => $output:ty;)*) => {$(
        fn $op<'life0, 'async_trait>(&'life0 self, req: S3Request<$input>) -> S3Future<'async_trait, $output>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                self.admit(&req).await?;
                self.inner.$op(req).await
            })
        }
    )*};
}

impl S3 for GuardedStore {
    delegate! {
        list_buckets: ListBucketsInput => ListBucketsOutput;
        head_bucket: HeadBucketInput => HeadBucketOutput;
        get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput;
        list_objects: ListObjectsInput => ListObjectsOutput;
        list_objects_v2: ListObjectsV2Input => ListObjectsV2Output;
        head_object: HeadObjectInput => HeadObjectOutput;
        get_object: GetObjectInput => GetObjectOutput;
        delete_object: DeleteObjectInput => DeleteObjectOutput;
        delete_objects: DeleteObjectsInput => DeleteObjectsOutput;
        create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput;
        upload_part: UploadPartInput => UploadPartOutput;
        complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput;
        abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput;
        list_parts: ListPartsInput => ListPartsOutput;
    }

    fn put_object<'life0, 'async_trait>(
        &'life0 self,
        req: S3Request<PutObjectInput>,
    ) -> S3Future<'async_trait, PutObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.put(req))
    }

    fn post_object<'life0, 'async_trait>(
        &'life0 self,
        req: S3Request<PostObjectInput>,
    ) -> S3Future<'async_trait, PostObjectOutput>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.post(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(check_key("uploads/a.txt").is_ok());
        assert!(check_key("uploads/dir/").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "up/../other/x",
            "..",
            "./a",
            "a\\b",
            "a/./b",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_key(&"k".repeat(1025)).is_err());
    }

    #[test]
    fn presign_lifetime() {
        assert!(check_presign_lifetime(None).is_ok());
        assert!(check_presign_lifetime(Some("X-Amz-Expires=604800&a=b")).is_ok());
        assert!(check_presign_lifetime(Some("a=b&X-Amz-Expires=604801")).is_err());
        assert!(check_presign_lifetime(Some("X-Amz-Expires=-1")).is_err());
    }

    #[test]
    fn fields_s3s_exempts_need_conditions() {
        let policy = PostPolicy::from_json(
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"x-amz-server-side-encryption":"AES256"}]}"#,
        )
        .expect("policy");
        let ok = [
            "key",
            "x-amz-server-side-encryption",
            "submit",
            "x-ignore-a",
        ];
        assert!(check_exempt_fields_signed(&policy, ok.into_iter()).is_ok());
        for extra in [
            "signature",
            "awsaccesskeyid",
            "x-amz-server-side-encryption-context",
        ] {
            assert!(check_exempt_fields_signed(&policy, ["key", extra].into_iter()).is_err());
        }
    }

    #[test]
    fn key_prefix_after_expansion() {
        let policy = PostPolicy::from_json(
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["starts-with","$key","up/"]]}"#,
        )
        .expect("policy");
        assert!(check_key_prefixes(&policy, "up/a.txt").is_ok());
        assert!(check_key_prefixes(&policy, "down/a.txt").is_err());
    }
}
