//! Threads: a topic and its replies, forwarded as one.

use super::model::Message;
use crate::answer::Data;
use crate::answer::endpoint;
use crate::endpoint::{Body, Query};
use crate::error::BuildError;
use crate::im::messages::{forward_body, forward_query};
use crate::receiver::Receiver;
use lark_content::ThreadId;

/// `POST /open-apis/im/v1/threads/:thread_id/forward?receive_id_type=…`: forwards a whole
/// thread; answers with the message that carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ForwardThread {
    /// The thread.
    pub thread_id: ThreadId,
    /// Where it goes.
    pub receiver: Receiver,
    /// The idempotency key (at most 50 characters).
    pub uuid: Option<String>,
}

impl ForwardThread {
    /// Forwards `thread_id` to `receiver`.
    pub fn new(thread_id: ThreadId, receiver: impl Into<Receiver>) -> Self {
        Self {
            thread_id,
            receiver: receiver.into(),
            uuid: None,
        }
    }

    /// The idempotency key: a retry with the same key forwards once.
    pub fn uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }
}

endpoint!(ForwardThread: POST "/open-apis/im/v1/threads/:thread_id/forward" => Data<Message>, ids(thread_id), uuid {
    fn query(&self, query: &mut Query) {
        forward_query(&self.receiver, self.uuid.as_ref(), query);
    }

    fn body(&self) -> Result<Body, BuildError> {
        forward_body(&self.receiver, self.uuid.as_deref())
    }
});
