//! `/open-apis/cardkit/v1/cards`: card entities (doc `…/cardkit-v1/card/…` and
//! `…/cardkit-v1/card-element/…`).
//!
//! The rules, each from those pages:
//! - an entity is card JSON 2.0 only (300303), shared (`update_multi` never false, 300302), at
//!   most 200 components (300305) and 30 KB (200860), with unique `element_id`s (300301);
//! - only the app that created it may operate on it or send it (300311);
//! - it lives 14 days (200750 after), and is sent once;
//! - every operation's `sequence` is higher than the last one's (300317);
//! - a `uuid` makes a repeat count once; the same uuid on another operation is 200770;
//! - streamed text goes to a `markdown` or `plain_text` component (300310) of a card whose
//!   streaming is on (300309);
//! - at most 10 operations a second on one card (the streaming guide's notes).
//!
//! Where the pages are silent (the refusal for the 10-a-second limit, when streaming closes by
//! itself, sending an entity twice) docs/protocol.md §10 says what the emulator does.

use super::auth::{Caller, authenticate};
use crate::codes::cardkit::{
    ADD_FAILED, DELETE_FAILED, DUPLICATE_ELEMENT_ID, EMPTY, EXPIRED, GENERATION_FAILED,
    INVALID_PARAM, NOT_FOUND, NOT_OWNED, NOT_SHARED, NOT_TEXT, PATCH_FAILED, REPLACE_FAILED,
    SCHEMA_NOT_2, SEQUENCE_OUT_OF_ORDER, STREAMING_CLOSED, STREAMING_TIMEOUT, TAG_CHANGED,
    TOO_LARGE, TOO_MANY_COMPONENTS, UUID_CONFLICT,
};
use crate::server::{Fail, Reply, Request, Shared};
use crate::state::State;
use crate::util::random_hex;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// How long an entity can be operated on: 14 days.
pub(crate) const CARD_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);
/// How long streaming stays on before the platform closes it (docs/protocol.md §10).
pub(crate) const STREAMING_TIMEOUT_AFTER: Duration = Duration::from_secs(10 * 60);
/// Operations a second on one card.
pub(crate) const OPS_PER_SECOND: usize = 10;
/// Largest card: 30 KB of JSON.
const CARD_MAX_BYTES: usize = 30 * 1024;
/// Most components in a card.
const COMPONENTS_MAX: usize = 200;
/// Longest streamed text, in characters.
const STREAM_TEXT_MAX: usize = 100_000;

/// A card entity.
#[derive(Clone, Debug)]
pub(crate) struct CardEntity {
    pub(crate) app_id: String,
    /// The card JSON 2.0 object, as it is now.
    pub(crate) card: Map<String, Value>,
    pub(crate) created: Instant,
    /// The highest sequence so far (0 before the first operation).
    pub(crate) sequence: u64,
    /// uuid → the operation it was used for.
    pub(crate) uuids: HashMap<String, String>,
    /// When streaming was last turned on, while it is on.
    pub(crate) streaming_since: Option<Instant>,
    /// The message it was sent as.
    pub(crate) message_id: Option<String>,
    /// When the last operations came, for the 10-a-second limit.
    pub(crate) recent: VecDeque<Instant>,
    /// Every operation that changed the card, oldest first.
    pub(crate) timeline: Vec<Value>,
}

impl CardEntity {
    fn new(app_id: &str, card: Map<String, Value>, now: Instant, now_ms: u64) -> Self {
        let mut entity = Self {
            app_id: app_id.to_owned(),
            card,
            created: now,
            sequence: 0,
            uuids: HashMap::new(),
            streaming_since: None,
            message_id: None,
            recent: VecDeque::new(),
            timeline: Vec::new(),
        };
        if entity.streaming_mode() {
            entity.streaming_since = Some(now);
        }
        entity.record("create", 0, now_ms);
        entity
    }

    fn streaming_mode(&self) -> bool {
        self.card
            .get("config")
            .and_then(|config| config.get("streaming_mode"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The text of the card's `markdown` and `plain_text` components, in order, one per line.
    pub(crate) fn text(&self) -> String {
        let mut out = Vec::new();
        if let Some(elements) = body_elements(&self.card) {
            collect_text(elements, &mut out);
        }
        out.join("\n")
    }

    fn record(&mut self, operation: &str, sequence: u64, at_ms: u64) {
        let entry = json!({
            "operation": operation,
            "sequence": sequence,
            "at_ms": at_ms,
            "streaming": self.streaming_mode(),
            "text": self.text(),
        });
        self.timeline.push(entry);
    }

    /// The inspection view: the card, its state and its timeline.
    pub(crate) fn to_json(&self, card_id: &str) -> Value {
        json!({
            "card_id": card_id,
            "app_id": self.app_id,
            "card": self.card,
            "sequence": self.sequence,
            "streaming": self.streaming_mode(),
            "message_id": self.message_id,
            "text": self.text(),
            "timeline": self.timeline,
        })
    }
}

fn collect_text(elements: &[Value], out: &mut Vec<String>) {
    for element in elements {
        let tag = element.get("tag").and_then(Value::as_str);
        if matches!(tag, Some("markdown" | "plain_text"))
            && let Some(content) = element.get("content").and_then(Value::as_str)
        {
            out.push(content.to_owned());
        }
        for key in ["elements", "columns", "actions"] {
            if let Some(Value::Array(children)) = element.get(key) {
                collect_text(children, out);
            }
        }
    }
}

fn body_elements(card: &Map<String, Value>) -> Option<&Vec<Value>> {
    card.get("body")?.get("elements")?.as_array()
}

/// The body's component list, made when missing; none when the card's body is not an object.
fn body_elements_mut(card: &mut Map<String, Value>) -> Option<&mut Vec<Value>> {
    let body = card
        .entry("body")
        .or_insert_with(|| json!({"elements": []}));
    body.as_object_mut()?
        .entry("elements")
        .or_insert_with(|| json!([]))
        .as_array_mut()
}

fn malformed() -> Fail {
    Fail::bad_request(GENERATION_FAILED, "Failed to generate card content")
}

pub(crate) fn route(shared: &Shared, request: &Request, rest: &[&str]) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    match (&request.method, rest) {
        (&Method::POST, []) => create(shared, request, &caller),
        (&Method::POST, ["id_convert"]) => id_convert(shared, request, &caller),
        (method, [card_id, rest @ ..]) => {
            let op = match (method, rest) {
                (&Method::PUT, []) => Op::Update,
                (&Method::PATCH, ["settings"]) => Op::Settings,
                (&Method::POST, ["batch_update"]) => Op::Batch,
                (&Method::POST, ["elements"]) => Op::Add,
                (&Method::PUT, ["elements", id]) => Op::Replace(id),
                (&Method::PATCH, ["elements", id]) => Op::Patch(id),
                (&Method::DELETE, ["elements", id]) => Op::Delete(id),
                (&Method::PUT, ["elements", id, "content"]) => Op::Stream(id),
                _ => return Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
            };
            operate(shared, request, &caller, card_id, &op)
        }
        _ => Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
    }
}

fn invalid(field: &'static str, description: impl Into<String>) -> Fail {
    Fail::field(INVALID_PARAM, field, description)
}

fn string_field<'a>(body: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, Fail> {
    match body.get(field) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        Some(Value::String(_) | Value::Null) | None => Err(invalid(field, "is required")),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

/// A field that holds JSON in a string, read.
fn json_string(body: &Map<String, Value>, field: &'static str) -> Result<Value, Fail> {
    let text = string_field(body, field)?;
    serde_json::from_str(text).map_err(|_| {
        Fail::bad_request(
            GENERATION_FAILED,
            format!("Failed to generate card content: `{field}` is not JSON"),
        )
    })
}

/// Checks a whole card against the entity rules.
fn check_card(card: &Map<String, Value>) -> Result<(), Fail> {
    if card.is_empty() {
        return Err(Fail::bad_request(EMPTY, "The card DSL is empty"));
    }
    if card.get("schema").and_then(Value::as_str) != Some("2.0") {
        return Err(Fail::bad_request(
            SCHEMA_NOT_2,
            "Only schema 2.0 is supported",
        ));
    }
    if card
        .get("config")
        .and_then(|config| config.get("update_multi"))
        .and_then(Value::as_bool)
        == Some(false)
    {
        return Err(Fail::bad_request(
            NOT_SHARED,
            "update_multi property is false",
        ));
    }
    let elements = body_elements(card).map_or(&[][..], Vec::as_slice);
    let count: usize = elements.iter().map(crate::rules::components).sum();
    if count > COMPONENTS_MAX {
        return Err(Fail::bad_request(
            TOO_MANY_COMPONENTS,
            "The number of card components exceeds 200",
        ));
    }
    let mut seen = HashSet::new();
    check_ids(elements, &mut seen)?;
    if Value::Object(card.clone()).to_string().len() > CARD_MAX_BYTES {
        return Err(Fail::bad_request(TOO_LARGE, "Card content exceeds limit."));
    }
    Ok(())
}

fn check_ids<'a>(elements: &'a [Value], seen: &mut HashSet<&'a str>) -> Result<(), Fail> {
    for element in elements {
        if let Some(id) = element.get("element_id").and_then(Value::as_str) {
            if !valid_element_id(id) {
                return Err(invalid(
                    "element_id",
                    "1 to 20 letters, digits or underscores, starting with a letter",
                ));
            }
            if !seen.insert(id) {
                return Err(Fail::bad_request(
                    DUPLICATE_ELEMENT_ID,
                    "Duplicate element_id in card component.",
                ));
            }
        }
        for key in ["elements", "columns", "actions"] {
            if let Some(Value::Array(children)) = element.get(key) {
                check_ids(children, seen)?;
            }
        }
    }
    Ok(())
}

fn valid_element_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.chars().count() <= 20
}

fn create(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let body = request.json()?;
    let kind = string_field(&body, "type")?;
    let card = match kind {
        "card_json" => match json_string(&body, "data")? {
            Value::Object(card) => card,
            _ => {
                return Err(Fail::bad_request(
                    GENERATION_FAILED,
                    "Failed to generate card content",
                ));
            }
        },
        "template" => template_card(&json_string(&body, "data")?)?,
        _ => return Err(invalid("type", "must be card_json or template")),
    };
    check_card(&card)?;
    let mut state = shared.state();
    let card_id = new_card_id();
    let entity = CardEntity::new(&caller.app_id, card, state.now(), state.now_millis());
    state.cards.insert(card_id.clone(), entity);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(json!({ "card_id": card_id })))
}

/// A template entity: the emulator holds no card builder, so the card shows the template's id
/// and variables as text.
fn template_card(data: &Value) -> Result<Map<String, Value>, Fail> {
    let id = data
        .get("template_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Fail::bad_request(GENERATION_FAILED, "Failed to generate card content"))?;
    let variables = data.get("template_variable").cloned().unwrap_or(json!({}));
    match json!({
        "schema": "2.0",
        "config": {"update_multi": true},
        "body": {"elements": [{"tag": "markdown", "content": format!("template {id} {variables}")}]},
    }) {
        Value::Object(card) => Ok(card),
        _ => Err(Fail::bad_request(
            GENERATION_FAILED,
            "Failed to generate card content",
        )),
    }
}

/// Card entity ids are 19 digits.
fn new_card_id() -> String {
    let hex = random_hex::<8>();
    let number = u64::from_str_radix(&hex, 16).unwrap_or(0) % 9_000_000_000_000_000_000;
    format!("{}", 1_000_000_000_000_000_000 + number)
}

fn id_convert(shared: &Shared, request: &Request, caller: &Caller) -> Result<Reply, Fail> {
    let body = request.json()?;
    let message_id = string_field(&body, "message_id")?.to_owned();
    let mut state = shared.state();
    let message = state
        .messages
        .get(&message_id)
        .cloned()
        .ok_or_else(|| invalid("message_id", format!("{message_id} does not exist")))?;
    if message.msg_type != "interactive" {
        return Err(invalid("message_id", "is not a card message"));
    }
    if let Some((card_id, _)) = state
        .cards
        .iter()
        .find(|(_, entity)| entity.message_id.as_deref() == Some(message_id.as_str()))
    {
        return Ok(Reply::data(json!({ "card_id": card_id })));
    }
    let is_own = matches!(&message.author, crate::state::Author::Bot(app) if *app == caller.app_id);
    if !is_own {
        return Err(Fail::bad_request(
            NOT_OWNED,
            "The current application does not have permission to update/use this card",
        ));
    }
    let card = match serde_json::from_str::<Value>(&message.content) {
        Ok(Value::Object(card)) if card.get("schema").and_then(Value::as_str) == Some("2.0") => {
            card
        }
        _ => {
            return Err(Fail::bad_request(
                SCHEMA_NOT_2,
                "Only schema 2.0 is supported",
            ));
        }
    };
    let card_id = new_card_id();
    let mut entity = CardEntity::new(&caller.app_id, card, state.now(), state.now_millis());
    entity.message_id = Some(message_id);
    state.cards.insert(card_id.clone(), entity);
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::data(json!({ "card_id": card_id })))
}

enum Op<'a> {
    Update,
    Settings,
    Batch,
    Add,
    Replace(&'a str),
    Patch(&'a str),
    Delete(&'a str),
    Stream(&'a str),
}

impl Op<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::Update => "update",
            Self::Settings => "settings",
            Self::Batch => "batch_update",
            Self::Add => "add_elements",
            Self::Replace(_) => "replace_element",
            Self::Patch(_) => "patch_element",
            Self::Delete(_) => "delete_element",
            Self::Stream(_) => "stream_text",
        }
    }
}

fn operate(
    shared: &Shared,
    request: &Request,
    caller: &Caller,
    card_id: &str,
    op: &Op<'_>,
) -> Result<Reply, Fail> {
    let body = request.json()?;
    let sequence = match body.get("sequence") {
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| (1..=2_147_483_647).contains(n))
            .ok_or_else(|| invalid("sequence", "must be an integer from 1 to 2147483647"))?,
        None | Some(Value::Null) => return Err(invalid("sequence", "is required")),
        Some(_) => return Err(invalid("sequence", "must be an integer")),
    };
    let uuid = match body.get("uuid") {
        Some(Value::String(uuid)) if !uuid.is_empty() => {
            if uuid.chars().count() > 64 {
                return Err(invalid("uuid", "must be 1 to 64 characters"));
            }
            Some(uuid.clone())
        }
        _ => None,
    };
    let mut state = shared.state();
    let now = state.now();
    let now_ms = state.now_millis();
    let entity = usable_entity(&mut state, caller, card_id, now)?;
    // A repeat of an operation already done counts once; its uuid on another is a conflict.
    let fingerprint = format!(
        "{} {} {}",
        request.method,
        request.path,
        String::from_utf8_lossy(&request.body)
    );
    if let Some(uuid) = &uuid
        && let Some(done) = entity.uuids.get(uuid)
    {
        if *done == fingerprint {
            return Ok(Reply::empty());
        }
        return Err(Fail::bad_request(UUID_CONFLICT, "UUID conflict"));
    }
    // At most 10 operations a second on one card; a refused operation is not counted.
    while entity
        .recent
        .front()
        .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
    {
        entity.recent.pop_front();
    }
    if entity.recent.len() >= OPS_PER_SECOND {
        state.card_rate_refusals += 1;
        return Err(Fail::rate_limited(OPS_PER_SECOND as u64, 1));
    }
    if sequence <= entity.sequence {
        return Err(Fail::bad_request(
            SEQUENCE_OUT_OF_ORDER,
            "The sequence number for operating on the card did not increment consecutively",
        ));
    }
    if entity
        .streaming_since
        .is_some_and(|since| now.duration_since(since) >= STREAMING_TIMEOUT_AFTER)
    {
        close_streaming(&mut entity.card);
        entity.streaming_since = None;
        if matches!(op, Op::Stream(_)) {
            return Err(Fail::bad_request(
                STREAMING_TIMEOUT,
                "Card streaming timeout",
            ));
        }
    }
    let mut card = entity.card.clone();
    apply(&mut card, op, &body, entity.streaming_mode())?;
    if !matches!(op, Op::Stream(_)) {
        check_card(&card)?;
    } else if Value::Object(card.clone()).to_string().len() > CARD_MAX_BYTES {
        return Err(Fail::bad_request(TOO_LARGE, "Card content exceeds limit."));
    }
    let was_streaming = entity.streaming_mode();
    entity.card = card;
    match (was_streaming, entity.streaming_mode()) {
        (false, true) => entity.streaming_since = Some(now),
        (_, false) => entity.streaming_since = None,
        _ => {}
    }
    entity.sequence = sequence;
    entity.recent.push_back(now);
    if let Some(uuid) = uuid {
        entity.uuids.insert(uuid, fingerprint);
    }
    entity.record(op.name(), sequence, now_ms);
    if let Some(message_id) = entity.message_id.clone()
        && let Some(message) = state.messages.get_mut(&message_id)
    {
        message.update_ms = now_ms;
    }
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::empty())
}

/// The entity, if it exists, is the caller's and has not expired.
fn usable_entity<'a>(
    state: &'a mut State,
    caller: &Caller,
    card_id: &str,
    now: Instant,
) -> Result<&'a mut CardEntity, Fail> {
    let entity = state
        .cards
        .get_mut(card_id)
        .ok_or_else(|| Fail::bad_request(NOT_FOUND, "The card entity does not exist"))?;
    if now.duration_since(entity.created) >= CARD_LIFETIME {
        return Err(Fail::bad_request(EXPIRED, "The card entity has expired"));
    }
    if entity.app_id != caller.app_id {
        return Err(Fail::bad_request(
            NOT_OWNED,
            "The current application does not have permission to update/use this card",
        ));
    }
    Ok(entity)
}

fn close_streaming(card: &mut Map<String, Value>) {
    if let Some(Value::Object(config)) = card.get_mut("config") {
        config.insert("streaming_mode".to_owned(), Value::Bool(false));
    }
}

fn apply(
    card: &mut Map<String, Value>,
    op: &Op<'_>,
    body: &Map<String, Value>,
    streaming: bool,
) -> Result<(), Fail> {
    match op {
        Op::Update => {
            let Some(Value::Object(wrapper)) = body.get("card") else {
                return Err(invalid("card", "is required"));
            };
            if wrapper.get("type").and_then(Value::as_str) != Some("card_json") {
                return Err(invalid("card.type", "must be card_json"));
            }
            match json_string(wrapper, "data")? {
                Value::Object(new) => *card = new,
                _ => {
                    return Err(Fail::bad_request(
                        GENERATION_FAILED,
                        "Failed to generate card content",
                    ));
                }
            }
        }
        Op::Settings => apply_settings(card, &json_string(body, "settings")?)?,
        Op::Batch => {
            let Value::Array(actions) = json_string(body, "actions")? else {
                return Err(invalid("actions", "must be a list"));
            };
            if actions.is_empty() {
                return Err(invalid("actions", "is empty"));
            }
            for action in &actions {
                apply_action(card, action)?;
            }
        }
        Op::Add => {
            let Value::Array(elements) = json_string(body, "elements")? else {
                return Err(invalid("elements", "must be a list"));
            };
            let kind = string_field(body, "type")?;
            let target = body
                .get("target_element_id")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty());
            add_elements(card, kind, target, elements)?;
        }
        Op::Replace(id) => {
            let element = json_string(body, "element")?;
            replace_element(card, id, element)?;
        }
        Op::Patch(id) => {
            let Value::Object(partial) = json_string(body, "partial_element")? else {
                return Err(invalid("partial_element", "must be an object"));
            };
            patch_element(card, id, &partial)?;
        }
        Op::Delete(id) => {
            if !remove_element(body_elements_mut(card).ok_or_else(malformed)?, id) {
                return Err(Fail::bad_request(DELETE_FAILED, "Failed to delete element"));
            }
        }
        Op::Stream(id) => {
            let content = string_field(body, "content")?;
            if content.chars().count() > STREAM_TEXT_MAX {
                return Err(invalid("content", "must be 1 to 100000 characters"));
            }
            let element = find_element(body_elements_mut(card).ok_or_else(malformed)?, id)
                .ok_or_else(|| invalid("element_id", format!("{id} is not in the card")))?;
            if !matches!(
                element.get("tag").and_then(Value::as_str),
                Some("markdown" | "plain_text")
            ) {
                return Err(Fail::bad_request(NOT_TEXT, "Only update text"));
            }
            if !streaming {
                return Err(Fail::bad_request(STREAMING_CLOSED, "Card streaming closed"));
            }
            element.insert("content".to_owned(), Value::String(content.to_owned()));
        }
    }
    Ok(())
}

fn apply_settings(card: &mut Map<String, Value>, settings: &Value) -> Result<(), Fail> {
    let Value::Object(settings) = settings else {
        return Err(invalid("settings", "must be an object"));
    };
    for (key, value) in settings {
        match (key.as_str(), value) {
            ("config", Value::Object(changes)) => {
                let config = card.entry("config").or_insert_with(|| json!({}));
                if let Value::Object(config) = config {
                    for (name, value) in changes {
                        config.insert(name.clone(), value.clone());
                    }
                }
            }
            ("card_link", Value::Object(_)) => {
                card.insert("card_link".to_owned(), value.clone());
            }
            _ => return Err(invalid("settings", format!("`{key}` is not a setting"))),
        }
    }
    Ok(())
}

fn apply_action(card: &mut Map<String, Value>, action: &Value) -> Result<(), Fail> {
    let name = action
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let params = action
        .get("params")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("actions", "each action needs `params`"))?;
    match name {
        "partial_update_setting" => {
            apply_settings(card, params.get("settings").unwrap_or(&Value::Null))
        }
        "add_elements" => {
            let kind = params
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let target = params
                .get("target_element_id")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty());
            let Some(Value::Array(elements)) = params.get("elements") else {
                return Err(invalid("actions", "add_elements needs `elements`"));
            };
            add_elements(card, kind, target, elements.clone())
        }
        "delete_elements" => {
            let Some(Value::Array(ids)) = params.get("element_ids") else {
                return Err(invalid("actions", "delete_elements needs `element_ids`"));
            };
            for id in ids {
                let id = id.as_str().unwrap_or_default();
                if !remove_element(body_elements_mut(card).ok_or_else(malformed)?, id) {
                    return Err(Fail::bad_request(DELETE_FAILED, "Failed to delete element"));
                }
            }
            Ok(())
        }
        "partial_update_element" => {
            let id = params
                .get("element_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(Value::Object(partial)) = params.get("partial_element") else {
                return Err(invalid(
                    "actions",
                    "partial_update_element needs `partial_element`",
                ));
            };
            patch_element(card, id, partial)
        }
        "update_element" => {
            let id = params
                .get("element_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let element = params.get("element").cloned().unwrap_or(Value::Null);
            replace_element(card, id, element)
        }
        other => Err(invalid("actions", format!("`{other}` is not an action"))),
    }
}

fn add_elements(
    card: &mut Map<String, Value>,
    kind: &str,
    target: Option<&str>,
    elements: Vec<Value>,
) -> Result<(), Fail> {
    if elements.is_empty() || !elements.iter().all(Value::is_object) {
        return Err(invalid("elements", "must be a list of components"));
    }
    let failed = || Fail::bad_request(ADD_FAILED, "Failed to add element");
    let list = body_elements_mut(card).ok_or_else(malformed)?;
    match (kind, target) {
        ("append", None) => list.extend(elements),
        ("append", Some(target)) => {
            let container = find_element(list, target).ok_or_else(failed)?;
            match container.get_mut("elements") {
                Some(Value::Array(children)) => children.extend(elements),
                _ => return Err(failed()),
            }
        }
        ("insert_before" | "insert_after", Some(target)) => {
            let after = kind == "insert_after";
            if !insert_beside(list, target, after, &elements) {
                return Err(failed());
            }
        }
        ("insert_before" | "insert_after", None) => {
            return Err(invalid(
                "target_element_id",
                "is required to insert before or after",
            ));
        }
        _ => {
            return Err(invalid(
                "type",
                "must be insert_before, insert_after or append",
            ));
        }
    }
    Ok(())
}

fn insert_beside(list: &mut Vec<Value>, target: &str, after: bool, elements: &[Value]) -> bool {
    if let Some(index) = list
        .iter()
        .position(|e| e.get("element_id").and_then(Value::as_str) == Some(target))
    {
        let at = if after { index + 1 } else { index };
        list.splice(at..at, elements.iter().cloned());
        return true;
    }
    list.iter_mut().any(|element| {
        ["elements", "columns"]
            .iter()
            .any(|key| match element.get_mut(*key) {
                Some(Value::Array(children)) => insert_beside(children, target, after, elements),
                _ => false,
            })
    })
}

fn find_element<'a>(list: &'a mut [Value], id: &str) -> Option<&'a mut Map<String, Value>> {
    for element in list.iter_mut() {
        let Value::Object(map) = element else {
            continue;
        };
        if map.get("element_id").and_then(Value::as_str) == Some(id) {
            return Some(map);
        }
        let holder = ["elements", "columns", "actions"].into_iter().find(|key| {
            map.get(*key)
                .and_then(Value::as_array)
                .is_some_and(|children| holds(children, id))
        });
        if let Some(key) = holder {
            return map
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .and_then(|children| find_element(children, id));
        }
    }
    None
}

fn holds(list: &[Value], id: &str) -> bool {
    list.iter().any(|element| {
        element.get("element_id").and_then(Value::as_str) == Some(id)
            || ["elements", "columns", "actions"].into_iter().any(|key| {
                element
                    .get(key)
                    .and_then(Value::as_array)
                    .is_some_and(|children| holds(children, id))
            })
    })
}

fn remove_element(list: &mut Vec<Value>, id: &str) -> bool {
    let before = list.len();
    list.retain(|e| e.get("element_id").and_then(Value::as_str) != Some(id));
    if list.len() != before {
        return true;
    }
    list.iter_mut().any(|element| {
        ["elements", "columns", "actions"]
            .iter()
            .any(|key| match element.get_mut(*key) {
                Some(Value::Array(children)) => remove_element(children, id),
                _ => false,
            })
    })
}

fn replace_element(card: &mut Map<String, Value>, id: &str, element: Value) -> Result<(), Fail> {
    let Value::Object(mut new) = element else {
        return Err(invalid("element", "must be a component"));
    };
    let old = find_element(body_elements_mut(card).ok_or_else(malformed)?, id)
        .ok_or_else(|| Fail::bad_request(REPLACE_FAILED, "Failed to replace element"))?;
    new.entry("element_id")
        .or_insert_with(|| Value::String(id.to_owned()));
    *old = new;
    Ok(())
}

fn patch_element(
    card: &mut Map<String, Value>,
    id: &str,
    partial: &Map<String, Value>,
) -> Result<(), Fail> {
    if partial.contains_key("tag") {
        return Err(Fail::bad_request(
            TAG_CHANGED,
            "Unable to update element tag",
        ));
    }
    let element = find_element(body_elements_mut(card).ok_or_else(malformed)?, id)
        .ok_or_else(|| Fail::bad_request(PATCH_FAILED, "Failed to update element properties"))?;
    for (key, value) in partial {
        element.insert(key.clone(), value.clone());
    }
    Ok(())
}

/// Checks an `interactive` message that refers to a card entity: the entity exists, is the
/// sender's, has not expired and was not sent before.
pub(crate) fn check_send(state: &State, app_id: &str, card_id: &str) -> Result<(), Fail> {
    let failed = |detail: &str| {
        Fail::bad_request(
            crate::codes::messages::CARD_FAILED,
            format!("Failed to create card content, ext=ErrCode: {detail}"),
        )
    };
    let entity = state
        .cards
        .get(card_id)
        .ok_or_else(|| failed("200740; ErrMsg: The card entity does not exist"))?;
    if entity.app_id != app_id {
        return Err(failed(
            "300311; ErrMsg: The current application does not have permission to update/use this card",
        ));
    }
    if state.now().duration_since(entity.created) >= CARD_LIFETIME {
        return Err(failed("200750; ErrMsg: The card entity has expired"));
    }
    if entity.message_id.is_some() {
        return Err(failed(
            "the card entity has been sent already; an entity is sent once",
        ));
    }
    Ok(())
}

/// The card entity an `interactive` content refers to, if it does.
pub(crate) fn referenced_entity(msg_type: &str, content: &str) -> Option<String> {
    if msg_type != "interactive" {
        return None;
    }
    let value: Value = serde_json::from_str(content).ok()?;
    if value.get("type").and_then(Value::as_str) != Some("card") {
        return None;
    }
    value
        .get("data")?
        .get("card_id")?
        .as_str()
        .map(str::to_owned)
}

/// Records that `card_id` was sent as `message_id`.
pub(crate) fn mark_sent(state: &mut State, card_id: &str, message_id: &str) {
    if let Some(entity) = state.cards.get_mut(card_id) {
        entity.message_id = Some(message_id.to_owned());
    }
}
