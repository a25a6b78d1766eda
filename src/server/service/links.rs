//! Presigned links to objects a caller may read.

use super::Result;
use crate::server::auth::Caller;
use crate::server::error::ServiceError;
use crate::server::profile::Profile;
use crate::server::state::AppState;
use crate::wire::has_dot_segment;
use crate::GetOptions;
use time::OffsetDateTime;

/// A link that shows an object and one that downloads it.
pub struct ViewAndDownload {
    /// Opens the object in the browser.
    pub view: String,
    /// Downloads it under its own name.
    pub download: String,
}

/// The profile under whose caller prefix `key` lies, among those the caller may use.
pub fn readable_profile<'a>(
    state: &'a AppState,
    caller: &Caller,
    key: &str,
) -> Option<&'a Profile> {
    state.config.profiles.iter().find(|p| {
        (caller.all_roles || p.allows_roles(&caller.roles))
            && key.starts_with(&p.owner_prefix(&caller.user))
            && !has_dot_segment(key)
    })
}

/// A presigned GET of `bucket`/`key` for the server's download lifetime.
fn presign_get(state: &AppState, bucket: &str, key: &str, opts: &GetOptions<'_>) -> Result<String> {
    state
        .signer
        .presign_get(
            bucket,
            key,
            state.config.server.download_expires,
            state.now(),
            opts,
        )
        .map_err(ServiceError::internal)
}

/// The view and download links of an object.
pub fn view_and_download(state: &AppState, bucket: &str, key: &str) -> Result<ViewAndDownload> {
    let view = presign_get(state, bucket, key, &GetOptions::default())?;
    let name = key
        .rsplit('/')
        .next()
        .unwrap_or("file")
        .replace(['"', '\\'], "_");
    let disposition = format!("attachment; filename=\"{name}\"");
    let opts = GetOptions {
        response_content_disposition: Some(&disposition),
        response_content_type: None,
    };
    let download = presign_get(state, bucket, key, &opts)?;
    Ok(ViewAndDownload { view, download })
}

/// A download link for one of the caller's own uploads: 403 outside its prefixes.
pub fn own_download(
    state: &AppState,
    caller: &Caller,
    key: &str,
) -> Result<(String, OffsetDateTime)> {
    let profile = readable_profile(state, caller, key).ok_or_else(|| {
        ServiceError::Forbidden(
            "you may only get links for your own uploads; this key is outside your prefix".into(),
        )
    })?;
    let now = state.now();
    let url = presign_get(state, &profile.bucket, key, &GetOptions::default())?;
    Ok((url, now + state.config.server.download_expires))
}
