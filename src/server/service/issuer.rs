//! The issuer: presigned GET, HEAD, PUT and DELETE URLs for objects, allowed by the access
//! rules, with a lifetime the caller picks and never past the signing credentials. Every
//! issued URL is written to the audit log (caller, method, bucket, key, expiry; never the
//! signature or a credential).

use super::lifetime::{self, Cap, Wanted};
use super::Result;
use crate::server::access::{self, AccessRule, Denied, Verb};
use crate::server::auth::Caller;
use crate::server::content_type::{self, Serving};
use crate::server::error::ServiceError;
use crate::server::state::AppState;
use crate::units::format_size;
use crate::{Method, UrlRequest};
use time::OffsetDateTime;

/// What a caller asks to have presigned.
#[derive(Debug, Clone)]
pub struct PresignRequest<'a> {
    /// GET, HEAD, PUT or DELETE.
    pub verb: Verb,
    /// The bucket; when absent, the bucket of the first area the key lies in.
    pub bucket: Option<&'a str>,
    /// The key.
    pub key: &'a str,
    /// The lifetime asked for.
    pub wanted: Wanted,
    /// PUT: the Content-Type the upload will have (signed).
    pub content_type: Option<&'a str>,
    /// PUT: the size in bytes (signed as Content-Length).
    pub size: Option<u64>,
    /// GET: makes S3 answer with this Content-Disposition.
    pub response_content_disposition: Option<&'a str>,
    /// GET: makes S3 answer with this Content-Type.
    pub response_content_type: Option<&'a str>,
}

/// A presigned URL and what the client must know to use it.
#[derive(Debug, Clone)]
pub struct Presigned {
    /// GET, HEAD, PUT or DELETE.
    pub method: &'static str,
    /// The URL.
    pub url: String,
    /// Headers the client must send with exactly these values.
    pub headers: Vec<(&'static str, String)>,
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// When the URL stops working.
    pub expires_at: OffsetDateTime,
    /// What shortened the lifetime, when something did.
    pub capped_by: Option<Cap>,
}

/// A refusal (403), saying which check failed.
pub fn refused(d: Denied) -> ServiceError {
    ServiceError::Forbidden(d.to_string())
}

/// The bucket a request is about: the one given, or the first area's the key lies in.
fn bucket_for<'a>(
    state: &'a AppState,
    caller: &Caller,
    given: Option<&'a str>,
    key: &str,
) -> Result<&'a str> {
    if let Some(b) = given.filter(|b| !b.is_empty()) {
        return Ok(b);
    }
    state
        .rules
        .iter()
        .find(|r| key.starts_with(&r.prefix_for(&caller.user)))
        .map(|r| r.bucket.as_str())
        .ok_or_else(|| refused(Denied::OutsideAreas))
}

/// Checks a PUT against its rule before anything is signed.
fn check_put(rule: &AccessRule, req: &PresignRequest<'_>) -> Result<()> {
    let limits = &rule.put;
    if let Some(max) = limits.max_size {
        let size = req.size.ok_or_else(|| {
            ServiceError::BadRequest(format!(
                "give the file's size in bytes (`size`): uploads here may be at most {}",
                format_size(max)
            ))
        })?;
        if size > max {
            return Err(ServiceError::BadRequest(format!(
                "the file is {}, larger than the {} allowed here",
                format_size(size),
                format_size(max)
            )));
        }
    }
    let typed = !limits.content_types.is_empty();
    let Some(t) = req.content_type else {
        return match typed {
            true => Err(ServiceError::BadRequest(
                "give the file's type (`content_type`, e.g. image/jpeg): this area accepts only some types".into(),
            )),
            false => Ok(()),
        };
    };
    let t = content_type::parse_exact(t).map_err(ServiceError::BadRequest)?;
    if typed && !limits.content_types.contains(&t) {
        return Err(ServiceError::BadRequest(format!(
            "files of type `{t}` are not accepted here; allowed: {}",
            limits.content_types.join(", ")
        )));
    }
    Ok(())
}

/// How a GET link serves its object: the type asked for (or told by the key's extension) is
/// shown with that type forced when it is safe to show, anything else is a download. A
/// caller's `attachment…` disposition is kept; an inline one cannot show an unsafe type.
fn get_serving(req: &PresignRequest<'_>) -> Result<Serving> {
    let asked = req
        .response_content_type
        .map(content_type::parse_exact)
        .transpose()
        .map_err(|e| ServiceError::BadRequest(format!("response_content_type: {e}")))?;
    let disposition = req.response_content_disposition.map(str::trim);
    if disposition.is_some_and(|d| d.chars().any(char::is_control)) {
        return Err(ServiceError::BadRequest(
            "response_content_disposition has a line break or control character; send one header value, e.g. attachment; filename=\"report.pdf\"".into(),
        ));
    }
    let download = disposition.is_some_and(|d| d.to_ascii_lowercase().starts_with("attachment"));
    let t = asked
        .as_deref()
        .or_else(|| content_type::by_extension(req.key));
    let mut serving = content_type::serving(req.key, t, download);
    if let (true, Some(d)) = (download, disposition) {
        serving.disposition = Some(d.to_string());
    }
    Ok(serving)
}

/// Presigns one request for `caller`, if a rule allows it.
pub fn presign(state: &AppState, caller: &Caller, req: &PresignRequest<'_>) -> Result<Presigned> {
    let method = match req.verb {
        Verb::Get => Method::Get,
        Verb::Head => Method::Head,
        Verb::Put => Method::Put,
        Verb::Delete => Method::Delete,
        Verb::List => {
            return Err(ServiceError::BadRequest(
                "method must be GET, HEAD, PUT or DELETE; to list, use /api/v1/objects".into(),
            ))
        }
    };
    let bucket = bucket_for(state, caller, req.bucket, req.key)?;
    let rule = access::decide(&state.rules, caller, req.verb, bucket, req.key).map_err(refused)?;
    let content_type = req.content_type.map(|t| t.trim().to_ascii_lowercase());
    let req = PresignRequest {
        content_type: content_type.as_deref(),
        ..req.clone()
    };
    if req.verb == Verb::Put {
        check_put(rule, &req)?;
    }
    let now = state.now();
    let credentials_expire_at = lifetime::check_credentials(state, now)?;
    let life = lifetime::decide(
        now,
        req.wanted,
        rule.expires,
        rule.max_expires,
        credentials_expire_at,
    )?;

    let mut url_req = UrlRequest::new(method, bucket, req.key, life.expires_in);
    let size_text = req.size.map(|s| s.to_string());
    let mut headers: Vec<(&'static str, String)> = Vec::new();
    if req.verb == Verb::Put {
        if let Some(t) = req.content_type {
            url_req.headers.push(("content-type", t));
            headers.push(("Content-Type", t.to_string()));
        }
        if let Some(s) = &size_text {
            url_req.headers.push(("content-length", s));
            headers.push(("Content-Length", s.clone()));
        }
    }
    let serving = match req.verb {
        Verb::Get => Some(get_serving(&req)?),
        _ => None,
    };
    if let Some(s) = &serving {
        if let Some(d) = &s.disposition {
            url_req.query.push(("response-content-disposition", d));
        }
        url_req
            .query
            .push(("response-content-type", s.content_type));
    }
    let url = state
        .signer
        .presign(&url_req, now)
        .map_err(ServiceError::internal)?;
    tracing::info!(
        target: "signpost::audit",
        user = %caller.user,
        method = method.as_str(),
        bucket,
        key = req.key,
        expires_at = %super::rfc3339(life.expires_at),
        rule = %rule.name,
        "presigned URL issued"
    );
    Ok(Presigned {
        method: method.as_str(),
        url,
        headers,
        bucket: bucket.to_string(),
        key: req.key.to_string(),
        expires_at: life.expires_at,
        capped_by: life.capped_by,
    })
}
