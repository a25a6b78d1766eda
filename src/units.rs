//! Human sizes (`5MiB`, `20MB`, `1024`), durations (`30s`, `15m`, `1h`, `7d`, `90`) and
//! lifetimes (a duration or an absolute end such as `2026-12-25`), parsed once at the edge, and
//! their readable forms for pages and messages.

use crate::error::{Error, Result};
use crate::wire::{utc_seconds, MAX_EXPIRY};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Parses a size: plain bytes, or a number with B, KB/MB/GB (powers of 1000) or
/// KiB/MiB/GiB (powers of 1024). Case-insensitive; fractions like `1.5MiB` are allowed.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(bad_size(s)),
    };
    if num.is_empty() {
        return Err(bad_size(s));
    }
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult).ok_or_else(|| bad_size(s));
    }
    let f: f64 = num.parse().map_err(|_| bad_size(s))?;
    let v = f * mult as f64;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(bad_size(s));
    }
    Ok(v.round() as u64)
}

fn bad_size(s: &str) -> Error {
    Error::Parse(format!(
        "`{s}` is not a size; write bytes like 1048576, or 5MiB, 20MB, 512KiB"
    ))
}

/// Parses a duration: plain seconds, or a whole number with s, m, h or d.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        Error::Parse(format!(
            "`{s}` is not a duration; write seconds like 90, or 30s, 15m, 1h, 7d"
        ))
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hr" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).map(Duration::from_secs).ok_or_else(bad)
}

/// How long a URL or form should work: for a while, or until a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// This long from when it is signed.
    For(Duration),
    /// Until this moment.
    Until(OffsetDateTime),
}

impl Lifetime {
    /// The whole seconds from `now` to the end, checked against S3's 1 second to 7 days.
    pub fn from(self, now: OffsetDateTime) -> Result<Duration> {
        let d = match self {
            Lifetime::For(d) => d,
            Lifetime::Until(at) => {
                let (now, at) = (utc_seconds(now), utc_seconds(at));
                if at <= now {
                    return Err(Error::ExpiresInPast { at, now });
                }
                let secs = (at - now).whole_seconds().unsigned_abs();
                if Duration::from_secs(secs) > MAX_EXPIRY {
                    return Err(Error::ExpiresTooLate { at, now });
                }
                return Ok(Duration::from_secs(secs));
            }
        };
        if d.is_zero() || d > MAX_EXPIRY {
            return Err(Error::BadUrlExpiry(d));
        }
        Ok(d)
    }
}

/// Parses a lifetime: a duration as [`parse_duration`] takes it, or an end as
/// [`parse_instant`] takes it.
pub fn parse_lifetime(s: &str) -> Result<Lifetime> {
    if let Ok(d) = parse_duration(s) {
        return Ok(Lifetime::For(d));
    }
    parse_instant(s).map(Lifetime::Until).map_err(|_| {
        Error::Parse(format!(
            "`{s}` is neither a duration nor a date; write 30s, 15m, 1h, 7d or seconds, or an end such as 2026-12-25 (midnight UTC), 2026-12-25T12:00:00Z or 2026-12-25T13:00:00+01:00"
        ))
    })
}

/// Parses a moment: RFC 3339 (`2026-12-25T12:00:00Z`, `2026-12-25T13:00:00+01:00`), or a
/// date alone (`2026-12-25`), meaning midnight UTC at its start.
pub fn parse_instant(s: &str) -> Result<OffsetDateTime> {
    let t = s.trim();
    if let Ok(at) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(at);
    }
    Date::parse(t, format_description!("[year]-[month]-[day]"))
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| {
            Error::Parse(format!(
                "`{s}` is not a date or time; write 2026-12-25 (midnight UTC), 2026-12-25T12:00:00Z or 2026-12-25T13:00:00+01:00"
            ))
        })
}

/// A size in words for people: `5 MiB`, `20 MB`, `1.5 KiB`, `300 bytes`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (size, name) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{} {name}", bytes / size)
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    if bytes == 1 {
        "1 byte".into()
    } else {
        format!("{bytes} bytes")
    }
}

/// An accepted size range in words: `up to 5 MiB`, or `10 KiB to 5 MiB` when the minimum is
/// more than one byte.
pub fn format_size_range(min: u64, max: u64) -> String {
    if min > 1 {
        format!("{} to {}", format_size(min), format_size(max))
    } else {
        format!("up to {}", format_size(max))
    }
}

/// A duration in words: `15 minutes`, `1 hour`, `7 days`, `45 seconds`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s.is_multiple_of(86_400) && s >= 86_400 {
        (s / 86_400, "day")
    } else if s.is_multiple_of(3600) && s >= 3600 {
        (s / 3600, "hour")
    } else if s.is_multiple_of(60) && s >= 60 {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("5MiB").unwrap(), 5 * 1024 * 1024);
        assert_eq!(parse_size("20MB").unwrap(), 20_000_000);
        assert_eq!(parse_size("1048576").unwrap(), 1_048_576);
        assert_eq!(parse_size(" 1.5 kib ").unwrap(), 1536);
        for bad in ["", "MiB", "5 parsecs", "-1", "1e3"] {
            let e = parse_size(bad).unwrap_err().to_string();
            assert!(e.contains("5MiB"), "{bad}: {e}");
        }
        assert_eq!(format_size(5 << 20), "5 MiB");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(300), "300 bytes");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap().as_secs(), 30);
        assert_eq!(parse_duration("15m").unwrap().as_secs(), 900);
        assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 604_800);
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert!(parse_duration("1.5h")
            .unwrap_err()
            .to_string()
            .contains("15m"));
        assert_eq!(format_duration(Duration::from_secs(900)), "15 minutes");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1 hour");
    }

    #[test]
    fn lifetimes() {
        use time::macros::datetime;
        let now = datetime!(2026-12-24 12:00:00.5 UTC);
        let secs = |s: &str| parse_lifetime(s).unwrap().from(now).map(|d| d.as_secs());
        assert_eq!(secs("15m").unwrap(), 900);
        assert_eq!(secs("2026-12-25").unwrap(), 12 * 3600);
        assert_eq!(secs("2026-12-25T12:00:00Z").unwrap(), 24 * 3600);
        assert_eq!(secs("2026-12-25T13:00:00+01:00").unwrap(), 24 * 3600);
        assert_eq!(secs("2026-12-31T12:00:00Z").unwrap(), 7 * 24 * 3600);
        let past = secs("2026-12-24").unwrap_err().to_string();
        assert!(
            past.contains("2026-12-24T00:00:00Z")
                && past.contains("not after now (2026-12-24T12:00:00Z)"),
            "{past}"
        );
        let far = secs("2027-01-01").unwrap_err().to_string();
        assert!(far.contains("more than 7 days"), "{far}");
        assert!(secs("8d").unwrap_err().to_string().contains("7 days"));
        let bad = parse_lifetime("next tuesday").unwrap_err().to_string();
        assert!(bad.contains("2026-12-25") && bad.contains("15m"), "{bad}");
    }
}
