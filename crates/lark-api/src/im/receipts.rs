//! Read receipts: who has read a message the bot sent.

use super::model::UserIdType;
use crate::answer::PageOf;
use crate::answer::endpoint;
use crate::endpoint::Query;
use lark_content::MessageId;
use serde::Deserialize;

/// Most readers a page holds.
pub const READERS_PAGE_MAX: u32 = 100;

/// One reader of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ReadUser {
    /// The kind of `user_id`, as asked for.
    #[serde(default)]
    pub user_id_type: Option<String>,
    /// The reader.
    #[serde(default)]
    pub user_id: String,
    /// When they read it, in milliseconds since the epoch, as a string.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The reader's tenant.
    #[serde(default)]
    pub tenant_key: Option<String>,
}

/// `GET /open-apis/im/v1/messages/:message_id/read_users?user_id_type=…`: who has read a
/// message the bot sent in the last seven days, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ReadUsers {
    /// The message.
    pub message_id: MessageId,
    /// The kind of ids to answer with (the platform requires one; `open_id` by default).
    pub user_id_type: UserIdType,
    /// Items per page, 1 to 100.
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
}

impl ReadUsers {
    /// Who has read `message_id`, by open_id.
    pub fn new(message_id: MessageId) -> Self {
        Self {
            message_id,
            user_id_type: UserIdType::OpenId,
            page_size: None,
            page_token: None,
        }
    }

    /// Readers named by `kind` of id.
    pub fn user_id_type(mut self, kind: UserIdType) -> Self {
        self.user_id_type = kind;
        self
    }

    /// Items per page, 1 to 100.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
}

endpoint!(ReadUsers: GET "/open-apis/im/v1/messages/:message_id/read_users" => PageOf<ReadUser>, ids(message_id), paged(READERS_PAGE_MAX) {
    fn query(&self, query: &mut Query) {
        query.push("user_id_type", self.user_id_type.as_str());
    }
});
