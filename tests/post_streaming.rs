//! POST uploads of ordinary files to `signpost store` are stored byte for
//! byte, whatever their bytes, and stream to disk with flat memory.
//!
//! s3s 0.14.1's own form parser failed on random 20 MiB files about 6 times
//! in 10 ("failed to read file stream") and held whole files in memory. The
//! 1 KiB, 20 MiB and boundary-lookalike cases run in every suite run; the
//! 256 MiB and 1 GiB cases with the memory bound are `#[ignore]`d (run them
//! with `cargo test --all-features --release --test post_streaming -- --ignored`,
//! as `scripts/test.sh` does).

#![cfg(feature = "server")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};
use signpost::{GetOptions, PostPolicy, PresignedPost};
use support::http::{client, multipart_form};
use support::store::StoreProcess;
use time::OffsetDateTime;

const BUCKET: &str = "uploads";

/// A fast deterministic byte source (xorshift64*), so big files need no memory.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        Noise(seed).fill(&mut out);
        out
    }
}

fn form(store: &StoreProcess, max: u64) -> PresignedPost {
    let now = OffsetDateTime::now_utc();
    let policy = PostPolicy::builder(BUCKET)
        .key_prefix("big/")
        .content_length_range(0, max)
        .expires_in(Duration::from_secs(3600))
        .build(now)
        .expect("policy");
    store.signer().sign_post(&policy, now).expect("sign")
}

async fn download_sha256(store: &StoreProcess, key: &str) -> (u64, Vec<u8>) {
    let url = store
        .signer()
        .presign_get(
            BUCKET,
            key,
            Duration::from_secs(600),
            OffsetDateTime::now_utc(),
            &GetOptions::default(),
        )
        .expect("presign get");
    let resp = reqwest::get(url).await.expect("GET sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut hash = Sha256::new();
    let mut len = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("body chunk");
        len += chunk.len() as u64;
        hash.update(&chunk);
    }
    (len, hash.finalize().to_vec())
}

/// Bytes that look like the start of a multipart delimiter at every 64 KiB
/// boundary (and often in between), where s3s's parser broke.
fn boundary_lookalike(len: usize, boundary: &str) -> Vec<u8> {
    let mut data = Noise::bytes(7, len);
    let half = format!("\r\n--{}", &boundary[..boundary.len() / 2]);
    for at in (65_536..len).step_by(65_536) {
        data[at - 3..at].copy_from_slice(b"\r\n-");
    }
    for at in (10_000..len.saturating_sub(half.len())).step_by(50_021) {
        data[at..at + half.len()].copy_from_slice(half.as_bytes());
    }
    data
}

#[tokio::test]
async fn ordinary_files_are_stored_byte_for_byte() {
    let store = StoreProcess::spawn(&["--bucket", BUCKET]);
    let signed = form(&store, 64 << 20);
    let http = client();
    // The boundary reqwest will use, so the lookalike file can mimic it.
    let probe = Form::new();
    let lookalike = boundary_lookalike(20 << 20, probe.boundary());
    let cases: Vec<(&str, Vec<u8>, Form)> = vec![
        ("small.bin", Noise::bytes(1, 1024), Form::new()),
        ("random-20m.bin", Noise::bytes(2, 20 << 20), Form::new()),
        ("lookalike-20m.bin", lookalike, probe),
    ];
    for (name, data, empty) in cases {
        let part = Part::bytes(data.clone()).file_name(name.to_owned());
        let resp = http
            .post(&signed.url)
            .multipart(multipart_form(empty, &signed.fields, part))
            .send()
            .await
            .expect("POST sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert_eq!(status, StatusCode::NO_CONTENT, "{name}: {text}");
        let (len, sha) = download_sha256(&store, &format!("big/{name}")).await;
        assert_eq!(len, data.len() as u64, "{name}: stored size");
        assert_eq!(
            sha,
            Sha256::digest(&data).to_vec(),
            "{name}: stored bytes differ"
        );
    }
}

/// Resident memory of `pid`, in bytes (Linux).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("this test reads /proc/PID/status: run it on Linux");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib * 1024
}

/// Uploads `len` bytes of noise as a streamed file and returns (sha256, peak RSS seen).
async fn stream_upload(store: &StoreProcess, name: &str, len: u64) -> (Vec<u8>, u64) {
    let signed = form(store, 2 << 30);
    let hash = Arc::new(Mutex::new(Sha256::new()));
    let chunk = 1 << 20;
    let mut noise = Noise(len);
    let h = Arc::clone(&hash);
    let stream = futures_util::stream::iter((0..len).step_by(chunk)).map(move |at| {
        let n = usize::try_from((len - at).min(chunk as u64)).expect("chunk size");
        let mut buf = vec![0; n];
        noise.fill(&mut buf);
        h.lock().expect("hash").update(&buf);
        Ok::<_, std::io::Error>(buf)
    });
    let part = Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
        .file_name(name.to_owned());

    let pid = store.pid();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(rss(pid));
            std::thread::sleep(Duration::from_millis(10));
        }
        peak
    });
    let resp = client()
        .post(&signed.url)
        .multipart(multipart_form(Form::new(), &signed.fields, part))
        .send()
        .await
        .expect("POST sent");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().expect("sampler");
    let status = resp.status();
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let sha = hash.lock().expect("hash").clone().finalize().to_vec();
    (sha, peak)
}

#[tokio::test]
#[ignore = "uploads 1.25 GiB; run with --ignored (scripts/test.sh does)"]
async fn big_uploads_stream_to_disk_with_flat_memory() {
    const SLACK: u64 = 32 << 20;
    let store = StoreProcess::spawn(&["--bucket", BUCKET]);
    // Warm up the allocator and connection paths before measuring idle.
    let (_, _) = stream_upload(&store, "warmup.bin", 4 << 20).await;
    let idle = rss(store.pid());
    for (name, len) in [("256m.bin", 256u64 << 20), ("1g.bin", 1 << 30)] {
        let started = Instant::now();
        let (sha, peak) = stream_upload(&store, name, len).await;
        eprintln!(
            "{name}: uploaded in {:.1?}, store RSS idle {} MiB, peak {} MiB",
            started.elapsed(),
            idle >> 20,
            peak >> 20
        );
        assert!(
            peak <= idle + SLACK,
            "{name}: the store's RSS rose from {} MiB to {} MiB during the upload (allowed: +32 MiB)",
            idle >> 20,
            peak >> 20
        );
        let (stored_len, stored_sha) = download_sha256(&store, &format!("big/{name}")).await;
        assert_eq!(stored_len, len, "{name}: stored size");
        assert_eq!(stored_sha, sha, "{name}: stored bytes differ");
    }
}
