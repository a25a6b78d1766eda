//! How long a link or a form lives: what the caller asks for (a duration or an end), capped by
//! the rule's maximum, S3's 7 days, and the signing credentials' own expiry. No link or form
//! outlives the credentials that signed it.

use super::Result;
use crate::server::error::ServiceError;
use crate::server::state::AppState;
use crate::units::{format_duration, parse_duration, parse_instant};
use serde::Serialize;
use std::time::Duration;
use time::OffsetDateTime;

/// Below this much credential life left, nothing is signed: the answer would die at once.
pub const MIN_CREDENTIAL_LIFE: Duration = Duration::from_secs(60);

/// What a caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The rule's default.
    Default,
    /// This long from now.
    For(Duration),
    /// Until then.
    Until(OffsetDateTime),
}

/// What shortened a lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cap {
    /// The rule's (or profile's) maximum.
    Rule,
    /// The signing credentials expire sooner.
    Credentials,
}

/// A decided lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Whole seconds from now (X-Amz-Expires).
    pub expires_in: Duration,
    /// The end.
    pub expires_at: OffsetDateTime,
    /// What shortened it, if anything did.
    pub capped_by: Option<Cap>,
}

/// Parses `expires` (`15m`, `1h`, `7d` or seconds) and `expires_at` (RFC 3339, or a date
/// meaning midnight UTC): at most one of them.
pub fn parse_wanted(expires: Option<&str>, expires_at: Option<&str>) -> Result<Wanted> {
    match (expires.map(str::trim).filter(|s| !s.is_empty()), expires_at.map(str::trim).filter(|s| !s.is_empty())) {
        (None, None) => Ok(Wanted::Default),
        (Some(_), Some(_)) => Err(ServiceError::BadRequest(
            "give expires (a duration like 15m) or expires_at (a date or time), not both".into(),
        )),
        (Some(d), None) => parse_duration(d).map(Wanted::For).map_err(|e| {
            ServiceError::BadRequest(format!("expires: {e}; write e.g. 15m, 1h, 7d or seconds"))
        }),
        (None, Some(t)) => parse_instant(t).map(Wanted::Until).map_err(|_| {
            ServiceError::BadRequest(format!(
                "expires_at `{t}` is not a date or time; write e.g. 2026-12-25 or 2026-12-25T12:00:00Z"
            ))
        }),
    }
}

/// Decides a lifetime as of `now`: `wanted` (or `default`), at most `max`, and never past the
/// credentials' expiry. Credentials with under a minute left give a 503 (and a refresh is
/// started by the caller of [`check_credentials`]).
pub fn decide(
    now: OffsetDateTime,
    wanted: Wanted,
    default: Duration,
    max: Duration,
    credentials_expire_at: Option<OffsetDateTime>,
) -> Result<Lifetime> {
    // Signatures date from the whole second (X-Amz-Date), and so do lifetimes.
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let asked_end = match wanted {
        Wanted::Default => now + default,
        Wanted::For(d) => now + d,
        Wanted::Until(t) => t,
    };
    if asked_end <= now {
        return Err(ServiceError::BadRequest(
            "the link would already have expired; ask for an end in the future".into(),
        ));
    }
    let mut end = asked_end;
    let mut capped_by = None;
    if end > now + max {
        end = now + max;
        capped_by = Some(Cap::Rule);
    }
    if let Some(c) = credentials_expire_at {
        if end > c {
            end = c;
            capped_by = Some(Cap::Credentials);
        }
    }
    let secs = (end - now).whole_seconds().max(1);
    let expires_in = Duration::from_secs(secs.unsigned_abs());
    Ok(Lifetime {
        expires_in,
        expires_at: now + expires_in,
        capped_by,
    })
}

/// Refuses to sign (503) when the credentials have less than [`MIN_CREDENTIAL_LIFE`] left,
/// and starts a refresh.
pub fn check_credentials(state: &AppState, now: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
    let expires_at = state.signer.credentials().expires_at();
    if let Some(t) = expires_at {
        if t - now < MIN_CREDENTIAL_LIFE {
            state.refresh_soon();
            let left = (t - now).whole_seconds().max(0).unsigned_abs();
            return Err(ServiceError::Unavailable(format!(
                "the server's storage credentials expire in {}, too soon to sign anything; a refresh was started, so try again in a minute",
                format_duration(Duration::from_secs(left))
            )));
        }
    }
    Ok(expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const H: Duration = Duration::from_secs(3600);

    #[test]
    fn caps_say_what_shortened_the_link() {
        let now = datetime!(2026-12-03 12:00:00 UTC);
        let d = decide(now, Wanted::Default, H, 24 * H, None).unwrap();
        assert_eq!((d.expires_in, d.capped_by), (H, None));
        let d = decide(now, Wanted::For(48 * H), H, 24 * H, None).unwrap();
        assert_eq!((d.expires_in, d.capped_by), (24 * H, Some(Cap::Rule)));
        let creds = now + time::Duration::minutes(10);
        let d = decide(now, Wanted::For(H), H, 24 * H, Some(creds)).unwrap();
        assert_eq!((d.expires_at, d.capped_by), (creds, Some(Cap::Credentials)));
        let d = decide(
            now,
            Wanted::Until(datetime!(2026-12-04 00:00:00 UTC)),
            H,
            24 * H,
            None,
        )
        .unwrap();
        assert_eq!(d.expires_in, 12 * H);
        assert!(decide(now, Wanted::Until(now), H, H, None).is_err());
    }

    #[test]
    fn durations_and_dates_parse() {
        assert_eq!(
            parse_wanted(Some("15m"), None).unwrap(),
            Wanted::For(Duration::from_secs(900))
        );
        assert_eq!(
            parse_wanted(Some("90"), None).unwrap(),
            Wanted::For(Duration::from_secs(90))
        );
        assert_eq!(
            parse_wanted(None, Some("2026-12-25")).unwrap(),
            Wanted::Until(datetime!(2026-12-25 00:00:00 UTC))
        );
        assert_eq!(
            parse_wanted(None, Some("2026-12-25T12:00:00+01:00")).unwrap(),
            Wanted::Until(datetime!(2026-12-25 11:00:00 UTC))
        );
        assert!(parse_wanted(Some("1h"), Some("2026-12-25")).is_err());
        assert!(parse_wanted(None, Some("Christmas")).is_err());
    }
}
