//! The ready HTTP endpoint: a hyper service that checks, answers within the platform's budget,
//! and hands work to the application.

use crate::dispatch::{Dispatched, Dispatcher};
use crate::error::EventError;
use crate::receive::{EventConfig, Received, receive_unless_seen};
use crate::server::{
    ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN, Connection, LogLimiter, ServeOptions, ServerStats,
    Tracked, peer_caused,
};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::net::TcpListener;

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The webhook endpoint. Cheap to clone; every clone shares one configuration and dispatcher.
#[derive(Clone)]
pub struct WebhookService {
    config: Arc<EventConfig>,
    dispatcher: Dispatcher,
    clock: Clock,
    options: Arc<ServeOptions>,
    stats: ServerStats,
    logs: Arc<Logs>,
}

/// The rate-limited log lines of one endpoint.
#[derive(Debug)]
struct Logs {
    refused: LogLimiter,
    accept: LogLimiter,
    timed_out: LogLimiter,
}

impl Logs {
    fn new(interval: std::time::Duration) -> Self {
        Self {
            refused: LogLimiter::new(interval),
            accept: LogLimiter::new(interval),
            timed_out: LogLimiter::new(interval),
        }
    }
}

impl std::fmt::Debug for WebhookService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookService")
            .field("config", &self.config)
            .field("dispatcher", &self.dispatcher)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn json_response(status: StatusCode, body: String) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn message(status: StatusCode, text: &str) -> http::Response<Full<Bytes>> {
    json_response(status, serde_json::json!({ "msg": text }).to_string())
}

/// Runs `future` within `limit`. One that is ready at its first poll (a body that came whole
/// with its headers, an answer that needed no waiting) sets no timer.
async fn within<F: Future>(
    limit: std::time::Duration,
    future: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut future = std::pin::pin!(future);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx))).await;
    match first {
        std::task::Poll::Ready(output) => Ok(output),
        std::task::Poll::Pending => tokio::time::timeout(limit, future).await,
    }
}

/// The acknowledgement, `{"msg":"success"}`: the same bytes every time, built once.
fn acknowledged() -> http::Response<Full<Bytes>> {
    static ACK: Bytes = Bytes::from_static(br#"{"msg":"success"}"#);
    let mut response = http::Response::new(Full::new(ACK.clone()));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

impl WebhookService {
    /// An endpoint checking requests as `config` says and dispatching to `dispatcher`.
    #[must_use]
    pub fn new(config: EventConfig, dispatcher: Dispatcher) -> Self {
        let options = ServeOptions::default();
        Self {
            config: Arc::new(config),
            dispatcher,
            clock: Arc::new(SystemTime::now),
            logs: Arc::new(Logs::new(options.log_interval)),
            options: Arc::new(options),
            stats: ServerStats::default(),
        }
    }

    /// Uses `options` for deadlines and limits (defaults: [`ServeOptions::default`]). The body
    /// and answer deadlines apply wherever the service is mounted; the others apply to
    /// [`serve`](Self::serve).
    #[must_use]
    pub fn with_options(mut self, options: ServeOptions) -> Self {
        self.logs = Arc::new(Logs::new(options.log_interval));
        self.options = Arc::new(options);
        self
    }

    /// The deadlines and limits in use.
    #[must_use]
    pub fn options(&self) -> &ServeOptions {
        &self.options
    }

    /// The endpoint's counters, shared by every clone.
    #[must_use]
    pub fn stats(&self) -> ServerStats {
        self.stats.clone()
    }

    /// Whether anyone who can reach the endpoint can forge events: no encrypt key and no
    /// verification token.
    #[must_use]
    pub fn accepts_unsigned_events(&self) -> bool {
        self.config.encrypt_key.is_none() && self.config.verification_token.is_none()
    }

    /// Uses `clock` for the freshness check (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Answers one request, within the answer timeout: a request whose answer is not ready by
    /// then is answered 503, and the platform delivers it again.
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: http_body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let answer_timeout = self.options.answer_timeout;
        let answered = within(answer_timeout, self.answer(request)).await;
        let response = answered.unwrap_or_else(|_| {
            self.stats.late();
            self.logs.refused.hit(|held| {
                tracing::warn!(
                    held_back = held,
                    "a webhook answer was not ready within {answer_timeout:?}; answered 503 so the platform delivers again"
                );
            });
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                "the answer was not ready in time; deliver again later",
            )
        });
        self.stats.answered(response.status());
        response
    }

    async fn answer<B>(&self, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: http_body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if request.method() != Method::POST {
            return message(
                StatusCode::METHOD_NOT_ALLOWED,
                "the platform delivers events with POST",
            );
        }
        let limit = self.config.max_body;
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if let Some(size) = declared.filter(|size| *size > limit) {
            return message(
                StatusCode::PAYLOAD_TOO_LARGE,
                &EventError::TooLarge { size, limit }.to_string(),
            );
        }
        let (parts, body) = request.into_parts();
        let body_timeout = self.options.body_timeout;
        let Ok(collected) = within(body_timeout, Limited::new(body, limit).collect()).await else {
            return message(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the body did not arrive within {body_timeout:?}"),
            );
        };
        let body = match collected {
            Ok(collected) => collected.to_bytes(),
            Err(err) => {
                if err.is::<http_body_util::LengthLimitError>() {
                    return message(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("the body is over the {limit}-byte limit"),
                    );
                }
                return message(
                    StatusCode::BAD_REQUEST,
                    &format!("could not read the body: {err}"),
                );
            }
        };
        let seen = |event_id: &str| self.dispatcher.seen_event(event_id);
        let received = receive_unless_seen(
            &self.config,
            &parts.headers,
            &body,
            (self.clock)(),
            Some(&seen),
        );
        let incoming = match received {
            Ok(Received::Incoming(incoming)) => incoming,
            Ok(Received::Duplicate) => {
                tracing::debug!("duplicate delivery answered before it was read in full");
                return acknowledged();
            }
            Err(err) => {
                self.logs.refused.hit(|held| {
                    tracing::warn!(
                        status = err.status(),
                        error = &err as &dyn std::error::Error,
                        held_back = held,
                        "webhook request refused"
                    );
                });
                let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
                return message(status, &err.to_string());
            }
        };
        match self.dispatcher.dispatch(incoming).await {
            Dispatched::Challenge(body) => json_response(StatusCode::OK, body),
            Dispatched::Acknowledged | Dispatched::Duplicate => acknowledged(),
            Dispatched::Failed(error) => message(StatusCode::INTERNAL_SERVER_ERROR, &error),
            Dispatched::Overloaded => message(
                StatusCode::SERVICE_UNAVAILABLE,
                "the application is not keeping up; deliver again later",
            ),
            Dispatched::Card(body) => json_response(StatusCode::OK, body.to_string()),
        }
    }

    /// Serves the endpoint on `listener` (every path, HTTP/1.1, as the platform delivers) until
    /// `shutdown` completes, with the deadlines and limits of [`ServeOptions`].
    ///
    /// At shutdown it stops accepting, lets the answers in flight finish (at most the shutdown
    /// grace), then closes every connection. An endpoint that accepts unsigned events logs a
    /// warning once, at the start.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        if self.accepts_unsigned_events() {
            tracing::warn!(
                "serving webhook events without an encrypt key or a verification token: anyone who can reach this port can forge events"
            );
        }
        let options = self.options.clone();
        let permits = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
        let (closing, closing_rx) = tokio::sync::watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let mut backoff = ACCEPT_BACKOFF_MIN;
        tokio::pin!(shutdown);
        'accepting: loop {
            // A free slot first: at the cap, new connections wait in the listen backlog.
            let permit = loop {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break 'accepting,
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => break permit,
                        Err(_) => break 'accepting,
                    },
                }
            };
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break 'accepting,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    stream
                }
                Err(err) => {
                    if peer_caused(&err) {
                        self.stats.accept_failed(std::time::Duration::ZERO);
                        continue;
                    }
                    // Out of descriptors or memory: retrying at once would spin. Pause, longer
                    // each time, while connections close and free what is short.
                    let pause = backoff;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    self.stats.accept_failed(pause);
                    self.logs.accept.hit(|held| {
                        tracing::warn!(
                            error = &err as &dyn std::error::Error,
                            held_back = held,
                            ?pause,
                            "accepting a webhook connection failed; pausing"
                        );
                    });
                    drop(permit);
                    let resume = tokio::time::sleep(pause);
                    tokio::pin!(resume);
                    loop {
                        tokio::select! {
                            biased;
                            () = &mut shutdown => break 'accepting,
                            () = &mut resume => break,
                            Some(_) = connections.join_next(), if !connections.is_empty() => {}
                        }
                    }
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            self.stats.accepted();
            let service = self.clone();
            let closing = closing_rx.clone();
            connections.spawn(async move {
                service.connection(stream, closing).await;
                service.stats.closed();
                drop(permit);
            });
        }
        drop(listener);
        let _ = closing.send(true);
        let drained = tokio::time::timeout(options.shutdown_grace, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                open = connections.len(),
                grace = ?options.shutdown_grace,
                "webhook connections still open after the shutdown grace; closing them"
            );
        }
        connections.abort_all();
        while connections.join_next().await.is_some() {}
        Ok(())
    }

    /// Serves one connection under its deadlines.
    async fn connection(
        &self,
        stream: tokio::net::TcpStream,
        mut closing: tokio::sync::watch::Receiver<bool>,
    ) {
        let state = Connection::new();
        let io = TokioIo::new(Tracked::new(stream, state.clone()));
        let service = {
            let this = self.clone();
            let state = state.clone();
            hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let this = this.clone();
                let state = state.clone();
                async move {
                    state.request_started();
                    let response = this.handle(request).await;
                    state.request_answered();
                    Ok::<_, Infallible>(response)
                }
            })
        };
        // The deadlines are this server's own (below), so hyper's header timer is off.
        let connection = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(None)
            .max_buf_size(MAX_HEAD_BYTES)
            .serve_connection(io, service);
        tokio::pin!(connection);
        let mut draining = *closing.borrow();
        if draining {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            let deadline = state.deadline(&self.options);
            let changed = state.changed();
            tokio::select! {
                biased;
                _ = connection.as_mut() => return,
                () = changed => {}
                () = sleep_until(deadline.map(|(at, _)| at)), if deadline.is_some() => {
                    // A deadline that moved while this slept is checked again on the next turn.
                    if let Some((at, phase)) = state.deadline(&self.options)
                        && at <= tokio::time::Instant::now()
                    {
                        self.stats.timed_out();
                        self.logs.timed_out.hit(|held| {
                            tracing::debug!(phase, held_back = held, "closing a slow webhook connection");
                        });
                        return;
                    }
                }
                changed = closing.changed(), if !draining => {
                    if changed.is_err() || *closing.borrow() {
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// The largest request head (line and headers) read: 64 KiB, far above the platform's.
const MAX_HEAD_BYTES: usize = 64 * 1024;

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for WebhookService {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

/// The endpoint as an axum router, mounted at `path`.
#[cfg(feature = "axum")]
pub fn axum_router(service: WebhookService, path: &str) -> axum::Router {
    axum::Router::new().route(
        path,
        axum::routing::post(move |request: axum::extract::Request| {
            let service = service.clone();
            async move { service.handle(request).await }
        }),
    )
}
