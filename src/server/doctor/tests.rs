//! The verdicts of `signpost doctor` from given answers (the real calls are in
//! `tests/doctor_ceph.rs`).

use super::parse::cors_rule_xml;
use super::*;
use std::path::Path;
use time::macros::datetime;

const STATIC: Hints = Hints {
    id: "s3.access_key_id",
    secret: "s3.secret_access_key",
};

fn head(status: u16, code: Option<&'static str>, bucket_region: Option<&'static str>) -> Finding {
    judge_head(&HeadAnswer {
        bucket: "uploads",
        users: "profile `avatar`",
        status,
        code,
        bucket_region,
        region: "us-east-1",
        access_key: "AKIAEXAMPLE",
        hints: &STATIC,
    })
}

#[test]
fn head_bucket_answers_in_words() {
    let ok = head(200, None, None);
    assert_eq!(ok.level, Level::Ok);
    assert!(ok.text.contains("AKIAEXAMPLE"), "{}", ok.text);

    let f = head(403, Some("SignatureDoesNotMatch"), None);
    assert_eq!(f.level, Level::Fail);
    assert!(
        f.text.contains("the credentials were refused"),
        "{}",
        f.text
    );
    assert!(f.text.contains("s3.secret_access_key"), "{}", f.text);

    let f = head(403, Some("InvalidAccessKeyId"), None);
    assert!(f.text.contains("s3.access_key_id"), "{}", f.text);

    let f = head(403, None, None);
    assert!(
        f.text.contains("the credentials were refused (403)"),
        "{}",
        f.text
    );
    assert!(
        f.text
            .contains("check s3.access_key_id and s3.secret_access_key"),
        "{}",
        f.text
    );

    let f = head(403, Some("AccessDenied"), None);
    assert!(f.text.contains("s3:ListBucket"), "{}", f.text);

    // AWS names the bucket's region in a header on a wrong-region HEAD.
    let f = head(301, None, Some("eu-west-1"));
    assert_eq!(f.level, Level::Fail);
    assert!(f.text.contains("region eu-west-1"), "{}", f.text);
    assert!(f.text.contains("region = \"eu-west-1\""), "{}", f.text);
    let f = head(400, Some("AuthorizationQueryParametersError"), None);
    assert!(f.text.contains("region mismatch"), "{}", f.text);
    // The same region in another case is no mismatch.
    assert_eq!(head(200, None, Some("US-EAST-1")).level, Level::Ok);

    let f = head(404, None, None);
    assert!(
        f.text.contains("does not exist") && f.text.contains("profile `avatar`"),
        "{}",
        f.text
    );
    let f = head(403, Some("RequestTimeTooSkewed"), None);
    assert!(f.text.contains("clock"), "{}", f.text);
    let f = head(500, None, None);
    assert!(f.text.contains("answered 500"), "{}", f.text);
}

#[test]
fn cors_verdicts_name_the_missing_rule() {
    let o = "https://up.example.com";
    let all = parse::CorsConfiguration::parse(&format!(
        "<CORSConfiguration>{}</CORSConfiguration>",
        cors_rule_xml(o)
    ))
    .unwrap();

    let f = judge_cors("b", o, &["POST", "PUT"], &[], Ok(&all));
    assert_eq!(f.level, Level::Ok, "{}", f.text);

    let f = judge_cors("b", o, &[], &["POST", "PUT"], Err("GET ?cors answered 404"));
    assert_eq!(f.level, Level::Fail);
    assert!(
        f.text
            .contains("no CORS rule allows POST or PUT from https://up.example.com"),
        "{}",
        f.text
    );
    assert!(
        f.text
            .contains("AllowedOrigin https://up.example.com, AllowedMethod POST"),
        "{}",
        f.text
    );
    assert!(f.text.contains("ExposeHeader ETag"), "{}", f.text);
    assert_eq!(f.paste.as_deref(), Some(cors_rule_xml(o).as_str()));

    let f = judge_cors("b", o, &["POST"], &["PUT"], Ok(&all));
    assert_eq!(f.level, Level::Warn);
    assert!(
        f.text
            .contains("POST from https://up.example.com is allowed, but no CORS rule allows PUT"),
        "{}",
        f.text
    );

    let no_etag = parse::CorsConfiguration::parse(
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>POST</AllowedMethod><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>",
    )
    .unwrap();
    let f = judge_cors("b", o, &["POST", "PUT"], &[], Ok(&no_etag));
    assert_eq!(f.level, Level::Warn);
    assert!(f.text.contains("does not expose ETag"), "{}", f.text);

    let f = judge_cors(
        "b",
        o,
        &["POST", "PUT"],
        &[],
        Err("GET ?cors answered 403 AccessDenied"),
    );
    assert_eq!(f.level, Level::Warn);
    assert!(
        f.text
            .contains("could not be read (GET ?cors answered 403 AccessDenied)"),
        "{}",
        f.text
    );
}

#[test]
fn clock_lines() {
    assert_eq!(clock_line(time::Duration::seconds(2)).level, Level::Ok);
    let f = clock_line(time::Duration::seconds(-150));
    assert_eq!(f.level, Level::Warn);
    assert!(f.text.contains("2 minutes behind S3's"), "{}", f.text);
    let f = clock_line(time::Duration::seconds(600));
    assert_eq!(f.level, Level::Fail);
    assert!(f.text.contains("10 minutes ahead of S3's"), "{}", f.text);
}

const NOW: OffsetDateTime = datetime!(2026-03-14 15:00:00 UTC);

#[test]
fn temporary_credentials_against_the_longest_lifetime() {
    let week = Lifetime {
        longest: Duration::from_secs(7 * 86_400),
        what: "access rule `shared` max_expires".into(),
    };
    assert_eq!(credential_life(None, false, NOW, &week).level, Level::Ok);
    let f = credential_life(None, true, NOW, &week);
    assert_eq!(f.level, Level::Warn);
    assert!(f.text.contains("session token but no expiry"), "{}", f.text);
    let f = credential_life(Some(NOW + Duration::from_secs(3600)), true, NOW, &week);
    assert_eq!(f.level, Level::Warn);
    assert!(f.text.contains("expire in 1 hour, before the longest lifetime (7 days, access rule `shared` max_expires)"), "{}", f.text);
    assert!(f.text.contains("shortened"), "{}", f.text);
    let f = credential_life(
        Some(NOW + Duration::from_secs(8 * 86_400)),
        true,
        NOW,
        &week,
    );
    assert_eq!(f.level, Level::Ok);
    let f = credential_life(Some(NOW - Duration::from_secs(1)), true, NOW, &week);
    assert_eq!(f.level, Level::Fail);
}

#[test]
fn state_secret_off_loopback() {
    assert_eq!(
        state_secret("https://up.example.com", true).level,
        Level::Ok
    );
    let f = state_secret("https://up.example.com", false);
    assert_eq!(f.level, Level::Fail);
    assert!(f.text.contains("SIGNPOST_STATE_SECRET"), "{}", f.text);
    for url in [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
        "http://127.0.1.1",
    ] {
        assert_eq!(state_secret(url, false).level, Level::Ok, "{url}");
    }
    assert_eq!(
        state_secret("http://0.0.0.0:8080", false).level,
        Level::Fail
    );
    assert_eq!(
        state_secret("http://10.0.0.5:8080", false).level,
        Level::Fail
    );
}

#[test]
fn buckets_and_lifetimes_come_from_profiles_and_rules() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("signpost.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = Config::parse(&text, Path::new("."), &|_| None).unwrap();
    let b = buckets(&config);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].name, "uploads");
    assert_eq!(b[0].profiles, ["avatar", "document"]);
    assert_eq!(b[0].key_prefixes, ["avatars/", "documents/"]);
    assert_eq!(b[0].rules, ["shared"]);
    assert!(!b[0].rule_put);
    let l = longest_lifetime(&config);
    assert_eq!(l.longest, Duration::from_secs(7 * 86_400));
    assert_eq!(l.what, "access rule `shared` max_expires");
}

#[test]
fn lines_read_as_documented() {
    let f = Finding::new(Level::Warn, "lifecycle", "bucket b: none").paste("<X/>".into());
    assert_eq!(
        f.to_string(),
        "warn  lifecycle    bucket b: none\n        <X/>"
    );
    let mut out = Vec::new();
    let mut r = Report::new(Some(&mut out));
    r.push(Finding::new(Level::Ok, "clock", "fine"));
    assert!(!r.failed());
    assert_eq!(r.summary(), "1 ok, 0 warn, 0 fail: ready");
    r.push(Finding::new(Level::Fail, "cors", "bad"));
    assert!(r.failed());
    drop(r);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "ok    clock        fine\nfail  cors         bad\n"
    );
}
