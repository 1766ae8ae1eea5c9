//! What an emulator starts with. Everything here serializes, so that `lark emulator` can read
//! it from a file as well as a test can build it in code.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The whole start-up configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// Where to listen. Port 0 picks a free port; [`crate::Emulator::addr`] reports it.
    pub addr: SocketAddr,
    /// The registered apps.
    pub apps: Vec<AppConfig>,
    /// The users of the tenant.
    pub users: Vec<UserConfig>,
    /// Chats that exist at start.
    pub chats: Vec<ChatConfig>,
    /// Where events and card callbacks go.
    pub webhook: Option<WebhookConfig>,
    /// How long an access token lives, in seconds (the platform: 7200).
    pub token_ttl_secs: u64,
    /// A token with less than this many seconds left is replaced by a new one when asked for
    /// again (the platform: 1800, that is 30 minutes).
    pub token_refresh_window_secs: u64,
    /// Deliver every group message to the bot, as with the "read all group messages" scope.
    /// When false, only messages that mention the bot are delivered.
    pub all_group_messages: bool,
    /// Seed for the fault injector's random choices, so that a run can be repeated.
    pub fault_seed: u64,
    /// The long connection: the config handed to clients, ack timeouts, fragmenting.
    pub ws: crate::ws::WsConfig,
    /// Quota mode: when set, the platform's rate limits are enforced with its refusals.
    /// Off by default, as the tests of anything but quotas send faster than they allow.
    pub quota: Option<crate::quota::QuotaConfig>,
    /// Seconds a connection may wait for the head of its next request (or its first) before
    /// the emulator closes it. 0 keeps idle connections open.
    pub idle_timeout_secs: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            apps: vec![AppConfig::default()],
            users: vec![
                UserConfig::new("Tom", "ou_84aad35d084aa403a838cf73ee18467"),
                UserConfig::new("Alice", "ou_7d8a6e6df7621556ce0d21922b676706"),
            ],
            chats: vec![ChatConfig {
                chat_id: "oc_5ad11d72b830411d72b836c20".to_owned(),
                name: "Emulator team".to_owned(),
                members: vec![
                    "ou_84aad35d084aa403a838cf73ee18467".to_owned(),
                    "ou_7d8a6e6df7621556ce0d21922b676706".to_owned(),
                ],
                bots: vec![AppConfig::DEFAULT_APP_ID.to_owned()],
                topic: false,
            }],
            webhook: None,
            token_ttl_secs: 7200,
            token_refresh_window_secs: 1800,
            all_group_messages: true,
            fault_seed: 0x5EED,
            ws: crate::ws::WsConfig::default(),
            quota: None,
            idle_timeout_secs: 60,
        }
    }
}

impl EmulatorConfig {
    /// The default configuration: one self-built app, two users (Tom and Alice), and a group chat
    /// holding them and the bot.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends events and card callbacks to `url`.
    #[must_use]
    pub fn webhook(mut self, webhook: WebhookConfig) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// Every app receives its events over the long connection.
    #[must_use]
    pub fn long_connection(mut self) -> Self {
        for app in &mut self.apps {
            app.subscription = Subscription::LongConnection;
        }
        self
    }

    /// Sets the token lifetime.
    #[must_use]
    pub fn token_ttl_secs(mut self, secs: u64) -> Self {
        self.token_ttl_secs = secs;
        self
    }

    /// The first app: the one most tests use.
    ///
    /// # Panics
    /// When the configuration has no app (`Emulator::start` refuses such a configuration).
    #[must_use]
    pub fn app(&self) -> &AppConfig {
        self.apps
            .first()
            .expect("the emulator configuration has no app")
    }
}

/// A registered app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AppConfig {
    /// The app id (`cli_` and 16 hex digits).
    pub app_id: String,
    /// The app secret.
    pub app_secret: String,
    /// The bot's display name.
    pub bot_name: String,
    /// The bot's open_id.
    pub bot_open_id: String,
    /// The tenant the app is installed in.
    pub tenant_key: String,
    /// A marketplace (ISV) app: tokens come from the app ticket flow.
    pub marketplace: bool,
    /// How the app receives events and card callbacks, as chosen in the developer console.
    pub subscription: Subscription,
}

/// How an app receives events and card callbacks: the developer console's subscription mode.
/// The platform never falls back from one to the other: in long-connection mode, events wait
/// for a connection rather than go to a webhook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Subscription {
    /// POSTed to the webhook set with [`crate::Emulator::set_webhook`] ("send events to the
    /// developer's server").
    #[default]
    Webhook,
    /// Pushed over the app's long connection ("receive events through the long connection").
    LongConnection,
}

impl AppConfig {
    /// The default app's id.
    pub const DEFAULT_APP_ID: &'static str = "cli_9f5343c580712544";

    /// An app with the given credentials.
    #[must_use]
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            ..Self::default()
        }
    }

    /// With events and card callbacks delivered as `subscription` says.
    #[must_use]
    pub fn subscription(mut self, subscription: Subscription) -> Self {
        self.subscription = subscription;
        self
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            app_id: Self::DEFAULT_APP_ID.to_owned(),
            app_secret: "emulator-app-secret".to_owned(),
            bot_name: "Emulator Bot".to_owned(),
            bot_open_id: "ou_b0ddf00d5ad11d72b830411d72b836c2".to_owned(),
            tenant_key: "736588c9260f175e".to_owned(),
            marketplace: false,
            subscription: Subscription::Webhook,
        }
    }
}

/// A user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UserConfig {
    /// The display name.
    pub name: String,
    /// The open_id (`ou_…`).
    pub open_id: String,
    /// The union_id (`on_…`); derived from the open_id when empty.
    pub union_id: String,
    /// The user_id; derived from the open_id when empty.
    pub user_id: String,
    /// The email address; derived from the name when empty.
    pub email: String,
    /// The user has left the company: their id still exists, but they cannot be added to
    /// chats or sent messages.
    pub resigned: bool,
}

impl UserConfig {
    /// A user with a name and an open_id; the other ids are derived.
    #[must_use]
    pub fn new(name: impl Into<String>, open_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            open_id: open_id.into(),
            ..Self::default()
        }
    }
}

impl Default for UserConfig {
    fn default() -> Self {
        Self {
            name: "User".to_owned(),
            open_id: String::new(),
            union_id: String::new(),
            user_id: String::new(),
            email: String::new(),
            resigned: false,
        }
    }
}

/// A chat that exists at start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatConfig {
    /// The chat id (`oc_…`).
    pub chat_id: String,
    /// The name.
    pub name: String,
    /// Its users, by open_id.
    pub members: Vec<String>,
    /// Its bots, by app_id.
    pub bots: Vec<String>,
    /// A topic group (`group_message_type` `thread`): every message that is not a reply
    /// starts a topic of its own, and the messages of a topic form its thread.
    pub topic: bool,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            chat_id: String::new(),
            name: "Chat".to_owned(),
            members: Vec::new(),
            bots: Vec::new(),
            topic: false,
        }
    }
}

/// Where and how events are delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The app's event request url.
    pub url: String,
    /// The card callback url; the event url when empty.
    pub card_url: String,
    /// The encrypt key; events go in plain JSON when empty.
    pub encrypt_key: String,
    /// The verification token, put in every event's `token`.
    pub verification_token: String,
    /// Delays before each retry of a failed delivery, in milliseconds. The platform's schedule
    /// is 15 s, 5 min, 1 h, 6 h; tests scale it down.
    pub retry_delays_ms: Vec<u64>,
    /// How long a delivery may take before it counts as failed, in milliseconds (the platform: 3 s).
    pub timeout_ms: u64,
}

impl WebhookConfig {
    /// Delivers to `url` in plain JSON, on the platform's retry schedule.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Encrypts events with `key`, and signs them.
    #[must_use]
    pub fn encrypt_key(mut self, key: impl Into<String>) -> Self {
        self.encrypt_key = key.into();
        self
    }

    /// Puts `token` in every event.
    #[must_use]
    pub fn verification_token(mut self, token: impl Into<String>) -> Self {
        self.verification_token = token.into();
        self
    }

    /// Sets the retry delays, in milliseconds.
    #[must_use]
    pub fn retry_delays_ms(mut self, delays: impl IntoIterator<Item = u64>) -> Self {
        self.retry_delays_ms = delays.into_iter().collect();
        self
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            card_url: String::new(),
            encrypt_key: String::new(),
            verification_token: String::new(),
            retry_delays_ms: vec![15_000, 300_000, 3_600_000, 21_600_000],
            timeout_ms: 3_000,
        }
    }
}
