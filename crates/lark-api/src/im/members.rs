//! Chat members: add, remove, list, and "is the caller in the chat".

use super::model::{ChatMember, MemberIdType};
use crate::answer::endpoint;
use crate::answer::{Answer, Data};
use crate::endpoint::{Body, Query, parse_data};
use crate::error::{BuildError, Error};
use crate::pagination::{empty_as_none, null_as_empty};
use bytes::Bytes;
use lark_content::ChatId;
use lark_content::limits::MEMBERS_PER_CALL_MAX;
use serde::Deserialize;

/// Most members a page of the member list holds.
pub const MEMBERS_PAGE_MAX: u32 = 100;

fn check_id_list(ids: &[String]) -> Result<(), BuildError> {
    if ids.is_empty() {
        return Err(BuildError::InvalidParam {
            field: "id_list",
            reason: "is empty; name at least one member".to_owned(),
        });
    }
    if ids.len() > MEMBERS_PER_CALL_MAX {
        return Err(BuildError::InvalidParam {
            field: "id_list",
            reason: format!(
                "has {} ids; at most {MEMBERS_PER_CALL_MAX} per call, split the list",
                ids.len()
            ),
        });
    }
    Ok(())
}

/// What adding members answers: the ids that were not added, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct AddMembersOutput {
    /// Ids that exist but could not be added: resigned users, and with `succeed_type` 1 also
    /// users the app cannot see or who have not activated it.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub invalid_id_list: Vec<String>,
    /// Ids that name nobody.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub not_existed_id_list: Vec<String>,
    /// Ids waiting for the owner's approval.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub pending_approval_id_list: Vec<String>,
}

/// `POST /open-apis/im/v1/chats/:chat_id/members`: adds users (at most 50) or bots (by app_id).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct AddMembers {
    /// The chat.
    pub chat_id: ChatId,
    /// How `id_list` names members (default `open_id`; `app_id` for bots).
    pub member_id_type: Option<MemberIdType>,
    /// What an unusable id does to the call (docs/protocol.md §3.1, from the chat-member
    /// create page): 0 (the default) — an id that names nobody or cannot be seen fails the
    /// call, resigned users are skipped and listed in `invalid_id_list`; 1 — whoever can be
    /// added is added and the rest listed (ids naming nobody in `not_existed_id_list`); 2 — any
    /// unusable id fails the call.
    pub succeed_type: Option<u8>,
    /// The members.
    pub id_list: Vec<String>,
}

impl AddMembers {
    /// Adds users by open_id.
    pub fn open_ids(
        chat_id: ChatId,
        users: impl IntoIterator<Item = lark_content::OpenId>,
    ) -> Self {
        Self {
            chat_id,
            member_id_type: Some(MemberIdType::OpenId),
            succeed_type: None,
            id_list: users
                .into_iter()
                .map(lark_content::OpenId::into_string)
                .collect(),
        }
    }

    /// Adds bots by app_id.
    pub fn bots(chat_id: ChatId, bots: impl IntoIterator<Item = lark_content::AppId>) -> Self {
        Self {
            chat_id,
            member_id_type: Some(MemberIdType::AppId),
            succeed_type: None,
            id_list: bots
                .into_iter()
                .map(lark_content::AppId::into_string)
                .collect(),
        }
    }
}

endpoint!(AddMembers: POST "/open-apis/im/v1/chats/:chat_id/members" => Data<AddMembersOutput>, ids(chat_id) {
    fn query(&self, query: &mut Query) {
        query.push_display("member_id_type", self.member_id_type.as_ref());
        query.push_display("succeed_type", self.succeed_type);
    }

    fn body(&self) -> Result<Body, BuildError> {
        check_id_list(&self.id_list)?;
        if let Some(succeed) = self.succeed_type
            && succeed > 2
        {
            return Err(BuildError::InvalidParam {
                field: "succeed_type",
                reason: format!("is {succeed}; it is 0, 1 or 2"),
            });
        }
        Ok(Body::json(&serde_json::json!({ "id_list": self.id_list })))
    }
});

/// What removing members answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct RemoveMembersOutput {
    /// Ids that are not valid.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub invalid_id_list: Vec<String>,
}

/// `DELETE /open-apis/im/v1/chats/:chat_id/members`: removes users (at most 50) or bots (at
/// most 5).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RemoveMembers {
    /// The chat.
    pub chat_id: ChatId,
    /// How `id_list` names members.
    pub member_id_type: Option<MemberIdType>,
    /// The members.
    pub id_list: Vec<String>,
}

impl RemoveMembers {
    /// Removes users by open_id.
    pub fn open_ids(
        chat_id: ChatId,
        users: impl IntoIterator<Item = lark_content::OpenId>,
    ) -> Self {
        Self {
            chat_id,
            member_id_type: Some(MemberIdType::OpenId),
            id_list: users
                .into_iter()
                .map(lark_content::OpenId::into_string)
                .collect(),
        }
    }
}

endpoint!(RemoveMembers: DELETE "/open-apis/im/v1/chats/:chat_id/members" => Data<RemoveMembersOutput>, ids(chat_id) {
    fn query(&self, query: &mut Query) {
        query.push_display("member_id_type", self.member_id_type.as_ref());
    }

    fn body(&self) -> Result<Body, BuildError> {
        check_id_list(&self.id_list)?;
        Ok(Body::json(&serde_json::json!({ "id_list": self.id_list })))
    }
});

/// A page of chat members. The platform leaves bots out and treats `page_size` as a hint.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct MembersPage {
    /// The members.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<ChatMember>,
    /// Whether there are more.
    #[serde(default)]
    pub has_more: bool,
    /// The next page's token.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub page_token: Option<String>,
    /// How many members the chat has.
    #[serde(default)]
    pub member_total: Option<u64>,
}

/// `GET /open-apis/im/v1/chats/:chat_id/members`: a chat's members, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ListMembers {
    /// The chat.
    pub chat_id: ChatId,
    /// How members are named (default `open_id`).
    pub member_id_type: Option<MemberIdType>,
    /// Items per page, 1 to 100.
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
}

impl ListMembers {
    /// Every member of `chat_id`.
    pub fn new(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            member_id_type: None,
            page_size: None,
            page_token: None,
        }
    }
}

endpoint!(ListMembers: GET "/open-apis/im/v1/chats/:chat_id/members" => Data<MembersPage>, ids(chat_id), paged(MEMBERS_PAGE_MAX) {
    fn query(&self, query: &mut Query) {
        query.push_display("member_id_type", self.member_id_type.as_ref());
    }
});

impl crate::pagination::IntoItems for MembersPage {
    type Item = ChatMember;

    fn into_items(self) -> (Vec<ChatMember>, Option<String>) {
        let next = if self.has_more { self.page_token } else { None };
        (self.items, next)
    }
}

#[derive(Deserialize)]
struct IsInChatData {
    #[serde(default)]
    is_in_chat: bool,
}

/// The answer of [`IsInChat`]: `data.is_in_chat`.
#[derive(Debug)]
pub struct InChat;

impl Answer for InChat {
    type Output = bool;

    fn read(response: http::Response<Bytes>) -> Result<bool, Error> {
        parse_data::<IsInChatData>(&response).map(|data| data.is_in_chat)
    }
}

crate::answer::by_id! {
    /// `GET /open-apis/im/v1/chats/:chat_id/members/is_in_chat`: whether the caller (the bot, for a
    /// tenant token) is in the chat.
    pub struct IsInChat {
        /// The chat.
        pub chat_id: ChatId,
    }
    /// Asks about `chat_id`.
    fn new;
    GET "/open-apis/im/v1/chats/:chat_id/members/is_in_chat" => InChat
}
