//! View and download links for verified uploads. Only the types in
//! [`content_type::INLINE_SAFE`] are shown in the browser, with their type forced; anything
//! else is a download, whatever link is opened.

use super::Result;
use crate::server::content_type::{self, Serving};
use crate::server::error::ServiceError;
use crate::server::state::AppState;
use crate::GetOptions;

/// A link that shows an object and one that downloads it.
pub struct ViewAndDownload {
    /// Opens the object in the browser when its type is safe to show; else downloads it.
    pub view: String,
    /// Downloads it under its own name.
    pub download: String,
}

/// A presigned GET of `bucket`/`key` for the server's download lifetime, served as `how`.
fn presign_get(state: &AppState, bucket: &str, key: &str, how: &Serving) -> Result<String> {
    let opts = GetOptions {
        response_content_disposition: how.disposition.as_deref(),
        response_content_type: Some(how.content_type),
    };
    state
        .signer
        .presign_get(
            bucket,
            key,
            state.config.server.download_expires,
            state.now(),
            &opts,
        )
        .map_err(ServiceError::internal)
}

/// The view and download links of an object stored as `content_type`.
pub fn view_and_download(
    state: &AppState,
    bucket: &str,
    key: &str,
    content_type: &str,
) -> Result<ViewAndDownload> {
    let view = content_type::serving(key, Some(content_type), false);
    let download = content_type::serving(key, Some(content_type), true);
    Ok(ViewAndDownload {
        view: presign_get(state, bucket, key, &view)?,
        download: presign_get(state, bucket, key, &download)?,
    })
}
