//! S3 wire facts, each written once.

/// True when `key` has a `.` or `..` segment.
pub fn has_dot_segment(key: &str) -> bool {
    key.split('/').any(|s| s == ".." || s == ".")
}
