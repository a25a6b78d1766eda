//! Forms: which upload profiles a caller may use, and a freshly signed form for one of them.

use super::{lifetime, Result};
use crate::server::auth::Caller;
use crate::server::error::ServiceError;
use crate::server::profile::{KeyVars, Profile};
use crate::server::state::AppState;
use crate::server::upload_state::UploadState;
use crate::{Field, LintContext, PresignedPost};
use std::time::Duration;
use time::OffsetDateTime;

/// Time after a form's expiry during which its confirmation link still works.
const STATE_GRACE: Duration = Duration::from_secs(3600);

/// The profiles `caller` may use, in config order.
pub fn usable<'a>(state: &'a AppState, caller: &'a Caller) -> impl Iterator<Item = &'a Profile> {
    state
        .config
        .profiles
        .iter()
        .filter(|p| caller.all_roles || p.allows_roles(&caller.roles))
}

/// Finds a profile `caller` may use: 404 or 403 otherwise.
pub fn authorize<'a>(state: &'a AppState, caller: &Caller, name: &str) -> Result<&'a Profile> {
    let profile = state.profile(name).ok_or_else(|| {
        ServiceError::NotFound(format!(
            "there is no upload called “{name}”; the start page lists the ones you may use"
        ))
    })?;
    if !caller.all_roles && !profile.allows_roles(&caller.roles) {
        let have = if caller.roles.is_empty() {
            "no role".to_string()
        } else {
            caller.roles.join(", ")
        };
        return Err(ServiceError::Forbidden(format!(
            "your account ({have}) may not use “{}”; it needs one of: {}",
            profile.title,
            profile.roles.join(", ")
        )));
    }
    Ok(profile)
}

/// A freshly signed form and what goes with it.
pub struct Issued {
    /// The form.
    pub post: PresignedPost,
    /// The key (with `${filename}` when S3 fills it in).
    pub key: String,
    /// When the form stops working.
    pub expires_at: OffsetDateTime,
    /// Where to confirm the upload: `/uploaded/{state}` on this server.
    pub uploaded_url: String,
}

/// The file a form is for, when the caller says (the API); the page's form takes any file.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    /// The file's name.
    pub filename: &'a str,
    /// Its Content-Type, lower case.
    pub content_type: &'a str,
    /// Its size in bytes.
    pub size: u64,
}

/// Checks a declared file against the profile before anything is signed.
pub fn check_declared(profile: &Profile, file: &Declared<'_>) -> Result<()> {
    if file.content_type.is_empty() || file.content_type.contains(['\r', '\n']) {
        return Err(ServiceError::BadRequest(
            "content_type is empty; send the file's MIME type, e.g. image/png".into(),
        ));
    }
    if file.filename.trim().is_empty() {
        return Err(ServiceError::BadRequest(
            "filename is empty; send the file's name".into(),
        ));
    }
    profile
        .check_declared(file.size, file.content_type)
        .map_err(|m| ServiceError::BadRequest(m.0))?;
    if file.size > profile.max_single_size() {
        return Err(ServiceError::BadRequest(format!(
            "the file is {}, more than the {} one upload form can carry; upload it in parts \
             (POST /s3/multipart; signpost's upload page does this by itself)",
            crate::units::format_size(file.size),
            crate::units::format_size(profile.max_single_size())
        )));
    }
    Ok(())
}

/// The confirmation link of `caller`'s uploads in `profile` (`/uploaded/{state}`), working
/// until `until`: opening it checks each named upload and removes any that breaks the
/// profile.
pub fn uploaded_url(
    state: &AppState,
    caller: &Caller,
    profile: &Profile,
    until: OffsetDateTime,
) -> String {
    let sealed = UploadState {
        p: profile.name.clone(),
        u: caller.user.clone(),
        k: profile.owner_prefix(&caller.user),
        e: until.unix_timestamp(),
    }
    .seal(&state.state_key);
    format!("{}/uploaded/{sealed}", state.public_url)
}

/// Signs a form for `caller` and `profile`. For a declared file (the API), the key is exact,
/// the type is fixed and S3 answers 201; without one (the page), S3 fills `${filename}`, the
/// type must start with the profile's common prefix, and S3 redirects to `/uploaded`.
pub fn issue(
    state: &AppState,
    caller: &Caller,
    profile: &Profile,
    file: Option<&Declared<'_>>,
) -> Result<Issued> {
    // Whole seconds, as the signature's date: the form's end is then exact.
    let now = state.now();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let uuid = uuid::Uuid::new_v4().to_string();
    let date = crate::wire::iso_day(now);
    let vars = KeyVars {
        user: &caller.user,
        uuid: &uuid,
        date: &date,
    };
    let key = profile.render_key(&vars, file.map(|f| f.filename));
    // A form never outlives the credentials that sign it: shortened to fit them, or a 503
    // when they are about to run out.
    let credentials_expire_at = lifetime::check_credentials(state, now)?;
    let life = lifetime::decide(
        now,
        lifetime::Wanted::Default,
        profile.expires,
        profile.expires,
        credentials_expire_at,
    )?;
    let expires_at = life.expires_at;
    let uploaded_url = uploaded_url(state, caller, profile, expires_at + STATE_GRACE);

    let mut b = profile.policy(&key).expires_in(life.expires_in);
    b = match (file, profile.content_types.as_slice()) {
        (Some(f), _) => b.content_type(f.content_type).success_action_status(201),
        // The page's form without JavaScript: one type is exact; with several, S3 can only
        // check their common prefix, and `/uploaded` (or `signpost verify`) checks the rest.
        (None, [only]) => b.content_type(only).success_action_redirect(&uploaded_url),
        (None, _) => b
            .starts_with(Field::ContentType, profile.common_type_prefix())
            .success_action_redirect(&uploaded_url),
    };
    let ctx = LintContext {
        now,
        credentials_expire_at,
    };
    let policy = b.build_with(&ctx).map_err(ServiceError::internal)?;
    let post = state
        .signer
        .sign_post(&policy, now)
        .map_err(ServiceError::internal)?;
    Ok(Issued {
        post,
        key,
        expires_at,
        uploaded_url,
    })
}
