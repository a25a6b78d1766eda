//! View and download links for verified uploads.

use super::Result;
use crate::server::error::ServiceError;
use crate::server::state::AppState;
use crate::GetOptions;

/// A link that shows an object and one that downloads it.
pub struct ViewAndDownload {
    /// Opens the object in the browser.
    pub view: String,
    /// Downloads it under its own name.
    pub download: String,
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
