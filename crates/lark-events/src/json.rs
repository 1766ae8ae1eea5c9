//! Events as JSON for people and scripts to read (`lark event decode`, `lark listen`, logs):
//! the typed fields, content decoded, secrets left out.

use crate::card::{CardAction, CardCallbackKind};
use crate::receive::Incoming;
use crate::types::{Event, EventEnvelope, EventHeader, MessageReceived, Schema};
use serde_json::{Map, Value, json};

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn header_json(header: &EventHeader) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "schema".to_owned(),
        Value::from(match header.schema {
            Schema::V2 => "2.0",
            Schema::V1 => "1.0",
        }),
    );
    out.insert("event_id".to_owned(), Value::from(header.event_id.as_str()));
    out.insert(
        "event_type".to_owned(),
        Value::from(header.event_type.as_str()),
    );
    out.insert("create_time".to_owned(), to_value(&header.create_time));
    out.insert("tenant_key".to_owned(), to_value(&header.tenant_key));
    out.insert("app_id".to_owned(), to_value(&header.app_id));
    out
}

fn received_json(received: &MessageReceived) -> Value {
    let message = &received.message;
    let content = serde_json::from_str::<Value>(&message.content().encode()).unwrap_or(Value::Null);
    json!({
        "sender": to_value(&received.sender),
        "message": {
            "message_id": message.message_id,
            "root_id": message.root_id,
            "parent_id": message.parent_id,
            "thread_id": message.thread_id,
            "create_time": message.create_time,
            "update_time": message.update_time,
            "chat_id": message.chat_id,
            "chat_type": message.chat_type.as_ref().map(|t| t.as_str().to_owned()),
            "message_type": message.message_type,
            "content": content,
            "text": message.text(),
            "content_error": message.content_error(),
            "mentions": message.mentions(),
            "user_agent": message.user_agent,
        }
    })
}

impl Event {
    /// The event's body as JSON: typed fields, a received message's content decoded from its
    /// string, an app ticket redacted.
    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            Self::MessageReceived(received) => received_json(received),
            Self::MessageRead(e) => to_value(e),
            Self::MessageRecalled(e) => to_value(e),
            Self::ReactionCreated(e) | Self::ReactionDeleted(e) => to_value(e),
            Self::ChatMemberUserAdded(e)
            | Self::ChatMemberUserDeleted(e)
            | Self::ChatMemberUserWithdrawn(e) => to_value(e),
            Self::BotAdded(e) | Self::BotDeleted(e) | Self::ChatDisbanded(e) => to_value(e),
            Self::ChatUpdated(e) => to_value(e),
            Self::BotP2pChatEntered(e) => to_value(e),
            Self::AppTicket(ticket) => json!({"app_id": ticket.app_id, "app_ticket": "<redacted>"}),
            Self::Malformed { raw, .. } | Self::Unknown { raw, .. } => raw.clone(),
        }
    }

    /// Whether the event is of a type this crate reads into a typed variant.
    #[must_use]
    pub fn is_typed(&self) -> bool {
        !matches!(self, Self::Unknown { .. } | Self::Malformed { .. })
    }
}

impl EventEnvelope {
    /// The event as JSON: `{"kind":"event","schema","event_id","event_type",…,"typed","event"}`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("kind".to_owned(), Value::from("event"));
        out.extend(header_json(&self.header));
        out.insert("typed".to_owned(), Value::from(self.event.is_typed()));
        out.insert("event".to_owned(), self.event.to_json());
        Value::Object(out)
    }
}

impl CardAction {
    /// The callback as JSON: who clicked what, where. Tokens are left out.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("kind".to_owned(), Value::from("card_action"));
        out.insert(
            "callback".to_owned(),
            Value::from(match self.kind {
                CardCallbackKind::Trigger => "card.action.trigger",
                CardCallbackKind::Legacy => "card.action.trigger_v1",
            }),
        );
        if let Some(header) = &self.header {
            out.extend(header_json(header));
        }
        out.insert("operator".to_owned(), to_value(&self.operator));
        out.insert("action".to_owned(), to_value(&self.action));
        out.insert("context".to_owned(), to_value(&self.context));
        out.insert("host".to_owned(), to_value(&self.host));
        Value::Object(out)
    }
}

impl Incoming {
    /// The delivery as JSON: a challenge, an event ([`EventEnvelope::to_json`]) or a card
    /// callback ([`CardAction::to_json`]).
    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            Self::Challenge(challenge) => {
                json!({"kind": "challenge", "challenge": challenge.challenge})
            }
            Self::Event(event) => event.to_json(),
            Self::CardAction(action) => action.to_json(),
        }
    }
}
