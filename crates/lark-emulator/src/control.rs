//! The control API: what a test written in any language uses to act as the tenant's people and
//! to read what the app under test did, over plain HTTP.
//!
//! It is served on the emulator's own port under [`CONTROL_PREFIX`], a path no platform API
//! starts with. Control calls pass by the fault rules, the quotas and the request log: what
//! those report is only the traffic of the app under test. Each call is an HTTP face on the
//! same function that the matching method of [`crate::Emulator`] calls; `docs/emulator.md`
//! documents each with a request and its answer.

use crate::UserInfo;
use crate::config::{AppConfig, ChatConfig, Subscription, UserConfig};
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

/// The most extra copies of each event `PUT /duplicates` asks for.
const MAX_COPIES: u32 = 100;

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
            EmulatorError::Content(_) | EmulatorError::Setup(_) => StatusCode::BAD_REQUEST,
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
    // A body that announces more than the cap is refused before any of it is read.
    let announced = hyper::body::Body::size_hint(&body).lower();
    let collected = if announced > MAX_BODY as u64 {
        Err(())
    } else {
        Limited::new(body, MAX_BODY).collect().await.map_err(drop)
    };
    let answer = match collected {
        Ok(collected) => {
            let path = parts.uri.path();
            let rest = path.strip_prefix(CONTROL_PREFIX).unwrap_or_default();
            // Names in paths (`/chats/{id}/members/Tom%20Smith`) come percent-encoded.
            let decoded: Vec<String> = rest
                .split('/')
                .filter(|s| !s.is_empty())
                .map(crate::server::percent_decode)
                .collect();
            let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
            match parse_body(&collected.to_bytes()) {
                Ok(body) => route(shared, &parts.method, &segments, &body).await,
                Err(refusal) => Err(refusal),
            }
        }
        Err(()) => Err(Refusal::new(
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

/// The HTTP method of a control call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
    Put,
    Delete,
    Other,
}

async fn route(
    shared: &Shared,
    method: &Method,
    segments: &[&str],
    body: &Map<String, Value>,
) -> Result<Value, Refusal> {
    let verb = match *method {
        Method::GET => Verb::Get,
        Method::POST => Verb::Post,
        Method::PUT => Verb::Put,
        Method::DELETE => Verb::Delete,
        _ => Verb::Other,
    };
    let answer = match segments.first() {
        Some(&("info" | "users" | "chats" | "messages" | "cards")) => {
            scene(shared, verb, segments, body).await
        }
        Some(&("apps" | "webhook" | "quota" | "ws")) => setup(shared, verb, segments, body).await,
        Some(&"oauth") => sign_ins(shared, verb, segments, body),
        _ => records(shared, verb, segments, body).await,
    };
    answer.unwrap_or_else(|| {
        Err(Refusal::new(
            StatusCode::NOT_FOUND,
            format!(
                "no control call {method} {CONTROL_PREFIX}/{}; docs/emulator.md lists them",
                segments.join("/")
            ),
        ))
    })
}

/// People, chats, messages and cards: reading them, and people acting.
async fn scene(
    shared: &Shared,
    verb: Verb,
    segments: &[&str],
    body: &Map<String, Value>,
) -> Option<Result<Value, Refusal>> {
    use Verb::{Delete, Get, Post, Put};
    Some(match (verb, segments) {
        (Get, ["info"]) => Ok(info(shared)),
        (Get, ["users"]) => Ok(json!({ "items": users(&shared.state()) })),
        (Post, ["users"]) => read(body, "a user")
            .and_then(|user| add_user(shared, &user).map_err(Refusal::from))
            .map(|user| json!(user)),
        (Post, ["users", who, "p2p"]) => p2p(shared, who, body),
        (Post, ["chats"]) => new_chat(shared, body),
        (Put, ["chats", chat]) => user_of(shared, body).and_then(|user| {
            simulate::rename_chat(shared, chat, &user, string(body, "name")?)?;
            Ok(json!({}))
        }),
        (Delete, ["chats", chat]) => user_of(shared, body).and_then(|user| {
            simulate::membership(shared, chat, &user, &user, Membership::Disbanded)?;
            Ok(json!({}))
        }),
        (Get, ["chats", chat, "messages"]) => {
            Ok(json!({ "items": messages_in(&shared.state(), chat) }))
        }
        (Post, ["chats", chat, "messages"]) => say(shared, chat, body),
        (Post, ["chats", chat, "members"]) => join(shared, chat, body),
        (Delete, ["chats", chat, "members", user]) => leave(shared, chat, user),
        (Post, ["chats", chat, "bots"]) => bot_membership(shared, chat, body, true),
        (Delete, ["chats", chat, "bots", app]) => {
            let mut body = body.clone();
            body.insert("app_id".to_owned(), Value::String((*app).to_owned()));
            bot_membership(shared, chat, &body, false)
        }
        (Get, ["messages", id]) => message(&shared.state(), id)
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no message {id}"))),
        (Post, ["messages", id, "replies"]) => reply(shared, id, body),
        (Post, ["messages", id, "reactions"]) => react(shared, id, body, true),
        (Delete, ["messages", id, "reactions"]) => react(shared, id, body, false),
        (Post, ["messages", id, "recall"]) => simulate::user_recalls(shared, id)
            .map(|()| json!({}))
            .map_err(Refusal::from),
        (Post, ["messages", id, "read"]) => user_of(shared, body).and_then(|user| {
            simulate::user_reads(shared, &user, &[(*id).to_owned()])?;
            Ok(json!({}))
        }),
        (Post, ["messages", id, "click"]) => click(shared, id, body).await,
        (Get, ["chats", chat, "pins"]) => Ok(json!({ "items": pins(&shared.state(), chat) })),
        (Get, ["cards"]) => {
            let mut ids: Vec<String> = shared.state().cards.keys().cloned().collect();
            ids.sort();
            Ok(json!({ "items": ids }))
        }
        (Get, ["cards", id]) => card(&shared.state(), id)
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no card {id}"))),
        _ => return None,
    })
}

/// Apps and how they receive events, the webhook, quota mode and the long connection.
async fn setup(
    shared: &Shared,
    verb: Verb,
    segments: &[&str],
    body: &Map<String, Value>,
) -> Option<Result<Value, Refusal>> {
    use Verb::{Delete, Get, Post, Put};
    let done = |result: Result<(), Refusal>| result.map(|()| json!({}));
    Some(match (verb, segments) {
        (Post, ["apps"]) => {
            done(app_from(body).and_then(|app| add_app(shared, app).map_err(Refusal::from)))
        }
        (Put, ["apps", app, "subscription"]) => subscribe(shared, app, body),
        (Post, ["apps", app, "revoke_tokens"]) => {
            shared.state().revoke_tokens(app);
            Ok(json!({}))
        }
        (Put, ["webhook"]) => {
            done(read(body, "a webhook").map(|hook| shared.state().config.webhook = Some(hook)))
        }
        (Delete, ["webhook"]) => {
            shared.state().config.webhook = None;
            Ok(json!({}))
        }
        (Put, ["quota"]) => {
            done(read(body, "a quota").map(|quota| shared.state().config.quota = Some(quota)))
        }
        (Delete, ["quota"]) => {
            shared.state().config.quota = None;
            Ok(json!({}))
        }
        (Get, ["quota", "refusals"]) => Ok(json!(shared.state().quotas.refused)),
        (Get, ["ws", "connections"]) => Ok(json!({
            "items": shared.state().ws.connections().iter()
                .map(|(app_id, device_id)| json!({ "app_id": app_id, "device_id": device_id }))
                .collect::<Vec<_>>()
        })),
        (Get, ["ws", "acks"]) => Ok(json!({ "items": shared.state().ws.acks })),
        (Post, ["ws", "kill"]) => {
            kill_connections(shared);
            Ok(json!({}))
        }
        (Post, ["ws", "silence"]) => {
            shared.state().ws.silence_all();
            Ok(json!({}))
        }
        (Post, ["ws", "refuse"]) => refuse_handshakes(shared, body),
        (Put, ["ws", "config"]) => {
            done(read(body, "long-connection settings").map(|ws| shared.state().config.ws = ws))
        }
        (Get, ["ws", "pings"]) => Ok(json!({ "pings": shared.state().ws.pings })),
        (Post, ["ws", "push"]) => push(shared, body).await,
        _ => return None,
    })
}

/// What the app under test did, faults, the clock, waiting and reset.
async fn records(
    shared: &Shared,
    verb: Verb,
    segments: &[&str],
    body: &Map<String, Value>,
) -> Option<Result<Value, Refusal>> {
    use Verb::{Delete, Get, Post, Put};
    Some(match (verb, segments) {
        (Get, ["requests"]) => Ok(json!({ "items": shared.state().requests })),
        (Get, ["deliveries"]) => Ok(json!({ "items": shared.state().deliveries })),
        (Get, ["events"]) => Ok(json!({ "items": shared.state().emitted })),
        (Get, ["toasts"]) => Ok(json!({ "items": shared.state().toasts })),
        (Get, ["urgent"]) => Ok(json!({ "items": shared.state().urgent })),
        (Post, ["events", id, "redeliver"]) => {
            if simulate::redeliver(shared, id) {
                Ok(json!({}))
            } else {
                Err(Refusal::new(
                    StatusCode::NOT_FOUND,
                    format!("no event {id}"),
                ))
            }
        }
        (Put, ["duplicates"]) => count(body, "copies").and_then(|copies| {
            if copies > MAX_COPIES {
                return Err(Refusal::bad(format!(
                    "`copies` is at most {MAX_COPIES}: each copy is one more delivery of every event"
                )));
            }
            shared.state().extra_copies = copies;
            Ok(json!({}))
        }),
        (Get, ["tokens", "fetches"]) => Ok(json!(shared.state().token_fetches)),
        (Get, ["faults"]) => Ok(json!({ "items": shared.state().faults.rules().to_vec() })),
        (Post, ["faults"]) => add_fault(shared, body),
        (Delete, ["faults"]) => {
            shared.state().faults.clear();
            Ok(json!({}))
        }
        (Post, ["time", "advance"]) => count(body, "ms").map(|ms| {
            advance_time(shared, Duration::from_millis(ms.into()));
            json!({})
        }),
        (Post, ["time", "rewind"]) => count(body, "ms").map(|ms| {
            rewind_time(shared, Duration::from_millis(ms.into()));
            json!({})
        }),
        (Get, ["reactions"]) => Ok(json!({ "items": shared.state().reaction_log })),
        (Put, ["time", "stopped"]) => match body.get("stopped").and_then(Value::as_bool) {
            Some(stopped) => {
                stop_time(&mut shared.state(), stopped);
                Ok(json!({}))
            }
            None => Err(Refusal::bad("`stopped` must be true or false")),
        },
        (Post, ["wait"]) => wait(shared, body).await,
        (Post, ["reset"]) => {
            reset(shared);
            Ok(json!({}))
        }
        _ => return None,
    })
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
    state.users.iter().map(user_info).collect()
}

fn user_info(u: &crate::state::User) -> UserInfo {
    UserInfo {
        name: u.name.clone(),
        open_id: u.open_id.clone(),
        union_id: u.union_id.clone(),
        user_id: u.user_id.clone(),
        email: u.email.clone(),
    }
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
    resolve(shared, string(body, "as")?)
}

/// The open_id of a person named by any of their ids, their email or their name.
fn resolve(shared: &Shared, who: &str) -> Result<String, Refusal> {
    let state = shared.state();
    state
        .user_by_any(who)
        .or_else(|| state.users.iter().find(|u| u.name == who))
        .map(|u| u.open_id.clone())
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no user {who}")))
}

/// The app named by `app_id`, else the first app.
fn app_of(shared: &Shared, body: &Map<String, Value>) -> Result<String, Refusal> {
    match body.get("app_id") {
        Some(_) => string(body, "app_id").map(str::to_owned),
        None => Ok(shared.state().config.app().app_id.clone()),
    }
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
    if body.contains_key("data_base64") {
        return send_resource(shared, chat, &user, body);
    }
    let (msg_type, content) = content_of(body)?;
    let message_id = simulate::user_says(shared, chat, &user, msg_type, &content)?;
    Ok(json!({ "message_id": message_id }))
}

/// A user sends an image, file, audio or video: `{"as", "msg_type", "file_name",
/// "data_base64"}`. The bytes are stored as an upload, so the app can download them through
/// the message resource endpoint.
fn send_resource(
    shared: &Shared,
    chat: &str,
    user: &str,
    body: &Map<String, Value>,
) -> Result<Value, Refusal> {
    use base64::Engine as _;
    let msg_type = string(body, "msg_type")?;
    if !matches!(msg_type, "image" | "file" | "audio" | "media") {
        return Err(Refusal::bad(format!(
            "bytes go with msg_type image, file, audio or media, not {msg_type}"
        )));
    }
    let file_name = string(body, "file_name")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(string(body, "data_base64")?)
        .map_err(|err| Refusal::bad(format!("`data_base64` is not base64: {err}")))?;
    let message_id =
        simulate::user_sends_resource(shared, chat, user, msg_type, file_name, bytes.into())?;
    Ok(json!({ "message_id": message_id }))
}

/// A user replies to a message: what [`say`] takes, and `"in_thread": true` to start a thread.
fn reply(shared: &Shared, parent: &str, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let user = user_of(shared, body)?;
    let (msg_type, content) = content_of(body)?;
    let in_thread = match body.get("in_thread") {
        None => false,
        Some(value) => value
            .as_bool()
            .ok_or_else(|| Refusal::bad("`in_thread` must be true or false"))?,
    };
    let message_id = simulate::user_replies(shared, parent, &user, msg_type, &content, in_thread)?;
    Ok(json!({ "message_id": message_id }))
}

/// The `msg_type` and content string a body gives: `{"text"}`, or `{"msg_type", "content"}`.
fn content_of(body: &Map<String, Value>) -> Result<(&str, String), Refusal> {
    Ok(match (body.get("text"), body.get("msg_type")) {
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
    })
}

/// A user joins a chat (`{"as"}`), added by `by` when given, else by themself.
fn join(shared: &Shared, chat: &str, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let user = user_of(shared, body)?;
    let operator = match body.get("by") {
        Some(_) => resolve(shared, string(body, "by")?)?,
        None => user.clone(),
    };
    simulate::membership(shared, chat, &operator, &user, Membership::UserAdded)?;
    Ok(json!({}))
}

/// A user leaves a chat.
fn leave(shared: &Shared, chat: &str, who: &str) -> Result<Value, Refusal> {
    let user = resolve(shared, who)?;
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

/// `POST /apps`: an app as [`AppConfig`] serializes. The app_id and the secret are asked for,
/// and a bot open_id left out is made up: the defaults of a configuration file would give the
/// new app the first app's.
fn app_from(body: &Map<String, Value>) -> Result<AppConfig, Refusal> {
    string(body, "app_id")?;
    string(body, "app_secret")?;
    let mut app: AppConfig = read(body, "an app")?;
    if !body.contains_key("bot_open_id") {
        app.bot_open_id = crate::util::new_id("ou_");
    }
    Ok(app)
}

/// A user opens the p2p chat with an app's bot (`{"app_id"}`, the first app's by default).
fn p2p(shared: &Shared, who: &str, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let user = resolve(shared, who)?;
    let app = app_of(shared, body)?;
    let chat_id = simulate::user_opens_p2p(shared, &app, &user)?;
    Ok(json!({ "chat_id": chat_id }))
}

/// Pushes `payload` (a string, sent as it is) in an `event` frame to one of an app's long
/// connections (`app_id`, the first app's by default): `{"ack": …}`, null when no connection
/// is open or nothing was acknowledged in time.
async fn push(shared: &Shared, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let payload = match body.get("payload") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => return Err(Refusal::bad("`payload` is missing")),
    };
    let app = app_of(shared, body)?;
    let ack = crate::ws::push_raw(shared, &app, payload.as_bytes()).await;
    Ok(json!({ "ack": ack }))
}

/// Refuses the next `count` (1 by default) long-connection handshakes as the body says.
fn refuse_handshakes(shared: &Shared, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let mut refusal = body.clone();
    refusal.remove("count");
    let refusal: crate::ws::WsRefusal = read(&refusal, "a handshake refusal")?;
    let times = match body.get("count") {
        Some(_) => count(body, "count")?,
        None => 1,
    };
    shared
        .state()
        .ws
        .refuse(usize::try_from(times).unwrap_or(usize::MAX), &refusal);
    Ok(json!({}))
}

/// A bot is added to a chat (`{"as", "app_id"}`) or removed from it.
fn bot_membership(
    shared: &Shared,
    chat: &str,
    body: &Map<String, Value>,
    add: bool,
) -> Result<Value, Refusal> {
    let user = user_of(shared, body)?;
    let app = string(body, "app_id")?;
    let change = if add {
        Membership::BotAdded
    } else {
        Membership::BotRemoved
    };
    simulate::membership(shared, chat, &user, app, change)?;
    Ok(json!({}))
}

// ------------------------------------------------------------------------------ setup

/// Returns the emulator to the configuration it started with: apps, users and chats as
/// configured, and no messages, tokens, faults, records or open long connections.
/// Deliveries already on their way finish.
pub(crate) fn reset(shared: &Shared) {
    let mut state = shared.state();
    state.ws.kill_all();
    *state = State::new(shared.initial.clone());
    drop(state);
    shared.changed.notify_waiters();
}

/// Registers an app, or replaces the one with its app_id.
pub(crate) fn add_app(shared: &Shared, app: AppConfig) -> Result<(), EmulatorError> {
    if app.app_id.is_empty() || app.app_secret.is_empty() {
        return Err(EmulatorError::Setup(
            "an app needs an app_id and an app_secret".to_owned(),
        ));
    }
    shared.state().add_app(app);
    Ok(())
}

/// Adds a user of the tenant; the ids left empty are made up.
pub(crate) fn add_user(shared: &Shared, user: &UserConfig) -> Result<UserInfo, EmulatorError> {
    if user.name.trim().is_empty() {
        return Err(EmulatorError::Setup("a user needs a name".to_owned()));
    }
    let mut state = shared.state();
    if !user.open_id.is_empty() {
        if !user.open_id.starts_with("ou_") {
            return Err(EmulatorError::Setup(format!(
                "an open_id starts with ou_, and {} does not",
                user.open_id
            )));
        }
        if state.user_by("open_id", &user.open_id).is_some() {
            return Err(EmulatorError::Setup(format!(
                "a user with open_id {} exists already",
                user.open_id
            )));
        }
    }
    Ok(user_info(state.add_user(user)))
}

/// Adds a group chat whose members (open_ids) and bots (app_ids) all exist. Returns its id.
pub(crate) fn add_chat(shared: &Shared, chat: &ChatConfig) -> Result<String, EmulatorError> {
    let mut state = shared.state();
    if !chat.chat_id.is_empty() {
        if !chat.chat_id.starts_with("oc_") {
            return Err(EmulatorError::Setup(format!(
                "a chat_id starts with oc_, and {} does not",
                chat.chat_id
            )));
        }
        if state.chats.contains_key(&chat.chat_id) {
            return Err(EmulatorError::Setup(format!(
                "a chat with chat_id {} exists already",
                chat.chat_id
            )));
        }
    }
    if let Some(member) = chat
        .members
        .iter()
        .find(|m| state.user_by("open_id", m).is_none())
    {
        return Err(EmulatorError::UnknownUser(member.clone()));
    }
    if let Some(bot) = chat.bots.iter().find(|b| !state.apps.contains_key(*b)) {
        return Err(EmulatorError::UnknownApp(bot.clone()));
    }
    Ok(state.add_chat(chat))
}

/// `POST /chats`: `{"name", "chat_id"?, "members": [person…], "bots": [app_id…]}`, each
/// person as `as` takes them.
fn new_chat(shared: &Shared, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let mut chat: ChatConfig = read(body, "a chat")?;
    chat.members = chat
        .members
        .iter()
        .map(|who| resolve(shared, who))
        .collect::<Result<_, _>>()?;
    let chat_id = add_chat(shared, &chat)?;
    Ok(json!({ "chat_id": chat_id }))
}

/// `{"subscription": "webhook" | "long_connection"}` for an app.
fn subscribe(shared: &Shared, app_id: &str, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let subscription: Subscription = body
        .get("subscription")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| Refusal::bad("`subscription` must be \"webhook\" or \"long_connection\""))?;
    set_subscription(shared, app_id, subscription)?;
    Ok(json!({}))
}

/// Sets how `app_id` receives events and card callbacks.
pub(crate) fn set_subscription(
    shared: &Shared,
    app_id: &str,
    subscription: Subscription,
) -> Result<(), EmulatorError> {
    let mut state = shared.state();
    let app = state
        .apps
        .get_mut(app_id)
        .ok_or_else(|| EmulatorError::UnknownApp(app_id.to_owned()))?;
    app.config.subscription = subscription;
    if let Some(configured) = state.config.apps.iter_mut().find(|a| a.app_id == app_id) {
        configured.subscription = subscription;
    }
    Ok(())
}

/// Closes every long connection, as a network failure would.
pub(crate) fn kill_connections(shared: &Shared) {
    shared.state().ws.kill_all();
    shared.changed.notify_waiters();
}

/// Moves the emulator's clock on.
pub(crate) fn advance_time(shared: &Shared, by: Duration) {
    let mut state = shared.state();
    state.clock_offset = state.clock_offset.saturating_add(by);
    drop(state);
    shared.changed.notify_waiters();
}

/// Moves the emulator's clock back: what happens next is stamped `by` earlier.
pub(crate) fn rewind_time(shared: &Shared, by: Duration) {
    let mut state = shared.state();
    state.clock_behind = state.clock_behind.saturating_add(by);
    drop(state);
    shared.changed.notify_waiters();
}

/// Stops the emulator's clock, or lets it run again.
pub(crate) fn stop_time(state: &mut State, stopped: bool) {
    if !stopped {
        state.stopped_at = None;
    } else if state.stopped_at.is_none() {
        state.stopped_at = Some((std::time::Instant::now(), crate::util::now_millis()));
    }
}

/// The body read as `T`, or a refusal naming what it should have been.
fn read<T: serde::de::DeserializeOwned>(
    body: &Map<String, Value>,
    what: &str,
) -> Result<T, Refusal> {
    serde_json::from_value(Value::Object(body.clone())).map_err(|err| {
        Refusal::bad(format!(
            "the body is not {what} ({err}); docs/emulator.md shows the form"
        ))
    })
}

/// A whole number field that fits in 32 bits.
fn count(body: &Map<String, Value>, field: &str) -> Result<u32, Refusal> {
    body.get(field)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| Refusal::bad(format!("`{field}` must be a whole number")))
}

// ------------------------------------------------------------------------------ sign-ins

/// `user` (a name or an open_id) consents on the accounts page an app sent them to; the url
/// the browser is sent back to, with a new code.
pub(crate) fn consent(
    shared: &Shared,
    user: &str,
    authorize_url: &str,
) -> Result<String, EmulatorError> {
    let mut state = shared.state();
    let redirect = crate::routes::oauth::consent(&mut state, user, authorize_url)
        .map_err(EmulatorError::Content)?;
    drop(state);
    shared.changed.notify_waiters();
    Ok(redirect)
}

/// `user` approves or denies the device flow of `user_code`.
pub(crate) fn decide_device(
    shared: &Shared,
    user: &str,
    user_code: &str,
    approve: bool,
) -> Result<(), EmulatorError> {
    let mut state = shared.state();
    crate::routes::oauth::decide_device(&mut state, user, user_code, approve)
        .map_err(EmulatorError::Content)?;
    drop(state);
    shared.changed.notify_waiters();
    Ok(())
}

/// Revokes every user token and refresh token `app_id` holds for `user` (an open_id).
pub(crate) fn revoke_user_tokens(shared: &Shared, app_id: &str, user: &str) {
    crate::routes::oauth::revoke_user(&mut shared.state(), app_id, user);
    shared.changed.notify_waiters();
}

/// The pins of a chat, newest first, as the platform describes each.
pub(crate) fn pins(state: &State, chat_id: &str) -> Vec<Value> {
    state
        .pins
        .iter()
        .rev()
        .filter(|pin| pin.chat_id == chat_id)
        .map(crate::state::PinRec::to_json)
        .collect()
}

/// `POST /oauth/consent`, `POST /oauth/device`, `POST /oauth/revoke`, the device interval and
/// the counts of grants and revocations.
fn sign_ins(
    shared: &Shared,
    verb: Verb,
    segments: &[&str],
    body: &Map<String, Value>,
) -> Option<Result<Value, Refusal>> {
    use Verb::{Get, Post, Put};
    Some(match (verb, segments) {
        (Post, ["oauth", "consent"]) => user_of(shared, body).and_then(|user| {
            let redirect = consent(shared, &user, string(body, "authorize_url")?)?;
            let query = redirect.split_once('?').map_or("", |(_, query)| query);
            let code = crate::server::parse_query(query).remove("code");
            Ok(json!({ "redirect": redirect, "code": code }))
        }),
        (Post, ["oauth", "device"]) => user_of(shared, body).and_then(|user| {
            let approve = body
                .get("approve")
                .and_then(Value::as_bool)
                .ok_or_else(|| Refusal::bad("`approve` must be true or false"))?;
            decide_device(shared, &user, string(body, "user_code")?, approve)?;
            Ok(json!({}))
        }),
        (Post, ["oauth", "revoke"]) => user_of(shared, body).and_then(|user| {
            let app = app_of(shared, body)?;
            revoke_user_tokens(shared, &app, &user);
            Ok(json!({}))
        }),
        (Put, ["oauth", "device_interval"]) => count(body, "seconds").map(|seconds| {
            shared.state().oauth.device_interval = Some(seconds.into());
            json!({})
        }),
        (Get, ["oauth", "grants"]) => {
            let state = shared.state();
            Ok(json!({ "grants": state.oauth.grants, "revocations": state.oauth.revocations }))
        }
        _ => return None,
    })
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
