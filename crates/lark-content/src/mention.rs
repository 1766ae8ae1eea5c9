//! Mentions as received messages carry them.

use crate::id::{AppId, OpenId, TenantKey, UnionId, UserId, UserIds};
use crate::object::Key;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

crate::open_enum! {
    /// Who was mentioned.
    pub enum MentionedType {
        /// A person.
        User = "user",
        /// A bot.
        Bot = "bot",
    }
}

/// One entry of a received message's `mentions`: the `@_user_N` placeholder in the text, and who
/// it stands for.
///
/// Events write the ids as an object (`"id": {"open_id": …, "union_id": …, "user_id": …}`); the
/// REST message endpoints write one id and its type (`"id": "ou_…", "id_type": "open_id"`). Both
/// read into this one type; it writes the event form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Mention {
    /// The placeholder in the text, e.g. `@_user_1`.
    pub key: String,
    /// The mentioned user's ids.
    pub id: UserIds,
    /// The app id, when the REST endpoints report a bot by `app_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<AppId>,
    /// The display name.
    pub name: String,
    /// The mentioned user's tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_key: Option<TenantKey>,
    /// `user` or `bot` (events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mentioned_type: Option<MentionedType>,
}

impl Mention {
    /// Whether this mention is the `@_all` placeholder.
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.key == crate::text::AT_ALL_PLACEHOLDER
    }
}

enum RawId {
    Ids(UserIds),
    Single(String),
}

impl<'de> Deserialize<'de> for RawId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = RawId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id string or an object of ids")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawId, E> {
                Ok(RawId::Single(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawId, E> {
                Ok(RawId::Single(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawId, A::Error> {
                UserIds::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawId::Ids)
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

impl<'de> Deserialize<'de> for Mention {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MentionVisitor;
        impl<'de> Visitor<'de> for MentionVisitor {
            type Value = Mention;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mention object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Mention, A::Error> {
                let mut mention = Mention::default();
                let mut raw_id = None;
                let mut id_type: Option<String> = None;
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        "key" => mention.key = map.next_value()?,
                        "id" => raw_id = map.next_value()?,
                        "id_type" => id_type = map.next_value()?,
                        "name" => {
                            mention.name = map.next_value::<Option<String>>()?.unwrap_or_default();
                        }
                        "tenant_key" => mention.tenant_key = map.next_value()?,
                        "mentioned_type" => mention.mentioned_type = map.next_value()?,
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                match raw_id {
                    Some(RawId::Ids(ids)) => mention.id = ids,
                    Some(RawId::Single(id)) => match id_type.as_deref() {
                        Some("union_id") => mention.id.union_id = Some(UnionId::new(id)),
                        Some("user_id") => mention.id.user_id = Some(UserId::new(id)),
                        Some("app_id") => mention.app_id = Some(AppId::new(id)),
                        // The REST endpoints default to open_id when no user_id_type is asked for.
                        _ => mention.id.open_id = Some(OpenId::new(id)),
                    },
                    None => {}
                }
                Ok(mention)
            }
        }
        deserializer.deserialize_map(MentionVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_event_form_of_a_mention() {
        let json = r#"{"key":"@_user_1","id":{"union_id":"on_8ed6aa67826108097d9ee143816345","user_id":"e33ggbyz","open_id":"ou_84aad35d084aa403a838cf73ee18467"},"mentioned_type":"user","name":"Tom","tenant_key":"736588c9260f175e"}"#;
        let mention: Mention = serde_json::from_str(json).unwrap();
        assert_eq!(mention.key, "@_user_1");
        assert_eq!(mention.name, "Tom");
        assert_eq!(
            mention.id.open_id.as_ref().unwrap().as_str(),
            "ou_84aad35d084aa403a838cf73ee18467"
        );
        assert_eq!(mention.id.user_id.as_ref().unwrap().as_str(), "e33ggbyz");
        assert_eq!(mention.mentioned_type, Some(MentionedType::User));
    }

    #[test]
    fn reads_the_rest_form_of_a_mention() {
        let json = r#"{"key":"@_user_1","id":"ou_155184d1e73cbfb8973e5a9e698e74f2","id_type":"open_id","name":"Tom","tenant_key":"736588c9260f175d"}"#;
        let mention: Mention = serde_json::from_str(json).unwrap();
        assert_eq!(
            mention.id.open_id.unwrap().as_str(),
            "ou_155184d1e73cbfb8973e5a9e698e74f2"
        );

        let bot =
            r#"{"key":"@_user_2","id":"cli_9f5343c580712544","id_type":"app_id","name":"Bot"}"#;
        let mention: Mention = serde_json::from_str(bot).unwrap();
        assert_eq!(mention.app_id.unwrap().as_str(), "cli_9f5343c580712544");
        assert_eq!(mention.id, UserIds::default());
    }
}
