//! S3 wire facts, each written once: the date forms SigV4 and POST policies use, the
//! credential scope, the percent-encode sets, S3's limits, the `${filename}` placeholder, XML
//! escaping, and the key and URL checks every face of signpost needs. Everything else in the
//! crate takes these from here, so a fact cannot drift between two copies.

use std::borrow::Cow;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// The SigV4 algorithm name.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service name in an S3 credential scope.
pub const SERVICE: &str = "s3";

/// The longest a POST policy or presigned URL may be valid: 7 days.
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);
/// The largest object a browser POST (or one PUT) may upload: 5 GiB.
pub const MAX_POST_SIZE: u64 = 5 << 30;
/// S3's limit on the size of a POST form's fields before the file: 20 KB.
pub const MAX_FIELDS_BYTES: usize = 20 * 1024;
/// The smallest part of a multipart upload, except the last: 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// The largest part of a multipart upload: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 << 30;
/// The most parts one multipart upload may have.
pub const MAX_PARTS: u32 = 10_000;
/// The largest object S3 stores: 5 TiB.
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;

/// The placeholder S3 replaces with the uploaded file's name in a POST form's `key`.
pub const FILENAME_PLACEHOLDER: &str = "${filename}";

/// Characters kept as they are in an object key in a URI path: unreserved and `/`.
pub const PATH: &AsciiSet = &QUERY.remove(b'/');
/// Characters kept as they are in a query name or value: the unreserved ones only.
pub const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `20260314T150926Z`: `X-Amz-Date`.
pub const AMZ_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
/// `20260314`: the day in a credential scope.
pub const AMZ_DAY: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day]");
/// `2026-03-14T15:09:26Z`: a POST policy's expiration as botocore writes it, and RFC 3339 in
/// UTC for people and JSON.
pub const ISO8601: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// `2026-03-14`: the day of `t` in UTC (the `{date}` of a key template).
pub const ISO_DAY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// `t` in UTC, without fractions of a second: the instant as a signature sees it.
pub fn utc_seconds(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `t` (in UTC) in `form`, which [`fast`] writes with `date_sep` and `time_sep`.
fn format(
    t: OffsetDateTime,
    form: &[BorrowedFormatItem<'_>],
    date_sep: &str,
    time_sep: Option<&str>,
) -> String {
    let t = utc_seconds(t);
    // `format` cannot fail: an OffsetDateTime has every component these forms name, and
    // every year it can hold (±9999) fits them.
    fast(t, date_sep, time_sep).unwrap_or_else(|| t.format(form).unwrap_or_default())
}

/// The forms above, digit by digit. `time`'s formatter takes about 1,500 instructions a
/// call, and a POST signature writes two dates: that made a warm signature 4% slower, over
/// the 3% the signing bench allows. The tests hold this to the format descriptions. `None`
/// for years before 0, which go through `time`.
fn fast(t: OffsetDateTime, date_sep: &str, time_sep: Option<&str>) -> Option<String> {
    fn push2(s: &mut String, v: u8) {
        s.push(char::from(b'0' + v / 10));
        s.push(char::from(b'0' + v % 10));
    }
    let (year, month, day) = t.to_calendar_date();
    let year = u16::try_from(year).ok()?;
    let mut s = String::with_capacity(20);
    push2(&mut s, (year / 100) as u8);
    push2(&mut s, (year % 100) as u8);
    s.push_str(date_sep);
    push2(&mut s, u8::from(month));
    s.push_str(date_sep);
    push2(&mut s, day);
    if let Some(sep) = time_sep {
        let (hour, minute, second) = t.to_hms();
        s.push('T');
        push2(&mut s, hour);
        s.push_str(sep);
        push2(&mut s, minute);
        s.push_str(sep);
        push2(&mut s, second);
        s.push('Z');
    }
    Some(s)
}

/// `20260314T150926Z`, the `X-Amz-Date` of `t`.
pub fn amz_date(t: OffsetDateTime) -> String {
    format(t, AMZ_DATE, "", Some(""))
}

/// `20260314`, the day of `t` in a credential scope.
pub fn amz_day(t: OffsetDateTime) -> String {
    format(t, AMZ_DAY, "", None)
}

/// `2026-03-14`, the day of `t` in UTC.
pub fn iso_day(t: OffsetDateTime) -> String {
    format(t, ISO_DAY, "-", None)
}

/// `2026-03-14T15:09:26Z`: `t` in UTC, whole seconds.
pub fn iso8601(t: OffsetDateTime) -> String {
    format(t, ISO8601, "-", Some(":"))
}

/// Appends [`iso8601`]`(t)` to `s`.
pub fn write_iso8601(s: &mut String, t: OffsetDateTime) {
    s.push_str(&iso8601(t));
}

/// `20260314/us-east-1/s3/aws4_request`: the scope a signature made on `t`'s day in `region`
/// is good for.
pub fn credential_scope(t: OffsetDateTime, region: &str) -> String {
    let day = amz_day(t);
    let mut s = String::with_capacity(day.len() + region.len() + SERVICE.len() + 15);
    for part in [&day, "/", region, "/", SERVICE, "/aws4_request"] {
        s.push_str(part);
    }
    s
}

/// `AKID/20260314/us-east-1/s3/aws4_request`: an `X-Amz-Credential` value.
pub fn credential(access_key_id: &str, t: OffsetDateTime, region: &str) -> String {
    credential_for_day(access_key_id, &amz_day(t), region)
}

/// [`credential`] from a day already written as [`AMZ_DAY`].
pub(crate) fn credential_for_day(access_key_id: &str, day: &str, region: &str) -> String {
    let mut s = String::with_capacity(access_key_id.len() + region.len() + SERVICE.len() + 24);
    for part in [
        access_key_id,
        "/",
        day,
        "/",
        region,
        "/",
        SERVICE,
        "/aws4_request",
    ] {
        s.push_str(part);
    }
    s
}

/// `s` escaped for XML text or an attribute value: `&`, `<`, `>`, `"` and `'`.
pub fn xml_escape(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// `s` escaped for XML text content only: `&`, `<` and `>` (quotes stay, as S3 writes ETags).
pub fn xml_escape_text(s: &str) -> Cow<'_, str> {
    quick_xml::escape::partial_escape(s)
}

/// True when `key` has a `.` or `..` segment between slashes, which S3 keeps as written but
/// file systems, browsers and URL normalizers resolve.
pub fn has_dot_segment(key: &str) -> bool {
    key.split('/').any(|seg| seg == "." || seg == "..")
}

/// The origin of `url`, as a browser writes it: `scheme://host[:port]`, in lower case, without
/// a user, a path or the scheme's default port. `None` when `url` is not an absolute http(s)
/// URL.
pub fn origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    Some(match uri.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::utf8_percent_encode;
    use time::macros::datetime;

    #[test]
    fn dates_in_their_wire_forms() {
        let t = datetime!(2026-03-14 15:09:26.75 UTC);
        assert_eq!(amz_date(t), "20260314T150926Z");
        assert_eq!(amz_day(t), "20260314");
        assert_eq!(iso8601(t), "2026-03-14T15:09:26Z");
        // Another offset is the same instant, written in UTC.
        let local = datetime!(2026-03-15 01:09:26 +10);
        assert_eq!(iso8601(local), "2026-03-14T15:09:26Z");
        assert_eq!(amz_date(local), "20260314T150926Z");
        assert_eq!(iso_day(local), "2026-03-14");
        assert_eq!(
            iso8601(datetime!(0999-01-02 03:04:05 UTC)),
            "0999-01-02T03:04:05Z"
        );
        assert_eq!(
            credential("AKID", t, "eu-west-1"),
            "AKID/20260314/eu-west-1/s3/aws4_request"
        );
        assert_eq!(
            credential_scope(t, "eu-west-1"),
            "20260314/eu-west-1/s3/aws4_request"
        );
    }

    #[test]
    fn the_fast_path_writes_what_the_format_descriptions_say() {
        let step = time::Duration::seconds(86_400 * 97 + 3_607 * 5 + 13);
        let mut next = Some(datetime!(0000-01-01 00:00:00 UTC));
        let mut n = 0;
        while let Some(t) = next {
            assert_eq!(amz_date(t), t.format(AMZ_DATE).unwrap());
            assert_eq!(amz_day(t), t.format(AMZ_DAY).unwrap());
            assert_eq!(iso8601(t), t.format(ISO8601).unwrap());
            next = t.checked_add(step);
            n += 1;
        }
        assert!(n > 30_000, "{n}");
        // Years before 0 go through `time` itself.
        let bc = datetime!(-0005-06-07 08:09:10 UTC);
        assert_eq!(iso8601(bc), "-0005-06-07T08:09:10Z");
    }

    #[test]
    fn encode_sets_keep_only_unreserved_and_slash_in_paths() {
        let raw = "a b/c+d~e_f.g-h?&=%é";
        assert_eq!(
            utf8_percent_encode(raw, PATH).to_string(),
            "a%20b/c%2Bd~e_f.g-h%3F%26%3D%25%C3%A9"
        );
        assert_eq!(
            utf8_percent_encode(raw, QUERY).to_string(),
            "a%20b%2Fc%2Bd~e_f.g-h%3F%26%3D%25%C3%A9"
        );
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(xml_escape(r#"a&b<c>"d'"#), "a&amp;b&lt;c&gt;&quot;d&apos;");
        assert_eq!(xml_escape_text(r#""etag"&<>"#), "\"etag\"&amp;&lt;&gt;");
        assert!(matches!(xml_escape("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn dot_segments() {
        for key in [".", "..", "a/./b", "a/../b", "../a", "a/..", "./"] {
            assert!(has_dot_segment(key), "{key}");
        }
        for key in ["a", "a.b/c", "..a/b", "a/b..", ".hidden/x", "a//b", "..."] {
            assert!(!has_dot_segment(key), "{key}");
        }
    }

    #[test]
    fn origins() {
        let cases = [
            (
                "http://127.0.0.1:9000/bucket?x=1",
                Some("http://127.0.0.1:9000"),
            ),
            (
                "HTTPS://Uploads.Example.COM/",
                Some("https://uploads.example.com"),
            ),
            ("https://example.com:443/a", Some("https://example.com")),
            ("http://example.com:8443", Some("http://example.com:8443")),
            ("https://user:pw@example.com/x", Some("https://example.com")),
            ("http://[::1]:8080/", Some("http://[::1]:8080")),
            ("ftp://example.com/", None),
            ("/relative/path", None),
            ("not a url", None),
        ];
        for (url, want) in cases {
            assert_eq!(origin(url).as_deref(), want, "{url}");
        }
    }
}
