//! The long-connection client: discovery, the session loop (pings, pongs, data frames, acks,
//! the watchdog), reconnects, and a graceful shutdown.

use crate::fragments::{Assembled, FragmentLimits, Reassembly};
use crate::frame::{Frame, METHOD_CONTROL, METHOD_DATA};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use lark_api::ws::{WsClientConfig, WsConnection, codes};
use lark_events::{Dispatched, Dispatcher, EventConfig};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{Error as WsError, UrlError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where the client is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Discovering the endpoint and dialling (the first time).
    Connecting,
    /// Connected; events flow.
    Connected {
        /// The connection's `device_id`, for logs.
        device_id: String,
    },
    /// The connection was lost; waiting to dial again.
    Reconnecting {
        /// Which attempt comes next (1 for the first).
        attempt: u32,
        /// Why the last connection ended.
        reason: String,
        /// How long the client waits before it dials (the platform's reconnect interval plus
        /// its jitter).
        wait: Duration,
    },
    /// Stopped for good.
    Stopped(StopReason),
}

/// Why the client stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// [`WsHandle::shutdown`] was called.
    Shutdown,
    /// The platform refused the app for good: a bad secret, too many connections
    /// (1000040350), forbidden (403). Reconnecting cannot help.
    Refused {
        /// The platform's code.
        code: i64,
        /// What it said.
        message: String,
    },
    /// The platform's `ReconnectCount` attempts all failed.
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// The client's task failed unexpectedly (a panic); nothing is connected any more.
    Crashed {
        /// What it said.
        reason: String,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shutdown => f.write_str("shut down"),
            Self::Refused { code, message } => write!(
                f,
                "the platform refused the long connection (code {code}: {message}); {}",
                match *code {
                    codes::TOO_MANY_CONNECTIONS =>
                        "the app has 50 connections already: stop other clients of this app",
                    codes::FORBIDDEN =>
                        "check that the app is self-built and subscribes to events over the long connection",
                    _ => "check LARK_APP_ID and LARK_APP_SECRET",
                }
            ),
            Self::GaveUp {
                attempts,
                last_error,
            } => write!(
                f,
                "gave up after {attempts} reconnect attempt(s): {last_error}"
            ),
            Self::Crashed { reason } => write!(f, "the long-connection client failed: {reason}"),
        }
    }
}

/// Client settings. The connection parameters (ping interval, reconnect count, interval and
/// jitter) come from the platform, at discovery and in pongs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsOptions {
    /// Force a reconnect when nothing arrives for `watchdog_factor` ping intervals (default on).
    pub watchdog: bool,
    /// See `watchdog` (default 2).
    pub watchdog_factor: u32,
    /// How long shutdown waits for handlers still running (default 5 s).
    pub shutdown_grace: Duration,
    /// Bounds on fragmented messages: how long an incomplete one is kept (10 s), how many may
    /// be incomplete at once (64), how many bytes they hold together (8 MiB), and the largest
    /// message (4 MiB, which also caps one WebSocket frame).
    pub fragments: FragmentLimits,
    /// How long a connection attempt (TCP, TLS and WebSocket handshake) may take (default 10 s).
    pub connect_timeout: Duration,
    /// Reconnect after a lost connection (default on). Off, the client stops instead.
    pub reconnect: bool,
    /// How long the first retry may wait (a random time below it) and how long later ones
    /// wait, until the platform sends its own values: the platform's defaults, 30 s and
    /// 120 s. Discovery's `ReconnectNonce` and `ReconnectInterval` replace them.
    pub initial_reconnect: (Duration, Duration),
}

impl Default for WsOptions {
    fn default() -> Self {
        Self {
            watchdog: true,
            watchdog_factor: 2,
            shutdown_grace: Duration::from_secs(5),
            fragments: FragmentLimits::default(),
            connect_timeout: Duration::from_secs(10),
            reconnect: true,
            initial_reconnect: (Duration::from_secs(30), Duration::from_secs(120)),
        }
    }
}

impl WsOptions {
    /// With the watchdog on or off.
    #[must_use]
    pub fn with_watchdog(mut self, on: bool) -> Self {
        self.watchdog = on;
        self
    }

    /// With shutdown waiting at most `grace` for running handlers.
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// With the reconnect waits used until the platform sends its own (see
    /// [`initial_reconnect`](Self::initial_reconnect)).
    #[must_use]
    pub fn with_initial_reconnect(mut self, nonce: Duration, interval: Duration) -> Self {
        self.initial_reconnect = (nonce, interval);
        self
    }

    /// With `limits` on fragmented messages.
    #[must_use]
    pub fn with_fragment_limits(mut self, limits: FragmentLimits) -> Self {
        self.fragments = limits;
        self
    }

    /// With reconnecting on or off.
    #[must_use]
    pub fn with_reconnect(mut self, on: bool) -> Self {
        self.reconnect = on;
        self
    }
}

/// The connection parameters in force.
#[derive(Clone, Copy, Debug)]
struct Params {
    ping_interval: Duration,
    reconnect_count: i64,
    reconnect_interval: Duration,
    reconnect_nonce: Duration,
}

impl Default for Params {
    /// The platform's documented defaults.
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(120),
            reconnect_count: -1,
            reconnect_interval: Duration::from_secs(120),
            reconnect_nonce: Duration::from_secs(30),
        }
    }
}

/// The shortest ping interval taken from the platform.
const PING_MIN_SECS: u64 = 1;
/// The longest ping interval, reconnect interval and reconnect jitter taken from the platform:
/// ten minutes. Longer would leave a dead connection unnoticed, or a client waiting silently.
const PLATFORM_MAX_SECS: u64 = 600;

/// `secs` within `min..=max`, logged when it had to be moved.
fn clamped(name: &'static str, secs: u64, min: u64, max: u64) -> Duration {
    let used = secs.clamp(min, max);
    if used != secs {
        tracing::warn!(
            parameter = name,
            given = secs,
            used,
            "the platform sent a connection parameter out of range; clamped"
        );
    }
    Duration::from_secs(used)
}

impl Params {
    fn apply(&mut self, config: &WsClientConfig) {
        if let Some(secs) = config.ping_interval.filter(|s| *s > 0) {
            self.ping_interval = clamped("PingInterval", secs, PING_MIN_SECS, PLATFORM_MAX_SECS);
        }
        if let Some(count) = config.reconnect_count {
            self.reconnect_count = count;
        }
        if let Some(secs) = config.reconnect_interval {
            self.reconnect_interval = clamped("ReconnectInterval", secs, 0, PLATFORM_MAX_SECS);
        }
        if let Some(secs) = config.reconnect_nonce {
            self.reconnect_nonce = clamped("ReconnectNonce", secs, 0, PLATFORM_MAX_SECS);
        }
    }
}

/// `at + after`, or far in the future when that does not fit.
fn later(at: tokio::time::Instant, after: Duration) -> tokio::time::Instant {
    at.checked_add(after)
        .unwrap_or_else(|| at + Duration::from_secs(86_400 * 365))
}

/// Runs the client; a panic anywhere in it ends it with a status that says so, never a
/// `Connected` that nothing serves.
async fn supervised(run: impl std::future::Future<Output = ()>, status: watch::Sender<Status>) {
    let run = std::panic::AssertUnwindSafe(run);
    if let Err(panic) = futures_util::FutureExt::catch_unwind(run).await {
        let reason = panic_text(panic.as_ref());
        tracing::error!(reason = %reason, "the long-connection client failed");
        status.send_replace(Status::Stopped(StopReason::Crashed { reason }));
    }
}

/// What a panic carried, as text.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// Events and card callbacks over the long connection, dispatched through a
/// [`Dispatcher`] (dedup included). Several clients, for several apps, can run in one process.
#[derive(Clone, Debug)]
pub struct WsClient {
    http: lark_http::Client,
    dispatcher: Dispatcher,
    options: WsOptions,
}

/// A running client.
#[derive(Debug)]
pub struct WsHandle {
    status: watch::Receiver<Status>,
    stop: watch::Sender<bool>,
    in_flight: Arc<AtomicUsize>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl WsHandle {
    /// The status now.
    #[must_use]
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver to watch the status change.
    #[must_use]
    pub fn watch(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Waits until the status satisfies `predicate` (or the client task ended).
    pub async fn wait_for(&self, mut predicate: impl FnMut(&Status) -> bool) -> Status {
        let mut watch = self.status.clone();
        match watch.wait_for(|status| predicate(status)).await {
            Ok(status) => status.clone(),
            Err(_) => self.status(),
        }
    }

    /// Handlers running now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Stops reading, lets running handlers finish (at most the shutdown grace) and sends
    /// their acks, closes the connection, and returns the final status.
    pub async fn shutdown(mut self) -> Status {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.status()
    }
}

impl Drop for WsHandle {
    /// A dropped handle shuts the client down in the background.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// How one connection ended.
enum SessionEnd {
    Lost(String),
    Shutdown,
}

/// Why a connection attempt failed.
enum ConnectError {
    Final { code: i64, message: String },
    Retry(String),
}

fn random_below(bound: Duration) -> Duration {
    let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    Duration::from_nanos(u64::from_le_bytes(bytes) % nanos)
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    // Without a roots feature the store stays empty, and nothing is added to it.
    #[cfg_attr(
        not(any(feature = "webpki-roots", feature = "native-roots")),
        allow(unused_mut)
    )]
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl WsClient {
    /// A client for `http`'s app, handing events to `dispatcher`.
    #[must_use]
    pub fn new(http: lark_http::Client, dispatcher: Dispatcher) -> Self {
        Self {
            http,
            dispatcher,
            options: WsOptions::default(),
        }
    }

    /// With `options`.
    #[must_use]
    pub fn with_options(mut self, options: WsOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts connecting in the background.
    #[must_use]
    pub fn start(self) -> WsHandle {
        let (status_tx, status) = watch::channel(Status::Connecting);
        let (stop, stopped) = watch::channel(false);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counter = in_flight.clone();
        let watcher = status_tx.clone();
        let task = tokio::spawn(supervised(self.run(status_tx, stopped, counter), watcher));
        WsHandle {
            status,
            stop,
            in_flight,
            task: Some(task),
        }
    }

    async fn run(
        self,
        status: watch::Sender<Status>,
        mut stop: watch::Receiver<bool>,
        in_flight: Arc<AtomicUsize>,
    ) {
        let tls = match tls_config() {
            Ok(tls) => tls,
            Err(err) => {
                status.send_replace(Status::Stopped(StopReason::Refused {
                    code: 0,
                    message: format!("TLS setup failed: {err}"),
                }));
                return;
            }
        };
        let mut params = Params {
            reconnect_nonce: self.options.initial_reconnect.0,
            reconnect_interval: self.options.initial_reconnect.1,
            ..Params::default()
        };
        let mut attempt = 0u32;
        let mut last_error = String::new();
        loop {
            if *stop.borrow() {
                status.send_replace(Status::Stopped(StopReason::Shutdown));
                return;
            }
            if attempt > 0 {
                if params.reconnect_count >= 0 && i64::from(attempt) > params.reconnect_count {
                    status.send_replace(Status::Stopped(StopReason::GaveUp {
                        attempts: attempt - 1,
                        last_error,
                    }));
                    return;
                }
                let wait = reconnect_wait(&params, attempt);
                status.send_replace(Status::Reconnecting {
                    attempt,
                    reason: last_error.clone(),
                    wait,
                });
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {
                        status.send_replace(Status::Stopped(StopReason::Shutdown));
                        return;
                    }
                }
            }
            let connected = tokio::select! {
                connected = self.connect(&tls, &mut params) => connected,
                _ = stop.changed() => {
                    status.send_replace(Status::Stopped(StopReason::Shutdown));
                    return;
                }
            };
            match connected {
                Ok((socket, connection)) => {
                    let device_id = connection.device_id().unwrap_or_default().to_owned();
                    tracing::info!(device_id = %device_id, "long connection established");
                    status.send_replace(Status::Connected { device_id });
                    let service = connection.service_id().unwrap_or(0);
                    match self
                        .session(socket, service, &mut params, &mut stop, &in_flight)
                        .await
                    {
                        SessionEnd::Shutdown => {
                            status.send_replace(Status::Stopped(StopReason::Shutdown));
                            return;
                        }
                        SessionEnd::Lost(reason) => {
                            tracing::warn!(reason = %reason, "long connection lost");
                            if !self.options.reconnect {
                                status.send_replace(Status::Stopped(StopReason::GaveUp {
                                    attempts: 0,
                                    last_error: reason,
                                }));
                                return;
                            }
                            last_error = reason;
                            attempt = 1;
                        }
                    }
                }
                Err(ConnectError::Final { code, message }) => {
                    tracing::error!(code, message = %message, "the platform refused the long connection");
                    status.send_replace(Status::Stopped(StopReason::Refused { code, message }));
                    return;
                }
                Err(ConnectError::Retry(reason)) => {
                    tracing::warn!(reason = %reason, attempt, "long connection attempt failed");
                    last_error = reason;
                    attempt += 1;
                }
            }
        }
    }

    /// Discovery, then the WebSocket handshake.
    async fn connect(
        &self,
        tls: &Arc<rustls::ClientConfig>,
        params: &mut Params,
    ) -> Result<(Socket, WsConnection), ConnectError> {
        let connection = match self.http.ws_endpoint().await {
            Ok(connection) => connection,
            Err(err) => {
                // Any answer but HTTP 200 means "system busy" to every official client, and
                // so does a retryable code: both are tried again.
                let not_ok = err
                    .as_api()
                    .is_some_and(|api| api.status != http::StatusCode::OK);
                return Err(match err.code() {
                    Some(code) if !codes::is_retryable(code) && !not_ok => ConnectError::Final {
                        code,
                        message: err
                            .as_api()
                            .map_or_else(|| err.to_string(), |api| api.msg.clone()),
                    },
                    _ => ConnectError::Retry(format!("endpoint discovery failed: {err}")),
                });
            }
        };
        params.apply(&connection.client_config);
        let dial = self.dial(connection.url.as_str(), tls);
        match tokio::time::timeout(self.options.connect_timeout, dial).await {
            Err(_) => Err(ConnectError::Retry(format!(
                "no handshake within {} s",
                self.options.connect_timeout.as_secs()
            ))),
            Ok(Ok((socket, _))) => Ok((socket, connection)),
            Ok(Err(WsError::Http(response))) => Err(handshake_refused(&response)),
            Ok(Err(err)) => Err(ConnectError::Retry(format!(
                "dialling the long connection failed: {err}"
            ))),
        }
    }

    /// The WebSocket handshake, through the proxy the HTTP client would use for this url (an
    /// HTTP CONNECT tunnel), or directly.
    async fn dial(
        &self,
        url: &str,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<(Socket, http::Response<Option<Vec<u8>>>), WsError> {
        let connector = Some(Connector::Rustls(tls.clone()));
        // One frame carries at most one fragment: its payload is within the message limit,
        // and its headers are small.
        let largest = self.options.fragments.max_message.saturating_add(64 * 1024);
        let config = Some(
            WebSocketConfig::default()
                .max_message_size(Some(largest))
                .max_frame_size(Some(largest)),
        );
        let uri: http::Uri = url
            .parse()
            .map_err(|_| WsError::Url(UrlError::UnableToConnect(url.to_owned())))?;
        let Some(route) = self.http.proxy_route(&uri) else {
            return tokio_tungstenite::connect_async_tls_with_config(url, config, true, connector)
                .await;
        };
        let host = uri.host().unwrap_or_default();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("wss") {
                443
            } else {
                80
            });
        let stream = crate::proxy::tunnel(&route, host, port)
            .await
            .map_err(WsError::Io)?;
        tokio_tungstenite::client_async_tls_with_config(url, stream, config, connector).await
    }

    /// Reads frames until the connection ends or shutdown is asked for.
    async fn session(
        &self,
        socket: Socket,
        service: i32,
        params: &mut Params,
        stop: &mut watch::Receiver<bool>,
        in_flight: &Arc<AtomicUsize>,
    ) -> SessionEnd {
        let (mut sink, mut stream) = socket.split();
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<Bytes>();
        let mut handlers = JoinSet::new();
        let mut fragments = Reassembly::new(self.options.fragments);
        // Incomplete messages expire on their own timer, whatever the ping interval.
        let mut sweep =
            tokio::time::interval((self.options.fragments.ttl / 2).max(Duration::from_millis(100)));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ping = tokio::time::interval(params.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = tokio::time::Instant::now();
        let end = loop {
            let silence_limit = params
                .ping_interval
                .saturating_mul(self.options.watchdog_factor.max(1))
                .saturating_add(Duration::from_millis(500));
            tokio::select! {
                _ = stop.changed() => break SessionEnd::Shutdown,
                _ = sweep.tick() => {
                    let expired = fragments.sweep(Instant::now());
                    if expired > 0 {
                        tracing::warn!(expired, "dropped fragmented messages that never completed");
                    }
                }
                _ = ping.tick() => {
                    if let Err(err) = sink.send(Message::Binary(Frame::ping(service).encode())).await {
                        break SessionEnd::Lost(format!("sending a ping failed: {err}"));
                    }
                }
                () = tokio::time::sleep_until(later(last_seen, silence_limit)), if self.options.watchdog => {
                    break SessionEnd::Lost(format!("nothing from the platform for {} ms; the watchdog reconnects", silence_limit.as_millis()));
                }
                Some(ack) = ack_rx.recv() => {
                    if let Err(err) = sink.send(Message::Binary(ack)).await {
                        break SessionEnd::Lost(format!("sending an ack failed: {err}"));
                    }
                }
                Some(_) = handlers.join_next(), if !handlers.is_empty() => {}
                message = stream.next() => match message {
                    Some(Ok(Message::Binary(bytes))) => {
                        last_seen = tokio::time::Instant::now();
                        match Frame::decode(&bytes) {
                            Ok(frame) if frame.method == METHOD_CONTROL => {
                                if Self::control(&frame, params) {
                                    ping = tokio::time::interval_at(later(tokio::time::Instant::now(), params.ping_interval), params.ping_interval);
                                    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                                }
                            }
                            Ok(frame) if frame.method == METHOD_DATA => match fragments.add(frame, Instant::now()) {
                                Assembled::Complete { frame, payload } => {
                                    handlers.spawn(handle(self.dispatcher.clone(), frame, payload, ack_tx.clone(), in_flight.clone()));
                                }
                                Assembled::Pending => {}
                                Assembled::Dropped(why) => tracing::warn!(why = %why, "dropped a data frame"),
                            },
                            Ok(frame) => tracing::debug!(method = frame.method, "ignored a frame of unknown method"),
                            Err(err) => tracing::warn!(error = %err, "dropped bytes that are not a frame"),
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => break SessionEnd::Lost("the platform closed the connection".to_owned()),
                    Some(Ok(_)) => last_seen = tokio::time::Instant::now(),
                    Some(Err(err)) => break SessionEnd::Lost(format!("reading failed: {err}")),
                },
            }
        };
        if matches!(end, SessionEnd::Shutdown) {
            // Stop reading; let running handlers finish and send their acks, then close.
            let deadline = later(tokio::time::Instant::now(), self.options.shutdown_grace);
            drop(ack_tx);
            loop {
                tokio::select! {
                    ack = ack_rx.recv() => match ack {
                        Some(ack) => { let _ = sink.send(Message::Binary(ack)).await; }
                        None => break,
                    },
                    () = tokio::time::sleep_until(deadline) => {
                        tracing::warn!(unfinished = handlers.len(), "shutdown grace over; abandoning running handlers");
                        handlers.abort_all();
                        break;
                    }
                }
            }
            let _ = sink.send(Message::Close(None)).await;
            let _ = sink.close().await;
        }
        end
    }

    /// Handles a control frame; true when the ping interval changed.
    fn control(frame: &Frame, params: &mut Params) -> bool {
        if frame.frame_type() != Some("pong") {
            return false;
        }
        let Some(config) = frame
            .payload
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| serde_json::from_slice::<WsClientConfig>(p).ok())
        else {
            return false;
        };
        let before = params.ping_interval;
        params.apply(&config);
        tracing::info!(?config, "the platform updated the connection parameters");
        params.ping_interval != before
    }
}

/// Reads the handshake refusal headers: 514 with 1000040350 and 403 are final.
fn handshake_refused(response: &http::Response<Option<Vec<u8>>>) -> ConnectError {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // Without the header, the HTTP status stands in for it (a bare 403 is final).
    let status: Option<i64> = header("handshake-status")
        .and_then(|s| s.parse().ok())
        .or(Some(i64::from(response.status().as_u16())));
    let auth_code: Option<i64> = header("handshake-autherrcode").and_then(|s| s.parse().ok());
    let message = header("handshake-msg").unwrap_or_else(|| response.status().to_string());
    match (status, auth_code) {
        (_, Some(codes::TOO_MANY_CONNECTIONS)) => ConnectError::Final {
            code: codes::TOO_MANY_CONNECTIONS,
            message,
        },
        (Some(codes::FORBIDDEN), _) => ConnectError::Final {
            code: codes::FORBIDDEN,
            message,
        },
        _ => ConnectError::Retry(format!(
            "handshake refused (HTTP {}, Handshake-Status {status:?}): {message}",
            response.status().as_u16()
        )),
    }
}

/// Runs the dispatcher on one event or callback and queues its ack.
async fn handle(
    dispatcher: Dispatcher,
    frame: Frame,
    payload: Bytes,
    acks: mpsc::UnboundedSender<Bytes>,
    in_flight: Arc<AtomicUsize>,
) {
    in_flight.fetch_add(1, Ordering::SeqCst);
    let started = Instant::now();
    let mut config = EventConfig::new();
    config.max_body = 16 * 1024 * 1024;
    let (code, data) = match lark_events::receive(
        &config,
        &http::HeaderMap::new(),
        &payload,
        SystemTime::now(),
    ) {
        Ok(incoming) => answer(dispatcher.dispatch(incoming).await),
        Err(err) => {
            // Acked as a failure, as the official clients do, so the platform pushes it again.
            tracing::error!(error = %err, frame_type = ?frame.frame_type(), "a pushed payload could not be read");
            (500, None)
        }
    };
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let biz_rt = started.elapsed().as_millis();
    let _ = acks.send(ack(frame, code, data.as_deref(), biz_rt));
}

/// The ack code and `data` for what the dispatcher decided.
fn answer(dispatched: Dispatched) -> (u16, Option<String>) {
    match dispatched {
        Dispatched::Card(response) => (
            200,
            Some(base64::engine::general_purpose::STANDARD.encode(response.to_string())),
        ),
        Dispatched::Failed(_) | Dispatched::Overloaded => (500, None),
        _ => (200, None),
    }
}

/// The received frame sent back with `biz_rt` and the answer as its payload.
fn ack(mut frame: Frame, code: u16, data: Option<&str>, biz_rt_ms: u128) -> Bytes {
    frame.set_header("biz_rt", biz_rt_ms.to_string());
    let body = serde_json::json!({"code": code, "headers": null, "data": data});
    frame.payload = Some(Bytes::from(body.to_string()));
    frame.encode()
}

/// How long to wait before reconnect `attempt`: the first waits a random time below the nonce,
/// so that clients cut off together do not return together; later ones wait the interval.
fn reconnect_wait(params: &Params, attempt: u32) -> Duration {
    let wait = if attempt == 1 {
        random_below(params.reconnect_nonce)
    } else {
        params.reconnect_interval
    };
    tracing::info!(
        attempt,
        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        "reconnecting after a pause"
    );
    wait
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_the_client_stops_it_with_the_reason_never_a_stale_connected() {
        let (status, watch) = watch::channel(Status::Connected {
            device_id: "d1".to_owned(),
        });
        let failing = async {
            let parameters: Vec<u64> = Vec::new();
            let _ = parameters[3];
        };
        supervised(failing, status).await;
        let Status::Stopped(StopReason::Crashed { reason }) = watch.borrow().clone() else {
            panic!("{:?}", watch.borrow())
        };
        assert!(reason.contains("index out of bounds"), "{reason}");
    }

    #[test]
    fn platform_values_are_clamped_into_range() {
        let mut params = Params::default();
        let config: WsClientConfig = serde_json::from_str(
            r#"{"PingInterval":18446744073709551615,"ReconnectInterval":1e30,"ReconnectNonce":-5,"ReconnectCount":3}"#,
        )
        .unwrap();
        params.apply(&config);
        assert_eq!(params.ping_interval, Duration::from_secs(600));
        assert_eq!(params.reconnect_interval, Duration::from_secs(600));
        assert_eq!(
            params.reconnect_nonce,
            Duration::from_secs(30),
            "a negative value is ignored"
        );
        assert_eq!(params.reconnect_count, 3);
        let tiny: WsClientConfig = serde_json::from_str(r#"{"PingInterval":0.2}"#).unwrap();
        params.apply(&tiny);
        assert_eq!(
            params.ping_interval,
            Duration::from_secs(600),
            "0 s is ignored"
        );
        let one: WsClientConfig = serde_json::from_str(r#"{"PingInterval":1}"#).unwrap();
        params.apply(&one);
        assert_eq!(params.ping_interval, Duration::from_secs(1));
    }

    fn refusal(status: u16, headers: &[(&str, &str)]) -> ConnectError {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        handshake_refused(&builder.body(None).unwrap())
    }

    #[test]
    fn a_bare_403_handshake_is_final_as_the_official_go_client_reads_it() {
        assert!(matches!(
            refusal(403, &[]),
            ConnectError::Final {
                code: codes::FORBIDDEN,
                ..
            }
        ));
    }

    #[test]
    fn handshake_headers_decide_when_present() {
        assert!(matches!(
            refusal(
                514,
                &[
                    ("Handshake-Status", "514"),
                    ("Handshake-Autherrcode", "1000040350")
                ]
            ),
            ConnectError::Final {
                code: codes::TOO_MANY_CONNECTIONS,
                ..
            }
        ));
        assert!(matches!(
            refusal(514, &[("Handshake-Status", "514")]),
            ConnectError::Retry(_)
        ));
        assert!(matches!(refusal(502, &[]), ConnectError::Retry(_)));
    }
}
