//! Small values the server hands to a browser and takes back unchanged: upload confirmations,
//! sign-in sessions, a sign-in in progress. Each is JSON signed with HMAC-SHA256 under the
//! state secret, so any replica that shares the secret can open it and nobody else can make
//! one. A `purpose` is mixed into the tag so that a value sealed for one use never opens as
//! another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;

fn mac(secret: &[u8], purpose: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    // Upload confirmations were sealed with no purpose; they keep their tags.
    if !purpose.is_empty() {
        m.update(purpose.as_bytes());
        m.update(&[0]);
    }
    m
}

/// `value` as `payload.tag`, both base64url.
pub fn seal<T: Serialize>(purpose: &str, value: &T, secret: &[u8]) -> String {
    // One buffer: payload, dot, tag (this runs on every signed form).
    let json = serde_json::to_vec(value).unwrap_or_default();
    let mut sealed = String::with_capacity(json.len() * 4 / 3 + 48);
    URL_SAFE_NO_PAD.encode_string(&json, &mut sealed);
    let mut m = mac(secret, purpose);
    m.update(sealed.as_bytes());
    sealed.push('.');
    URL_SAFE_NO_PAD.encode_string(m.finalize().into_bytes(), &mut sealed);
    sealed
}

/// The value sealed by [`seal`] for the same purpose and secret; `None` when anything differs.
pub fn open<T: DeserializeOwned>(purpose: &str, sealed: &str, secret: &[u8]) -> Option<T> {
    let (payload, tag) = sealed.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let mut m = mac(secret, purpose);
    m.update(payload.as_bytes());
    m.verify_slice(&tag).ok()?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A secret derived from the state secret for `purpose` and `input` (base64url, 43
/// characters), e.g. a PKCE verifier that never has to be stored.
pub fn derive(purpose: &str, input: &str, secret: &[u8]) -> String {
    let mut m = mac(secret, purpose);
    m.update(input.as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_for_its_purpose_and_secret() {
        let sealed = seal("session", &("alice", 7), b"secret");
        assert_eq!(
            open::<(String, i64)>("session", &sealed, b"secret"),
            Some(("alice".into(), 7))
        );
        assert_eq!(open::<(String, i64)>("login", &sealed, b"secret"), None);
        assert_eq!(open::<(String, i64)>("session", &sealed, b"other"), None);
        let mut tampered = sealed.clone();
        tampered.insert(1, 'x');
        assert_eq!(open::<(String, i64)>("session", &tampered, b"secret"), None);
        assert_eq!(derive("pkce", "a", b"secret").len(), 43);
        assert_ne!(
            derive("pkce", "a", b"secret"),
            derive("pkce", "b", b"secret")
        );
    }
}
