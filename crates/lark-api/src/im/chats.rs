//! Chats: create, get, update, delete (disband), list the bot's chats.

use super::model::{Chat, ChatSummary, I18nNames, UserIdType};
use crate::answer::endpoint;
use crate::answer::{Data, Nothing, PageOf};
use crate::endpoint::{Body, Query};
use crate::error::BuildError;
use crate::im::messages::check_uuid;
use lark_content::limits::{BOTS_PER_CALL_MAX, MEMBERS_PER_CALL_MAX};
use lark_content::{AppId, ChatId, OpenId};
use serde::Serialize;

/// Most chats a page of the chat list holds.
pub const CHATS_PAGE_MAX: u32 = 100;

/// The settings a chat is created with. Settings not listed go in `other`, as the platform
/// names them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChatSettings {
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An avatar image key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Names by locale (`zh_cn`, `en_us`, `ja_jp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub i18n_names: Option<I18nNames>,
    /// The owner, as the chat's `user_id_type` names users; the bot when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Users to add, at most 50, as `user_id_type` names them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_id_list: Vec<String>,
    /// Bots to add by app_id, at most 5.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bot_id_list: Vec<AppId>,
    /// `chat` or `thread`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_message_type: Option<String>,
    /// `group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_mode: Option<String>,
    /// `private` or `public`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_type: Option<String>,
    /// Who sees join messages: `only_owner`, `all_members` or `not_anyone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_message_visibility: Option<String>,
    /// Who sees leave messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leave_message_visibility: Option<String>,
    /// `no_approval_required` or `approval_required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_approval: Option<String>,
    /// Any other setting, by its wire name.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `POST /open-apis/im/v1/chats`: creates a group chat with the bot in it.
///
/// The `uuid` makes creation idempotent: the same uuid and owner make one chat within 10 hours.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct CreateChat {
    /// The settings.
    pub settings: ChatSettings,
    /// How `owner_id` and `user_id_list` name users (default `open_id`).
    pub user_id_type: Option<UserIdType>,
    /// Make the bot a chat manager.
    pub set_bot_manager: bool,
    /// The idempotency key (at most 50 characters).
    pub uuid: Option<String>,
}

impl CreateChat {
    /// A private group named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            settings: ChatSettings {
                name: Some(name.into()),
                chat_mode: Some("group".to_owned()),
                chat_type: Some("private".to_owned()),
                ..ChatSettings::default()
            },
            user_id_type: None,
            set_bot_manager: false,
            uuid: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.settings.description = Some(description.into());
        self
    }

    /// Adds users by open_id.
    pub fn users(mut self, users: impl IntoIterator<Item = OpenId>) -> Self {
        self.user_id_type = Some(UserIdType::OpenId);
        self.settings
            .user_id_list
            .extend(users.into_iter().map(OpenId::into_string));
        self
    }

    /// Sets the idempotency key.
    pub fn uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }
}

endpoint!(CreateChat: POST "/open-apis/im/v1/chats" => Data<Chat>, uuid {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
        if self.set_bot_manager {
            query.push("set_bot_manager", "true");
        }
        query.push_display("uuid", self.uuid.as_ref());
    }

    fn body(&self) -> Result<Body, BuildError> {
        check_uuid(self.uuid.as_deref())?;
        if self.settings.user_id_list.len() > MEMBERS_PER_CALL_MAX {
            return Err(BuildError::InvalidParam {
                field: "user_id_list",
                reason: format!(
                    "has {} users; a chat is created with at most {MEMBERS_PER_CALL_MAX}, add the rest with AddMembers",
                    self.settings.user_id_list.len()
                ),
            });
        }
        if self.settings.bot_id_list.len() > BOTS_PER_CALL_MAX {
            return Err(BuildError::InvalidParam {
                field: "bot_id_list",
                reason: format!(
                    "has {} bots; at most {BOTS_PER_CALL_MAX}",
                    self.settings.bot_id_list.len()
                ),
            });
        }
        Ok(Body::json(&self.settings))
    }
});

/// `GET /open-apis/im/v1/chats/:chat_id`: a chat's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct GetChat {
    /// The chat.
    pub chat_id: ChatId,
    /// How the owner and managers are named.
    pub user_id_type: Option<UserIdType>,
}

impl GetChat {
    /// Fetches `chat_id`.
    pub fn new(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            user_id_type: None,
        }
    }
}

endpoint!(GetChat: GET "/open-apis/im/v1/chats/:chat_id" => Data<Chat>, ids(chat_id) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
    }
});

/// The settings a chat update changes; only those set are sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChatUpdate {
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An avatar image key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Names by locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub i18n_names: Option<I18nNames>,
    /// A new owner (transfers ownership).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Who may add members: `only_owner` or `all_members`. Set together with
    /// `share_card_permission`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_member_permission: Option<String>,
    /// Whether the chat card may be shared: `allowed` or `not_allowed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_card_permission: Option<String>,
    /// Who may @all: `only_owner` or `all_members`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_all_permission: Option<String>,
    /// Who may edit the chat's information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_permission: Option<String>,
    /// `private` or `public`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_type: Option<String>,
    /// Any other setting, by its wire name.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `PUT /open-apis/im/v1/chats/:chat_id`: changes a chat's settings.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct UpdateChat {
    /// The chat.
    pub chat_id: ChatId,
    /// What changes.
    pub update: ChatUpdate,
    /// How `owner_id` names the user.
    pub user_id_type: Option<UserIdType>,
}

impl UpdateChat {
    /// Changes `chat_id` as `update` says.
    pub fn new(chat_id: ChatId, update: ChatUpdate) -> Self {
        Self {
            chat_id,
            update,
            user_id_type: None,
        }
    }

    /// Renames the chat.
    pub fn rename(chat_id: ChatId, name: impl Into<String>) -> Self {
        Self::new(
            chat_id,
            ChatUpdate {
                name: Some(name.into()),
                ..ChatUpdate::default()
            },
        )
    }
}

endpoint!(UpdateChat: PUT "/open-apis/im/v1/chats/:chat_id" => Nothing, ids(chat_id) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
    }

    fn body(&self) -> Result<Body, BuildError> {
        let body = Body::json(&self.update);
        if matches!(&body, Body::Json(bytes) if bytes.as_ref() == b"{}") {
            return Err(BuildError::InvalidParam {
                field: "update",
                reason: "changes nothing; set at least one setting".to_owned(),
            });
        }
        Ok(body)
    }
});

crate::answer::by_id! {
    /// `DELETE /open-apis/im/v1/chats/:chat_id`: disbands a chat (the bot must own it).
    pub struct DeleteChat {
        /// The chat.
        pub chat_id: ChatId,
    }
    /// Disbands `chat_id`.
    fn new;
    DELETE "/open-apis/im/v1/chats/:chat_id" => Nothing
}

lark_content::open_enum! {
    /// The order of the chat list.
    pub enum ChatSort {
        /// Oldest first.
        ByCreateTimeAsc = "ByCreateTimeAsc",
        /// Most recently active first.
        ByActiveTimeDesc = "ByActiveTimeDesc",
    }
}

/// `GET /open-apis/im/v1/chats`: the chats the bot (or user) is in, a page at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct ListChats {
    /// How owners are named.
    pub user_id_type: Option<UserIdType>,
    /// The order.
    pub sort: Option<ChatSort>,
    /// Items per page, 1 to 100 (default 20).
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
}

impl ListChats {
    /// Every chat the bot is in.
    pub fn new() -> Self {
        Self::default()
    }
}

endpoint!(ListChats: GET "/open-apis/im/v1/chats" => PageOf<ChatSummary>, paged(CHATS_PAGE_MAX) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
        query.push_display("sort_type", self.sort.as_ref());
    }
});
