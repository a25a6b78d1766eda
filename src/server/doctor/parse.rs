//! The pure parts of `signpost doctor`: reading a bucket's CORS and lifecycle configurations,
//! judging a preflight answer, S3's `Date` header against the local clock, and the XML to
//! paste as a fix. No I/O here, so all of it is unit-tested.

use serde::Deserialize;
use std::time::Duration;
use time::OffsetDateTime;

/// A bucket's CORS configuration (`GET ?cors`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CorsConfiguration {
    /// The rules, in order (S3 uses the first that matches).
    #[serde(rename = "CORSRule")]
    pub rules: Vec<CorsRule>,
}

/// One `<CORSRule>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CorsRule {
    /// `<AllowedOrigin>`s (each may hold one `*`).
    #[serde(rename = "AllowedOrigin")]
    pub allowed_origins: Vec<String>,
    /// `<AllowedMethod>`s.
    #[serde(rename = "AllowedMethod")]
    pub allowed_methods: Vec<String>,
    /// `<ExposeHeader>`s.
    #[serde(rename = "ExposeHeader")]
    pub expose_headers: Vec<String>,
}

impl CorsConfiguration {
    /// Reads the XML S3 answers to `GET ?cors`.
    pub fn parse(xml: &str) -> Result<Self, String> {
        quick_xml::de::from_str(xml).map_err(|e| e.to_string())
    }

    /// The rule S3 applies to `method` from `origin`: the first that matches both.
    pub fn rule_for(&self, origin: &str, method: &str) -> Option<&CorsRule> {
        self.rules.iter().find(|r| {
            r.allowed_origins.iter().any(|o| origin_matches(o, origin))
                && r.allowed_methods.iter().any(|m| m == method)
        })
    }
}

impl CorsRule {
    /// Whether the browser may read `header` from the answer.
    pub fn exposes(&self, header: &str) -> bool {
        self.expose_headers
            .iter()
            .any(|h| h.trim().eq_ignore_ascii_case(header))
    }
}

/// Whether an `<AllowedOrigin>` (with at most one `*`, as S3 allows) matches `origin`.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == origin,
        Some((head, tail)) => {
            origin.len() >= head.len() + tail.len()
                && origin.starts_with(head)
                && origin.ends_with(tail)
        }
    }
}

/// Whether a preflight answer lets `origin` send `method`: a 2xx whose
/// `Access-Control-Allow-Origin` is the origin (or `*`) and whose
/// `Access-Control-Allow-Methods`, when given, names the method.
pub fn preflight_allows(
    status: u16,
    allow_origin: Option<&str>,
    allow_methods: Option<&str>,
    origin: &str,
    method: &str,
) -> bool {
    let origin_ok = matches!(allow_origin.map(str::trim), Some(o) if o == "*" || o == origin);
    let method_ok = allow_methods.is_none_or(|m| {
        m.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case(method) || x.trim() == "*")
    });
    (200..300).contains(&status) && origin_ok && method_ok
}

/// The `<CORSRule>` to add so `origin` may POST (and PUT, for multipart) with `ETag` exposed.
pub fn cors_rule_xml(origin: &str) -> String {
    let origin = crate::wire::xml_escape_text(origin);
    format!(
        "<CORSRule><AllowedOrigin>{origin}</AllowedOrigin><AllowedMethod>POST</AllowedMethod>\
         <AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader>\
         <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>"
    )
}

/// A bucket's lifecycle configuration (`GET ?lifecycle`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LifecycleConfiguration {
    /// The rules.
    #[serde(rename = "Rule")]
    pub rules: Vec<LifecycleRule>,
}

/// One lifecycle `<Rule>` (only what doctor reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LifecycleRule {
    /// `<ID>`.
    #[serde(rename = "ID")]
    pub id: Option<String>,
    /// `Enabled` or `Disabled`.
    pub status: String,
    /// The old form: `<Prefix>` right in the rule.
    pub prefix: Option<String>,
    /// `<Filter>`.
    pub filter: Option<LifecycleFilter>,
    /// `<AbortIncompleteMultipartUpload>`.
    pub abort_incomplete_multipart_upload: Option<AbortIncomplete>,
}

/// A rule's `<Filter>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LifecycleFilter {
    /// `<Prefix>`.
    pub prefix: Option<String>,
    /// `<And>`, which may hold a `<Prefix>`.
    pub and: Option<LifecycleAnd>,
}

/// A filter's `<And>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LifecycleAnd {
    /// `<Prefix>`.
    pub prefix: Option<String>,
}

/// `<AbortIncompleteMultipartUpload>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AbortIncomplete {
    /// `<DaysAfterInitiation>`.
    pub days_after_initiation: Option<u32>,
}

impl LifecycleConfiguration {
    /// Reads the XML S3 answers to `GET ?lifecycle`.
    pub fn parse(xml: &str) -> Result<Self, String> {
        quick_xml::de::from_str(xml).map_err(|e| e.to_string())
    }

    /// The first enabled rule that aborts incomplete multipart uploads under every one of
    /// `key_prefixes` (the fixed starts of the keys uploads go to).
    pub fn abort_rule_for(&self, key_prefixes: &[String]) -> Option<&LifecycleRule> {
        self.rules.iter().find(|r| {
            r.status.trim().eq_ignore_ascii_case("Enabled")
                && r.abort_incomplete_multipart_upload.is_some()
                && key_prefixes.iter().all(|k| k.starts_with(r.prefix()))
        })
    }
}

impl LifecycleRule {
    /// The key prefix the rule applies to (empty: the whole bucket).
    pub fn prefix(&self) -> &str {
        let f = self.filter.as_ref();
        f.and_then(|f| f.prefix.as_deref())
            .or_else(|| f.and_then(|f| f.and.as_ref()?.prefix.as_deref()))
            .or(self.prefix.as_deref())
            .unwrap_or("")
    }
}

/// The days after which the suggested rule aborts an unfinished multipart upload.
pub const ABORT_AFTER_DAYS: u32 = 7;

/// The whole lifecycle configuration to PUT when a bucket has none: one rule, over the whole
/// bucket, aborting multipart uploads left unfinished for [`ABORT_AFTER_DAYS`] days.
pub fn lifecycle_xml() -> String {
    format!(
        "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{}</LifecycleConfiguration>",
        lifecycle_rule_xml()
    )
}

/// The `<Rule>` to add to an existing lifecycle configuration.
pub fn lifecycle_rule_xml() -> String {
    format!(
        "<Rule><ID>abort-incomplete-multipart-uploads</ID><Filter><Prefix></Prefix></Filter>\
         <Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>{ABORT_AFTER_DAYS}\
         </DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
    )
}

pub use crate::server::s3::http_date;

/// Beyond this the clock line warns.
pub const CLOCK_WARN: Duration = Duration::from_secs(60);
/// Beyond this the clock line fails.
pub const CLOCK_FAIL: Duration = Duration::from_secs(5 * 60);

/// How far the local clock is from S3's, judged against a request sent at `sent` and
/// answered at `received` (local clock) with `Date: s3_date`. The `Date` header has whole
/// seconds, so the local time is taken mid-request and rounded down alike; what is left is
/// positive when the local clock is ahead.
pub fn clock_skew(
    sent: OffsetDateTime,
    received: OffsetDateTime,
    s3_date: OffsetDateTime,
) -> time::Duration {
    let half: time::Duration = (received - sent) / 2;
    let mid = sent + half;
    let mid = mid.replace_nanosecond(0).unwrap_or(mid);
    mid - s3_date
}

/// Whether a skew is fine (`None`), worth a warning (`Some(false)`) or a failure (`Some(true)`).
pub fn clock_verdict(skew: time::Duration) -> Option<bool> {
    let off = skew.unsigned_abs();
    if off > CLOCK_FAIL {
        Some(true)
    } else if off > CLOCK_WARN {
        Some(false)
    } else {
        None
    }
}

/// A duration in words for messages: exact when in whole minutes (`1 day`, `90 minutes`),
/// else rounded down (`45 seconds`, `12 minutes`, `3 hours`, `2 days`).
pub fn rough(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        return crate::units::format_duration(d);
    }
    let (n, unit) = if s >= 2 * 86_400 {
        (s / 86_400, "day")
    } else if s >= 2 * 3600 {
        (s / 3600, "hour")
    } else if s >= 2 * 60 {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// What `scripts/ceph.sh` puts on its buckets, as radosgw answers `GET ?cors`.
    const CEPH_CORS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedOrigin>*</AllowedOrigin><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds><ExposeHeader>ETag</ExposeHeader><ExposeHeader>Location</ExposeHeader></CORSRule></CORSConfiguration>"#;

    #[test]
    fn cors_rules_are_read_and_matched_in_order() {
        let c = CorsConfiguration::parse(CEPH_CORS).unwrap();
        let r = c.rule_for("http://127.0.0.1:8080", "POST").unwrap();
        assert!(r.exposes("ETag") && r.exposes("etag"));
        assert!(c.rule_for("http://127.0.0.1:8080", "DELETE").is_none());

        let xml = "<CORSConfiguration>\
            <CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>POST</AllowedMethod></CORSRule>\
            <CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>POST</AllowedMethod><AllowedMethod>PUT</AllowedMethod><ExposeHeader>ETag</ExposeHeader></CORSRule>\
            </CORSConfiguration>";
        let c = CorsConfiguration::parse(xml).unwrap();
        // The first rule wins for POST, and it exposes nothing.
        assert!(!c
            .rule_for("https://app.example.com", "POST")
            .unwrap()
            .exposes("ETag"));
        assert!(c
            .rule_for("https://app.example.com", "PUT")
            .unwrap()
            .exposes("ETag"));
        assert!(c.rule_for("http://app.example.com", "POST").is_none());
        assert!(c.rule_for("https://example.com", "POST").is_none());
        assert_eq!(
            CorsConfiguration::parse("<CORSConfiguration/>").unwrap(),
            CorsConfiguration::default()
        );
    }

    #[test]
    fn origin_wildcards() {
        assert!(origin_matches("*", "http://127.0.0.1:8080"));
        assert!(origin_matches(
            "https://*.example.com",
            "https://a.b.example.com"
        ));
        assert!(!origin_matches("https://*.example.com", "https://.com"));
        assert!(!origin_matches(
            "https://app.example.com",
            "https://app.example.com:8443"
        ));
        assert!(origin_matches(
            "http://localhost:*",
            "http://localhost:3000"
        ));
    }

    #[test]
    fn preflight_answers() {
        let o = "http://127.0.0.1:8080";
        assert!(preflight_allows(200, Some(o), Some("GET, POST"), o, "POST"));
        assert!(preflight_allows(200, Some("*"), None, o, "PUT"));
        assert!(!preflight_allows(200, Some(o), Some("GET, POST"), o, "PUT"));
        assert!(!preflight_allows(403, None, None, o, "POST"));
        assert!(!preflight_allows(
            200,
            Some("http://other.test"),
            Some("POST"),
            o,
            "POST"
        ));
    }

    #[test]
    fn lifecycle_rules_are_read() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <Rule><ID>old</ID><Prefix>tmp/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>
            <Rule><ID>off</ID><Filter><Prefix></Prefix></Filter><Status>Disabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
            <Rule><ID>uploads</ID><Filter><And><Prefix>avatars/</Prefix><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
            </LifecycleConfiguration>"#;
        let c = LifecycleConfiguration::parse(xml).unwrap();
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.rules[0].prefix(), "tmp/");
        let r = c.abort_rule_for(&["avatars/".into()]).unwrap();
        assert_eq!(r.id.as_deref(), Some("uploads"));
        assert_eq!(
            r.abort_incomplete_multipart_upload
                .as_ref()
                .unwrap()
                .days_after_initiation,
            Some(3)
        );
        // `documents/` is not under the enabled rule's prefix, and the whole-bucket rule is off.
        assert!(c
            .abort_rule_for(&["avatars/".into(), "documents/".into()])
            .is_none());
    }

    #[test]
    fn the_suggested_lifecycle_reads_back_as_a_whole_bucket_abort_rule() {
        let c = LifecycleConfiguration::parse(&lifecycle_xml()).unwrap();
        let r = c.abort_rule_for(&[String::new(), "a/".into()]).unwrap();
        assert_eq!(r.prefix(), "");
        assert_eq!(
            r.abort_incomplete_multipart_upload
                .as_ref()
                .unwrap()
                .days_after_initiation,
            Some(ABORT_AFTER_DAYS)
        );
    }

    #[test]
    fn the_suggested_cors_rule_reads_back() {
        let xml = format!(
            "<CORSConfiguration>{}</CORSConfiguration>",
            cors_rule_xml("https://up.example.com")
        );
        let c = CorsConfiguration::parse(&xml).unwrap();
        for m in ["POST", "PUT"] {
            assert!(c
                .rule_for("https://up.example.com", m)
                .unwrap()
                .exposes("ETag"));
        }
    }

    #[test]
    fn clock_comparison() {
        let date = http_date("Sat, 14 Mar 2026 15:09:26 GMT").unwrap();
        assert_eq!(date, datetime!(2026-03-14 15:09:26 UTC));
        assert!(http_date("2026-03-14T15:09:26Z").is_none());

        // In step: sent a little before the second S3 stamped, answered a little after.
        let sent = datetime!(2026-03-14 15:09:26.100 UTC);
        let received = datetime!(2026-03-14 15:09:26.700 UTC);
        let skew = clock_skew(sent, received, date);
        assert_eq!(skew, time::Duration::ZERO);
        assert_eq!(clock_verdict(skew), None);

        // 90 s ahead: a warning; 6 minutes behind: a failure.
        let ahead = clock_skew(
            sent + Duration::from_secs(90),
            received + Duration::from_secs(90),
            date,
        );
        assert_eq!(ahead, time::Duration::seconds(90));
        assert_eq!(clock_verdict(ahead), Some(false));
        let behind = clock_skew(
            sent - Duration::from_secs(360),
            received - Duration::from_secs(360),
            date,
        );
        assert_eq!(behind, time::Duration::seconds(-360));
        assert_eq!(clock_verdict(behind), Some(true));
        // The edges: exactly 1 and 5 minutes are still within.
        assert_eq!(clock_verdict(time::Duration::seconds(60)), None);
        assert_eq!(clock_verdict(time::Duration::seconds(-300)), Some(false));
    }

    #[test]
    fn rough_durations() {
        assert_eq!(rough(Duration::from_secs(45)), "45 seconds");
        assert_eq!(rough(Duration::from_secs(3599)), "59 minutes");
        assert_eq!(rough(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(rough(Duration::from_secs(86_400)), "1 day");
        assert_eq!(rough(Duration::from_secs(5400)), "90 minutes");
        assert_eq!(rough(Duration::from_secs(5401)), "90 minutes");
        assert_eq!(rough(Duration::from_secs(119)), "119 seconds");
    }
}
