//! Ids as the command line takes them: alone where the platform's prefix says their kind
//! (`oc_…`, `ou_…`, `on_…`, `om_…`, `omt_…`), or in the `kind:id` form (`chat:oc_…`).

use crate::output::Failure;
use lark::api::im::messages::Container;
use lark::content::ThreadId;
use lark::{ChatId, OpenId, Receiver};

/// A chat: `oc_…` or `chat:oc_…`.
pub(crate) fn chat(text: &str) -> ChatId {
    ChatId::new(text.strip_prefix("chat:").unwrap_or(text))
}

/// A user by open_id: `ou_…` or `open:ou_…`.
pub(crate) fn open_id(text: &str) -> OpenId {
    OpenId::new(text.strip_prefix("open:").unwrap_or(text))
}

/// Users by open_id.
pub(crate) fn open_ids(users: &[String]) -> Vec<OpenId> {
    users.iter().map(|user| open_id(user)).collect()
}

/// A chat (`oc_…`, `chat:oc_…`) or a thread (`omt_…`, `thread:omt_…`).
pub(crate) fn container(text: &str) -> Container {
    if let Some(thread) = text.strip_prefix("thread:") {
        Container::Thread(ThreadId::new(thread))
    } else if text.starts_with("omt_") {
        Container::Thread(ThreadId::new(text))
    } else {
        Container::Chat(chat(text))
    }
}

/// Where a message goes, as `--to` says it.
pub(crate) fn receiver(text: &str) -> Result<Receiver, Failure> {
    text.parse()
        .map_err(|err: lark::api::ParseReceiverError| Failure::Input(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_alone_or_with_their_kind() {
        assert_eq!(chat("oc_1"), ChatId::new("oc_1"));
        assert_eq!(chat("chat:oc_1"), ChatId::new("oc_1"));
        assert_eq!(open_id("open:ou_1"), OpenId::new("ou_1"));
        assert!(matches!(container("omt_1"), Container::Thread(t) if t.as_str() == "omt_1"));
        assert!(matches!(container("thread:omt_1"), Container::Thread(t) if t.as_str() == "omt_1"));
        assert!(matches!(container("chat:oc_1"), Container::Chat(c) if c.as_str() == "oc_1"));
        assert_eq!(receiver("oc_1").unwrap().to_string(), "chat:oc_1");
        assert_eq!(receiver("ou_1").unwrap().to_string(), "open:ou_1");
        assert!(receiver("someone").is_err());
    }
}
