//! What a chat holds beside its messages: its announcement, managers, who may speak, the
//! message on top, its share link; and finding chats and joining one.

use super::model::{ChatSummary, MemberIdType, UserIdType};
use crate::answer::endpoint;
use crate::answer::{Data, Nothing, PageOf};
use crate::endpoint::{Body, Endpoint, PathIds, Query};
use crate::error::BuildError;
use http::Method;
use lark_content::{ChatId, MessageId};
use serde::{Deserialize, Serialize};

/// A chat's announcement (the older, document-less kind).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Announcement {
    /// The content, as the platform's document JSON.
    #[serde(default)]
    pub content: String,
    /// The revision, for [`PatchAnnouncement`].
    #[serde(default)]
    pub revision: String,
    /// When it was created, in seconds since the epoch, as a string.
    #[serde(default)]
    pub create_time: Option<String>,
    /// When it was last changed.
    #[serde(default)]
    pub update_time: Option<String>,
    /// Who owns it.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// The kind of `owner_id`.
    #[serde(default)]
    pub owner_id_type: Option<String>,
    /// Who changed it last.
    #[serde(default)]
    pub modifier_id: Option<String>,
    /// The kind of `modifier_id`.
    #[serde(default)]
    pub modifier_id_type: Option<String>,
}

/// `GET /open-apis/im/v1/chats/:chat_id/announcement`: a chat's announcement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct GetAnnouncement {
    /// The chat.
    pub chat_id: ChatId,
    /// The kind of ids in the answer.
    pub user_id_type: Option<UserIdType>,
}

impl GetAnnouncement {
    /// `chat_id`'s announcement.
    pub fn new(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            user_id_type: None,
        }
    }
}

endpoint!(GetAnnouncement: GET "/open-apis/im/v1/chats/:chat_id/announcement" => Data<Announcement>, ids(chat_id) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
    }
});

/// `PATCH /open-apis/im/v1/chats/:chat_id/announcement`: changes a chat's announcement from
/// the revision it was read at, with the document change requests the platform defines.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct PatchAnnouncement {
    /// The chat.
    pub chat_id: ChatId,
    /// The revision the changes apply to ([`Announcement::revision`]).
    pub revision: String,
    /// The changes, each a serialized document change request.
    pub requests: Vec<String>,
}

impl PatchAnnouncement {
    /// Applies `requests` to `chat_id`'s announcement at `revision`.
    pub fn new(chat_id: ChatId, revision: impl Into<String>, requests: Vec<String>) -> Self {
        Self {
            chat_id,
            revision: revision.into(),
            requests,
        }
    }
}

endpoint!(PatchAnnouncement: PATCH "/open-apis/im/v1/chats/:chat_id/announcement" => Nothing, ids(chat_id) {
    fn body(&self) -> Result<Body, BuildError> {
        if self.revision.trim().is_empty() {
            return Err(BuildError::InvalidParam {
                field: "revision",
                reason: "is empty; pass the revision GetAnnouncement answered".to_owned(),
            });
        }
        Ok(Body::json(&serde_json::json!({
            "revision": self.revision,
            "requests": self.requests,
        })))
    }
});

/// Who manages a chat after a change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Managers {
    /// The users who manage the chat.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub chat_managers: Vec<String>,
    /// The bots who manage the chat.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub chat_bot_managers: Vec<String>,
}

/// Adding or removing managers: the two differ only in their path.
pub trait ManagerChange {
    /// The endpoint's path template.
    const PATH: &'static str;
}

/// Makes members managers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Add;
/// Makes managers plain members again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remove;

impl ManagerChange for Add {
    const PATH: &'static str = "/open-apis/im/v1/chats/:chat_id/managers/add_managers";
}
impl ManagerChange for Remove {
    const PATH: &'static str = "/open-apis/im/v1/chats/:chat_id/managers/delete_managers";
}

/// `POST /open-apis/im/v1/chats/:chat_id/managers/add_managers` (or `delete_managers`)
/// `?member_id_type=…`: makes members managers of a chat, or managers plain members again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ChangeManagers<C: ManagerChange> {
    /// The chat.
    pub chat_id: ChatId,
    /// The members (open_ids by default; app_ids for bots).
    pub manager_ids: Vec<String>,
    /// The kind of ids in `manager_ids`.
    pub member_id_type: MemberIdType,
    change: std::marker::PhantomData<C>,
}

impl<C: ManagerChange> ChangeManagers<C> {
    /// Changes `manager_ids` (open_ids) of `chat_id`.
    pub fn new(chat_id: ChatId, manager_ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            chat_id,
            manager_ids: manager_ids.into_iter().map(Into::into).collect(),
            member_id_type: MemberIdType::OpenId,
            change: std::marker::PhantomData,
        }
    }

    /// The ids are of `kind` (`app_id` for bots).
    pub fn member_id_type(mut self, kind: MemberIdType) -> Self {
        self.member_id_type = kind;
        self
    }
}

impl<C: ManagerChange> Endpoint for ChangeManagers<C> {
    type Output = Managers;
    type Answer = Data<Managers>;
    const METHOD: Method = Method::POST;
    const PATH: &'static str = C::PATH;

    fn path_ids(&self) -> PathIds<'_> {
        PathIds::one(self.chat_id.as_str())
    }

    fn query(&self, query: &mut Query) {
        query.push("member_id_type", self.member_id_type.as_str());
    }

    fn body(&self) -> Result<Body, BuildError> {
        if self.manager_ids.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "manager_ids",
                reason: "is empty; name at least one member".to_owned(),
            });
        }
        Ok(Body::json(
            &serde_json::json!({"manager_ids": self.manager_ids}),
        ))
    }

    /// Making a manager a manager again changes nothing.
    fn is_idempotent(&self) -> bool {
        true
    }
}

/// A member who may speak in a chat whose speech is restricted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Moderator {
    /// The kind of `user_id`.
    #[serde(default)]
    pub user_id_type: Option<String>,
    /// The member.
    #[serde(default)]
    pub user_id: String,
    /// The member's tenant.
    #[serde(default)]
    pub tenant_key: Option<String>,
}

/// Who may speak in a chat: one page of it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Moderation {
    /// `all_members`, `only_owner` or `moderator_list`.
    #[serde(default)]
    pub moderation_setting: Option<String>,
    /// With `moderator_list`: who may speak.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub items: Vec<Moderator>,
    /// Whether there are more.
    #[serde(default)]
    pub has_more: bool,
    /// The next page's token.
    #[serde(default)]
    pub page_token: Option<String>,
}

impl crate::pagination::IntoItems for Moderation {
    type Item = Moderator;

    fn into_items(self) -> (Vec<Moderator>, Option<String>) {
        let next = self
            .page_token
            .filter(|token| self.has_more && !token.is_empty());
        (self.items, next)
    }
}

/// `GET /open-apis/im/v1/chats/:chat_id/moderation`: who may speak in a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct GetModeration {
    /// The chat.
    pub chat_id: ChatId,
    /// The kind of ids in the answer.
    pub user_id_type: Option<UserIdType>,
    /// Items per page, 1 to 100.
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
}

impl GetModeration {
    /// Who may speak in `chat_id`.
    pub fn new(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            user_id_type: None,
            page_size: None,
            page_token: None,
        }
    }
}

endpoint!(GetModeration: GET "/open-apis/im/v1/chats/:chat_id/moderation" => Data<Moderation>, ids(chat_id), paged(100) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
    }
});

/// `PUT /open-apis/im/v1/chats/:chat_id/moderation`: who may speak in a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct UpdateModeration {
    /// The chat.
    pub chat_id: ChatId,
    /// `all_members`, `only_owner` or `moderator_list`.
    pub moderation_setting: Option<String>,
    /// With `moderator_list`: who may now speak.
    pub moderator_added_list: Vec<String>,
    /// With `moderator_list`: who may no longer speak.
    pub moderator_removed_list: Vec<String>,
    /// The kind of ids in the lists.
    pub user_id_type: Option<UserIdType>,
}

impl UpdateModeration {
    /// Sets who may speak in `chat_id`: `all_members`, `only_owner` or `moderator_list`.
    pub fn new(chat_id: ChatId, setting: impl Into<String>) -> Self {
        Self {
            chat_id,
            moderation_setting: Some(setting.into()),
            moderator_added_list: Vec::new(),
            moderator_removed_list: Vec::new(),
            user_id_type: None,
        }
    }

    /// With `moderator_list`: who may now speak, and who no longer.
    pub fn moderators(
        mut self,
        added: impl IntoIterator<Item = impl Into<String>>,
        removed: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.moderator_added_list = added.into_iter().map(Into::into).collect();
        self.moderator_removed_list = removed.into_iter().map(Into::into).collect();
        self
    }
}

endpoint!(UpdateModeration: PUT "/open-apis/im/v1/chats/:chat_id/moderation" => Nothing, ids(chat_id) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
    }

    fn body(&self) -> Result<Body, BuildError> {
        let mut body = serde_json::Map::new();
        if let Some(setting) = &self.moderation_setting {
            body.insert("moderation_setting".to_owned(), setting.clone().into());
        }
        if !self.moderator_added_list.is_empty() {
            body.insert(
                "moderator_added_list".to_owned(),
                self.moderator_added_list.clone().into(),
            );
        }
        if !self.moderator_removed_list.is_empty() {
            body.insert(
                "moderator_removed_list".to_owned(),
                self.moderator_removed_list.clone().into(),
            );
        }
        Ok(Body::json(&body))
    }

    fn is_idempotent(&self) -> bool {
        true
    }
});

/// `POST /open-apis/im/v1/chats/:chat_id/top_notice/put_top_notice`: puts a message (or the
/// announcement) on top of a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct PutTopNotice {
    /// The chat.
    pub chat_id: ChatId,
    /// The message on top; `None` puts the announcement there.
    pub message_id: Option<MessageId>,
}

impl PutTopNotice {
    /// Puts `message_id` on top of `chat_id`.
    pub fn message(chat_id: ChatId, message_id: MessageId) -> Self {
        Self {
            chat_id,
            message_id: Some(message_id),
        }
    }

    /// Puts the announcement on top of `chat_id`.
    pub fn announcement(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            message_id: None,
        }
    }
}

endpoint!(PutTopNotice: POST "/open-apis/im/v1/chats/:chat_id/top_notice/put_top_notice" => Nothing, ids(chat_id) {
    fn body(&self) -> Result<Body, BuildError> {
        // action_type 1 is a message, 2 the announcement.
        let notice = match &self.message_id {
            Some(id) => serde_json::json!({"action_type": "1", "message_id": id}),
            None => serde_json::json!({"action_type": "2"}),
        };
        Ok(Body::json(
            &serde_json::json!({"chat_top_notice": [notice]}),
        ))
    }

    fn is_idempotent(&self) -> bool {
        true
    }
});

crate::answer::by_id! {
    /// `POST /open-apis/im/v1/chats/:chat_id/top_notice/delete_top_notice`: takes whatever is on
    /// top of a chat down.
    pub struct DeleteTopNotice {
        /// The chat.
        pub chat_id: ChatId,
    }
    /// Clears the top of `chat_id`.
    fn new;
    POST "/open-apis/im/v1/chats/:chat_id/top_notice/delete_top_notice" => Nothing, idempotent
}

/// A chat's share link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ShareLink {
    /// The link.
    #[serde(default)]
    pub share_link: String,
    /// When it expires, in seconds since the epoch, as a string.
    #[serde(default)]
    pub expire_time: Option<String>,
    /// Whether it never expires.
    #[serde(default)]
    pub is_permanent: Option<bool>,
}

/// `POST /open-apis/im/v1/chats/:chat_id/link`: a link that lets people join a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ShareChat {
    /// The chat.
    pub chat_id: ChatId,
    /// `week`, `year` or `permanently` (the platform's default is a week).
    pub validity_period: Option<String>,
}

impl ShareChat {
    /// A link to `chat_id`, valid for a week.
    pub fn new(chat_id: ChatId) -> Self {
        Self {
            chat_id,
            validity_period: None,
        }
    }

    /// A link valid for `period`: `week`, `year` or `permanently`.
    pub fn valid_for(mut self, period: impl Into<String>) -> Self {
        self.validity_period = Some(period.into());
        self
    }
}

endpoint!(ShareChat: POST "/open-apis/im/v1/chats/:chat_id/link" => Data<ShareLink>, ids(chat_id) {
    fn body(&self) -> Result<Body, BuildError> {
        let mut body = serde_json::Map::new();
        if let Some(period) = &self.validity_period {
            body.insert("validity_period".to_owned(), period.clone().into());
        }
        Ok(Body::json(&body))
    }
});

/// `GET /open-apis/im/v1/chats/search?query=…`: the chats the bot (or user) is in whose name
/// or members match, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct SearchChats {
    /// What to look for.
    pub query: String,
    /// The kind of ids in the answer.
    pub user_id_type: Option<UserIdType>,
    /// Items per page, 1 to 100.
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
}

impl SearchChats {
    /// Chats matching `query`.
    pub fn new(query: impl Into<String>) -> Self {
        Self {
            query: query.into(),
            user_id_type: None,
            page_size: None,
            page_token: None,
        }
    }
}

endpoint!(SearchChats: GET "/open-apis/im/v1/chats/search" => PageOf<ChatSummary>, paged(100) {
    fn query(&self, query: &mut Query) {
        query.push_display("user_id_type", self.user_id_type.as_ref());
        query.push("query", self.query.as_str());
    }

    fn body(&self) -> Result<Body, BuildError> {
        if self.query.trim().is_empty() {
            return Err(BuildError::InvalidParam {
                field: "query",
                reason: "is empty; say what to look for, or list the chats instead".to_owned(),
            });
        }
        Ok(Body::Empty)
    }
});

crate::answer::by_id! {
    /// `PATCH /open-apis/im/v1/chats/:chat_id/members/me_join`: the calling user (or bot) joins a
    /// public chat of its tenant.
    pub struct JoinChat {
        /// The chat.
        pub chat_id: ChatId,
    }
    /// Joins `chat_id`.
    fn new;
    PATCH "/open-apis/im/v1/chats/:chat_id/members/me_join" => Nothing, idempotent
}
