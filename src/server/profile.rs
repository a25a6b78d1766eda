//! Upload profiles: one kind of upload (an avatar, a document) with its bucket, key template,
//! limits and types, turned into a policy for one caller at one moment.

use super::content_type::parse_exact;
use super::filename::{sanitize_filename, user_segment};
use crate::lint::{MAX_EXPIRY, MAX_OBJECT_SIZE, MAX_POST_SIZE};
use crate::policy::{PostPolicyBuilder, FILENAME_PLACEHOLDER};
use crate::units::format_size;
use crate::wire::has_dot_segment;
use crate::PostPolicy;
use std::time::Duration;

/// The placeholders a key template may use.
pub const PLACEHOLDERS: [&str; 4] = ["{user}", "{uuid}", "{date}", FILENAME_PLACEHOLDER];

/// One kind of upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Short name, used in URLs (`/upload/{name}`).
    pub name: String,
    /// Title shown to people.
    pub title: String,
    /// Target bucket.
    pub bucket: String,
    /// Key template, e.g. `avatars/{user}/{uuid}/${filename}`.
    pub key_template: String,
    /// Smallest accepted file, bytes.
    pub min_size: u64,
    /// Largest accepted file, bytes.
    pub max_size: u64,
    /// The exact Content-Types accepted (lower case); empty accepts any one plain type.
    pub content_types: Vec<String>,
    /// How long a signed form works.
    pub expires: Duration,
    /// Metadata stored with every object (`x-amz-meta-*`).
    pub metadata: Vec<(String, String)>,
    /// Canned ACL.
    pub acl: Option<String>,
    /// Storage class.
    pub storage_class: Option<String>,
    /// Server-side encryption.
    pub sse: Option<String>,
    /// Roles or tiers that may use the profile; empty means every signed-in caller.
    pub roles: Vec<String>,
    /// Whether several files may be uploaded at once.
    pub multiple: bool,
}

/// Values for the key template's placeholders.
#[derive(Debug, Clone)]
pub struct KeyVars<'a> {
    /// The caller's id (made into one segment here, one-to-one).
    pub user: &'a str,
    /// A fresh unique id.
    pub uuid: &'a str,
    /// Today, `YYYY-MM-DD`.
    pub date: &'a str,
}

/// Why a declared upload does not fit a profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(pub String);

/// A profile setting, as named in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    /// `name`
    Name,
    /// `bucket`
    Bucket,
    /// `key`
    Key,
    /// `min_size`
    MinSize,
    /// `max_size`
    MaxSize,
    /// `expires`
    Expires,
}

impl ProfileField {
    /// The field's name in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Bucket => "bucket",
            Self::Key => "key",
            Self::MinSize => "min_size",
            Self::MaxSize => "max_size",
            Self::Expires => "expires",
        }
    }
}

/// Why a profile is not usable: the field and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProfileError {
    /// The field the problem is about.
    pub field: ProfileField,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Profile {
    /// Checks the template and limits; the error names the field and says what to fix.
    pub fn validate(&self) -> Result<(), ProfileError> {
        use ProfileField as F;
        let fail = |field, message: String| Err(ProfileError { field, message });
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return fail(
                F::Name,
                format!(
                    "name `{}` must be letters, digits, - or _ (it is used in URLs)",
                    self.name
                ),
            );
        }
        if self.bucket.is_empty() {
            return fail(
                F::Bucket,
                "bucket is empty; name the bucket uploads go to".into(),
            );
        }
        let t = &self.key_template;
        if !t.ends_with(FILENAME_PLACEHOLDER) {
            return fail(F::Key, format!("key `{t}` must end with ${{filename}}, e.g. `uploads/{{user}}/{{uuid}}/${{filename}}`"));
        }
        let mut rest = t.replace(FILENAME_PLACEHOLDER, "");
        for p in &PLACEHOLDERS[..3] {
            rest = rest.replace(p, "");
        }
        if rest.contains('{') || rest.contains('}') || rest.contains('$') {
            return fail(F::Key, format!("key `{t}` has an unknown placeholder; use {{user}}, {{uuid}}, {{date}} and ${{filename}}"));
        }
        if t.starts_with('/') || has_dot_segment(t) {
            return fail(
                F::Key,
                format!("key `{t}` must not start with / or contain . or .. segments"),
            );
        }
        // `avatars/{user}x` would let `alice` reach `alicex…`: a user's folder ends at a `/`.
        if t.match_indices("{user}").any(|(i, _)| {
            !t[i + "{user}".len()..].starts_with('/') || (i > 0 && !t[..i].ends_with('/'))
        }) {
            return fail(F::Key, format!("key `{t}`: {{user}} must be a whole folder, with / before it (or at the start) and after it, e.g. `avatars/{{user}}/${{filename}}`; otherwise one user's keys could reach another's"));
        }
        if self.min_size > self.max_size {
            return fail(
                F::MinSize,
                format!(
                    "min_size {} is above max_size {}",
                    self.min_size, self.max_size
                ),
            );
        }
        if self.max_size > MAX_OBJECT_SIZE {
            return fail(
                F::MaxSize,
                "max_size is above S3's 5 TiB object limit".into(),
            );
        }
        if self.expires.is_zero() || self.expires > MAX_EXPIRY {
            return fail(F::Expires, "expires must be between 1s and 7d".into());
        }
        Ok(())
    }

    /// The key template with placeholders filled; with `filename`, `${filename}` is replaced
    /// by its sanitized form, otherwise S3 fills it in.
    pub fn render_key(&self, vars: &KeyVars<'_>, filename: Option<&str>) -> String {
        // One pass over the template into one buffer (this runs on every signed form).
        let user = user_segment(vars.user);
        let filename = filename.map(sanitize_filename);
        let mut key = String::with_capacity(self.key_template.len() + 64);
        let mut rest = self.key_template.as_str();
        while let Some(i) = rest.find(['{', '$']) {
            key.push_str(&rest[..i]);
            rest = &rest[i..];
            let (value, len) = if rest.starts_with("{user}") {
                (user.as_str(), 6)
            } else if rest.starts_with("{uuid}") {
                (vars.uuid, 6)
            } else if rest.starts_with("{date}") {
                (vars.date, 6)
            } else if rest.starts_with(FILENAME_PLACEHOLDER) {
                (
                    filename.as_deref().unwrap_or(FILENAME_PLACEHOLDER),
                    FILENAME_PLACEHOLDER.len(),
                )
            } else {
                (&rest[..1], 1)
            };
            key.push_str(value);
            rest = &rest[len..];
        }
        key.push_str(rest);
        key
    }

    /// The caller's own prefix: everything up to and including the `{user}` segment (or up to
    /// the first per-upload placeholder when the template has no `{user}`).
    pub fn owner_prefix(&self, user: &str) -> String {
        self.owner_prefix_template()
            .replace("{user}", &user_segment(user))
    }

    /// [`Self::owner_prefix`] with `{user}` still in it.
    pub fn owner_prefix_template(&self) -> String {
        let t = &self.key_template;
        let cut = match t.find("{user}") {
            Some(i) => {
                let after = i + "{user}".len();
                t[after..].find('/').map_or(after, |j| after + j + 1)
            }
            None => PLACEHOLDERS
                .iter()
                .filter_map(|p| t.find(p))
                .min()
                .unwrap_or(t.len()),
        };
        t[..cut].to_string()
    }

    /// True when the profile accepts `content_type`: one exact type from its list (any one
    /// plain type when the list is empty), never a list, parameters or a wildcard.
    pub fn allows_type(&self, content_type: &str) -> bool {
        match parse_exact(content_type) {
            Ok(t) => self.content_types.is_empty() || self.content_types.contains(&t),
            Err(_) => false,
        }
    }

    /// Checks a declared size and type before signing; the error is a plain sentence.
    pub fn check_declared(&self, size: u64, content_type: &str) -> Result<(), Mismatch> {
        if size > self.max_size {
            return Err(Mismatch(format!(
                "the file is {}, larger than the {} this upload allows",
                format_size(size),
                format_size(self.max_size)
            )));
        }
        if size < self.min_size {
            return Err(Mismatch(format!(
                "the file is {}, smaller than the {} this upload needs",
                format_size(size),
                format_size(self.min_size)
            )));
        }
        let t = parse_exact(content_type).map_err(Mismatch)?;
        if !self.content_types.is_empty() && !self.content_types.contains(&t) {
            return Err(Mismatch(format!(
                "files of type `{content_type}` are not accepted here; allowed: {}",
                self.types_in_words()
            )));
        }
        Ok(())
    }

    /// The accepted types in words, e.g. `PNG image, JPEG image` or `PDF, Word document (.docx)`.
    pub fn types_in_words(&self) -> String {
        let all: Vec<String> = self.content_types.iter().map(|t| type_label(t)).collect();
        if all.is_empty() {
            "any type".into()
        } else {
            all.join(", ")
        }
    }

    /// The file input's `accept` attribute, e.g. `image/png,image/jpeg`.
    pub fn accept_attr(&self) -> Option<String> {
        (!self.content_types.is_empty()).then(|| self.content_types.join(","))
    }

    /// The longest prefix shared by every accepted type: what S3 can enforce on a form whose
    /// type the browser picks (without JavaScript).
    pub fn common_type_prefix(&self) -> String {
        let all: Vec<&str> = self.content_types.iter().map(String::as_str).collect();
        let Some(first) = all.first() else {
            return String::new();
        };
        let mut len = first.len();
        for t in &all[1..] {
            len = first
                .bytes()
                .zip(t.bytes())
                .take(len)
                .take_while(|(a, b)| a == b)
                .count();
        }
        let mut end = len;
        while !first.is_char_boundary(end) {
            end -= 1;
        }
        first[..end].to_string()
    }

    /// The largest file one POST form (or one PUT) may carry: `max_size`, but never more
    /// than S3's 5 GiB; larger files go in parts.
    pub fn max_single_size(&self) -> u64 {
        self.max_size.min(MAX_POST_SIZE)
    }

    /// A policy for `key` with this profile's limits, metadata and storage options. The caller
    /// adds the Content-Type rule and the success action.
    pub fn policy(&self, key: &str) -> PostPolicyBuilder {
        let mut b = PostPolicy::builder(&self.bucket)
            .key(key)
            .content_length_range(self.min_size, self.max_single_size())
            .expires_in(self.expires);
        for (k, v) in &self.metadata {
            b = b.meta(k, v);
        }
        if let Some(acl) = &self.acl {
            b = b.acl(acl);
        }
        if let Some(sc) = &self.storage_class {
            b = b.storage_class(sc);
        }
        if let Some(sse) = &self.sse {
            b = b.server_side_encryption(sse);
        }
        b
    }

    /// True when a caller with `roles` may use this profile.
    pub fn allows_roles(&self, roles: &[String]) -> bool {
        self.roles.is_empty() || self.roles.iter().any(|r| roles.contains(r))
    }
}

/// A person's name for a MIME type, with the type itself when it is not well known.
pub fn type_label(mime: &str) -> String {
    let known = match mime {
        "application/pdf" => "PDF",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            "Word document (.docx)"
        }
        "application/msword" => "Word 97 document (.doc)",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            "Excel workbook (.xlsx)"
        }
        "application/vnd.oasis.opendocument.text" => "OpenDocument text (.odt)",
        "text/plain" => "plain text",
        "text/csv" => "CSV",
        "image/png" => "PNG image",
        "image/jpeg" => "JPEG image",
        "image/gif" => "GIF image",
        "image/webp" => "WebP image",
        "application/zip" => "ZIP archive",
        _ => return mime.to_string(),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn avatar() -> Profile {
        Profile {
            name: "avatar".into(),
            title: "Avatar".into(),
            bucket: "b".into(),
            key_template: "avatars/{user}/{uuid}/${filename}".into(),
            min_size: 1,
            max_size: 5 << 20,
            content_types: ["image/png", "image/jpeg", "image/gif", "image/webp"]
                .map(String::from)
                .to_vec(),
            expires: Duration::from_secs(900),
            metadata: vec![],
            acl: None,
            storage_class: None,
            sse: None,
            roles: vec!["tier1".into()],
            multiple: false,
        }
    }

    #[test]
    fn keys_and_prefixes() {
        let p = avatar();
        let vars = KeyVars {
            user: "../alice",
            uuid: "U",
            date: "2026-03-14",
        };
        let seg = super::super::filename::user_segment("../alice");
        assert!(seg.starts_with("_alice~"), "{seg}");
        assert_eq!(
            p.render_key(&vars, None),
            format!("avatars/{seg}/U/${{filename}}")
        );
        assert_eq!(
            p.render_key(&vars, Some("../../x.png")),
            format!("avatars/{seg}/U/x.png")
        );
        assert_eq!(p.owner_prefix("../alice"), format!("avatars/{seg}/"));
        let mut every = avatar();
        every.key_template = "{date}/{user}/{uuid}-{date}/${filename}".into();
        assert_eq!(
            every.render_key(&vars, Some("a b.png")),
            format!("2026-03-14/{seg}/U-2026-03-14/a b.png")
        );
        assert_eq!(p.owner_prefix("alice"), "avatars/alice/");
        let mut docs = avatar();
        docs.key_template = "documents/{date}/{uuid}/${filename}".into();
        assert_eq!(docs.owner_prefix("bob"), "documents/");
    }

    #[test]
    fn validation_names_the_problem() {
        let mut p = avatar();
        p.key_template = "a/{nope}/${filename}".into();
        let e = p.validate().unwrap_err();
        assert_eq!(e.field, ProfileField::Key);
        assert!(e.message.contains("unknown placeholder"), "{e}");
        p.key_template = "a/{user}".into();
        assert!(p
            .validate()
            .unwrap_err()
            .message
            .contains("must end with ${filename}"));
        p.key_template = "a/../{user}/${filename}".into();
        assert!(p.validate().unwrap_err().message.contains(".."));
        for reaching in [
            "avatars/{user}${filename}",
            "avatars/x{user}/${filename}",
            "avatars/{user}-{uuid}/${filename}",
        ] {
            p.key_template = reaching.into();
            let e = p.validate().unwrap_err();
            assert_eq!(e.field, ProfileField::Key, "{reaching}");
            assert!(e.message.contains("whole folder"), "{reaching}: {e}");
        }
        p.key_template = "{user}/${filename}".into();
        assert!(p.validate().is_ok());
        let mut q = avatar();
        q.min_size = q.max_size + 1;
        assert_eq!(q.validate().unwrap_err().field, ProfileField::MinSize);
        assert!(avatar().validate().is_ok());
    }

    #[test]
    fn declared_uploads_are_checked_in_words() {
        let p = avatar();
        assert!(p.check_declared(100, "image/png").is_ok());
        let e = p.check_declared(6 << 20, "image/png").unwrap_err().0;
        assert_eq!(
            e,
            "the file is 6 MiB, larger than the 5 MiB this upload allows"
        );
        let e = p.check_declared(100, "text/html").unwrap_err().0;
        assert_eq!(e, "files of type `text/html` are not accepted here; allowed: PNG image, JPEG image, GIF image, WebP image");
        for smuggled in [
            "image/svg+xml",
            "image/png,text/html",
            "image/png; x=y",
            "image/*",
        ] {
            assert!(p.check_declared(100, smuggled).is_err(), "{smuggled}");
        }
    }

    #[test]
    fn common_prefix_of_types() {
        let mut p = avatar();
        p.content_types = vec![
            "application/pdf".into(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document".into(),
        ];
        assert_eq!(p.common_type_prefix(), "application/");
        assert_eq!(avatar().common_type_prefix(), "image/");
    }
}
