//! Reactions: add, list, delete.

use super::model::{Reaction, ReactionType, UserIdType};
use crate::answer::endpoint;
use crate::answer::{Data, PageOf};
use crate::endpoint::PathIds;
use crate::endpoint::{Body, Query};
use crate::error::BuildError;
use lark_content::{MessageId, ReactionId};

/// Most reactions a page holds.
pub const REACTIONS_PAGE_MAX: u32 = 50;

/// `POST /open-apis/im/v1/messages/:message_id/reactions`: reacts with an emoji.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct AddReaction {
    /// The message.
    pub message_id: MessageId,
    /// The emoji's name, e.g. `SMILE`, `THUMBSUP`, `OK`.
    pub emoji_type: String,
}

impl AddReaction {
    /// Reacts to `message_id` with `emoji_type`.
    pub fn new(message_id: MessageId, emoji_type: impl Into<String>) -> Self {
        Self {
            message_id,
            emoji_type: emoji_type.into(),
        }
    }
}

endpoint!(AddReaction: POST "/open-apis/im/v1/messages/:message_id/reactions" => Data<Reaction>, ids(message_id) {
    fn body(&self) -> Result<Body, BuildError> {
        if self.emoji_type.trim().is_empty() {
            return Err(BuildError::InvalidParam {
                field: "emoji_type",
                reason: "is empty; use a name from the emoji list, e.g. SMILE".to_owned(),
            });
        }
        Ok(Body::json(&serde_json::json!({
            "reaction_type": ReactionType { emoji_type: self.emoji_type.clone() },
        })))
    }
});

/// `GET /open-apis/im/v1/messages/:message_id/reactions`: a message's reactions, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ListReactions {
    /// The message.
    pub message_id: MessageId,
    /// Only this emoji.
    pub emoji_type: Option<String>,
    /// Items per page, 1 to 50 (default 20).
    pub page_size: Option<u32>,
    /// The page to fetch.
    pub page_token: Option<String>,
    /// The kind of operator ids.
    pub user_id_type: Option<UserIdType>,
}

impl ListReactions {
    /// Every reaction on `message_id`.
    pub fn new(message_id: MessageId) -> Self {
        Self {
            message_id,
            emoji_type: None,
            page_size: None,
            page_token: None,
            user_id_type: None,
        }
    }

    /// Only reactions with `emoji_type`.
    pub fn emoji(mut self, emoji_type: impl Into<String>) -> Self {
        self.emoji_type = Some(emoji_type.into());
        self
    }
}

endpoint!(ListReactions: GET "/open-apis/im/v1/messages/:message_id/reactions" => PageOf<Reaction>, ids(message_id), paged(REACTIONS_PAGE_MAX) {
    fn query(&self, query: &mut Query) {
        query.push_display("reaction_type", self.emoji_type.as_ref());
        query.push_display("user_id_type", self.user_id_type.as_ref());
    }
});

/// `DELETE /open-apis/im/v1/messages/:message_id/reactions/:reaction_id`: removes one of the
/// bot's reactions; answers with the removed reaction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct DeleteReaction {
    /// The message.
    pub message_id: MessageId,
    /// The reaction.
    pub reaction_id: ReactionId,
}

impl DeleteReaction {
    /// Removes `reaction_id` from `message_id`.
    pub fn new(message_id: MessageId, reaction_id: ReactionId) -> Self {
        Self {
            message_id,
            reaction_id,
        }
    }
}

endpoint!(DeleteReaction: DELETE "/open-apis/im/v1/messages/:message_id/reactions/:reaction_id" => Data<Reaction> {
    fn path_ids(&self) -> PathIds<'_> {
        PathIds::two(self.message_id.as_str(), self.reaction_id.as_str())
    }
});
