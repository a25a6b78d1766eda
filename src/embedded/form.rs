//! Reading a POST form's fields before s3s does.
//!
//! s3s parses the multipart form itself and keeps the result private: the
//! `S3` trait never sees the uploaded file's name (needed for `${filename}`,
//! which s3s does not expand) nor the policy (needed for the checks s3s
//! skips). The frontend therefore reads the form up to the file part's
//! headers with [`scan`] (bounded; the same bytes are then replayed to s3s),
//! and hands the result to the store as a [`FormView`] request extension.
//! The store re-verifies the policy signature on this view and checks that
//! its `key` is the one s3s parsed, so a parser disagreement is refused
//! rather than trusted.

/// The variable S3 substitutes in the `key` field.
pub(crate) const FILENAME_VAR: &str = "${filename}";

/// The form fields before the file part, and the file part's name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FormView {
    /// `(lowercased name, value)` in form order.
    fields: Vec<(String, String)>,
    /// The `filename` parameter of the `file` part, if it had one.
    filename: Option<String>,
    /// Bytes from the start of the body to the file's content.
    preamble_len: usize,
}

impl FormView {
    /// The value of field `name` (lowercase); the last one wins, as in s3s.
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

    /// The uploaded file's name as the browser sent it.
    pub(crate) fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// How many bytes of the body precede the file's content.
    pub(crate) fn preamble_len(&self) -> usize {
        self.preamble_len
    }
}

/// Result of scanning the start of a multipart/form-data body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The file part's headers are not in the buffer yet.
    NeedMore,
    /// Read every field up to the `file` part.
    File(FormView),
    /// The form ended (or is not a form) without a `file` part.
    NoFile,
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

/// Reads the fields of the form in `buf` up to its `file` part (the part
/// name is matched case-insensitively, as s3s does).
pub(crate) fn scan(buf: &[u8], boundary: &[u8]) -> Scan {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);

    let mut view = FormView::default();
    // A field whose value ends at the next delimiter: (name, value start).
    let mut open_field: Option<(String, usize)> = None;
    let mut pos = 0;
    loop {
        let Some(at) = find_delimiter(buf, pos, &delim) else {
            return Scan::NeedMore;
        };
        let after = at + delim.len();
        let Some(tail) = buf.get(after..after + 2) else {
            return Scan::NeedMore;
        };
        if tail != b"\r\n" && tail != b"--" {
            // A longer token that merely starts with the boundary.
            pos = after;
            continue;
        }
        if let Some((name, start)) = open_field.take() {
            let end = at.saturating_sub(2).max(start);
            if let Some(Ok(value)) = buf.get(start..end).map(std::str::from_utf8) {
                view.fields.push((name, value.to_owned()));
            }
        }
        if tail == b"--" {
            return Scan::NoFile;
        }
        let headers_start = after + 2;
        let rest = buf.get(headers_start..).unwrap_or_default();
        let (headers, body_start) = if rest.starts_with(b"\r\n") {
            (&rest[..0], headers_start + 2)
        } else {
            match find(rest, b"\r\n\r\n") {
                Some(end) => (&rest[..end], headers_start + end + 4),
                None => return Scan::NeedMore,
            }
        };
        if let Some((name, filename)) = part_disposition(headers) {
            if name.eq_ignore_ascii_case("file") {
                view.filename = filename;
                view.preamble_len = body_start;
                return Scan::File(view);
            }
            open_field = Some((name.to_ascii_lowercase(), body_start));
        }
        pos = body_start;
    }
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

/// First occurrence of `delim` at or after `from` that starts a line.
fn find_delimiter(buf: &[u8], from: usize, delim: &[u8]) -> Option<usize> {
    let mut start = from;
    while let Some(rel) = find(buf.get(start..)?, delim) {
        let at = start + rel;
        if at == 0 || buf.get(at.saturating_sub(2)..at) == Some(b"\r\n".as_slice()) {
            return Some(at);
        }
        start = at + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `(name, filename)` from a part's `Content-Disposition` header.
fn part_disposition(headers: &[u8]) -> Option<(String, Option<String>)> {
    let text = std::str::from_utf8(headers).ok()?;
    // The last Content-Disposition wins, as in s3s.
    let value = text.rsplit("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(value)
    })?;
    let mut name = None;
    let mut filename = None;
    for (param, val) in disposition_params(value) {
        if param.eq_ignore_ascii_case("name") {
            name = Some(val);
        } else if param.eq_ignore_ascii_case("filename") {
            filename = Some(val);
        }
    }
    Some((name?, filename))
}

/// `param=value` pairs of a header value; quoted values end at the next quote,
/// as in s3s's own parser (browsers percent-encode quotes in file names).
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return out;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim().to_owned();
        rest = &rest[name_end..];
        let Some(after_eq) = rest.strip_prefix('=') else {
            continue; // a bare token such as `form-data`
        };
        let after_eq = after_eq.trim_start();
        let (val, remaining) = if let Some(quoted) = after_eq.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            let end = after_eq.find(';').unwrap_or(after_eq.len());
            (after_eq[..end].trim(), &after_eq[end..])
        };
        out.push((name, val.to_owned()));
        rest = remaining;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"Key\"\r\n\r\nuploads/${filename}\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\nabc\r\n--XyZ-not\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nsecond\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\tmp\\r\xc3\xa9sum\xc3\xa9.pdf\"\r\n\
Content-Type: application/pdf\r\n\r\n%PDF";

    #[test]
    fn reads_fields_up_to_file_part_in_every_prefix() {
        let Scan::File(view) = scan(FORM, b"XyZ") else {
            panic!("no file part found");
        };
        assert_eq!(view.filename(), Some("C:\\tmp\\résumé.pdf"));
        assert_eq!(view.preamble_len(), FORM.len() - 4);
        assert_eq!(view.field("policy"), Some("abc\r\n--XyZ-not"));
        assert_eq!(view.field("empty"), Some(""));
        assert_eq!(view.field("key"), Some("second"));
        assert_eq!(
            view.names().collect::<Vec<_>>(),
            ["key", "policy", "empty", "key"]
        );
        let headers_end = FORM.len() - 4;
        for cut in 0..headers_end {
            assert_eq!(scan(&FORM[..cut], b"XyZ"), Scan::NeedMore, "cut at {cut}");
        }
    }

    #[test]
    fn form_without_file() {
        let form = b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--b--\r\n";
        assert_eq!(scan(form, b"b"), Scan::NoFile);
        let form = b"--b\r\nContent-Disposition: form-data; name=\"FILE\"\r\n\r\n";
        let Scan::File(view) = scan(form, b"b") else {
            panic!("no file part found");
        };
        assert_eq!(view.filename(), None);
    }

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
