//! A client wired to a fresh emulator.

#![allow(dead_code, unreachable_pub)]

use lark_api::BaseUrl;
use lark_content::{ChatId, MessageContent, MessageId, OpenId};
use lark_emulator::{Emulator, EmulatorConfig};
use lark_http::{Client, Quotas, RetryPolicy};
use std::time::Duration;

/// Retries as the default policy makes them, with delays short enough for a test.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(20))
        .with_max_rate_limit_wait(Duration::from_secs(2))
}

pub struct Setup {
    pub emulator: Emulator,
    pub client: Client,
}

impl Setup {
    pub async fn new() -> Self {
        Self::with(EmulatorConfig::default()).await
    }

    pub async fn with(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let client = client_for(&emulator, quick_retries());
        Self { emulator, client }
    }

    pub fn chat(&self) -> ChatId {
        ChatId::new(self.emulator.default_chat())
    }

    pub fn user(&self, name: &str) -> OpenId {
        OpenId::new(self.emulator.user(name).expect("a configured user").open_id)
    }

    /// The text of each message in `chat`, in order.
    pub fn texts_in(&self, chat: &ChatId) -> Vec<String> {
        self.emulator
            .messages_in(chat.as_str())
            .iter()
            .filter(|message| message["msg_type"] == "text")
            .filter_map(|message| {
                let content: serde_json::Value =
                    serde_json::from_str(message["body"]["content"].as_str()?).ok()?;
                content["text"].as_str().map(str::to_owned)
            })
            .collect()
    }

    /// Has `user` send a file message named `name` to `chat`; returns the message and its
    /// content as the platform stores it.
    pub fn user_file(
        &self,
        chat: &ChatId,
        user: &OpenId,
        name: &str,
        bytes: Vec<u8>,
    ) -> (MessageId, lark_content::File) {
        let message = MessageId::new(
            self.emulator
                .user_sends_file(chat.as_str(), user.as_str(), name, bytes)
                .expect("the emulator accepts the file"),
        );
        let content = self.stored(&message)["body"]["content"]
            .as_str()
            .expect("stored content is a string")
            .to_owned();
        match MessageContent::decode("file", &content) {
            Ok(MessageContent::File(file)) => (message, file),
            other => panic!("{content} is not file content: {other:?}"),
        }
    }

    pub fn stored(&self, id: &MessageId) -> serde_json::Value {
        self.emulator
            .message(id.as_str())
            .expect("the emulator holds the message")
    }
}

pub fn base_url(emulator: &Emulator) -> BaseUrl {
    BaseUrl::parse(&emulator.base_url()).expect("the emulator's url parses")
}

/// A client of `emulator`. The emulator keeps no quotas unless asked, and these tests send
/// thousands of messages into one chat, so the client keeps none either.
pub fn client_for(emulator: &Emulator, retry: RetryPolicy) -> Client {
    Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(base_url(emulator))
        .retry(retry)
        .quotas(Quotas::off())
        .request_timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}
