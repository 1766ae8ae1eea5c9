//! Typed events: one struct per known IM event, and [`Event::Unknown`] for the rest.

use lark_content::{
    AppId, ChatId, ContentError, EventId, Mention, MessageContent, MessageId, OpenId, Segment,
    TenantKey, ThreadId, UserIds,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

/// Which envelope an event came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Schema {
    /// `{"schema":"2.0","header":{…},"event":{…}}`
    V2,
    /// `{"ts","uuid","token","type":"event_callback","event":{…}}`
    V1,
}

/// What every event carries, whichever envelope it came in. The verification token is checked
/// and not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventHeader {
    /// The delivery's id: `header.event_id` (v2) or `uuid` (v1). Retries keep it.
    pub event_id: EventId,
    /// The event type: `header.event_type` (v2) or `event.type` (v1).
    pub event_type: String,
    /// When the event happened, as the platform wrote it (milliseconds or microseconds in
    /// v2, `seconds.fraction` in v1).
    pub create_time: Option<String>,
    /// The tenant.
    pub tenant_key: Option<TenantKey>,
    /// The app.
    pub app_id: Option<AppId>,
    /// The envelope.
    pub schema: Schema,
}

/// An event with its header.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EventEnvelope {
    /// The header.
    pub header: EventHeader,
    /// The event.
    pub event: Event,
}

impl EventEnvelope {
    /// The keys to deduplicate this delivery by: the event id, and for received messages the
    /// message id too, which the platform advises for `im.message.receive_v1`.
    #[must_use]
    pub fn dedup_keys(&self) -> Vec<String> {
        self.keys()
            .into_iter()
            .flatten()
            .map(|key| key.as_str().to_owned())
            .collect()
    }

    /// [`dedup_keys`](Self::dedup_keys), without allocating.
    pub(crate) fn keys(&self) -> [Option<crate::dedup::DedupKey>; 2] {
        use crate::dedup::DedupKey;
        [
            Some(DedupKey::new("event", self.header.event_id.as_str())),
            match &self.event {
                Event::MessageReceived(received) => Some(DedupKey::new(
                    "message",
                    received.message.message_id.as_str(),
                )),
                _ => None,
            },
        ]
    }
}

/// An event.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `im.message.receive_v1`
    MessageReceived(Box<MessageReceived>),
    /// `im.message.message_read_v1`
    MessageRead(MessageRead),
    /// `im.message.recalled_v1`
    MessageRecalled(MessageRecalled),
    /// `im.message.reaction.created_v1`
    ReactionCreated(ReactionEvent),
    /// `im.message.reaction.deleted_v1`
    ReactionDeleted(ReactionEvent),
    /// `im.chat.member.user.added_v1`
    ChatMemberUserAdded(ChatMemberUserEvent),
    /// `im.chat.member.user.deleted_v1`
    ChatMemberUserDeleted(ChatMemberUserEvent),
    /// `im.chat.member.user.withdrawn_v1`
    ChatMemberUserWithdrawn(ChatMemberUserEvent),
    /// `im.chat.member.bot.added_v1`
    BotAdded(ChatEvent),
    /// `im.chat.member.bot.deleted_v1`
    BotDeleted(ChatEvent),
    /// `im.chat.disbanded_v1`
    ChatDisbanded(ChatEvent),
    /// `im.chat.updated_v1`
    ChatUpdated(ChatUpdated),
    /// `im.chat.access_event.bot_p2p_chat_entered_v1`
    BotP2pChatEntered(BotP2pChatEntered),
    /// `app_ticket` (v1): a marketplace app's hourly ticket.
    AppTicket(AppTicket),
    /// An event of a type this crate reads whose `event` object did not read as documented:
    /// kept whole, with why, and logged at warn level. It reaches `on_event`, never the typed
    /// handlers.
    Malformed {
        /// The header.
        header: EventHeader,
        /// The `event` object as it came.
        raw: Value,
        /// Why it did not read (the JSON reader's message).
        error: String,
    },
    /// Any other event type, kept whole.
    Unknown {
        /// The header.
        header: EventHeader,
        /// The `event` object as it came.
        raw: Value,
    },
}

impl Event {
    /// Reads the `event` object of an event of type `event_type`. A known type whose body does
    /// not read as documented is kept as [`Event::Malformed`], with why, and logged at warn
    /// level; an unknown type as [`Event::Unknown`].
    pub(crate) fn parse(header: &EventHeader, event: &serde_json::value::RawValue) -> Self {
        use serde::de::DeserializeSeed as _;
        let kind = header.event_type.as_str();
        let raw = || serde_json::from_str(event.get()).unwrap_or(Value::Null);
        if !KnownEvent::knows(kind) {
            return Self::Unknown {
                header: header.clone(),
                raw: raw(),
            };
        }
        let mut json = serde_json::Deserializer::from_str(event.get());
        match KnownEvent(kind).deserialize(&mut json) {
            Ok(typed) => typed,
            Err(error) => {
                tracing::warn!(
                    event_type = kind,
                    event_id = %header.event_id,
                    error = %error,
                    "an event of a known type did not read as documented; it goes to on_event as Event::Malformed"
                );
                Self::Malformed {
                    header: header.clone(),
                    raw: raw(),
                    error: error.to_string(),
                }
            }
        }
    }

    /// The chat the event is about, when it is about one.
    #[must_use]
    pub fn chat_id(&self) -> Option<&ChatId> {
        match self {
            Self::MessageReceived(e) => Some(&e.message.chat_id),
            Self::MessageRecalled(e) => e.chat_id.as_ref(),
            Self::ChatMemberUserAdded(e)
            | Self::ChatMemberUserDeleted(e)
            | Self::ChatMemberUserWithdrawn(e) => Some(&e.chat_id),
            Self::BotAdded(e) | Self::BotDeleted(e) | Self::ChatDisbanded(e) => Some(&e.chat_id),
            Self::ChatUpdated(e) => Some(&e.chat_id),
            Self::BotP2pChatEntered(e) => Some(&e.chat_id),
            _ => None,
        }
    }
}

/// Reads the `event` object of a known event type straight into its variant.
pub(crate) struct KnownEvent<'t>(pub(crate) &'t str);

impl KnownEvent<'_> {
    /// Whether `event_type` has a typed variant.
    pub(crate) fn knows(event_type: &str) -> bool {
        matches!(
            event_type,
            "im.message.receive_v1"
                | "im.message.message_read_v1"
                | "im.message.recalled_v1"
                | "im.message.reaction.created_v1"
                | "im.message.reaction.deleted_v1"
                | "im.chat.member.user.added_v1"
                | "im.chat.member.user.deleted_v1"
                | "im.chat.member.user.withdrawn_v1"
                | "im.chat.member.bot.added_v1"
                | "im.chat.member.bot.deleted_v1"
                | "im.chat.disbanded_v1"
                | "im.chat.updated_v1"
                | "im.chat.access_event.bot_p2p_chat_entered_v1"
                | "app_ticket"
        )
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for KnownEvent<'_> {
    type Value = Event;

    fn deserialize<D: serde::Deserializer<'de>>(self, json: D) -> Result<Event, D::Error> {
        Ok(match self.0 {
            "im.message.receive_v1" => {
                Event::MessageReceived(Box::new(RawReceived::deserialize(json)?.into()))
            }
            "im.message.message_read_v1" => Event::MessageRead(Deserialize::deserialize(json)?),
            "im.message.recalled_v1" => Event::MessageRecalled(Deserialize::deserialize(json)?),
            "im.message.reaction.created_v1" => {
                Event::ReactionCreated(Deserialize::deserialize(json)?)
            }
            "im.message.reaction.deleted_v1" => {
                Event::ReactionDeleted(Deserialize::deserialize(json)?)
            }
            "im.chat.member.user.added_v1" => {
                Event::ChatMemberUserAdded(Deserialize::deserialize(json)?)
            }
            "im.chat.member.user.deleted_v1" => {
                Event::ChatMemberUserDeleted(Deserialize::deserialize(json)?)
            }
            "im.chat.member.user.withdrawn_v1" => {
                Event::ChatMemberUserWithdrawn(Deserialize::deserialize(json)?)
            }
            "im.chat.member.bot.added_v1" => Event::BotAdded(Deserialize::deserialize(json)?),
            "im.chat.member.bot.deleted_v1" => Event::BotDeleted(Deserialize::deserialize(json)?),
            "im.chat.disbanded_v1" => Event::ChatDisbanded(Deserialize::deserialize(json)?),
            "im.chat.updated_v1" => Event::ChatUpdated(Deserialize::deserialize(json)?),
            "im.chat.access_event.bot_p2p_chat_entered_v1" => {
                Event::BotP2pChatEntered(Deserialize::deserialize(json)?)
            }
            "app_ticket" => Event::AppTicket(Deserialize::deserialize(json)?),
            other => {
                return Err(serde::de::Error::custom(format_args!(
                    "`{other}` has no typed form"
                )));
            }
        })
    }
}

lark_content::open_enum! {
    /// Who sent a received message, as events say it.
    pub enum SenderType {
        /// A person.
        User = "user",
        /// A bot.
        Bot = "bot",
    }
}

lark_content::open_enum! {
    /// The kind of chat a message arrived in.
    pub enum ChatType {
        /// A one-to-one chat with the bot.
        P2p = "p2p",
        /// A group.
        Group = "group",
        /// A topic group (`topic_group`, as the official Go SDK's `EventMessage.ChatType`
        /// documents it).
        TopicGroup = "topic_group",
    }
}

/// Who sent a received message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct EventSender {
    /// The sender's ids.
    #[serde(default)]
    pub sender_id: UserIds,
    /// `user` or `bot`.
    #[serde(default)]
    pub sender_type: Option<SenderType>,
    /// The sender's tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
}

/// `im.message.receive_v1`: a message the bot received.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MessageReceived {
    /// Who sent it.
    pub sender: EventSender,
    /// The message.
    pub message: ReceivedMessage,
}

/// The message inside `im.message.receive_v1`.
///
/// The content and the mentions are kept as the platform sent them and decoded on first use,
/// so a handler that never looks at them never pays for them.
#[derive(Clone)]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// The message. Deduplicate received messages by this id, as the platform advises.
    pub message_id: MessageId,
    /// The root of the reply chain.
    pub root_id: Option<MessageId>,
    /// The message replied to.
    pub parent_id: Option<MessageId>,
    /// The thread.
    pub thread_id: Option<ThreadId>,
    /// Created, in milliseconds, as a string.
    pub create_time: Option<String>,
    /// Updated, in milliseconds, as a string.
    pub update_time: Option<String>,
    /// The chat.
    pub chat_id: ChatId,
    /// `p2p` or `group`.
    pub chat_type: Option<ChatType>,
    /// The `message_type` (`msg_type` elsewhere).
    pub message_type: String,
    /// The content as it came: a JSON document in a string.
    pub raw_content: String,
    /// The sender's client (needs the `im:user_agent:read` scope).
    pub user_agent: Option<String>,
    raw_mentions: Option<Box<serde_json::value::RawValue>>,
    decoded: OnceLock<(MessageContent, Option<String>)>,
    mentions: OnceLock<Vec<Mention>>,
}

impl PartialEq for ReceivedMessage {
    fn eq(&self, other: &Self) -> bool {
        self.message_id == other.message_id
            && self.root_id == other.root_id
            && self.parent_id == other.parent_id
            && self.thread_id == other.thread_id
            && self.create_time == other.create_time
            && self.update_time == other.update_time
            && self.chat_id == other.chat_id
            && self.chat_type == other.chat_type
            && self.message_type == other.message_type
            && self.raw_content == other.raw_content
            && self.user_agent == other.user_agent
            && self.mentions() == other.mentions()
    }
}

impl fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("message_id", &self.message_id)
            .field("chat_id", &self.chat_id)
            .field("chat_type", &self.chat_type)
            .field("message_type", &self.message_type)
            .field("thread_id", &self.thread_id)
            .field("content", self.content())
            .field("mentions", &self.mentions().len())
            .finish_non_exhaustive()
    }
}

impl ReceivedMessage {
    /// The content, decoded on first use. Content of a known type that does not fit its model
    /// is kept as [`MessageContent::Unmodelled`], and content that is not JSON at all as
    /// [`MessageContent::Unknown`]; [`content_error`](Self::content_error) says why in both
    /// cases.
    #[must_use]
    pub fn content(&self) -> &MessageContent {
        &self.decoded().0
    }

    /// Why the content did not fit its model, when it did not.
    #[must_use]
    pub fn content_error(&self) -> Option<&str> {
        self.decoded().1.as_deref()
    }

    /// The people and bots behind the `@_user_N` placeholders, decoded on first use. A list
    /// that does not read as documented is logged at debug level and read as empty.
    #[must_use]
    pub fn mentions(&self) -> &[Mention] {
        self.mentions.get_or_init(|| {
            let Some(raw) = &self.raw_mentions else {
                return Vec::new();
            };
            serde_json::from_str::<Option<Vec<Mention>>>(raw.get()).map_or_else(
                |err| {
                    tracing::debug!(message_id = %self.message_id, error = %err, "the message's mentions do not read as documented");
                    Vec::new()
                },
                Option::unwrap_or_default,
            )
        })
    }

    fn decoded(&self) -> &(MessageContent, Option<String>) {
        self.decoded
            .get_or_init(|| decode_content(&self.message_type, &self.raw_content))
    }

    /// The text as a person reads it (`@name` for mentions), for text messages; the plain text
    /// of a post.
    #[must_use]
    pub fn text(&self) -> Option<String> {
        match self.content() {
            MessageContent::Text(text) => Some(text.to_plain(self.mentions())),
            MessageContent::Post(post) => post.body("en_us").map(lark_content::PostBody::to_plain),
            _ => None,
        }
    }

    /// The text with every mention removed and trimmed: the command in `@bot deploy prod`.
    #[must_use]
    pub fn text_without_mentions(&self) -> Option<String> {
        match self.content() {
            MessageContent::Text(text) => Some(text.without_mentions(self.mentions())),
            _ => None,
        }
    }

    /// Whether the message mentions the user or bot with this open_id.
    #[must_use]
    pub fn mentions_open_id(&self, open_id: &OpenId) -> bool {
        self.mentions()
            .iter()
            .any(|m| m.id.open_id.as_ref() == Some(open_id))
    }

    /// The mentions in order of appearance, resolved.
    #[must_use]
    pub fn segments(&self) -> Vec<Segment<'_>> {
        match self.content() {
            MessageContent::Text(text) => text.segments(self.mentions()).collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawReceived {
    #[serde(default)]
    sender: EventSender,
    message: RawMessage,
}

#[derive(Deserialize)]
struct RawMessage {
    message_id: MessageId,
    #[serde(default)]
    root_id: Option<MessageId>,
    #[serde(default)]
    parent_id: Option<MessageId>,
    #[serde(default)]
    thread_id: Option<ThreadId>,
    #[serde(default)]
    create_time: Option<String>,
    #[serde(default)]
    update_time: Option<String>,
    chat_id: ChatId,
    #[serde(default)]
    chat_type: Option<ChatType>,
    #[serde(default)]
    message_type: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    mentions: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    user_agent: Option<String>,
}

/// Decodes a received message's content, keeping what does not fit.
fn decode_content(message_type: &str, content: &str) -> (MessageContent, Option<String>) {
    match MessageContent::decode(message_type, content) {
        Ok(MessageContent::Unmodelled {
            msg_type,
            content,
            reason,
        }) => {
            let error = format!("`{msg_type}` content does not fit its model: {reason}");
            (
                MessageContent::Unmodelled {
                    msg_type,
                    content,
                    reason,
                },
                Some(error),
            )
        }
        Ok(content) => (content, None),
        Err(err) => (
            MessageContent::Unknown {
                msg_type: message_type.to_owned(),
                content: content.to_owned(),
            },
            Some(describe(&err)),
        ),
    }
}

impl From<RawReceived> for MessageReceived {
    fn from(raw: RawReceived) -> Self {
        let m = raw.message;
        Self {
            sender: raw.sender,
            message: ReceivedMessage {
                message_id: m.message_id,
                root_id: m.root_id.filter(|id| !id.is_empty()),
                parent_id: m.parent_id.filter(|id| !id.is_empty()),
                thread_id: m.thread_id.filter(|id| !id.is_empty()),
                create_time: m.create_time,
                update_time: m.update_time,
                chat_id: m.chat_id,
                chat_type: m.chat_type,
                message_type: m.message_type,
                raw_content: m.content,
                user_agent: m.user_agent,
                raw_mentions: m.mentions,
                decoded: OnceLock::new(),
                mentions: OnceLock::new(),
            },
        }
    }
}

fn describe(err: &ContentError) -> String {
    err.to_string()
}

/// `im.message.message_read_v1`: a user read the bot's p2p messages.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct MessageRead {
    /// Who read them.
    pub reader: Reader,
    /// The messages read.
    #[serde(default)]
    pub message_id_list: Vec<MessageId>,
}

/// The reader of [`MessageRead`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Reader {
    /// The reader's ids.
    #[serde(default)]
    pub reader_id: UserIds,
    /// When, in milliseconds, as a string.
    #[serde(default)]
    pub read_time: Option<String>,
    /// The reader's tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
}

lark_content::open_enum! {
    /// Who recalled a message.
    pub enum RecallType {
        /// Its sender.
        MessageOwner = "message_owner",
        /// The group's owner.
        GroupOwner = "group_owner",
        /// A group manager.
        GroupManager = "group_manager",
        /// A tenant administrator.
        EnterpriseManager = "enterprise_manager",
    }
}

/// `im.message.recalled_v1`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct MessageRecalled {
    /// The message.
    pub message_id: MessageId,
    /// Its chat.
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    /// When, in milliseconds, as a string.
    #[serde(default)]
    pub recall_time: Option<String>,
    /// Who recalled it.
    #[serde(default)]
    pub recall_type: Option<RecallType>,
}

/// The emoji of a reaction event.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct EventReactionType {
    /// The emoji, e.g. `SMILE`.
    pub emoji_type: String,
}

/// `im.message.reaction.created_v1` / `deleted_v1`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ReactionEvent {
    /// The message.
    pub message_id: MessageId,
    /// The emoji.
    pub reaction_type: EventReactionType,
    /// `user` (then `user_id` is set) or `app` (then `app_id` is).
    #[serde(default)]
    pub operator_type: String,
    /// The user who reacted.
    #[serde(default)]
    pub user_id: Option<UserIds>,
    /// The app that reacted.
    #[serde(default)]
    pub app_id: Option<AppId>,
    /// When, in milliseconds, as a string.
    #[serde(default)]
    pub action_time: Option<String>,
}

/// A user in a membership event.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ChatUser {
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
    /// The tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
    /// The ids.
    #[serde(default)]
    pub user_id: UserIds,
}

/// `im.chat.member.user.added_v1` / `deleted_v1` / `withdrawn_v1`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ChatMemberUserEvent {
    /// The chat.
    pub chat_id: ChatId,
    /// Who did it.
    #[serde(default)]
    pub operator_id: UserIds,
    /// Whether the chat is external.
    #[serde(default)]
    pub external: bool,
    /// The operator's tenant.
    #[serde(default)]
    pub operator_tenant_key: Option<TenantKey>,
    /// The users added, removed or gone.
    #[serde(default)]
    pub users: Vec<ChatUser>,
    /// The chat's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The chat's names by locale.
    #[serde(default)]
    pub i18n_names: BTreeMap<String, String>,
}

/// `im.chat.member.bot.added_v1` / `deleted_v1` and `im.chat.disbanded_v1`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ChatEvent {
    /// The chat.
    pub chat_id: ChatId,
    /// Who did it.
    #[serde(default)]
    pub operator_id: UserIds,
    /// Whether the chat is external.
    #[serde(default)]
    pub external: bool,
    /// The operator's tenant.
    #[serde(default)]
    pub operator_tenant_key: Option<TenantKey>,
    /// The chat's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The chat's names by locale.
    #[serde(default)]
    pub i18n_names: BTreeMap<String, String>,
}

/// `im.chat.updated_v1`. Only the changed settings are meaningful in `before_change` /
/// `after_change`.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ChatUpdated {
    /// The chat.
    pub chat_id: ChatId,
    /// Who changed it.
    #[serde(default)]
    pub operator_id: UserIds,
    /// Whether the chat is external.
    #[serde(default)]
    pub external: bool,
    /// The operator's tenant.
    #[serde(default)]
    pub operator_tenant_key: Option<TenantKey>,
    /// The settings after the change.
    #[serde(default)]
    pub after_change: serde_json::Map<String, Value>,
    /// The settings before the change.
    #[serde(default)]
    pub before_change: serde_json::Map<String, Value>,
    /// Managers added or removed.
    #[serde(default)]
    pub moderator_list: Option<Value>,
}

/// `im.chat.access_event.bot_p2p_chat_entered_v1`: a user opened the bot's p2p chat.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct BotP2pChatEntered {
    /// The p2p chat.
    pub chat_id: ChatId,
    /// The user.
    #[serde(default)]
    pub operator_id: UserIds,
    /// The chat's latest message.
    #[serde(default)]
    pub last_message_id: Option<MessageId>,
    /// When that message was created, in milliseconds, as a string.
    #[serde(default)]
    pub last_message_create_time: Option<String>,
}

/// `app_ticket` (v1): the ticket a marketplace app needs for its app token. The ticket is
/// redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AppTicket {
    /// The app.
    pub app_id: AppId,
    /// The ticket.
    pub app_ticket: String,
}

impl fmt::Debug for AppTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppTicket")
            .field("app_id", &self.app_id)
            .field("app_ticket", &"<redacted>")
            .finish()
    }
}
