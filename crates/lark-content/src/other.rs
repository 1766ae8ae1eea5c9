//! The remaining message types: shared chats and users, and the receive-only kinds (location,
//! video chat, todo, vote, red packet, merged forward, calendar).

use crate::id::{ChatId, OpenId};
use crate::object::wire_object;
use crate::post::PostBody;
use serde_json::Map;

wire_object! {
    /// A `share_chat` message: a group's card. The bot must be in that chat, and a p2p chat
    /// cannot be shared (230015). The card stays valid for 7 days.
    pub struct ShareChat {
        /// The shared chat.
        req chat_id: ChatId => "chat_id",
    }
}

wire_object! {
    /// A `share_user` message: a user's card. Only an open_id, only users within the app's
    /// availability, and never a bot.
    pub struct ShareUser {
        /// The shared user.
        req user_id: OpenId => "user_id",
    }
}

impl ShareChat {
    /// Shares `chat_id`.
    #[must_use]
    pub fn new(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            extra: Map::new(),
        }
    }
}

impl ShareUser {
    /// Shares the user `open_id`.
    #[must_use]
    pub fn new(open_id: OpenId) -> Self {
        Self {
            user_id: open_id,
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// A `location` message (receive only). Coordinates are strings, as sent.
    pub struct Location {
        /// The place's name.
        opt name: String => "name",
        /// Longitude.
        opt longitude: String => "longitude",
        /// Latitude.
        opt latitude: String => "latitude",
    }
}

wire_object! {
    /// A `video_chat` message (receive only).
    pub struct VideoChat {
        /// The call's topic.
        opt topic: String => "topic",
        /// Start, in milliseconds since the epoch, as a string.
        opt start_time: String => "start_time",
    }
}

wire_object! {
    /// A `todo` message (receive only); its summary is shaped like a post body.
    pub struct Todo {
        /// The task's id.
        opt task_id: String => "task_id",
        /// The task's summary.
        opt summary: PostBody => "summary",
        /// Due, in milliseconds since the epoch, as a string.
        opt due_time: String => "due_time",
    }
}

wire_object! {
    /// A `vote` message (receive only).
    pub struct Vote {
        /// The question.
        opt topic: String => "topic",
        /// The choices.
        opt options: Vec<String> => "options",
    }
}

wire_object! {
    /// A `hongbao` (red packet) message (receive only): only a text is given.
    pub struct Hongbao {
        /// The text shown, e.g. `[红包]`.
        opt text: String => "text",
    }
}

wire_object! {
    /// A `merge_forward` message (receive only). The content is fixed; fetch the message to get
    /// the forwarded messages, which carry `upper_message_id`.
    pub struct MergeForward {
        /// Always `Merged and Forwarded Message`.
        opt content: String => "content",
    }
}

wire_object! {
    /// A `share_calendar_event`, `calendar` or `general_calendar` message (receive only).
    pub struct CalendarEvent {
        /// The event's title.
        opt summary: String => "summary",
        /// Start, in milliseconds since the epoch, as a string.
        opt start_time: String => "start_time",
        /// End, in milliseconds since the epoch, as a string.
        opt end_time: String => "end_time",
    }
}
