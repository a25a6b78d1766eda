//! Plain `cargo test` runs the tests that need nothing outside this repository: unit tests,
//! router tests and the embedded store. The suites against a real S3 (Ceph), Chromium and
//! node sit behind the `integration` feature, which `scripts/test.sh` turns on after it has
//! installed and started them. This test checks that wiring, and its name tells whoever
//! runs plain `cargo test` how to run everything.

#[test]
fn real_s3_browser_and_node_suites_run_with_scripts_test_sh() {
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test.sh"))
        .expect("scripts/test.sh is the README's test command");
    assert!(
        script.contains("--all-features") || script.contains("integration"),
        "scripts/test.sh must turn on the `integration` feature, or the real-S3 and browser suites never run"
    );
    if cfg!(not(feature = "integration")) {
        eprintln!(
            "note: the real-S3, Chromium and node suites are off; run scripts/test.sh for the whole suite"
        );
    }
}
