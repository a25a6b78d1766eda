//! Make an uploader's filename safe to put in a key: no path separators, no `..`, no control
//! or bidi characters, no leading dots, a bounded length, and Unicode kept readable.

use sha2::Digest as _;

/// The longest sanitized name, in bytes.
pub const MAX_FILENAME_BYTES: usize = 120;

fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width and LRM/RLM marks
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2069}' // word joiner, bidi isolates
            | '\u{061C}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Sanitizes a filename for use as the last segment of a key. Never returns an empty string,
/// a string with `/` or `\`, or one that starts with `.`.
pub fn sanitize_filename(raw: &str) -> String {
    // Browsers may send a full path ("C:\fakepath\a.png"): keep the last segment.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out = String::with_capacity(base.len().min(MAX_FILENAME_BYTES));
    let mut last_space = false;
    for c in base.chars() {
        if is_invisible(c) {
            continue;
        }
        let c = match c {
            ':' | '*' | '?' | '"' | '<' | '>' | '|' | '#' | '%' | '{' | '}' | '^' | '`' | '['
            | ']' | '~' | '$' => '_',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && (last_space || out.is_empty()) {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    let trimmed = out.trim_matches(|c: char| c == '.' || c == ' ');
    let mut name = truncate_keeping_extension(trimmed, MAX_FILENAME_BYTES);
    if name.is_empty() {
        name = "file".into();
    }
    name
}

/// Turns a user id into one key segment, one-to-one: a clean id is kept as it is; an id that
/// sanitizing would change (so that `bob.` or ` bob` could land in `bob`'s folder) keeps its
/// readable sanitized form plus `~` and a hash of the raw id.
pub fn user_segment(raw: &str) -> String {
    let clean = sanitize_filename(&raw.replace(['/', '\\', '~'], "_"));
    if clean == raw {
        return clean;
    }
    let digest = sha2::Sha256::digest(raw.as_bytes());
    format!("{clean}~{}", hex::encode(&digest[..8]))
}

fn truncate_keeping_extension(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let ext = s
        .rfind('.')
        .map(|i| &s[i..])
        .filter(|e| e.len() <= 16 && e.len() > 1)
        .unwrap_or("");
    let mut end = max - ext.len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let stem = s[..end].trim_end_matches(['.', ' ']);
    format!("{stem}{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        assert_eq!(sanitize_filename("photo.png"), "photo.png");
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_filename("C:\\fakepath\\résumé final.pdf"),
            "résumé final.pdf"
        );
        assert_eq!(sanitize_filename(".."), "file");
        assert_eq!(sanitize_filename("...."), "file");
        assert_eq!(sanitize_filename(".bashrc"), "bashrc");
        assert_eq!(sanitize_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(sanitize_filename("evil\u{202E}gnp.exe"), "evilgnp.exe");
        assert_eq!(
            sanitize_filename("<script>alert(1)</script>.png"),
            "script_.png"
        );
        assert_eq!(
            sanitize_filename("<img src=x onerror=alert(1)>.png"),
            "_img src=x onerror=alert(1)_.png"
        );
        assert_eq!(sanitize_filename("写真 2026.jpg"), "写真 2026.jpg");
        let long = format!("{}.jpeg", "é".repeat(500));
        let s = sanitize_filename(&long);
        assert!(s.len() <= MAX_FILENAME_BYTES && s.ends_with(".jpeg"), "{s}");
        assert_eq!(user_segment("alice"), "alice");
        let odd = user_segment("a/../b");
        assert!(
            odd.starts_with("a_.._b~") && odd.len() == "a_.._b~".len() + 16,
            "{odd}"
        );
        // Ids that sanitize alike still get their own folders.
        let ids = [
            "bob",
            "bob.",
            " bob",
            "bob ",
            "bob\u{200B}",
            ".bob",
            "bob~x",
            "bob_x",
        ];
        let segs: std::collections::BTreeSet<_> = ids.iter().map(|i| user_segment(i)).collect();
        assert_eq!(segs.len(), ids.len(), "{segs:?}");
        assert!(segs.iter().all(|s| !s.contains('/') && !s.starts_with('.')));
    }
}
