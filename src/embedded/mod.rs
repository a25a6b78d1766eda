//! Embedded S3-compatible store for demos and tests (being written).
