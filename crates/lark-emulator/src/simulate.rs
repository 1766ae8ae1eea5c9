//! Users acting: messages, reactions, recalls, reads, membership changes, card clicks — each
//! recorded in the state and delivered to the app as the platform's event.

use crate::config::Subscription;
use crate::convert::text_placeholders;
use crate::crypto::sign_legacy_card;
use crate::events::{Outgoing, callback_token, envelope_v2, http_client, post, seal};
use crate::routes::messages::new_message;
use crate::server::Shared;
use crate::state::{Author, Blob, ChatMode, Message, Reaction, State};
use crate::util::{new_key, now_millis, now_secs, random_hex};
use bytes::Bytes;
use serde_json::{Value, json};
use std::time::Duration;

/// Why a simulated action could not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// No such chat.
    #[error("no chat {0} in the emulator")]
    UnknownChat(String),
    /// No such user.
    #[error("no user {0} in the emulator")]
    UnknownUser(String),
    /// No such app.
    #[error("no app {0} in the emulator")]
    UnknownApp(String),
    /// No such message.
    #[error("no message {0} in the emulator")]
    UnknownMessage(String),
    /// The user is not in the chat.
    #[error("user {user} is not a member of chat {chat}")]
    NotAMember {
        /// The user.
        user: String,
        /// The chat.
        chat: String,
    },
    /// No webhook is configured for a callback.
    #[error("no webhook is configured: set one with Emulator::set_webhook")]
    NoWebhook,
    /// The app's callback endpoint failed.
    #[error("card callback failed: {0}")]
    Callback(String),
    /// The content is not what a user can send.
    #[error("invalid content: {0}")]
    Content(String),
    /// An app, user or chat that cannot be set up as asked.
    #[error("cannot set that up: {0}")]
    Setup(String),
}

/// What a card click came back with.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClickOutcome {
    /// The HTTP status the app answered.
    pub status: u16,
    /// The app's answer, parsed.
    pub response: Value,
    /// The toast shown, if any.
    pub toast: Option<Value>,
    /// Whether the answer replaced the card.
    pub card_updated: bool,
}

fn verification_token(state: &State) -> String {
    state
        .config
        .webhook
        .as_ref()
        .map(|w| w.verification_token.clone())
        .unwrap_or_default()
}

/// The bots of a chat that hear an event about it.
fn bots_of(state: &State, chat_id: &str) -> Vec<String> {
    state
        .chats
        .get(chat_id)
        .map(|chat| chat.bots.clone())
        .unwrap_or_default()
}

fn event_for(state: &State, app_id: &str, event_type: &str, event: Value) -> Outgoing {
    let (event_id, payload) = envelope_v2(
        app_id,
        &state.tenant_key(),
        &verification_token(state),
        (event_type, state.now_millis()),
        event,
    );
    Outgoing {
        app_id: app_id.to_owned(),
        event_id,
        event_type: event_type.to_owned(),
        payload,
        duplicates: 0,
        redelivery: false,
    }
}

fn user_ids(state: &State, open_id: &str) -> Result<Value, EmulatorError> {
    state
        .user_by("open_id", open_id)
        .map(crate::state::User::ids)
        .ok_or_else(|| EmulatorError::UnknownUser(open_id.to_owned()))
}

/// The user's message, stored in its received form, and the `im.message.receive_v1` events for
/// the bots that receive it.
pub(crate) fn user_says(
    shared: &Shared,
    chat_id: &str,
    user: &str,
    msg_type: &str,
    content: &str,
) -> Result<String, EmulatorError> {
    user_posts(shared, chat_id, user, msg_type, content, None)
}

/// The user's reply to `parent_id`, in its thread when it is in one or `in_thread` starts one.
pub(crate) fn user_replies(
    shared: &Shared,
    parent_id: &str,
    user: &str,
    msg_type: &str,
    content: &str,
    in_thread: bool,
) -> Result<String, EmulatorError> {
    let parent = shared
        .state()
        .messages
        .get(parent_id)
        .filter(|m| !m.deleted)
        .cloned()
        .ok_or_else(|| EmulatorError::UnknownMessage(parent_id.to_owned()))?;
    user_posts(
        shared,
        &parent.chat_id,
        user,
        msg_type,
        content,
        Some((&parent, in_thread)),
    )
}

fn user_posts(
    shared: &Shared,
    chat_id: &str,
    user: &str,
    msg_type: &str,
    content: &str,
    reply: Option<(&Message, bool)>,
) -> Result<String, EmulatorError> {
    let mut state = shared.state();
    let chat = state
        .chats
        .get(chat_id)
        .ok_or_else(|| EmulatorError::UnknownChat(chat_id.to_owned()))?
        .clone();
    if !chat.has_user(user) {
        return Err(EmulatorError::NotAMember {
            user: user.to_owned(),
            chat: chat_id.to_owned(),
        });
    }
    let (stored, mentions) = if msg_type == "text" {
        let text: Value =
            serde_json::from_str(content).map_err(|err| EmulatorError::Content(err.to_string()))?;
        let raw = text.get("text").and_then(Value::as_str).unwrap_or("");
        let (converted, mentions) = text_placeholders(&state, raw);
        (json!({ "text": converted }).to_string(), mentions)
    } else {
        match serde_json::from_str::<Value>(content) {
            Ok(Value::Object(_)) => {}
            Ok(_) => {
                return Err(EmulatorError::Content(format!(
                    "`{msg_type}` content must be a JSON object"
                )));
            }
            Err(err) => return Err(EmulatorError::Content(err.to_string())),
        }
        (content.to_owned(), Vec::new())
    };
    let mut message = new_message(
        chat_id,
        Author::User(user.to_owned()),
        msg_type,
        stored,
        mentions,
    );
    message.create_ms = state.now_millis();
    message.update_ms = message.create_ms;
    if let Some((parent, in_thread)) = reply {
        state.place_reply(parent, &mut message, in_thread);
    }
    let id = state.insert_message(message);
    let events = receive_events(&state, &state.messages[&id], &chat.bots);
    drop(state);
    shared.publish(events);
    Ok(id)
}

/// A chat's `chat_type` as events say it.
fn chat_type(chat: &crate::state::Chat) -> &'static str {
    let topics = chat
        .settings
        .get("group_message_type")
        .and_then(Value::as_str)
        == Some("thread");
    match chat.mode {
        ChatMode::P2p => "p2p",
        ChatMode::Group if topics => "topic_group",
        ChatMode::Group => "group",
    }
}

fn receive_events(state: &State, message: &Message, bots: &[String]) -> Vec<Outgoing> {
    let Author::User(sender) = &message.author else {
        return Vec::new();
    };
    let Some(chat) = state.chats.get(&message.chat_id) else {
        return Vec::new();
    };
    let sender_ids = user_ids(state, sender).unwrap_or_else(|_| json!({ "open_id": sender }));
    let mentions: Vec<Value> = message
        .mentions
        .iter()
        .map(|m| state.mention_event(m))
        .collect();
    let mut out = Vec::new();
    for app_id in bots {
        let mentioned = message
            .mentions
            .iter()
            .any(|m| m.target == Author::Bot(app_id.clone()));
        let hears = chat.mode == ChatMode::P2p || state.config.all_group_messages || mentioned;
        if !hears {
            continue;
        }
        let mut body = json!({
            "message_id": message.message_id,
            "create_time": message.create_ms.to_string(),
            "update_time": message.update_ms.to_string(),
            "chat_id": message.chat_id,
            "chat_type": chat_type(chat),
            "message_type": message.msg_type,
            "content": message.content,
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 13_2_1) Lark/6.7.5 lark-emulator",
        });
        if !mentions.is_empty() {
            body["mentions"] = Value::Array(mentions.clone());
        }
        for (key, value) in [
            ("root_id", &message.root_id),
            ("parent_id", &message.parent_id),
            ("thread_id", &message.thread_id),
        ] {
            if let Some(value) = value {
                body[key] = Value::String(value.clone());
            }
        }
        let event = json!({
            "sender": { "sender_id": sender_ids, "sender_type": "user", "tenant_key": state.tenant_key() },
            "message": body,
        });
        out.push(event_for(state, app_id, "im.message.receive_v1", event));
    }
    out
}

/// A user sends a file or image: the bytes are stored so the bot can download them through the
/// message resource endpoint.
pub(crate) fn user_sends_resource(
    shared: &Shared,
    chat_id: &str,
    user: &str,
    msg_type: &str,
    file_name: &str,
    bytes: Bytes,
) -> Result<String, EmulatorError> {
    let content_type = match file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("mp4") => "video/mp4",
        Some("opus") => "audio/opus",
        _ => "application/octet-stream",
    }
    .to_owned();
    let (content, key, is_image) = if msg_type == "image" {
        let key = new_key("img_v3_");
        (json!({ "image_key": key }).to_string(), key, true)
    } else {
        let key = new_key("file_v3_");
        let mut content = json!({ "file_key": key, "file_name": file_name });
        if msg_type == "audio" || msg_type == "media" {
            content["duration"] = json!(2000);
        }
        (content.to_string(), key, false)
    };
    {
        let mut state = shared.state();
        let blob = Blob {
            bytes,
            file_name: file_name.to_owned(),
            content_type,
            kind: msg_type.to_owned(),
            owner: None,
        };
        if is_image {
            state.images.insert(key, blob);
        } else {
            state.files.insert(key, blob);
        }
    }
    user_says(shared, chat_id, user, msg_type, &content)
}

pub(crate) fn user_reacts(
    shared: &Shared,
    message_id: &str,
    user: &str,
    emoji: &str,
    add: bool,
) -> Result<String, EmulatorError> {
    let mut state = shared.state();
    let ids = user_ids(&state, user)?;
    let now = state.now_millis();
    let message = state
        .messages
        .get_mut(message_id)
        .ok_or_else(|| EmulatorError::UnknownMessage(message_id.to_owned()))?;
    let reaction = if add {
        let reaction = Reaction {
            reaction_id: random_hex::<12>(),
            emoji_type: emoji.to_owned(),
            operator_type: "user",
            operator_id: user.to_owned(),
            action_ms: now,
        };
        message.reactions.push(reaction.clone());
        reaction
    } else {
        let index = message
            .reactions
            .iter()
            .position(|r| r.operator_id == user && r.emoji_type == emoji)
            .ok_or_else(|| {
                EmulatorError::UnknownMessage(format!(
                    "{message_id} has no {emoji} reaction by {user}"
                ))
            })?;
        message.reactions.remove(index)
    };
    let chat_id = message.chat_id.clone();
    state.log_reaction(message_id, &reaction, add);
    let reaction_id = reaction.reaction_id;
    let event_type = if add {
        "im.message.reaction.created_v1"
    } else {
        "im.message.reaction.deleted_v1"
    };
    let body = json!({
        "message_id": message_id,
        "reaction_type": { "emoji_type": emoji },
        "operator_type": "user",
        "user_id": ids,
        "action_time": now.to_string(),
    });
    let events: Vec<Outgoing> = bots_of(&state, &chat_id)
        .iter()
        .map(|bot| event_for(&state, bot, event_type, body.clone()))
        .collect();
    drop(state);
    shared.publish(events);
    Ok(reaction_id)
}

pub(crate) fn user_recalls(shared: &Shared, message_id: &str) -> Result<(), EmulatorError> {
    let mut state = shared.state();
    let message = state
        .messages
        .get_mut(message_id)
        .ok_or_else(|| EmulatorError::UnknownMessage(message_id.to_owned()))?;
    message.deleted = true;
    let chat_id = message.chat_id.clone();
    let body = json!({
        "message_id": message_id,
        "chat_id": chat_id,
        "recall_time": now_millis().to_string(),
        "recall_type": "message_owner",
    });
    let events: Vec<Outgoing> = bots_of(&state, &chat_id)
        .iter()
        .map(|bot| event_for(&state, bot, "im.message.recalled_v1", body.clone()))
        .collect();
    drop(state);
    shared.publish(events);
    Ok(())
}

pub(crate) fn user_reads(
    shared: &Shared,
    user: &str,
    message_ids: &[String],
) -> Result<(), EmulatorError> {
    let mut state = shared.state();
    let ids = user_ids(&state, user)?;
    // Every message read has a receipt (`read_users`); only a bot's own messages in its p2p
    // chat with the reader also raise the read event.
    for id in message_ids {
        if !state.messages.contains_key(id) {
            return Err(EmulatorError::UnknownMessage(id.clone()));
        }
        let at = state.now_millis();
        let readers = state.reads.entry(id.clone()).or_default();
        if !readers.iter().any(|(reader, _)| reader == user) {
            readers.push((user.to_owned(), at));
        }
    }
    let mut by_bot: Vec<(String, Vec<String>)> = Vec::new();
    for id in message_ids {
        let message = state
            .messages
            .get(id)
            .ok_or_else(|| EmulatorError::UnknownMessage(id.clone()))?;
        // The event is only for a bot's own messages in its p2p chat with the reader.
        let p2p_with_reader = state
            .chats
            .get(&message.chat_id)
            .is_some_and(|chat| chat.mode == ChatMode::P2p && chat.has_user(user));
        if let Author::Bot(app_id) = &message.author
            && p2p_with_reader
        {
            match by_bot.iter_mut().find(|(bot, _)| bot == app_id) {
                Some((_, list)) => list.push(id.clone()),
                None => by_bot.push((app_id.clone(), vec![id.clone()])),
            }
        }
    }
    let read_ms = state.now_millis();
    let events: Vec<Outgoing> = by_bot
        .into_iter()
        .map(|(bot, list)| {
            let body = json!({
                "reader": { "reader_id": ids, "read_time": read_ms.to_string(), "tenant_key": state.tenant_key() },
                "message_id_list": list,
            });
            event_for(&state, &bot, "im.message.message_read_v1", body)
        })
        .collect();
    drop(state);
    shared.publish(events);
    Ok(())
}

/// What a membership change does to the chat and who hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Membership {
    UserAdded,
    UserRemoved,
    UserLeft,
    BotAdded,
    BotRemoved,
    Disbanded,
}

pub(crate) fn membership(
    shared: &Shared,
    chat_id: &str,
    operator: &str,
    subject: &str,
    change: Membership,
) -> Result<(), EmulatorError> {
    let mut state = shared.state();
    let operator_ids = user_ids(&state, operator)?;
    let subject_user = state.user_by("open_id", subject).cloned();
    let chat = state
        .chats
        .get_mut(chat_id)
        .ok_or_else(|| EmulatorError::UnknownChat(chat_id.to_owned()))?;
    let listeners_before = chat.bots.clone();
    match change {
        Membership::UserAdded => {
            if !chat.has_user(subject) {
                chat.users.push(subject.to_owned());
            }
        }
        Membership::UserRemoved | Membership::UserLeft => chat.users.retain(|u| u != subject),
        Membership::BotAdded => {
            if !chat.has_bot(subject) {
                chat.bots.push(subject.to_owned());
            }
        }
        Membership::BotRemoved => chat.bots.retain(|b| b != subject),
        Membership::Disbanded => chat.dissolved = true,
    }
    let chat = chat.clone();
    let (event_type, listeners) = match change {
        Membership::UserAdded => ("im.chat.member.user.added_v1", chat.bots.clone()),
        Membership::UserRemoved => ("im.chat.member.user.deleted_v1", chat.bots.clone()),
        Membership::UserLeft => ("im.chat.member.user.withdrawn_v1", chat.bots.clone()),
        Membership::BotAdded => ("im.chat.member.bot.added_v1", vec![subject.to_owned()]),
        Membership::BotRemoved => ("im.chat.member.bot.deleted_v1", vec![subject.to_owned()]),
        Membership::Disbanded => ("im.chat.disbanded_v1", listeners_before),
    };
    let mut body = json!({
        "chat_id": chat.chat_id,
        "operator_id": operator_ids,
        "external": false,
        "operator_tenant_key": state.tenant_key(),
        "name": chat.name,
        "i18n_names": chat.settings.get("i18n_names").cloned().unwrap_or_else(|| json!({})),
    });
    if let (Some(user), Membership::UserAdded | Membership::UserRemoved | Membership::UserLeft) =
        (&subject_user, change)
    {
        body["users"] =
            json!([{ "name": user.name, "tenant_key": state.tenant_key(), "user_id": user.ids() }]);
    }
    let events: Vec<Outgoing> = listeners
        .iter()
        .map(|bot| event_for(&state, bot, event_type, body.clone()))
        .collect();
    drop(state);
    shared.publish(events);
    Ok(())
}

pub(crate) fn rename_chat(
    shared: &Shared,
    chat_id: &str,
    operator: &str,
    name: &str,
) -> Result<(), EmulatorError> {
    let mut state = shared.state();
    let operator_ids = user_ids(&state, operator)?;
    let chat = state
        .chats
        .get_mut(chat_id)
        .ok_or_else(|| EmulatorError::UnknownChat(chat_id.to_owned()))?;
    let before = std::mem::replace(&mut chat.name, name.to_owned());
    let bots = chat.bots.clone();
    let body = json!({
        "chat_id": chat_id,
        "operator_id": operator_ids,
        "external": false,
        "operator_tenant_key": state.tenant_key(),
        "after_change": { "name": name },
        "before_change": { "name": before },
        "moderator_list": { "added_member_list": [], "removed_member_list": [] },
    });
    let events: Vec<Outgoing> = bots
        .iter()
        .map(|bot| event_for(&state, bot, "im.chat.updated_v1", body.clone()))
        .collect();
    drop(state);
    shared.publish(events);
    Ok(())
}

pub(crate) fn user_opens_p2p(
    shared: &Shared,
    app_id: &str,
    user: &str,
) -> Result<String, EmulatorError> {
    let mut state = shared.state();
    let operator_ids = user_ids(&state, user)?;
    let chat_id = state.p2p_chat(app_id, user);
    let last = state
        .order
        .iter()
        .rev()
        .filter_map(|id| state.messages.get(id))
        .find(|m| m.chat_id == chat_id);
    let mut body = json!({ "chat_id": chat_id, "operator_id": operator_ids });
    if let Some(last) = last {
        body["last_message_id"] = json!(last.message_id);
        body["last_message_create_time"] = json!(last.create_ms.to_string());
    }
    let event = event_for(
        &state,
        app_id,
        "im.chat.access_event.bot_p2p_chat_entered_v1",
        body,
    );
    drop(state);
    shared.publish([event]);
    Ok(chat_id)
}

/// A user clicks a card button: `card.action.trigger` goes to the card url and the answer is
/// applied (a raw card replaces the message's card; a toast is recorded). Callbacks are not
/// retried.
pub(crate) async fn click(
    shared: &Shared,
    message_id: &str,
    user: &str,
    value: Value,
    form_value: Option<Value>,
) -> Result<ClickOutcome, EmulatorError> {
    let (url, key, payload, app_id, over_ws) = {
        let state = shared.state();
        let message = state
            .messages
            .get(message_id)
            .ok_or_else(|| EmulatorError::UnknownMessage(message_id.to_owned()))?;
        let Author::Bot(app_id) = &message.author else {
            return Err(EmulatorError::Content(format!(
                "{message_id} was not sent by a bot, so it has no callback"
            )));
        };
        let over_ws = state
            .apps
            .get(app_id)
            .is_some_and(|app| app.config.subscription == Subscription::LongConnection);
        let webhook = match (state.config.webhook.clone(), over_ws) {
            (Some(webhook), _) => webhook,
            (None, true) => crate::config::WebhookConfig::default(),
            (None, false) => return Err(EmulatorError::NoWebhook),
        };
        let url = if webhook.card_url.is_empty() {
            webhook.url.clone()
        } else {
            webhook.card_url.clone()
        };
        let user = state
            .user_by("open_id", user)
            .ok_or_else(|| EmulatorError::UnknownUser(user.to_owned()))?;
        let mut action = json!({ "value": value, "tag": "button", "timezone": "Asia/Shanghai" });
        if let Some(form_value) = form_value {
            action["form_value"] = form_value;
        }
        let event = json!({
            "operator": { "tenant_key": state.tenant_key(), "user_id": user.user_id, "open_id": user.open_id, "union_id": user.union_id },
            "token": callback_token(),
            "action": action,
            "host": "im_message",
            "context": { "open_message_id": message.message_id, "open_chat_id": message.chat_id },
        });
        let (_, payload) = envelope_v2(
            app_id,
            &state.tenant_key(),
            &webhook.verification_token,
            ("card.action.trigger", state.now_millis()),
            event,
        );
        (url, webhook.encrypt_key, payload, app_id.clone(), over_ws)
    };
    {
        let mut state = shared.state();
        let event_id = payload
            .pointer("/header/event_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        crate::server::remember(
            &mut state.emitted,
            crate::events::EmittedEvent {
                event_id,
                event_type: "card.action.trigger".to_owned(),
                app_id: app_id.clone(),
                payload: payload.clone(),
            },
        );
    }
    if over_ws {
        let event_id = payload
            .pointer("/header/event_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let body = crate::ws::card_callback(shared, &app_id, &event_id, &payload)
            .await
            .map_err(EmulatorError::Callback)?;
        return apply_card_answer(shared, message_id, 200, &body, false);
    }
    let signed = seal(&payload, &key);
    let (status, body) = post(&http_client(), &url, &signed, Duration::from_secs(3))
        .await
        .map_err(EmulatorError::Callback)?;
    apply_card_answer(shared, message_id, status.as_u16(), &body, false)
}

/// Whether an answer to a legacy callback is itself a card: the legacy callback replaces the
/// card with the card JSON it is answered with.
fn is_bare_card(answer: &Value) -> bool {
    ["elements", "i18n_elements", "header", "config", "body"]
        .iter()
        .any(|key| answer.get(*key).is_some())
}

/// Applies the app's answer to a card callback: a toast is shown, and a card replaces the
/// message's card. `{"card":{"type":"raw"|"template","data":…}}` does so for both kinds of
/// callback; a legacy callback may also be answered with the bare card JSON.
fn apply_card_answer(
    shared: &Shared,
    message_id: &str,
    status: u16,
    body: &[u8],
    legacy: bool,
) -> Result<ClickOutcome, EmulatorError> {
    if status != 200 {
        return Err(EmulatorError::Callback(format!(
            "the app answered HTTP {status} (the client shows error 200671): {}",
            String::from_utf8_lossy(body)
        )));
    }
    let response: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|err| {
            EmulatorError::Callback(format!(
                "the answer is not JSON (client error 200672): {err}"
            ))
        })?
    };
    let toast = response.get("toast").cloned();
    let mut card_updated = false;
    let mut state = shared.state();
    let new_content = if let Some(card) = response.get("card") {
        match card.get("type").and_then(Value::as_str) {
            Some("raw") => card.get("data").map(Value::to_string),
            Some("template") => Some(json!({ "type": "template", "data": card.get("data").cloned().unwrap_or(Value::Null) }).to_string()),
            _ => None,
        }
    } else if legacy && is_bare_card(&response) {
        Some(response.to_string())
    } else {
        None
    };
    if let Some(content) = new_content
        && let Some(message) = state.messages.get_mut(message_id)
    {
        message.content = content;
        message.updated = true;
        message.update_ms = now_millis();
        card_updated = true;
    }
    if let Some(toast) = &toast {
        state.toasts.push(toast.clone());
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(ClickOutcome {
        status,
        response,
        toast,
        card_updated,
    })
}

/// The legacy card callback (`card.action.trigger_v1`): a flat body, signed with sha1 and the
/// verification token, never encrypted.
pub(crate) async fn click_legacy(
    shared: &Shared,
    message_id: &str,
    user: &str,
    value: Value,
) -> Result<ClickOutcome, EmulatorError> {
    let (url, token, body) = {
        let state = shared.state();
        let message = state
            .messages
            .get(message_id)
            .ok_or_else(|| EmulatorError::UnknownMessage(message_id.to_owned()))?;
        let webhook = state
            .config
            .webhook
            .clone()
            .ok_or(EmulatorError::NoWebhook)?;
        let url = if webhook.card_url.is_empty() {
            webhook.url.clone()
        } else {
            webhook.card_url.clone()
        };
        let user = state
            .user_by("open_id", user)
            .ok_or_else(|| EmulatorError::UnknownUser(user.to_owned()))?;
        let body = json!({
            "open_id": user.open_id,
            "user_id": user.user_id,
            "open_message_id": message.message_id,
            "open_chat_id": message.chat_id,
            "tenant_key": state.tenant_key(),
            "token": callback_token(),
            "action": { "value": value, "tag": "button", "option": "", "timezone": "" },
        });
        (url, webhook.verification_token, body.to_string())
    };
    let timestamp = now_secs().to_string();
    let nonce = random_hex::<8>();
    let signature = sign_legacy_card(&timestamp, &nonce, &token, body.as_bytes());
    let signed = crate::events::Signed {
        body: Bytes::from(body),
        headers: vec![
            ("content-type", "application/json; charset=utf-8".to_owned()),
            ("x-lark-request-timestamp", timestamp),
            ("x-lark-request-nonce", nonce),
            ("x-lark-signature", signature),
        ],
    };
    let (status, answer) = post(&http_client(), &url, &signed, Duration::from_secs(3))
        .await
        .map_err(EmulatorError::Callback)?;
    apply_card_answer(shared, message_id, status.as_u16(), &answer, true)
}

/// Sends the `url_verification` challenge and checks the echo.
pub(crate) async fn verify_url(shared: &Shared) -> Result<(), EmulatorError> {
    let webhook = shared
        .state()
        .config
        .webhook
        .clone()
        .ok_or(EmulatorError::NoWebhook)?;
    let challenge = random_hex::<12>();
    let payload = json!({ "challenge": challenge, "token": webhook.verification_token, "type": "url_verification" });
    let mut signed = seal(&payload, &webhook.encrypt_key);
    // The platform does not sign the challenge.
    signed
        .headers
        .retain(|(name, _)| *name != "x-lark-signature");
    let (status, body) = post(
        &http_client(),
        &webhook.url,
        &signed,
        Duration::from_secs(1),
    )
    .await
    .map_err(EmulatorError::Callback)?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status.as_u16() == 200
        && answer.get("challenge").and_then(Value::as_str) == Some(challenge.as_str())
    {
        Ok(())
    } else {
        Err(EmulatorError::Callback(format!(
            "the challenge was not echoed: HTTP {status}, body {answer}"
        )))
    }
}

/// Queues every emitted event with this id again, as a deliberate duplicate.
pub(crate) fn redeliver(shared: &Shared, event_id: &str) -> bool {
    let event = shared
        .state()
        .emitted
        .iter()
        .find(|e| e.event_id == event_id)
        .cloned();
    let Some(event) = event else { return false };
    shared.events.emit(Outgoing {
        app_id: event.app_id,
        event_id: event.event_id,
        event_type: event.event_type,
        payload: event.payload,
        duplicates: 0,
        redelivery: true,
    });
    true
}
