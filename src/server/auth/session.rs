//! The browser's side of OpenID sign-in, kept in sealed cookies so that replicas share nothing
//! but the state secret: the session after sign-in (`signpost_session`: who, their roles, until
//! when), and the sign-in in progress (`signpost_login`: state, nonce, the seed of the PKCE
//! verifier, where to go back to; ten minutes, sent only to `/auth/`).

use super::Caller;
use crate::server::seal;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "signpost_session";
/// The sign-in-in-progress cookie's name.
pub const LOGIN_COOKIE: &str = "signpost_login";
/// How long a person has to finish signing in at the provider.
pub const LOGIN_EXPIRES: Duration = Duration::from_secs(600);

const SESSION_PURPOSE: &str = "signpost session v1";
const LOGIN_PURPOSE: &str = "signpost login v1";

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The user id (from `user_claim`).
    pub u: String,
    /// Roles (from `roles_claim`).
    pub r: Vec<String>,
    /// A name to show, if the provider gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// Expiry, Unix seconds.
    pub e: i64,
}

impl Session {
    /// A session for `caller` until `now + lasts`.
    pub fn new(caller: &Caller, now: OffsetDateTime, lasts: Duration) -> Self {
        Self {
            u: caller.user.clone(),
            r: caller.roles.clone(),
            n: caller.name.clone(),
            e: (now + lasts).unix_timestamp(),
        }
    }

    /// Sealed, for the cookie.
    pub fn seal(&self, key: &[u8]) -> String {
        seal::seal(SESSION_PURPOSE, self, key)
    }

    /// The caller of a sealed session, unless it was altered or has expired.
    pub fn open(sealed: &str, key: &[u8], now: OffsetDateTime) -> Option<Caller> {
        let s: Session = seal::open(SESSION_PURPOSE, sealed, key)?;
        (now.unix_timestamp() <= s.e).then_some(Caller {
            user: s.u,
            roles: s.r,
            all_roles: false,
            name: s.n,
        })
    }
}

/// A sign-in in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// The `state` sent to the provider (it must come back).
    pub s: String,
    /// The `nonce` the ID token must carry.
    pub n: String,
    /// The seed the PKCE verifier is derived from with the state secret.
    pub v: String,
    /// The local path to return to.
    pub next: String,
    /// Expiry, Unix seconds.
    pub e: i64,
}

impl Login {
    /// Sealed, for the cookie.
    pub fn seal(&self, key: &[u8]) -> String {
        seal::seal(LOGIN_PURPOSE, self, key)
    }

    /// The sign-in in progress, unless it was altered or has expired.
    pub fn open(sealed: &str, key: &[u8], now: OffsetDateTime) -> Option<Login> {
        let l: Login = seal::open(LOGIN_PURPOSE, sealed, key)?;
        (now.unix_timestamp() <= l.e).then_some(l)
    }

    /// The PKCE verifier: derived, so the cookie never carries it.
    pub fn pkce_verifier(&self, key: &[u8]) -> String {
        seal::derive("signpost pkce v1", &self.v, key)
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when the server is on https.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str, path: &str, secure: bool) -> String {
    set_cookie(name, "", path, Duration::ZERO, secure)
}

/// The value of cookie `name` in the request's headers.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// `next` when it is a path on this server (`/…`, not `//host` or `/\host`), else `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(|c| c.is_control() || c == '\\')
                && p.len() <= 2048 =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_session_opens_until_it_expires_and_never_when_altered() {
        let now = datetime!(2026-03-14 15:00 UTC);
        let caller = Caller {
            user: "alice".into(),
            roles: vec!["tier1".into()],
            all_roles: false,
            name: Some("Alice".into()),
        };
        let sealed = Session::new(&caller, now, Duration::from_secs(3600)).seal(b"k");
        assert_eq!(Session::open(&sealed, b"k", now), Some(caller.clone()));
        assert_eq!(
            Session::open(&sealed, b"k", now + Duration::from_secs(3601)),
            None
        );
        assert_eq!(Session::open(&sealed, b"other", now), None);
        let more_roles = Session {
            r: vec!["tier2".into()],
            ..Session::new(&caller, now, Duration::from_secs(3600))
        }
        .seal(b"k");
        let tampered = format!(
            "{}.{}",
            more_roles.split('.').next().unwrap(),
            sealed.split('.').nth(1).unwrap()
        );
        assert_eq!(Session::open(&tampered, b"k", now), None);
        // A login cookie is not a session, and the other way round.
        let login = Login {
            s: "s".into(),
            n: "n".into(),
            v: "v".into(),
            next: "/".into(),
            e: now.unix_timestamp() + 60,
        }
        .seal(b"k");
        assert_eq!(Session::open(&login, b"k", now), None);
        assert_eq!(Login::open(&sealed, b"k", now), None);
    }

    #[test]
    fn only_local_paths_are_followed() {
        for good in ["/", "/upload/avatar", "/files?prefix=a%2Fb"] {
            assert_eq!(local_path(Some(good)), good);
        }
        for bad in [
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "evil",
            "",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
