//! The state carried in the success redirect (`/uploaded/{state}`): an HMAC over the profile,
//! the user, the key prefix and an expiry, so a forged or stale redirect is refused. It lives in
//! the path, because Ceph RGW appends `?bucket=…` with a second `?` to a URL with a query.

use serde::{Deserialize, Serialize};

/// What the server vouches for after an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// Profile name.
    pub p: String,
    /// User id.
    pub u: String,
    /// Key prefix every uploaded key must start with.
    pub k: String,
    /// Expiry, Unix seconds.
    pub e: i64,
}

/// Why a state was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Bad shape or signature.
    #[error("this upload confirmation link is not valid (it was altered or not issued by this server); upload the file again")]
    Forged,
    /// Past its expiry.
    #[error("this upload confirmation link has expired; upload the file again")]
    Expired,
}

/// Upload confirmations are sealed with no purpose (as before sealing was shared).
const PURPOSE: &str = "";

impl UploadState {
    /// Encodes and signs the state.
    pub fn seal(&self, secret: &[u8]) -> String {
        super::seal::seal(PURPOSE, self, secret)
    }

    /// Verifies and decodes a sealed state as of `now` (Unix seconds).
    pub fn open(sealed: &str, secret: &[u8], now: i64) -> Result<Self, StateError> {
        let state: UploadState =
            super::seal::open(PURPOSE, sealed, secret).ok_or(StateError::Forged)?;
        if now > state.e {
            return Err(StateError::Expired);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let s = UploadState {
            p: "avatar".into(),
            u: "alice".into(),
            k: "avatars/alice/".into(),
            e: 100,
        };
        let sealed = s.seal(b"secret");
        assert_eq!(UploadState::open(&sealed, b"secret", 50).unwrap(), s);
        assert_eq!(
            UploadState::open(&sealed, b"other", 50),
            Err(StateError::Forged)
        );
        assert_eq!(
            UploadState::open(&sealed, b"secret", 101),
            Err(StateError::Expired)
        );
        // Change the prefix but keep the tag.
        let forged = UploadState {
            k: "avatars/".into(),
            ..s
        }
        .seal(b"secret");
        let tampered = format!(
            "{}.{}",
            forged.split('.').next().unwrap(),
            sealed.split('.').nth(1).unwrap()
        );
        assert_eq!(
            UploadState::open(&tampered, b"secret", 50),
            Err(StateError::Forged)
        );
    }
}
