//! Object keys the file-backed store can hold.
//!
//! s3s-fs maps a key to a path under its bucket's directory, so a key such as
//! `up/../other-bucket/x` would escape it. Such keys are refused everywhere.
//! A backslash is an ordinary key character (S3 and Ceph store `\$foo.txt`),
//! except on Windows, where it would be a path separator.

use s3s::{s3_error, S3Result};

/// Longest key S3 accepts, in bytes.
const MAX_KEY_LEN: usize = 1024;

/// Refuses keys that would not map to a file inside their bucket's directory.
pub(crate) fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() {
        return Err(s3_error!(InvalidArgument, "empty object key"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(s3_error!(KeyTooLongError));
    }
    let unsafe_key = key.starts_with('/')
        || (cfg!(windows) && key.contains('\\'))
        || key.contains('\0')
        || key.split('/').any(|seg| seg == "." || seg == "..");
    if unsafe_key {
        return Err(s3_error!(
            InvalidArgument,
            "this store keeps objects as files and refuses keys with '.' or '..' segments or a leading '/'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(check_key("uploads/a.txt").is_ok());
        assert!(check_key("uploads/dir/").is_ok());
        for bad in ["", "/etc/passwd", "up/../other/x", "..", "./a", "a/./b"] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_key(&"k".repeat(1025)).is_err());
        assert_eq!(check_key("\\$foo.txt").is_ok(), !cfg!(windows));
    }
}
