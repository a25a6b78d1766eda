//! Ceph's s3-tests POST object cases (SigV4 port in tests/py/post_object_s3tests.py)
//! run against a real Ceph RGW and against `signpost store`: the store gives
//! upstream's expected status on every case, accepts and refuses exactly what
//! Ceph does (but for the named Ceph deviations below), and answers the same
//! error code wherever Ceph follows AWS.
//!
//! Needs Ceph (`scripts/test.sh` starts one; or `scripts/ceph.sh start DIR`
//! then `source DIR/env`) and the test venv (`scripts/install-test-deps.sh`).
//! Either missing fails the test with what to run.

#![cfg(feature = "integration")]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::store::StoreProcess;

/// Cases where Ceph departs from AWS (and from upstream s3-tests' expectation),
/// so accept/refuse legitimately differs: Ceph stores a form whose signed
/// `x-amz-checksum-sha256` is not even base64; AWS and the store refuse it.
const CEPH_ACCEPTS_WRONGLY: &[&str] = &["upload_checksum_bad"];

/// Cases where Ceph's error code is not AWS's: (case, Ceph's code, AWS's code).
const CEPH_CODES: &[(&str, &str, &str)] = &[
    (
        "authenticated_request_bad_access_key",
        "AccessDenied",
        "InvalidAccessKeyId",
    ),
    ("invalid_access_key", "AccessDenied", "InvalidAccessKeyId"),
    ("invalid_signature", "AccessDenied", "SignatureDoesNotMatch"),
    (
        "invalid_date_format",
        "InvalidArgument",
        "InvalidPolicyDocument",
    ),
    (
        "condition_is_case_sensitive",
        "InvalidArgument",
        "InvalidPolicyDocument",
    ),
    (
        "expires_is_case_sensitive",
        "InvalidArgument",
        "InvalidPolicyDocument",
    ),
    (
        "missing_expires_condition",
        "InvalidArgument",
        "InvalidPolicyDocument",
    ),
    (
        "missing_conditions_list",
        "InvalidArgument",
        "InvalidPolicyDocument",
    ),
    (
        "missing_content_length_argument",
        "InvalidArgument",
        "InvalidPolicyDocument",
    ),
    (
        "invalid_content_length_argument",
        "EntityTooLarge",
        "InvalidPolicyDocument",
    ),
    (
        "empty_conditions",
        "InvalidArgument",
        "InvalidPolicyDocument",
    ),
];

fn python() -> PathBuf {
    let venv = std::env::var_os("SIGNPOST_TEST_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/signpost-test-venv"))
        })
        .expect("HOME or SIGNPOST_TEST_VENV must be set to find the test venv");
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "boto3 is not in {}: run scripts/install-test-deps.sh",
        venv.display()
    );
    python
}

fn ceph_env() -> Vec<(&'static str, String)> {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: this test needs Ceph. Run scripts/test.sh, or \
                 scripts/ceph.sh start DIR && source DIR/env"
            )
        })
    };
    let region = get("SIGNPOST_TEST_S3_REGION");
    vec![
        ("AWS_ENDPOINT_URL", get("SIGNPOST_TEST_S3_ENDPOINT")),
        ("AWS_ACCESS_KEY_ID", get("SIGNPOST_TEST_S3_ACCESS_KEY")),
        ("AWS_SECRET_ACCESS_KEY", get("SIGNPOST_TEST_S3_SECRET_KEY")),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region),
    ]
}

/// Runs every ported case against the store `env` points at.
fn run_cases(
    python: &Path,
    env: &[(&'static str, String)],
    against: &str,
) -> BTreeMap<String, Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/post_object_s3tests.py");
    let work = tempfile::tempdir().expect("temp dir");
    let out = Command::new(python)
        .arg(script)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .envs(env.iter().cloned())
        .env("AWS_CONFIG_FILE", work.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", work.path().join("none"))
        .output()
        .expect("run tests/py/post_object_s3tests.py");
    assert!(
        out.status.success(),
        "the s3-tests port failed against {against}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: BTreeMap<String, Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            (v["case"].as_str().expect("case name").to_owned(), v)
        })
        .collect();
    assert!(
        results.len() >= 30,
        "only {} cases ran against {against}",
        results.len()
    );
    results
}

fn accepted(v: &Value) -> bool {
    v["status"]
        .as_u64()
        .is_some_and(|s| (200..400).contains(&s))
}

#[test]
fn s3_tests_post_object_cases_agree_between_ceph_and_signpost_store() {
    let python = python();
    let ceph = run_cases(&python, &ceph_env(), "Ceph");
    let store = StoreProcess::spawn(&[]);
    let ours = run_cases(&python, &store.aws_env(), "signpost store");

    let mut problems = Vec::new();
    for (name, mine) in &ours {
        let theirs = &ceph[name];
        if mine["status"] != mine["expected"] || mine["check"] == false {
            problems.push(format!(
                "store, {name}: expected {}, got {mine}",
                mine["expected"]
            ));
        }
        let ceph_deviates = CEPH_ACCEPTS_WRONGLY.contains(&name.as_str());
        if (accepted(mine) != accepted(theirs)) != ceph_deviates {
            problems.push(format!("{name}: store {mine} but Ceph {theirs}"));
        }
        let (my_code, ceph_code) = (&mine["code"], &theirs["code"]);
        match CEPH_CODES.iter().find(|(case, ..)| case == name) {
            Some((_, ceph_says, aws_says)) if ceph_code != ceph_says || my_code != aws_says => {
                problems.push(format!(
                    "{name}: expected Ceph {ceph_says} (not AWS's) and the store {aws_says}; got Ceph {ceph_code}, store {my_code}"
                ));
            }
            Some(_) => {}
            None if !ceph_deviates && my_code != ceph_code => {
                problems.push(format!(
                    "{name}: store code {my_code}, Ceph code {ceph_code}"
                ));
            }
            None => {}
        }
    }
    assert_eq!(ours.len(), ceph.len(), "the two runs ran different cases");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
