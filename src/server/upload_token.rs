//! The upload id signpost hands to Uppy for a multipart upload: S3's upload id sealed with the
//! profile, the declared size and the part size, and bound by an HMAC to the caller and the
//! key. The server keeps no record of uploads: every later call (part URLs, list, complete,
//! abort) brings this token and the key back, and another caller's token, another key or an
//! altered token is refused.
//!
//! The caller and the key are not in the token; they are in the HMAC's input, so the token
//! stays short and only the same caller with the same key can open it. The input starts with
//! a label of its own, so an upload-state seal (`upload_state`) is never a valid token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;

/// How long a multipart upload may stay open: its token stops working after this.
pub const UPLOAD_LIFE: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the server vouches for about one multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadToken {
    /// S3's upload id.
    pub i: String,
    /// The profile's name.
    pub p: String,
    /// The declared size in bytes, when the client said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<u64>,
    /// The part size the part URLs are signed for (with a declared size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<u64>,
    /// Expiry, Unix seconds.
    pub e: i64,
}

/// Why a token was refused (each answered with 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Bad shape, another caller's, another key, or altered.
    #[error("this upload was not started by you for this key (or its id was altered); start the upload again")]
    NotYours,
    /// Past its expiry.
    #[error("this upload was started more than 7 days ago and can no longer be continued; start it again")]
    Expired,
}

const LABEL: &[u8] = b"signpost multipart upload\0";

fn tag(secret: &[u8], user: &str, key: &str, payload: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    for part in [LABEL, user.as_bytes(), b"\0", key.as_bytes(), b"\0"] {
        m.update(part);
    }
    m.update(payload.as_bytes());
    m
}

impl UploadToken {
    /// Encodes the token and binds it to `user` and `key`.
    pub fn seal(&self, secret: &[u8], user: &str, key: &str) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let t = tag(secret, user, key, &payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(t))
    }

    /// Opens a token brought back by `user` with `key`, as of `now` (Unix seconds).
    pub fn open(
        sealed: &str,
        secret: &[u8],
        user: &str,
        key: &str,
        now: i64,
    ) -> Result<Self, TokenError> {
        let (payload, t) = sealed.split_once('.').ok_or(TokenError::NotYours)?;
        let t = URL_SAFE_NO_PAD
            .decode(t)
            .map_err(|_| TokenError::NotYours)?;
        tag(secret, user, key, payload)
            .verify_slice(&t)
            .map_err(|_| TokenError::NotYours)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::NotYours)?;
        let token: UploadToken =
            serde_json::from_slice(&bytes).map_err(|_| TokenError::NotYours)?;
        if now > token.e {
            return Err(TokenError::Expired);
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_to_caller_and_key() {
        let t = UploadToken {
            i: "2~s3-id".into(),
            p: "video".into(),
            s: Some(11 << 20),
            c: Some(5 << 20),
            e: 100,
        };
        let sealed = t.seal(b"secret", "alice", "videos/alice/u/a.mp4");
        assert!(!sealed.contains(['/', '+', '=', '?', '&', '#']), "{sealed}");
        let open = |s: &str, user, key, now| UploadToken::open(s, b"secret", user, key, now);
        assert_eq!(
            open(&sealed, "alice", "videos/alice/u/a.mp4", 50),
            Ok(t.clone())
        );
        assert_eq!(
            open(&sealed, "bob", "videos/alice/u/a.mp4", 50),
            Err(TokenError::NotYours)
        );
        assert_eq!(
            open(&sealed, "alice", "videos/alice/u/b.mp4", 50),
            Err(TokenError::NotYours)
        );
        assert_eq!(
            UploadToken::open(&sealed, b"other", "alice", "videos/alice/u/a.mp4", 50),
            Err(TokenError::NotYours)
        );
        assert_eq!(
            open(&sealed, "alice", "videos/alice/u/a.mp4", 101),
            Err(TokenError::Expired)
        );
        // A larger declared size under the old tag.
        let bigger = UploadToken {
            s: Some(1 << 40),
            ..t
        }
        .seal(b"secret", "alice", "videos/alice/u/a.mp4");
        let tampered = format!(
            "{}.{}",
            bigger.split('.').next().unwrap(),
            sealed.split('.').nth(1).unwrap()
        );
        assert_eq!(
            open(&tampered, "alice", "videos/alice/u/a.mp4", 50),
            Err(TokenError::NotYours)
        );
        for junk in ["", ".", "a.b", "x"] {
            assert_eq!(open(junk, "alice", "k", 0), Err(TokenError::NotYours));
        }
    }
}
