//! signpost's side of `bench/peers.sh`: signs the policy of `bench/avatar.rs` in a timed loop,
//! the way the peers' scripts do (fixed credentials, real clock), and prints µs/op.
//!
//! ```text
//! cargo run --release --example sign_loop -- [--seconds S] [--iters N] [--case CASE]
//! ```
//!
//! Cases (default: all): `build+sign` (build the policy and sign it, signing key cached: the
//! equivalent of one `generate_presigned_post` / `createPresignedPost` call on a long-lived
//! client), `build+sign-derive` (the same with the key derived every time, as botocore does),
//! `sign` (sign a built policy). With `--iters N`, runs exactly N signatures of the first case
//! and no timing rounds (for callgrind). Output lines: `RESULT <case> <µs/op> <ops>`, then one
//! `POLICY <base64>` line so the script can check that everyone signed the same conditions.

use signpost::Signer;
use std::hint::black_box;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

#[path = "../bench/avatar.rs"]
mod avatar;

const CASES: &[&str] = &["build+sign", "build+sign-derive", "sign"];

fn once(case: &str, signer: &Signer, now: OffsetDateTime, built: &signpost::PostPolicy) {
    match case {
        "build+sign" => {
            black_box(signer.sign_post(&avatar::policy(now), now).unwrap());
        }
        "build+sign-derive" => {
            let fresh = avatar::signer();
            black_box(fresh.sign_post(&avatar::policy(now), now).unwrap());
        }
        "sign" => {
            black_box(signer.sign_post(black_box(built), now).unwrap());
        }
        other => panic!("unknown case {other}; one of {CASES:?}"),
    }
}

fn main() {
    let mut seconds = 3.0f64;
    let mut iters: Option<u64> = None;
    let mut cases: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match a.as_str() {
            "--seconds" => seconds = value().parse().expect("--seconds S"),
            "--iters" => iters = Some(value().parse().expect("--iters N")),
            "--case" => cases.push(value()),
            other => panic!("unknown argument {other}"),
        }
    }
    if cases.is_empty() {
        cases = CASES.iter().map(|c| c.to_string()).collect();
    }

    let now = OffsetDateTime::now_utc();
    let signer = avatar::signer();
    let built = avatar::policy(now);
    let form = signer.sign_post(&built, now).unwrap();

    if let Some(n) = iters {
        for _ in 0..n {
            once(&cases[0], &signer, now, &built);
        }
        return;
    }

    for case in &cases {
        // Warm up for a tenth of the time, then count calls until the time is up.
        let warm = Instant::now();
        while warm.elapsed().as_secs_f64() < seconds / 10.0 {
            once(case, &signer, now, &built);
        }
        let budget = Duration::from_secs_f64(seconds);
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            for _ in 0..1000 {
                once(case, &signer, now, &built);
            }
            n += 1000;
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("RESULT {case} {us:.3} {n}");
    }
    println!("POLICY {}", form.field("policy").unwrap());
}
