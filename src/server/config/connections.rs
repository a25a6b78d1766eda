//! The `[server]` keys that keep slow and idle clients from starving the server:
//! `header_timeout`, `idle_timeout` and `max_connections`.

use super::convert::duration_or;
use super::raw::RawDuration;
use super::{defaults, err, ConfigError};
use std::time::Duration;

/// How long connections may dawdle, and how many are served at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the first byte of a request to its complete head; slower clients are closed.
    pub header_timeout: Duration,
    /// How long a connection may wait for a request (after connecting, between keep-alive
    /// requests) before it is closed.
    pub idle_timeout: Duration,
    /// Connections served at once. At the cap the oldest connection that is not serving a
    /// request is closed to make room (and a new one is refused only when every connection is
    /// busy). At start the soft file limit is raised to fit it if the hard limit allows, and
    /// otherwise the cap is lowered to fit.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: defaults::HEADER_TIMEOUT,
            idle_timeout: defaults::IDLE_TIMEOUT,
            max_connections: defaults::MAX_CONNECTIONS,
        }
    }
}

/// The largest `max_connections` accepted.
const MAX_CAP: u64 = 1_000_000;

impl ConnectionLimits {
    pub(super) fn from_raw(
        header_timeout: Option<&RawDuration>,
        idle_timeout: Option<&RawDuration>,
        max_connections: Option<u64>,
    ) -> Result<Self, ConfigError> {
        let positive = |key: &str, v: Option<&RawDuration>, default: Duration| {
            let d = duration_or(key, v, default)?;
            if d.is_zero() {
                return Err(err(key, "must be at least 1s, e.g. \"10s\""));
            }
            Ok(d)
        };
        let max_connections = match max_connections {
            None => defaults::MAX_CONNECTIONS,
            Some(n @ 1..=MAX_CAP) => usize::try_from(n).unwrap_or(usize::MAX),
            Some(n) => {
                return Err(err(
                    "server.max_connections",
                    format!("{n} is out of range; write a number from 1 to {MAX_CAP}, e.g. 1024"),
                ))
            }
        };
        Ok(Self {
            header_timeout: positive(
                "server.header_timeout",
                header_timeout,
                defaults::HEADER_TIMEOUT,
            )?,
            idle_timeout: positive("server.idle_timeout", idle_timeout, defaults::IDLE_TIMEOUT)?,
            max_connections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;
    use std::path::Path;

    const PROFILE: &str = r#"
[[profile]]
name = "avatar"
bucket = "b"
key = "avatars/{user}/{uuid}/${filename}"
max_size = "5MiB"
content_types = ["image/png"]
"#;

    fn parse(server: &str) -> Result<ConnectionLimits, ConfigError> {
        let text = format!("[server]\n{server}\n{PROFILE}");
        Config::parse(&text, Path::new("."), &|_| None).map(|c| c.server.connections)
    }

    #[test]
    fn defaults_apply_when_the_keys_are_absent() {
        assert_eq!(parse("").unwrap(), ConnectionLimits::default());
    }

    #[test]
    fn the_keys_are_read() {
        let c = parse("header_timeout = \"5s\"\nidle_timeout = 90\nmax_connections = 200").unwrap();
        assert_eq!(c.header_timeout, Duration::from_secs(5));
        assert_eq!(c.idle_timeout, Duration::from_secs(90));
        assert_eq!(c.max_connections, 200);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (line, key) in [
            ("header_timeout = 0", "server.header_timeout"),
            ("header_timeout = \"soon\"", "server.header_timeout"),
            ("idle_timeout = \"0s\"", "server.idle_timeout"),
            ("max_connections = 0", "server.max_connections"),
            ("max_connections = -3", "server.max_connections"),
            ("max_connections = \"many\"", "server.max_connections"),
        ] {
            let e = parse(line).unwrap_err();
            assert_eq!(e.key, key, "{line}: {e}");
        }
    }
}
