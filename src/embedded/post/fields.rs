//! A POST form's fields, read with `multer` up to the file part.
//!
//! S3 reads every field before the file, decides from them whether the
//! upload is allowed, and only then takes the file's bytes. [`read_fields`]
//! does the same: it returns the fields and the still-unread file part, so
//! the file can be streamed to disk once the form is known to be good.
//! Field names are matched case-insensitively, as S3 does.

use multer::{Field, Multipart};

use crate::embedded::respond::Refusal;

/// The variable S3 substitutes in the `key` field.
pub(crate) const FILENAME_VAR: &str = "${filename}";
/// Most bytes of form fields read before the file part (S3 caps them at 20 KB).
pub(crate) const MAX_FORM_PREAMBLE: usize = 64 * 1024;

/// The form fields before the file part, and the file part's name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FormFields {
    /// `(lowercased name, value)` in form order.
    fields: Vec<(String, String)>,
    /// The `filename` parameter of the `file` part, if it had one.
    filename: Option<String>,
}

impl FormFields {
    /// The value of field `name` (lowercase); the last one wins.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The names of all fields, lowercased.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(n, _)| n.as_str())
    }

    /// Every field, lowercased name first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The uploaded file's name as the browser sent it.
    pub(crate) fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// Adds a field (tests build forms by hand).
    #[cfg(test)]
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.fields
            .push((name.to_ascii_lowercase(), value.to_owned()));
    }

    /// Sets the file part's name (tests build forms by hand).
    #[cfg(test)]
    pub(crate) fn set_filename(&mut self, name: &str) {
        self.filename = Some(name.to_owned());
    }
}

/// Reads the fields up to the `file` part and returns them with that part,
/// unread (`None` when the form has no file).
pub(crate) async fn read_fields<'r>(
    form: &mut Multipart<'r>,
) -> Result<(FormFields, Option<Field<'r>>), Refusal> {
    let mut out = FormFields::default();
    let mut preamble = 0usize;
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_ascii_lowercase();
        preamble += name.len();
        if name == "file" {
            out.filename = field.file_name().map(str::to_owned);
            return Ok((out, Some(field)));
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            preamble += chunk.len();
            if preamble > MAX_FORM_PREAMBLE {
                return Err(Refusal::bad_request(
                    "MaxPostPreDataLengthExceededError",
                    "Your POST request fields preceding the upload file were too large.",
                ));
            }
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value).map_err(|_| {
            Refusal::bad_request(
                "InvalidArgument",
                format!("the form field {name:?} is not UTF-8 text"),
            )
        })?;
        out.fields.push((name, value));
    }
    Ok((out, None))
}

/// A body that is not a readable multipart form.
pub(crate) fn malformed(e: multer::Error) -> Refusal {
    tracing::debug!(error = %e, "embedded S3: unreadable POST form");
    Refusal::bad_request(
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )
}

/// Why `${filename}` could not be expanded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FilenameError {
    /// The key uses `${filename}` but the file part carried no filename.
    #[error("the key uses ${{filename}} but the uploaded file has no filename")]
    Missing,
    /// The filename has no usable last path component.
    #[error("the uploaded file's name is not usable in a key")]
    Unusable,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// `key` with every `${filename}` replaced by the last path component of `filename`.
pub(crate) fn expand(key: &str, filename: Option<&str>) -> Result<String, FilenameError> {
    if !key.contains(FILENAME_VAR) {
        return Ok(key.to_owned());
    }
    let raw = filename.ok_or(FilenameError::Missing)?;
    // Old browsers send the full client path; S3 keeps only the name.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    if base.is_empty() || base == "." || base == ".." || base.chars().any(char::is_control) {
        return Err(FilenameError::Unusable);
    }
    Ok(key.replace(FILENAME_VAR, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_param() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("text/plain; boundary=abc"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn expansion() {
        assert_eq!(expand("u/${filename}", Some("a.txt")), Ok("u/a.txt".into()));
        assert_eq!(
            expand("u/${filename}", Some("C:\\x\\a.txt")),
            Ok("u/a.txt".into())
        );
        assert_eq!(
            expand("u/${filename}", Some("../../etc/passwd")),
            Ok("u/passwd".into())
        );
        assert_eq!(expand("u/fixed", None), Ok("u/fixed".into()));
        assert_eq!(expand("u/${filename}", None), Err(FilenameError::Missing));
        assert_eq!(
            expand("u/${filename}", Some("x/..")),
            Err(FilenameError::Unusable)
        );
        assert_eq!(
            expand("u/${filename}", Some("")),
            Err(FilenameError::Unusable)
        );
    }
}
