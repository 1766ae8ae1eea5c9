//! [`MessageContent`]: a message's `msg_type` and its `content`, as one value.

use crate::card::Card;
use crate::error::ContentError;
use crate::id::{ChatId, FileKey, ImageKey, OpenId};
use crate::limits::{CARD_MAX_BYTES, POST_MAX_BYTES, TEXT_MAX_BYTES};
use crate::media::{Audio, File, Folder, Image, Media, Sticker};
use crate::other::{
    CalendarEvent, Hongbao, Location, MergeForward, ShareChat, ShareUser, Todo, VideoChat, Vote,
};
use crate::post::Post;
use crate::system::System;
use crate::text::Text;

/// The `msg_type` strings the platform documents.
pub mod msg_type {
    /// `text`
    pub const TEXT: &str = "text";
    /// `post` (rich text)
    pub const POST: &str = "post";
    /// `image`
    pub const IMAGE: &str = "image";
    /// `file`
    pub const FILE: &str = "file";
    /// `folder` (receive only)
    pub const FOLDER: &str = "folder";
    /// `audio`
    pub const AUDIO: &str = "audio";
    /// `media` (video)
    pub const MEDIA: &str = "media";
    /// `sticker`
    pub const STICKER: &str = "sticker";
    /// `interactive` (card)
    pub const INTERACTIVE: &str = "interactive";
    /// `share_chat`
    pub const SHARE_CHAT: &str = "share_chat";
    /// `share_user`
    pub const SHARE_USER: &str = "share_user";
    /// `system`
    pub const SYSTEM: &str = "system";
    /// `location` (receive only)
    pub const LOCATION: &str = "location";
    /// `video_chat` (receive only)
    pub const VIDEO_CHAT: &str = "video_chat";
    /// `todo` (receive only)
    pub const TODO: &str = "todo";
    /// `vote` (receive only)
    pub const VOTE: &str = "vote";
    /// `hongbao` (receive only)
    pub const HONGBAO: &str = "hongbao";
    /// `merge_forward` (receive only)
    pub const MERGE_FORWARD: &str = "merge_forward";
    /// `share_calendar_event` (receive only)
    pub const SHARE_CALENDAR_EVENT: &str = "share_calendar_event";
    /// `calendar` (receive only)
    pub const CALENDAR: &str = "calendar";
    /// `general_calendar` (receive only)
    pub const GENERAL_CALENDAR: &str = "general_calendar";
}

macro_rules! message_content {
    ($( $(#[$meta:meta])* $variant:ident($ty:ty) = $name:ident, )*) => {
        /// A message's content: its `msg_type` and the JSON that goes, as a string, in `content`.
        ///
        /// The JSON-in-a-string encoding lives here and nowhere else: [`encode`](Self::encode)
        /// writes the string, [`decode`](Self::decode) reads it.
        ///
        /// ```
        /// use lark_content::{MessageContent, Text};
        ///
        /// let content = MessageContent::decode("text", r#"{"text":"@_user_1 hello"}"#)?;
        /// assert_eq!(content, MessageContent::Text(Text::new("@_user_1 hello")));
        /// assert_eq!(content.encode(), r#"{"text":"@_user_1 hello"}"#);
        ///
        /// // A type this version does not know is kept byte for byte.
        /// let future = MessageContent::decode("hologram", "{\"x\": 1}")?;
        /// assert_eq!(future.msg_type(), "hologram");
        /// assert_eq!(future.encode(), "{\"x\": 1}");
        ///
        /// // So is a known type whose content does not fit the model, as some clients send it.
        /// let odd = MessageContent::decode("audio", r#"{"duration":2000}"#)?;
        /// assert!(matches!(odd, MessageContent::Unmodelled { .. }));
        /// assert_eq!(odd.json().unwrap()["duration"], 2000);
        /// assert_eq!(odd.encode(), r#"{"duration":2000}"#);
        ///
        /// // Only content that is not JSON at all is an error, and it names the type.
        /// let err = MessageContent::decode("text", "not json").unwrap_err();
        /// assert!(err.to_string().contains("`text`"));
        /// # Ok::<(), lark_content::ContentError>(())
        /// ```
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum MessageContent {
            $( $(#[$meta])* $variant($ty), )*
            /// A `msg_type` this version does not know, with its content kept byte for byte.
            Unknown {
                /// The `msg_type`.
                msg_type: String,
                /// The `content` string, exactly as received.
                content: String,
            },
            /// A `msg_type` this version knows, with content that does not fit its model (a
            /// field missing, or of another type), as some client versions send it. Nothing
            /// is lost: the content is kept byte for byte, [`json`](Self::json) reads it, and
            /// [`validate`](Self::validate) refuses to send it.
            Unmodelled {
                /// The `msg_type`.
                msg_type: String,
                /// The `content` string, exactly as received.
                content: String,
                /// Why the model could not read it.
                reason: String,
            },
        }

        impl MessageContent {
            /// The `msg_type` that goes beside [`encode`](Self::encode)'s string.
            #[must_use]
            pub fn msg_type(&self) -> &str {
                match self {
                    $( Self::$variant(_) => msg_type::$name, )*
                    Self::Unknown { msg_type, .. } | Self::Unmodelled { msg_type, .. } => msg_type,
                }
            }

            /// The string that goes in `content`: this content's JSON, serialized.
            #[must_use]
            pub fn encode(&self) -> String {
                match self {
                    $( Self::$variant(inner) => to_json(inner), )*
                    Self::Unknown { content, .. } | Self::Unmodelled { content, .. } => content.clone(),
                }
            }

            /// Reads a `content` string as the given `msg_type`. Received content always reads:
            /// a `msg_type` this version does not know becomes [`MessageContent::Unknown`], and
            /// content of a known type that does not fit its model becomes
            /// [`MessageContent::Unmodelled`]. Only content that is not JSON at all is an error.
            pub fn decode(msg_type: &str, content: &str) -> Result<Self, ContentError> {
                match msg_type {
                    $( msg_type::$name => match serde_json::from_str(content) {
                        Ok(inner) => Ok(Self::$variant(inner)),
                        Err(err) => Self::unmodelled(msg_type, content, &err),
                    }, )*
                    _ => Ok(Self::Unknown { msg_type: msg_type.to_owned(), content: content.to_owned() }),
                }
            }

            /// The `msg_type`s this version models, in the order of the variants.
            pub const KNOWN_TYPES: &'static [&'static str] = &[$( msg_type::$name ),*];

            /// Whether `msg_type` is one this version models.
            #[must_use]
            pub fn is_known_type(msg_type: &str) -> bool {
                matches!(msg_type, $( msg_type::$name )|*)
            }
        }
    };
}

message_content! {
    /// `text`
    Text(Text) = TEXT,
    /// `post` (rich text)
    Post(Post) = POST,
    /// `image`
    Image(Image) = IMAGE,
    /// `file`
    File(File) = FILE,
    /// `folder` (receive only)
    Folder(Folder) = FOLDER,
    /// `audio`
    Audio(Audio) = AUDIO,
    /// `media` (video)
    Media(Media) = MEDIA,
    /// `sticker`
    Sticker(Sticker) = STICKER,
    /// `interactive` (card)
    Interactive(Box<Card>) = INTERACTIVE,
    /// `share_chat`
    ShareChat(ShareChat) = SHARE_CHAT,
    /// `share_user`
    ShareUser(ShareUser) = SHARE_USER,
    /// `system`
    System(System) = SYSTEM,
    /// `location` (receive only)
    Location(Location) = LOCATION,
    /// `video_chat` (receive only)
    VideoChat(VideoChat) = VIDEO_CHAT,
    /// `todo` (receive only)
    Todo(Todo) = TODO,
    /// `vote` (receive only)
    Vote(Vote) = VOTE,
    /// `hongbao` (receive only)
    Hongbao(Hongbao) = HONGBAO,
    /// `merge_forward` (receive only)
    MergeForward(MergeForward) = MERGE_FORWARD,
    /// `share_calendar_event` (receive only)
    ShareCalendarEvent(CalendarEvent) = SHARE_CALENDAR_EVENT,
    /// `calendar` (receive only)
    Calendar(CalendarEvent) = CALENDAR,
    /// `general_calendar` (receive only)
    GeneralCalendar(CalendarEvent) = GENERAL_CALENDAR,
}

/// Serializes a content model. Every model is a JSON object with string keys whose values are
/// strings, numbers, booleans, lists, objects or `serde_json::Value`s, none of whose `Serialize`
/// impls can fail, so serialization cannot fail either.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("content models always serialize to JSON")
}

impl MessageContent {
    /// Content of a known type that its model could not read: kept whole when it is JSON,
    /// an error naming the type when it is not.
    fn unmodelled(
        msg_type: &str,
        content: &str,
        model_error: &serde_json::Error,
    ) -> Result<Self, ContentError> {
        match serde_json::from_str::<serde::de::IgnoredAny>(content) {
            Ok(_) => Ok(Self::Unmodelled {
                msg_type: msg_type.to_owned(),
                content: content.to_owned(),
                reason: model_error.to_string(),
            }),
            Err(error) => Err(ContentError::Decode {
                msg_type: msg_type.to_owned(),
                error,
            }),
        }
    }

    /// The content as JSON, whatever its kind: what a model does not read is still reachable
    /// here. `None` only for content that is not JSON.
    #[must_use]
    pub fn json(&self) -> Option<serde_json::Value> {
        match self {
            Self::Unknown { content, .. } | Self::Unmodelled { content, .. } => {
                serde_json::from_str(content).ok()
            }
            _ => serde_json::from_str(&self.encode()).ok(),
        }
    }

    /// A `text` message.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(Text::new(text))
    }

    /// An `image` message.
    #[must_use]
    pub fn image(image_key: ImageKey) -> Self {
        Self::Image(Image::new(image_key))
    }

    /// A `file` message.
    #[must_use]
    pub fn file(file_key: FileKey) -> Self {
        Self::File(File::new(file_key))
    }

    /// An `audio` message.
    #[must_use]
    pub fn audio(file_key: FileKey) -> Self {
        Self::Audio(Audio::new(file_key))
    }

    /// A `media` (video) message with an optional cover image.
    #[must_use]
    pub fn video(file_key: FileKey, cover: Option<ImageKey>) -> Self {
        Self::Media(Media::new(file_key, cover))
    }

    /// A `sticker` message.
    #[must_use]
    pub fn sticker(file_key: FileKey) -> Self {
        Self::Sticker(Sticker::new(file_key))
    }

    /// A `share_chat` message.
    #[must_use]
    pub fn share_chat(chat_id: ChatId) -> Self {
        Self::ShareChat(ShareChat::new(chat_id))
    }

    /// A `share_user` message.
    #[must_use]
    pub fn share_user(open_id: OpenId) -> Self {
        Self::ShareUser(ShareUser::new(open_id))
    }

    /// An `interactive` (card) message.
    #[must_use]
    pub fn card(card: impl Into<Card>) -> Self {
        Self::Interactive(Box::new(card.into()))
    }

    /// Whether the im/v1 send endpoint accepts this type.
    #[must_use]
    pub fn can_send(&self) -> bool {
        matches!(
            self,
            Self::Text(_)
                | Self::Post(_)
                | Self::Image(_)
                | Self::File(_)
                | Self::Audio(_)
                | Self::Media(_)
                | Self::Sticker(_)
                | Self::Interactive(_)
                | Self::ShareChat(_)
                | Self::ShareUser(_)
                | Self::System(_)
        )
    }

    /// Whether the reply endpoint accepts this type (everything send accepts but `system`).
    #[must_use]
    pub fn can_reply(&self) -> bool {
        self.can_send() && !matches!(self, Self::System(_))
    }

    /// Whether the edit (PUT) endpoint accepts this type: only `text` and `post`.
    #[must_use]
    pub fn can_edit(&self) -> bool {
        matches!(self, Self::Text(_) | Self::Post(_))
    }

    /// Checks the documented limits and rules: sizes (text 150 KB, post and card 30 KB), post
    /// paragraphs, the card 2.0 component count, the divider text width.
    pub fn validate(&self) -> Result<(), ContentError> {
        self.encode_validated().map(drop)
    }

    /// [`encode`](Self::encode), after [`validate`](Self::validate)'s checks, encoding only once.
    pub fn encode_validated(&self) -> Result<String, ContentError> {
        match self {
            Self::Unmodelled {
                msg_type, reason, ..
            } => {
                return Err(ContentError::invalid(format!(
                    "this `{msg_type}` content does not fit its model ({reason}); build it with \
                     the typed value instead of sending received content back"
                )));
            }
            Self::Post(post) => post.check_rules()?,
            Self::Interactive(card) => card.check_rules()?,
            Self::System(system) => system.check_rules()?,
            _ => {}
        }
        let encoded = self.encode();
        let limit = match self {
            Self::Text(_) => Some((
                TEXT_MAX_BYTES,
                "the text content",
                "text is at most 150 KB; split it into several messages",
            )),
            Self::Post(_) => Some((
                POST_MAX_BYTES,
                "the post content",
                "a post is at most 30 KB; split it, or send long text as `text` (150 KB)",
            )),
            Self::Interactive(_) => Some((
                CARD_MAX_BYTES,
                "the card content",
                "a card is at most 30 KB; move data out of the card or split it",
            )),
            _ => None,
        };
        if let Some((limit, what, hint)) = limit
            && encoded.len() > limit
        {
            return Err(ContentError::TooLarge {
                what,
                actual: encoded.len(),
                limit,
                unit: "bytes",
                hint,
            });
        }
        Ok(encoded)
    }
}

macro_rules! from_inner {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for MessageContent {
            fn from(inner: $ty) -> Self {
                Self::$variant(inner)
            }
        }
    )*};
}

from_inner! {
    Text => Text,
    Post => Post,
    Image => Image,
    File => File,
    Folder => Folder,
    Audio => Audio,
    Media => Media,
    Sticker => Sticker,
    ShareChat => ShareChat,
    ShareUser => ShareUser,
    System => System,
    Location => Location,
    VideoChat => VideoChat,
    Todo => Todo,
    Vote => Vote,
    Hongbao => Hongbao,
    MergeForward => MergeForward,
}

/// Plain text: `client.send(chat, "hello")`.
impl From<&str> for MessageContent {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

/// Plain text.
impl From<String> for MessageContent {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

impl From<Card> for MessageContent {
    fn from(card: Card) -> Self {
        Self::card(card)
    }
}

impl From<crate::card::CardV2> for MessageContent {
    fn from(card: crate::card::CardV2) -> Self {
        Self::card(card)
    }
}

impl From<crate::card::CardV1> for MessageContent {
    fn from(card: crate::card::CardV1) -> Self {
        Self::card(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_type_is_listed_as_known() {
        let documented = [
            "text",
            "post",
            "image",
            "file",
            "folder",
            "audio",
            "media",
            "sticker",
            "interactive",
            "share_chat",
            "share_user",
            "system",
            "location",
            "video_chat",
            "todo",
            "vote",
            "hongbao",
            "merge_forward",
            "share_calendar_event",
            "calendar",
            "general_calendar",
        ];
        assert_eq!(MessageContent::KNOWN_TYPES, documented);
        for msg_type in documented {
            assert!(MessageContent::is_known_type(msg_type), "{msg_type}");
        }
        assert!(!MessageContent::is_known_type("hologram"));
    }

    #[test]
    fn content_of_a_known_type_that_is_not_json_is_an_error_naming_the_type() {
        let err = MessageContent::decode("image", r#"{"file_key":"x""#).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`image`"), "{message}");
    }

    #[test]
    fn content_that_does_not_fit_its_model_is_kept_and_never_sent() {
        let content = MessageContent::decode("image", r#"{"file_key":"x"}"#).unwrap();
        let MessageContent::Unmodelled { reason, .. } = &content else {
            panic!("{content:?}")
        };
        assert!(reason.contains("image_key"), "{reason}");
        assert_eq!(content.encode(), r#"{"file_key":"x"}"#);
        let err = content.validate().unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }

    #[test]
    fn oversized_text_is_refused_with_the_limit() {
        let content = MessageContent::text("x".repeat(TEXT_MAX_BYTES));
        let err = content.validate().unwrap_err();
        assert!(
            matches!(
                err,
                ContentError::TooLarge {
                    limit: TEXT_MAX_BYTES,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            MessageContent::text("x".repeat(TEXT_MAX_BYTES - 20))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn send_reply_and_edit_accept_the_documented_types() {
        let text = MessageContent::text("a");
        let system = System::divider("x", [], false).into();
        let image = MessageContent::image(ImageKey::new("img_1"));
        assert!(text.can_send() && text.can_reply() && text.can_edit());
        assert!(MessageContent::can_send(&system) && !system.can_reply());
        assert!(image.can_reply() && !image.can_edit());
        let location = MessageContent::from(Location {
            name: None,
            longitude: None,
            latitude: None,
            extra: serde_json::Map::new(),
        });
        assert!(!location.can_send());
    }
}
