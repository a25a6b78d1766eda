//! Uppy's S3 modes over the upload profiles, without HTTP: which profile a file goes to (its
//! Uppy metadata, else `[server] companion_profile`), a POST form for Companion's
//! `/s3/params`, and a presigned PUT for a profile upload (PUT mode). The multipart mode is in
//! [`super::multipart`].
//!
//! The key always comes from the profile's template; the client names only the file.

use super::{forms, lifetime, Result};
use crate::server::auth::Caller;
use crate::server::error::ServiceError;
use crate::server::profile::{KeyVars, Profile};
use crate::server::state::AppState;
use crate::units::format_size;
use crate::{Method, UrlRequest};

/// The profile a file goes to: the one its metadata names, else the configured default.
/// Checked against the caller's roles.
pub fn choose_profile<'a>(
    state: &'a AppState,
    caller: &Caller,
    named: Option<&str>,
) -> Result<&'a Profile> {
    let name = named
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .or(state.config.server.companion_profile.as_deref())
        .ok_or_else(|| {
            ServiceError::BadRequest(
                "say which upload profile this file is for: add `profile` to the file's Uppy \
                 metadata (meta: { profile: \"avatar\" }), or set `[server] companion_profile` \
                 in signpost's config"
                    .into(),
            )
        })?;
    forms::authorize(state, caller, name)
}

/// A size from Uppy's metadata: a number, or digits as text (query strings carry text).
pub fn parse_size(field: &str, v: Option<&serde_json::Value>) -> Result<Option<u64>> {
    let bad = || {
        ServiceError::BadRequest(format!(
            "metadata `{field}` must be the file's size in bytes, a whole number"
        ))
    };
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_u64().map(Some).ok_or_else(bad),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// A MIME type as the client sent it: one exact type, trimmed and in lower case.
pub fn clean_type(t: &str) -> Result<String> {
    crate::server::content_type::parse_exact(t).map_err(ServiceError::BadRequest)
}

/// Checks a file's name and type against the profile, and its size when known.
pub fn check_file(
    profile: &Profile,
    filename: &str,
    content_type: &str,
    size: Option<u64>,
) -> Result<()> {
    if filename.trim().is_empty() {
        return Err(ServiceError::BadRequest(
            "filename is empty; send the file's name".into(),
        ));
    }
    match size {
        Some(s) => profile.check_declared(s, content_type),
        None if profile.allows_type(content_type) => Ok(()),
        // The size check passes for min_size; only the type can fail here.
        None => profile.check_declared(profile.min_size, content_type),
    }
    .map_err(|m| ServiceError::BadRequest(m.0))
}

/// A fresh key for `filename` from the profile's template.
pub fn fresh_key(state: &AppState, caller: &Caller, profile: &Profile, filename: &str) -> String {
    let uuid = uuid::Uuid::new_v4().to_string();
    let date = crate::wire::iso_day(state.now());
    let vars = KeyVars {
        user: &caller.user,
        uuid: &uuid,
        date: &date,
    };
    profile.render_key(&vars, Some(filename))
}

/// A file for a single upload (a POST form or a PUT URL).
#[derive(Debug, Clone, Copy)]
pub struct SingleFile<'a> {
    /// The file's name.
    pub filename: &'a str,
    /// Its type, as sent.
    pub content_type: &'a str,
    /// Its size, when known.
    pub size: Option<u64>,
}

fn check_single(profile: &Profile, f: &SingleFile<'_>, content_type: &str) -> Result<()> {
    check_file(profile, f.filename, content_type, f.size)?;
    match f.size {
        Some(s) if s > profile.max_single_size() => Err(ServiceError::BadRequest(format!(
            "the file is {}, more than the {} one request can carry; upload it in parts \
             (Uppy: shouldUseMultipart, or POST /s3/multipart)",
            format_size(s),
            format_size(profile.max_single_size())
        ))),
        _ => Ok(()),
    }
}

/// A POST form for Companion's `/s3/params`: the key from the template, the exact type, the
/// profile's size range enforced by S3 (the protocol carries no size, so a form is the only
/// way S3 can enforce one).
pub fn params(
    state: &AppState,
    caller: &Caller,
    profile: &Profile,
    f: &SingleFile<'_>,
) -> Result<forms::Issued> {
    let content_type = clean_type(f.content_type)?;
    check_single(profile, f, &content_type)?;
    let file = forms::Declared {
        filename: f.filename,
        content_type: &content_type,
        size: f.size.unwrap_or(profile.min_size),
    };
    forms::issue(state, caller, profile, Some(&file))
}

/// A presigned PUT URL for one profile upload, and what the client must send with it.
#[derive(Debug, Clone)]
pub struct PutUpload {
    /// The URL.
    pub url: String,
    /// Headers to send with exactly these values (Content-Length, also signed, is the body's).
    pub headers: Vec<(String, String)>,
    /// The bucket.
    pub bucket: String,
    /// The key, from the profile's template.
    pub key: String,
    /// When the URL stops working.
    pub expires_at: time::OffsetDateTime,
    /// What shortened the lifetime, when something did.
    pub capped_by: Option<lifetime::Cap>,
    /// Open (GET) after the PUT, `?key=` included: checks the upload's real type and removes
    /// it if it lied.
    pub uploaded_url: String,
}

/// A presigned PUT for a profile upload: a new key from the template, the type and size
/// checked against the profile, and Content-Type, Content-Length and the profile's metadata
/// and storage settings signed, so S3 refuses any other type or size.
pub fn put_url(
    state: &AppState,
    caller: &Caller,
    profile: &Profile,
    f: &SingleFile<'_>,
) -> Result<PutUpload> {
    let content_type = clean_type(f.content_type)?;
    let size = f.size.ok_or_else(|| {
        ServiceError::BadRequest(
            "give the file's size in bytes (`size`): a PUT URL signs its exact length".into(),
        )
    })?;
    check_single(profile, f, &content_type)?;
    let key = fresh_key(state, caller, profile, f.filename);
    let now = state.now();
    let credentials_expire_at = lifetime::check_credentials(state, now)?;
    let life = lifetime::decide(
        now,
        lifetime::Wanted::Default,
        profile.expires,
        profile.expires,
        credentials_expire_at,
    )?;
    // Headers the client sends as they are. Content-Length is signed too, but browsers set
    // it from the body themselves (and may not set it by hand).
    let mut headers: Vec<(String, String)> = vec![("Content-Type".into(), content_type.clone())];
    headers.extend(
        profile
            .metadata
            .iter()
            .map(|(k, v)| (format!("x-amz-meta-{}", k.to_ascii_lowercase()), v.clone())),
    );
    for (name, value) in [
        ("x-amz-acl", &profile.acl),
        ("x-amz-storage-class", &profile.storage_class),
        ("x-amz-server-side-encryption", &profile.sse),
    ] {
        if let Some(v) = value {
            headers.push((name.into(), v.clone()));
        }
    }
    let length = size.to_string();
    let lower: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let mut req = UrlRequest::new(Method::Put, &profile.bucket, &key, life.expires_in);
    req.headers.push(("content-length", &length));
    for (name, (_, value)) in lower.iter().zip(&headers) {
        req.headers.push((name, value));
    }
    let url = state
        .signer
        .presign(&req, now)
        .map_err(ServiceError::internal)?;
    tracing::info!(
        target: "signpost::audit",
        user = %caller.user,
        method = "PUT",
        bucket = %profile.bucket,
        key = %key,
        expires_at = %super::rfc3339(life.expires_at),
        profile = %profile.name,
        "presigned upload URL issued"
    );
    let uploaded_url = format!(
        "{}?key={}",
        forms::uploaded_url(
            state,
            caller,
            profile,
            life.expires_at + std::time::Duration::from_secs(3600),
        ),
        percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok(PutUpload {
        url,
        headers,
        bucket: profile.bucket.clone(),
        key,
        expires_at: life.expires_at,
        capped_by: life.capped_by,
        uploaded_url,
    })
}
