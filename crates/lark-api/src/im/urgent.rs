//! Urgent messages ("buzz"): a message the bot sent, pushed to chosen members in the app, by
//! SMS or by a phone call.

use super::model::UserIdType;
use crate::answer::Data;
use crate::endpoint::{Body, Endpoint, PathIds, Query};
use crate::error::BuildError;
use http::Method;
use lark_content::MessageId;
use serde::Deserialize;
use std::marker::PhantomData;

/// How an urgent message reaches people. Each channel is its own endpoint.
pub trait UrgentChannel {
    /// The endpoint's path template.
    const PATH: &'static str;
}

/// In the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InApp;
/// By SMS (charged to the tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BySms;
/// By a phone call (charged to the tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByPhone;

impl UrgentChannel for InApp {
    const PATH: &'static str = "/open-apis/im/v1/messages/:message_id/urgent_app";
}
impl UrgentChannel for BySms {
    const PATH: &'static str = "/open-apis/im/v1/messages/:message_id/urgent_sms";
}
impl UrgentChannel for ByPhone {
    const PATH: &'static str = "/open-apis/im/v1/messages/:message_id/urgent_phone";
}

/// What an urgent call answers: the ids it could not reach.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct UrgentOutput {
    /// Ids that are not valid, or not members of the message's chat.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub invalid_user_id_list: Vec<String>,
}

/// `PATCH /open-apis/im/v1/messages/:message_id/urgent_app` (or `urgent_sms`,
/// `urgent_phone`)`?user_id_type=…`: makes a message the bot sent urgent for the given members
/// of its chat. Each call notifies them again, so it is never repeated by a retry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Urgent<C: UrgentChannel = InApp> {
    /// The message.
    pub message_id: MessageId,
    /// Who is notified.
    pub user_ids: Vec<String>,
    /// The kind of ids in `user_ids` (`open_id` by default).
    pub user_id_type: UserIdType,
    channel: PhantomData<C>,
}

impl<C: UrgentChannel> Urgent<C> {
    /// Notifies `user_ids` (open_ids) of `message_id`.
    pub fn new(
        message_id: MessageId,
        user_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            message_id,
            user_ids: user_ids.into_iter().map(Into::into).collect(),
            user_id_type: UserIdType::OpenId,
            channel: PhantomData,
        }
    }

    /// The ids are of `kind`.
    pub fn user_id_type(mut self, kind: UserIdType) -> Self {
        self.user_id_type = kind;
        self
    }
}

impl<C: UrgentChannel> Endpoint for Urgent<C> {
    type Output = UrgentOutput;
    type Answer = Data<UrgentOutput>;
    const METHOD: Method = Method::PATCH;
    const PATH: &'static str = C::PATH;

    fn path_ids(&self) -> PathIds<'_> {
        PathIds::one(self.message_id.as_str())
    }

    fn query(&self, query: &mut Query) {
        query.push("user_id_type", self.user_id_type.as_str());
    }

    fn body(&self) -> Result<Body, BuildError> {
        if self.user_ids.is_empty() || self.user_ids.iter().any(|id| id.trim().is_empty()) {
            return Err(BuildError::InvalidParam {
                field: "user_id_list",
                reason: "is empty or holds an empty id; name at least one member of the chat"
                    .to_owned(),
            });
        }
        Ok(Body::json(
            &serde_json::json!({"user_id_list": self.user_ids}),
        ))
    }
}
