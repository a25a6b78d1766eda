//! What the integration tests need beyond the public API: internals re-exported for them, not
//! for library users. Nothing here is stable.

pub use super::filename::{sanitize_filename, user_segment, MAX_FILENAME_BYTES};
pub use super::upload_state::{StateError, UploadState};

use super::state::AppState;

/// The key that seals upload states, to open or forge one in a test.
pub fn state_key(state: &AppState) -> &[u8] {
    &state.state_key
}
pub use super::upload_token::{TokenError, UploadToken};
