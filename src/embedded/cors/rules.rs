//! A bucket's own CORS rules (PutBucketCors), matched as S3 matches them.
//!
//! A rule allows a request when one of its origins matches the `Origin`
//! (at most one `*` wildcard), its methods include the method, and every
//! requested header matches one of its header patterns. The first matching
//! rule answers.

use serde::{Deserialize, Serialize};

/// Methods S3 allows in a CORS rule.
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];
/// Most rules S3 takes in one configuration.
const MAX_RULES: usize = 100;

/// One CORS rule, as stored in the bucket's JSON file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CorsRule {
    /// The rule's id, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Origins, each with at most one `*`.
    pub allowed_origins: Vec<String>,
    /// Methods: GET, PUT, POST, DELETE, HEAD.
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for, each with at most one `*`.
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Response headers a page may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a preflight answer may be cached, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<i32>,
}

impl CorsRule {
    /// True when `origin` matches one of the rule's origins.
    pub(crate) fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|p| wildcard(p, origin))
    }

    /// True when the rule lists `method`.
    pub(crate) fn allows_method(&self, method: &str) -> bool {
        self.allowed_methods.iter().any(|m| m == method)
    }

    /// True when every requested header matches one of the rule's patterns.
    pub(crate) fn allows_headers<'a>(&self, mut requested: impl Iterator<Item = &'a str>) -> bool {
        requested.all(|h| {
            self.allowed_headers
                .iter()
                .any(|p| wildcard(&p.to_ascii_lowercase(), &h.to_ascii_lowercase()))
        })
    }

    /// True when the rule allows any origin (then `*` is answered, without credentials).
    pub(crate) fn any_origin(&self) -> bool {
        self.allowed_origins.iter().any(|o| o == "*")
    }
}

/// The first rule allowing a preflight for `origin`, `method` and `headers`.
pub(crate) fn for_preflight<'r>(
    rules: &'r [CorsRule],
    origin: &str,
    method: &str,
    headers: &[&str],
) -> Option<&'r CorsRule> {
    rules.iter().find(|r| {
        r.allows_origin(origin)
            && r.allows_method(method)
            && r.allows_headers(headers.iter().copied())
    })
}

/// The first rule allowing an actual request from `origin` with `method`.
pub(crate) fn for_request<'r>(
    rules: &'r [CorsRule],
    origin: &str,
    method: &str,
) -> Option<&'r CorsRule> {
    rules
        .iter()
        .find(|r| r.allows_origin(origin) && r.allows_method(method))
}

/// Refuses a configuration S3 would refuse, saying what is wrong.
pub(crate) fn validate(rules: &[CorsRule]) -> Result<(), String> {
    if rules.is_empty() || rules.len() > MAX_RULES {
        return Err(format!("a CORS configuration needs 1 to {MAX_RULES} rules"));
    }
    for rule in rules {
        if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
            return Err("every CORS rule needs an AllowedOrigin and an AllowedMethod".into());
        }
        if let Some(m) = rule
            .allowed_methods
            .iter()
            .find(|m| !METHODS.contains(&m.as_str()))
        {
            return Err(format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
            ));
        }
        let patterns = rule.allowed_origins.iter().chain(&rule.allowed_headers);
        if let Some(p) = patterns.into_iter().find(|p| p.matches('*').count() > 1) {
            return Err(format!(
                "AllowedOrigin/AllowedHeader \"{p}\" can not have more than one wildcard."
            ));
        }
    }
    Ok(())
}

/// `pattern` (with at most one `*`) matches `value`.
fn wildcard(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => {
            value.len() >= head.len() + tail.len()
                && value.starts_with(head)
                && value.ends_with(tail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect();
        CorsRule {
            allowed_origins: v(origins),
            allowed_methods: v(methods),
            allowed_headers: v(headers),
            ..CorsRule::default()
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", "http://a"));
        assert!(wildcard("http://*.example.com", "http://a.example.com"));
        assert!(!wildcard("http://*.example.com", "http://example.com"));
        assert!(!wildcard("http://a", "http://ab"));
    }

    #[test]
    fn first_matching_rule_answers() {
        let rules = [
            rule(&["http://a"], &["GET"], &[]),
            rule(&["http://*.b"], &["PUT", "POST"], &["content-*", "x-amz-*"]),
        ];
        assert!(for_preflight(&rules, "http://a", "GET", &[]).is_some());
        assert!(for_preflight(&rules, "http://a", "GET", &["x-custom"]).is_none());
        assert!(for_preflight(
            &rules,
            "http://x.b",
            "POST",
            &["Content-Type", "x-amz-date"]
        )
        .is_some());
        assert!(for_preflight(&rules, "http://x.b", "DELETE", &[]).is_none());
        assert!(for_request(&rules, "http://c", "GET").is_none());
    }

    #[test]
    fn validation_says_what_is_wrong() {
        assert!(validate(&[rule(&["*"], &["GET"], &[])]).is_ok());
        let e = validate(&[rule(&["*"], &["PATCH"], &[])]).expect_err("patch");
        assert!(e.contains("PATCH"), "{e}");
        assert!(validate(&[rule(&["http://*.*"], &["GET"], &[])]).is_err());
        assert!(validate(&[]).is_err());
    }
}
