//! The listener's own limits, on the real server over TCP (`signpost::server::start`, the demo
//! config on the embedded store): `server.idle_timeout`, `server.header_timeout`,
//! `server.max_connections`, and graceful shutdown (idle connections close at once, requests
//! in flight finish). The descriptor-limit attack is in `slow_clients.rs`.

#![cfg(feature = "server")]

use signpost::server::config::Config;
use signpost::server::{start, Running};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// The demo server with these limits.
async fn server(header: u64, idle: u64, max: usize) -> (Running, tempfile::TempDir) {
    server_with(header, idle, max, |_| {}).await
}

async fn server_with(
    header: u64,
    idle: u64,
    max: usize,
    change: impl FnOnce(&mut Config),
) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::demo("127.0.0.1:0".parse().unwrap());
    change(&mut config);
    config.server.connections.header_timeout = Duration::from_secs(header);
    config.server.connections.idle_timeout = Duration::from_secs(idle);
    config.server.connections.max_connections = max;
    let running = start(config, dir.path().to_path_buf(), None).await.unwrap();
    (running, dir)
}

/// Waits (at most `limit`) until the server closes `s`; the time it took, or `None`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

/// Reads one response (head and `content-length` body); returns its status line.
async fn response(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if got.len() >= end + 4 + len {
                    return head.lines().next().unwrap_or_default().to_string();
                }
            }
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before a full response");
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("a response within 5 s")
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

/// A request whose handler is running, waiting for the last byte of its body.
async fn busy(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr).await;
    s.write_all(b"POST /api/v1/s3-error HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n<")
        .await
        .unwrap();
    s
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let (running, _dir) = server(30, 1, 100).await;
    let mut s = connect(running.addr).await;
    let t = closed_within(&mut s, Duration::from_secs(5))
        .await
        .expect("closed");
    assert!(
        t >= Duration::from_millis(900) && t < Duration::from_millis(2500),
        "{t:?}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_trickled_head_is_closed_after_the_header_timeout() {
    let (running, _dir) = server(1, 30, 100).await;
    let mut s = connect(running.addr).await;
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (mut rd, mut wr) = s.split();
    let trickle = async {
        // One header line every 200 ms: bytes keep coming, the head never ends.
        while wr.write_all(b"X-Slow: 1\r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        std::future::pending::<()>().await;
    };
    let mut buf = [0u8; 256];
    let closed = async { while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {} };
    let within = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::select! { () = closed => {}, () = trickle => {} }
    })
    .await;
    let t = started.elapsed();
    assert!(within.is_ok(), "closed");
    assert!(
        t >= Duration::from_millis(900) && t < Duration::from_millis(2500),
        "{t:?}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn keep_alive_serves_until_the_idle_timeout_then_closes() {
    let (running, _dir) = server(30, 1, 100).await;
    let mut s = connect(running.addr).await;
    for _ in 0..3 {
        s.write_all(HEALTHZ).await.unwrap();
        assert!(response(&mut s).await.starts_with("http/1.1 200"));
        // Less than the idle timeout between requests: the connection stays.
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let t = closed_within(&mut s, Duration::from_secs(5))
        .await
        .expect("closed");
    assert!(t < Duration::from_millis(1500), "{t:?}");
    running.shutdown().await;
}

#[tokio::test]
async fn at_the_cap_the_oldest_idle_connection_makes_room() {
    let (running, _dir) = server(30, 30, 3).await;
    let addr = running.addr;
    let mut oldest = connect(addr).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut others = vec![connect(addr).await, connect(addr).await];
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut s = connect(addr).await;
    s.write_all(HEALTHZ).await.unwrap();
    assert!(response(&mut s).await.starts_with("http/1.1 200"));
    assert!(
        closed_within(&mut oldest, Duration::from_secs(1))
            .await
            .is_some(),
        "the oldest idle connection was closed"
    );
    for o in &mut others {
        assert!(
            closed_within(o, Duration::from_millis(200)).await.is_none(),
            "newer idle connections stay"
        );
    }
    running.shutdown().await;
}

#[tokio::test]
async fn when_every_connection_is_busy_a_new_one_gets_503_and_requests_in_flight_finish() {
    let (running, _dir) = server(30, 30, 2).await;
    let addr = running.addr;
    let mut a = busy(addr).await;
    let mut b = busy(addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut s = connect(addr).await;
    assert!(response(&mut s).await.starts_with("http/1.1 503"));
    for c in [&mut a, &mut b] {
        c.write_all(b">").await.unwrap();
        assert!(response(c).await.starts_with("http/1.1 200"));
    }
    running.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_idle_connections_at_once_and_finishes_requests_in_flight() {
    let (running, _dir) = server(30, 30, 100).await;
    let addr = running.addr;
    let mut silent = connect(addr).await;
    let mut partial = connect(addr).await;
    partial.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let mut in_flight = busy(addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut stopping = tokio::spawn(running.shutdown());
    for c in [&mut silent, &mut partial] {
        assert!(
            closed_within(c, Duration::from_secs(1)).await.is_some(),
            "idle connections close at once"
        );
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut stopping)
            .await
            .is_err(),
        "shutdown waits for the request in flight"
    );
    in_flight.write_all(b">").await.unwrap();
    assert!(response(&mut in_flight).await.starts_with("http/1.1 200"));
    tokio::time::timeout(Duration::from_secs(2), stopping)
        .await
        .expect("shutdown ends once the request is done")
        .unwrap();
}

/// The rate limiter keys callers without a token by their address: the handlers see each
/// connection's peer (`ConnectInfo`). Linux routes all of 127.0.0.0/8 to loopback.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn handlers_see_the_peer_address() {
    use signpost::server::config::RateLimit;
    let (running, _dir) = server_with(30, 30, 100, |c| {
        c.server.rate_limit = Some(RateLimit {
            per_second: 1,
            burst: 1,
        });
    })
    .await;
    let addr = running.addr;
    let sign = |from: [u8; 4]| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((from, 0))).unwrap();
        let mut s = socket.connect(addr).await.unwrap();
        s.write_all(
            b"POST /api/v1/sign/avatar HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        )
        .await
        .unwrap();
        response(&mut s).await
    };
    assert!(!sign([127, 0, 0, 1]).await.contains(" 429"));
    assert!(
        sign([127, 0, 0, 1]).await.contains(" 429"),
        "the same peer is limited"
    );
    let other = sign([127, 0, 0, 2]).await;
    assert!(
        !other.contains(" 429"),
        "another peer has its own budget: {other}"
    );
    running.shutdown().await;
}
