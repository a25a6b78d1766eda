//! The tests' one HTTP client and one multipart poster, and the fetches built on them.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use signpost::PresignedPost;

/// The HTTP client every test uses. It does not follow redirects, so a 303 (S3's
/// `success_action_redirect`, a sign-in) is seen as such.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// A form as a browser sends it: `fields` in order, then `file` as the part named `file`
/// (last), file names raw, not percent-encoded. `form` is empty: `Form::new()`, or one whose
/// boundary the test has read.
pub fn multipart_form(form: Form, fields: &[(String, String)], file: Part) -> Form {
    let mut form = form.percent_encode_noop();
    for (name, value) in fields {
        form = form.text(name.clone(), value.clone());
    }
    form.part("file", file)
}

/// A POST of `fields` in order, then the file (named `file_name`, with part Content-Type
/// `content_type` when given) as [`multipart_form`] to `url`. Ready to send, or to add
/// headers to.
pub fn multipart_request(
    url: &str,
    fields: &[(String, String)],
    file_name: &str,
    bytes: &[u8],
    content_type: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut file = Part::bytes(bytes.to_vec()).file_name(file_name.to_string());
    if let Some(t) = content_type {
        file = file.mime_str(t).expect("a valid MIME type");
    }
    client()
        .post(url)
        .multipart(multipart_form(Form::new(), fields, file))
}

/// Sends [`multipart_request`]: a browser's form POST.
pub async fn post_multipart(
    url: &str,
    fields: &[(String, String)],
    file_name: &str,
    bytes: &[u8],
    content_type: Option<&str>,
) -> reqwest::Response {
    multipart_request(url, fields, file_name, bytes, content_type)
        .send()
        .await
        .expect("POST sent")
}

/// Like [`post_multipart`], returning the status and body.
pub async fn post_fields(
    url: &str,
    fields: &[(String, String)],
    file_name: &str,
    bytes: &[u8],
    content_type: Option<&str>,
) -> (StatusCode, String) {
    let resp = post_multipart(url, fields, file_name, bytes, content_type).await;
    let status = resp.status();
    (status, resp.text().await.expect("POST body"))
}

/// POSTs the signed form as a browser does: its fields in order, then `file`.
pub async fn post_form(
    post: &PresignedPost,
    file_name: &str,
    bytes: &[u8],
    content_type: Option<&str>,
) -> (StatusCode, String) {
    post_fields(&post.url, &post.fields, file_name, bytes, content_type).await
}

/// The `Location` of a redirect, panicking with the body when the answer is not 303.
pub async fn expect_303(resp: reqwest::Response) -> String {
    let status = resp.status();
    let loc = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status.as_u16(), 303, "S3 should redirect: {body}");
    loc.expect("a 303 has a Location")
}

/// GETs `url` (optionally with a bearer token) and returns status and body.
pub async fn fetch(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("GET sent");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// GETs `url` and returns the bytes (panics unless 200).
pub async fn fetch_bytes(url: &str) -> Vec<u8> {
    let resp = client().get(url).send().await.expect("GET sent");
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body").to_vec();
    assert_eq!(
        status.as_u16(),
        200,
        "GET {url}: {}",
        String::from_utf8_lossy(&bytes)
    );
    bytes
}
