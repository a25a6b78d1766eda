//! What each check concludes from what S3 answered, in words with the fix: no I/O here,
//! so every verdict is unit-tested (in `doctor/tests.rs`).

use super::parse::{clock_verdict, cors_rule_xml, rough, CorsConfiguration};
use super::{Config, Finding, Hints, Level};
use std::time::Duration;
use time::OffsetDateTime;

/// What HeadBucket (and, on a refusal, ListObjectsV2) answered.
pub(super) struct HeadAnswer<'a> {
    pub(super) bucket: &'a str,
    pub(super) users: &'a str,
    pub(super) status: u16,
    /// S3's error code from the follow-up listing.
    pub(super) code: Option<&'a str>,
    /// `x-amz-bucket-region`, or `<Region>` in the error.
    pub(super) bucket_region: Option<&'a str>,
    pub(super) region: &'a str,
    pub(super) access_key: &'a str,
    pub(super) hints: &'a Hints,
}

pub(super) fn judge_head(a: &HeadAnswer<'_>) -> Finding {
    let (b, region, key) = (a.bucket, a.region, a.access_key);
    let fail =
        |text: String| Finding::new(Level::Fail, "credentials", format!("bucket {b}: {text}"));
    if (200..300).contains(&a.status) {
        return Finding::new(
            Level::Ok,
            "credentials",
            format!(
                "bucket {b}: HeadBucket answered {} for access key {key} in region {region}",
                a.status
            ),
        );
    }
    if let Some(r) = a.bucket_region.filter(|r| !r.eq_ignore_ascii_case(region)) {
        return fail(format!(
            "the bucket is in region {r}, but the config signs for {region} (S3 answered {}); set region = \"{r}\" in [s3] (or SIGNPOST_S3_REGION)",
            a.status
        ));
    }
    let code = a.code.unwrap_or("");
    match (a.status, code) {
        (301 | 307, _) | (400, "AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError" | "PermanentRedirect") => fail(format!(
            "region mismatch: S3 answered {} {code} for region {region}; set s3.region to the bucket's region (the AWS console shows it)",
            a.status
        )),
        (404, _) | (_, "NoSuchBucket") => fail(format!(
            "the bucket does not exist (404); create it, or fix `bucket` in {}", a.users
        )),
        (_, "SignatureDoesNotMatch") => fail(format!(
            "the credentials were refused: the secret does not match access key {key} (SignatureDoesNotMatch); check {}", a.hints.secret
        )),
        (_, "InvalidAccessKeyId") => fail(format!(
            "the credentials were refused: S3 knows no access key {key} (InvalidAccessKeyId); check {}", a.hints.id
        )),
        (_, "RequestTimeTooSkewed") => fail(
            "S3 refused the request because this machine's clock is too far from its own (RequestTimeTooSkewed); sync the clock (chrony, `timedatectl set-ntp true`)".into()
        ),
        (_, "ExpiredToken" | "TokenRefreshRequired" | "InvalidToken") => fail(format!(
            "the credentials were refused: the session token is expired or invalid ({code}); renew the temporary credentials"
        )),
        (_, "AccessDenied" | "AllAccessDisabled") => fail(format!(
            "access key {key} is valid but may not read this bucket ({code} on HeadBucket and ListObjectsV2); grant it s3:ListBucket on the bucket, and s3:PutObject, s3:GetObject and s3:DeleteObject on its objects"
        )),
        (403, _) => fail(format!(
            "the credentials were refused (403{}): check {} and {}",
            if code.is_empty() { String::new() } else { format!(" {code}") }, a.hints.id, a.hints.secret
        )),
        (s, _) => fail(format!(
            "HeadBucket answered {s}{}; check that s3.endpoint is the store's S3 API",
            if code.is_empty() { String::new() } else { format!(" {code}") }
        )),
    }
}

pub(super) fn judge_cors(
    bucket: &str,
    origin: &str,
    allowed: &[&str],
    refused: &[&str],
    rules: Result<&CorsConfiguration, &str>,
) -> Finding {
    let xml = cors_rule_xml(origin);
    let pre = format!("bucket {bucket}:");
    if refused.contains(&"POST") {
        let what = refused.join(" or ");
        return Finding::new(Level::Fail, "cors", format!(
            "{pre} no CORS rule allows {what} from {origin} (the preflight was refused), so browsers cannot upload; add AllowedOrigin {origin}, AllowedMethod POST, AllowedMethod PUT, ExposeHeader ETag to the bucket's CORS configuration, e.g. this rule:"
        )).paste(xml);
    }
    if refused.contains(&"PUT") {
        return Finding::new(Level::Warn, "cors", format!(
            "{pre} {}no CORS rule allows PUT from {origin}, so multipart and PUT uploads from the browser will be refused; add AllowedMethod PUT (with AllowedHeader * and ExposeHeader ETag) for {origin}, e.g. this rule:",
            if allowed.is_empty() { String::new() } else { format!("{} from {origin} is allowed, but ", allowed.join(" and ")) }
        )).paste(xml);
    }
    let methods = allowed.join(" and ");
    match rules {
        Ok(c) => {
            let missing: Vec<&str> = allowed
                .iter()
                .copied()
                .filter(|m| !c.rule_for(origin, m).is_some_and(|r| r.exposes("ETag")))
                .collect();
            if missing.is_empty() {
                Finding::new(Level::Ok, "cors", format!("{pre} {methods} from {origin} allowed (preflight), ETag exposed"))
            } else {
                Finding::new(Level::Warn, "cors", format!(
                    "{pre} {methods} from {origin} allowed, but the rule for {} does not expose ETag, so the browser cannot read part ETags to finish a multipart upload; add ExposeHeader ETag to it",
                    missing.join(" and ")
                ))
            }
        }
        Err(e) => Finding::new(Level::Warn, "cors", format!(
            "{pre} {methods} from {origin} allowed (preflight), but the CORS rules could not be read ({e}), so ETag exposure is unchecked; grant s3:GetBucketCORS, or check by hand that ExposeHeader ETag is there"
        )),
    }
}

pub(super) fn clock_line(skew: time::Duration) -> Finding {
    let off = rough(skew.unsigned_abs());
    let way = if skew.is_positive() {
        "ahead of"
    } else {
        "behind"
    };
    let fix = "sync it (chrony or systemd-timesyncd: `timedatectl set-ntp true`)";
    match clock_verdict(skew) {
        None => Finding::new(Level::Ok, "clock", format!(
            "within a minute of S3's Date header ({})",
            match skew.whole_seconds() {
                0 => "the same second".to_string(),
                s if s < 0 => format!("{} s behind", -s),
                s => format!("{s} s ahead"),
            }
        )),
        Some(false) => Finding::new(Level::Warn, "clock", format!(
            "this machine's clock is {off} {way} S3's; forms and links are signed with it, so they start or end early; {fix}"
        )),
        Some(true) => Finding::new(Level::Fail, "clock", format!(
            "this machine's clock is {off} {way} S3's; S3 refuses signatures more than 15 minutes off and forms expire early or late; {fix}"
        )),
    }
}

/// The longest lifetime the server hands out, and what sets it.
pub(super) struct Lifetime {
    pub(super) longest: Duration,
    pub(super) what: String,
}

pub(super) fn longest_lifetime(config: &Config) -> Lifetime {
    let mut best = Lifetime {
        longest: config.server.download_expires,
        what: "server.download_expires".into(),
    };
    let mut consider = |d: Duration, what: String| {
        if d > best.longest {
            best = Lifetime { longest: d, what };
        }
    };
    for p in &config.profiles {
        consider(p.expires, format!("profile `{}` expires", p.name));
    }
    for r in &config.access {
        consider(
            r.max_expires,
            format!("access rule `{}` max_expires", r.name),
        );
    }
    best
}

pub(super) fn credential_life(
    expires_at: Option<OffsetDateTime>,
    session_token: bool,
    now: OffsetDateTime,
    l: &Lifetime,
) -> Finding {
    if expires_at.is_none() && session_token {
        return Finding::new(Level::Warn, "lifetimes", format!(
            "the credentials carry a session token but no expiry, so forms and links (up to {}, {}) may outlive them; use the aws-chain source, which knows when they end, or long-lived keys", rough(l.longest), l.what
        ));
    }
    let Some(end) = expires_at else {
        return Finding::new(Level::Ok, "lifetimes", format!(
            "the credentials do not expire, so forms and links get their full lifetimes (up to {}, {})", rough(l.longest), l.what
        ));
    };
    let left = end - now;
    if !left.is_positive() {
        return Finding::new(Level::Fail, "lifetimes", "the temporary credentials have expired; renew them (aws sso login, or the role's source)");
    }
    let left = left.unsigned_abs();
    if left < l.longest {
        Finding::new(Level::Warn, "lifetimes", format!(
            "the temporary credentials expire in {}, before the longest lifetime ({}, {}); forms and links will be shortened to end with them; use longer-lived credentials (a longer role session) or a shorter lifetime",
            rough(left), rough(l.longest), l.what
        ))
    } else {
        Finding::new(
            Level::Ok,
            "lifetimes",
            format!(
                "the temporary credentials last {} more, longer than the longest lifetime ({}, {})",
                rough(left),
                rough(l.longest),
                l.what
            ),
        )
    }
}

/// Whether `url`'s host is this machine: `localhost` or a loopback address.
pub(super) fn is_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn state_secret(public_url: &str, set: bool) -> Finding {
    match (set, is_loopback(public_url)) {
        (true, _) => Finding::new(Level::Ok, "state_secret", "set, so confirmation links survive restarts and work on every replica"),
        (false, true) => Finding::new(Level::Ok, "state_secret", format!(
            "not set, fine while public_url ({public_url}) is loopback; set it (`openssl rand -hex 32`) before serving others"
        )),
        (false, false) => Finding::new(Level::Fail, "state_secret", format!(
            "not set while public_url is {public_url}: a random key is made at each start, so upload confirmation links die on restart and differ between replicas; set server.state_secret (or SIGNPOST_STATE_SECRET) to `openssl rand -hex 32`"
        )),
    }
}
