//! Pins: a message kept at the top of its chat for every member to see.

use crate::answer::endpoint;
use crate::answer::{Nothing, PageOf, data_field};
use crate::endpoint::{Body, Query};
use crate::error::BuildError;
use lark_content::{ChatId, MessageId};
use serde::Deserialize;

/// Most pins a page holds.
pub const PINS_PAGE_MAX: u32 = 50;

/// A pinned message, as the platform describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Pin {
    /// The pinned message.
    pub message_id: MessageId,
    /// Its chat.
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    /// Who pinned it: an open_id for a user, an app_id for a bot.
    #[serde(default)]
    pub operator_id: Option<String>,
    /// `open_id` or `app_id`.
    #[serde(default)]
    pub operator_id_type: Option<String>,
    /// When, in milliseconds since the epoch, as a string.
    #[serde(default)]
    pub create_time: Option<String>,
}

data_field! {
    /// The answer of [`PinMessage`]: `data.pin`.
    Pinned, pin: Pin
}

/// `POST /open-apis/im/v1/pins`: pins a message. A message already pinned answers with its
/// pin.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct PinMessage {
    /// The message.
    pub message_id: MessageId,
}

impl PinMessage {
    /// Pins `message_id`.
    pub fn new(message_id: MessageId) -> Self {
        Self { message_id }
    }
}

endpoint!(PinMessage: POST "/open-apis/im/v1/pins" => Pinned {
    fn body(&self) -> Result<Body, BuildError> {
        super::check_id("message_id", self.message_id.as_str())?;
        Ok(Body::json(
            &serde_json::json!({"message_id": self.message_id}),
        ))
    }

    /// Pinning a pinned message answers with the same pin.
    fn is_idempotent(&self) -> bool {
        true
    }
});

crate::answer::by_id! {
    /// `DELETE /open-apis/im/v1/pins/:message_id`: unpins a message.
    pub struct UnpinMessage {
        /// The message.
        pub message_id: MessageId,
    }
    /// Unpins `message_id`.
    fn new;
    DELETE "/open-apis/im/v1/pins/:message_id" => Nothing
}

/// `GET /open-apis/im/v1/pins?chat_id=…`: a chat's pins, newest first, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ListPins {
    /// The chat.
    pub chat_id: ChatId,
    /// Only pins made at or after this time, in milliseconds since the epoch.
    pub start_time: Option<u64>,
    /// Only pins made at or before this time, in milliseconds since the epoch.
    pub end_time: Option<u64>,
    /// Items per page, 1 to 50.
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
}

impl ListPins {
    /// Every pin in `chat_id`.
    pub fn new(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            start_time: None,
            end_time: None,
            page_size: None,
            page_token: None,
        }
    }

    /// Only pins made between `start` and `end`, in milliseconds since the epoch.
    pub fn between(mut self, start_ms: u64, end_ms: u64) -> Self {
        self.start_time = Some(start_ms);
        self.end_time = Some(end_ms);
        self
    }

    /// Items per page, 1 to 50.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
}

endpoint!(ListPins: GET "/open-apis/im/v1/pins" => PageOf<Pin>, paged(PINS_PAGE_MAX) {
    fn query(&self, query: &mut Query) {
        query.push("chat_id", self.chat_id.as_str());
        query.push_display("start_time", self.start_time);
        query.push_display("end_time", self.end_time);
    }

    fn body(&self) -> Result<Body, BuildError> {
        super::check_id("chat_id", self.chat_id.as_str())?;
        if let (Some(start), Some(end)) = (self.start_time, self.end_time)
            && start >= end
        {
            return Err(BuildError::InvalidParam {
                field: "start_time",
                reason: format!(
                    "is {start}, not before end_time {end}; give a range that is not empty"
                ),
            });
        }
        Ok(Body::Empty)
    }
});
