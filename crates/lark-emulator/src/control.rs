//! The control API: what a test written in any language uses to act as the tenant's people and
//! to read what the app under test did, over plain HTTP.
//!
//! It is served on the emulator's own port under [`CONTROL_PREFIX`], a path no platform API
//! starts with. Control calls pass by the fault rules, the quotas and the request log: what
//! those report is only the traffic of the app under test. Each call is an HTTP face on the
//! same function that the matching method of [`crate::Emulator`] calls; `docs/emulator.md`
//! documents each with a request and its answer.

use crate::UserInfo;
use crate::faults::FaultRule;
use crate::server::Shared;
use crate::simulate::{self, EmulatorError, Membership};
use crate::state::{Author, State};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Where the control API lives: `http://127.0.0.1:PORT/__emulator/v1/…`.
pub const CONTROL_PREFIX: &str = "/__emulator/v1";

/// The largest control request body read. Control bodies are small JSON objects; a larger one
/// is refused before it is buffered.
const MAX_BODY: usize = 1024 * 1024;

/// The longest a `wait` may be asked to wait.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// A control call that failed: its status and what went wrong.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    error: String,
}

impl Refusal {
    fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
        }
    }

    fn bad(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }
}

impl From<EmulatorError> for Refusal {
    fn from(err: EmulatorError) -> Self {
        let status = match &err {
            EmulatorError::UnknownChat(_)
            | EmulatorError::UnknownUser(_)
            | EmulatorError::UnknownApp(_)
            | EmulatorError::UnknownMessage(_) => StatusCode::NOT_FOUND,
            EmulatorError::NotAMember { .. } => StatusCode::CONFLICT,
            EmulatorError::NoWebhook => StatusCode::PRECONDITION_FAILED,
            EmulatorError::Callback(_) => StatusCode::BAD_GATEWAY,
            EmulatorError::Content(_) => StatusCode::BAD_REQUEST,
        };
        Self::new(status, err.to_string())
    }
}

/// Answers one control request.
pub(crate) async fn handle(
    shared: &Shared,
    request: http::Request<Incoming>,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let answer = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => {
            let path = parts.uri.path();
            let rest = path.strip_prefix(CONTROL_PREFIX).unwrap_or_default();
            let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            match parse_body(&collected.to_bytes()) {
                Ok(body) => route(shared, &parts.method, &segments, &body).await,
                Err(refusal) => Err(refusal),
            }
        }
        Err(_) => Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a control request body is at most {MAX_BODY} bytes"),
        )),
    };
    let (status, body) = match answer {
        Ok(value) => (StatusCode::OK, value),
        Err(refusal) => (refusal.status, json!({ "error": refusal.error })),
    };
    let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The body as a JSON object; an empty body is an empty object.
fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, Refusal> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Refusal::bad("the body must be a JSON object")),
        Err(err) => Err(Refusal::bad(format!("the body is not JSON: {err}"))),
    }
}

async fn route(
    shared: &Shared,
    method: &Method,
    segments: &[&str],
    body: &Map<String, Value>,
) -> Result<Value, Refusal> {
    let get = method == Method::GET;
    let post = method == Method::POST;
    let delete = method == Method::DELETE;
    match segments {
        ["info"] if get => Ok(info(shared)),
        ["users"] if get => Ok(json!({ "items": users(&shared.state()) })),
        ["chats", chat, "messages"] if get => {
            Ok(json!({ "items": messages_in(&shared.state(), chat) }))
        }
        ["chats", chat, "messages"] if post => say(shared, chat, body),
        ["chats", chat, "members"] if post => join(shared, chat, body),
        ["chats", chat, "members", user] if delete => leave(shared, chat, user),
        ["messages", id] if get => message(&shared.state(), id)
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no message {id}"))),
        ["messages", id, "reactions"] if post || delete => react(shared, id, body, post),
        ["messages", id, "recall"] if post => {
            simulate::user_recalls(shared, id)?;
            Ok(json!({}))
        }
        ["messages", id, "read"] if post => {
            let user = user_of(shared, body)?;
            simulate::user_reads(shared, &user, &[(*id).to_owned()])?;
            Ok(json!({}))
        }
        ["messages", id, "click"] if post => click(shared, id, body).await,
        ["cards", id] if get => card(&shared.state(), id)
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no card {id}"))),
        ["requests"] if get => Ok(json!({ "items": shared.state().requests })),
        ["deliveries"] if get => Ok(json!({ "items": shared.state().deliveries })),
        ["events"] if get => Ok(json!({ "items": shared.state().emitted })),
        ["faults"] if get => Ok(json!({ "items": shared.state().faults.rules().to_vec() })),
        ["faults"] if post => add_fault(shared, body),
        ["faults"] if delete => {
            shared.state().faults.clear();
            Ok(json!({}))
        }
        ["wait"] if post => wait(shared, body).await,
        _ => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            format!(
                "no control call {method} {CONTROL_PREFIX}/{}; docs/emulator.md lists them",
                segments.join("/")
            ),
        )),
    }
}

// ------------------------------------------------------------------------------ inspection

/// The base url, the first app's credentials, its bot, the first chat and the users.
fn info(shared: &Shared) -> Value {
    let state = shared.state();
    let app = state.config.app();
    json!({
        "base_url": shared.base_url,
        "control_url": format!("{}{CONTROL_PREFIX}", shared.base_url),
        "app_id": app.app_id,
        "app_secret": app.app_secret,
        "bot_open_id": app.bot_open_id,
        "default_chat": default_chat(&state),
        "users": users(&state),
    })
}

/// The first configured chat, else any chat.
pub(crate) fn default_chat(state: &State) -> String {
    state
        .config
        .chats
        .first()
        .map(|c| c.chat_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| state.chats.keys().next().cloned().unwrap_or_default())
}

/// Every user of the tenant.
pub(crate) fn users(state: &State) -> Vec<UserInfo> {
    state
        .users
        .iter()
        .map(|u| UserInfo {
            name: u.name.clone(),
            open_id: u.open_id.clone(),
            union_id: u.union_id.clone(),
            user_id: u.user_id.clone(),
            email: u.email.clone(),
        })
        .collect()
}

/// The messages of a chat in order, as the REST endpoints write them.
pub(crate) fn messages_in(state: &State, chat_id: &str) -> Vec<Value> {
    state
        .order
        .iter()
        .filter_map(|id| state.messages.get(id))
        .filter(|m| m.chat_id == chat_id)
        .map(|m| state.message_json(m))
        .collect()
}

/// One message, as the REST endpoints write it.
pub(crate) fn message(state: &State, message_id: &str) -> Option<Value> {
    state
        .messages
        .get(message_id)
        .map(|m| state.message_json(m))
}

/// A card entity: its settings, elements and sequence.
pub(crate) fn card(state: &State, card_id: &str) -> Option<Value> {
    state
        .cards
        .get(card_id)
        .map(|entity| entity.to_json(card_id))
}

// ------------------------------------------------------------------------------ acting

/// The open_id of the user named in `as`: an open_id, union_id, user_id, email or name.
fn user_of(shared: &Shared, body: &Map<String, Value>) -> Result<String, Refusal> {
    let who = string(body, "as")?;
    let state = shared.state();
    state
        .user_by_any(who)
        .or_else(|| state.users.iter().find(|u| u.name == who))
        .map(|u| u.open_id.clone())
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no user {who}")))
}

fn string<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, Refusal> {
    match body.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(Refusal::bad(format!(
            "`{field}` must be a non-empty string"
        ))),
        None => Err(Refusal::bad(format!("`{field}` is missing"))),
    }
}

/// A user sends a message: `{"as", "text"}`, or `{"as", "msg_type", "content"}` with
/// `content` the message's JSON object (or that object as a string).
fn say(shared: &Shared, chat: &str, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let user = user_of(shared, body)?;
    let (msg_type, content) = match (body.get("text"), body.get("msg_type")) {
        (Some(_), Some(_)) => return Err(Refusal::bad("give `text` or `msg_type`, not both")),
        (Some(_), None) => ("text", json!({ "text": string(body, "text")? }).to_string()),
        (None, Some(_)) => {
            let content = match body.get("content") {
                Some(Value::Object(object)) => Value::Object(object.clone()).to_string(),
                Some(Value::String(text)) => text.clone(),
                _ => return Err(Refusal::bad("`content` must be the message's JSON object")),
            };
            (string(body, "msg_type")?, content)
        }
        (None, None) => return Err(Refusal::bad("give `text`, or `msg_type` and `content`")),
    };
    let message_id = simulate::user_says(shared, chat, &user, msg_type, &content)?;
    Ok(json!({ "message_id": message_id }))
}

/// A user joins a chat (`{"as"}`), added by `by` when given, else by themself.
fn join(shared: &Shared, chat: &str, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let user = user_of(shared, body)?;
    let operator = match body.get("by") {
        Some(_) => {
            let mut by = body.clone();
            by.insert("as".to_owned(), body["by"].clone());
            user_of(shared, &by)?
        }
        None => user.clone(),
    };
    simulate::membership(shared, chat, &operator, &user, Membership::UserAdded)?;
    Ok(json!({}))
}

/// A user leaves a chat.
fn leave(shared: &Shared, chat: &str, who: &str) -> Result<Value, Refusal> {
    let mut body = Map::new();
    body.insert("as".to_owned(), Value::String(who.to_owned()));
    let user = user_of(shared, &body)?;
    simulate::membership(shared, chat, &user, &user, Membership::UserLeft)?;
    Ok(json!({}))
}

/// A user adds (or takes back) a reaction: `{"as", "emoji_type"}`.
fn react(
    shared: &Shared,
    message_id: &str,
    body: &Map<String, Value>,
    add: bool,
) -> Result<Value, Refusal> {
    let user = user_of(shared, body)?;
    let emoji = string(body, "emoji_type")?;
    let reaction_id = simulate::user_reacts(shared, message_id, &user, emoji, add)?;
    Ok(json!({ "reaction_id": reaction_id }))
}

/// A user clicks a card button (`{"as", "value"}`), or submits a form (`"form_value"` too).
async fn click(
    shared: &Shared,
    message_id: &str,
    body: &Map<String, Value>,
) -> Result<Value, Refusal> {
    let user = user_of(shared, body)?;
    let value = body.get("value").cloned().unwrap_or_else(|| json!({}));
    let form_value = body.get("form_value").cloned();
    let outcome = simulate::click(shared, message_id, &user, value, form_value).await?;
    Ok(json!({
        "status": outcome.status,
        "response": outcome.response,
        "toast": outcome.toast,
        "card_updated": outcome.card_updated,
    }))
}

// ------------------------------------------------------------------------------ faults

/// Adds a fault rule, written as [`FaultRule`] serializes.
fn add_fault(shared: &Shared, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let rule: FaultRule = serde_json::from_value(Value::Object(body.clone())).map_err(|err| {
        Refusal::bad(format!(
            "not a fault rule ({err}); docs/emulator.md shows the form"
        ))
    })?;
    shared.state().faults.push(rule);
    Ok(json!({}))
}

// ------------------------------------------------------------------------------ waiting

/// What a `wait` waits for.
#[derive(Debug)]
enum Condition {
    /// At least `count` messages in `chat`, from the bot alone when `from_bot`.
    Messages {
        chat: String,
        count: usize,
        from_bot: bool,
    },
    /// At least `count` webhook or long-connection deliveries that were answered.
    Deliveries { count: usize },
    /// At least `count` requests from the app under test, on `path` when given.
    Requests { count: usize, path: Option<String> },
}

impl Condition {
    fn read(body: &Map<String, Value>) -> Result<Self, Refusal> {
        let count = match body.get("at_least") {
            None => 1,
            Some(value) => value
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| Refusal::bad("`at_least` must be a whole number"))?,
        };
        match string(body, "for")? {
            "messages" => Ok(Self::Messages {
                chat: string(body, "chat_id")?.to_owned(),
                count,
                from_bot: body.get("from") == Some(&json!("bot")),
            }),
            "deliveries" => Ok(Self::Deliveries { count }),
            "requests" => Ok(Self::Requests {
                count,
                path: body.get("path").and_then(Value::as_str).map(str::to_owned),
            }),
            other => Err(Refusal::bad(format!(
                "cannot wait for `{other}`: wait for messages, deliveries or requests"
            ))),
        }
    }

    /// How many of what is waited for there are now.
    fn seen(&self, state: &State) -> usize {
        match self {
            Self::Messages { chat, from_bot, .. } => state
                .order
                .iter()
                .filter_map(|id| state.messages.get(id))
                .filter(|m| &m.chat_id == chat && (!from_bot || matches!(m.author, Author::Bot(_))))
                .count(),
            Self::Deliveries { .. } => state
                .deliveries
                .iter()
                .filter(|d| d.status.is_some())
                .count(),
            Self::Requests { path, .. } => state
                .requests
                .iter()
                .filter(|r| path.as_ref().is_none_or(|p| &r.path == p))
                .count(),
        }
    }

    fn wanted(&self) -> usize {
        match self {
            Self::Messages { count, .. }
            | Self::Deliveries { count }
            | Self::Requests { count, .. } => *count,
        }
    }
}

/// Waits until a condition holds, re-checking on every change of the state, or until
/// `timeout_ms` (at most 300 000, 10 000 by default) passes: `{"held": true|false, "seen": n}`.
/// A wait that ends with the condition unmet answers 408.
async fn wait(shared: &Shared, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let condition = Condition::read(body)?;
    let timeout = match body.get("timeout_ms") {
        None => Duration::from_secs(10),
        Some(value) => value
            .as_u64()
            .map(Duration::from_millis)
            .filter(|t| *t <= MAX_WAIT)
            .ok_or_else(|| Refusal::bad("`timeout_ms` must be a whole number up to 300000"))?,
    };
    let wanted = condition.wanted();
    let held = tokio::time::timeout(
        timeout,
        shared.wait_for(|state| condition.seen(state) >= wanted),
    )
    .await
    .is_ok();
    let seen = condition.seen(&shared.state());
    if held {
        Ok(json!({ "held": true, "seen": seen }))
    } else {
        Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "waited {} ms for {wanted} and saw {seen}: {condition:?}",
                timeout.as_millis()
            ),
        ))
    }
}
