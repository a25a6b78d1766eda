//! Responses the store writes itself rather than through s3s: the answers to
//! a POST upload (success as [`PostOutcome`], refusal as [`Refusal`]) and the
//! frontend's own errors, all in S3's XML and with S3's codes.

use std::borrow::Cow;

use http::header::{self, HeaderValue};
use http::{Response, StatusCode, Uri};
use percent_encoding::utf8_percent_encode;
use s3s::S3Error;

use crate::wire::{xml_escape_text as xml_escape, PATH as KEY_PATH, QUERY as QUERY_VALUE};

/// What a successful POST stored, and how the form asked to be answered.
#[derive(Clone, Debug)]
pub(crate) struct PostOutcome {
    /// Bucket the object went to.
    pub bucket: String,
    /// Key the object was stored under, `${filename}` already expanded.
    pub key: String,
    /// The object's ETag, with its quotes, as S3 sends it.
    pub etag: String,
    /// `success_action_redirect` (or the legacy `redirect`) form field.
    pub redirect: Option<String>,
    /// `success_action_status` form field.
    pub status: Option<i32>,
}

impl PostOutcome {
    /// Builds the response S3 would send for this upload.
    ///
    /// `host` is the request's `Host` header, used for the object URL in the
    /// `Location` header and the `PostResponse` document.
    pub(crate) fn render<B: From<String>>(&self, host: &str) -> Response<B> {
        if let Some(target) = self.redirect.as_deref().filter(|r| redirect_is_usable(r)) {
            let location = redirect_location(target, &self.bucket, &self.key, &self.etag);
            return match HeaderValue::from_str(&location) {
                Ok(value) => {
                    let mut resp = Response::new(B::from(String::new()));
                    *resp.status_mut() = StatusCode::SEE_OTHER;
                    resp.headers_mut().insert(header::LOCATION, value);
                    resp
                }
                Err(_) => xml_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidArgument",
                    "unusable success_action_redirect",
                ),
            };
        }

        let object_url = format!(
            "http://{host}/{}/{}",
            utf8_percent_encode(&self.bucket, KEY_PATH),
            utf8_percent_encode(&self.key, KEY_PATH)
        );
        let (status, body) = match self.status {
            Some(200) => (StatusCode::OK, String::new()),
            Some(201) => (
                StatusCode::CREATED,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location>\
                     <Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                    xml_escape(&object_url),
                    xml_escape(&self.bucket),
                    xml_escape(&self.key),
                    xml_escape(&self.etag),
                ),
            ),
            _ => (StatusCode::NO_CONTENT, String::new()),
        };
        let is_xml = !body.is_empty();
        let mut resp = Response::new(B::from(body));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        if is_xml {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
        }
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, v);
        }
        if let Ok(v) = HeaderValue::from_str(&object_url) {
            h.insert(header::LOCATION, v);
        }
        resp
    }
}

/// True when `url` is an absolute http(s) URL the store can redirect to.
///
/// Checked before the object is stored: s3s refuses (after storing) any
/// redirect its URL parser rejects, so the store refuses those up front.
pub(crate) fn redirect_is_usable(url: &str) -> bool {
    if url.chars().any(char::is_control) {
        return false;
    }
    let Ok(uri) = url.parse::<Uri>() else {
        return false;
    };
    let scheme_ok = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    let Some(authority) = uri.authority() else {
        return false;
    };
    let port_ok = match authority.as_str().rsplit_once(':') {
        Some((_, port)) if !authority.as_str().ends_with(']') => {
            port.is_empty() || port.parse::<u16>().is_ok()
        }
        _ => true,
    };
    scheme_ok && port_ok && !authority.host().is_empty()
}

/// `target` with `bucket`, `key` and `etag` appended to its query, before any fragment.
fn redirect_location(target: &str, bucket: &str, key: &str, etag: &str) -> String {
    let (base, fragment) = match target.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (target, None),
    };
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    let mut out = format!(
        "{base}{sep}bucket={}&key={}&etag={}",
        utf8_percent_encode(bucket, QUERY_VALUE),
        utf8_percent_encode(key, QUERY_VALUE),
        utf8_percent_encode(etag, QUERY_VALUE),
    );
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Why a request was refused, in S3's words: status, error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// S3's error code, e.g. `AccessDenied`.
    pub code: Cow<'static, str>,
    /// The message for the client (never a secret).
    pub message: String,
}

impl Refusal {
    /// A refusal with any status and code.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 403 `AccessDenied`.
    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    /// S3's answer to a form that breaks its policy: 403 `AccessDenied`.
    pub(crate) fn policy(detail: impl std::fmt::Display) -> Self {
        Self::access_denied(format!("Invalid according to Policy: {detail}"))
    }

    /// The XML error response.
    pub(crate) fn into_response<B: From<String>>(self) -> Response<B> {
        xml_error(self.status, &self.code, &self.message)
    }
}

impl From<S3Error> for Refusal {
    fn from(e: S3Error) -> Self {
        let status = e
            .status_code()
            .or_else(|| e.code().status_code())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = ?e, "embedded S3: storing an upload failed");
            return Self::new(
                status,
                "InternalError",
                "We encountered an internal error. Please try again.",
            );
        }
        Self {
            status,
            code: Cow::Owned(e.code().as_str().to_owned()),
            message: e.message().unwrap_or_default().to_owned(),
        }
    }
}

/// An S3-style XML error response.
pub(crate) fn xml_error<B: From<String>>(
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<B> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message></Error>",
        xml_escape(code),
        xml_escape(message)
    );
    let mut resp = Response::new(B::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(redirect: Option<&str>, status: Option<i32>) -> PostOutcome {
        PostOutcome {
            bucket: "b".into(),
            key: "up/a b&c.txt".into(),
            etag: "\"abc\"".into(),
            redirect: redirect.map(str::to_owned),
            status,
        }
    }

    #[test]
    fn redirect_appends_query() {
        let r: Response<String> = outcome(Some("http://h/done"), None).render("s3");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "http://h/done?bucket=b&key=up%2Fa%20b%26c.txt&etag=%22abc%22"
        );
        let r: Response<String> = outcome(Some("https://h/done?x=1#top"), Some(201)).render("s3");
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://h/done?x=1&bucket=b&key=up%2Fa%20b%26c.txt&etag=%22abc%22#top"
        );
    }

    #[test]
    fn statuses() {
        let r: Response<String> = outcome(None, Some(201)).render("127.0.0.1:9");
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(r.body().contains("<Key>up/a b&amp;c.txt</Key>"));
        assert!(r
            .body()
            .contains("<Location>http://127.0.0.1:9/b/up/a%20b%26c.txt</Location>"));
        let r: Response<String> = outcome(None, Some(200)).render("h");
        assert_eq!(r.status(), StatusCode::OK);
        let r: Response<String> = outcome(None, Some(299)).render("h");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()[header::ETAG], "\"abc\"");
    }

    #[test]
    fn usable_redirects() {
        assert!(redirect_is_usable("http://127.0.0.1:8080/done"));
        assert!(redirect_is_usable("https://example.com"));
        assert!(!redirect_is_usable("/relative"));
        assert!(!redirect_is_usable("javascript:alert(1)"));
        assert!(!redirect_is_usable("http://h:99999/"));
        assert!(!redirect_is_usable("http://h/\r\nSet-Cookie: x"));
    }
}
