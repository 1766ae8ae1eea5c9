//! The long connection: endpoint discovery, the WebSocket server speaking `pbbp2` frames, event
//! and card-callback pushes to one random client of the app, ack bookkeeping, and the test
//! levers (killed and silent connections, refused handshakes, fragments, config updates).

use crate::events::Outgoing;
use crate::server::{Reply, Request, Shared};
use crate::state::DeliveryRecord;
use crate::util::{now_millis, random_hex};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The path clients dial.
pub(crate) const WS_PATH: &str = "/ws/connect";

/// The connection parameters handed out at discovery and in pongs, and how pushes are retried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WsConfig {
    /// Seconds between client pings (the platform: 120).
    pub ping_interval_secs: u64,
    /// Reconnect attempts; -1 for no limit (the platform: -1).
    pub reconnect_count: i64,
    /// Seconds between reconnect attempts (the platform: 120).
    pub reconnect_interval_secs: u64,
    /// Upper bound of the first reconnect's random delay, in seconds (the platform: 30).
    pub reconnect_nonce_secs: u64,
    /// How long a push may go unacknowledged before it counts as failed, in milliseconds (the
    /// platform: 3 s, the handler's budget).
    pub ack_timeout_ms: u64,
    /// Delays before each re-push of a failed push, in milliseconds. The platform's schedule is
    /// 15 s, 5 min, 1 h, 6 h, the same as for webhooks; tests scale it down.
    pub retry_delays_ms: Vec<u64>,
    /// Split payloads longer than this many bytes into fragments (`sum` / `seq` headers).
    pub fragment_bytes: Option<usize>,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            ping_interval_secs: 120,
            reconnect_count: -1,
            reconnect_interval_secs: 120,
            reconnect_nonce_secs: 30,
            ack_timeout_ms: 3_000,
            retry_delays_ms: vec![15_000, 300_000, 3_600_000, 21_600_000],
            fragment_bytes: None,
        }
    }
}

impl WsConfig {
    fn client_config(&self) -> Value {
        json!({
            "PingInterval": self.ping_interval_secs,
            "ReconnectCount": self.reconnect_count,
            "ReconnectInterval": self.reconnect_interval_secs,
            "ReconnectNonce": self.reconnect_nonce_secs,
        })
    }
}

/// A handshake the emulator refuses, as the platform does: the HTTP status and the
/// `Handshake-Status`, `Handshake-Msg` and `Handshake-Autherrcode` headers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct WsRefusal {
    /// `Handshake-Status` (and the HTTP status): 403 or 514.
    pub status: u16,
    /// `Handshake-Autherrcode`, e.g. 1000040350 for too many connections.
    #[serde(default)]
    pub auth_error_code: Option<i64>,
    /// `Handshake-Msg`.
    #[serde(default)]
    pub message: String,
}

impl WsRefusal {
    /// 514 with 1000040350: the app has too many connections (a final error).
    #[must_use]
    pub fn too_many_connections() -> Self {
        Self {
            status: 514,
            auth_error_code: Some(1_000_040_350),
            message: "exceed conn limit".to_owned(),
        }
    }

    /// 403: forbidden (a final error).
    #[must_use]
    pub fn forbidden() -> Self {
        Self {
            status: 403,
            auth_error_code: None,
            message: "forbidden".to_owned(),
        }
    }

    /// 514 without an error code: an authentication hiccup the client retries.
    #[must_use]
    pub fn auth_failed_transient() -> Self {
        Self {
            status: 514,
            auth_error_code: None,
            message: "auth failed".to_owned(),
        }
    }
}

/// An acknowledgement a client sent, for tests.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct WsAck {
    /// The pushed frame's `message_id` header.
    pub message_id: String,
    /// The id of the event (or the callback) that was pushed in the frame.
    pub event_id: String,
    /// `event` or `card`.
    pub frame_type: String,
    /// The `code` the client answered: 200, or 500 when its handler failed.
    pub code: i64,
    /// The `biz_rt` header: the handler's duration in milliseconds.
    pub biz_rt_ms: Option<i64>,
    /// The `data` the client answered, base64-decoded and read as JSON (card responses).
    pub data: Option<Value>,
}

/// A live connection. It is registered before the handshake is answered, so a push made the
/// moment the client sees its 101 is queued for it rather than lost.
pub(crate) struct WsConn {
    pub(crate) id: u64,
    pub(crate) app_id: String,
    pub(crate) device_id: String,
    service_id: i32,
    silent: bool,
    tx: mpsc::UnboundedSender<Command>,
}

enum Command {
    Send(Vec<u8>),
    Kill,
}

/// A push waiting for its ack.
struct Waiting {
    event_id: String,
    ack: oneshot::Sender<WsAck>,
}

/// The long-connection part of the state.
#[derive(Default)]
pub(crate) struct WsState {
    pub(crate) conns: Vec<WsConn>,
    pub(crate) acks: Vec<WsAck>,
    pub(crate) pings: u64,
    refusals: Vec<WsRefusal>,
    tickets: HashMap<String, String>,
    waiting: HashMap<String, Waiting>,
    next_id: u64,
    seq: u64,
}

impl WsState {
    /// Whether `app_id` has a connection that pushes can go to (open and not silenced).
    pub(crate) fn has_client(&self, app_id: &str) -> bool {
        self.conns.iter().any(|c| c.app_id == app_id && !c.silent)
    }

    /// The connections open now, as `(app_id, device_id)`.
    pub(crate) fn connections(&self) -> Vec<(String, String)> {
        self.conns
            .iter()
            .map(|c| (c.app_id.clone(), c.device_id.clone()))
            .collect()
    }

    pub(crate) fn kill_all(&mut self) {
        for conn in self.conns.drain(..) {
            let _ = conn.tx.send(Command::Kill);
        }
    }

    pub(crate) fn silence_all(&mut self) {
        for conn in &mut self.conns {
            conn.silent = true;
        }
    }

    pub(crate) fn refuse(&mut self, count: usize, refusal: &WsRefusal) {
        self.refusals
            .extend(std::iter::repeat_n(refusal.clone(), count));
    }
}

// ---------------------------------------------------------------------------------- frames

/// One `pbbp2.Frame`, encoded and decoded here independently of any client.
#[derive(Clone, Debug, Default, PartialEq)]
struct WireFrame {
    seq_id: u64,
    log_id: u64,
    service: i32,
    method: i32,
    headers: Vec<(String, String)>,
    payload_encoding: Option<String>,
    payload_type: Option<String>,
    payload: Option<Vec<u8>>,
    log_id_new: Option<String>,
}

impl WireFrame {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(u8::try_from(value & 0x7F).unwrap_or(0) | 0x80);
        value >>= 7;
    }
    out.push(u8::try_from(value).unwrap_or(0));
}

fn tagged_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn encode(frame: &WireFrame) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + frame.payload.as_ref().map_or(0, Vec::len));
    for (field, value) in [
        (1u64, frame.seq_id),
        (2, frame.log_id),
        // int32 is sign-extended to 64 bits on the wire.
        (3, i64::from(frame.service).cast_unsigned()),
        (4, i64::from(frame.method).cast_unsigned()),
    ] {
        varint(&mut out, field << 3);
        varint(&mut out, value);
    }
    for (key, value) in &frame.headers {
        let mut header = Vec::new();
        tagged_bytes(&mut header, 1, key.as_bytes());
        tagged_bytes(&mut header, 2, value.as_bytes());
        tagged_bytes(&mut out, 5, &header);
    }
    if let Some(v) = &frame.payload_encoding {
        tagged_bytes(&mut out, 6, v.as_bytes());
    }
    if let Some(v) = &frame.payload_type {
        tagged_bytes(&mut out, 7, v.as_bytes());
    }
    if let Some(v) = &frame.payload {
        tagged_bytes(&mut out, 8, v);
    }
    if let Some(v) = &frame.log_id_new {
        tagged_bytes(&mut out, 9, v.as_bytes());
    }
    out
}

/// A cursor over protobuf bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            value |= u64::from(byte & 0x7F) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.0.len() {
            return None;
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(taken)
    }

    fn skip(&mut self, wire_type: u64) -> Option<()> {
        match wire_type {
            0 => self.varint().map(drop),
            1 => self.advance(8),
            2 => self.bytes().map(drop),
            5 => self.advance(4),
            _ => None,
        }
    }

    fn advance(&mut self, n: usize) -> Option<()> {
        self.0 = self.0.get(n..)?;
        Some(())
    }
}

fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

fn decode(bytes: &[u8]) -> Option<WireFrame> {
    let mut reader = Reader(bytes);
    let mut frame = WireFrame::default();
    while !reader.0.is_empty() {
        let key = reader.varint()?;
        let (field, wire_type) = (key >> 3, key & 7);
        match (field, wire_type) {
            (1, 0) => frame.seq_id = reader.varint()?,
            (2, 0) => frame.log_id = reader.varint()?,
            (3, 0) => frame.service = i32::try_from(reader.varint()?.cast_signed()).ok()?,
            (4, 0) => frame.method = i32::try_from(reader.varint()?.cast_signed()).ok()?,
            (5, 2) => {
                let mut header = Reader(reader.bytes()?);
                let (mut key, mut value) = (String::new(), String::new());
                while !header.0.is_empty() {
                    let tag = header.varint()?;
                    match (tag >> 3, tag & 7) {
                        (1, 2) => key = text(header.bytes()?)?,
                        (2, 2) => value = text(header.bytes()?)?,
                        (_, wire) => header.skip(wire)?,
                    }
                }
                frame.headers.push((key, value));
            }
            (6, 2) => frame.payload_encoding = Some(text(reader.bytes()?)?),
            (7, 2) => frame.payload_type = Some(text(reader.bytes()?)?),
            (8, 2) => frame.payload = Some(reader.bytes()?.to_vec()),
            (9, 2) => frame.log_id_new = Some(text(reader.bytes()?)?),
            (_, wire) => reader.skip(wire)?,
        }
    }
    Some(frame)
}

// ---------------------------------------------------------------------------------- discovery

/// `POST /callback/ws/endpoint`: `{"AppID","AppSecret"}` → the url to dial and the client
/// config. Refusals come as HTTP 200 with the long connection's own codes: 1000040344 when a
/// credential is missing, 1000040346 for an app id the platform does not know, 1000040345 when
/// the secret does not match.
pub(crate) fn endpoint(shared: &Shared, request: &Request) -> Reply {
    let fail = |code: i64, msg: &str| Reply::Json {
        status: StatusCode::OK,
        body: json!({"code": code, "msg": msg, "data": {"URL": ""}}),
        headers: Vec::new(),
    };
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let app_id = body["AppID"].as_str().unwrap_or_default();
    let secret = body["AppSecret"].as_str().unwrap_or_default();
    if app_id.is_empty() || secret.is_empty() {
        return fail(1_000_040_344, "app_id or app_secret is missing");
    }
    let mut state = shared.state();
    let Some(app) = state.apps.get(app_id) else {
        return fail(1_000_040_346, "app_id is invalid");
    };
    if app.config.app_secret != secret {
        return fail(1_000_040_345, "app_id or app_secret is invalid");
    }
    let config = state.config.ws.clone();
    let ticket = random_hex::<16>();
    state.ws.tickets.insert(ticket.clone(), app_id.to_owned());
    state.ws.next_id += 1;
    let service_id = 10_000 + state.ws.next_id;
    let device_id = random_hex::<8>();
    let url = format!(
        "{}{WS_PATH}?device_id={device_id}&service_id={service_id}&ticket={ticket}",
        shared.base_url.replacen("http", "ws", 1)
    );
    Reply::Json {
        status: StatusCode::OK,
        body: json!({"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": config.client_config()}}),
        headers: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------- handshake

fn refusal_response(refusal: &WsRefusal) -> http::Response<Full<Bytes>> {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = http::Response::new(Full::new(Bytes::from(refusal.message.clone())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&refusal.status.to_string()) {
        headers.insert("handshake-status", value);
    }
    if let Ok(value) = HeaderValue::from_str(&refusal.message) {
        headers.insert("handshake-msg", value);
    }
    if let Some(code) = refusal.auth_error_code
        && let Ok(value) = HeaderValue::from_str(&code.to_string())
    {
        headers.insert("handshake-autherrcode", value);
    }
    response
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

/// Answers a WebSocket handshake on [`WS_PATH`], and serves the connection once upgraded.
pub(crate) fn upgrade(
    shared: &Arc<Shared>,
    request: http::Request<hyper::body::Incoming>,
) -> http::Response<Full<Bytes>> {
    let query = request.uri().query().unwrap_or_default().to_owned();
    let refused = {
        let mut state = shared.state();
        if state.ws.refusals.is_empty() {
            None
        } else {
            Some(state.ws.refusals.remove(0))
        }
    };
    if let Some(refusal) = refused {
        return refusal_response(&refusal);
    }
    let ticket = query_value(&query, "ticket").unwrap_or_default();
    let app_id = shared.state().ws.tickets.remove(ticket);
    let key = request.headers().get("sec-websocket-key").cloned();
    let (Some(app_id), Some(key)) = (app_id, key) else {
        return refusal_response(&WsRefusal {
            status: 403,
            auth_error_code: None,
            message: "unknown or reused connection ticket; call /callback/ws/endpoint first"
                .to_owned(),
        });
    };
    let marketplace = shared
        .state()
        .apps
        .get(&app_id)
        .is_some_and(|app| app.config.marketplace);
    if marketplace {
        return refusal_response(&WsRefusal {
            status: 403,
            auth_error_code: None,
            message: "the long connection is for self-built apps only".to_owned(),
        });
    }
    let device_id = query_value(&query, "device_id")
        .unwrap_or_default()
        .to_owned();
    let service_id = query_value(&query, "service_id")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Registered now, before the 101 goes out: the client reports itself connected as soon as
    // it reads the 101, and a push made from then on must reach it.
    let (tx, rx) = mpsc::unbounded_channel();
    let id = {
        let mut state = shared.state();
        state.ws.next_id += 1;
        let id = state.ws.next_id;
        state.ws.conns.push(WsConn {
            id,
            app_id,
            device_id,
            service_id,
            silent: false,
            tx,
        });
        id
    };
    shared.changed.notify_waiters();
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(request).await {
            let socket =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            serve(&shared, socket, id, rx).await;
        }
        shared.state().ws.conns.retain(|c| c.id != id);
        shared.changed.notify_waiters();
    });
    let mut response = http::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        http::header::CONNECTION,
        HeaderValue::from_static("Upgrade"),
    );
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert("sec-websocket-accept", accept);
    }
    response
}

// ---------------------------------------------------------------------------------- a connection

async fn serve<S>(
    shared: &Shared,
    socket: WebSocketStream<S>,
    id: u64,
    mut rx: mpsc::UnboundedReceiver<Command>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            command = rx.recv() => match command {
                Some(Command::Send(bytes)) => {
                    if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
                        break;
                    }
                }
                // Dropping the socket without a close frame: the client sees the connection die.
                Some(Command::Kill) | None => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    if let Some(reply) = received(shared, id, &bytes) && sink.send(WsMessage::Binary(reply.into())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Handles a frame from a client; returns the frame to answer with, if any.
fn received(shared: &Shared, conn_id: u64, bytes: &[u8]) -> Option<Vec<u8>> {
    let frame = decode(bytes)?;
    let mut state = shared.state();
    let conn = state.ws.conns.iter().find(|c| c.id == conn_id)?;
    let (silent, service_id) = (conn.silent, conn.service_id);
    if frame.method == 0 {
        if frame.header("type") != Some("ping") {
            return None;
        }
        state.ws.pings += 1;
        // Every pong carries the client configuration in force, as the platform's do.
        let pong = (!silent).then(|| {
            encode(&WireFrame {
                service: service_id,
                method: 0,
                headers: vec![("type".to_owned(), "pong".to_owned())],
                payload: Some(state.config.ws.client_config().to_string().into_bytes()),
                ..WireFrame::default()
            })
        });
        drop(state);
        shared.changed.notify_waiters();
        return pong;
    }
    // A data frame from a client is the ack of a push.
    let answer: Value = frame
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_slice(p).ok())
        .unwrap_or(Value::Null);
    let data = answer["data"]
        .as_str()
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .and_then(|d| serde_json::from_slice(&d).ok());
    let message_id = frame.header("message_id").unwrap_or_default().to_owned();
    let waiting = state.ws.waiting.remove(&message_id);
    let ack = WsAck {
        event_id: waiting
            .as_ref()
            .map(|w| w.event_id.clone())
            .unwrap_or_default(),
        message_id,
        frame_type: frame.header("type").unwrap_or_default().to_owned(),
        code: answer["code"].as_i64().unwrap_or(0),
        biz_rt_ms: frame.header("biz_rt").and_then(|v| v.parse().ok()),
        data,
    };
    crate::server::remember(&mut state.ws.acks, ack.clone());
    if let Some(waiting) = waiting {
        let _ = waiting.ack.send(ack);
    }
    drop(state);
    shared.changed.notify_waiters();
    None
}

// ---------------------------------------------------------------------------------- pushes

/// How one push went.
enum Pushed {
    /// No connection of the app could take it.
    NoConnection,
    /// The client acknowledged it.
    Acked(WsAck),
    /// No ack came within the timeout.
    Unacknowledged,
}

/// Pushes `payload` as one logical message (fragmented as configured) to a random connection
/// of `app_id`, and waits at most `timeout` for its ack. The frames carry only the platform's
/// header keys: `type`, `message_id`, `sum`, `seq`, `trace_id`, `timestamp`.
async fn push_once(
    shared: &Shared,
    app_id: &str,
    frame_type: &str,
    event_id: &str,
    payload: &[u8],
    timeout: Duration,
) -> Pushed {
    let (ack_tx, ack_rx) = oneshot::channel();
    let message_id = format!("msg_{}", random_hex::<12>());
    {
        let mut state = shared.state();
        let fragment = state.config.ws.fragment_bytes.unwrap_or(usize::MAX).max(1);
        let candidates: Vec<usize> = state
            .ws
            .conns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.app_id == app_id && !c.silent)
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return Pushed::NoConnection;
        }
        let pick = candidates
            [usize::try_from(crate::util::random_u64() % candidates.len() as u64).unwrap_or(0)];
        let chunks: Vec<&[u8]> = if payload.is_empty() {
            vec![payload]
        } else {
            payload.chunks(fragment).collect()
        };
        let trace_id = random_hex::<8>();
        state.ws.seq += 1;
        let seq_id = state.ws.seq;
        let conn = &state.ws.conns[pick];
        for (index, chunk) in chunks.iter().enumerate() {
            let frame = WireFrame {
                seq_id,
                log_id: seq_id,
                service: conn.service_id,
                method: 1,
                headers: vec![
                    ("type".to_owned(), frame_type.to_owned()),
                    ("message_id".to_owned(), message_id.clone()),
                    ("sum".to_owned(), chunks.len().to_string()),
                    ("seq".to_owned(), index.to_string()),
                    ("trace_id".to_owned(), trace_id.clone()),
                    ("timestamp".to_owned(), now_millis().to_string()),
                ],
                payload: Some(chunk.to_vec()),
                ..WireFrame::default()
            };
            let _ = conn.tx.send(Command::Send(encode(&frame)));
        }
        state.ws.waiting.insert(
            message_id.clone(),
            Waiting {
                event_id: event_id.to_owned(),
                ack: ack_tx,
            },
        );
    }
    if let Ok(Ok(ack)) = tokio::time::timeout(timeout, ack_rx).await {
        Pushed::Acked(ack)
    } else {
        shared.state().ws.waiting.remove(&message_id);
        Pushed::Unacknowledged
    }
}

/// Delivers an event over the long connection. While the app has no connection open the event
/// waits, however long that takes, and goes out as soon as one opens; waiting is not a failed
/// push. A push that is not acknowledged with code 200 within the ack budget has failed, and is
/// pushed again after the next delay of the retry schedule. After an ack, `event.duplicates`
/// more copies follow, as the platform's at-least-once delivery sometimes does.
pub(crate) async fn deliver(shared: Arc<Shared>, event: Outgoing) {
    let bytes = event.payload.to_string().into_bytes();
    let mut failures = 0usize;
    let mut attempt = 1u32;
    let mut copies_left = event.duplicates;
    let mut duplicate = event.redelivery;
    loop {
        shared
            .wait_for(|state| state.ws.has_client(&event.app_id))
            .await;
        let (timeout, delays) = {
            let state = shared.state();
            (
                Duration::from_millis(state.config.ws.ack_timeout_ms.max(1)),
                state.config.ws.retry_delays_ms.clone(),
            )
        };
        let pushed = push_once(
            &shared,
            &event.app_id,
            "event",
            &event.event_id,
            &bytes,
            timeout,
        )
        .await;
        let error = match &pushed {
            // The connection went away between the wait and the push: wait again.
            Pushed::NoConnection => continue,
            Pushed::Acked(ack) if ack.code == 200 => None,
            Pushed::Acked(ack) => Some(format!("acknowledged with code {}", ack.code)),
            Pushed::Unacknowledged => Some(format!(
                "not acknowledged within {} ms",
                timeout.as_millis()
            )),
        };
        let succeeded = error.is_none();
        let answer = match &pushed {
            Pushed::Acked(ack) => ack
                .data
                .as_ref()
                .map(|data| crate::state::kept_answer(data.to_string().as_bytes())),
            _ => None,
        };
        crate::events::note_delivery(
            &shared,
            DeliveryRecord {
                answer,
                ..DeliveryRecord::of(&event, attempt, duplicate, error, true)
            },
        );
        attempt += 1;
        if succeeded {
            if copies_left == 0 {
                return;
            }
            copies_left -= 1;
            duplicate = true;
            continue;
        }
        let Some(delay) = delays.get(failures) else {
            return;
        };
        failures += 1;
        tokio::time::sleep(Duration::from_millis(*delay)).await;
    }
}

/// Pushes `payload` as an `event` frame, exactly as given (a test of how a client treats a
/// push it cannot read), and returns the client's ack, if it sent one within the ack budget.
pub(crate) async fn push_raw(shared: &Shared, app_id: &str, payload: &[u8]) -> Option<WsAck> {
    let timeout = Duration::from_millis(shared.state().config.ws.ack_timeout_ms.max(1));
    match push_once(shared, app_id, "event", "", payload, timeout).await {
        Pushed::Acked(ack) => Some(ack),
        Pushed::NoConnection | Pushed::Unacknowledged => None,
    }
}

/// Sends one data frame with exactly `headers` and `payload` to one of `app_id`'s
/// connections, waiting for no ack; false when none is open.
pub(crate) fn push_frame(
    shared: &Shared,
    app_id: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
) -> bool {
    let mut state = shared.state();
    let Some(index) = state
        .ws
        .conns
        .iter()
        .position(|c| c.app_id == app_id && !c.silent)
    else {
        return false;
    };
    state.ws.seq += 1;
    let seq_id = state.ws.seq;
    let conn = &state.ws.conns[index];
    let frame = WireFrame {
        seq_id,
        log_id: seq_id,
        service: conn.service_id,
        method: 1,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        payload: Some(payload.to_vec()),
        ..WireFrame::default()
    };
    conn.tx.send(Command::Send(encode(&frame))).is_ok()
}

/// Pushes a card callback and returns the response JSON the client put in its ack, or why
/// there is none. A callback is answered at once or not at all: it is never queued.
pub(crate) async fn card_callback(
    shared: &Shared,
    app_id: &str,
    event_id: &str,
    payload: &Value,
) -> Result<Vec<u8>, String> {
    let pushed = push_once(
        shared,
        app_id,
        "card",
        event_id,
        payload.to_string().as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    let ack = match pushed {
        Pushed::Acked(ack) => ack,
        Pushed::NoConnection => {
            return Err(
                "the app has no long connection open (the client shows error 200671)".to_owned(),
            );
        }
        Pushed::Unacknowledged => {
            return Err(
                "the app did not acknowledge the card callback within 3 s (the client shows error 200671)"
                    .to_owned(),
            );
        }
    };
    if ack.code != 200 {
        return Err(format!(
            "the app acknowledged the card callback with code {} (the client shows error 200671)",
            ack.code
        ));
    }
    Ok(ack
        .data
        .map_or_else(|| b"{}".to_vec(), |data| data.to_string().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_negative_ints_and_every_optional_field() {
        let frame = WireFrame {
            seq_id: 300,
            log_id: u64::MAX,
            service: -7,
            method: 1,
            headers: vec![
                ("type".to_owned(), "event".to_owned()),
                ("sum".to_owned(), "2".to_owned()),
            ],
            payload_encoding: Some("utf-8".to_owned()),
            payload_type: Some("json".to_owned()),
            payload: Some(b"{\"a\":1}".to_vec()),
            log_id_new: Some("log-new".to_owned()),
        };
        assert_eq!(decode(&encode(&frame)), Some(frame));
        let ping = WireFrame {
            service: 12,
            headers: vec![("type".to_owned(), "ping".to_owned())],
            ..WireFrame::default()
        };
        let bytes = encode(&ping);
        assert_eq!(
            &bytes[..4],
            &[0x08, 0x00, 0x10, 0x00],
            "required zero fields are written"
        );
        assert_eq!(decode(&bytes), Some(ping));
        assert_eq!(decode(&[0x08]), None, "a truncated varint is refused");
        assert_eq!(
            decode(&[0x42, 0x05, b'a']),
            None,
            "a truncated payload is refused"
        );
    }
}
