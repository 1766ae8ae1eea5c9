//! Who a message goes to: one value holding the id and its type, so that `receive_id_type` can
//! never disagree with the id.

use lark_content::{ChatId, Email, OpenId, UnionId, UserId};
use std::fmt;

/// A message's receiver.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Receiver {
    /// A user, by open_id.
    Open(OpenId),
    /// A user, by union_id.
    Union(UnionId),
    /// A user, by user_id.
    User(UserId),
    /// A user, by email address.
    Email(Email),
    /// A chat (group or p2p), by chat_id.
    Chat(ChatId),
}

impl Receiver {
    /// A chat.
    #[must_use]
    pub fn chat(id: ChatId) -> Self {
        Self::Chat(id)
    }

    /// A user by open_id.
    #[must_use]
    pub fn open(id: OpenId) -> Self {
        Self::Open(id)
    }

    /// The `receive_id_type` query parameter for this receiver.
    #[must_use]
    pub fn id_type(&self) -> &'static str {
        match self {
            Self::Open(_) => "open_id",
            Self::Union(_) => "union_id",
            Self::User(_) => "user_id",
            Self::Email(_) => "email",
            Self::Chat(_) => "chat_id",
        }
    }

    /// The `receive_id`.
    #[must_use]
    pub fn id(&self) -> &str {
        match self {
            Self::Open(id) => id.as_str(),
            Self::Union(id) => id.as_str(),
            Self::User(id) => id.as_str(),
            Self::Email(id) => id.as_str(),
            Self::Chat(id) => id.as_str(),
        }
    }
}

macro_rules! receiver_from {
    ($($ty:ty => $variant:ident),*) => {$(
        impl From<$ty> for Receiver {
            fn from(id: $ty) -> Self {
                Self::$variant(id)
            }
        }
    )*};
}

receiver_from!(OpenId => Open, UnionId => Union, UserId => User, Email => Email, ChatId => Chat);

impl fmt::Display for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self {
            Self::Open(_) => "open",
            Self::Union(_) => "union",
            Self::User(_) => "user",
            Self::Email(_) => "email",
            Self::Chat(_) => "chat",
        };
        write!(f, "{prefix}:{}", self.id())
    }
}

/// Why a `kind:id` receiver could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not a receiver; write oc_… (a chat), ou_… (an open_id), on_… (a union_id), user:<user_id> or email:<address>"
)]
pub struct ParseReceiverError(String);

impl std::str::FromStr for Receiver {
    type Err = ParseReceiverError;

    /// Reads `chat:oc_…`, `open:ou_…`, `union:on_…`, `user:…` or `email:…`; and an id alone
    /// where the platform's prefix says its kind (`oc_…` a chat, `ou_…` an open_id, `on_…` a
    /// union_id) or an address alone (it has an `@`). A user_id has no such prefix, so it
    /// always needs `user:`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((kind, id)) = s.split_once(':') else {
            return Ok(if s.starts_with("oc_") && s.len() > 3 {
                Self::Chat(ChatId::new(s))
            } else if s.starts_with("ou_") && s.len() > 3 {
                Self::Open(OpenId::new(s))
            } else if s.starts_with("on_") && s.len() > 3 {
                Self::Union(UnionId::new(s))
            } else if s.contains('@') && !s.starts_with('@') && !s.ends_with('@') {
                Self::Email(Email::new(s))
            } else {
                return Err(ParseReceiverError(s.to_owned()));
            });
        };
        if id.is_empty() {
            return Err(ParseReceiverError(s.to_owned()));
        }
        Ok(match kind {
            "chat" => Self::Chat(ChatId::new(id)),
            "open" => Self::Open(OpenId::new(id)),
            "union" => Self::Union(UnionId::new(id)),
            "user" => Self::User(UserId::new(id)),
            "email" => Self::Email(Email::new(id)),
            _ => return Err(ParseReceiverError(s.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_read_and_print_as_kind_colon_id() {
        for text in [
            "chat:oc_1",
            "open:ou_1",
            "union:on_1",
            "user:e33ggbyz",
            "email:a@b.c",
        ] {
            let receiver: Receiver = text.parse().unwrap();
            assert_eq!(receiver.to_string(), text);
        }
        assert!("group:oc_1".parse::<Receiver>().is_err());
        assert!("chat:".parse::<Receiver>().is_err());
    }

    #[test]
    fn an_id_whose_prefix_says_its_kind_reads_alone() {
        for (text, kind) in [
            ("oc_1", "chat:oc_1"),
            ("ou_1", "open:ou_1"),
            ("on_1", "union:on_1"),
            ("a@b.c", "email:a@b.c"),
        ] {
            assert_eq!(text.parse::<Receiver>().unwrap().to_string(), kind);
        }
        // A user_id has no prefix of its own, and a bare prefix is no id.
        for text in ["e33ggbyz", "oc_", "ou_", "@b.c", "a@", ""] {
            assert!(text.parse::<Receiver>().is_err(), "{text}");
        }
    }

    #[test]
    fn the_id_type_always_matches_the_id() {
        assert_eq!(Receiver::from(ChatId::new("oc_1")).id_type(), "chat_id");
        assert_eq!(Receiver::from(Email::new("a@b.c")).id_type(), "email");
    }
}
