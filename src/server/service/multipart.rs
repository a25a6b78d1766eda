//! Multipart uploads inside a profile's limits, with no HTTP and no stored state. Nothing like
//! a POST policy guards a multipart upload, so the server does:
//!
//! - the key comes from the profile's template, and the upload is created with the profile's
//!   type, metadata and storage settings;
//! - with the file's size declared (Uppy's `meta.size`), the size is checked at create and each
//!   part URL signs that part's exact Content-Length, so S3 refuses a part of any other size;
//! - without it, part numbers are bounded by `max_size` over S3's 5 MiB smallest part;
//! - at complete, the server lists the parts, adds up their sizes and checks the total against
//!   the profile (and the declared size); outside them it aborts the upload and says why;
//! - the upload id handed out is an [`UploadToken`] bound to the caller and the key.

use super::{companion, forms, lifetime, Result};
use crate::lint::{MAX_OBJECT_SIZE, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
use crate::server::auth::Caller;
use crate::server::error::ServiceError;
use crate::server::profile::Profile;
use crate::server::s3::multipart::{self as s3mp, MultipartError, Part, Target};
use crate::server::state::AppState;
use crate::server::upload_token::{UploadToken, UPLOAD_LIFE};
use crate::units::format_size;
use std::collections::BTreeMap;
use std::time::Duration;

/// A new multipart upload, as the client describes it.
#[derive(Debug, Clone, Copy)]
pub struct NewUpload<'a> {
    /// The file's name.
    pub filename: &'a str,
    /// Its type.
    pub content_type: &'a str,
    /// Its size, when the client says.
    pub size: Option<u64>,
    /// The client's part size, when it is not Uppy's default.
    pub part_size: Option<u64>,
}

/// A started upload: the key and the sealed upload id.
#[derive(Debug, Clone)]
pub struct Started {
    /// The key, from the template.
    pub key: String,
    /// The upload id to hand to the client (an [`UploadToken`]).
    pub upload_id: String,
    /// The bucket.
    pub bucket: String,
}

/// Uppy's part size for a file of `size` bytes: its own default, at least 5 MiB, and large
/// enough for at most 10 000 parts.
pub fn default_part_size(size: u64) -> u64 {
    size.div_ceil(u64::from(MAX_PARTS)).max(MIN_PART_SIZE)
}

/// How many parts an upload may have, and each part's exact length when the size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The most parts.
    pub parts: u32,
    /// With a declared size: (size, part size).
    pub exact: Option<(u64, u64)>,
}

impl Layout {
    /// The layout an upload's token describes, under `profile`.
    pub fn of(token: &UploadToken, profile: &Profile) -> Layout {
        match (token.s, token.c) {
            (Some(size), Some(part)) if part > 0 => Layout {
                parts: u32::try_from(size.div_ceil(part).max(1)).unwrap_or(u32::MAX),
                exact: Some((size, part)),
            },
            _ => Layout {
                parts: u32::try_from(
                    profile
                        .max_size
                        .div_ceil(MIN_PART_SIZE)
                        .clamp(1, u64::from(MAX_PARTS)),
                )
                .unwrap_or(u32::MAX),
                exact: None,
            },
        }
    }

    /// Part `n`'s exact length (the last part is shorter), when the size is known.
    pub fn length(&self, n: u32) -> Option<u64> {
        self.exact
            .map(|(size, part)| part.min(size.saturating_sub(u64::from(n - 1) * part)))
    }

    /// Checks a part number.
    pub fn check(&self, n: u32) -> Result<()> {
        if n == 0 || n > self.parts {
            let why = match self.exact {
                Some((size, part)) => format!(
                    "a file of {} in parts of {} has {} part{}",
                    format_size(size),
                    format_size(part),
                    self.parts,
                    if self.parts == 1 { "" } else { "s" }
                ),
                None => format!(
                    "this upload may have at most {} parts (the profile's size limit over S3's 5 MiB smallest part)",
                    self.parts
                ),
            };
            return Err(ServiceError::BadRequest(format!(
                "part number {n} is out of range: {why}"
            )));
        }
        Ok(())
    }
}

fn storage(e: MultipartError) -> ServiceError {
    match e {
        MultipartError::Refused { status, words, .. } if (400..500).contains(&status) => {
            ServiceError::BadRequest(words)
        }
        other => ServiceError::Upstream(other.to_string()),
    }
}

/// Starts a multipart upload for `caller` under `profile`.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    profile: &Profile,
    f: &NewUpload<'_>,
) -> Result<Started> {
    let content_type = companion::clean_type(f.content_type)?;
    companion::check_file(profile, f.filename, &content_type, f.size)?;
    let part_size = match (f.size, f.part_size) {
        (Some(size), Some(part)) => {
            if part < MIN_PART_SIZE && part < size {
                return Err(ServiceError::BadRequest(format!(
                    "metadata `partSize` is {}; S3's parts must be at least 5 MiB",
                    format_size(part)
                )));
            }
            if part > MAX_PART_SIZE || size.div_ceil(part.max(1)) > u64::from(MAX_PARTS) {
                return Err(ServiceError::BadRequest(format!(
                    "metadata `partSize` {} does not fit S3: parts are at most 5 GiB and at most 10000 of them",
                    format_size(part)
                )));
            }
            Some(part.max(1))
        }
        (Some(size), None) => Some(default_part_size(size)),
        (None, _) => None,
    };
    if f.size.is_some_and(|s| s > MAX_OBJECT_SIZE) {
        return Err(ServiceError::BadRequest(
            "the file is larger than S3's 5 TiB limit".into(),
        ));
    }
    let key = companion::fresh_key(state, caller, profile, f.filename);
    let now = state.now();
    lifetime::check_credentials(state, now)?;
    let upload_id = s3mp::create(
        &state.http,
        &state.signer,
        now,
        &s3mp::CreateParams {
            bucket: &profile.bucket,
            key: &key,
            content_type: &content_type,
            metadata: &profile.metadata,
            acl: profile.acl.as_deref(),
            storage_class: profile.storage_class.as_deref(),
            sse: profile.sse.as_deref(),
        },
    )
    .await
    .map_err(storage)?;
    tracing::info!(
        target: "signpost::audit",
        user = %caller.user,
        bucket = %profile.bucket,
        key = %key,
        profile = %profile.name,
        size = ?f.size,
        "multipart upload started"
    );
    let token = UploadToken {
        i: upload_id,
        p: profile.name.clone(),
        s: f.size,
        c: part_size,
        e: (now + UPLOAD_LIFE).unix_timestamp(),
    };
    Ok(Started {
        upload_id: token.seal(&state.state_key, &caller.user, &key),
        key,
        bucket: profile.bucket.clone(),
    })
}

/// An upload the caller brought back: its token opened, its profile still allowed.
pub struct Opened<'a> {
    /// What the token says.
    pub token: UploadToken,
    /// The profile.
    pub profile: &'a Profile,
    /// The key.
    pub key: &'a str,
}

impl Opened<'_> {
    fn target(&self) -> Target<'_> {
        Target {
            bucket: &self.profile.bucket,
            key: self.key,
            upload_id: &self.token.i,
        }
    }
}

/// Opens `upload_id` for `caller` and `key`: 403 for another caller's, another key or an
/// altered id.
pub fn open<'a>(
    state: &'a AppState,
    caller: &Caller,
    upload_id: &str,
    key: &'a str,
) -> Result<Opened<'a>> {
    if key.is_empty() {
        return Err(ServiceError::BadRequest(
            "give the object's key as a query parameter, e.g. ?key=uploads/…/a.mp4".into(),
        ));
    }
    let token = UploadToken::open(
        upload_id,
        &state.state_key,
        &caller.user,
        key,
        state.now().unix_timestamp(),
    )
    .map_err(|e| ServiceError::Forbidden(e.to_string()))?;
    let profile = forms::authorize(state, caller, &token.p)?;
    Ok(Opened {
        token,
        profile,
        key,
    })
}

/// A part URL and how long it works.
#[derive(Debug, Clone)]
pub struct PartUrl {
    /// The presigned PUT.
    pub url: String,
    /// Seconds it works.
    pub expires_in: Duration,
}

/// Presigned PUT URLs for parts `numbers` of an opened upload.
pub fn part_urls(state: &AppState, up: &Opened<'_>, numbers: &[u32]) -> Result<Vec<PartUrl>> {
    let layout = Layout::of(&up.token, up.profile);
    for n in numbers {
        layout.check(*n)?;
    }
    let now = state.now();
    let credentials_expire_at = lifetime::check_credentials(state, now)?;
    let life = lifetime::decide(
        now,
        lifetime::Wanted::Default,
        up.profile.expires,
        up.profile.expires,
        credentials_expire_at,
    )?;
    numbers
        .iter()
        .map(|n| {
            s3mp::part_url(
                &state.signer,
                now,
                &up.target(),
                *n,
                layout.length(*n),
                life.expires_in,
            )
            .map(|url| PartUrl {
                url,
                expires_in: life.expires_in,
            })
            .map_err(ServiceError::internal)
        })
        .collect()
}

/// The parts uploaded so far.
pub async fn list(state: &AppState, up: &Opened<'_>) -> Result<Vec<Part>> {
    s3mp::list_parts(&state.http, &state.signer, state.now(), &up.target())
        .await
        .map_err(storage)
}

/// A finished upload.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The object's URL.
    pub location: String,
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The object's size.
    pub size: u64,
    /// Where signpost's page confirms the upload (`/uploaded/{state}`; add `?key=…`).
    pub uploaded_url: String,
}

fn unquote(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

/// Why the parts as listed do not make a file this profile takes, if they do not.
fn out_of_limits(profile: &Profile, declared: Option<u64>, total: u64) -> Option<String> {
    if total > profile.max_size {
        Some(format!(
            "the parts add up to {}, larger than the {} this upload allows",
            format_size(total),
            format_size(profile.max_size)
        ))
    } else if total < profile.min_size {
        Some(format!(
            "the parts add up to {}, smaller than the {} this upload needs",
            format_size(total),
            format_size(profile.min_size)
        ))
    } else {
        declared.filter(|d| *d != total).map(|d| {
            format!(
                "the parts add up to {}, but the file was declared as {}",
                format_size(total),
                format_size(d)
            )
        })
    }
}

/// Completes an upload: the parts are checked against S3's list of them and the total against
/// the profile; outside the profile's limits the upload is aborted and the answer says why.
pub async fn complete(
    state: &AppState,
    caller: &Caller,
    up: &Opened<'_>,
    parts: &[(u32, String)],
) -> Result<Finished> {
    if parts.is_empty() {
        return Err(ServiceError::BadRequest(
            "`parts` is empty; list every uploaded part as {PartNumber, ETag}".into(),
        ));
    }
    if parts.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(ServiceError::BadRequest(
            "`parts` must be in ascending order of PartNumber, each part once".into(),
        ));
    }
    let layout = Layout::of(&up.token, up.profile);
    for (n, _) in parts {
        layout.check(*n)?;
    }
    let stored: BTreeMap<u32, Part> = list(state, up)
        .await?
        .into_iter()
        .map(|p| (p.part_number, p))
        .collect();
    let mut total: u64 = 0;
    for (n, etag) in parts {
        let p = stored.get(n).ok_or_else(|| {
            ServiceError::BadRequest(format!(
                "part {n} has not been uploaded; upload it, then complete again"
            ))
        })?;
        // S3 checks the ETags again at complete; this is for a clearer message. A store that
        // lists no ETag (s3s-fs) is left to that check.
        if !p.etag.is_empty() && unquote(&p.etag) != unquote(etag) {
            return Err(ServiceError::BadRequest(format!(
                "part {n}'s ETag does not match the uploaded part; send the ETag S3 answered with"
            )));
        }
        total = total.saturating_add(p.size);
    }
    let now = state.now();
    if let Some(why) = out_of_limits(up.profile, up.token.s, total) {
        let aborted = s3mp::abort(&state.http, &state.signer, now, &up.target()).await;
        if let Err(e) = &aborted {
            tracing::warn!(error = %e, key = up.key, "could not abort a refused multipart upload");
        }
        tracing::info!(user = %caller.user, key = up.key, reason = %why, "multipart upload refused at complete");
        return Err(ServiceError::BadRequest(format!(
            "{why}; the upload was {}",
            if aborted.is_ok() {
                "cancelled and its parts removed"
            } else {
                "refused (its parts are removed by the bucket's lifecycle rule)"
            }
        )));
    }
    let numbered: Vec<(u32, &str)> = parts.iter().map(|(n, e)| (*n, e.as_str())).collect();
    let done = s3mp::complete(&state.http, &state.signer, now, &up.target(), &numbered)
        .await
        .map_err(|e| match e {
            MultipartError::Refused { code, .. } if code == "EntityTooSmall" => {
                ServiceError::BadRequest(
                    "a part other than the last is smaller than 5 MiB, which S3 does not take; \
                     upload in parts of at least 5 MiB"
                        .into(),
                )
            }
            other => storage(other),
        })?;
    tracing::info!(
        target: "signpost::audit",
        user = %caller.user,
        bucket = %up.profile.bucket,
        key = up.key,
        size = total,
        "multipart upload completed"
    );
    // The whole file is there now: its real type is checked, and it is removed if it lied.
    super::verify::inspect(state, up.profile, up.key).await?;
    let location = if done.location.starts_with("http") {
        done.location
    } else {
        state
            .signer
            .endpoint()
            .object_url(&up.profile.bucket, up.key, state.signer.region())
    };
    Ok(Finished {
        location,
        bucket: up.profile.bucket.clone(),
        key: up.key.to_string(),
        size: total,
        uploaded_url: super::forms::uploaded_url(
            state,
            caller,
            up.profile,
            now + Duration::from_secs(3600),
        ),
    })
}

/// Abandons an upload and removes its parts.
pub async fn abort(state: &AppState, caller: &Caller, up: &Opened<'_>) -> Result<()> {
    s3mp::abort(&state.http, &state.signer, state.now(), &up.target())
        .await
        .map_err(storage)?;
    tracing::info!(user = %caller.user, key = up.key, "multipart upload aborted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_follow_uppy() {
        assert_eq!(default_part_size(11 << 20), 5 << 20);
        assert_eq!(default_part_size(1 << 40), (1u64 << 40).div_ceil(10_000));
        let token = |s, c| UploadToken {
            i: "x".into(),
            p: "p".into(),
            s,
            c,
            e: 0,
        };
        let mut profile = crate::server::config::demo_profiles("b").remove(1);
        profile.max_size = 20 << 20;
        let size = (15 << 20) + 3;
        let l = Layout::of(&token(Some(size), Some(5 << 20)), &profile);
        assert_eq!(l.parts, 4);
        assert_eq!(l.length(1), Some(5 << 20));
        assert_eq!(l.length(4), Some(3));
        assert!(l.check(4).is_ok());
        assert!(l.check(5).is_err());
        assert!(l.check(0).is_err());
        let free = Layout::of(&token(None, None), &profile);
        assert_eq!(free.parts, 4);
        assert_eq!(free.length(1), None);
        let e = free.check(5).unwrap_err().to_string();
        assert!(e.contains("at most 4 parts"), "{e}");
    }

    #[test]
    fn totals_are_checked_in_words() {
        let mut p = crate::server::config::demo_profiles("b").remove(1);
        p.min_size = 10;
        p.max_size = 20 << 20;
        assert_eq!(out_of_limits(&p, None, 20 << 20), None);
        assert!(out_of_limits(&p, None, (20 << 20) + 1)
            .unwrap()
            .contains("larger than the 20 MiB"));
        assert!(out_of_limits(&p, None, 3).unwrap().contains("smaller"));
        assert!(out_of_limits(&p, Some(100), 99)
            .unwrap()
            .contains("declared as 100 bytes"));
    }
}
