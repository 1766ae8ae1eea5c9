//! Messages: send, reply, edit, update a card, recall, get, list history, forward, merge forward,
//! download a message's resource, and batch send.

use super::model::{Message, SentId, SentMessage, UserIdType};
use crate::answer::endpoint;
use crate::answer::{Answer, Data, File, Nothing, PageOf};
use crate::endpoint::{Body, Query, QuotaScope, parse_data};
use crate::error::{BuildError, Error};
use crate::receiver::Receiver;
use bytes::Bytes;
use lark_content::limits::{
    CARD_MAX_BYTES, HISTORY_PAGE_MAX, POST_MAX_BYTES, TEXT_MAX_BYTES, UUID_MAX_CHARS,
};
use lark_content::{Card, ChatId, ContentError, FileKey, MessageContent, MessageId, ThreadId};
use serde::{Deserialize, Serialize};

/// Checks an idempotency uuid: non-empty, at most 50 characters.
pub(crate) fn check_uuid(uuid: Option<&str>) -> Result<(), BuildError> {
    let Some(uuid) = uuid else { return Ok(()) };
    let chars = uuid.chars().count();
    if chars == 0 || chars > UUID_MAX_CHARS {
        return Err(BuildError::InvalidParam {
            field: "uuid",
            reason: format!("is {chars} characters; it must be 1 to {UUID_MAX_CHARS}"),
        });
    }
    Ok(())
}

fn encode_for(
    endpoint: &'static str,
    content: &MessageContent,
    accepted: fn(&MessageContent) -> bool,
    hint: &'static str,
) -> Result<String, BuildError> {
    if !accepted(content) {
        return Err(BuildError::UnsupportedType {
            endpoint,
            msg_type: content.msg_type().to_owned(),
            hint,
        });
    }
    Ok(content.encode_validated()?)
}

/// Refuses a request body over the platform's limit for its message type: 150 KB for `text`, 30 KB
/// for `post` and cards. The documentation limits the request body (230025), and the body is larger
/// than the content it carries: the content travels as an escaped JSON string beside the other
/// fields.
fn within_body_limit(msg_type: &str, body: Body) -> Result<Body, BuildError> {
    let (limit, hint) = match msg_type {
        "text" => (
            TEXT_MAX_BYTES,
            "text is at most 150 KB; split it into several messages",
        ),
        "post" => (
            POST_MAX_BYTES,
            "a post is at most 30 KB; split it, or send long text as `text` (150 KB)",
        ),
        "interactive" => (
            CARD_MAX_BYTES,
            "a card is at most 30 KB; move data out of the card or split it",
        ),
        _ => return Ok(body),
    };
    let actual = match &body {
        Body::Json(bytes) => bytes.len(),
        _ => return Ok(body),
    };
    if actual > limit {
        return Err(BuildError::Content(ContentError::TooLarge {
            what: "the request body",
            actual,
            limit,
            unit: "bytes",
            hint,
        }));
    }
    Ok(body)
}

const SEND_TYPES: &str = "send text, post, image, file, audio, media, sticker, interactive, share_chat, share_user or system";

/// `POST /open-apis/im/v1/messages?receive_id_type=…`: sends a message.
///
/// The `uuid` makes the send idempotent: the same uuid succeeds at most once within an hour.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct SendMessage {
    /// Who receives it.
    pub receiver: Receiver,
    /// What it says.
    pub content: MessageContent,
    /// The idempotency key (at most 50 characters).
    pub uuid: Option<String>,
}

impl SendMessage {
    /// Sends `content` to `receiver`.
    pub fn new(receiver: impl Into<Receiver>, content: impl Into<MessageContent>) -> Self {
        Self {
            receiver: receiver.into(),
            content: content.into(),
            uuid: None,
        }
    }

    /// Sets the idempotency key.
    pub fn uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }
}

#[derive(Serialize)]
struct SendBody<'a> {
    receive_id: &'a str,
    msg_type: &'a str,
    content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uuid: Option<&'a str>,
}

/// The answer of a send or a reply: the message id read at once, the rest of the message the
/// platform echoed on first use.
#[derive(Debug)]
pub struct Sent;

impl Answer for Sent {
    type Output = SentMessage;

    fn read(response: http::Response<Bytes>) -> Result<SentMessage, Error> {
        let id: SentId = parse_data(&response)?;
        Ok(SentMessage::new(id, response.into_body()))
    }
}

endpoint!(SendMessage: POST "/open-apis/im/v1/messages" => Sent, uuid {
    fn query(&self, query: &mut Query) {
        query.push("receive_id_type", self.receiver.id_type());
    }

    fn quota_scope(&self) -> Option<QuotaScope> {
        Some(QuotaScope::Receiver(format!(
            "{}:{}",
            self.receiver.id_type(),
            self.receiver.id()
        )))
    }

    fn body(&self) -> Result<Body, BuildError> {
        check_uuid(self.uuid.as_deref())?;
        if self.receiver.id().is_empty() {
            return Err(BuildError::InvalidParam {
                field: "receive_id",
                reason: "is empty".to_owned(),
            });
        }
        let content = encode_for(
            "send message",
            &self.content,
            MessageContent::can_send,
            SEND_TYPES,
        )?;
        within_body_limit(
            self.content.msg_type(),
            Body::json(&SendBody {
                receive_id: self.receiver.id(),
                msg_type: self.content.msg_type(),
                content,
                uuid: self.uuid.as_deref(),
            }),
        )
    }
});

/// `POST /open-apis/im/v1/messages/:message_id/reply`: replies to a message, optionally in a
/// thread. If the message is already in a thread the reply goes there regardless.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct ReplyMessage {
    /// The message replied to.
    pub message_id: MessageId,
    /// What the reply says.
    pub content: MessageContent,
    /// Whether to reply in a thread.
    pub reply_in_thread: bool,
    /// The idempotency key (at most 50 characters).
    pub uuid: Option<String>,
}

impl ReplyMessage {
    /// Replies to `message_id` with `content`.
    pub fn new(message_id: MessageId, content: impl Into<MessageContent>) -> Self {
        Self {
            message_id,
            content: content.into(),
            reply_in_thread: false,
            uuid: None,
        }
    }

    /// Replies in a thread.
    pub fn in_thread(mut self) -> Self {
        self.reply_in_thread = true;
        self
    }

    /// Sets the idempotency key.
    pub fn uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }
}

#[derive(Serialize)]
struct ReplyBody<'a> {
    content: String,
    msg_type: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reply_in_thread: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    uuid: Option<&'a str>,
}

endpoint!(ReplyMessage: POST "/open-apis/im/v1/messages/:message_id/reply" => Sent, ids(message_id), uuid {
    fn body(&self) -> Result<Body, BuildError> {
        check_uuid(self.uuid.as_deref())?;
        let content = encode_for(
            "reply",
            &self.content,
            MessageContent::can_reply,
            "reply with anything send takes except system",
        )?;
        within_body_limit(
            self.content.msg_type(),
            Body::json(&ReplyBody {
                content,
                msg_type: self.content.msg_type(),
                reply_in_thread: self.reply_in_thread,
                uuid: self.uuid.as_deref(),
            }),
        )
    }
});

/// `PUT /open-apis/im/v1/messages/:message_id`: edits one of the bot's own `text` or `post`
/// messages (at most 20 times).
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct EditMessage {
    /// The message.
    pub message_id: MessageId,
    /// Its new content: `text` or `post`.
    pub content: MessageContent,
}

impl EditMessage {
    /// Replaces `message_id`'s content.
    pub fn new(message_id: MessageId, content: impl Into<MessageContent>) -> Self {
        Self {
            message_id,
            content: content.into(),
        }
    }
}

endpoint!(EditMessage: PUT "/open-apis/im/v1/messages/:message_id" => Data<Message>, ids(message_id) {
    fn body(&self) -> Result<Body, BuildError> {
        let content = encode_for(
            "edit message",
            &self.content,
            MessageContent::can_edit,
            "only text and post messages can be edited; update a card with PatchCard",
        )?;
        within_body_limit(
            self.content.msg_type(),
            Body::json(&serde_json::json!({
                "msg_type": self.content.msg_type(),
                "content": content,
            })),
        )
    }
});

/// `PATCH /open-apis/im/v1/messages/:message_id`: replaces a card sent within the last 14 days.
/// The card needs `update_multi: true` in its config, before and after.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct PatchCard {
    /// The card message.
    pub message_id: MessageId,
    /// The new card.
    pub card: Card,
}

impl PatchCard {
    /// Replaces `message_id`'s card.
    pub fn new(message_id: MessageId, card: impl Into<Card>) -> Self {
        Self {
            message_id,
            card: card.into(),
        }
    }
}

endpoint!(PatchCard: PATCH "/open-apis/im/v1/messages/:message_id" => Nothing, ids(message_id) {
    fn body(&self) -> Result<Body, BuildError> {
        let content = MessageContent::card(self.card.clone()).encode_validated()?;
        within_body_limit(
            "interactive",
            Body::json(&serde_json::json!({ "content": content })),
        )
    }
});

crate::answer::by_id! {
    /// `DELETE /open-apis/im/v1/messages/:message_id`: recalls a message.
    pub struct RecallMessage {
        /// The message.
        pub message_id: MessageId,
    }
    /// Recalls `message_id`.
    fn new;
    DELETE "/open-apis/im/v1/messages/:message_id" => Nothing
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Items<T> {
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    items: Vec<T>,
}

/// The answer of [`GetMessage`]: `data.items`, the message (and, for a merged forward, the
/// messages inside it).
#[derive(Debug)]
pub struct MessageList;

impl Answer for MessageList {
    type Output = Vec<Message>;

    fn read(response: http::Response<Bytes>) -> Result<Vec<Message>, Error> {
        parse_data::<Items<Message>>(&response).map(|items| items.items)
    }
}

/// `GET /open-apis/im/v1/messages/:message_id`: one message. A merged forward answers with the
/// message and every message inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct GetMessage {
    /// The message.
    pub message_id: MessageId,
    /// The kind of ids in `mentions` and `sender`.
    pub user_id_type: Option<UserIdType>,
    /// Return a card as it was sent rather than its simplified rendering.
    pub card_as_sent: bool,
}

impl GetMessage {
    /// Fetches `message_id`.
    pub fn new(message_id: MessageId) -> Self {
        Self {
            message_id,
            user_id_type: None,
            card_as_sent: false,
        }
    }

    /// Returns cards as they were sent (`card_msg_content_type=user_card_content`).
    pub fn card_as_sent(mut self) -> Self {
        self.card_as_sent = true;
        self
    }
}

endpoint!(GetMessage: GET "/open-apis/im/v1/messages/:message_id" => MessageList, ids(message_id) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
        if self.card_as_sent {
            query.push("card_msg_content_type", "user_card_content");
        }
    }
});

/// Where history is read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Container {
    /// A chat. Thread replies in a normal group show only as their root.
    Chat(ChatId),
    /// A thread, replies included.
    Thread(ThreadId),
}

impl From<ChatId> for Container {
    fn from(id: ChatId) -> Self {
        Self::Chat(id)
    }
}

impl From<ThreadId> for Container {
    fn from(id: ThreadId) -> Self {
        Self::Thread(id)
    }
}

lark_content::open_enum! {
    /// History order, fixed across the pages of one listing.
    pub enum SortType {
        /// Oldest first (the default).
        ByCreateTimeAsc = "ByCreateTimeAsc",
        /// Newest first.
        ByCreateTimeDesc = "ByCreateTimeDesc",
    }
}

/// `GET /open-apis/im/v1/messages`: a chat's or a thread's history, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ListMessages {
    /// The chat or thread.
    pub container: Container,
    /// The earliest creation time, in seconds since the epoch (chats only).
    pub start_time: Option<i64>,
    /// The latest creation time, in seconds since the epoch (chats only).
    pub end_time: Option<i64>,
    /// The order.
    pub sort: Option<SortType>,
    /// Items per page, 1 to 50 (the platform's default is 20).
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
    /// Return cards as they were sent.
    pub card_as_sent: bool,
}

impl ListMessages {
    /// The history of a chat or a thread.
    pub fn new(container: impl Into<Container>) -> Self {
        Self {
            container: container.into(),
            start_time: None,
            end_time: None,
            sort: None,
            page_size: None,
            page_token: None,
            card_as_sent: false,
        }
    }

    /// Only messages created in `[start, end]`, in seconds since the epoch.
    pub fn between(mut self, start: Option<i64>, end: Option<i64>) -> Self {
        self.start_time = start;
        self.end_time = end;
        self
    }

    /// Newest first.
    pub fn newest_first(mut self) -> Self {
        self.sort = Some(SortType::ByCreateTimeDesc);
        self
    }

    /// Items per page, 1 to 50.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
}

endpoint!(ListMessages: GET "/open-apis/im/v1/messages" => PageOf<Message>, paged(HISTORY_PAGE_MAX) {
    fn query(&self, query: &mut Query) {
        match &self.container {
            Container::Chat(id) => {
                query.push("container_id_type", "chat");
                query.push("container_id", id.as_str());
            }
            Container::Thread(id) => {
                query.push("container_id_type", "thread");
                query.push("container_id", id.as_str());
            }
        }
        query.push_display("start_time", self.start_time);
        query.push_display("end_time", self.end_time);
        query.push_display("sort_type", self.sort.as_ref());
        if self.card_as_sent {
            query.push("card_msg_content_type", "user_card_content");
        }
    }

    fn body(&self) -> Result<Body, BuildError> {
        if matches!(self.container, Container::Thread(_))
            && (self.start_time.is_some() || self.end_time.is_some())
        {
            return Err(BuildError::InvalidParam {
                field: "start_time/end_time",
                reason: "a thread's history cannot be filtered by time; list the whole thread"
                    .to_owned(),
            });
        }
        if let (Some(start), Some(end)) = (self.start_time, self.end_time)
            && start > end
        {
            return Err(BuildError::InvalidParam {
                field: "start_time",
                reason: format!("{start} is after end_time {end}"),
            });
        }
        Ok(Body::Empty)
    }
});

/// `POST /open-apis/im/v1/messages/:message_id/forward?receive_id_type=…`: forwards a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ForwardMessage {
    /// The message.
    pub message_id: MessageId,
    /// Where it goes.
    pub receiver: Receiver,
    /// The idempotency key (at most 50 characters).
    pub uuid: Option<String>,
}

impl ForwardMessage {
    /// Forwards `message_id` to `receiver`.
    pub fn new(message_id: MessageId, receiver: impl Into<Receiver>) -> Self {
        Self {
            message_id,
            receiver: receiver.into(),
            uuid: None,
        }
    }

    /// The idempotency key: a retry with the same key forwards once.
    pub fn uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }
}

endpoint!(ForwardMessage: POST "/open-apis/im/v1/messages/:message_id/forward" => Data<Message>, ids(message_id), uuid {
    fn query(&self, query: &mut Query) {
        forward_query(&self.receiver, self.uuid.as_ref(), query);
    }

    fn body(&self) -> Result<Body, BuildError> {
        forward_body(&self.receiver, self.uuid.as_deref())
    }
});

/// The query of a forward (of a message or a thread): the receiver's id type and the uuid.
pub(crate) fn forward_query(receiver: &Receiver, uuid: Option<&String>, query: &mut Query) {
    query.push("receive_id_type", receiver.id_type());
    query.push_display("uuid", uuid);
}

/// The body of a forward: the receiver's id, once the uuid is checked.
pub(crate) fn forward_body(receiver: &Receiver, uuid: Option<&str>) -> Result<Body, BuildError> {
    check_uuid(uuid)?;
    Ok(Body::json(
        &serde_json::json!({ "receive_id": receiver.id() }),
    ))
}

/// What a merge forward answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct MergeForwardOutput {
    /// The merged message.
    pub message: Message,
    /// Messages that could not be included.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub invalid_message_id_list: Vec<MessageId>,
}

/// `POST /open-apis/im/v1/messages/merge_forward?receive_id_type=…`: forwards several messages
/// of one chat as a single merged message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct MergeForward {
    /// Where it goes.
    pub receiver: Receiver,
    /// The messages, from one chat.
    pub message_ids: Vec<MessageId>,
    /// The idempotency key (at most 50 characters).
    pub uuid: Option<String>,
}

impl MergeForward {
    /// Forwards `message_ids` to `receiver` as one message.
    pub fn new(
        receiver: impl Into<Receiver>,
        message_ids: impl IntoIterator<Item = MessageId>,
    ) -> Self {
        Self {
            receiver: receiver.into(),
            message_ids: message_ids.into_iter().collect(),
            uuid: None,
        }
    }
}

endpoint!(MergeForward: POST "/open-apis/im/v1/messages/merge_forward" => Data<MergeForwardOutput>, uuid {
    fn query(&self, query: &mut Query) {
        query.push("receive_id_type", self.receiver.id_type());
        query.push_display("uuid", self.uuid.as_ref());
    }

    fn body(&self) -> Result<Body, BuildError> {
        check_uuid(self.uuid.as_deref())?;
        if self.message_ids.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "message_id_list",
                reason: "is empty; name the messages to forward".to_owned(),
            });
        }
        Ok(Body::json(&serde_json::json!({
            "receive_id": self.receiver.id(),
            "message_id_list": self.message_ids,
        })))
    }
});

lark_content::open_enum! {
    /// Which kind of resource to download from a message.
    pub enum ResourceType {
        /// An image message's image, or an image inside a post.
        Image = "image",
        /// A file, audio or video.
        File = "file",
    }
}

/// `GET /open-apis/im/v1/messages/:message_id/resources/:file_key?type=…`: downloads an image,
/// file, audio or video from a message (at most 100 MB; not stickers).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct GetMessageResource {
    /// The message holding the resource.
    pub message_id: MessageId,
    /// The resource's key (an `image_key` or a `file_key`).
    pub file_key: FileKey,
    /// `image` or `file`.
    pub kind: ResourceType,
}

impl GetMessageResource {
    /// An image of a message (an `image_key` as a key).
    pub fn image(message_id: MessageId, image_key: &lark_content::ImageKey) -> Self {
        Self {
            message_id,
            file_key: FileKey::new(image_key.as_str()),
            kind: ResourceType::Image,
        }
    }

    /// A file, audio or video of a message.
    pub fn file(message_id: MessageId, file_key: FileKey) -> Self {
        Self {
            message_id,
            file_key,
            kind: ResourceType::File,
        }
    }
}

endpoint!(GetMessageResource: GET "/open-apis/im/v1/messages/:message_id/resources/:file_key" => File, ids(message_id, file_key) {
    fn query(&self, query: &mut Query) {
        query.push("type", self.kind.as_str());
    }
});

/// Who a batch message goes to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BatchTargets {
    /// Users by open_id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub open_ids: Vec<lark_content::OpenId>,
    /// Users by user_id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_ids: Vec<lark_content::UserId>,
    /// Users by union_id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub union_ids: Vec<lark_content::UnionId>,
    /// Every member of these departments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub department_ids: Vec<String>,
}

impl BatchTargets {
    /// Users by open_id.
    #[must_use]
    pub fn open_ids(ids: impl IntoIterator<Item = lark_content::OpenId>) -> Self {
        Self {
            open_ids: ids.into_iter().collect(),
            ..Self::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.open_ids.is_empty()
            && self.user_ids.is_empty()
            && self.union_ids.is_empty()
            && self.department_ids.is_empty()
    }
}

/// What a batch send answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct BatchSendOutput {
    /// The batch message (`bm-…`), for recalling it.
    pub message_id: String,
    /// Departments that were not valid.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub invalid_department_ids: Vec<String>,
    /// open_ids that were not valid.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub invalid_open_ids: Vec<String>,
    /// user_ids that were not valid.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub invalid_user_ids: Vec<String>,
    /// union_ids that were not valid.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub invalid_union_ids: Vec<String>,
}

/// `POST /open-apis/message/v4/batch_send/`: one message to many users or departments,
/// delivered asynchronously. Batch messages cannot be edited or replied to, only recalled.
///
/// This older endpoint takes content as a JSON object, not a string, and cards in a separate
/// `card` field; posts keep the `{"post": …}` wrapper here. It takes `text`, `post`, `image`,
/// `share_chat` and `interactive`.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct BatchSend {
    /// Who receives it.
    pub targets: BatchTargets,
    /// What it says.
    pub content: MessageContent,
}

impl BatchSend {
    /// Sends `content` to `targets`.
    pub fn new(targets: BatchTargets, content: impl Into<MessageContent>) -> Self {
        Self {
            targets,
            content: content.into(),
        }
    }
}

endpoint!(BatchSend: POST "/open-apis/message/v4/batch_send/" => Data<BatchSendOutput> {
    fn body(&self) -> Result<Body, BuildError> {
        if self.targets.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "open_ids/user_ids/union_ids/department_ids",
                reason: "name at least one user or department".to_owned(),
            });
        }
        let encoded = self.content.encode_validated()?;
        let value: serde_json::Value = serde_json::from_str(&encoded)
            .map_err(|err| BuildError::http_because("the content did not encode as JSON", err))?;
        let mut body = serde_json::to_value(&self.targets).map_err(|err| {
            BuildError::http_because("the batch targets did not encode as JSON", err)
        })?;
        let object = body
            .as_object_mut()
            .ok_or_else(|| BuildError::http("the batch targets did not encode as an object"))?;
        object.insert("msg_type".to_owned(), self.content.msg_type().into());
        match &self.content {
            MessageContent::Text(_) | MessageContent::Image(_) => {
                object.insert("content".to_owned(), value);
            }
            MessageContent::Post(_) => {
                object.insert("content".to_owned(), serde_json::json!({ "post": value }));
            }
            MessageContent::ShareChat(share) => {
                object.insert(
                    "content".to_owned(),
                    serde_json::json!({ "share_chat_id": share.chat_id }),
                );
            }
            MessageContent::Interactive(_) => {
                object.insert("card".to_owned(), value);
            }
            other => {
                return Err(BuildError::UnsupportedType {
                    endpoint: "batch send",
                    msg_type: other.msg_type().to_owned(),
                    hint: "batch send takes text, post, image, share_chat and interactive; send other types one by one",
                });
            }
        }
        Ok(Body::json(&body))
    }
});

crate::answer::by_id! {
    /// `DELETE /open-apis/im/v1/batch_messages/:batch_message_id`: recalls a batch message from
    /// everyone it reached.
    pub struct RecallBatch {
        /// The batch message (`bm-…`).
        pub batch_message_id: String,
    }
    /// Recalls `batch_message_id`.
    fn new;
    DELETE "/open-apis/im/v1/batch_messages/:batch_message_id" => Nothing
}

/// How far a batch message has gone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct BatchProgress {
    /// Sending: `{valid_user_ids_count, success_user_ids_count, read_user_ids_count}`.
    #[serde(default)]
    pub batch_message_send_progress: Option<BatchSendProgress>,
    /// Recalling: `{recall, recall_count}`.
    #[serde(default)]
    pub batch_message_recall_progress: Option<BatchRecallProgress>,
}

/// How many a batch message was for, reached and read by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct BatchSendProgress {
    /// Receivers that were valid.
    #[serde(default)]
    pub valid_user_ids_count: u64,
    /// Receivers it reached.
    #[serde(default)]
    pub success_user_ids_count: u64,
    /// Receivers who read it.
    #[serde(default)]
    pub read_user_ids_count: u64,
}

/// Whether a batch message was recalled, and from how many.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct BatchRecallProgress {
    /// Whether it was recalled.
    #[serde(default)]
    pub recall: bool,
    /// How many copies were recalled.
    #[serde(default)]
    pub recall_count: u64,
}

crate::answer::by_id! {
    /// `GET /open-apis/im/v1/batch_messages/:batch_message_id/get_progress`: how far a batch
    /// message's sending (and recall) has gone.
    pub struct GetBatchProgress {
        /// The batch message (`bm-…`).
        pub batch_message_id: String,
    }
    /// Progress of `batch_message_id`.
    fn new;
    GET "/open-apis/im/v1/batch_messages/:batch_message_id/get_progress" => Data<BatchProgress>
}

/// How many have read a batch message, of how many it went to. The platform answers both as
/// strings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct BatchReadCount {
    /// Readers.
    #[serde(default)]
    pub read_count: String,
    /// Receivers.
    #[serde(default)]
    pub total_count: String,
}

crate::answer::data_field! {
    /// The answer of [`GetBatchReadCount`]: `data.read_user`.
    BatchReaders, read_user: BatchReadCount
}

crate::answer::by_id! {
    /// `GET /open-apis/im/v1/batch_messages/:batch_message_id/read_user`: how many have read a
    /// batch message.
    pub struct GetBatchReadCount {
        /// The batch message (`bm-…`).
        pub batch_message_id: String,
    }
    /// Readers of `batch_message_id`.
    fn new;
    GET "/open-apis/im/v1/batch_messages/:batch_message_id/read_user" => BatchReaders
}
