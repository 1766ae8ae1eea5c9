#![doc = include_str!("../README.md")]

mod content;
mod error;
mod id;
mod mention;
mod object;
mod other;
mod render;
mod system;

pub mod card;
pub mod limits;
pub mod markdown;
pub mod media;
pub mod post;
pub mod text;

pub use card::Card;
pub use content::{MessageContent, msg_type};
pub use error::ContentError;
pub use id::{
    AppId, CardId, ChatId, Email, EventId, FileKey, Id, IdKind, ImageKey, MessageId, OpenId,
    ReactionId, TemplateId, TenantKey, ThreadId, UnionId, UserId, UserIds,
};
pub use id::{
    AppMarker, CardMarker, ChatMarker, EmailMarker, EventMarker, FileMarker, ImageMarker,
    MessageMarker, OpenMarker, ReactionMarker, TemplateMarker, TenantMarker, ThreadMarker,
    UnionMarker, UserMarker,
};
pub use media::{Audio, File, Folder, Image, Media, Sticker};
pub use mention::{Mention, MentionedType};
pub use other::{
    CalendarEvent, Hongbao, Location, MergeForward, ShareChat, ShareUser, Todo, VideoChat, Vote,
};
pub use post::{Post, PostBody, PostElement, TextStyle};
pub use system::{DividerOptions, DividerParams, DividerText, System, SystemDivider, SystemNotice};
pub use text::{MentionTarget, Segment, Segments, Text, TextBuilder};
