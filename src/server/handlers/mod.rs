//! Thin HTTP handlers, one module per resource: they extract the caller and the inputs, call
//! the service layer, and shape the answer (JSON for the API, pages for people).

pub mod api;
pub mod companion;
pub mod files;
pub mod issuer;
pub mod pages;
pub mod session;
pub mod uploaded;
