//! POST object: a browser form upload, handled by the store itself.
//!
//! s3s 0.14.1 parses the whole form into memory and its multipart parser
//! fails on ordinary files (it appends whole chunks to a 64 KiB buffer when
//! a chunk ends in something that could start a boundary). So form POSTs
//! never reach s3s: [`PostObject`] reads the fields with `multer`, decides
//! from them as S3 does ([`policy`]), then streams the file into s3s-fs
//! ([`upload`]) and answers as S3 would. Whatever the answer, the rest of the
//! body is read before it is sent, so a client still writing its body (node's
//! `fetch`) sees the status instead of a broken pipe.

mod fields;
mod policy;
mod upload;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::Stream;
use http::header::{self, HeaderValue};
use http::Response;
use hyper::body::{Body as _, Incoming};
use multer::Multipart;
use s3s::Body;

pub(crate) use self::fields::boundary;
use self::fields::{read_fields, FormFields};
use self::policy::{authorize, StoreKeys};
pub(crate) use self::upload::ChannelBody;
use self::upload::{channel, pump, PumpError};
use super::digest::{Declared, DigestCheck};
use super::respond::{redirect_is_usable, PostOutcome, Refusal};
use super::store::{FormObject, GuardedStore};

/// How long a refused upload's remaining body is read before the connection is closed.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// Handles POST object for the store's one key pair.
pub(crate) struct PostObject {
    pub(crate) store: GuardedStore,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) region: String,
}

impl PostObject {
    /// Answers one form POST to `bucket`; `host` names the store in `Location`.
    pub(crate) async fn handle(
        &self,
        body: Incoming,
        boundary: String,
        bucket: &str,
        host: &str,
    ) -> Response<Body> {
        let mut data = DataStream(body);
        let result = {
            let mut form = Multipart::new(&mut data, boundary);
            self.upload(&mut form, bucket).await
        };
        let drained = tokio::time::timeout(DRAIN_LIMIT, drain(&mut data))
            .await
            .unwrap_or(false);
        let mut resp = match result {
            Ok(outcome) => outcome.render(host),
            Err(refusal) => refusal.into_response(),
        };
        if !drained {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }

    async fn upload(&self, form: &mut Multipart<'_>, bucket: &str) -> Result<PostOutcome, Refusal> {
        let (fields, file) = read_fields(form).await?;
        self.store.check_bucket(bucket).await?;
        let keys = StoreKeys {
            access_key: &self.access_key,
            secret_key: &self.secret_key,
            region: &self.region,
        };
        let grant = authorize(&fields, keys, bucket, SystemTime::now())?;
        let Some(file) = file else {
            return Err(Refusal::bad_request(
                "InvalidArgument",
                "POST requires exactly one file upload per request: add a field named 'file', last.",
            ));
        };
        let redirect = fields
            .field("success_action_redirect")
            .or_else(|| fields.field("redirect"))
            .map(str::to_owned);
        if redirect.as_deref().is_some_and(|r| !redirect_is_usable(r)) {
            return Err(Refusal::bad_request(
                "InvalidArgument",
                "success_action_redirect must be an absolute http(s) URL",
            ));
        }

        let declared = Declared::from_fields(|name| fields.field(name));
        let (sender, body) = channel();
        let object = FormObject {
            bucket,
            key: &grant.key,
            fields: object_fields(&fields),
        };
        let (pumped, stored) = tokio::join!(
            pump(file, sender, &grant, DigestCheck::new(declared)),
            self.store.put_form_object(object, body),
        );
        let etag = match (pumped, stored) {
            (Err(PumpError::Refused(refusal)), _) => return Err(refusal),
            (_, Err(e)) => return Err(e.into()),
            (Err(PumpError::StoreGone), Ok(_)) => {
                return Err(Refusal::bad_request(
                    "InvalidArgument",
                    "the store did not take the file's body",
                ))
            }
            (Ok(_), Ok(etag)) => etag,
        };
        Ok(PostOutcome {
            bucket: bucket.to_owned(),
            key: grant.key,
            etag,
            redirect,
            status: fields
                .field("success_action_status")
                .and_then(|s| s.parse().ok()),
        })
    }
}

/// The fields that become the object's headers and metadata.
fn object_fields(form: &FormFields) -> Vec<(String, String)> {
    const STORED: [&str; 6] = [
        "content-type",
        "cache-control",
        "content-disposition",
        "content-encoding",
        "x-amz-storage-class",
        "content-md5",
    ];
    form.iter()
        .filter(|(n, _)| {
            STORED.contains(n) || n.starts_with("x-amz-meta-") || n.starts_with("x-amz-checksum-")
        })
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// The request body's data frames as a stream `multer` reads.
struct DataStream(Incoming);

impl Stream for DataStream {
    type Item = Result<Bytes, hyper::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.0).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => return Poll::Ready(Some(Ok(data))),
                    Err(_trailers) => {}
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Reads the rest of the body; true when it ended cleanly.
async fn drain(data: &mut DataStream) -> bool {
    use futures_util::StreamExt as _;
    while let Some(chunk) = data.next().await {
        if chunk.is_err() {
            return false;
        }
    }
    true
}
