//! The S3 operations s3s-fs lacks or gets wrong, written as S3 behaves:
//! CreateBucket (`BucketAlreadyOwnedByYou`, region checked), DeleteBucket
//! (`BucketNotEmpty` instead of deleting everything), bucket CORS
//! (Put/Get/Delete, persisted in `buckets`), CopyObject with its source
//! checked, and ListMultipartUploads (s3s-fs keeps no index of uploads).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result, S3};

use super::buckets::UploadRecord;
use super::cors::rules::{self, CorsRule};
use super::store::GuardedStore;

impl GuardedStore {
    pub(super) async fn copy(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.admit(&req).await?;
        match &req.input.copy_source {
            CopySource::Bucket { bucket, .. } => self.check_bucket(bucket).await?,
            _ => {
                return Err(s3_error!(
                    NotImplemented,
                    "this store copies only from bucket/key sources"
                ))
            }
        }
        self.inner.copy_object(req).await
    }

    pub(super) async fn create(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.check_region(req.region.as_ref())?;
        let constraint = req
            .input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
            .map(|c| c.as_str().to_owned());
        if let Some(c) = constraint.filter(|c| c != &self.region) {
            return Err(s3_error!(
                IllegalLocationConstraintException,
                "The {c} location constraint is incompatible for the region specific endpoint this request was sent to; this store is in '{}'",
                self.region
            ));
        }
        if !s3s::path::check_bucket_name(&req.input.bucket) {
            return Err(s3_error!(InvalidBucketName));
        }
        if self.check_bucket(&req.input.bucket).await.is_ok() {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        self.inner.create_bucket(req).await
    }

    pub(super) async fn delete(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.admit(&req).await?;
        let bucket = req.input.bucket.clone();
        if holds_files(&self.root.join(&bucket))
            .await
            .map_err(internal)?
        {
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            ));
        }
        let resp = self.inner.delete_bucket(req).await?;
        self.buckets.delete_cors(&bucket).await.map_err(internal)?;
        Ok(resp)
    }

    pub(super) async fn put_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        self.admit(&req).await?;
        let rules: Vec<CorsRule> = req
            .input
            .cors_configuration
            .cors_rules
            .into_iter()
            .map(|r| CorsRule {
                id: r.id,
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: r.allowed_headers.unwrap_or_default(),
                expose_headers: r.expose_headers.unwrap_or_default(),
                max_age_seconds: r.max_age_seconds,
            })
            .collect();
        rules::validate(&rules).map_err(|m| s3_error!(InvalidRequest, "{m}"))?;
        self.buckets
            .put_cors(&req.input.bucket, rules)
            .await
            .map_err(internal)?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    pub(super) async fn get_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        self.admit(&req).await?;
        let Some(rules) = self.buckets.cors(&req.input.bucket) else {
            return Err(s3_error!(
                NoSuchCORSConfiguration,
                "The CORS configuration does not exist"
            ));
        };
        let cors_rules = rules
            .iter()
            .map(|r| CORSRule {
                id: r.id.clone(),
                allowed_origins: r.allowed_origins.clone(),
                allowed_methods: r.allowed_methods.clone(),
                allowed_headers: Some(r.allowed_headers.clone()).filter(|h| !h.is_empty()),
                expose_headers: Some(r.expose_headers.clone()).filter(|h| !h.is_empty()),
                max_age_seconds: r.max_age_seconds,
            })
            .collect();
        Ok(S3Response::new(GetBucketCorsOutput {
            cors_rules: Some(cors_rules),
        }))
    }

    pub(super) async fn delete_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        self.admit(&req).await?;
        self.buckets
            .delete_cors(&req.input.bucket)
            .await
            .map_err(internal)?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    pub(super) async fn create_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.admit(&req).await?;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let resp = self.inner.create_multipart_upload(req).await?;
        if let Some(upload_id) = resp.output.upload_id.clone() {
            let initiated = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let record = UploadRecord {
                upload_id,
                bucket,
                key,
                initiated,
            };
            self.buckets
                .record_upload(&record)
                .await
                .map_err(internal)?;
        }
        Ok(resp)
    }

    pub(super) async fn complete_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.admit(&req).await?;
        let upload_id = req.input.upload_id.clone();
        let resp = self.inner.complete_multipart_upload(req).await?;
        self.buckets
            .forget_upload(&upload_id)
            .await
            .map_err(internal)?;
        Ok(resp)
    }

    pub(super) async fn abort_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.admit(&req).await?;
        let upload_id = req.input.upload_id.clone();
        let resp = self.inner.abort_multipart_upload(req).await?;
        self.buckets
            .forget_upload(&upload_id)
            .await
            .map_err(internal)?;
        Ok(resp)
    }

    pub(super) async fn list_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        self.admit(&req).await?;
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let records = self
            .buckets
            .uploads(&input.bucket)
            .await
            .map_err(internal)?;
        let uploads = records
            .into_iter()
            .filter(|r| r.key.starts_with(&prefix))
            .map(|r| MultipartUpload {
                key: Some(r.key),
                upload_id: Some(r.upload_id),
                initiated: Some(Timestamp::from(
                    UNIX_EPOCH + std::time::Duration::from_secs(r.initiated),
                )),
                ..MultipartUpload::default()
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            max_uploads: Some(1000),
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..ListMultipartUploadsOutput::default()
        }))
    }
}

/// True when any regular file lies under `dir` (empty folders do not count).
async fn holds_files(dir: &Path) -> std::io::Result<bool> {
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        let mut entries = tokio::fs::read_dir(&d).await?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await?.is_dir() {
                pending.push(entry.path());
            } else {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn internal(e: std::io::Error) -> S3Error {
    tracing::error!(error = %e, "embedded S3: bucket state could not be read or written");
    s3_error!(InternalError, "the store could not update its bucket state")
}
