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
//! - buckets are created and deleted as S3 does (`BucketAlreadyOwnedByYou`,
//!   `BucketNotEmpty`), keep CORS rules, and list their multipart uploads
//!   (see `bucket_ops` and `buckets`).
//!
//! POST object never reaches s3s (see `post`): the form's file is streamed
//! into s3s-fs through [`GuardedStore::put_form_object`].
//!
//! Operations not delegated below answer `NotImplemented`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use http::{Extensions, HeaderMap, Method, Uri};
use s3s::dto::*;
use s3s::region::Region;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};

use super::buckets::Buckets;
use super::digest::{too_large, Declared, MAX_VERIFIED_BODY};
use super::keys::check_key;
use super::post::ChannelBody;

/// Longest lifetime S3 accepts for a presigned URL, in seconds.
const MAX_PRESIGN_SECS: u64 = 604_800;

/// s3s-fs guarded by the checks S3 makes and s3s/s3s-fs do not; clones share the store.
#[derive(Clone)]
pub(crate) struct GuardedStore {
    pub(super) inner: Arc<s3s_fs::FileSystem>,
    pub(super) root: PathBuf,
    pub(super) region: String,
    pub(super) buckets: Arc<Buckets>,
}

/// An object a POST form uploads: where, and the fields that become its headers.
pub(crate) struct FormObject<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key, `${filename}` expanded.
    pub key: &'a str,
    /// `(lowercase name, value)`: content-type, x-amz-meta-*, checksums…
    pub fields: Vec<(String, String)>,
}

impl GuardedStore {
    /// Wraps an s3s-fs store rooted at `root`, answering for `region`.
    pub(crate) fn new(
        inner: s3s_fs::FileSystem,
        root: PathBuf,
        region: String,
        buckets: Arc<Buckets>,
    ) -> Self {
        Self {
            inner: Arc::new(inner),
            root,
            region,
            buckets,
        }
    }

    /// The checks shared by every operation.
    pub(super) async fn admit<T: Target>(&self, req: &S3Request<T>) -> S3Result<()> {
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

    pub(super) fn check_region(&self, region: Option<&Region>) -> S3Result<()> {
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

    /// `NoSuchBucket` unless `bucket` exists.
    pub(crate) async fn check_bucket(&self, bucket: &str) -> S3Result<()> {
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

    /// Stores a POST form's file as it streams in; returns the quoted ETag.
    ///
    /// The caller has authorized the form. s3s-fs writes the body to a temp
    /// file and renames it into place only if the body ends without error.
    pub(crate) async fn put_form_object(
        &self,
        object: FormObject<'_>,
        body: ChannelBody,
    ) -> S3Result<String> {
        let mut b = PutObjectInput::builder();
        b.set_bucket(object.bucket.to_owned());
        b.set_key(object.key.to_owned());
        b.set_body(Some(StreamingBlob::wrap(body)));
        let mut metadata = Metadata::default();
        for (name, value) in object.fields {
            match name.as_str() {
                "content-type" => b.set_content_type(Some(value)),
                "cache-control" => b.set_cache_control(Some(value)),
                "content-disposition" => b.set_content_disposition(Some(value)),
                "content-encoding" => b.set_content_encoding(Some(value)),
                "content-md5" => b.set_content_md5(Some(value)),
                "x-amz-storage-class" => b.set_storage_class(Some(StorageClass::from(value))),
                "x-amz-checksum-crc32" => b.set_checksum_crc32(Some(value)),
                "x-amz-checksum-crc32c" => b.set_checksum_crc32c(Some(value)),
                "x-amz-checksum-crc64nvme" => b.set_checksum_crc64nvme(Some(value)),
                "x-amz-checksum-sha1" => b.set_checksum_sha1(Some(value)),
                "x-amz-checksum-sha256" => b.set_checksum_sha256(Some(value)),
                meta => {
                    if let Some(m) = meta.strip_prefix("x-amz-meta-") {
                        metadata.insert(m.to_owned(), value);
                    }
                    &mut b
                }
            };
        }
        if !metadata.is_empty() {
            b.set_metadata(Some(metadata));
        }
        let input = b
            .build()
            .map_err(|e| s3_error!(InvalidArgument, "the form cannot be stored: {e}"))?;
        let req = S3Request {
            input,
            method: Method::PUT,
            uri: Uri::default(),
            headers: HeaderMap::new(),
            extensions: Extensions::new(),
            credentials: None,
            region: Some(
                Region::new(self.region.clone().into()).map_err(|_| s3_error!(InternalError))?,
            ),
            service: Some("s3".into()),
            trailing_headers: None,
        };
        let resp = self.inner.put_object(req).await?;
        Ok(resp
            .output
            .e_tag
            .as_ref()
            .map(|e| format!("\"{}\"", e.value()))
            .unwrap_or_default())
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

/// The bucket and keys an operation touches.
pub(super) trait Target {
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
target!(bucket:
    HeadBucketInput, GetBucketLocationInput, ListObjectsInput, ListObjectsV2Input,
    DeleteBucketInput, PutBucketCorsInput, GetBucketCorsInput, DeleteBucketCorsInput,
    ListMultipartUploadsInput,
);

impl Target for CopyObjectInput {
    fn bucket(&self) -> Option<&str> {
        Some(&self.bucket)
    }
    fn keys(&self) -> Vec<&str> {
        match &self.copy_source {
            CopySource::Bucket { key, .. } => vec![&self.key, key],
            _ => vec![&self.key],
        }
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
pub(super) type S3Future<'a, T> =
    Pin<Box<dyn Future<Output = S3Result<S3Response<T>>> + Send + 'a>>;

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

/// Implements `S3` methods by calling this store's own async method.
macro_rules! own {
    ($($op:ident => $method:ident: $input:ty => $output:ty;)*) => {$(
        fn $op<'life0, 'async_trait>(&'life0 self, req: S3Request<$input>) -> S3Future<'async_trait, $output>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(self.$method(req))
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
        upload_part: UploadPartInput => UploadPartOutput;
        list_parts: ListPartsInput => ListPartsOutput;
    }

    own! {
        put_object => put: PutObjectInput => PutObjectOutput;
        copy_object => copy: CopyObjectInput => CopyObjectOutput;
        create_bucket => create: CreateBucketInput => CreateBucketOutput;
        delete_bucket => delete: DeleteBucketInput => DeleteBucketOutput;
        put_bucket_cors => put_cors: PutBucketCorsInput => PutBucketCorsOutput;
        get_bucket_cors => get_cors: GetBucketCorsInput => GetBucketCorsOutput;
        delete_bucket_cors => delete_cors: DeleteBucketCorsInput => DeleteBucketCorsOutput;
        create_multipart_upload => create_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput;
        complete_multipart_upload => complete_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput;
        abort_multipart_upload => abort_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput;
        list_multipart_uploads => list_uploads: ListMultipartUploadsInput => ListMultipartUploadsOutput;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presign_lifetime() {
        assert!(check_presign_lifetime(None).is_ok());
        assert!(check_presign_lifetime(Some("X-Amz-Expires=604800&a=b")).is_ok());
        assert!(check_presign_lifetime(Some("a=b&X-Amz-Expires=604801")).is_err());
        assert!(check_presign_lifetime(Some("X-Amz-Expires=-1")).is_err());
    }
}
