//! The accept loop: serves the router on hyper connections, with a header-read timeout, an
//! idle timeout and a cap on open connections, so idle or slowly-sending clients cannot
//! starve the server.
//!
//! At the cap, the oldest idle connection (waiting for a request or still sending its head)
//! is closed to make room for the new one; a new connection is refused (a bare 503) only
//! when every open connection is serving a request. The cap leaves descriptors for S3 calls,
//! files and the embedded store: at start the soft file limit is raised to fit it (up to the
//! hard limit), or else the cap is lowered. Running out of descriptors anyway (`EMFILE`)
//! also closes the oldest idle connection instead of waiting.

mod conn;

use crate::server::config::ConnectionLimits;
use axum::Router;
use conn::{ConnState, Timeouts};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

/// Descriptors kept free of client connections (S3 calls, files, the embedded store).
const DESCRIPTOR_RESERVE: u64 = 128;
/// How often the connection-pressure warning may repeat.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The connection cap that fits this process: `max` or fewer, leaving [`DESCRIPTOR_RESERVE`]
/// descriptors (or half of them when the limit is small) for everything else. A soft file
/// limit below what `max` needs is first raised towards the hard limit, as Go and nginx do.
pub fn effective_cap(max: usize) -> usize {
    let wanted = u64::try_from(max)
        .unwrap_or(u64::MAX)
        .saturating_add(DESCRIPTOR_RESERVE);
    let Some(limit) = descriptor_limit(wanted) else {
        return max;
    };
    let fits = limit
        .saturating_sub(DESCRIPTOR_RESERVE.min(limit / 2))
        .max(1);
    let fits = usize::try_from(fits).unwrap_or(usize::MAX);
    if fits < max {
        tracing::warn!(
            "server.max_connections is {max}, but this process may open only {limit} files: \
             serving at most {fits} connections at once (raise the hard limit with \
             `ulimit -Hn` or LimitNOFILE= to allow more)"
        );
    }
    max.min(fits)
}

/// The soft descriptor limit, raised towards `wanted` (up to the hard limit) when lower.
#[cfg(unix)]
fn descriptor_limit(wanted: u64) -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let soft = limit.current?;
    let target = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
    if soft < target {
        limit.current = Some(target);
        match setrlimit(Resource::Nofile, limit) {
            Ok(()) => {
                tracing::info!("raised the open-file limit from {soft} to {target}");
                return Some(target);
            }
            Err(e) => tracing::debug!(error = %e, "could not raise the open-file limit"),
        }
    }
    Some(soft)
}

#[cfg(not(unix))]
fn descriptor_limit(_wanted: u64) -> Option<u64> {
    None
}

/// An open connection, by accept order.
struct Open {
    state: Arc<ConnState>,
    task: AbortHandle,
}

/// Counts what the cap did, for a warning at most every [`WARN_EVERY`].
#[derive(Default)]
struct Pressure {
    shed: u64,
    refused: u64,
    accept_errors: u64,
    last_warning: Option<Instant>,
}

impl Pressure {
    fn maybe_warn(&mut self, cap: usize, error: Option<&std::io::Error>) {
        if self.last_warning.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return;
        }
        self.last_warning = Some(Instant::now());
        tracing::warn!(
            cap,
            closed_idle = self.shed,
            refused = self.refused,
            accept_errors = self.accept_errors,
            error = error.map(tracing::field::display),
            "too many connections: closing the oldest idle ones to make room \
             (see server.max_connections, server.header_timeout, server.idle_timeout)"
        );
        *self = Self {
            last_warning: self.last_warning,
            ..Self::default()
        };
    }
}

/// Closes the oldest connection that is not serving a request; `false` when all are.
fn shed_oldest_idle(open: &mut BTreeMap<u64, Open>) -> bool {
    let Some(id) = open
        .iter()
        .find(|(_, o)| o.state.try_close())
        .map(|(id, _)| *id)
    else {
        return false;
    };
    if let Some(o) = open.remove(&id) {
        o.task.abort();
    }
    true
}

/// Answers a connection that cannot be served now, and closes it.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    );
}

/// Errors of one connection that came and went, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Serves `router` on `listener` until `stop` completes, then stops accepting, closes idle
/// connections and waits for the requests in flight. `cap` is the connection cap, from
/// [`effective_cap`] (called before serving, so the file limit is raised by then).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    cap: usize,
    stop: impl Future<Output = ()>,
) {
    let timeouts = Timeouts {
        header: limits.header_timeout,
        idle: limits.idle_timeout,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks: JoinSet<u64> = JoinSet::new();
    let mut open: BTreeMap<u64, Open> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut pressure = Pressure::default();
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => match done {
                Ok((_, id)) => {
                    open.remove(&id);
                }
                Err(e) => {
                    // Shed connections were removed when aborted; a panicked one is not yet.
                    if e.is_panic() {
                        let task = e.id();
                        open.retain(|_, o| o.task.id() != task);
                    }
                }
            },
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if open.len() >= cap {
                        if shed_oldest_idle(&mut open) {
                            pressure.shed += 1;
                        } else {
                            pressure.refused += 1;
                            pressure.maybe_warn(cap, None);
                            refuse(stream);
                            continue;
                        }
                        pressure.maybe_warn(cap, None);
                    }
                    let id = next_id;
                    next_id += 1;
                    let state = ConnState::new();
                    let serving = conn::serve(
                        stream,
                        peer,
                        router.clone(),
                        Arc::clone(&state),
                        timeouts,
                        stop_rx.clone(),
                    );
                    let task = tasks.spawn(async move {
                        serving.await;
                        id
                    });
                    open.insert(id, Open { state, task });
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Out of descriptors (or memory): free one held by an idle connection
                    // and try again at once; with none idle, wait a moment.
                    pressure.accept_errors += 1;
                    let freed = shed_oldest_idle(&mut open);
                    if freed {
                        pressure.shed += 1;
                    }
                    pressure.maybe_warn(cap, Some(&e));
                    let pause = if freed { 1 } else { 50 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
}
