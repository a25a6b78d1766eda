//! Request logs name the route, never the path: a sealed upload state (or a key in a query)
//! never reaches the log, at any level. In a binary of its own: the test sets a log
//! subscriber, and tests running beside it on other threads (with none) could make its
//! callsites forget it.

mod support;

use support::server::*;
use time::OffsetDateTime;

fn tokens_config() -> String {
    format!(
        r#"
[server]
state_secret = "{STATE_SECRET}"

{auth}
[[profile]]
name = "avatar"
bucket = "pics"
key = "avatars/{{user}}/{{uuid}}/${{filename}}"
max_size = "5MiB"
content_types = ["image/png"]
"#,
        auth = tokens_auth(None, &[("alice-token", "alice", &["tier1"])]),
    )
}

/// Request logs name the route, never the path: a sealed upload state (or a key in a query)
/// never reaches the log, at any level.
#[tokio::test]
async fn logs_carry_the_route_never_the_upload_state() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests run without a subscriber: have every callsite ask again.
    tracing::callsite::rebuild_interest_cache();
    let (_, app) = oneshot_app(config(&tokens_config())).await;
    let later = OffsetDateTime::now_utc().unix_timestamp() + 600;
    let st = sealed("avatar", "alice", "avatars/alice/", later);
    call(
        &app,
        get(
            &format!("/uploaded/{st}?key=avatars%2Fbob%2Fsecret.png"),
            Some("alice-token"),
        ),
    )
    .await
    .page_error(403);
    let logged = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("request refused"),
        "the refusal is logged: {logged}"
    );
    assert!(
        !logged.contains(&st),
        "the state leaked into the log: {logged}"
    );
    assert!(!logged.contains("alice-token"), "{logged}");
}
