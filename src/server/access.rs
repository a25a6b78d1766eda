//! Access rules: who may get, head, list, put or delete which existing objects. A rule names
//! an area (a bucket and a key prefix, which may hold `{user}`), the roles that may use it,
//! the methods it allows, an optional pattern every key must match, and how long its links
//! live. Each upload profile also gives its callers get, head, list and delete on their own
//! uploads. A request is allowed when some rule allows that method on that key for that
//! caller; otherwise the refusal says which of those failed.

use super::auth::Caller;
use super::filename::user_segment;
use super::profile::Profile;
use crate::wire::has_dot_segment;
use regex::Regex;
use std::fmt;
use std::time::Duration;

/// What a caller may do to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Download it.
    Get,
    /// Read its size and type.
    Head,
    /// See it in a listing.
    List,
    /// Write it.
    Put,
    /// Remove it.
    Delete,
}

impl Verb {
    /// Every verb, in the order they are written in config.
    pub const ALL: [Verb; 5] = [Verb::Get, Verb::Head, Verb::List, Verb::Put, Verb::Delete];

    /// The verb as written in config (`get`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Head => "head",
            Verb::List => "list",
            Verb::Put => "put",
            Verb::Delete => "delete",
        }
    }

    /// Parses a config word or an HTTP method, in any case.
    pub fn parse(s: &str) -> Option<Verb> {
        Verb::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on what a PUT URL may write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutLimits {
    /// The exact Content-Types accepted; empty accepts any one plain type.
    pub content_types: Vec<String>,
    /// The largest object, bytes.
    pub max_size: Option<u64>,
}

/// One checked access rule.
#[derive(Debug, Clone)]
pub struct AccessRule {
    /// Its name, for messages and the audit log.
    pub name: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix, empty or ending in `/`; `{user}` stands for the caller's folder.
    pub prefix: String,
    /// A pattern the whole key must match.
    pub pattern: Option<Regex>,
    /// Roles that may use it; empty means every signed-in caller.
    pub roles: Vec<String>,
    /// The methods it allows.
    pub allow: Vec<Verb>,
    /// A link's lifetime when the caller does not choose one.
    pub expires: Duration,
    /// The longest lifetime a caller may ask for.
    pub max_expires: Duration,
    /// What a PUT may write.
    pub put: PutLimits,
}

impl PartialEq for AccessRule {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.bucket == o.bucket
            && self.prefix == o.prefix
            && self.pattern.as_ref().map(Regex::as_str) == o.pattern.as_ref().map(Regex::as_str)
            && self.roles == o.roles
            && self.allow == o.allow
            && self.expires == o.expires
            && self.max_expires == o.max_expires
            && self.put == o.put
    }
}
impl Eq for AccessRule {}

impl AccessRule {
    /// The area a profile gives its callers over their own uploads.
    pub fn for_profile(p: &Profile, link_life: Duration) -> AccessRule {
        AccessRule {
            name: format!("{} uploads", p.title),
            bucket: p.bucket.clone(),
            prefix: p.owner_prefix_template(),
            pattern: None,
            roles: p.roles.clone(),
            allow: vec![Verb::Get, Verb::Head, Verb::List, Verb::Delete],
            expires: link_life,
            max_expires: crate::lint::MAX_EXPIRY,
            put: PutLimits::default(),
        }
    }

    /// The rule's prefix for `user`.
    pub fn prefix_for(&self, user: &str) -> String {
        if self.prefix.contains("{user}") {
            self.prefix.replace("{user}", &user_segment(user))
        } else {
            self.prefix.clone()
        }
    }

    /// True when a caller with these roles may use the rule.
    pub fn admits(&self, caller: &Caller) -> bool {
        caller.all_roles
            || self.roles.is_empty()
            || self.roles.iter().any(|r| caller.roles.contains(r))
    }
}

/// Why a key is never allowed, whatever the rules say.
pub fn unsafe_key(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        Some("the key is empty; name the object")
    } else if key.starts_with('/') {
        Some("the key starts with /; keys are written without a leading slash")
    } else if has_dot_segment(key) {
        Some("the key has a `.` or `..` segment, which is never allowed")
    } else if key.chars().any(char::is_control) {
        Some("the key has control characters, which are never allowed")
    } else if key.len() > 1024 {
        Some("the key is longer than S3's 1024 bytes")
    } else {
        None
    }
}

/// Why a request was refused, in words (answered as 403, or 400 for an unsafe key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The key is never allowed.
    UnsafeKey(&'static str),
    /// No rule covers the bucket and key.
    OutsideAreas,
    /// Rules cover it, but none for the caller's roles.
    NeedsRole(Vec<String>),
    /// The caller's rules here do not allow the method.
    MethodNotAllowed { verb: Verb, allowed: Vec<Verb> },
    /// The key does not match the pattern of the rules that allow the method.
    PatternMismatch(Vec<String>),
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::UnsafeKey(why) => f.write_str(why),
            Denied::OutsideAreas => f.write_str(
                "this key is outside your areas: you have no access to that bucket and folder",
            ),
            Denied::NeedsRole(roles) => write!(
                f,
                "this area needs one of these roles: {}; your account has none of them",
                roles.join(", ")
            ),
            Denied::MethodNotAllowed { verb, allowed } => {
                let allowed: Vec<&str> = allowed.iter().map(|v| v.as_str()).collect();
                write!(
                    f,
                    "{} is not allowed here; this area allows: {}",
                    verb.as_str().to_ascii_uppercase(),
                    if allowed.is_empty() {
                        "nothing".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )
            }
            Denied::PatternMismatch(patterns) => write!(
                f,
                "the key does not match the area's pattern ({}); only such keys may be used here",
                patterns.join(" or ")
            ),
        }
    }
}

/// Decides whether `caller` may `verb` `bucket`/`key` under `rules`; on success, the rule
/// that allows it (the first, in config order).
pub fn decide<'a>(
    rules: &'a [AccessRule],
    caller: &Caller,
    verb: Verb,
    bucket: &str,
    key: &str,
) -> Result<&'a AccessRule, Denied> {
    if let Some(why) = unsafe_key(key) {
        return Err(Denied::UnsafeKey(why));
    }
    let area: Vec<&AccessRule> = rules
        .iter()
        .filter(|r| r.bucket == bucket && key.starts_with(&r.prefix_for(&caller.user)))
        .collect();
    if area.is_empty() {
        return Err(Denied::OutsideAreas);
    }
    let mine: Vec<&AccessRule> = area.iter().copied().filter(|r| r.admits(caller)).collect();
    if mine.is_empty() {
        let mut roles: Vec<String> = area.iter().flat_map(|r| r.roles.iter().cloned()).collect();
        roles.sort();
        roles.dedup();
        return Err(Denied::NeedsRole(roles));
    }
    let doing: Vec<&AccessRule> = mine
        .iter()
        .copied()
        .filter(|r| r.allow.contains(&verb))
        .collect();
    if doing.is_empty() {
        let mut allowed: Vec<Verb> = mine.iter().flat_map(|r| r.allow.iter().copied()).collect();
        allowed.sort_by_key(|v| Verb::ALL.iter().position(|x| x == v));
        allowed.dedup();
        return Err(Denied::MethodNotAllowed { verb, allowed });
    }
    doing
        .iter()
        .copied()
        .find(|r| r.pattern.as_ref().is_none_or(|p| p.is_match(key)))
        .ok_or_else(|| {
            Denied::PatternMismatch(
                doing
                    .iter()
                    .filter_map(|r| r.pattern.as_ref().map(|p| p.as_str().to_string()))
                    .collect(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        name: &str,
        prefix: &str,
        roles: &[&str],
        allow: &[Verb],
        pattern: Option<&str>,
    ) -> AccessRule {
        AccessRule {
            name: name.into(),
            bucket: "content".into(),
            prefix: prefix.into(),
            pattern: pattern.map(|p| Regex::new(p).unwrap()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            allow: allow.to_vec(),
            expires: Duration::from_secs(3600),
            max_expires: Duration::from_secs(86400),
            put: PutLimits::default(),
        }
    }

    fn caller(user: &str, roles: &[&str]) -> Caller {
        Caller {
            user: user.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            all_roles: false,
            name: None,
        }
    }

    /// The tiered issuer of the source documents.
    #[test]
    fn tiers_patterns_and_methods() {
        let rules = [
            rule(
                "tier-1",
                "tier 1/",
                &["tier1", "tier2"],
                &[Verb::Get, Verb::Head],
                Some(r"\.jpg$"),
            ),
            rule(
                "tier-2",
                "tier 2/",
                &["tier2"],
                &[Verb::Get, Verb::Head],
                Some(r"\.jpg$"),
            ),
            rule(
                "home",
                "home/{user}/",
                &[],
                &[Verb::Get, Verb::Put, Verb::Delete],
                None,
            ),
        ];
        let one = caller("one", &["tier1"]);
        let two = caller("two", &["tier2"]);
        let get = |c: &Caller, k: &str| decide(&rules, c, Verb::Get, "content", k);
        assert_eq!(get(&one, "tier 1/cute-cat.jpg").unwrap().name, "tier-1");
        assert_eq!(
            get(&one, "tier 2/super-cute-cat.jpg"),
            Err(Denied::NeedsRole(vec!["tier2".into()]))
        );
        assert_eq!(
            get(&two, "tier 2/super-cute-cat.jpg").unwrap().name,
            "tier-2"
        );
        assert!(matches!(
            get(&two, "tier 2/notes.txt"),
            Err(Denied::PatternMismatch(_))
        ));
        assert_eq!(get(&one, "elsewhere/x.jpg"), Err(Denied::OutsideAreas));
        assert!(matches!(
            decide(&rules, &two, Verb::Delete, "content", "tier 2/a.jpg"),
            Err(Denied::MethodNotAllowed {
                verb: Verb::Delete,
                ..
            })
        ));
        // {user} areas: each caller only its own folder.
        assert!(decide(&rules, &one, Verb::Put, "content", "home/one/a.txt").is_ok());
        assert_eq!(
            decide(&rules, &one, Verb::Put, "content", "home/two/a.txt"),
            Err(Denied::OutsideAreas)
        );
        assert_eq!(
            decide(&rules, &one, Verb::Put, "other", "home/one/a.txt"),
            Err(Denied::OutsideAreas)
        );
        for bad in [
            "",
            "/tier 1/a.jpg",
            "tier 1/../tier 2/a.jpg",
            "tier 1/./a.jpg",
            "tier 1/a\n.jpg",
        ] {
            assert!(
                matches!(get(&two, bad), Err(Denied::UnsafeKey(_))),
                "{bad:?}"
            );
        }
    }
}
