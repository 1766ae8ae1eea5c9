//! `/open-apis/im/v1/messages/…`: send, reply, edit, update a card, recall, get, list,
//! forward, merge forward, message resources and reactions; and the v4 batch send.

use super::auth::{Caller, authenticate};
use super::{page_json, page_size, page_slice};
use crate::codes::batch::{
    CONTENT_FAILED as BATCH_CONTENT_FAILED, IMAGE_KEY_NOT_EXIST as BATCH_IMAGE_KEY_NOT_EXIST,
    INVALID_PARAM as BATCH_INVALID_PARAM, OPEN_ID_NOT_EXIST as BATCH_OPEN_ID_NOT_EXIST,
};
use crate::codes::chats::DISSOLVED as CHAT_DISSOLVED;
use crate::codes::files::UNSUPPORTED_RESOURCE;
use crate::codes::messages::{
    BOT_NOT_IN_CHAT, EDIT_LIMIT, INVALID_PARAM, INVALID_RECEIVE_ID, LACK_PERMISSION, NOT_SENDER,
    RECALLED, RESIGNED, UNSUPPORTED_TYPE,
};
use crate::codes::reactions::{
    MESSAGE_NOT_FOUND, NO_PERMISSION as REACTION_NO_PERMISSION,
    TYPE_INVALID as REACTION_TYPE_INVALID,
};
use crate::convert::{accept, simplified_card};
use crate::rules::{EDITS_MAX, HISTORY_PAGE_MAX, RICH_BODY_MAX, UUID_MAX_CHARS};
use crate::server::{Fail, Reply, Request, Shared};
use crate::state::{Author, Chat, Message, Reaction, SEND_UUID_WINDOW, State};
use crate::util::{new_id, now_millis, random_hex};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::MutexGuard;

pub(crate) fn route(shared: &Shared, request: &Request, rest: &[&str]) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    let method = &request.method;
    match rest {
        [] if method == Method::POST => send(shared, request, &caller),
        [] if method == Method::GET => list(shared, request, &caller),
        ["merge_forward"] if method == Method::POST => merge_forward(shared, request, &caller),
        [id] if method == Method::GET => get(shared, request, &caller, id),
        [id] if method == Method::PUT => edit(shared, request, &caller, id),
        [id] if method == Method::PATCH => patch_card(shared, request, &caller, id),
        [id] if method == Method::DELETE => recall(shared, &caller, id),
        [id, "reply"] if method == Method::POST => reply(shared, request, &caller, id),
        [id, "forward"] if method == Method::POST => forward(shared, request, &caller, id),
        [id, "resources", key] if method == Method::GET => {
            resource(shared, request, &caller, id, key)
        }
        [id, "read_users"] if method == Method::GET => read_users(shared, request, &caller, id),
        [id, channel @ ("urgent_app" | "urgent_sms" | "urgent_phone")]
            if method == Method::PATCH =>
        {
            urgent(shared, request, &caller, id, channel)
        }
        [id, "reactions"] if method == Method::POST => add_reaction(shared, request, &caller, id),
        [id, "reactions"] if method == Method::GET => list_reactions(shared, request, &caller, id),
        [id, "reactions", reaction] if method == Method::DELETE => {
            delete_reaction(shared, &caller, id, reaction)
        }
        _ => Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
    }
}

fn string_field(body: &serde_json::Map<String, Value>, name: &'static str) -> Result<String, Fail> {
    match body.get(name) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(Value::String(_)) | None => Err(Fail::field(INVALID_PARAM, name, "is required")),
        Some(_) if name == "content" => Err(Fail::field(
            INVALID_PARAM,
            "content",
            "must be a string holding serialized JSON, not a JSON object",
        )),
        Some(_) => Err(Fail::field(INVALID_PARAM, name, "must be a string")),
    }
}

/// An optional string field: absent, null and empty all mean "not given", as the official
/// SDKs send unset optional fields in any of those forms.
fn optional_string(body: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

fn check_uuid(uuid: Option<&str>) -> Result<(), Fail> {
    match uuid {
        Some(uuid) if uuid.chars().count() > UUID_MAX_CHARS => Err(Fail::field(
            INVALID_PARAM,
            "uuid",
            format!("is longer than {UUID_MAX_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// A message this uuid already created within the window, counting every attempt.
fn dedup(state: &mut State, app_id: &str, uuid: Option<&str>) -> Option<Value> {
    let uuid = uuid?;
    *state.uuid_attempts.entry(uuid.to_owned()).or_default() += 1;
    let (message_id, at) = state
        .send_uuids
        .get(&(app_id.to_owned(), uuid.to_owned()))?;
    if state.now().saturating_duration_since(*at) > SEND_UUID_WINDOW {
        return None;
    }
    let message = state.messages.get(message_id)?;
    Some(state.message_json(message))
}

fn remember_uuid(state: &mut State, app_id: &str, uuid: Option<&str>, message_id: &str) {
    if let Some(uuid) = uuid {
        if let Some(message) = state.messages.get_mut(message_id) {
            message.uuid = Some(uuid.to_owned());
        }
        let now = state.now();
        state.send_uuids.insert(
            (app_id.to_owned(), uuid.to_owned()),
            (message_id.to_owned(), now),
        );
    }
}

/// The chat a receiver names, creating the bot's p2p chat with a user on first use.
fn receiver_chat(state: &mut State, app_id: &str, id_type: &str, id: &str) -> Result<String, Fail> {
    match id_type {
        "chat_id" => {
            if state.chats.contains_key(id) {
                Ok(id.to_owned())
            } else {
                Err(Fail::bad_request(
                    INVALID_RECEIVE_ID,
                    format!("invalid receive_id: chat {id} does not exist"),
                ))
            }
        }
        "open_id" | "union_id" | "user_id" | "email" => {
            let user = state.user_by(id_type, id).ok_or_else(|| {
                Fail::bad_request(
                    INVALID_RECEIVE_ID,
                    format!("invalid receive_id: no user with {id_type} {id}"),
                )
            })?;
            if user.resigned {
                return Err(Fail::bad_request(RESIGNED, "User has resigned."));
            }
            let open_id = user.open_id.clone();
            Ok(state.p2p_chat(app_id, &open_id))
        }
        other => Err(Fail::field(
            INVALID_PARAM,
            "receive_id_type",
            format!("`{other}` is not one of open_id, union_id, user_id, email, chat_id"),
        )),
    }
}

/// The chat must exist, be alive, and have the bot in it.
fn usable_chat<'a>(state: &'a State, app_id: &str, chat_id: &str) -> Result<&'a Chat, Fail> {
    let chat = state.chats.get(chat_id).ok_or_else(|| {
        Fail::bad_request(INVALID_RECEIVE_ID, format!("chat {chat_id} does not exist"))
    })?;
    if chat.dissolved {
        return Err(Fail::bad_request(
            CHAT_DISSOLVED,
            "Your request specifies a chat which has already been dissolved.",
        ));
    }
    if !chat.has_bot(app_id) {
        return Err(Fail::bad_request(
            BOT_NOT_IN_CHAT,
            "The bot can not be outside the group.",
        ));
    }
    Ok(chat)
}

fn find_message<'a>(state: &'a State, id: &str) -> Result<&'a Message, Fail> {
    state
        .messages
        .get(id)
        .ok_or_else(|| Fail::field(INVALID_PARAM, "message_id", format!("{id} does not exist")))
}

/// Who a call's message is from: the user a user token acts for, else the bot.
fn caller_author(caller: &Caller) -> Author {
    match &caller.user {
        Some(user) => Author::User(user.clone()),
        None => Author::Bot(caller.app_id.clone()),
    }
}

pub(crate) fn new_message(
    chat_id: &str,
    author: Author,
    msg_type: &str,
    content: String,
    mentions: Vec<crate::state::MentionRec>,
) -> Message {
    let now = now_millis();
    Message {
        message_id: new_id("om_"),
        root_id: None,
        parent_id: None,
        thread_id: None,
        msg_type: msg_type.to_owned(),
        content,
        create_ms: now,
        update_ms: now,
        deleted: false,
        updated: false,
        chat_id: chat_id.to_owned(),
        author,
        mentions,
        upper_message_id: None,
        uuid: None,
        edits: 0,
        reactions: Vec::new(),
    }
}

/// The `receive_id_type` query parameter, which send, forward and merge forward require.
fn receive_id_type(request: &Request) -> Result<String, Fail> {
    request
        .query("receive_id_type")
        .map(str::to_owned)
        .ok_or_else(|| {
            Fail::field(
                INVALID_PARAM,
                "receive_id_type",
                "is required in the query string",
            )
        })
}

/// The fields a send and a reply share: `msg_type`, `content` and the optional `uuid`.
struct Posted {
    msg_type: String,
    content: String,
    uuid: Option<String>,
}

impl Posted {
    fn read(body: &serde_json::Map<String, Value>) -> Result<Self, Fail> {
        let posted = Self {
            msg_type: string_field(body, "msg_type")?,
            content: string_field(body, "content")?,
            uuid: optional_string(body, "uuid"),
        };
        check_uuid(posted.uuid.as_deref())?;
        Ok(posted)
    }
}

/// Stores a new message in `chat_id`, as a send and a reply do: the content checked for the
/// chat, a referenced card entity checked and then marked sent, the message placed by `place`
/// (a reply's parent and thread), its uuid remembered, and the waiters woken.
fn post(
    shared: &Shared,
    mut state: MutexGuard<'_, State>,
    request: &Request,
    caller: &Caller,
    chat_id: &str,
    posted: &Posted,
    place: impl FnOnce(&mut State, &mut Message),
) -> Result<Reply, Fail> {
    usable_chat(&state, &caller.app_id, chat_id)?;
    let accepted = accept(
        &state,
        &caller.app_id,
        chat_id,
        &posted.msg_type,
        &posted.content,
        request.body.len(),
    )?;
    let entity = super::cardkit::referenced_entity(&posted.msg_type, &posted.content);
    if let Some(card_id) = &entity {
        super::cardkit::check_send(&state, &caller.app_id, card_id)?;
    }
    let mut message = new_message(
        chat_id,
        caller_author(caller),
        &posted.msg_type,
        accepted.content,
        accepted.mentions,
    );
    place(&mut state, &mut message);
    let id = state.insert_message(message);
    if let Some(card_id) = entity {
        super::cardkit::mark_sent(&mut state, &card_id, &id);
    }
    remember_uuid(&mut state, &caller.app_id, posted.uuid.as_deref(), &id);
    Ok(answer_message(shared, state, &id))
}

/// Answers message `id` as it now stands, and wakes whoever waits for a change.
fn answer_message(shared: &Shared, state: MutexGuard<'_, State>, id: &str) -> Reply {
    let json = state.message_json(&state.messages[id]);
    drop(state);
    shared.changed.notify_waiters();
    Reply::data(json)
}

fn send(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let id_type = receive_id_type(request)?;
    let body = request.json()?;
    let receive_id = string_field(&body, "receive_id")?;
    let posted = Posted::read(&body)?;

    let mut state = shared.state();
    if let Some(existing) = dedup(&mut state, &caller.app_id, posted.uuid.as_deref()) {
        return Ok(Reply::data(existing));
    }
    let chat_id = receiver_chat(&mut state, &caller.app_id, &id_type, &receive_id)?;
    post(shared, state, request, caller, &chat_id, &posted, |_, _| {})
}

fn reply(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    parent_id: &str,
) -> Result<Reply, Fail> {
    let body = request.json()?;
    let posted = Posted::read(&body)?;
    let in_thread = body
        .get("reply_in_thread")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if posted.msg_type == "system" {
        return Err(Fail::field(
            INVALID_PARAM,
            "msg_type",
            "system messages cannot be replies",
        ));
    }

    let mut state = shared.state();
    if let Some(existing) = dedup(&mut state, &caller.app_id, posted.uuid.as_deref()) {
        return Ok(Reply::data(existing));
    }
    let parent = find_message(&state, parent_id)?.clone();
    if parent.deleted {
        return Err(Fail::bad_request(RECALLED, "The message is recalled."));
    }
    post(
        shared,
        state,
        request,
        caller,
        &parent.chat_id,
        &posted,
        |state, message| state.place_reply(&parent, message, in_thread),
    )
}

/// Message `id`, for a change only its sender may make: refused when it is recalled, and with
/// `not_yours` (a code and a message, which differ by call) when the caller's bot did not send
/// it.
fn own_message<'a>(
    state: &'a State,
    caller: &Caller,
    id: &str,
    not_yours: (i64, &'static str),
) -> Result<&'a Message, Fail> {
    let message = find_message(state, id)?;
    if message.deleted {
        return Err(Fail::bad_request(RECALLED, "The message is recalled."));
    }
    if message.author != Author::Bot(caller.app_id.clone()) {
        return Err(Fail::bad_request(not_yours.0, not_yours.1));
    }
    Ok(message)
}

/// What an edit or a card patch of another sender's message is refused with.
const NOT_THE_SENDER: (i64, &str) = (NOT_SENDER, "The operator is not the sender of the message.");

/// What a read-receipt or urgent call on another sender's message is refused with.
const ONLY_OWN_MESSAGES: (i64, &str) = (
    LACK_PERMISSION,
    "Lack of necessary permissions: only messages the bot sent.",
);

fn edit(shared: &Shared, request: &Request, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let body = request.json()?;
    let msg_type = string_field(&body, "msg_type")?;
    let content = string_field(&body, "content")?;
    let mut state = shared.state();
    let message = own_message(&state, caller, id, NOT_THE_SENDER)?.clone();
    if !matches!(msg_type.as_str(), "text" | "post")
        || !matches!(message.msg_type.as_str(), "text" | "post")
    {
        return Err(Fail::bad_request(
            UNSUPPORTED_TYPE,
            "This operation is not supported for this message type.",
        ));
    }
    if message.edits >= EDITS_MAX {
        return Err(Fail::bad_request(
            EDIT_LIMIT,
            "The message has reached the number of times it can be edited.",
        ));
    }
    let accepted = accept(
        &state,
        &caller.app_id,
        &message.chat_id,
        &msg_type,
        &content,
        request.body.len(),
    )?;
    let Some(stored) = state.messages.get_mut(id) else {
        return Err(Fail::field(INVALID_PARAM, "message_id", "does not exist"));
    };
    stored.msg_type = msg_type;
    stored.content = accepted.content;
    stored.mentions = accepted.mentions;
    stored.edits += 1;
    stored.updated = true;
    stored.update_ms = now_millis();
    Ok(answer_message(shared, state, id))
}

fn patch_card(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Reply, Fail> {
    let body = request.json()?;
    let content = string_field(&body, "content")?;
    let mut state = shared.state();
    let message = own_message(&state, caller, id, NOT_THE_SENDER)?.clone();
    if message.msg_type != "interactive" {
        return Err(Fail::bad_request(
            UNSUPPORTED_TYPE,
            "This operation is not supported for this message type.",
        ));
    }
    if request.body.len() > RICH_BODY_MAX {
        return Err(Fail::bad_request(
            crate::codes::messages::TOO_LONG,
            "The length of the message content reaches its limit.",
        ));
    }
    accept(
        &state,
        &caller.app_id,
        &message.chat_id,
        "interactive",
        &content,
        request.body.len(),
    )?;
    if let Some(stored) = state.messages.get_mut(id) {
        stored.content = content;
        stored.updated = true;
        stored.update_ms = now_millis();
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::empty())
}

fn recall(shared: &Shared, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let mut state = shared.state();
    let message = find_message(&state, id)?.clone();
    if message.deleted {
        return Err(Fail::bad_request(RECALLED, "The message is recalled."));
    }
    let own = message.author == Author::Bot(caller.app_id.clone());
    let owns_chat = state
        .chats
        .get(&message.chat_id)
        .is_some_and(|chat| chat.owner == caller.app_id);
    if !own && !owns_chat {
        return Err(Fail::bad_request(
            LACK_PERMISSION,
            "Lack of necessary permissions: only the chat owner may recall others' messages.",
        ));
    }
    if let Some(stored) = state.messages.get_mut(id) {
        stored.deleted = true;
        stored.update_ms = now_millis();
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::empty())
}

/// What the history says in place of a recalled message's content.
const RECALLED_CONTENT: &str = "This message was recalled";

/// The message as a reader gets it: cards simplified unless the original was asked for. A
/// recalled message has no content when got by id, and a fixed sentence in the history.
fn readable(state: &State, message: &Message, card_as_sent: bool, in_history: bool) -> Value {
    let mut json = state.message_json(message);
    if message.deleted {
        if in_history {
            json["body"] = json!({ "content": RECALLED_CONTENT });
        }
    } else if message.msg_type == "interactive" && !card_as_sent {
        json["body"]["content"] = Value::String(simplified_card(&message.content));
    }
    json
}

fn get(shared: &Shared, request: &Request, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let card_as_sent = request.query("card_msg_content_type") == Some("user_card_content");
    let state = shared.state();
    let message = find_message(&state, id)?;
    usable_chat(&state, &caller.app_id, &message.chat_id)?;
    let mut items = vec![readable(&state, message, card_as_sent, false)];
    if message.msg_type == "merge_forward" {
        for child_id in &state.order {
            if let Some(child) = state.messages.get(child_id)
                && child.upper_message_id.as_deref() == Some(id)
            {
                items.push(readable(&state, child, card_as_sent, false));
            }
        }
    }
    Ok(Reply::data(json!({ "items": items })))
}

fn list(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let container_type = request
        .query("container_id_type")
        .ok_or_else(|| Fail::field(INVALID_PARAM, "container_id_type", "is required"))?;
    let container = request
        .query("container_id")
        .ok_or_else(|| Fail::field(INVALID_PARAM, "container_id", "is required"))?;
    let size = page_size(request, 20, HISTORY_PAGE_MAX, INVALID_PARAM)?;
    let parse_time = |name: &'static str| -> Result<Option<u64>, Fail> {
        request
            .query(name)
            .map(|value| {
                value.parse::<u64>().map_err(|_| {
                    Fail::field(INVALID_PARAM, name, "must be seconds since the epoch")
                })
            })
            .transpose()
    };
    let (start, end) = (parse_time("start_time")?, parse_time("end_time")?);
    let descending = match request.query("sort_type") {
        None | Some("ByCreateTimeAsc") => false,
        Some("ByCreateTimeDesc") => true,
        Some(other) => {
            return Err(Fail::field(
                INVALID_PARAM,
                "sort_type",
                format!("`{other}` is not ByCreateTimeAsc or ByCreateTimeDesc"),
            ));
        }
    };
    let card_as_sent = request.query("card_msg_content_type") == Some("user_card_content");

    let state = shared.state();
    let mut selected: Vec<&Message> = match container_type {
        "chat" => {
            usable_chat(&state, &caller.app_id, container)?;
            state
                .order
                .iter()
                .filter_map(|id| state.messages.get(id))
                .filter(|m| m.chat_id == container && m.upper_message_id.is_none())
                // Thread replies show only through their root in a chat's history.
                .filter(|m| m.thread_id.is_none() || m.root_id.is_none())
                .filter(|m| {
                    start.is_none_or(|s| m.create_ms / 1000 >= s)
                        && end.is_none_or(|e| m.create_ms / 1000 <= e)
                })
                .collect()
        }
        "thread" => {
            if start.is_some() || end.is_some() {
                return Err(Fail::field(
                    INVALID_PARAM,
                    "start_time",
                    "is not supported for threads",
                ));
            }
            let messages: Vec<&Message> = state
                .order
                .iter()
                .filter_map(|id| state.messages.get(id))
                .filter(|m| m.thread_id.as_deref() == Some(container))
                .collect();
            let Some(first) = messages.first() else {
                return Err(Fail::field(
                    INVALID_PARAM,
                    "container_id",
                    format!("thread {container} does not exist"),
                ));
            };
            usable_chat(&state, &caller.app_id, &first.chat_id)?;
            messages
        }
        other => {
            return Err(Fail::field(
                INVALID_PARAM,
                "container_id_type",
                format!("`{other}` is not chat or thread"),
            ));
        }
    };
    if descending {
        selected.reverse();
    }
    let (page, has_more, token) =
        page_slice(&selected, request.query("page_token"), size, INVALID_PARAM)?;
    let items: Vec<Value> = page
        .iter()
        .map(|m| readable(&state, m, card_as_sent, true))
        .collect();
    Ok(Reply::data(page_json(items, has_more, token)))
}

fn forward(shared: &Shared, request: &Request, caller: &Caller, id: &str) -> Result<Reply, Fail> {
    let id_type = receive_id_type(request)?;
    let uuid = request.query("uuid").map(str::to_owned);
    check_uuid(uuid.as_deref())?;
    let body = request.json()?;
    let receive_id = string_field(&body, "receive_id")?;
    let mut state = shared.state();
    if let Some(existing) = dedup(&mut state, &caller.app_id, uuid.as_deref()) {
        return Ok(Reply::data(existing));
    }
    let source = find_message(&state, id)?.clone();
    if source.deleted {
        return Err(Fail::bad_request(RECALLED, "The message is recalled."));
    }
    usable_chat(&state, &caller.app_id, &source.chat_id)?;
    let chat_id = receiver_chat(&mut state, &caller.app_id, &id_type, &receive_id)?;
    usable_chat(&state, &caller.app_id, &chat_id)?;
    let copy = new_message(
        &chat_id,
        Author::Bot(caller.app_id.clone()),
        &source.msg_type,
        source.content,
        source.mentions,
    );
    let new_id = state.insert_message(copy);
    remember_uuid(&mut state, &caller.app_id, uuid.as_deref(), &new_id);
    let json = state.message_json(&state.messages[&new_id]);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(json))
}

fn merge_forward(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let id_type = receive_id_type(request)?;
    let uuid = request.query("uuid").map(str::to_owned);
    check_uuid(uuid.as_deref())?;
    let body = request.json()?;
    let receive_id = string_field(&body, "receive_id")?;
    let ids: Vec<String> = body
        .get("message_id_list")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Fail::field(INVALID_PARAM, "message_id_list", "is required"));
    }
    let mut state = shared.state();
    if let Some(existing) = dedup(&mut state, &caller.app_id, uuid.as_deref()) {
        return Ok(Reply::data(
            json!({ "message": existing, "invalid_message_id_list": [] }),
        ));
    }
    let (valid, invalid): (Vec<String>, Vec<String>) = ids.into_iter().partition(|id| {
        state.messages.get(id).is_some_and(|m| {
            !m.deleted
                && state
                    .chats
                    .get(&m.chat_id)
                    .is_some_and(|c| c.has_bot(&caller.app_id))
        })
    });
    if valid.is_empty() {
        return Err(Fail::field(
            INVALID_PARAM,
            "message_id_list",
            "holds no message the bot can read",
        ));
    }
    let chat_id = receiver_chat(&mut state, &caller.app_id, &id_type, &receive_id)?;
    usable_chat(&state, &caller.app_id, &chat_id)?;
    let merged = new_message(
        &chat_id,
        Author::Bot(caller.app_id.clone()),
        "merge_forward",
        json!({ "content": "Merged and Forwarded Message" }).to_string(),
        Vec::new(),
    );
    let merged_id = state.insert_message(merged);
    for id in &valid {
        let source = state.messages[id].clone();
        let mut child = new_message(
            &source.chat_id,
            source.author,
            &source.msg_type,
            source.content,
            source.mentions,
        );
        child.upper_message_id = Some(merged_id.clone());
        state.insert_message(child);
    }
    remember_uuid(&mut state, &caller.app_id, uuid.as_deref(), &merged_id);
    let json = state.message_json(&state.messages[&merged_id]);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(
        json!({ "message": json, "invalid_message_id_list": invalid }),
    ))
}

/// Every resource key a message's content refers to, with its kind (`image` or `file`).
fn resource_keys(message: &Message) -> Vec<(String, &'static str)> {
    let Ok(content) = serde_json::from_str::<Value>(&message.content) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    match message.msg_type.as_str() {
        "image" => keys.extend(
            content
                .get("image_key")
                .and_then(Value::as_str)
                .map(|k| (k.to_owned(), "image")),
        ),
        "file" | "audio" => keys.extend(
            content
                .get("file_key")
                .and_then(Value::as_str)
                .map(|k| (k.to_owned(), "file")),
        ),
        "media" => {
            keys.extend(
                content
                    .get("file_key")
                    .and_then(Value::as_str)
                    .map(|k| (k.to_owned(), "file")),
            );
            keys.extend(
                content
                    .get("image_key")
                    .and_then(Value::as_str)
                    .map(|k| (k.to_owned(), "image")),
            );
        }
        "post" => {
            for element in content
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|p| p.as_array().into_iter().flatten())
            {
                match element.get("tag").and_then(Value::as_str) {
                    Some("img") => keys.extend(
                        element
                            .get("image_key")
                            .and_then(Value::as_str)
                            .map(|k| (k.to_owned(), "image")),
                    ),
                    Some("media") => keys.extend(
                        element
                            .get("file_key")
                            .and_then(Value::as_str)
                            .map(|k| (k.to_owned(), "file")),
                    ),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    keys
}

fn resource(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
    key: &str,
) -> Result<Reply, Fail> {
    let kind = request
        .query("type")
        .ok_or_else(|| Fail::field(INVALID_PARAM, "type", "is required: image or file"))?;
    if !matches!(kind, "image" | "file") {
        return Err(Fail::field(INVALID_PARAM, "type", "must be image or file"));
    }
    let state = shared.state();
    let message = find_message(&state, id)?;
    usable_chat(&state, &caller.app_id, &message.chat_id)?;
    if message.msg_type == "sticker"
        || message.upper_message_id.is_some()
        || message.msg_type == "interactive"
    {
        return Err(Fail::bad_request(
            UNSUPPORTED_RESOURCE,
            "The resource type is not supported.",
        ));
    }
    let Some((_, key_kind)) = resource_keys(message).into_iter().find(|(k, _)| k == key) else {
        return Err(Fail::field(
            INVALID_PARAM,
            "file_key",
            format!("{key} is not a resource of message {id}"),
        ));
    };
    if key_kind != kind {
        return Err(Fail::field(
            INVALID_PARAM,
            "type",
            format!("{key} is an {key_kind}, ask with type={key_kind}"),
        ));
    }
    let blob = if kind == "image" {
        state.images.get(key)
    } else {
        state.files.get(key)
    };
    let Some(blob) = blob else {
        return Err(Fail::bad_request(
            UNSUPPORTED_RESOURCE,
            "The resource is not available.",
        ));
    };
    Ok(Reply::Binary {
        bytes: blob.bytes.clone(),
        content_type: blob.content_type.clone(),
        file_name: Some(blob.file_name.clone()),
    })
}

fn reaction_message<'a>(state: &'a State, caller: &Caller, id: &str) -> Result<&'a Message, Fail> {
    let message = state
        .messages
        .get(id)
        .filter(|m| !m.deleted)
        .ok_or_else(|| {
            Fail::bad_request(
                MESSAGE_NOT_FOUND,
                "The message is not found, maybe not exist or deleted.",
            )
        })?;
    if !state
        .chats
        .get(&message.chat_id)
        .is_some_and(|chat| chat.has_bot(&caller.app_id))
    {
        return Err(Fail::bad_request(
            REACTION_NO_PERMISSION,
            "The operator has no permission to react on the specific message.",
        ));
    }
    Ok(message)
}

fn add_reaction(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Reply, Fail> {
    let body = request.json()?;
    let emoji = body
        .get("reaction_type")
        .and_then(|r| r.get("emoji_type"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !crate::rules::known_emoji(&emoji) {
        return Err(Fail::bad_request(
            REACTION_TYPE_INVALID,
            "reaction type is invalid.",
        ));
    }
    let mut state = shared.state();
    reaction_message(&state, caller, id)?;
    let reaction = Reaction {
        reaction_id: random_hex::<12>(),
        emoji_type: emoji,
        operator_type: "app",
        operator_id: caller.app_id.clone(),
        action_ms: state.now_millis(),
    };
    let json = reaction.to_json();
    state.log_reaction(id, &reaction, true);
    if let Some(message) = state.messages.get_mut(id) {
        message.reactions.push(reaction);
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(json))
}

fn list_reactions(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Reply, Fail> {
    let size = page_size(request, 20, 50, INVALID_PARAM)?;
    let filter = request.query("reaction_type");
    let state = shared.state();
    let message = reaction_message(&state, caller, id)?;
    let reactions: Vec<&Reaction> = message
        .reactions
        .iter()
        .filter(|r| filter.is_none_or(|f| r.emoji_type == f))
        .collect();
    let (page, has_more, token) =
        page_slice(&reactions, request.query("page_token"), size, 231_012)?;
    let items: Vec<Value> = page.iter().map(|r| r.to_json()).collect();
    Ok(Reply::data(page_json(items, has_more, token)))
}

fn delete_reaction(
    shared: &Shared,
    caller: &Caller,
    id: &str,
    reaction_id: &str,
) -> Result<Reply, Fail> {
    let mut state = shared.state();
    reaction_message(&state, caller, id)?;
    let Some(message) = state.messages.get_mut(id) else {
        return Err(Fail::bad_request(
            MESSAGE_NOT_FOUND,
            "The message is not found, maybe not exist or deleted.",
        ));
    };
    let Some(index) = message
        .reactions
        .iter()
        .position(|r| r.reaction_id == reaction_id)
    else {
        return Err(Fail::field(INVALID_PARAM, "reaction_id", "does not exist"));
    };
    if message.reactions[index].operator_type != "app"
        || message.reactions[index].operator_id != caller.app_id
    {
        return Err(Fail::bad_request(
            REACTION_NO_PERMISSION,
            "The operator has no permission to react on the specific message.",
        ));
    }
    let removed = message.reactions.remove(index);
    state.log_reaction(id, &removed, false);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(removed.to_json()))
}

/// `POST /open-apis/message/v4/batch_send/`: content is an object here, cards go in `card`.
/// Token refusals are the gateway's and keep their codes; everything the endpoint itself
/// refuses comes back as HTTP 200 with its own codes (10003, 11xxx).
pub(crate) fn batch_send(shared: &Shared, request: &Request) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    batch_send_checked(shared, request, &caller).map_err(|fail| {
        let (code, msg) = match fail.code {
            BATCH_OPEN_ID_NOT_EXIST => (fail.code, "Open_id not exist.".to_owned()),
            INVALID_PARAM if fail.msg.contains("image_key") => {
                (BATCH_IMAGE_KEY_NOT_EXIST, "Image key not exist.".to_owned())
            }
            INVALID_PARAM if fail.field.is_some_and(|(field, _)| field == "content") => (
                BATCH_CONTENT_FAILED,
                format!("Create message content fail. {}", fail.msg),
            ),
            INVALID_PARAM | crate::codes::chats::INVALID_PARAM => (
                BATCH_INVALID_PARAM,
                format!("Invalid parameter. {}", fail.msg),
            ),
            _ => (
                BATCH_CONTENT_FAILED,
                format!("Create message content fail. {}", fail.msg),
            ),
        };
        Fail::new(StatusCode::OK, code, msg)
    })
}

fn batch_send_checked(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let body = request.json()?;
    let msg_type = string_field(&body, "msg_type")?;
    let content = match msg_type.as_str() {
        "interactive" => body.get("card").cloned(),
        "post" => body.get("content").and_then(|c| c.get("post")).cloned(),
        "share_chat" => body
            .get("content")
            .and_then(|c| c.get("share_chat_id"))
            .map(|id| json!({ "chat_id": id })),
        _ => body.get("content").cloned(),
    };
    let Some(content) = content.filter(Value::is_object) else {
        return Err(Fail::field(
            INVALID_PARAM,
            "content",
            "is required as a JSON object",
        ));
    };
    let content = content.to_string();
    let list = |name: &str| -> Vec<String> {
        body.get(name)
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut state = shared.state();
    let mut invalid = serde_json::Map::new();
    let mut targets = Vec::new();
    for (field, id_type, invalid_field) in [
        ("open_ids", "open_id", "invalid_open_ids"),
        ("user_ids", "user_id", "invalid_user_ids"),
        ("union_ids", "union_id", "invalid_union_ids"),
    ] {
        let mut bad = Vec::new();
        for id in list(field) {
            match state.user_by(id_type, &id) {
                Some(user) => targets.push(user.open_id.clone()),
                None => bad.push(Value::String(id)),
            }
        }
        invalid.insert(invalid_field.to_owned(), Value::Array(bad));
    }
    let departments: Vec<Value> = list("department_ids")
        .into_iter()
        .map(Value::String)
        .collect();
    invalid.insert(
        "invalid_department_ids".to_owned(),
        Value::Array(departments),
    );
    if targets.is_empty() {
        return Err(Fail::bad_request(
            BATCH_OPEN_ID_NOT_EXIST,
            "no id names a user of this tenant",
        ));
    }
    let batch_id = format!("bm-{}", random_hex::<16>());
    let mut ids = Vec::new();
    for open_id in targets {
        let chat_id = state.p2p_chat(&caller.app_id, &open_id);
        let accepted = accept(
            &state,
            &caller.app_id,
            &chat_id,
            &msg_type,
            &content,
            request.body.len(),
        )?;
        let message = new_message(
            &chat_id,
            Author::Bot(caller.app_id.clone()),
            &msg_type,
            accepted.content,
            accepted.mentions,
        );
        ids.push(state.insert_message(message));
    }
    state.batches.insert(batch_id.clone(), ids);
    drop(state);
    shared.changed.notify_waiters();
    let mut data = invalid;
    data.insert("message_id".to_owned(), Value::String(batch_id));
    Ok(Reply::data(Value::Object(data)))
}

/// `DELETE /open-apis/im/v1/batch_messages/:batch_message_id`.
pub(crate) fn recall_batch(
    shared: &Shared,
    request: &Request,
    batch_id: &str,
) -> Result<Reply, Fail> {
    authenticate(shared, request)?;
    let mut state = shared.state();
    let Some(ids) = state.batches.get(batch_id).cloned() else {
        return Err(Fail::field(
            INVALID_PARAM,
            "batch_message_id",
            "does not exist",
        ));
    };
    for id in ids {
        if let Some(message) = state.messages.get_mut(&id) {
            message.deleted = true;
        }
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::empty())
}

/// How far back read receipts go (doc `…/im-v1/message/read_users`): seven days.
const READ_RECEIPTS_WINDOW_MS: u64 = 7 * 24 * 3600 * 1000;

/// The `user_id_type` query parameter, which these calls require.
fn required_user_id_type(request: &Request) -> Result<&str, Fail> {
    match request.query("user_id_type") {
        Some(kind @ ("open_id" | "union_id" | "user_id")) => Ok(kind),
        Some(_) => Err(Fail::field(
            INVALID_PARAM,
            "user_id_type",
            "must be open_id, union_id or user_id",
        )),
        None => Err(Fail::field(INVALID_PARAM, "user_id_type", "is required")),
    }
}

/// `GET …/messages/:id/read_users`: who read a message the bot sent in the last seven days.
fn read_users(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
) -> Result<Reply, Fail> {
    let kind = required_user_id_type(request)?;
    let size = page_size(request, 20, 100, INVALID_PARAM)?;
    let state = shared.state();
    let message = own_message(&state, caller, id, ONLY_OWN_MESSAGES)?;
    if state.now_millis().saturating_sub(message.create_ms) > READ_RECEIPTS_WINDOW_MS {
        return Err(Fail::field(
            INVALID_PARAM,
            "message_id",
            "was sent more than seven days ago",
        ));
    }
    let readers: Vec<Value> = state
        .reads
        .get(id)
        .into_iter()
        .flatten()
        .filter_map(|(open_id, at)| {
            let user = state.user_by("open_id", open_id)?;
            let user_id = match kind {
                "union_id" => &user.union_id,
                "user_id" => &user.user_id,
                _ => &user.open_id,
            };
            Some(json!({
                "user_id_type": kind,
                "user_id": user_id,
                "timestamp": at.to_string(),
                "tenant_key": state.tenant_key(),
            }))
        })
        .collect();
    let (page, has_more, token) =
        page_slice(&readers, request.query("page_token"), size, INVALID_PARAM)?;
    Ok(Reply::data(page_json(page.to_vec(), has_more, token)))
}

/// `PATCH …/messages/:id/urgent_app|urgent_sms|urgent_phone`: notifies members of the chat
/// about a message the bot sent; ids that are not members come back as invalid.
fn urgent(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    id: &str,
    channel: &str,
) -> Result<Reply, Fail> {
    let kind = required_user_id_type(request)?.to_owned();
    let body = request.json()?;
    let users: Vec<String> = match body.get("user_id_list") {
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|user| user.as_str().filter(|u| !u.is_empty()).map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| Fail::field(INVALID_PARAM, "user_id_list", "must hold user ids"))?,
        _ => {
            return Err(Fail::field(
                INVALID_PARAM,
                "user_id_list",
                "must not be empty",
            ));
        }
    };
    let mut state = shared.state();
    let message = own_message(&state, caller, id, ONLY_OWN_MESSAGES)?;
    let chat = state.chats.get(&message.chat_id);
    let (mut reached, mut invalid) = (Vec::new(), Vec::new());
    for user in users {
        let member = state
            .user_by(&kind, &user)
            .filter(|found| chat.is_some_and(|chat| chat.has_user(&found.open_id)));
        match member {
            Some(found) => reached.push(found.open_id.clone()),
            None => invalid.push(user),
        }
    }
    let record = json!({
        "message_id": id,
        "channel": channel,
        "open_ids": reached,
        "at": state.now_millis(),
    });
    state.urgent.push(record);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(json!({"invalid_user_id_list": invalid})))
}
