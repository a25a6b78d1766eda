//! Content-MD5 and `x-amz-checksum-*` checked before anything is written.
//!
//! s3s-fs compares a declared digest only after it has moved the file into
//! place, so a PUT or POST with a wrong digest answers `BadDigest` and yet
//! leaves the bad object behind (overwriting any previous one). S3 stores
//! nothing in that case. A PUT that declares a digest is read into memory
//! and checked before s3s-fs sees it ([`Declared::verify`]); a POST upload
//! is checked as it streams ([`DigestCheck`]), and a mismatch fails the
//! stream before s3s-fs renames its temp file into place.

use bytes::BytesMut;
use futures_util::StreamExt as _;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Md5, Sha1, Sha256};
use s3s::dto::{PutObjectInput, StreamingBlob};
use s3s::{s3_error, Body, S3Error, S3ErrorCode, S3Result, StdError};

/// Largest body held in memory to verify a declared digest.
pub(crate) const MAX_VERIFIED_BODY: u64 = 256 * 1024 * 1024;

/// The digests a request declares for its body (base64, as sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Declared {
    md5: Option<String>,
    crc32: Option<String>,
    crc32c: Option<String>,
    crc64nvme: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
}

macro_rules! declared_from {
    ($($input:ty),*) => {$(
        impl From<&$input> for Declared {
            fn from(i: &$input) -> Self {
                Declared {
                    md5: i.content_md5.clone(),
                    crc32: i.checksum_crc32.clone(),
                    crc32c: i.checksum_crc32c.clone(),
                    crc64nvme: i.checksum_crc64nvme.clone(),
                    sha1: i.checksum_sha1.clone(),
                    sha256: i.checksum_sha256.clone(),
                }
            }
        }
    )*};
}
declared_from!(PutObjectInput);

impl Declared {
    /// The digests a POST form declares in its fields (`content-md5`, `x-amz-checksum-*`).
    pub(crate) fn from_fields<'a>(field: impl Fn(&str) -> Option<&'a str>) -> Self {
        let get = |name: &str| field(name).map(str::to_owned);
        Declared {
            md5: get("content-md5"),
            crc32: get("x-amz-checksum-crc32"),
            crc32c: get("x-amz-checksum-crc32c"),
            crc64nvme: get("x-amz-checksum-crc64nvme"),
            sha1: get("x-amz-checksum-sha1"),
            sha256: get("x-amz-checksum-sha256"),
        }
    }

    /// True when the request declares no digest at all.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Declared::default()
    }

    /// Reads `body`, checks every declared digest, and returns the same bytes
    /// as a new body; without declared digests, returns `body` untouched.
    pub(crate) async fn verify(
        &self,
        body: Option<StreamingBlob>,
    ) -> S3Result<Option<StreamingBlob>> {
        let Some(mut body) = body else {
            return Ok(None);
        };
        if self.is_empty() {
            return Ok(Some(body));
        }
        let mut check = DigestCheck::new(self.clone());
        let mut buf = BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(body_error)?;
            if (buf.len() + chunk.len()) as u64 > MAX_VERIFIED_BODY {
                return Err(too_large());
            }
            check.update(&chunk);
            buf.extend_from_slice(&chunk);
        }
        check.finish()?;
        Ok(Some(StreamingBlob::from(Body::from(buf.freeze()))))
    }
}

/// Declared digests checked as the bytes go by, for bodies too large to hold.
pub(crate) struct DigestCheck {
    declared: Declared,
    md5: Option<Md5>,
    hasher: ChecksumHasher,
}

impl DigestCheck {
    /// Starts hashing for every digest `declared` names.
    pub(crate) fn new(declared: Declared) -> Self {
        let d = &declared;
        let hasher = ChecksumHasher {
            crc32: d.crc32.as_ref().map(|_| Crc32::new()),
            crc32c: d.crc32c.as_ref().map(|_| Crc32c::new()),
            sha1: d.sha1.as_ref().map(|_| Sha1::new()),
            sha256: d.sha256.as_ref().map(|_| Sha256::new()),
            crc64nvme: d.crc64nvme.as_ref().map(|_| Crc64Nvme::new()),
        };
        let md5 = d.md5.as_ref().map(|_| Md5::new());
        Self {
            declared,
            md5,
            hasher,
        }
    }

    /// Feeds the next bytes of the body.
    pub(crate) fn update(&mut self, chunk: &[u8]) {
        if let Some(md5) = &mut self.md5 {
            md5.update(chunk);
        }
        self.hasher.update(chunk);
    }

    /// Compares every declared digest with the bytes seen.
    pub(crate) fn finish(self) -> S3Result<()> {
        if let (Some(declared), Some(md5)) = (&self.declared.md5, self.md5) {
            use base64::Engine as _;
            let declared = base64::engine::general_purpose::STANDARD
                .decode(declared)
                .map_err(|_| {
                    s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid.")
                })?;
            if declared.as_slice() != md5.finalize().as_slice() {
                return Err(s3_error!(
                    BadDigest,
                    "The Content-MD5 you specified did not match what we received."
                ));
            }
        }
        let computed = self.hasher.finalize();
        let d = &self.declared;
        let pairs = [
            ("CRC32", &d.crc32, &computed.checksum_crc32),
            ("CRC32C", &d.crc32c, &computed.checksum_crc32c),
            ("CRC64NVME", &d.crc64nvme, &computed.checksum_crc64nvme),
            ("SHA1", &d.sha1, &computed.checksum_sha1),
            ("SHA256", &d.sha256, &computed.checksum_sha256),
        ];
        for (name, declared, computed) in pairs {
            if declared.is_some() && declared != computed {
                return Err(s3_error!(
                    BadDigest,
                    "The {name} you specified did not match the calculated checksum."
                ));
            }
        }
        Ok(())
    }
}

/// The refusal for a body too large to verify in memory.
pub(crate) fn too_large() -> S3Error {
    s3_error!(
        EntityTooLarge,
        "this embedded store verifies Content-MD5/x-amz-checksum-* in memory, up to 256 MiB per object"
    )
}

fn body_error(e: StdError) -> S3Error {
    // s3s's payload-hash checker reports a mismatch through the body stream.
    if e.to_string().contains("Sha256Mismatch") {
        return S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
    }
    S3Error::with_source(S3ErrorCode::IncompleteBody, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn blob(data: &'static [u8]) -> Option<StreamingBlob> {
        Some(StreamingBlob::from(Body::from(Bytes::from_static(data))))
    }

    async fn read(body: Option<StreamingBlob>) -> Vec<u8> {
        let mut body = body.expect("body");
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    }

    #[tokio::test]
    async fn md5_and_checksums() {
        // md5("hello") and sha256("hello"), base64.
        let good = Declared {
            md5: Some("XUFAKrxLKna5cZ2REBfFkg==".into()),
            sha256: Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=".into()),
            ..Declared::default()
        };
        assert_eq!(
            read(good.verify(blob(b"hello")).await.expect("ok")).await,
            b"hello"
        );
        let err = good.verify(blob(b"hellO")).await.expect_err("bad digest");
        assert_eq!(*err.code(), S3ErrorCode::BadDigest);
        let bad_sha = Declared {
            sha256: Some("AAAA".into()),
            ..Declared::default()
        };
        assert!(bad_sha.verify(blob(b"hello")).await.is_err());
        let undeclared = Declared::default();
        assert_eq!(
            read(undeclared.verify(blob(b"x")).await.expect("ok")).await,
            b"x"
        );
    }
}
