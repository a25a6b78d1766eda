//! The state carried in the success redirect (`/uploaded/{state}`): an HMAC over the profile,
//! the user, the key prefix and an expiry, so a forged or stale redirect is refused. It lives in
//! the path, because Ceph RGW appends `?bucket=…` with a second `?` to a URL with a query.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

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

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length")
}

impl UploadState {
    /// Encodes and signs the state.
    pub fn seal(&self, secret: &[u8]) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mut m = mac(secret);
        m.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// Verifies and decodes a sealed state as of `now` (Unix seconds).
    pub fn open(sealed: &str, secret: &[u8], now: i64) -> Result<Self, StateError> {
        let (payload, tag) = sealed.split_once('.').ok_or(StateError::Forged)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Forged)?;
        let mut m = mac(secret);
        m.update(payload.as_bytes());
        m.verify_slice(&tag).map_err(|_| StateError::Forged)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| StateError::Forged)?;
        let state: UploadState = serde_json::from_slice(&bytes).map_err(|_| StateError::Forged)?;
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
