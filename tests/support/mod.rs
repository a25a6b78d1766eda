//! What the test suites share. Each test file declares `mod support;` and uses the parts it
//! needs:
//!
//! - [`http`]: the one HTTP client, the one multipart poster (a browser's form POST) and
//!   fetches built on them;
//! - [`html`]: pages as a browser parses them (`scraper`): text, forms, injected markup;
//! - [`png`]: real PNG images of a chosen size (`png`);
//! - [`s3`]: the real S3 (Ceph) of the integration suites and unique key prefixes;
//! - [`server`]: configs, JWTs, the oneshot router and the checks on its answers;
//! - [`companion`]: the config and upload ids of the Uppy Companion route tests;
//! - [`store`]: `signpost store` as a child process;
//! - [`browser`], [`node`], [`oidc_site`], [`uppy_server`]: headless Chromium, the Node.js
//!   parts (an OpenID provider, the Uppy page, axe-core) and the servers the browser tests
//!   use.

// Every test binary compiles all of it and uses a part.
#![allow(dead_code)]

pub mod browser;
pub mod companion;
pub mod html;
pub mod http;
pub mod node;
pub mod oidc_site;
pub mod png;
pub mod s3;
pub mod server;
pub mod store;
pub mod uppy_server;
