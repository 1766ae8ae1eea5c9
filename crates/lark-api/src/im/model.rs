//! What the IM endpoints answer with.

use crate::pagination::null_as_empty;
use lark_content::{
    ChatId, ContentError, Mention, MessageContent, MessageId, ReactionId, TenantKey, ThreadId,
};
use serde::Deserialize;
use std::collections::BTreeMap;

lark_content::open_enum! {
    /// The kind of id a user is named by.
    pub enum UserIdType {
        /// `open_id`: the user within this app.
        OpenId = "open_id",
        /// `union_id`: the user across the developer's apps.
        UnionId = "union_id",
        /// `user_id`: the user within the tenant.
        UserId = "user_id",
    }
}

lark_content::open_enum! {
    /// The kind of id a chat member is named by.
    pub enum MemberIdType {
        /// `open_id`
        OpenId = "open_id",
        /// `union_id`
        UnionId = "union_id",
        /// `user_id`
        UserId = "user_id",
        /// `app_id`: a bot.
        AppId = "app_id",
    }
}

lark_content::open_enum! {
    /// Who sent a message, as the REST endpoints say it.
    pub enum SenderType {
        /// A person.
        User = "user",
        /// An app (a bot).
        App = "app",
        /// Anonymous.
        Anonymous = "anonymous",
        /// Unknown.
        UnknownSender = "unknown",
    }
}

/// A message's sender.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Sender {
    /// The sender's id: an app_id for bots, else the requested user id type.
    #[serde(default)]
    pub id: String,
    /// The kind of `id` (`app_id`, `open_id`, …).
    #[serde(default)]
    pub id_type: Option<String>,
    /// `user`, `app`, `anonymous` or `unknown`.
    #[serde(default)]
    pub sender_type: Option<SenderType>,
    /// The sender's tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
}

/// A message's body.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct MessageBody {
    /// The content, JSON serialized to a string. Absent for recalled messages.
    #[serde(default)]
    pub content: String,
}

/// What a send or a reply answers: the new message's id, read at once, and the message the
/// platform echoed back, read on first use. It derefs to that [`Message`], so
/// `sent.message_id`, `sent.chat_id` and the rest read as on a `Message`.
///
/// An echo that does not read as a [`Message`] never turns a message that was sent into an
/// error: the message is then the id alone.
#[derive(Clone)]
#[non_exhaustive]
pub struct SentMessage {
    /// The new message's id.
    pub message_id: MessageId,
    body: bytes::Bytes,
    message: std::sync::OnceLock<Message>,
}

#[derive(Deserialize)]
pub(crate) struct SentId {
    message_id: MessageId,
}

impl SentMessage {
    /// From a successful answer's body, whose `data.message_id` was `id`.
    pub(crate) fn new(id: SentId, body: bytes::Bytes) -> Self {
        Self {
            message_id: id.message_id,
            body,
            message: std::sync::OnceLock::new(),
        }
    }

    /// The new message's id.
    #[must_use]
    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    /// The message the platform echoed back, read on first use.
    #[must_use]
    pub fn message(&self) -> &Message {
        self.message.get_or_init(|| {
            crate::endpoint::data_of::<Message>(&self.body)
                .unwrap_or_else(|| Message::with_id(self.message_id.clone()))
        })
    }

    /// The echoed message, owned.
    #[must_use]
    pub fn into_message(self) -> Message {
        match self.message.into_inner() {
            Some(message) => message,
            None => crate::endpoint::data_of::<Message>(&self.body)
                .unwrap_or_else(|| Message::with_id(self.message_id)),
        }
    }
}

impl std::ops::Deref for SentMessage {
    type Target = Message;

    fn deref(&self) -> &Message {
        self.message()
    }
}

impl From<SentMessage> for Message {
    fn from(sent: SentMessage) -> Self {
        sent.into_message()
    }
}

impl std::fmt::Debug for SentMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.message(), f)
    }
}

impl PartialEq for SentMessage {
    fn eq(&self, other: &Self) -> bool {
        self.message() == other.message()
    }
}

impl serde::Serialize for SentMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.message().serialize(serializer)
    }
}

/// A message as the REST endpoints return it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Message {
    /// The message.
    pub message_id: MessageId,
    /// The root of the reply chain, for replies.
    #[serde(default)]
    pub root_id: Option<MessageId>,
    /// The message replied to, for replies.
    #[serde(default)]
    pub parent_id: Option<MessageId>,
    /// The thread, for thread messages.
    #[serde(default)]
    pub thread_id: Option<ThreadId>,
    /// The `msg_type`.
    #[serde(default)]
    pub msg_type: String,
    /// Created, in milliseconds since the epoch, as a string.
    #[serde(default)]
    pub create_time: Option<String>,
    /// Updated, in milliseconds since the epoch, as a string.
    #[serde(default)]
    pub update_time: Option<String>,
    /// Whether it was recalled or deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Whether it was edited.
    #[serde(default)]
    pub updated: bool,
    /// The chat it is in.
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    /// Who sent it.
    #[serde(default)]
    pub sender: Option<Sender>,
    /// The content.
    #[serde(default)]
    pub body: Option<MessageBody>,
    /// The people and bots mentioned, behind the `@_user_N` placeholders.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub mentions: Vec<Mention>,
    /// In a merged forward, the message one level up.
    #[serde(default)]
    pub upper_message_id: Option<MessageId>,
}

impl Message {
    /// A message known only by its id.
    pub(crate) fn with_id(message_id: MessageId) -> Self {
        Self {
            message_id,
            root_id: None,
            parent_id: None,
            thread_id: None,
            msg_type: String::new(),
            create_time: None,
            update_time: None,
            deleted: false,
            updated: false,
            chat_id: None,
            sender: None,
            body: None,
            mentions: Vec::new(),
            upper_message_id: None,
        }
    }

    /// The content, decoded by its `msg_type`. A recalled (or deleted) message has none: got
    /// by id its body is empty, and in the history it holds the sentence `This message was
    /// recalled` in place of content (docs/protocol.md §2.4).
    #[must_use]
    pub fn content(&self) -> Option<Result<MessageContent, ContentError>> {
        if self.deleted {
            return None;
        }
        let body = self.body.as_ref().filter(|body| !body.content.is_empty())?;
        Some(MessageContent::decode(&self.msg_type, &body.content))
    }

    /// Whether the message was recalled or deleted.
    #[must_use]
    pub fn is_recalled(&self) -> bool {
        self.deleted
    }

    /// The created time in milliseconds, when it parses.
    #[must_use]
    pub fn create_time_ms(&self) -> Option<i64> {
        self.create_time.as_deref()?.parse().ok()
    }
}

/// The emoji of a reaction.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ReactionType {
    /// The emoji's name, e.g. `SMILE` or `THUMBSUP`.
    pub emoji_type: String,
}

/// Who reacted.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ReactionOperator {
    /// The operator's id.
    #[serde(default)]
    pub operator_id: String,
    /// `app` or `user`.
    #[serde(default)]
    pub operator_type: String,
}

/// A reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Reaction {
    /// The reaction.
    pub reaction_id: ReactionId,
    /// Who reacted.
    #[serde(default)]
    pub operator: Option<ReactionOperator>,
    /// When, in milliseconds since the epoch, as a string.
    #[serde(default)]
    pub action_time: Option<String>,
    /// The emoji.
    pub reaction_type: ReactionType,
}

/// A chat's names by locale.
pub type I18nNames = BTreeMap<String, String>;

/// A chat, as chat create and chat get return it. Settings the model does not list are in
/// `other`.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Chat {
    /// The chat (chat create returns it; chat get does not repeat it).
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    /// The avatar url.
    #[serde(default)]
    pub avatar: Option<String>,
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// Names by locale.
    #[serde(default)]
    pub i18n_names: Option<I18nNames>,
    /// The owner's id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// The kind of `owner_id`.
    #[serde(default)]
    pub owner_id_type: Option<String>,
    /// `group`, `topic` or `p2p`.
    #[serde(default)]
    pub chat_mode: Option<String>,
    /// `private` or `public`.
    #[serde(default)]
    pub chat_type: Option<String>,
    /// `chat` or `thread`.
    #[serde(default)]
    pub group_message_type: Option<String>,
    /// Whether the chat is external.
    #[serde(default)]
    pub external: Option<bool>,
    /// The chat's tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
    /// How many users (a number written as a string).
    #[serde(default)]
    pub user_count: Option<String>,
    /// How many bots (a number written as a string).
    #[serde(default)]
    pub bot_count: Option<String>,
    /// `normal`, `dissolved` or `dissolved_save`.
    #[serde(default)]
    pub chat_status: Option<String>,
    /// Every other setting, as the platform wrote it.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A chat in the bot's chat list.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ChatSummary {
    /// The chat.
    pub chat_id: ChatId,
    /// The avatar url.
    #[serde(default)]
    pub avatar: Option<String>,
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// The owner's id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// The kind of `owner_id`.
    #[serde(default)]
    pub owner_id_type: Option<String>,
    /// Whether the chat is external.
    #[serde(default)]
    pub external: Option<bool>,
    /// The chat's tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
    /// `normal`, `dissolved` or `dissolved_save`.
    #[serde(default)]
    pub chat_status: Option<String>,
}

/// A chat member.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ChatMember {
    /// The kind of `member_id`.
    #[serde(default)]
    pub member_id_type: Option<MemberIdType>,
    /// The member's id.
    pub member_id: String,
    /// The member's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The member's tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
}
