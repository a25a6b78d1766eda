//! Verifying uploads after the fact: the `/uploaded/{state}` confirmation. The sealed state
//! says which profile, user and key prefix the upload was for; each key is checked before any
//! S3 call, then HEADed, and an object that breaks the profile is removed.

use super::links;
use super::Result;
use crate::server::auth::Caller;
use crate::server::error::ServiceError;
use crate::server::profile::Profile;
use crate::server::s3::{self, S3Error};
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
    for key in &c.keys {
        if has_dot_segment(key) {
            // Only a hand-made request puts `..` in a name; don't leave it for tools that
            // copy keys to disk.
            remove(state, profile, key, "an upload with a dot segment").await;
            return Err(ServiceError::Forbidden(format!(
                "the name “{key}” has a . or .. segment, which is not allowed; the file was removed"
            )));
        }
    }
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
    let info = s3::head_object(
        &state.http,
        &state.signer,
        state.now(),
        &profile.bucket,
        &key,
    )
    .await
    .map_err(|e| match e {
        S3Error::NotFound(_) => ServiceError::NotFound(e.to_string()),
        S3Error::Unavailable(_) => ServiceError::Upstream(e.to_string()),
    })?;
    let refused = if !profile.allows_type(&info.content_type) {
        Some(format!(
            "“{}” was stored as {}, which this upload does not accept ({}); it was removed",
            file_name(&key),
            info.content_type,
            profile.types_in_words()
        ))
    } else if info.size > profile.max_size || info.size < profile.min_size {
        Some(format!(
            "“{}” is {}, outside the allowed {}; it was removed",
            file_name(&key),
            format_size(info.size),
            limits(profile)
        ))
    } else {
        None
    };
    if let Some(reason) = refused {
        remove(state, profile, &key, "a refused upload").await;
        return Err(ServiceError::BadRequest(reason));
    }
    let pair = links::view_and_download(state, &profile.bucket, &key)?;
    Ok(VerifiedFile {
        key,
        size: info.size,
        content_type: info.content_type,
        view_url: pair.view,
        download_url: pair.download,
    })
}

/// Removes an object, logging (not failing) when that does not work.
async fn remove(state: &AppState, profile: &Profile, key: &str, what: &str) {
    if let Err(e) = s3::delete_object(
        &state.http,
        &state.signer,
        state.now(),
        &profile.bucket,
        key,
    )
    .await
    {
        tracing::warn!(error = %e, key, "could not remove {what}");
    }
}
