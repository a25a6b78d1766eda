//! signpost: let browsers upload straight to S3 (or MinIO, Ceph, Garage, R2…) with signed
//! POST policies, and share private objects with presigned URLs.
//!
//! The library is the core; the CLI (`signpost sign`, `signpost presign`) and the upload
//! server (`signpost serve`) are thin faces over it. Signing does no I/O and takes the clock
//! as a parameter, so results are exact and testable.
//!
//! ```
//! use signpost::{Credentials, Endpoint, PostPolicy, Signer};
//! use std::time::Duration;
//! use time::macros::datetime;
//!
//! let now = datetime!(2026-03-14 15:09:26 UTC);
//! let signer = Signer::new(
//!     Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
//!     "us-east-1",
//!     Endpoint::custom("http://127.0.0.1:9000", true)?,
//! );
//! let policy = PostPolicy::builder("uploads")
//!     .key_prefix("avatars/42/")
//!     .content_length_range(1, 5 << 20)
//!     .content_type_prefix("image/")
//!     .success_action_status(201)
//!     .expires_in(Duration::from_secs(600))
//!     .build(now)?;
//! let form = signer.sign_post(&policy, now)?;
//! assert_eq!(form.url, "http://127.0.0.1:9000/uploads");
//! assert_eq!(form.field("key"), Some("avatars/42/${filename}"));
//! // POST these fields, then `file` last, as multipart/form-data to form.url.
//! # Ok::<(), signpost::Error>(())
//! ```

pub mod condition;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod lint;
pub mod policy;
pub mod presign;
#[cfg(feature = "cli")]
pub mod render;
pub mod signing;
pub mod units;
pub mod wire;

#[cfg(feature = "server")]
pub mod embedded;
#[cfg(feature = "server")]
pub mod server;

pub use condition::{Condition, Field, PrefixField};
pub use credentials::Credentials;
pub use endpoint::Endpoint;
pub use error::{Error, Result};
pub use lint::{lint, Code, Finding, LintContext, Report, Severity};
pub use policy::{PostPolicy, PostPolicyBuilder};
pub use presign::{GetOptions, Method, PresignedUrl, UrlRequest};
pub use signing::{PresignedPost, Signer};
