//! signpost: signed S3 POST policies and presigned URLs (being written).

#[cfg(feature = "server")]
pub mod embedded;
