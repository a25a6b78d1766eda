//! One connection: what it is doing (waiting, reading a head, serving), its timeouts, and the
//! hyper connection that serves the router on it with the peer's `ConnectInfo`.
//!
//! A connection is *idle* when no request is being served on it: waiting for a request, or
//! part-way through a request head. Only idle connections are ever closed by the server
//! (timeouts, shedding at the cap, shutdown), and the phase changes under one lock, so a
//! request that has started is always finished.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

/// The two timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    /// From the first byte of a request to its complete head.
    pub(super) header: Duration,
    /// Waiting for a request with nothing of it received.
    pub(super) idle: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request, none of it received, since then.
    Idle(Instant),
    /// Part of a request head received, the first byte then.
    Head(Instant),
    /// Serving this many requests (until each response has been handed over).
    Busy(usize),
    /// Closed by the server; no request starts on it.
    Closed,
}

/// What a connection is doing, shared by its task, its I/O and the accept loop.
pub(super) struct ConnState {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl ConnState {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived: a waiting connection starts its header clock.
    fn bytes_read(&self) {
        let mut p = self.lock();
        if let Phase::Idle(_) = *p {
            *p = Phase::Head(Instant::now());
            drop(p);
            self.changed.notify_one();
        }
    }

    /// A request head is complete: the connection is busy until its response is handed over.
    /// `None` when the server has already closed the connection.
    fn begin(self: &Arc<Self>) -> Option<InFlight> {
        let mut p = self.lock();
        *p = match *p {
            Phase::Idle(_) | Phase::Head(_) => Phase::Busy(1),
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Closed => return None,
        };
        Some(InFlight(Arc::clone(self)))
    }

    /// Marks an idle connection closed; `false` (and nothing changes) when it is serving.
    pub(super) fn try_close(&self) -> bool {
        let mut p = self.lock();
        match *p {
            Phase::Idle(_) | Phase::Head(_) => {
                *p = Phase::Closed;
                true
            }
            Phase::Busy(_) | Phase::Closed => false,
        }
    }

    /// When the connection should be closed if nothing changes; `None` while it is serving.
    fn deadline(&self, t: Timeouts) -> Option<Instant> {
        match *self.lock() {
            Phase::Idle(since) => Some(since + t.idle),
            Phase::Head(since) => Some(since + t.header),
            Phase::Busy(_) | Phase::Closed => None,
        }
    }

    /// Closes the connection if its deadline has passed; says whether it did, and which.
    fn close_if_expired(&self, t: Timeouts) -> Option<&'static str> {
        let mut p = self.lock();
        let now = Instant::now();
        let why = match *p {
            Phase::Idle(since) if now >= since + t.idle => "idle timeout",
            Phase::Head(since) if now >= since + t.header => "header timeout",
            _ => return None,
        };
        *p = Phase::Closed;
        Some(why)
    }
}

/// A request being served; dropped when its response body is done (or dropped).
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut p = self.0.lock();
        match *p {
            Phase::Busy(1) => {
                *p = Phase::Idle(Instant::now());
                drop(p);
                self.0.changed.notify_one();
            }
            Phase::Busy(n) => *p = Phase::Busy(n - 1),
            _ => {}
        }
    }
}

/// The socket, telling the state when bytes arrive.
struct TrackedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_read();
        }
        res
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request counted as in flight until it is done.
struct TrackedBody {
    inner: Body,
    _in_flight: Option<InFlight>,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on one accepted connection until the client leaves, a timeout closes it
/// while idle, or `stop` turns true (then an idle connection closes at once and a busy one
/// after its response).
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    state: Arc<ConnState>,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) {
    let in_state = Arc::clone(&state);
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let in_flight = in_state.begin();
        let router = router.clone();
        async move {
            let Some(in_flight) = in_flight else {
                let mut closing = http::Response::new(TrackedBody {
                    inner: Body::empty(),
                    _in_flight: None,
                });
                *closing.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                return Ok::<_, Infallible>(closing);
            };
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            let resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
            Ok(resp.map(|inner| TrackedBody {
                inner,
                _in_flight: Some(in_flight),
            }))
        }
    });
    let io = TokioIo::new(TrackedIo {
        inner: stream,
        state: Arc::clone(&state),
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let mut stopping = false;
    loop {
        if !stopping && *stop.borrow() {
            stopping = true;
            if state.try_close() {
                return;
            }
            conn.as_mut().graceful_shutdown();
        }
        let deadline = state.deadline(timeouts);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                if let Some(why) = state.close_if_expired(timeouts) {
                    tracing::debug!(%peer, "closing the connection: {why}");
                    return;
                }
            }
            _ = state.changed.notified() => {}
            changed = stop.changed(), if !stopping => {
                if changed.is_err() {
                    // The accept loop is gone: treat it as a stop.
                    stopping = true;
                    if state.try_close() {
                        return;
                    }
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
