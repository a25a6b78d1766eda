//! Verifying uploads after the fact: the `/uploaded/{state}` confirmation. The sealed state
//! says which profile, user and key prefix the upload was for; each key is checked before any
//! S3 call, then HEADed, and an object that breaks the profile is removed.

use super::links;
use super::Result;
use crate::server::auth::Caller;
use crate::server::content_type;
use crate::server::error::ServiceError;
use crate::server::profile::Profile;
use crate::server::s3::{self, ObjectInfo, S3Error};
use crate::server::state::AppState;
use crate::server::upload_state::UploadState;
use crate::units::{format_size, format_size_range};
use crate::wire::has_dot_segment;

/// At most this many files are confirmed at once.
const MAX_KEYS: usize = 20;

/// What the confirmation link and its query say.
pub struct Confirmation<'a> {
    /// The sealed state from the path.
    pub sealed: &'a str,
    /// `bucket=` from the query, when S3 added one.
    pub bucket: Option<&'a str>,
    /// The `key=` values.
    pub keys: Vec<String>,
}

/// One verified object.
pub struct VerifiedFile {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its stored Content-Type.
    pub content_type: String,
    /// A link that shows it.
    pub view_url: String,
    /// A link that downloads it.
    pub download_url: String,
}

/// A verified upload: the profile and every file.
pub struct Verified<'a> {
    /// The profile the upload was for.
    pub profile: &'a Profile,
    /// The files, each checked.
    pub files: Vec<VerifiedFile>,
}

/// A key's last part: the file's name as people know it.
pub fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The profile's accepted types and sizes in words.
pub fn limits(p: &Profile) -> String {
    format!(
        "{}, {}",
        p.types_in_words(),
        format_size_range(p.min_size, p.max_size)
    )
}

/// Opens the state, checks the keys and the caller, HEADs every object and removes any that
/// breaks the profile. `caller` is the signed-in caller, if the request carried one.
pub async fn confirm<'a>(
    state: &'a AppState,
    caller: Option<&Caller>,
    c: Confirmation<'_>,
) -> Result<Verified<'a>> {
    let now = state.now();
    let us = UploadState::open(c.sealed, &state.state_key, now.unix_timestamp())
        .map_err(|e| ServiceError::Forbidden(e.to_string()))?;
    // The caller must be the one the upload was for.
    if state.auth.required() {
        if let Some(caller) = caller {
            if caller.user != us.u {
                return Err(ServiceError::Forbidden(
                    "this upload belongs to another account".into(),
                ));
            }
        }
    }
    let profile = state.profile(&us.p).ok_or_else(|| {
        ServiceError::NotFound(format!(
            "the kind of upload this link was for (“{}”) no longer exists; ask the person who runs this site",
            us.p
        ))
    })?;
    if let Some(b) = c.bucket {
        if b != profile.bucket {
            return Err(ServiceError::Forbidden(format!(
                "this link names another storage place ({b}) than the one the upload went to; upload the file again"
            )));
        }
    }
    check_keys(&c.keys, &us.k)?;
    let mut files = Vec::with_capacity(c.keys.len());
    for key in c.keys {
        let file = verify_one(state, profile, key).await?;
        tracing::info!(profile = %profile.name, key = %file.key, size = file.size, "upload verified");
        files.push(file);
    }
    Ok(Verified { profile, files })
}

/// Every key is present, not empty, and under the upload's prefix: checked before any S3 call.
fn check_keys(keys: &[String], prefix: &str) -> Result<()> {
    if keys.is_empty() {
        return Err(ServiceError::BadRequest(
            "this link names no uploaded file; upload the file again".into(),
        ));
    }
    if keys.len() > MAX_KEYS {
        return Err(ServiceError::BadRequest(format!(
            "at most {MAX_KEYS} files can be confirmed at once"
        )));
    }
    for key in keys {
        if key.is_empty() {
            return Err(ServiceError::BadRequest(
                "this link names a file without a name; upload the file again".into(),
            ));
        }
        if !key.starts_with(prefix) {
            return Err(ServiceError::Forbidden(format!(
                "“{}” is outside your upload folder; upload the file again",
                file_name(key)
            )));
        }
    }
    Ok(())
}

/// HEADs one object, removes it if it breaks the profile, else presigns its links.
async fn verify_one(state: &AppState, profile: &Profile, key: String) -> Result<VerifiedFile> {
    let info = inspect(state, profile, &key).await?;
    let pair = links::view_and_download(state, &profile.bucket, &key, &info.content_type)?;
    Ok(VerifiedFile {
        key,
        size: info.size,
        content_type: info.content_type,
        view_url: pair.view,
        download_url: pair.download,
    })
}

/// Checks a stored object against its profile: its declared type (one exact type from the
/// list), its size, and its real type (its first bytes). An object that breaks any of them is
/// removed, and the error says why in words.
pub async fn inspect(state: &AppState, profile: &Profile, key: &str) -> Result<ObjectInfo> {
    if has_dot_segment(key) {
        // Only a hand-made request puts `..` in a name; don't leave it for tools that copy
        // keys to disk.
        let outcome = match remove(state, profile, key, "an upload with a dot segment").await {
            Ok(()) => "the file was removed",
            Err(_) => "it could not be removed yet, so tell the person who runs this site",
        };
        return Err(ServiceError::Forbidden(format!(
            "the name “{key}” has a . or .. segment, which is not allowed; {outcome}"
        )));
    }
    let now = state.now();
    let info = s3::head_object(&state.http, &state.signer, now, &profile.bucket, key)
        .await
        .map_err(storage)?;
    let name = file_name(key);
    let refused = if !profile.allows_type(&info.content_type) {
        Some(format!(
            "“{name}” was stored as {}, which this upload does not accept ({}); it was removed",
            info.content_type,
            profile.types_in_words()
        ))
    } else if info.size > profile.max_size || info.size < profile.min_size {
        Some(format!(
            "“{name}” is {}, outside the allowed {}; it was removed",
            format_size(info.size),
            limits(profile)
        ))
    } else {
        let head = s3::first_bytes(
            &state.http,
            &state.signer,
            now,
            &profile.bucket,
            key,
            content_type::SNIFF_LEN,
        )
        .await
        .map_err(storage)?;
        content_type::check_bytes(&info.content_type.to_ascii_lowercase(), &head)
            .err()
            .map(|why| {
                format!(
                    "“{name}” was sent as {} but {why}; it was removed",
                    info.content_type
                )
            })
    };
    if let Some(reason) = refused {
        tracing::info!(profile = %profile.name, key, reason = %reason, "upload refused");
        remove(state, profile, key, "a refused upload").await?;
        return Err(ServiceError::BadRequest(reason));
    }
    Ok(info)
}

fn storage(e: S3Error) -> ServiceError {
    match e {
        S3Error::NotFound(_) => ServiceError::NotFound(e.to_string()),
        S3Error::Unavailable(_) => ServiceError::Upstream(e.to_string()),
    }
}

/// Removes an object, and checks a key with dot segments is really gone (a listing: such a
/// key cannot be asked about by URL). A failure is logged and answered as a storage error,
/// so nobody is told a file was removed when it was not.
async fn remove(state: &AppState, profile: &Profile, key: &str, what: &str) -> Result<()> {
    let (http, signer, now, bucket) = (&state.http, &state.signer, state.now(), &profile.bucket);
    let removed = match s3::delete_object(http, signer, now, bucket, key).await {
        Ok(()) if has_dot_segment(key) => {
            match s3::key_listed(http, signer, now, bucket, key).await {
                Ok(false) => Ok(()),
                Ok(true) => Err(S3Error::Unavailable("the key is still listed".into())),
                Err(e) => Err(e),
            }
        }
        other => other,
    };
    removed.map_err(|e| {
        tracing::warn!(error = %e, key, "could not remove {what}");
        ServiceError::Upstream(format!(
            "“{}” breaks this upload's rules but could not be removed ({e}); tell the person who runs this site",
            file_name(key)
        ))
    })
}
