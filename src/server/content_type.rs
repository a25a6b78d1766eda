//! Content types: what a caller may declare, how a link signpost hands out serves a file, and
//! whether a stored file's first bytes are what its type says.
//!
//! A browser runs what an object's type lets it run, on the storage's origin. So a declared
//! type is one exact `type/subtype` from a list; links show only a few types that cannot carry
//! script inline (with that type forced), and make everything else a download; and an upload
//! whose bytes are something else than it claims is removed.

/// Types a link may show in the browser. Each is forced with `response-content-type`, so a
/// file stored as `text/html` behind a `.png` name is still shown as an image (and fails).
pub const INLINE_SAFE: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// The type a download is served with.
pub const DOWNLOAD_TYPE: &str = "application/octet-stream";

/// How many first bytes are read to tell a file's real type.
pub const SNIFF_LEN: u64 = 8192;

/// A declared type as one exact `type/subtype`, in lower case; the error says what is wrong.
pub fn parse_exact(declared: &str) -> Result<String, String> {
    let t = declared.trim().to_ascii_lowercase();
    let shown: String = t.chars().filter(|c| !c.is_control()).take(80).collect();
    if t.is_empty() {
        return Err("the file's type is empty; send its MIME type, e.g. image/png".into());
    }
    if t.contains([';', ',', ' ', '\t', '*']) || t.chars().any(|c| c.is_control()) {
        return Err(format!(
            "`{shown}` is not one plain MIME type; send exactly one type such as image/png, \
             without parameters, lists, spaces or *"
        ));
    }
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match t.split_once('/') {
        Some((ty, sub)) if token(ty) && token(sub) => Ok(t),
        _ => Err(format!(
            "`{shown}` is not a MIME type; send one written type/subtype, such as image/png"
        )),
    }
}

/// How a link serves a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serving {
    /// The `response-content-type` to force.
    pub content_type: &'static str,
    /// The `response-content-disposition` to force (a download), or `None` to show it.
    pub disposition: Option<String>,
}

/// How to serve `key`, stored (or asked for) as `content_type`: shown with that type forced
/// when it is one of [`INLINE_SAFE`] and `download` is false, otherwise downloaded as
/// [`DOWNLOAD_TYPE`] under the key's last segment.
pub fn serving(key: &str, content_type: Option<&str>, download: bool) -> Serving {
    let safe = content_type
        .map(|t| t.trim().to_ascii_lowercase())
        .and_then(|t| INLINE_SAFE.iter().copied().find(|s| *s == t));
    match safe {
        Some(t) if !download => Serving {
            content_type: t,
            disposition: None,
        },
        Some(t) => Serving {
            content_type: t,
            disposition: Some(attachment(key)),
        },
        None => Serving {
            content_type: DOWNLOAD_TYPE,
            disposition: Some(attachment(key)),
        },
    }
}

/// The safe-to-show type a key's extension names, if any: a guess that is forced, so a file
/// that is something else only fails to show.
pub fn by_extension(key: &str) -> Option<&'static str> {
    let name = key.rsplit('/').next()?;
    let (_, ext) = name.rsplit_once('.')?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => return None,
    })
}

/// `attachment; filename="…"` for the key's last segment: a plain ASCII name, plus the exact
/// name as `filename*` (RFC 6266) when it has other characters.
pub fn attachment(key: &str) -> String {
    let name = key
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("file");
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == name {
        format!("attachment; filename=\"{ascii}\"")
    } else {
        let exact = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
    }
}

/// What a file's first bytes are, when they tell (`infer`'s signatures).
pub fn sniff(first_bytes: &[u8]) -> Option<&'static str> {
    infer::get(first_bytes).map(|k| k.mime_type())
}

/// Checks that `first_bytes` fit `declared`; the error names what the bytes really are.
///
/// A type with a known signature (PNG, JPEG, PDF, …) needs that signature. Any other type
/// (plain text, CSV, JSON…) needs bytes with no recognised signature at all, so an HTML
/// page, a script or an executable cannot pass as text.
pub fn check_bytes(declared: &str, first_bytes: &[u8]) -> Result<(), String> {
    let found = sniff(first_bytes);
    let ok = if declared == DOWNLOAD_TYPE {
        // "Some bytes": it claims nothing, and it is only ever served as a download.
        true
    } else if infer::is_mime_supported(declared) {
        infer::is_mime(first_bytes, declared)
            // An Office or OpenDocument file is a ZIP whose first entries may not say which.
            || (found == Some("application/zip") && is_zip_document(declared))
    } else if declared.ends_with("+xml") || declared.ends_with("/xml") {
        matches!(found, None | Some("text/xml"))
    } else {
        found.is_none()
    };
    if ok {
        return Ok(());
    }
    Err(match found {
        Some(real) => format!(
            "its content is {} ({real}), not {}",
            describe(real),
            describe(declared)
        ),
        None => format!("its content is not {} ({declared})", describe(declared)),
    })
}

fn is_zip_document(t: &str) -> bool {
    t.starts_with("application/vnd.openxmlformats-officedocument.")
        || t.starts_with("application/vnd.oasis.opendocument.")
}

/// A person's word for a type: `a PNG image`, `an HTML page`, or the type itself.
fn describe(t: &str) -> String {
    match t {
        "text/html" => "an HTML page".into(),
        "text/xml" => "XML".into(),
        "image/svg+xml" => "an SVG image".into(),
        "application/pdf" => "a PDF".into(),
        "application/zip" => "a ZIP archive".into(),
        _ => match super::profile::type_label(t) {
            label if label == t => format!("a file of type {t}"),
            label if label.starts_with(['A', 'E', 'I', 'O', 'U']) => format!("an {label}"),
            label => format!("a {label}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_are_one_exact_type() {
        assert_eq!(parse_exact(" Image/PNG ").unwrap(), "image/png");
        assert_eq!(
            parse_exact("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
                .unwrap(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        for bad in [
            "image/png,text/html",
            "image/png; charset=utf-8",
            "image/*",
            "*/*",
            "image/ png",
            "image",
            "image/",
            "/png",
            "image/png/x",
            "text/html\r\nx: y",
            "",
        ] {
            let e = parse_exact(bad).unwrap_err();
            assert!(e.contains("type"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn only_safe_types_are_shown_and_always_forced() {
        let png = serving("a/b/cat.png", Some("image/png"), false);
        assert_eq!(png.content_type, "image/png");
        assert_eq!(png.disposition, None);
        for risky in [
            Some("image/svg+xml"),
            Some("text/html"),
            Some("image/png,text/html"),
            Some("application/xhtml+xml"),
            None,
        ] {
            let s = serving("a/b/x.svg", risky, false);
            assert_eq!(s.content_type, DOWNLOAD_TYPE, "{risky:?}");
            assert_eq!(
                s.disposition.as_deref(),
                Some("attachment; filename=\"x.svg\"")
            );
        }
        let d = serving("a/b/cat.png", Some("image/png"), true);
        assert_eq!(
            d.disposition.as_deref(),
            Some("attachment; filename=\"cat.png\"")
        );
    }

    #[test]
    fn attachment_names_are_plain_with_the_exact_name_beside() {
        assert_eq!(
            attachment("x/say \"hi\".txt"),
            "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22%2Etxt"
        );
        assert_eq!(
            attachment("x/写真.png"),
            "attachment; filename=\"__.png\"; filename*=UTF-8''%E5%86%99%E7%9C%9F%2Epng"
        );
        assert_eq!(attachment("x/"), "attachment; filename=\"file\"");
    }

    #[test]
    fn bytes_must_be_what_the_type_says() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n";
        let html = b"<html><body><script>alert(1)</script></body></html>";
        assert!(check_bytes("image/png", png).is_ok());
        assert!(check_bytes("application/pdf", pdf).is_ok());
        assert!(check_bytes("text/plain", b"just words\n").is_ok());
        let pattern: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(sniff(&pattern), None);
        assert!(check_bytes("text/plain", &pattern).is_ok());
        assert!(check_bytes(DOWNLOAD_TYPE, pdf).is_ok());
        let e = check_bytes("image/png", pdf).unwrap_err();
        assert_eq!(e, "its content is a PDF (application/pdf), not a PNG image");
        let e = check_bytes("image/png", html).unwrap_err();
        assert!(e.contains("an HTML page (text/html)"), "{e}");
        assert!(check_bytes("text/plain", html).is_err());
        assert!(check_bytes("image/jpeg", b"").is_err());
        let e = check_bytes("image/png", b"not an image").unwrap_err();
        assert_eq!(e, "its content is not a PNG image (image/png)");
    }
}
