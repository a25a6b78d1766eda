//! Idle and slowly-sending clients cannot starve the server (issue 10, item 6).
//!
//! The real `signpost` binary runs under `prlimit --nofile=1024:1024`; 1,100 connections that
//! send nothing or dribble a request head one line at a time (and reconnect when closed, as an
//! attacker would) are held open against it, and `GET /healthz` must still answer within a
//! second. Linux only: it uses `prlimit` (util-linux) and `/proc`. Traffic stays on 127.0.0.1.

#![cfg(all(target_os = "linux", feature = "server"))]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server process's descriptor limit, as in the report.
const SERVER_NOFILE: u64 = 1024;
/// Connections held open by the attacker.
const ATTACKERS: usize = 1100;
/// `/healthz` tries while the attack runs.
const TRIES: usize = 5;
/// Each try gives up here (it fails the test either way; this only bounds its time).
const TRY_LIMIT: Duration = Duration::from_secs(3);

/// The `signpost` binary, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the demo `signpost serve` under a descriptor limit (soft, hard).
    fn start(soft: u64, hard: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={soft}:{hard}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_signpost"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"));
        for (k, _) in std::env::vars() {
            if k.starts_with("SIGNPOST_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("prlimit runs (util-linux)");
        let stdout = child.stdout.take().unwrap();
        let mut addr = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("open http://").nth(1) {
                addr = rest.split('/').next().and_then(|a| a.parse().ok());
                break;
            }
        }
        let addr = addr.expect("signpost printed its URL");
        let server = Self {
            child,
            addr,
            _dir: dir,
        };
        assert_eq!(
            server.nofile().1,
            hard,
            "the server runs under the hard limit"
        );
        server
    }

    /// The server process's descriptor limit now (soft, hard), from `/proc`.
    fn nofile(&self) -> (u64, u64) {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid())).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        let mut values = line.split_whitespace().skip(3).map(|v| v.parse().unwrap());
        (values.next().unwrap(), values.next().unwrap())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Descriptors the server process holds now.
    fn descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

/// Raises this test process's own soft descriptor limit so it can hold the attack's sockets.
fn allow_own_descriptors(needed: u64) {
    let pid = std::process::id().to_string();
    let out = Command::new("prlimit")
        .args([
            "--pid",
            &pid,
            "--nofile",
            "--output",
            "SOFT,HARD",
            "--noheadings",
        ])
        .output()
        .expect("prlimit runs (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let parse = |v: Option<&str>| match v {
        Some("unlimited") => u64::MAX,
        Some(v) => v.parse::<u64>().unwrap_or(0),
        None => 0,
    };
    let (soft, hard) = (parse(parts.next()), parse(parts.next()));
    if soft >= needed {
        return;
    }
    assert!(
        hard >= needed,
        "this test needs {needed} descriptors; the hard limit is {hard} (raise it with ulimit -Hn)"
    );
    let status = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={needed}:")])
        .status()
        .unwrap();
    assert!(status.success(), "raising the test's own descriptor limit");
}

/// One attacker connection: `slow` ones send a request head one header line every 500 ms and
/// never finish it; the others send nothing. A closed connection is opened again.
async fn attacker(
    addr: SocketAddr,
    slow: bool,
    open: Arc<AtomicUsize>,
    reopened: Arc<AtomicUsize>,
) {
    let mut first = true;
    loop {
        let conn = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await;
        let Ok(Ok(mut stream)) = conn else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if first {
            open.fetch_add(1, Ordering::Relaxed);
            first = false;
        } else {
            reopened.fetch_add(1, Ordering::Relaxed);
        }
        let mut buf = [0u8; 512];
        if slow {
            if stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await
                .is_err()
            {
                continue;
            }
            loop {
                tokio::select! {
                    r = stream.read(&mut buf) => if !matches!(r, Ok(n) if n > 0) { break },
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {
                        if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                            break;
                        }
                    }
                }
            }
        } else {
            // Wait until the server closes (EOF or error), then come back.
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        }
        drop(stream);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One `GET /healthz` on a fresh connection: the time to a complete `200` status line, or
/// `None` when it did not come within [`TRY_LIMIT`].
async fn healthz(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(2).any(|w| w == b"\r\n") {
            let n = s.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            got.extend_from_slice(&buf[..n]);
        }
        Some(got)
    };
    let got = tokio::time::timeout(TRY_LIMIT, attempt).await.ok()??;
    let line = String::from_utf8_lossy(&got);
    assert!(
        line.starts_with("HTTP/1.1 200"),
        "healthz answered {line:?}"
    );
    Some(started.elapsed())
}

#[test]
fn healthz_answers_within_a_second_while_1100_slow_clients_hold_connections() {
    allow_own_descriptors(4096);
    let server = Server::start(SERVER_NOFILE, SERVER_NOFILE);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = server.addr;
    let idle_fds = server.descriptors();
    let (times, open, reopened, held) = rt.block_on(async {
        assert!(
            healthz(addr).await.is_some(),
            "healthz answers before the attack"
        );
        let open = Arc::new(AtomicUsize::new(0));
        let reopened = Arc::new(AtomicUsize::new(0));
        let mut attack = tokio::task::JoinSet::new();
        for i in 0..ATTACKERS {
            attack.spawn(attacker(addr, i % 2 == 1, open.clone(), reopened.clone()));
        }
        let deadline = Instant::now() + Duration::from_secs(8);
        while open.load(Ordering::Relaxed) < ATTACKERS && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let open = open.load(Ordering::Relaxed);
        // Let the server take what it can from its backlog: until its descriptor count holds
        // still for half a second (at most 5 s).
        let settle = Instant::now() + Duration::from_secs(5);
        let mut held = server.descriptors();
        while Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = server.descriptors();
            if now == held {
                break;
            }
            held = now;
        }
        let mut times = Vec::new();
        for _ in 0..TRIES {
            times.push(healthz(addr).await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        attack.abort_all();
        while attack.join_next().await.is_some() {}
        (times, open, reopened.load(Ordering::Relaxed), held)
    });
    drop(rt);
    let shown: Vec<String> = times
        .iter()
        .map(|t| {
            t.map_or("no answer in 3 s".into(), |d| {
                format!("{} ms", d.as_millis())
            })
        })
        .collect();
    eprintln!(
        "{open} attacker connections opened ({reopened} reopened after the server closed them); \
         server descriptors: {idle_fds} before, {held} under attack; /healthz: {shown:?}"
    );
    assert_eq!(open, ATTACKERS, "every attacker connection was opened");
    assert!(
        times
            .iter()
            .all(|t| t.is_some_and(|d| d < Duration::from_secs(1))),
        "/healthz must answer within 1 s under the attack: {shown:?}"
    );
}

/// A soft limit below what the cap needs is raised (up to the hard limit): the default cap of
/// 1,024 connections plus 128 spare descriptors.
#[test]
fn the_server_raises_a_low_soft_descriptor_limit_to_fit_its_cap() {
    let server = Server::start(256, 4096);
    assert_eq!(server.nofile(), (1024 + 128, 4096));
}
