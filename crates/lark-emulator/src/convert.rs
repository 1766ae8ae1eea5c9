//! What the platform does to content on the way in: it checks it against the documented limits
//! and rules, and turns it into the form readers get back — mentions in text and posts become
//! `@_user_N` placeholders, posts lose their locale wrapper, and cards read back in a simplified
//! rendering unless the original is asked for.

use crate::codes::messages::{
    BOT_NOT_IN_CHAT, INVALID_PARAM, NOT_RESOURCE_OWNER, P2P_NOT_SHAREABLE, UPLOAD_TYPE_MISMATCH,
};
use crate::rules;
use crate::server::Fail;
use crate::state::{Author, ChatMode, MentionRec, State};
use serde_json::{Map, Value, json};

/// Content accepted for storage.
pub(crate) struct Accepted {
    pub(crate) content: String,
    pub(crate) mentions: Vec<MentionRec>,
}

/// Checks `content` for `msg_type` as the send, reply and edit endpoints do, and returns the
/// form that is stored. `body_len` is the size of the request body, which is what the
/// platform's size limits measure.
pub(crate) fn accept(
    state: &State,
    app_id: &str,
    chat_id: &str,
    msg_type: &str,
    content: &str,
    body_len: usize,
) -> Result<Accepted, Fail> {
    let checked = rules::check(msg_type, content)?;
    rules::check_body_size(msg_type, body_len)?;
    check_references(state, app_id, chat_id, msg_type, &checked.object)?;
    Ok(match msg_type {
        "text" => {
            let text = checked
                .object
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (converted, mentions) = text_placeholders(state, text);
            let mut stored = checked.object.clone();
            stored.insert("text".to_owned(), Value::String(converted));
            Accepted {
                content: Value::Object(stored).to_string(),
                mentions,
            }
        }
        "post" => {
            let (flat, mentions) = post_placeholders(state, &checked.object);
            Accepted {
                content: flat.to_string(),
                mentions,
            }
        }
        _ => Accepted {
            content: content.to_owned(),
            mentions: Vec::new(),
        },
    })
}

/// Resources and chats the content points at must exist and be the bot's to use.
fn check_references(
    state: &State,
    app_id: &str,
    chat_id: &str,
    msg_type: &str,
    content: &Map<String, Value>,
) -> Result<(), Fail> {
    let key = |name: &str| {
        content
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let owned_file = |key: &str, needed: Option<&str>| -> Result<(), Fail> {
        let Some(blob) = state.files.get(key) else {
            return Err(Fail::bad_request(
                NOT_RESOURCE_OWNER,
                format!("file_key {key} was not uploaded by this bot"),
            ));
        };
        if blob.owner.as_deref() != Some(app_id) {
            return Err(Fail::bad_request(
                NOT_RESOURCE_OWNER,
                format!("the bot is not the owner of {key}"),
            ));
        }
        if let Some(needed) = needed
            && blob.kind != needed
        {
            return Err(Fail::bad_request(
                UPLOAD_TYPE_MISMATCH,
                format!(
                    "The type of file upload does not match the type of message being sent: uploaded as {}, needs {needed}",
                    blob.kind
                ),
            ));
        }
        Ok(())
    };
    let known_image = |key: &str| -> Result<(), Fail> {
        if state.images.contains_key(key) {
            Ok(())
        } else {
            Err(Fail::field(
                INVALID_PARAM,
                "image_key",
                format!("{key} does not exist; upload the image first"),
            ))
        }
    };
    match msg_type {
        "image" => known_image(key("image_key")),
        "file" => owned_file(key("file_key"), None),
        "audio" => owned_file(key("file_key"), Some("opus")),
        "media" => {
            owned_file(key("file_key"), Some("mp4"))?;
            match content.get("image_key").and_then(Value::as_str) {
                Some(cover) if !cover.is_empty() => known_image(cover),
                _ => Ok(()),
            }
        }
        "share_chat" => {
            let Some(shared_chat) = state.chats.get(key("chat_id")) else {
                return Err(Fail::field(INVALID_PARAM, "chat_id", "does not exist"));
            };
            if shared_chat.mode == ChatMode::P2p {
                return Err(Fail::bad_request(
                    P2P_NOT_SHAREABLE,
                    "P2P chat can NOT be shared.",
                ));
            }
            if !shared_chat.has_bot(app_id) {
                return Err(Fail::bad_request(
                    BOT_NOT_IN_CHAT,
                    "The bot can not be outside the group.",
                ));
            }
            Ok(())
        }
        "share_user" => state
            .user_by("open_id", key("user_id"))
            .map(drop)
            .ok_or_else(|| Fail::field(INVALID_PARAM, "user_id", "is not the open_id of a user")),
        "system" => {
            if state
                .chats
                .get(chat_id)
                .is_some_and(|chat| chat.mode == ChatMode::P2p)
            {
                Ok(())
            } else {
                Err(Fail::field(
                    INVALID_PARAM,
                    "msg_type",
                    "system messages can only be sent in a p2p chat",
                ))
            }
        }
        _ => Ok(()),
    }
}

/// Who `<at user_id="…">` names: a user by any id, a bot by its open_id, or everyone.
fn resolve(state: &State, id: &str, name: &str) -> Option<(Author, String)> {
    if let Some(user) = state.user_by_any(id) {
        return Some((Author::User(user.open_id.clone()), user.name.clone()));
    }
    if let Some(app) = state.app_by_bot_open_id(id).or_else(|| state.apps.get(id)) {
        let name = if name.is_empty() {
            app.config.bot_name.clone()
        } else {
            name.to_owned()
        };
        return Some((Author::Bot(app.config.app_id.clone()), name));
    }
    None
}

/// Replaces `<at user_id="…">name</at>` with `@_user_N` (and `user_id="all"` with `@_all`).
pub(crate) fn text_placeholders(state: &State, text: &str) -> (String, Vec<MentionRec>) {
    const OPEN: &str = "<at user_id=\"";
    let mut out = String::with_capacity(text.len());
    let mut mentions: Vec<MentionRec> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let parsed = after.split_once('"').and_then(|(id, tail)| {
            let tail = tail.strip_prefix('>')?;
            let (name, tail) = tail.split_once("</at>")?;
            Some((id, name, tail))
        });
        let Some((id, name, tail)) = parsed else {
            out.push_str(&rest[start..start + OPEN.len()]);
            rest = after;
            continue;
        };
        if id == "all" {
            out.push_str("@_all");
        } else if let Some((target, resolved_name)) = resolve(state, id, name) {
            let key = format!("@_user_{}", mentions.len() + 1);
            out.push_str(&key);
            mentions.push(MentionRec {
                key,
                target,
                name: resolved_name,
            });
        } else {
            out.push_str(&rest[start..start + OPEN.len() + (after.len() - tail.len())]);
        }
        rest = tail;
    }
    out.push_str(rest);
    (out, mentions)
}

/// A post in its received form: one locale's body, flattened, with `at` elements as
/// placeholders and `md` elements turned into text.
fn post_placeholders(state: &State, post: &Map<String, Value>) -> (Value, Vec<MentionRec>) {
    let has_content = |body: &&Value| body.get("content").is_some();
    let body = ["zh_cn", "en_us", "ja_jp"]
        .iter()
        .filter_map(|locale| post.get(*locale))
        .find(has_content)
        .or_else(|| post.values().find(has_content))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut mentions = Vec::new();
    let mut paragraphs = Vec::new();
    for paragraph in body
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut elements = Vec::new();
        for element in paragraph.as_array().into_iter().flatten() {
            let mut element = element.clone();
            match element.get("tag").and_then(Value::as_str) {
                Some("at") => {
                    let id = element
                        .get("user_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    if id != "all"
                        && let Some((target, name)) = resolve(state, &id, "")
                    {
                        let key = format!("@_user_{}", mentions.len() + 1);
                        element["user_id"] = Value::String(key.clone());
                        element["user_name"] = Value::String(name.clone());
                        mentions.push(MentionRec { key, target, name });
                    }
                }
                Some("md") => {
                    let text = element
                        .get("text")
                        .cloned()
                        .unwrap_or(Value::String(String::new()));
                    element = json!({ "tag": "text", "text": text });
                }
                _ => {}
            }
            elements.push(element);
        }
        paragraphs.push(Value::Array(elements));
    }
    let title = body
        .get("title")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    (json!({ "title": title, "content": paragraphs }), mentions)
}

/// A card as a reader sees it without `card_msg_content_type=user_card_content`: the title and
/// one line per component.
pub(crate) fn simplified_card(card: &str) -> String {
    let Ok(card) = serde_json::from_str::<Value>(card) else {
        return card.to_owned();
    };
    let title = card
        .pointer("/header/title/content")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    let elements = card
        .pointer("/body/elements")
        .or_else(|| card.get("elements"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut lines = Vec::new();
    for element in &elements {
        simplify(element, &mut lines);
    }
    json!({ "title": title, "elements": lines }).to_string()
}

fn text_of(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(object) => object
            .get("content")
            .cloned()
            .unwrap_or(Value::String(String::new())),
        None => Value::String(String::new()),
    }
}

fn simplify(element: &Value, lines: &mut Vec<Value>) {
    match element.get("tag").and_then(Value::as_str).unwrap_or("") {
        "div" => lines.push(json!([{ "tag": "text", "text": text_of(element.get("text")) }])),
        "markdown" => lines.push(json!([{ "tag": "text", "text": text_of(element.get("content")) }])),
        "hr" => lines.push(json!([{ "tag": "hr" }])),
        "img" => lines.push(json!([{ "tag": "img", "image_key": element.get("img_key").cloned().unwrap_or(Value::Null) }])),
        "button" => lines.push(json!([button(element)])),
        "action" => {
            let buttons: Vec<Value> = element
                .get("actions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|a| a.get("tag").and_then(Value::as_str) == Some("button"))
                .map(button)
                .collect();
            lines.push(Value::Array(buttons));
        }
        "column_set" | "column" | "form" | "note" => {
            for child in ["columns", "elements"]
                .iter()
                .filter_map(|key| element.get(key).and_then(Value::as_array))
                .flatten()
            {
                simplify(child, lines);
            }
        }
        _ => {}
    }
}

fn button(element: &Value) -> Value {
    json!({
        "tag": "button",
        "text": text_of(element.get("text")),
        "type": element.get("type").cloned().unwrap_or(Value::String("default".to_owned())),
    })
}
