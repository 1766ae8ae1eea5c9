//! The webhook's own HTTP server, built for the open internet: every phase of a connection has a
//! deadline, connections are capped, accept failures back off, refusals are counted and their
//! logs rate-limited, and shutdown lets answers in flight finish.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Limits and deadlines of the webhook server.
///
/// The defaults come from the platform's delivery contract: it waits 3 s for an answer, sends
/// small bodies (an event is a few KB) right after its headers, and retries anything that fails.
/// A request that cannot be answered within that budget is better answered with 503, which the
/// platform retries, than held.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    /// How long a client may take to send a request's headers, counted from the connection's
    /// accept or, on a kept-alive connection, from the request's first byte. Default 2 s: the
    /// platform sends its headers at once; only a slow or hostile client needs longer.
    pub header_timeout: Duration,
    /// How long a client may take to send the body once its headers are in. Default 2 s;
    /// slower is answered 408.
    pub body_timeout: Duration,
    /// The latest an answer goes out, counted from the end of the headers. Default 2.8 s, inside
    /// the platform's 3 s budget; when the checks, deduplication or handler take longer the
    /// answer is 503, so the platform delivers again instead of counting a timeout.
    pub answer_timeout: Duration,
    /// How long a kept-alive connection may sit idle between requests, or leave an answer
    /// unread. Default 10 s.
    pub idle_timeout: Duration,
    /// The most connections served at once. Above it, new connections wait in the listen
    /// backlog until one closes. Default 256: far above what the platform opens, and well under
    /// the common limit of 1,024 open files, leaving room for the client's own connections.
    pub max_connections: usize,
    /// How long shutdown waits for answers in flight before closing what is left. Default 5 s.
    pub shutdown_grace: Duration,
    /// The shortest interval between two log lines about refused requests, failed accepts or
    /// timed-out connections; the lines in between are counted, and the next one says how many.
    /// Default 10 s.
    pub log_interval: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(2),
            body_timeout: Duration::from_secs(2),
            answer_timeout: Duration::from_millis(2800),
            idle_timeout: Duration::from_secs(10),
            max_connections: 256,
            shutdown_grace: Duration::from_secs(5),
            log_interval: Duration::from_secs(10),
        }
    }
}

impl ServeOptions {
    /// Sets [`header_timeout`](Self::header_timeout).
    #[must_use]
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets [`body_timeout`](Self::body_timeout).
    #[must_use]
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Sets [`answer_timeout`](Self::answer_timeout).
    #[must_use]
    pub fn with_answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`log_interval`](Self::log_interval).
    #[must_use]
    pub fn with_log_interval(mut self, interval: Duration) -> Self {
        self.log_interval = interval;
        self
    }
}

/// Counters of one webhook endpoint, shared by every clone of its service. Read them with
/// [`snapshot`](Self::snapshot), for a metrics exporter or a health check.
#[derive(Clone, Debug, Default)]
pub struct ServerStats {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    changed: Notify,
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    connections_timed_out: AtomicU64,
    accept_errors: AtomicU64,
    accept_paused_ms: AtomicU64,
    requests: AtomicU64,
    requests_refused: AtomicU64,
    answers_late: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerCounts {
    /// Connections accepted since the start.
    pub connections_accepted: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// Connections closed because a client was too slow: headers, an idle keep-alive, or an
    /// answer left unread.
    pub connections_timed_out: u64,
    /// Failed accepts (out of file descriptors, say).
    pub accept_errors: u64,
    /// How long accepting has paused in all after failed accepts: a server out of descriptors
    /// waits for connections to close instead of retrying at once.
    pub accept_paused: Duration,
    /// Requests answered.
    pub requests: u64,
    /// Requests refused with a 4xx: wrong method, too large, too slow, unverifiable.
    pub requests_refused: u64,
    /// Requests answered 503 because the answer was not ready within the answer timeout.
    pub answers_late: u64,
}

impl ServerStats {
    /// The counters now.
    #[must_use]
    pub fn snapshot(&self) -> ServerCounts {
        let c = &self.inner;
        ServerCounts {
            connections_accepted: c.connections_accepted.load(Ordering::Relaxed),
            connections_open: c.connections_open.load(Ordering::Relaxed),
            connections_timed_out: c.connections_timed_out.load(Ordering::Relaxed),
            accept_errors: c.accept_errors.load(Ordering::Relaxed),
            accept_paused: Duration::from_millis(c.accept_paused_ms.load(Ordering::Relaxed)),
            requests: c.requests.load(Ordering::Relaxed),
            requests_refused: c.requests_refused.load(Ordering::Relaxed),
            answers_late: c.answers_late.load(Ordering::Relaxed),
        }
    }

    /// Waits until `ready` holds for the counters, checking again after each change. Every
    /// change wakes it, so nothing is missed between a check and the wait.
    pub async fn wait_until(&self, mut ready: impl FnMut(&ServerCounts) -> bool) -> ServerCounts {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let counts = self.snapshot();
            if ready(&counts) {
                return counts;
            }
            changed.await;
        }
    }

    fn bump(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn accepted(&self) {
        self.inner.connections_open.fetch_add(1, Ordering::Relaxed);
        self.bump(&self.inner.connections_accepted);
    }

    pub(crate) fn closed(&self) {
        self.inner.connections_open.fetch_sub(1, Ordering::Relaxed);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn timed_out(&self) {
        self.bump(&self.inner.connections_timed_out);
    }

    /// A failed accept, and the pause that follows it (zero when it is retried at once).
    pub(crate) fn accept_failed(&self, pause: Duration) {
        self.inner.accept_paused_ms.fetch_add(
            u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.bump(&self.inner.accept_errors);
    }

    pub(crate) fn answered(&self, status: http::StatusCode) {
        if status.is_client_error() {
            self.inner.requests_refused.fetch_add(1, Ordering::Relaxed);
        }
        self.bump(&self.inner.requests);
    }

    pub(crate) fn late(&self) {
        self.bump(&self.inner.answers_late);
    }
}

/// Lets one log line through per interval and counts the rest, so a flood of bad requests or a
/// failing accept cannot flood the log.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// Calls `log` with how many occurrences were held back since the last line, when a line
    /// is due; otherwise counts this one.
    pub(crate) fn hit(&self, log: impl FnOnce(u64)) {
        let due = {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            match state.0 {
                Some(last) if now.duration_since(last) < self.interval => {
                    state.1 += 1;
                    None
                }
                _ => {
                    let held = state.1;
                    *state = (Some(now), 0);
                    Some(held)
                }
            }
        };
        if let Some(held) = due {
            log(held);
        }
    }
}

/// Where a connection is, for its deadlines.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for a request's headers, since this instant: the accept, or the first byte of
    /// a request on a kept-alive connection.
    Head(tokio::time::Instant),
    /// A request is being answered; the answer has its own deadlines.
    Answering,
    /// Between requests, or writing an answer the client has not read, since this instant.
    Idle(tokio::time::Instant),
}

/// A connection's phase, moved by its reads and its requests, watched by its supervisor.
#[derive(Debug)]
pub(crate) struct Connection {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Connection {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Head(tokio::time::Instant::now())),
            changed: Notify::new(),
        })
    }

    fn set(&self, phase: Phase) {
        *self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = phase;
        self.changed.notify_one();
    }

    fn get(&self) -> Phase {
        *self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bytes arrived: an idle connection starts reading a request.
    fn bytes_read(&self) {
        let mut phase = self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(tokio::time::Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    pub(crate) fn request_started(&self) {
        self.set(Phase::Answering);
    }

    pub(crate) fn request_answered(&self) {
        self.set(Phase::Idle(tokio::time::Instant::now()));
    }

    /// When the current phase runs out, and what it is called.
    pub(crate) fn deadline(
        &self,
        options: &ServeOptions,
    ) -> Option<(tokio::time::Instant, &'static str)> {
        match self.get() {
            Phase::Head(since) => Some((since + options.header_timeout, "sending its headers")),
            Phase::Answering => None,
            Phase::Idle(since) => Some((since + options.idle_timeout, "idle")),
        }
    }

    /// Waits until the phase changes.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// A socket that tells its connection when bytes arrive.
#[derive(Debug)]
pub(crate) struct Tracked<S> {
    inner: S,
    connection: Arc<Connection>,
}

impl<S> Tracked<S> {
    pub(crate) fn new(inner: S, connection: Arc<Connection>) -> Self {
        Self { inner, connection }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Whether an accept error is the peer's doing (the connection died in the backlog), which
/// costs nothing to retry at once, rather than the process running out of something.
pub(crate) fn peer_caused(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::Interrupted
    )
}

/// The first pause after a failed accept; each further failure doubles it up to
/// [`ACCEPT_BACKOFF_MAX`].
pub(crate) const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);

/// The longest pause between accepts while they keep failing: short enough that the server
/// serves again within a second of descriptors coming free.
pub(crate) const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_lets_one_line_through_per_interval_and_counts_the_rest() {
        let limiter = LogLimiter::new(Duration::from_secs(3600));
        let mut lines = Vec::new();
        for _ in 0..1000 {
            limiter.hit(|held| lines.push(held));
        }
        assert_eq!(lines, vec![0]);
        let limiter = LogLimiter::new(Duration::ZERO);
        let mut lines = Vec::new();
        for _ in 0..3 {
            limiter.hit(|held| lines.push(held));
        }
        assert_eq!(lines, vec![0, 0, 0]);
    }
}
