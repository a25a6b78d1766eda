//! A signed form as something to use at once: a `curl` command line or a standalone HTML page.
//! (The JSON form is [`PresignedPost`]'s own `Serialize`.)

use crate::policy::PostPolicy;
use crate::signing::PresignedPost;
use crate::units::format_size_range;
use crate::wire::write_iso8601;
use askama::Template;

/// Quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn env_name(field: &str) -> String {
    field
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A ready `curl` command that posts `file` with the form's fields (`file` last).
/// Fields the uploader must supply (a `starts-with` with no value) are read from environment
/// variables named after them, e.g. `CONTENT_TYPE`.
pub fn curl(post: &PresignedPost, policy: &PostPolicy, file: &str) -> String {
    let mut out = String::from("curl -sS --fail-with-body");
    for (name, value) in &post.fields {
        out.push_str(" \\\n  --form-string ");
        out.push_str(&shell_quote(&format!("{name}={value}")));
    }
    for (field, prefix) in policy.open_fields() {
        let var = env_name(field.name());
        let safe = prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c));
        let hint = if safe && !prefix.is_empty() {
            format!("set {var} to a value starting with {prefix}")
        } else {
            format!("set {var}")
        };
        out.push_str(&format!(
            " \\\n  --form-string \"{}=${{{var}:?{hint}}}\"",
            field.name()
        ));
    }
    out.push_str(" \\\n  -F ");
    // curl's own -F syntax treats `;` and `,` specially unless the name is double-quoted.
    let curl_path = file.replace('\\', "\\\\").replace('"', "\\\"");
    out.push_str(&shell_quote(&format!("file=@\"{curl_path}\"")));
    out.push_str(" \\\n  ");
    out.push_str(&shell_quote(&post.url));
    out
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage<'a> {
    bucket: &'a str,
    url: &'a str,
    fields: &'a [(String, String)],
    open_fields: Vec<(&'a str, &'a str)>,
    limit: String,
    types: Option<String>,
    accept: Option<String>,
    expires: String,
}

/// A standalone HTML page with a working upload form: hidden fields, then `file`.
pub fn html(post: &PresignedPost, policy: &PostPolicy) -> String {
    let limit = match policy.size_range() {
        Some((min, max)) => format_size_range(min, max),
        None => "up to 5 GiB".into(),
    };
    let exact = post.field("Content-Type").map(str::to_string);
    let prefix = policy
        .open_fields()
        .find(|(f, _)| f.name() == "Content-Type")
        .map(|(_, p)| p.to_string())
        .filter(|p| !p.is_empty());
    let accept = exact
        .clone()
        .or_else(|| prefix.as_ref().map(|p| format!("{}*", p)));
    let types = exact.or_else(|| prefix.map(|p| format!("{p}…")));
    let mut expires = String::new();
    write_iso8601(&mut expires, policy.expiration());
    let page = FormPage {
        bucket: policy.bucket(),
        url: &post.url,
        fields: &post.fields,
        open_fields: policy.open_fields().map(|(f, p)| (f.name(), p)).collect(),
        limit,
        types,
        accept,
        expires,
    };
    page.render()
        .unwrap_or_else(|e| format!("<!doctype html><p>could not render the form: {e}</p>"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Credentials, Endpoint, Signer};
    use time::macros::datetime;

    fn sample() -> (PresignedPost, PostPolicy) {
        let now = datetime!(2026-03-14 15:09:26 UTC);
        let signer = Signer::new(
            Credentials::new("AK", "SK"),
            "us-east-1",
            Endpoint::custom("http://127.0.0.1:9000", true).unwrap(),
        );
        let policy = PostPolicy::builder("b")
            .key_prefix("it's/<b>/")
            .content_type_prefix("image/")
            .content_length_range(1, 5 << 20)
            .build(now)
            .unwrap();
        (signer.sign_post(&policy, now).unwrap(), policy)
    }

    #[test]
    fn curl_quotes_every_value_and_puts_file_last() {
        let (post, policy) = sample();
        let line = curl(&post, &policy, "me.png");
        assert!(
            line.contains(r"--form-string 'key=it'\''s/<b>/${filename}'"),
            "{line}"
        );
        assert!(
            line.contains("${CONTENT_TYPE:?set CONTENT_TYPE to a value starting with image/}"),
            "{line}"
        );
        let file = line.find("file=@\"me.png\"").unwrap();
        assert!(line.rfind("--form-string").unwrap() < file);
    }

    #[test]
    fn html_escapes_and_puts_file_last() {
        let (post, policy) = sample();
        let page = html(&post, &policy);
        assert!(
            page.contains("value=\"it&#39;s/&#60;b&#62;/${filename}\""),
            "{page}"
        );
        assert!(!page.contains("<b>/"));
        assert!(page.contains("accept=\"image/*\""));
        assert!(
            page.contains("Files up to 5 MiB, of type image/…"),
            "{page}"
        );
        assert!(page.rfind("type=\"hidden\"").unwrap() < page.find("name=\"file\"").unwrap());
    }
}
