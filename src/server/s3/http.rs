//! The HTTP client of the server's own S3 calls, which also watches S3's clock.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Beyond this much difference with S3's clock, uploads fail: S3 refuses signatures more
/// than 15 minutes off, and forms expire early or late.
pub const SKEW_LIMIT: Duration = Duration::from_secs(5 * 60);

/// The HTTP client of the server's own S3 calls. It also compares each answer's `Date` with
/// the server's clock, so a clock that is off is told in words instead of "the form expired".
#[derive(Clone)]
pub struct S3Http {
    client: reqwest::Client,
    clock: Arc<ClockWatch>,
}

/// What the answers so far say of the server's clock.
#[derive(Default)]
struct ClockWatch {
    known: AtomicBool,
    /// S3's clock minus the server's, in seconds (positive: the server is behind).
    skew: AtomicI64,
    warned: AtomicBool,
}

impl S3Http {
    /// A client whose calls time out after `timeout`.
    pub fn new(timeout: Duration) -> reqwest::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            clock: Arc::default(),
        })
    }

    /// A request on the inner client.
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends `req` and reads the answer's `Date` against `now` (the server's clock when the
    /// request was signed).
    pub async fn send(
        &self,
        req: reqwest::RequestBuilder,
        now: OffsetDateTime,
    ) -> reqwest::Result<reqwest::Response> {
        let resp = req.send().await?;
        if let Some(date) = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(http_date)
        {
            self.observe(date, now);
        }
        Ok(resp)
    }

    /// Records S3's time `s3_date` seen at the server's `now`; logs a warning when the
    /// difference goes past [`SKEW_LIMIT`] (once, until it comes back).
    pub fn observe(&self, s3_date: OffsetDateTime, now: OffsetDateTime) {
        // A second or two is the trip and Date's whole seconds.
        let skew = (s3_date - now).whole_seconds();
        let w = &self.clock;
        w.skew.store(skew, Ordering::Relaxed);
        w.known.store(true, Ordering::Relaxed);
        let off = skew.unsigned_abs() > SKEW_LIMIT.as_secs();
        if off && !w.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                skew_seconds = skew,
                "this server's clock is {} S3's by {}: signed forms and links fail until it is fixed; sync the clock (chrony, `timedatectl set-ntp true`)",
                if skew > 0 { "behind" } else { "ahead of" },
                rounded(skew)
            );
        } else if !off {
            w.warned.store(false, Ordering::Relaxed);
        }
    }

    /// How far the server's clock is off S3's, in seconds (positive: behind), when an answer
    /// has told.
    pub fn skew(&self) -> Option<i64> {
        let w = &self.clock;
        w.known
            .load(Ordering::Relaxed)
            .then(|| w.skew.load(Ordering::Relaxed))
    }

    /// The clock problem in words, when the server's clock is more than [`SKEW_LIMIT`] off.
    pub fn clock_problem(&self) -> Option<String> {
        let skew = self.skew()?;
        (skew.unsigned_abs() > SKEW_LIMIT.as_secs()).then(|| {
            format!(
                "the clock on this server is {} by {} compared with the storage, so uploads and links fail; this is not your fault and reloading will not help: the person who runs this site must set the server clock right",
                if skew > 0 { "behind" } else { "ahead" },
                rounded(skew)
            )
        })
    }
}

/// A skew in words, to the minute (`2 hours`): the answers' dates have whole seconds and the
/// trip takes some.
fn rounded(skew: i64) -> String {
    let minutes = skew.unsigned_abs().saturating_add(30) / 60;
    crate::units::format_duration(Duration::from_secs(minutes.max(1) * 60))
}

/// Reads an HTTP `Date` header (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(value: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value.trim(), format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}
