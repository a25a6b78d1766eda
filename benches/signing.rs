//! In-process signing benchmarks: `cargo bench --bench signing`.
//!
//! Cases, all on the policy in `bench/avatar.rs` (8 conditions once signed):
//! - `post/sign/warm`: `Signer::sign_post` on a built policy, signing key cached (the steady
//!   state of a long-lived `Signer`, as in `signpost serve`).
//! - `post/build+sign/warm`: builds (and lints) the policy, then signs it: what one form costs a
//!   caller end to end, and what boto3's `generate_presigned_post` does per call.
//! - `post/sign/derive-fresh-signer`: a new `Signer` for every signature (made outside the timed
//!   part), so the key is derived (4 HMAC-SHA256) every time.
//! - `post/sign/derive-alternating-date`: one `Signer`, the clock alternating between two days,
//!   so the single-entry cache misses every time: derivation without the cost of a new `Signer`.
//! - `get/presign`: a presigned GET URL (`Signer::presign_get`, aws-sigv4's query signing).
//!
//! After criterion's own report, a plain table of µs/op and ops/s (one thread) from a separate
//! timed loop over the same cases. `cargo test --benches` runs each case once, as a test.

use criterion::{BatchSize, Criterion};
use signpost::{GetOptions, Signer};
use std::hint::black_box;
use std::time::{Duration, Instant};
use time::macros::datetime;
use time::OffsetDateTime;

#[path = "../bench/avatar.rs"]
mod avatar;

const NOW: OffsetDateTime = datetime!(2026-03-14 15:09:26 UTC);
const NEXT_DAY: OffsetDateTime = datetime!(2026-03-15 15:09:26 UTC);

fn warm_signer() -> Signer {
    let signer = avatar::signer();
    signer.sign_post(&avatar::policy(NOW), NOW).unwrap();
    signer
}

fn presign_get(signer: &Signer) -> String {
    signer
        .presign_get(
            avatar::BUCKET,
            avatar::GET_KEY,
            Duration::from_secs(3600),
            NOW,
            &GetOptions::default(),
        )
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let policy = avatar::policy(NOW);
    let signer = warm_signer();

    let mut g = c.benchmark_group("post");
    g.bench_function("sign/warm", |b| {
        b.iter(|| {
            signer
                .sign_post(black_box(&policy), black_box(NOW))
                .unwrap()
        })
    });
    g.bench_function("build+sign/warm", |b| {
        b.iter(|| {
            let p = avatar::policy(black_box(NOW));
            signer.sign_post(&p, NOW).unwrap()
        })
    });
    g.bench_function("sign/derive-fresh-signer", |b| {
        b.iter_batched(
            avatar::signer,
            // The signer is returned so that dropping it is not timed either.
            |s| {
                let form = s.sign_post(black_box(&policy), black_box(NOW)).unwrap();
                (s, form)
            },
            BatchSize::SmallInput,
        )
    });
    let alternating = avatar::signer();
    let mut flip = false;
    g.bench_function("sign/derive-alternating-date", |b| {
        b.iter(|| {
            flip = !flip;
            let now = if flip { NEXT_DAY } else { NOW };
            alternating
                .sign_post(black_box(&policy), black_box(now))
                .unwrap()
        })
    });
    g.finish();

    c.benchmark_group("get")
        .bench_function("presign", |b| b.iter(|| presign_get(black_box(&signer))));
}

/// Criterion's arguments: `--bench` without `--test`, `--list` or `--profile-time` means a real
/// benchmark run; the first free argument is the name filter.
fn benchmark_run() -> Option<Option<String>> {
    const TAKES_VALUE: &[&str] = &[
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--load-baseline",
        "--format",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--color",
        "-c",
        "--plotting-backend",
        "--output-format",
    ];
    let mut bench = false;
    let mut filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => bench = true,
            "--test" | "--list" | "--profile-time" => return None,
            a if TAKES_VALUE.contains(&a) => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => {
                filter.get_or_insert_with(|| a.to_string());
            }
        }
    }
    bench.then_some(filter)
}

/// Times `n` calls: `timed(n)` runs them and returns the time they took.
type Timed<'a> = dyn FnMut(u64) -> Duration + 'a;

/// Runs in rounds of about 300 ms and returns the median time per call.
fn per_op(timed: &mut Timed<'_>) -> Duration {
    let mut n = 1u64;
    while timed(n) < Duration::from_millis(50) {
        n *= 2;
    }
    let n = n * 6;
    let mut rounds: Vec<Duration> = (0..7).map(|_| timed(n) / n as u32).collect();
    rounds.sort();
    rounds[rounds.len() / 2]
}

/// Times `n` calls of `op`, all of it.
fn simple(mut op: impl FnMut()) -> impl FnMut(u64) -> Duration {
    move |n| {
        let t = Instant::now();
        for _ in 0..n {
            op();
        }
        t.elapsed()
    }
}

fn summary(filter: Option<&str>) {
    let policy = avatar::policy(NOW);
    let signer = warm_signer();
    let mut rows: Vec<(&str, Duration)> = Vec::new();
    let mut run = |name: &'static str, timed: &mut Timed<'_>| {
        if filter.is_none_or(|f| name.contains(f)) {
            rows.push((name, per_op(timed)));
        }
    };
    run(
        "post/sign/warm",
        &mut simple(|| {
            black_box(signer.sign_post(black_box(&policy), NOW).unwrap());
        }),
    );
    run(
        "post/build+sign/warm",
        &mut simple(|| {
            let p = avatar::policy(black_box(NOW));
            black_box(signer.sign_post(&p, NOW).unwrap());
        }),
    );
    // A fresh signer per signature; making and dropping signers and forms is not timed, as in
    // criterion's `iter_batched`.
    run("post/sign/derive-fresh-signer", &mut |n| {
        let mut total = Duration::ZERO;
        let mut left = n;
        while left > 0 {
            let batch = left.min(1000);
            left -= batch;
            let signers: Vec<Signer> = (0..batch).map(|_| avatar::signer()).collect();
            let mut forms = Vec::with_capacity(signers.len());
            let t = Instant::now();
            for s in &signers {
                forms.push(s.sign_post(black_box(&policy), NOW).unwrap());
            }
            total += t.elapsed();
            black_box(forms);
        }
        total
    });
    let alternating = avatar::signer();
    let mut flip = false;
    run(
        "post/sign/derive-alternating-date",
        &mut simple(|| {
            flip = !flip;
            let now = if flip { NEXT_DAY } else { NOW };
            black_box(alternating.sign_post(black_box(&policy), now).unwrap());
        }),
    );
    run(
        "get/presign",
        &mut simple(|| {
            black_box(presign_get(black_box(&signer)));
        }),
    );

    println!();
    println!("Summary (own timed loop after criterion: median of 7 rounds, one thread)");
    println!("{:<36} {:>10} {:>12}", "case", "µs/op", "ops/s");
    for (name, d) in rows {
        let secs = d.as_secs_f64();
        println!("{name:<36} {:>10.3} {:>12.0}", secs * 1e6, 1.0 / secs);
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    if let Some(filter) = benchmark_run() {
        summary(filter.as_deref());
    }
}
