//! What a caller may see: its areas (from the access rules and its profiles) and, inside one,
//! the objects and folders, one page at a time, filtered to the keys its rules allow.

use super::Result;
use crate::server::access::{self, AccessRule, Verb};
use crate::server::auth::Caller;
use crate::server::error::ServiceError;
use crate::server::s3::{self, ListQuery, S3Error};
use crate::server::state::AppState;
use std::time::Duration;

/// An area a caller may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// The rule's name.
    pub name: String,
    /// The bucket.
    pub bucket: String,
    /// The prefix, with the caller's folder filled in.
    pub prefix: String,
}

/// The areas `caller` may list, in config order, each once.
pub fn areas(state: &AppState, caller: &Caller) -> Vec<Area> {
    let mut out: Vec<Area> = Vec::new();
    for r in state
        .rules
        .iter()
        .filter(|r| r.admits(caller) && r.allow.contains(&Verb::List))
    {
        let prefix = r.prefix_for(&caller.user);
        if !out
            .iter()
            .any(|a| a.bucket == r.bucket && a.prefix == prefix)
        {
            out.push(Area {
                name: r.name.clone(),
                bucket: r.bucket.clone(),
                prefix,
            });
        }
    }
    out
}

/// One object in a listing, with what the caller may do to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last written, as S3 says (RFC 3339).
    pub last_modified: String,
    /// The caller may get a link to it.
    pub can_get: bool,
    /// The caller may delete it.
    pub can_delete: bool,
    /// The longest link the caller may ask for.
    pub max_expires: Option<Duration>,
}

/// One page of what a caller may see under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The bucket.
    pub bucket: String,
    /// The prefix listed.
    pub prefix: String,
    /// The objects.
    pub objects: Vec<Entry>,
    /// The folders (with a delimiter).
    pub folders: Vec<String>,
    /// The token for the next page, if there is one.
    pub next: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Copy)]
pub struct ListRequest<'a> {
    /// The bucket; when absent, the first listable area's whose prefix holds `prefix`.
    pub bucket: Option<&'a str>,
    /// Keys starting with this.
    pub prefix: &'a str,
    /// Group into folders at this.
    pub delimiter: Option<&'a str>,
    /// The token from the previous page.
    pub continuation: Option<&'a str>,
    /// At most this many keys per page.
    pub max_keys: u32,
}

/// The rule that lets `caller` list under `prefix` in `bucket`, or why not.
fn listing_rule<'a>(
    state: &'a AppState,
    caller: &Caller,
    bucket: Option<&str>,
    prefix: &str,
) -> Result<&'a AccessRule> {
    let found = state.rules.iter().find(|r| {
        bucket.is_none_or(|b| b == r.bucket)
            && r.admits(caller)
            && r.allow.contains(&Verb::List)
            && prefix.starts_with(&r.prefix_for(&caller.user))
    });
    found.ok_or_else(|| {
        let mine = areas(state, caller);
        if mine.is_empty() {
            ServiceError::Forbidden(
                "you may not list anything here; ask the operator for access".into(),
            )
        } else {
            let list: Vec<String> = mine
                .iter()
                .map(|a| format!("{}/{}", a.bucket, a.prefix))
                .collect();
            ServiceError::Forbidden(format!(
                "this prefix is outside your areas; you may list inside: {}",
                list.join(", ")
            ))
        }
    })
}

/// Lists one page under a prefix the caller may list; objects its rules do not allow it to
/// see (a pattern) are left out.
pub async fn list(state: &AppState, caller: &Caller, req: &ListRequest<'_>) -> Result<Listing> {
    if req.prefix.starts_with('/') || req.prefix.chars().any(char::is_control) {
        return Err(ServiceError::BadRequest(
            "the prefix must not start with / or hold control characters".into(),
        ));
    }
    let rule = listing_rule(state, caller, req.bucket, req.prefix)?;
    let bucket = rule.bucket.as_str();
    let page = s3::list_objects(
        &state.http,
        &state.signer,
        state.now(),
        &ListQuery {
            bucket,
            prefix: req.prefix,
            delimiter: req.delimiter.filter(|d| !d.is_empty()),
            continuation: req.continuation.filter(|c| !c.is_empty()),
            max_keys: req.max_keys,
        },
    )
    .await
    .map_err(|e| match e {
        S3Error::NotFound(m) | S3Error::Unavailable(m) => ServiceError::Upstream(format!(
            "the storage did not list the bucket ({m}); try again shortly"
        )),
    })?;
    let allowed = |v: Verb, key: &str| access::decide(&state.rules, caller, v, bucket, key).ok();
    let objects = page
        .contents
        .into_iter()
        .filter(|o| allowed(Verb::List, &o.key).is_some())
        .map(|o| {
            let get = allowed(Verb::Get, &o.key);
            Entry {
                can_get: get.is_some(),
                can_delete: allowed(Verb::Delete, &o.key).is_some(),
                max_expires: get.map(|r| r.max_expires),
                key: o.key,
                size: o.size,
                last_modified: o.last_modified,
            }
        })
        .collect();
    Ok(Listing {
        bucket: bucket.to_string(),
        prefix: req.prefix.to_string(),
        objects,
        folders: page.common_prefixes.into_iter().map(|p| p.prefix).collect(),
        next: page.next_continuation_token.filter(|_| page.is_truncated),
    })
}
