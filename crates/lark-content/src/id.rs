//! Typed identifiers.
//!
//! Every id the platform hands out is a string, and they are easy to mix up: an `open_id` where a
//! `chat_id` belongs fails only at the platform, with a code. Here each kind is its own type,
//! `Id<ChatMarker>` aliased as [`ChatId`], and so on, so the compiler catches the mix-up. All of
//! them serialize as plain strings.
//!
//! Ids are never validated on the way in: a value read from the platform must not fail because a
//! prefix changed. The prefixes seen in the documentation are listed on each alias.
//!
//! ```compile_fail
//! use lark_content::{ChatId, MessageId};
//! fn recall(message: &MessageId) {}
//! recall(&ChatId::new("oc_1")); // a chat id is not a message id
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// What kind of id a marker type stands for.
pub trait IdKind {
    /// The name shown by `Debug`, e.g. `ChatId`.
    const NAME: &'static str;
}

/// An identifier of one kind, `M`. See the module docs.
pub struct Id<M> {
    value: String,
    kind: PhantomData<fn() -> M>,
}

impl<M> Id<M> {
    /// Wraps a string as an id of this kind.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            kind: PhantomData,
        }
    }

    /// The id as the platform writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The id as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.value
    }

    /// Whether the id is the empty string (which the platform never issues).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Reinterprets this id as another kind. Only for the rare places where the platform itself
    /// reuses one value as two kinds (an `open_id` in a mention's `user_id`, say).
    #[must_use]
    pub fn cast<N>(self) -> Id<N> {
        Id::new(self.value)
    }
}

impl<M> Clone for Id<M> {
    fn clone(&self) -> Self {
        Self::new(self.value.clone())
    }
}

impl<M> PartialEq for Id<M> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<M> Eq for Id<M> {}

impl<M> PartialEq<str> for Id<M> {
    fn eq(&self, other: &str) -> bool {
        self.value == other
    }
}

impl<M> PartialEq<&str> for Id<M> {
    fn eq(&self, other: &&str) -> bool {
        self.value == *other
    }
}

impl<M> PartialOrd for Id<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<M> Ord for Id<M> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<M> Hash for Id<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<M> Borrow<str> for Id<M> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

impl<M> AsRef<str> for Id<M> {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl<M: IdKind> fmt::Debug for Id<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(M::NAME).field(&self.value).finish()
    }
}

impl<M> fmt::Display for Id<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl<M> From<String> for Id<M> {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl<M> From<&str> for Id<M> {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl<M> From<&String> for Id<M> {
    fn from(value: &String) -> Self {
        Self::new(value.as_str())
    }
}

impl<M> std::str::FromStr for Id<M> {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(value))
    }
}

impl<M> Serialize for Id<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de, M> Deserialize<'de> for Id<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

macro_rules! id_kinds {
    ($( $(#[$meta:meta])* $alias:ident => $marker:ident, )*) => {$(
        #[doc = concat!("Marker for [`", stringify!($alias), "`].")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $marker {}
        impl IdKind for $marker {
            const NAME: &'static str = stringify!($alias);
        }
        $(#[$meta])*
        pub type $alias = Id<$marker>;
    )*};
}

id_kinds! {
    /// A user's id within one app (`ou_…`).
    OpenId => OpenMarker,
    /// A user's id across the apps of one developer (`on_…`).
    UnionId => UnionMarker,
    /// A user's id within a tenant (the employee id; no fixed prefix).
    UserId => UserMarker,
    /// A chat (`oc_…`).
    ChatId => ChatMarker,
    /// A message (`om_…`).
    MessageId => MessageMarker,
    /// A thread (`omt_…`).
    ThreadId => ThreadMarker,
    /// An uploaded image (`img_…`, `img_v2_…`, `img_v3_…`).
    ImageKey => ImageMarker,
    /// An uploaded file, audio, video or sticker (`file_v2_…`, `file_v3_…`).
    FileKey => FileMarker,
    /// An app (`cli_…`).
    AppId => AppMarker,
    /// A tenant (organisation).
    TenantKey => TenantMarker,
    /// A reaction on a message.
    ReactionId => ReactionMarker,
    /// An event delivery (the v2 `header.event_id`, or the v1 `uuid`).
    EventId => EventMarker,
    /// A user's email address, usable as a message receiver.
    Email => EmailMarker,
    /// A card entity created through the card kit.
    CardId => CardMarker,
    /// A card template built in the card builder.
    TemplateId => TemplateMarker,
}

/// The ids of one user as events carry them: `{"union_id", "user_id", "open_id"}`. Which of them
/// are present depends on the app's scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserIds {
    /// The user's `open_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<OpenId>,
    /// The user's `union_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub union_id: Option<UnionId>,
    /// The user's `user_id` (needs the `contact:user.employee_id:readonly` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
}

impl UserIds {
    /// Ids holding only an `open_id`.
    #[must_use]
    pub fn open(open_id: OpenId) -> Self {
        Self {
            open_id: Some(open_id),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = ChatId::new("oc_5ad11d72b830411d72b836c20");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"oc_5ad11d72b830411d72b836c20\""
        );
        let back: ChatId = serde_json::from_str("\"oc_5ad11d72b830411d72b836c20\"").unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn debug_names_the_kind() {
        assert_eq!(format!("{:?}", OpenId::new("ou_1")), "OpenId(\"ou_1\")");
    }

    #[test]
    fn ids_key_maps_by_str() {
        let mut map = std::collections::HashMap::new();
        map.insert(MessageId::new("om_1"), 1);
        assert_eq!(map.get("om_1"), Some(&1));
    }
}
