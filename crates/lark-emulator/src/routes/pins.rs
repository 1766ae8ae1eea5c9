//! `/open-apis/im/v1/pins`: pin, unpin, and a chat's pins (doc `…/reference/im-v1/pin/…`).

use super::auth::{Caller, authenticate};
use super::{page_json, page_size, page_slice};
use crate::codes::messages::{BOT_NOT_IN_CHAT, INVALID_PARAM, RECALLED};
use crate::server::{Fail, Reply, Request, Shared};
use crate::state::{Message, PinRec, State};
use crate::util::now_millis;
use http::{Method, StatusCode};
use serde_json::Value;

/// The documented page size: 20 by default, at most 50.
const PINS_PAGE_DEFAULT: u32 = 20;
const PINS_PAGE_MAX: u32 = 50;

pub(crate) fn route(shared: &Shared, request: &Request, rest: &[&str]) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    match rest {
        [] if request.method == Method::POST => pin(shared, request, &caller),
        [] if request.method == Method::GET => list(shared, request, &caller),
        [id] if request.method == Method::DELETE => unpin(shared, &caller, id),
        _ => Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
    }
}

/// The message, which exists, in a chat the bot is in.
fn visible_message<'a>(state: &'a State, caller: &Caller, id: &str) -> Result<&'a Message, Fail> {
    let message = state
        .messages
        .get(id)
        .ok_or_else(|| Fail::field(INVALID_PARAM, "message_id", format!("{id} does not exist")))?;
    if !state
        .chats
        .get(&message.chat_id)
        .is_some_and(|chat| chat.has_bot(&caller.app_id))
    {
        return Err(Fail::bad_request(
            BOT_NOT_IN_CHAT,
            "Bot is not in the chat of the message.",
        ));
    }
    Ok(message)
}

fn pin(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let body = request.json()?;
    let id = match body.get("message_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(Fail::field(INVALID_PARAM, "message_id", "is required")),
    };
    let mut state = shared.state();
    let message = visible_message(&state, caller, &id)?;
    if message.deleted {
        return Err(Fail::bad_request(RECALLED, "The message is recalled."));
    }
    // A message already pinned answers with its pin.
    if let Some(existing) = state.pins.iter().find(|pin| pin.message_id == id) {
        return Ok(Reply::data(serde_json::json!({"pin": existing.to_json()})));
    }
    let pin = PinRec {
        message_id: id,
        chat_id: message.chat_id.clone(),
        operator_id: caller.app_id.clone(),
        operator_id_type: "app_id",
        create_ms: now_millis(),
    };
    let json = pin.to_json();
    state.pins.push(pin);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(serde_json::json!({"pin": json})))
}

/// Unpinning a message that is not pinned, or was recalled, succeeds (doc `…/pin/delete`).
fn unpin(shared: &Shared, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let mut state = shared.state();
    visible_message(&state, caller, id)?;
    state.pins.retain(|pin| pin.message_id != id);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::empty())
}

fn list(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let chat_id = request
        .query("chat_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Fail::field(INVALID_PARAM, "chat_id", "is required"))?;
    let time = |name: &'static str| -> Result<Option<u64>, Fail> {
        request
            .query(name)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map_err(|_| Fail::field(INVALID_PARAM, name, "must be a time in milliseconds"))
            })
            .transpose()
    };
    let (start, end) = (time("start_time")?, time("end_time")?);
    if let (Some(start), Some(end)) = (start, end)
        && start >= end
    {
        return Err(Fail::field(
            INVALID_PARAM,
            "start_time",
            "must be less than end_time",
        ));
    }
    let size = page_size(request, PINS_PAGE_DEFAULT, PINS_PAGE_MAX, INVALID_PARAM)?;
    let state = shared.state();
    super::chats::member_chat(&state, caller, chat_id)?;
    // Newest pin first.
    let pins: Vec<&PinRec> = state
        .pins
        .iter()
        .rev()
        .filter(|pin| pin.chat_id == chat_id)
        .filter(|pin| start.is_none_or(|start| pin.create_ms >= start))
        .filter(|pin| end.is_none_or(|end| pin.create_ms <= end))
        .collect();
    let (page, has_more, token) =
        page_slice(&pins, request.query("page_token"), size, INVALID_PARAM)?;
    let items = page.iter().map(|pin| pin.to_json()).collect();
    Ok(Reply::data(page_json(items, has_more, token)))
}
