//! The policy every benchmark signs, shared by `benches/signing.rs` and `examples/sign_loop.rs`
//! (included with `#[path]`), and mirrored by `bench/peers/boto3_post.py` and
//! `bench/js/presigned-post.mjs` so that boto3, aws-sdk-js v3 and signpost sign the same thing.
//!
//! The signed document has 8 conditions: the 3 the caller gives (content-length-range,
//! `Content-Type` starts-with, `success_action_redirect`), then bucket, the key prefix
//! (starts-with `$key`), and `x-amz-algorithm`, `x-amz-credential` and `x-amz-date`.

#![allow(dead_code)]

use signpost::{Credentials, Endpoint, PostPolicy, Signer};
use std::time::Duration;
use time::OffsetDateTime;

/// The AWS documentation's example key pair: fixed, never valid anywhere.
pub const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret of [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The region every signature is scoped to.
pub const REGION: &str = "eu-west-1";
/// The bucket the form posts to.
pub const BUCKET: &str = "signpost-bench-uploads";
/// Uploads land under this prefix, `${filename}` after it.
pub const KEY_PREFIX: &str = "users/42/";
/// Largest upload accepted, in bytes (5 MiB).
pub const MAX_SIZE: u64 = 5 << 20;
/// Where S3 sends the browser after the upload.
pub const REDIRECT: &str = "https://app.example.com/uploads/done";
/// How long the form works.
pub const EXPIRES_IN: Duration = Duration::from_secs(600);
/// The object key a presigned GET is made for.
pub const GET_KEY: &str = "users/42/me.png";

/// A signer for AWS S3 in [`REGION`] with the fixed credentials.
pub fn signer() -> Signer {
    Signer::new(
        Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY),
        REGION,
        Endpoint::aws(),
    )
}

/// The policy, built (and linted) as of `now`.
pub fn policy(now: OffsetDateTime) -> PostPolicy {
    PostPolicy::builder(BUCKET)
        .key_prefix(KEY_PREFIX)
        .content_length_range(1, MAX_SIZE)
        .content_type_prefix("image/")
        .success_action_redirect(REDIRECT)
        .expires_in(EXPIRES_IN)
        .build(now)
        .expect("the benchmark policy is valid")
}
