//! The HTTP side: accepting connections, faults, routing, and the platform's response format.

use crate::events::EventBus;
use crate::faults::{Fault, delay_of};
use crate::routes;
use crate::state::{RecordedRequest, State};
use crate::util::new_log_id;
use bytes::Bytes;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

/// Largest upload read: above the platform's limits (10 MB for images, 30 MB for files), so that
/// a larger upload is still refused with the platform's own code.
const MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// Largest body read for any other call: far above any JSON body the platform takes.
const MAX_JSON: usize = 4 * 1024 * 1024;

/// How many requests, deliveries, events and acks the emulator remembers; the oldest are
/// forgotten first.
pub(crate) const RECORD_LIMIT: usize = 100_000;

/// Appends `item`, forgetting the oldest entries once `log` holds more than
/// [`RECORD_LIMIT`] (an eighth more at the most, so that forgetting is not paid on every push).
pub(crate) fn remember<T>(log: &mut Vec<T>, item: T) {
    log.push(item);
    if log.len() > RECORD_LIMIT + RECORD_LIMIT / 8 {
        log.drain(..log.len() - RECORD_LIMIT);
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Woken whenever requests, messages or deliveries change, for tests that wait.
    pub(crate) changed: Notify,
    pub(crate) events: EventBus,
    pub(crate) base_url: String,
    /// The configuration it started with, which a reset returns to.
    pub(crate) initial: crate::config::EmulatorConfig,
}

impl Shared {
    /// Hands `events` to the delivery and wakes the tests that wait for a change. Called
    /// after the state's lock is released.
    pub(crate) fn publish(&self, events: impl IntoIterator<Item = crate::events::Outgoing>) {
        for event in events {
            self.events.emit(event);
        }
        self.changed.notify_waiters();
    }

    pub(crate) fn new(state: State, events: EventBus, base_url: String) -> Self {
        Self {
            initial: state.config.clone(),
            state: Mutex::new(state),
            changed: Notify::new(),
            events,
            base_url,
        }
    }

    /// The state. A handler that panicked while holding the lock leaves the state as it was;
    /// the emulator keeps serving rather than failing every later request.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until `condition` holds, re-checking on every change. The waiter is registered
    /// before the check, so a change between the check and the wait is never missed.
    pub(crate) async fn wait_for(&self, mut condition: impl FnMut(&State) -> bool) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if condition(&self.state()) {
                return;
            }
            changed.await;
        }
    }
}

/// A request, read whole.
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) segments: Vec<String>,
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Request {
    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The JSON body as an object.
    pub(crate) fn json(&self) -> Result<serde_json::Map<String, Value>, Fail> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Fail::bad_request(
                self.invalid_param_code(),
                "request body must be a JSON object",
            )),
            Err(err) => Err(Fail::bad_request(
                self.invalid_param_code(),
                format!("request body is not valid JSON: {err}"),
            )),
        }
    }

    fn invalid_param_code(&self) -> i64 {
        if self.path.contains("/chats") {
            crate::codes::chats::INVALID_PARAM
        } else {
            crate::codes::messages::INVALID_PARAM
        }
    }
}

/// An answer.
pub(crate) enum Reply {
    /// `{"code":0,"msg":"success","data":…}` (or a top-level body for the token endpoints).
    Json {
        status: StatusCode,
        body: Value,
        headers: Vec<(HeaderName, String)>,
    },
    /// A page for a browser, or a redirect when `location` is set.
    Page {
        status: StatusCode,
        html: String,
        location: Option<String>,
    },
    /// A file.
    Binary {
        bytes: Bytes,
        content_type: String,
        file_name: Option<String>,
    },
}

impl Reply {
    pub(crate) fn data(data: Value) -> Self {
        let mut body = json!({"code": 0, "msg": "success"});
        body["data"] = data;
        Self::Json {
            status: StatusCode::OK,
            body,
            headers: Vec::new(),
        }
    }

    pub(crate) fn empty() -> Self {
        Self::data(json!({}))
    }

    pub(crate) fn top_level(body: Value) -> Self {
        Self::Json {
            status: StatusCode::OK,
            body,
            headers: Vec::new(),
        }
    }
}

/// A refusal, in the platform's error format.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) status: StatusCode,
    pub(crate) code: i64,
    pub(crate) msg: String,
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) field: Option<(&'static str, String)>,
    /// An OAuth endpoint's refusal: answered as `{"code", "error", "error_description"}`.
    pub(crate) oauth_error: Option<Box<str>>,
}

impl Fail {
    /// The gateway's rate-limit refusal (docs/protocol.md §4.3): 429, code 99991400, the
    /// window's `limit` and the seconds until it resets in the `x-ogw-ratelimit-*` headers.
    pub(crate) fn rate_limited(limit: u64, reset_secs: u64) -> Self {
        let mut fail = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            99_991_400,
            "request trigger frequency limit",
        );
        fail.headers.push((
            HeaderName::from_static("x-ogw-ratelimit-limit"),
            limit.to_string(),
        ));
        fail.headers.push((
            HeaderName::from_static("x-ogw-ratelimit-reset"),
            reset_secs.to_string(),
        ));
        fail
    }

    pub(crate) fn new(status: StatusCode, code: i64, msg: impl Into<String>) -> Self {
        Self {
            status,
            code,
            msg: msg.into(),
            headers: Vec::new(),
            field: None,
            oauth_error: None,
        }
    }

    pub(crate) fn bad_request(code: i64, msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, msg)
    }

    /// A parameter error naming the field, as `field_violations`.
    pub(crate) fn field(code: i64, field: &'static str, description: impl Into<String>) -> Self {
        let description = description.into();
        let mut fail = Self::bad_request(
            code,
            format!("Your request contains an invalid request parameter: {field} {description}"),
        );
        fail.field = Some((field, description));
        fail
    }
}

/// The connection is to be closed without an answer (a fault).
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// The most connections served at once; further ones wait to be accepted.
const MAX_CONNECTIONS: usize = 1024;

/// Accepts connections until `shutdown` fires; dropping the returned future's task closes every
/// connection.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let idle = match shared.state().config.idle_timeout_secs {
        0 => None,
        secs => Some(std::time::Duration::from_secs(secs)),
    };
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(idle);
    let builder = Arc::new(builder);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            // A connection is accepted only when a slot is free; both waits may be cancelled.
            accepted = async {
                let slot = slots.clone().acquire_owned().await;
                (slot, listener.accept().await)
            } => {
                let (Ok(slot), Ok((stream, _))) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let builder = builder.clone();
                connections.spawn(async move {
                    // Until its first bytes, a connection is not yet HTTP/1 or HTTP/2, and
                    // neither's timers apply: a silent one is closed here.
                    if let Some(idle) = idle {
                        let mut first = [0u8; 1];
                        match tokio::time::timeout(idle, stream.peek(&mut first)).await {
                            Ok(Ok(n)) if n > 0 => {}
                            _ => return,
                        }
                    }
                    let service = hyper::service::service_fn(move |request| {
                        let shared = shared.clone();
                        async move { handle(shared, request).await }
                    });
                    let _ = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .await;
                    drop(slot);
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

/// The body of a request to `path`, read whole up to the cap for its kind of call: a body that
/// announces more is refused before any of it is read, and one that sends more when it is.
async fn read_capped(path: &str, body: Incoming) -> Result<Bytes, Fail> {
    let upload =
        path.starts_with("/open-apis/im/v1/images") || path.starts_with("/open-apis/im/v1/files");
    let cap = if upload { MAX_UPLOAD } else { MAX_JSON };
    let announced = hyper::body::Body::size_hint(&body).lower();
    let collected = if announced > cap as u64 {
        None
    } else {
        Limited::new(body, cap).collect().await.ok()
    };
    collected
        .map(http_body_util::Collected::to_bytes)
        .ok_or_else(|| {
            if upload {
                Fail::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    crate::codes::files::TOO_LARGE,
                    "The file size exceed the max value.",
                )
            } else {
                Fail::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    crate::codes::messages::INVALID_PARAM,
                    format!("the request body is larger than the emulator reads ({cap} bytes)"),
                )
            }
        })
}

/// A long connection's handshake, recorded as a request.
fn upgrade(shared: &Arc<Shared>, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let log_id = new_log_id();
    let response = crate::ws::upgrade(shared, request);
    let status = response.status().as_u16();
    record(
        shared,
        &Method::GET,
        crate::ws::WS_PATH,
        "",
        status,
        0,
        &log_id,
    );
    response
}

async fn handle(
    shared: Arc<Shared>,
    request: http::Request<Incoming>,
) -> Result<http::Response<AnswerBody>, Dropped> {
    if request.uri().path() == crate::ws::WS_PATH {
        return Ok(upgrade(&shared, request).map(Either::Left));
    }
    if request
        .uri()
        .path()
        .starts_with(crate::control::CONTROL_PREFIX)
    {
        return Ok(crate::control::handle(&shared, request)
            .await
            .map(Either::Left));
    }
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();

    let faults = shared.state().faults.pick(method.as_str(), &path);
    let delay = delay_of(&faults);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let log_id = new_log_id();
    if faults.contains(&Fault::DropBeforeProcessing) {
        record(&shared, &method, &path, &raw_query, 0, 0, &log_id);
        return Err(Dropped);
    }
    match faults.iter().find_map(|fault| early_fault(fault, &log_id)) {
        Some(Early::Fail(fail)) => {
            let code = fail.code;
            let status = fail.status.as_u16();
            record(&shared, &method, &path, &raw_query, status, code, &log_id);
            return Ok(respond(Err(fail), &log_id).map(Either::Left));
        }
        Some(Early::Page(page)) => {
            let status = page.status().as_u16();
            record(&shared, &method, &path, &raw_query, status, 0, &log_id);
            return Ok(page.map(Either::Left));
        }
        None => {}
    }

    let body = match read_capped(&path, body).await {
        Ok(body) => body,
        Err(fail) => {
            record(&shared, &method, &path, &raw_query, 413, fail.code, &log_id);
            return Ok(respond(Err(fail), &log_id).map(Either::Left));
        }
    };
    let request = Request {
        method,
        segments: path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect(),
        path,
        query: parse_query(&raw_query),
        headers: parts.headers,
        body,
    };
    if faults.contains(&Fault::RevokeToken)
        && let Some(app_id) = routes::auth::token_owner(&shared, &request)
    {
        shared.state().revoke_tokens(&app_id);
    }
    let outcome = failed_after(within_quota(&shared, &request).await, &faults);
    let (status, code) = match &outcome {
        Ok(Reply::Json { status, body, .. }) => (
            status.as_u16(),
            body.get("code").and_then(Value::as_i64).unwrap_or(0),
        ),
        Ok(Reply::Binary { .. }) => (200, 0),
        Ok(Reply::Page { status, .. }) => (status.as_u16(), 0),
        Err(fail) => (fail.status.as_u16(), fail.code),
    };
    let dropped_after = faults.contains(&Fault::DropAfterProcessing);
    record(
        &shared,
        &request.method,
        &request.path,
        &raw_query,
        if dropped_after { 0 } else { status },
        code,
        &log_id,
    );
    if dropped_after {
        return Err(Dropped);
    }
    Ok(stall_if_asked(respond(outcome, &log_id), &faults))
}

/// The outcome, or a 5xx in its place when a fault says the request fails after it was
/// processed.
fn failed_after(outcome: Result<Reply, Fail>, faults: &[Fault]) -> Result<Reply, Fail> {
    let status = faults.iter().find_map(|fault| match fault {
        Fault::ServerErrorAfterProcessing { status } => Some(*status),
        _ => None,
    });
    match status {
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err(Fail::new(
                status,
                crate::faults::INTERNAL_ERROR,
                "internal error",
            ))
        }
        None => outcome,
    }
}

/// `response`, stalled mid-body when a fault says so.
fn stall_if_asked(
    response: http::Response<Full<Bytes>>,
    faults: &[Fault],
) -> http::Response<AnswerBody> {
    let stall = faults.iter().find_map(|fault| match fault {
        Fault::StallBody { after_bytes } => Some(*after_bytes),
        _ => None,
    });
    match stall {
        Some(after_bytes) => response.map(|body| Either::Right(Stalled::new(body, after_bytes))),
        None => response.map(Either::Left),
    }
}

/// What the emulator answers with: a whole body, or one that stalls.
type AnswerBody = Either<Full<Bytes>, Stalled>;

/// A body that announces its whole length, sends its first bytes, and then nothing more, never
/// ending: a server stalled mid-answer. The connection stays open until the client gives up.
pub(crate) struct Stalled {
    prefix: Option<Bytes>,
    len: u64,
}

impl Stalled {
    fn new(body: Full<Bytes>, after_bytes: u64) -> Self {
        use hyper::body::Body as _;
        let len = body.size_hint().exact().unwrap_or(0);
        let bytes = futures_util::FutureExt::now_or_never(body.collect())
            .and_then(Result::ok)
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_default();
        let cut = usize::try_from(after_bytes).map_or(bytes.len(), |n| n.min(bytes.len()));
        Self {
            prefix: Some(bytes.slice(..cut)),
            len,
        }
    }
}

impl hyper::body::Body for Stalled {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        match self.prefix.take() {
            Some(prefix) if !prefix.is_empty() => {
                std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(prefix))))
            }
            _ => std::task::Poll::Pending,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len)
    }
}

/// What a fault that answers in place of the endpoint answers with.
enum Early {
    Fail(Fail),
    Page(http::Response<Full<Bytes>>),
}

fn early_fault(fault: &Fault, log_id: &str) -> Option<Early> {
    match fault {
        Fault::RateLimit { reset_secs, limit } => {
            Some(Early::Fail(Fail::rate_limited(*limit, *reset_secs)))
        }
        Fault::ServerError { status, code } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(Early::Fail(Fail::new(status, *code, "internal error")))
        }
        Fault::Answer { status, code, msg } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST);
            Some(Early::Fail(Fail::new(status, *code, msg.clone())))
        }
        Fault::GatewayError { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            let reason = status.canonical_reason().unwrap_or("Error");
            let page = format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n",
                code = status.as_u16()
            );
            let mut response = http::Response::new(Full::new(Bytes::from(page)));
            *response.status_mut() = status;
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            if let Ok(value) = HeaderValue::from_str(log_id) {
                response.headers_mut().insert("x-tt-logid", value);
            }
            Some(Early::Page(response))
        }
        _ => None,
    }
}

fn record(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    status: u16,
    code: i64,
    log_id: &str,
) {
    remember(
        &mut shared.state().requests,
        RecordedRequest {
            method: method.to_string(),
            path: path.to_owned(),
            query: query.to_owned(),
            status,
            code,
            log_id: log_id.to_owned(),
        },
    );
    shared.changed.notify_waiters();
}

/// Routes `request`, unless quota mode refuses it first.
async fn within_quota(shared: &Shared, request: &Request) -> Result<Reply, Fail> {
    if let Some(app_id) = routes::auth::token_owner(shared, request)
        && let Some(fail) = crate::quota::check(&mut shared.state(), &app_id, request)
    {
        return Err(fail);
    }
    route(shared, request).await
}

async fn route(shared: &Shared, request: &Request) -> Result<Reply, Fail> {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["open-apis", "auth", "v3", rest @ ..] => routes::auth::route(shared, request, rest),
        ["open-apis", "im", "v1", "messages", rest @ ..] => {
            routes::messages::route(shared, request, rest)
        }
        ["open-apis", "im", "v1", "chats", rest @ ..] => {
            routes::chats::route(shared, request, rest)
        }
        ["open-apis", "im", "v1", "pins", rest @ ..] => routes::pins::route(shared, request, rest),
        ["open-apis", "cardkit", "v1", "cards", rest @ ..] => {
            routes::cardkit::route(shared, request, rest)
        }
        ["open-apis", "authen", "v2", "oauth", "token"] if request.method == Method::POST => {
            routes::oauth::token(shared, request)
        }
        ["open-apis", "authen", "v1", "authorize"] if request.method == Method::GET => {
            Ok(routes::oauth::authorize_page(shared, request))
        }
        ["open-apis", "authen", "v1", "user_info"] if request.method == Method::GET => {
            routes::oauth::user_info(shared, request)
        }
        ["oauth", "v1", "revoke"] if request.method == Method::POST => {
            routes::oauth::revoke(shared, request)
        }
        ["oauth", "v1", "device_authorization"] if request.method == Method::POST => {
            routes::oauth::device_authorization(shared, request, &shared.base_url)
        }
        ["open-apis", "bot", "v3", "info"] if request.method == Method::GET => {
            routes::auth::bot_info(shared, request)
        }
        ["open-apis", "im", "v1", "images", rest @ ..] => {
            routes::resources::images(shared, request, rest).await
        }
        ["open-apis", "im", "v1", "files", rest @ ..] => {
            routes::resources::files(shared, request, rest).await
        }
        ["open-apis", "im", "v1", "batch_messages", id] if request.method == Method::DELETE => {
            routes::messages::recall_batch(shared, request, id)
        }
        ["open-apis", "message", "v4", "batch_send"] if request.method == Method::POST => {
            routes::messages::batch_send(shared, request)
        }
        ["callback", "ws", "endpoint"] if request.method == Method::POST => {
            Ok(crate::ws::endpoint(shared, request))
        }
        _ => Err(Fail::new(
            StatusCode::NOT_FOUND,
            404,
            format!("404 page not found: {} {}", request.method, request.path),
        )),
    }
}

fn respond(outcome: Result<Reply, Fail>, log_id: &str) -> http::Response<Full<Bytes>> {
    let mut builder = http::Response::builder().header("x-tt-logid", log_id);
    let body = match outcome {
        Ok(Reply::Json {
            status,
            body,
            headers,
        }) => {
            builder = builder
                .status(status)
                .header(CONTENT_TYPE, "application/json; charset=utf-8");
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            Bytes::from(body.to_string())
        }
        Ok(Reply::Page {
            status,
            html,
            location,
        }) => {
            builder = builder
                .status(status)
                .header(CONTENT_TYPE, "text/html; charset=utf-8");
            if let Some(location) = location
                && let Ok(value) = HeaderValue::from_str(&location)
            {
                builder = builder.header(http::header::LOCATION, value);
            }
            Bytes::from(html)
        }
        Ok(Reply::Binary {
            bytes,
            content_type,
            file_name,
        }) => {
            builder = builder
                .status(StatusCode::OK)
                .header(CONTENT_TYPE, content_type);
            if let Some(name) = file_name
                && let Ok(value) = HeaderValue::from_bytes(content_disposition(&name).as_bytes())
            {
                builder = builder.header(CONTENT_DISPOSITION, value);
            }
            bytes
        }
        Err(fail) => {
            builder = builder
                .status(fail.status)
                .header(CONTENT_TYPE, "application/json; charset=utf-8");
            for (name, value) in fail.headers {
                builder = builder.header(name, value);
            }
            if let Some(oauth) = fail.oauth_error {
                let mut body = json!({"error": &*oauth, "error_description": fail.msg});
                if fail.code != 0 {
                    body["code"] = json!(fail.code);
                }
                Bytes::from(body.to_string())
            } else {
                let mut error = json!({
                    "log_id": log_id,
                    "troubleshooter": format!(
                        "排查建议查看(Troubleshooting suggestions): https://open.feishu.cn/search?from=openapi&log_id={log_id}&code={}",
                        fail.code
                    ),
                });
                if let Some((field, description)) = fail.field {
                    error["field_violations"] =
                        json!([{ "field": field, "description": description }]);
                }
                Bytes::from(
                    json!({ "code": fail.code, "msg": fail.msg, "error": error }).to_string(),
                )
            }
        }
    };
    builder.body(Full::new(body)).unwrap_or_else(|_| {
        let mut response = http::Response::new(Full::new(Bytes::from_static(
            b"{\"code\":1,\"msg\":\"response assembly failed\"}",
        )));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        if let Ok(value) = HeaderValue::from_str(log_id) {
            response.headers_mut().insert("x-tt-logid", value);
        }
        response
    })
}

/// `attachment; filename="…"` with the name as raw UTF-8, as the platform writes it (no
/// `filename*`); a quote or backslash in the name is escaped.
fn content_disposition(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_control() => quoted.push('_'),
            c => quoted.push(c),
        }
    }
    format!("attachment; filename=\"{quoted}\"")
}

pub(crate) fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key, true), decode(value, true))
        })
        .collect()
}

/// Percent-decodes a path segment or query part; `+` means a space only in queries.
pub(crate) fn percent_decode(value: &str) -> String {
    decode(value, false)
}

fn decode(value: &str, plus_is_space: bool) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%'
            && let Some(decoded) = value
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(decoded);
            index += 3;
            continue;
        }
        out.push(if plus_is_space && byte == b'+' {
            b' '
        } else {
            byte
        });
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{RECORD_LIMIT, remember};

    #[test]
    fn a_record_forgets_its_oldest_entries_and_never_holds_more_than_an_eighth_over_the_limit() {
        let mut log = Vec::new();
        for n in 0..(RECORD_LIMIT * 3) {
            remember(&mut log, n);
            assert!(log.len() <= RECORD_LIMIT + RECORD_LIMIT / 8);
        }
        assert!(log.len() >= RECORD_LIMIT);
        assert_eq!(log.last(), Some(&(RECORD_LIMIT * 3 - 1)));
        // What is kept is the newest, in order.
        assert!(log.windows(2).all(|pair| pair[1] == pair[0] + 1));
    }
}
