//! The service layer: what the server does, with no HTTP in sight. Handlers extract the caller
//! and the inputs, call one function here, and turn its answer or its [`ServiceError`] into a
//! response.
//!
//! - [`forms`]: which profiles a caller may use, and signed forms for them.
//! - [`verify`]: checking uploads after the fact (`/uploaded`).
//! - [`issuer`]: presigned GET/HEAD/PUT/DELETE URLs for objects, by the access rules.
//! - [`listing`]: what a caller may see in a bucket.
//! - [`lifetime`]: how long links and forms live, never past the credentials.
//! - [`links`]: view and download links for verified uploads.
//! - [`companion`], [`multipart`]: Uppy's three S3 modes (POST form, PUT, multipart) over the
//!   profiles, inside their limits.

pub mod companion;
pub mod forms;
pub mod issuer;
pub mod lifetime;
pub mod links;
pub mod listing;
pub mod multipart;
pub mod verify;

use super::error::ServiceError;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An instant as RFC 3339 (`2026-03-14T15:24:26Z`), as the API answers times.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Shorthand for service results.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
