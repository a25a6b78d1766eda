//! The files pages in headless Chromium, against signpost and Ceph: a person opens `/files`,
//! shares a file for a day or until a date (with and without JavaScript), downloads it
//! through the link, and deletes a file after confirming.

#![cfg(feature = "integration")]

mod support;

use signpost::server::Running;
use support::browser::{Browser, Driver, Js};
use support::http::{client, fetch_bytes};
use support::s3::{unique_prefix, S3Env};
use support::server::{config, q, STATE_SECRET};
use tempfile::TempDir;
use time::OffsetDateTime;

struct Shared {
    running: Running,
    s3: S3Env,
    root: String,
    _data: TempDir,
}

impl Shared {
    /// The demo's open auth, on Ceph, with one area that may be shared for up to 3 days.
    async fn start(test: &str) -> Shared {
        let s3 = S3Env::from_env();
        let root = unique_prefix(test);
        let toml = format!(
            r#"
[server]
listen = "127.0.0.1:0"
state_secret = "{STATE_SECRET}"
{s3_section}[[access]]
name = "Shared reports"
bucket = "{bucket}"
prefix = "{root}shared/"
allow = ["get", "list", "delete"]
max_expires = "3d"
"#,
            s3_section = s3.s3_section(),
            bucket = s3.bucket_a,
        );
        let data = TempDir::new().unwrap();
        let running = signpost::server::start(config(&toml), data.path().to_path_buf(), None)
            .await
            .expect("server starts");
        Shared {
            running,
            s3,
            root,
            _data: data,
        }
    }

    async fn put(&self, key: &str, bytes: &[u8]) {
        let t = "application/octet-stream";
        self.s3.put_object(&self.s3.bucket_a, key, t, bytes).await;
    }

    fn folder_url(&self) -> String {
        format!(
            "{}/files?bucket={}&prefix={}",
            self.running.url,
            q(&self.s3.bucket_a),
            q(&format!("{}shared/", self.root))
        )
    }
}

fn expires_param(url: &str) -> u64 {
    url.split(['?', '&'])
        .find_map(|p| p.strip_prefix("X-Amz-Expires="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no X-Amz-Expires in {url}"))
}

/// The link in the share page's text field, once the page shows one.
async fn shown_link(b: &Browser) -> String {
    b.find("#share-link")
        .await
        .prop("value")
        .await
        .expect("read the field")
        .expect("the link is shown")
}

/// Opens the share page of the file named `name` from the folder page.
async fn open_share(b: &Browser, s: &Shared, name: &str) {
    b.goto(&s.folder_url()).await;
    let xpath = format!("li.object[data-key$='{name}'] a.share");
    b.find(&xpath).await.click().await.expect("click Share");
    b.wait_path("/files/share").await;
}

async fn share_journey(js: Js, name: &str) {
    let s = Shared::start(name).await;
    let key = format!("{}shared/q1 report.pdf", s.root);
    s.put(&key, b"%PDF-1.4 quarterly").await;
    let driver = Driver::start();
    let b = driver.browser(js).await;
    b.journey(name, async {
        // The start page leads to the files, and the area is listed.
        b.goto(&format!("{}/files", s.running.url)).await;
        assert!(b.text(".areas").await.contains("Shared reports"));
        open_share(&b, &s, "q1 report.pdf").await;
        // Choices go up to the area's 3 days: no "7 days".
        let labels = b.text("fieldset").await;
        assert!(
            labels.contains("1 day") && !labels.contains("7 days"),
            "{labels}"
        );
        b.find("input[name=expires][value='1d']")
            .await
            .click()
            .await
            .unwrap();
        b.find("#make-link").await.click().await.unwrap();
        let link = shown_link(&b).await;
        b.screenshot_both_widths(&format!("{name}-link")).await;
        assert_eq!(expires_param(&link), 86_400);
        assert_eq!(fetch_bytes(&link).await, b"%PDF-1.4 quarterly");
        if matches!(js, Js::On) {
            assert_eq!(b.count("button.copy").await, 1);
        }
        // Until a date: the day after tomorrow, midnight UTC.
        open_share(&b, &s, "q1 report.pdf").await;
        let day = (OffsetDateTime::now_utc() + time::Duration::days(2)).date();
        let date = format!(
            "{:04}-{:02}-{:02}",
            day.year(),
            u8::from(day.month()),
            day.day()
        );
        b.find("input[name=expires][value='']")
            .await
            .click()
            .await
            .unwrap();
        b.js(
            "document.getElementById('expires-at').value = arguments[0]",
            vec![serde_json::json!(date)],
        )
        .await;
        b.find("#make-link").await.click().await.unwrap();
        let link = shown_link(&b).await;
        let end = day.midnight().assume_utc();
        let left = (end - OffsetDateTime::now_utc()).whole_seconds() as u64;
        let got = expires_param(&link);
        // The link was signed a moment before `left` was measured (and from the whole second).
        assert!(got <= left + 5 && got + 30 >= left, "{got} vs {left}");
        assert_eq!(b.count("#capped").await, 0);
        // A date beyond the area's 3 days is capped, and the page says so.
        open_share(&b, &s, "q1 report.pdf").await;
        let far = (OffsetDateTime::now_utc() + time::Duration::days(20)).date();
        let far = format!(
            "{:04}-{:02}-{:02}",
            far.year(),
            u8::from(far.month()),
            far.day()
        );
        b.find("input[name=expires][value='']")
            .await
            .click()
            .await
            .unwrap();
        b.js(
            "document.getElementById('expires-at').value = arguments[0]",
            vec![serde_json::json!(far)],
        )
        .await;
        b.find("#make-link").await.click().await.unwrap();
        assert!(b
            .text("#capped")
            .await
            .contains("longer than this area allows"));
        let link = shown_link(&b).await;
        assert_eq!(expires_param(&link), 3 * 86_400);
    })
    .await;
    s.running.shutdown().await;
}

#[tokio::test]
async fn share_a_file_for_a_day_or_until_a_date_with_javascript() {
    share_journey(Js::On, "files-share-js").await;
}

#[tokio::test]
async fn share_a_file_for_a_day_or_until_a_date_without_javascript() {
    share_journey(Js::Off, "files-share-nojs").await;
}

#[tokio::test]
async fn delete_after_confirming() {
    let s = Shared::start("files-delete").await;
    let key = format!("{}shared/old.txt", s.root);
    s.put(&key, b"old").await;
    let driver = Driver::start();
    let b = driver.browser(Js::Off).await;
    b.journey("files-delete", async {
        b.goto(&s.folder_url()).await;
        b.find("li.object[data-key$='old.txt'] a.delete")
            .await
            .click()
            .await
            .unwrap();
        b.wait_path("/files/delete").await;
        assert!(b.text("h1").await.contains("Delete"));
        assert!(
            s.s3.object_bytes(&s.s3.bucket_a, &key).await.is_some(),
            "not before confirming"
        );
        b.find("#confirm-delete").await.click().await.unwrap();
        b.wait_path("/files").await;
        assert_eq!(b.count("li.object[data-key$='old.txt']").await, 0);
    })
    .await;
    assert!(
        s.s3.object_bytes(&s.s3.bucket_a, &key).await.is_none(),
        "really gone"
    );
    // A forged token is refused and nothing is deleted.
    let other = format!("{}shared/keep.txt", s.root);
    s.put(&other, b"keep").await;
    let r = client()
        .post(format!("{}/files/delete", s.running.url))
        .form(&[
            ("bucket", s.s3.bucket_a.as_str()),
            ("key", other.as_str()),
            ("token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(s.s3.object_bytes(&s.s3.bucket_a, &other).await.is_some());
    s.running.shutdown().await;
}
